"""Linear scaling, shown (SPEC §7): species and reactions of compiled circuits against d.

With a hidden width n decoupled from the input dimension d (u = (x, 1), Θ ∈ R^{n×(d+1)}) and the
first-order gradient, the two-phase circuit has O(n·d) reactions. This module compiles (does not
train) the two-phase circuits of

* the default models of the real-data tasks (``breast-cancer``, ``wine``, ``digits``, ``iris``),
* the family ``n = 32`` (the default width of a user's tabular data), m = 10 outputs, quadratic,
  first-order, for d = 2 … 784 (784 = a 28 × 28 image),

counts species, reactions and the largest molecularity, and fits the growth exponent of each
count against d (least-squares slope of log count on log d). With ``--time`` it also measures
the time per chemical training step (one compiled epoch over a few samples, the training layer's
default solver settings, second call) against d for the family, and its exponent.

    python -m neuralcrn.bench._sizes                 # counts (≈ 1 min: d = 784 has 3e5 reactions)
    python -m neuralcrn.bench._sizes --time          # + time per training step, d ≤ 128
    python -m neuralcrn.bench._sizes --markdown out.md --json out.json
    python -m neuralcrn.bench._sizes --max-d 2 --task-time digits   # a task's default, solvers
                                                                   # side by side
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

__all__ = ["circuit_counts", "family_spec", "size_table", "step_times", "task_step_times",
           "FAMILY_D",
           "FAMILY_HIDDEN", "FAMILY_OUTPUTS", "REAL_TASKS", "main"]

FAMILY_D = (2, 4, 8, 16, 32, 64, 128, 256, 512, 784)
FAMILY_HIDDEN = 32
FAMILY_OUTPUTS = 10
REAL_TASKS = ("iris", "wine", "breast-cancer", "digits")
TIME_D = (8, 16, 32, 64, 128)


def family_spec(d: int, hidden: int = FAMILY_HIDDEN, outputs: int = FAMILY_OUTPUTS):
    """The scaling family's model: the default tabular model (:func:`neuralcrn.tasks.
    tabular_defaults`) for d inputs, ``outputs`` outputs, hidden width ``hidden``."""
    from ..tasks import tabular_defaults
    spec, _, _ = tabular_defaults(d, outputs, 100)
    return spec.replace(hidden=hidden)


def circuit_counts(spec) -> dict:
    """``{"species", "reactions", "max_molecularity", "parameters", "compile_s"}`` of the
    two-phase circuit of ``spec`` (compiled, not simulated)."""
    from ..compiler import compile_two_phase
    t0 = time.perf_counter()
    c = compile_two_phase(spec)
    net = c.network
    P = spec.n * spec.n_u + spec.outputs * spec.n
    return {"d": spec.inputs, "hidden": spec.n, "outputs": spec.outputs,
            "species": net.n_species, "reactions": net.n_reactions,
            "max_molecularity": net.max_molecularity, "parameters": P,
            "compile_s": time.perf_counter() - t0}


def _slope(x, y) -> float:
    return float(np.polyfit(np.log(np.asarray(x, float)), np.log(np.asarray(y, float)), 1)[0])


def size_table(family_d=FAMILY_D, tasks=REAL_TASKS, log=None) -> dict:
    """Counts of the real-data defaults and of the family, with fitted exponents."""
    from ..tasks import get_task
    real = []
    for name in tasks:
        row = circuit_counts(get_task(name).model_spec)
        row["task"] = name
        real.append(row)
        if log:
            log(f"{name}: {row['species']} species, {row['reactions']} reactions")
    fam = []
    for d in family_d:
        fam.append(circuit_counts(family_spec(d)))
        if log:
            log(f"d = {d}: {fam[-1]['species']} species, {fam[-1]['reactions']} reactions "
                f"({fam[-1]['compile_s']:.1f} s)")
    ds = [r["d"] for r in fam]
    fit = {"species": _slope(ds, [r["species"] for r in fam]),
           "reactions": _slope(ds, [r["reactions"] for r in fam]),
           "range": [min(ds), max(ds)]}
    big = [r for r in fam if r["d"] >= 64]
    if len(big) >= 2:
        fit["reactions_d_ge_64"] = _slope([r["d"] for r in big], [r["reactions"] for r in big])
    # exact linear law: reactions = a·(d+1) + b for fixed n, m
    A = np.column_stack([[d + 1 for d in ds], np.ones(len(ds))])
    a, b = np.linalg.lstsq(A, np.asarray([r["reactions"] for r in fam], float), rcond=None)[0]
    fit["reactions_per_input"] = float(a)
    fit["reactions_offset"] = float(b)
    return {"real": real, "family": fam, "fit": fit,
            "family_model": {"hidden": FAMILY_HIDDEN, "outputs": FAMILY_OUTPUTS,
                             "schedule": "two-phase"}}


def step_times(family_d=TIME_D, samples: int = 4, repeats: int = 2, log=None) -> dict:
    """Time per chemical training step of the family against d (seconds; the best of
    ``repeats`` calls of one compiled epoch over ``samples`` samples, divided by ``samples``)."""
    from ..tasks import tabular_defaults
    from ..training import CompiledEpoch, SolverSettings, chemical_setup
    rows = []
    for d in family_d:
        spec = family_spec(d)
        setup = chemical_setup(spec, "two-phase")
        rng = np.random.default_rng(d)
        _, _, init = tabular_defaults(d, FAMILY_OUTPUTS, 100)
        from ..ideal import init_params
        p = init_params(spec, 0, init.scale, readout="random")
        p = p._replace(W=np.asarray(p.W) * init.w_scale)
        state = setup.initial_state(p)
        X = rng.standard_normal((samples, d))
        Y = np.eye(FAMILY_OUTPUTS)[rng.integers(0, FAMILY_OUTPUTS, samples)]
        fn = CompiledEpoch(setup, samples, None, SolverSettings())
        best = np.inf
        for _ in range(repeats):
            t0 = time.perf_counter()
            s, losses = fn(setup, state, X, Y)
            np.asarray(s)
            best = min(best, time.perf_counter() - t0)
        ok = bool(np.all(np.isfinite(np.asarray(losses))))
        rows.append({"d": d, "reactions": setup.circuit.network.n_reactions,
                     "step_s": best / samples, "compile_s": fn.compile_seconds, "ok": ok})
        if log:
            log(f"d = {d}: {1e3 * best / samples:.1f} ms per step")
    fit = _slope([r["d"] for r in rows], [r["step_s"] for r in rows])
    return {"rows": rows, "exponent": fit, "samples": samples,
            "solver": SolverSettings().as_kwargs()}


def task_step_times(task: str, samples: int = 4, methods=("auto", "tsit5"),
                    repeats: int = 2, log=None) -> dict:
    """Time per chemical training step of a task's default model (seconds), for each ODE method
    side by side in one process: one compiled epoch over the first ``samples`` training samples
    of seed 0 from the default initial parameters, the best of ``repeats`` calls.

    Returns ``{"task", "species", "reactions", "samples", "methods": {method: {"step_s",
    "compile_s", "epoch_min", "losses"}}, "max_state_difference"}`` (the largest difference of
    the end states between the methods; concentrations) — ``epoch_min``: minutes per epoch of
    the task's training set at that step time.
    """
    from ..tasks import get_task
    from ..training import CompiledEpoch, SolverSettings, chemical_setup
    t = get_task(task)
    setup = chemical_setup(t.model_spec, "two-phase")
    ds = t.make_data(0)
    state = setup.initial_state(t.init_params(0))
    X, Y = ds.X_train[:samples], ds.Y_train[:samples]
    out, finals = {}, []
    for m in methods:
        fn = CompiledEpoch(setup, samples, None, SolverSettings(method=m))
        best = np.inf
        for _ in range(repeats):
            t0 = time.perf_counter()
            s, losses = fn(setup, state, X, Y)
            s = np.asarray(s)
            best = min(best, time.perf_counter() - t0)
        finals.append(s)
        out[m] = {"step_s": best / samples, "compile_s": fn.compile_seconds,
                  "epoch_min": best / samples * len(ds.X_train) / 60,
                  "losses": np.asarray(losses).tolist()}
        if log:
            log(f"{task}, {m}: {best / samples:.3f} s per step")
    diff = max((float(np.abs(f - finals[0]).max()) for f in finals[1:]), default=0.0)
    net = setup.circuit.network
    return {"task": task, "species": net.n_species, "reactions": net.n_reactions,
            "samples": samples, "methods": out, "max_state_difference": diff}


def markdown(result: dict) -> str:
    """The README tables."""
    out = ["| model | d | hidden n | outputs m | species | reactions | max molecularity |",
           "|---|---|---|---|---|---|---|"]
    for r in result["real"]:
        out.append(f"| `{r['task']}` default | {r['d']} | {r['hidden']} | {r['outputs']} | "
                   f"{r['species']:,} | {r['reactions']:,} | {r['max_molecularity']} |")
    for r in result["family"]:
        out.append(f"| family n = {r['hidden']} | {r['d']} | {r['hidden']} | {r['outputs']} | "
                   f"{r['species']:,} | {r['reactions']:,} | {r['max_molecularity']} |")
    f = result["fit"]
    out.append("")
    out.append(f"Fitted growth exponents over d = {f['range'][0]}…{f['range'][1]} (family): "
               f"species {f['species']:.3f}, reactions {f['reactions']:.3f}"
               + (f" ({f['reactions_d_ge_64']:.3f} over d ≥ 64)" if "reactions_d_ge_64" in f
                  else "")
               + f"; reactions = {f['reactions_per_input']:.1f}·(d+1) + "
                 f"{f['reactions_offset']:.0f} exactly.")
    if "time" in result:
        t = result["time"]
        out += ["", "| d | reactions | time per training step |", "|---|---|---|"]
        for r in t["rows"]:
            out.append(f"| {r['d']} | {r['reactions']:,} | {1e3 * r['step_s']:.1f} ms |")
        out.append("")
        out.append(f"Time per step grows like d^{t['exponent']:.2f} (d = "
                   f"{t['rows'][0]['d']}…{t['rows'][-1]['d']}).")
    for r in result.get("task_time", []):
        ms = ", ".join(f"{m} {v['step_s']:.3f} s ({v['epoch_min']:.1f} min per epoch)"
                       for m, v in r["methods"].items())
        out.append("")
        out.append(f"`{r['task']}` default ({r['reactions']:,} reactions), time per training "
                   f"step: {ms}; end states {r['max_state_difference']:.1e} apart.")
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m neuralcrn.bench._sizes", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--time", action="store_true", help="also time a training step against d")
    ap.add_argument("--max-d", type=int, default=max(FAMILY_D), help="largest d of the family")
    ap.add_argument("--task-time", action="append", default=[], metavar="TASK",
                    help="also time a training step of TASK's default, methods auto and tsit5 "
                         "side by side (repeatable)")
    ap.add_argument("--json", help="write the results as JSON")
    ap.add_argument("--markdown", help="write the tables as Markdown")
    a = ap.parse_args(argv)
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    res = size_table([d for d in FAMILY_D if d <= a.max_d], log=log)
    if a.time:
        res["time"] = step_times(log=log)
    if a.task_time:
        res["task_time"] = [task_step_times(name, log=log) for name in a.task_time]
    write_outputs(res, markdown(res), a.json, a.markdown)
    return 0


def write_outputs(obj, text: str, json_path=None, markdown_path=None) -> None:
    """Print ``text``; write ``obj`` as JSON and ``text`` as Markdown where paths are given
    (atomically)."""
    from ..chemistry._atomic import write_text_atomic
    print(text, end="")
    if json_path:
        write_text_atomic(json_path, json.dumps(obj, indent=2) + "\n")
    if markdown_path:
        write_text_atomic(markdown_path, text)


if __name__ == "__main__":
    sys.exit(main())
