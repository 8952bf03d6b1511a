"""How many molecules does a Neural CRN need? Ω studies of stochastic training (issue 10).

Two studies, each a reproducible command (results as JSON/CSV, a plot):

* **convergence** — after a fixed number of SGD steps from the same initial parameters and
  sample order, the RMS difference between the parameters learned by stochastic chemistry at Ω
  and by the ODE chemistry; it must fall like Ω^(−1/2) (the central limit of the counts)::

      python -m neuralcrn.training._omega_study convergence --task xor --kinetics cle \\
          --omegas 1e3 1e4 1e5 1e6 --steps 20 --replicates 4 --out runs/omega/convergence-xor.json

* **accuracy / loss against Ω** — full training at each Ω (≥ 5 seeds, each its own data set,
  initial parameters, sample order and noise), the ODE result as the reference line, Ω₅₀
  (halfway between chance and the ODE result) and Ω₉₉ (within one point of the ODE accuracy, or
  1 % of the loss range)::

      python -m neuralcrn.training._omega_study study --task xor --kinetics ssa \\
          --omegas 10 30 100 300 --seeds 5 --out runs/omega/xor-ssa.json

  Two evaluations of every circuit trained at Ω, both on the test set, both against the same
  ODE reference: ``test_stochastic_forward`` — the forward pass simulated by the same method at
  the same Ω (**the headline**: what a circuit of that many molecules answers), and ``test`` —
  the ODE forward pass from the learned counts / Ω (the learned parameters read out
  noise-free). ``summarize`` combines the points of several methods (e.g. the exact SSA at
  small Ω and tau-leaping above).

Every point is :func:`~neuralcrn.training._stochastic.train_stochastic_point` ("one
configuration at one Ω with one seed → metrics dict"), so a distributed runner can farm the
points out and hand the list of dicts to :func:`summarize_study`.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from ._stochastic import STOCHASTIC_KINETICS, train_stochastic_point

__all__ = ["convergence", "fit_slope", "run_study", "summarize_study", "omega_thresholds",
           "CHANCE"]

CHANCE = {"accuracy": 0.5}
"""Chance level of the binary tasks' accuracy (a constant predictor on balanced classes)."""


# ------------------------------------------------------------------ convergence to the ODE
def convergence(task: str, kinetics: str, omegas, *, steps: int = 20, replicates: int = 4,
                seed: int = 0, epsilon: float = 0.03, cle_dt: float = 1e-2,
                cle_rtol: float = 1e-3, spec=None) -> dict:
    """RMS parameter difference between stochastic and ODE chemical training after ``steps``
    SGD steps, for each Ω in ``omegas``.

    Both start from the task's initial parameters of ``seed`` and visit the samples of epoch 0
    in the same order; the stochastic runs use ``replicates`` noise streams (seeds seed … +K−1
    *for the noise only*). RMS = √(mean over replicates and parameters of (θ_Ω − θ_ODE)²).
    Returns ``{"rows": [{"volume", "rms", "rms_se", "seconds", "events_per_step"}], "slope",
    …}`` (``slope``: least-squares log-log slope of rms against Ω; −½ expected). ``spec``: a
    :class:`~neuralcrn.ideal.ModelSpec` instead of the task's.
    """
    from ..tasks import epoch_order, get_task
    from ._chemical import SolverSettings, chemical_epoch, chemical_setup
    from ._stochastic import StochasticEpoch, stochastic_protocol

    t = get_task(task)
    spec = spec if spec is not None else t.model_spec
    ds = t.make_data(seed)
    X, Y = ds.split("train")
    order = np.asarray(epoch_order(seed, 0, X.shape[0]))
    idx = np.resize(order, steps)
    Xs, Ys = X[idx], Y[idx]
    setup = chemical_setup(spec, "two-phase")
    params = t.init_params(seed, spec=spec)
    s0 = setup.initial_state(params)
    ref_state, _ = chemical_epoch(setup, s0, Xs, Ys, SolverSettings(rtol=1e-8, atol=1e-11))
    pm = np.asarray(setup.probe.params)
    ref = pm @ ref_state
    rows = []
    for omega in omegas:
        omega = float(omega)
        ep = StochasticEpoch(setup, stochastic_protocol(setup, omega), kinetics,
                             [seed + 1000 + k for k in range(replicates)], epsilon, cle_dt,
                             cle_rtol)
        state = np.rint(np.broadcast_to(s0, (replicates, s0.size)) * omega) / omega
        t0 = time.perf_counter()
        out, _ = ep(setup, state, np.broadcast_to(Xs, (replicates,) + Xs.shape),
                    np.broadcast_to(Ys, (replicates,) + Ys.shape))
        sec = time.perf_counter() - t0
        d2 = np.mean((out @ pm.T - ref) ** 2, axis=1)              # per replicate
        rows.append({"volume": omega, "rms": float(math.sqrt(d2.mean())),
                     "rms_se": float(0.5 * d2.std(ddof=1) / math.sqrt(replicates)
                                     / math.sqrt(d2.mean())) if replicates > 1 else None,
                     "seconds": sec,
                     "events_per_step": ep.summary()["events_per_step"]})
    return {"task": task, "kinetics": kinetics, "steps": steps, "replicates": replicates,
            "seed": seed, "rows": rows,
            "slope": fit_slope([r["volume"] for r in rows], [r["rms"] for r in rows]),
            "parameters": int(pm.shape[0])}


def fit_slope(x, y) -> float:
    """Least-squares slope of log y against log x (nan for fewer than two points)."""
    if len(x) < 2:
        return float("nan")
    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    return float(np.polyfit(lx, ly, 1)[0])


# ------------------------------------------------------------------ accuracy / loss vs Ω
def run_study(task: str, kinetics: str, omegas, seeds, *, epochs: int | None = None,
              spec=None, log=None, done=(), save=None) -> list[dict]:
    """Train every seed with the ODE and every (Ω, seed) with ``kinetics``; returns the list of
    per-point metrics dicts (:func:`train_stochastic_point`; ``spec``: a
    :class:`~neuralcrn.ideal.ModelSpec` instead of the task's). Points already in ``done`` (same
    kinetics, Ω and seed) are kept, not retrained; ``save(points)`` is called after each point
    (so an interrupted study resumes where it stopped)."""
    say = log or (lambda m: None)
    points = list(done)
    have = {(p["kinetics"], p["volume"], p["seed"]) for p in points}
    todo = [("ode", None, s) for s in seeds] + [(kinetics, float(o), s) for o in omegas
                                                for s in seeds]
    for kin, omega, s in todo:
        if (kin, omega, s) in have:
            continue
        p = train_stochastic_point(task, kin, 0.0 if omega is None else omega, s, epochs=epochs,
                                   spec=spec)
        points.append(p)
        say(f"{kin}{'' if omega is None else f' Ω = {omega:g}'} seed {s}: {_headline(p)} "
            f"({p['wall_s']:.0f} s)")
        if save is not None:
            save(points)
    return points


def _headline(p: dict) -> str:
    if p.get("failed"):
        return "diverged (stopped: runaway counts)"

    def one(t):
        acc = "" if t.get("accuracy") is None else f", accuracy {100 * t['accuracy']:.1f} %"
        return f"loss {t['loss']:.4g}{acc}"
    if "test_stochastic_forward" not in p:
        return f"test {one(p['test'])}"
    return (f"test, forward at Ω: {one(p['test_stochastic_forward'])}; ODE forward of the "
            f"learned counts: {one(p['test'])}")


def _metric_name(points) -> str:
    return "accuracy" if points[0]["test"].get("accuracy") is not None else "loss"


def _interval(v, log: bool = False):
    """Mean and 95 % t-interval over seeds; ``log``: of log v (geometric mean and interval —
    losses are skewed and positive)."""
    v = np.asarray(v, float)
    if log:
        m, lo, hi = _interval(np.log(v))
        return (float(np.exp(m)), None if lo is None else float(np.exp(lo)),
                None if hi is None else float(np.exp(hi)))
    n = v.size
    if n < 2:
        return float(v.mean()), None, None
    from scipy import stats
    h = stats.t.ppf(0.975, n - 1) * v.std(ddof=1) / math.sqrt(n)
    return float(v.mean()), float(v.mean() - h), float(v.mean() + h)


EXACTNESS = ("ssa", "tau-leap", "cle")
"""Where several methods measured one Ω, the thresholds use the first of these."""

HEADLINE = "test_stochastic_forward"
"""The Ω study's headline evaluation: the trained circuit's forward pass at the training Ω."""


def summarize_study(points: list[dict], split: str = "test") -> dict:
    """Mean and 95 % interval (t-distribution over seeds) of the test metric per method and Ω
    and per evaluation (``test_stochastic_forward``: the forward pass at Ω, the headline
    :data:`HEADLINE`; ``split``, default ``test``: the ODE forward pass of the learned counts),
    the ODE reference (the ODE points' mean of ``split``), and Ω₅₀ / Ω₉₉
    (:func:`omega_thresholds`, as ``thresholds_<evaluation>``) of the curve that takes, at each
    Ω, the most exact method measured there (:data:`EXACTNESS`). Points of several methods
    (e.g. the exact SSA at small Ω and tau-leaping above) may be combined. A diverged run
    (``failed``) counts as the constant predictor (``chance``); rows report how many
    diverged."""
    metric = _metric_name(points)
    log = metric == "loss"
    ode = [p for p in points if p["kinetics"] == "ode"]
    sto = [p for p in points if p["kinetics"] != "ode"]
    ref = _interval([p[split][metric] for p in ode], log)
    chance = float(np.mean([p["chance"][metric] for p in ode])) if ode and "chance" in ode[0] \
        else CHANCE.get(metric)
    rows = []
    for kin, omega in sorted({(p["kinetics"], p["volume"]) for p in sto},
                             key=lambda kv: (kv[1], EXACTNESS.index(kv[0]))):
        at = [p for p in sto if p["volume"] == omega and p["kinetics"] == kin]
        failed = [p for p in at if p.get("failed")]
        row = {"kinetics": kin, "volume": omega, "n": len(at), "diverged": len(failed)}
        for key in (HEADLINE, split):
            # a diverged run (stopped for runaway counts) counts as the constant predictor
            vals = [p[key][metric] for p in at if key in p and p[key].get(metric) is not None]
            vals += [chance] * len(failed)
            if vals:
                m, lo, hi = _interval(vals, log)
                row[key] = {"mean": m, "lo95": lo, "hi95": hi, "values": vals}
        ev = [(p.get("stochastic") or {}).get("events_per_step") for p in at]
        row["events_per_step"] = ev[0] if ev and ev[0] else None
        row["wall_s_mean"] = float(np.mean([p["wall_s"] for p in at]))
        rows.append(row)
    kinds = sorted({p["kinetics"] for p in sto}, key=EXACTNESS.index)
    out = {"task": points[0]["task"], "kinetics": "+".join(kinds), "metric": metric,
           "split": split, "headline": HEADLINE, "evaluations": {
               HEADLINE: "the trained circuit's forward pass simulated by the same method at the "
                         "training Ω (what a circuit of that many molecules answers)",
               split: "the ODE forward pass from the learned counts / Ω (the learned "
                      "parameters read out noise-free); for the ODE points: the ODE forward "
                      "pass"},
           "epochs": sorted({p["epochs"] for p in points if p.get("epochs") is not None}),
           "average": "geometric" if log else "arithmetic", "chance": chance,
           "ode": {"mean": ref[0], "lo95": ref[1], "hi95": ref[2],
                   "values": [p[split][metric] for p in ode]},
           "rows": rows}
    best = {}
    for r in rows:  # rows are sorted by Ω, then exactness: keep the first per Ω
        best.setdefault(r["volume"], r)
    curve = [best[o] for o in sorted(best)]
    for key in (HEADLINE, split):
        out[f"thresholds_{key}"] = omega_thresholds(curve, key, metric, ref[0], chance)
    return out


def omega_thresholds(rows, key: str, metric: str, ode_value: float, chance: float) -> dict:
    """Ω₅₀ and Ω₉₉ of the mean curve (log-linear interpolation between measured Ω; SPEC §8).

    Ω₅₀: where the mean is halfway between ``chance`` (the constant predictor's metric) and the
    ODE result. Ω₉₉: accuracy within one point (0.01) of the ODE; loss within 1 % of the range
    (chance − ODE) above the ODE loss — the same share of the range as one accuracy point of
    the binary tasks' ≈ 46-point range is 2 %, so this is the stricter reading. A level the
    measured range does not reach is reported as ``{"bound": "above", "value": largest Ω}``.
    """
    pts = [(r["volume"], r[key]["mean"]) for r in rows if key in r]
    if not pts:
        return {}
    l50 = chance + 0.5 * (ode_value - chance)
    if metric == "accuracy":
        l99 = ode_value - 0.01
        good = lambda level: (lambda v: v >= level)  # noqa: E731
    else:
        l99 = ode_value + 0.01 * (chance - ode_value)
        good = lambda level: (lambda v: v <= level)  # noqa: E731
    return {"omega50": _crossing(pts, l50, good(l50)), "level50": l50,
            "omega99": _crossing(pts, l99, good(l99)), "level99": l99}


def _crossing(pts, level, ok):
    """Smallest Ω from which the mean curve stays at the level (interpolated in log Ω)."""
    for i, (om, v) in enumerate(pts):
        if all(ok(w) for _, w in pts[i:]):
            if i == 0:
                return {"value": om, "bound": "at or below"}
            (o0, v0) = pts[i - 1]
            f = (level - v0) / (v - v0) if v != v0 else 1.0
            return {"value": float(math.exp(math.log(o0) + f * (math.log(om) - math.log(o0)))),
                    "bound": "interpolated"}
    return {"value": pts[-1][0], "bound": "above"}


# ------------------------------------------------------------------ command line
def _write_json(path, obj):
    from ..chemistry._atomic import write_text_atomic
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(p, json.dumps(obj, indent=1, default=float) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m neuralcrn.training._omega_study",
                                 description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="what", required=True)
    z = sub.add_parser("summarize", help="combine the points of study JSON files (methods, "
                                         "Ω ranges) into one summary and plot")
    z.add_argument("inputs", nargs="+")
    z.add_argument("--out", required=True)
    z.add_argument("--produced-by", action="append", default=[],
                   help="a command that produced the points (recorded in the summary)")
    c = sub.add_parser("convergence", help="RMS(θ_Ω − θ_ODE) after a fixed number of steps")
    s = sub.add_parser("study", help="test accuracy/loss against Ω; Ω₅₀, Ω₉₉; plot")
    for p in (c, s):
        p.add_argument("--task", required=True)
        p.add_argument("--kinetics", choices=STOCHASTIC_KINETICS, required=True)
        p.add_argument("--omegas", type=float, nargs="+", required=True)
        p.add_argument("--out", required=True, help="JSON file (a PNG plot is written next "
                                                     "to it for 'study')")
    c.add_argument("--steps", type=int, default=20)
    c.add_argument("--replicates", type=int, default=4)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--cle-rtol", type=float, default=1e-3, help="CLE relative tolerance")
    s.add_argument("--seeds", type=int, default=5, help="seeds 0 … N−1 per Ω")
    s.add_argument("--epochs", type=int)
    for p in (c, s):
        p.add_argument("--learning-rate", type=float, help="η [task default]")
        p.add_argument("--hidden", type=int, help="hidden width n [task default]")
        p.add_argument("--horizon", type=float, help="forward-phase duration T [task default]")
    a = ap.parse_args(argv)
    if a.what == "summarize":
        points, seen = [], set()
        for f in a.inputs:
            for p in json.loads(Path(f).read_text())["points"]:
                key = (p["kinetics"], p["volume"], p["seed"])
                if key not in seen:
                    seen.add(key)
                    points.append(p)
        return _finish(a, points, argv)
    if a.what == "convergence":
        res = convergence(a.task, a.kinetics, a.omegas, steps=a.steps,
                          replicates=a.replicates, seed=a.seed, spec=_spec(a),
                          cle_rtol=a.cle_rtol)
        for r in res["rows"]:
            print(f"Ω = {r['volume']:9.3g}  rms = {r['rms']:.3e}  ({r['seconds']:.1f} s)")
        print(f"log-log slope {res['slope']:.3f} (expected −0.5)")
        res["command"] = "python -m neuralcrn.training._omega_study " + " ".join(
            sys.argv[1:] if argv is None else argv)
        _write_json(a.out, res)
        return 0
    done = []
    if Path(a.out).is_file():  # resume: the points of the same model and number of epochs
        from ..tasks import get_task
        t = get_task(a.task)
        spec = _spec(a) or t.model_spec
        want = {"hidden": spec.hidden, "T": spec.T, "alpha": spec.alpha,
                "learning_rate": spec.learning_rate}
        epochs = a.epochs if a.epochs is not None else t.epochs
        done = [p for p in json.loads(Path(a.out).read_text()).get("points", [])
                if p.get("model") == want and p.get("epochs") == epochs]
    points = run_study(a.task, a.kinetics, a.omegas, list(range(a.seeds)), epochs=a.epochs,
                       spec=_spec(a), log=lambda m: print(m, flush=True), done=done,
                       save=lambda pts: _write_json(a.out, {"points": pts}))
    return _finish(a, points, argv)


def _spec(a):
    """The task's model with the command line's overrides, or None (the task's own)."""
    over = {k: v for k, v in (("learning_rate", a.learning_rate), ("hidden", a.hidden),
                              ("T", a.horizon)) if v is not None}
    if not over:
        return None
    from ..tasks import get_task
    return get_task(a.task).model_spec.replace(**over)


def _finish(a, points, argv) -> int:
    """Summarize, write ``{"summary", "points"}`` to ``a.out`` and the plot next to it."""
    summ = summarize_study(points)
    summ["command"] = "python -m neuralcrn.training._omega_study " + " ".join(
        sys.argv[1:] if argv is None else argv)
    if getattr(a, "produced_by", None):
        summ["points_produced_by"] = a.produced_by
    _write_json(a.out, {"summary": summ, "points": points})
    from ..plots import plot_omega_study  # the command line is above the plots layer
    plot_omega_study(summ, Path(a.out).with_suffix(".png"))
    print(json.dumps({k: summ[k] for k in summ if k.startswith("thresholds")}, indent=1,
                     default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
