"""A study's summary: mean and 95 % interval per point, and its breaking points.

Rows are the ``runs.csv`` rows of :func:`~neuralcrn.studies.run_point` (the last row of each key
counts: a rerun that retried a failed point supersedes it). A ``diverged`` run counts as the
constant predictor (its task's chance level), as in the Ω study; an ``error`` row does not count.
The interval is the t-interval over replicates (the Ω study's
:func:`~neuralcrn.training._omega_study._interval`; geometric for losses) and the volume
thresholds Ω₅₀ / Ω₉₉ are :func:`~neuralcrn.training._omega_study.omega_thresholds`.
"""

from __future__ import annotations

import math

import numpy as np

from ..training._omega_study import CHANCE, _interval, omega_thresholds
from ._points import AXES

__all__ = ["summarize_rows", "breaking_point", "BREAK_ACCURACY", "summary_csv_rows"]

BREAK_ACCURACY = 0.90
"""The accuracy below which a design counts as broken (issue 11)."""


def _latest(rows) -> list[dict]:
    by_key = {}
    for r in rows:
        by_key[r["key"]] = r
    return [r for r in by_key.values() if r.get("status") in ("ok", "diverged")]


def _group_key(r):
    return (r["kinetics"], r["volume"], r["rate_noise"], r["leak"], r["wash_residual"])


def breaking_point(xs, means, level: float = BREAK_ACCURACY) -> dict:
    """Where a mean accuracy curve (``xs`` increasing) first falls below ``level``: linear
    interpolation between the last point at or above it and the first below. ``{"value",
    "bound"}`` with bound ``"interpolated"``, ``"below"`` (already below at the first x) or
    ``"above"`` (never below: value = the largest x measured)."""
    pts = [(float(x), float(m)) for x, m in zip(xs, means) if m is not None]
    if not pts:
        return {"value": None, "bound": "no data"}
    if pts[0][1] < level:
        return {"value": pts[0][0], "bound": "below"}
    for (x0, m0), (x1, m1) in zip(pts, pts[1:]):
        if m1 < level:
            f = (m0 - level) / (m0 - m1)
            return {"value": x0 + f * (x1 - x0), "bound": "interpolated"}
    return {"value": pts[-1][0], "bound": "above"}


def _stats(values, log):
    vals = [v for v in values if v is not None and math.isfinite(v)]
    if not vals:
        return None
    if log and min(vals) <= 0:
        log = False
    m, lo, hi = _interval(vals, log)
    return {"mean": m, "lo95": lo, "hi95": hi, "n": len(vals), "values": vals}


def summarize_rows(rows) -> dict:
    """The summary of a study's rows (see the module docstring): ``metric`` (accuracy or loss),
    ``chance``, ``points`` (one per axis combination: kinetics, volume, σ, λ, w, n, diverged,
    ``test`` / ``ideal_test`` / ``stochastic_test`` statistics), ``ode`` (the perfect ODE point's
    statistics, if measured), ``breaking`` (per axis σ, λ, w: where the mean accuracy falls below
    90 % with the other axes at their smallest value, ODE kinetics) and ``volume`` (Ω₅₀ / Ω₉₉ of
    the stochastic points at the smallest σ, λ, w)."""
    rows = _latest(rows)
    if not rows:
        return {"points": [], "n_runs": 0}
    acc = any(r.get("test_accuracy") is not None or r.get("chance_accuracy") is not None
              for r in rows)
    metric = "accuracy" if acc else "loss"
    log = metric == "loss"
    ch = [r.get(f"chance_{metric}") for r in rows if r.get(f"chance_{metric}") is not None]
    chance = float(np.mean(ch)) if ch else CHANCE.get(metric)
    groups: dict = {}
    for r in rows:
        groups.setdefault(_group_key(r), []).append(r)
    points = []
    for key in sorted(groups, key=lambda k: (k[1] is not None, k[1] or 0, k[2], k[3], k[4], k[0])):
        at = groups[key]
        div = [r for r in at if r["status"] == "diverged"]
        p = dict(zip(("kinetics", "volume", "rate_noise", "leak", "wash_residual"), key))
        p.update(n=len(at), diverged=len(div))
        for pre in ("", "ideal_", "stochastic_"):
            vals = [r.get(f"{pre}test_{metric}") for r in at if r["status"] == "ok"]
            if pre != "ideal_":
                vals += [chance] * len(div)
            st = _stats(vals, log)
            if st is not None:
                p[f"{pre}test"] = st
        points.append(p)
    base = {a: min(r[a] for r in rows) for a in AXES[1:]}
    ode_pts = [p for p in points if p["volume"] is None]
    perfect = [p for p in ode_pts if all(p[a] == base[a] for a in AXES[1:])]
    out = {"metric": metric, "chance": chance, "n_runs": len(rows), "baseline": base,
           "ode": perfect[0].get("test") if perfect else None, "points": points,
           "breaking_level": BREAK_ACCURACY if acc else None, "breaking": {}}
    for axis in AXES[1:]:
        curve = sorted((p for p in ode_pts
                        if all(p[a] == base[a] for a in AXES[1:] if a != axis)),
                       key=lambda p: p[axis])
        if len(curve) > 1 and acc:
            out["breaking"][axis] = breaking_point(
                [p[axis] for p in curve], [p.get("test", {}).get("mean") for p in curve])
    sto = sorted((p for p in points if p["volume"] is not None
                  and all(p[a] == base[a] for a in AXES[1:])), key=lambda p: p["volume"])
    if sto and out["ode"] is not None:
        curve = [{"volume": p["volume"], "test": p["test"]} for p in sto if "test" in p]
        out["volume"] = omega_thresholds(curve, "test", metric, out["ode"]["mean"], chance)
        if acc:
            out["breaking"]["volume"] = breaking_point(
                [p["volume"] for p in reversed(curve)],
                [p["test"]["mean"] for p in reversed(curve)])
            out["breaking"]["volume"]["note"] = ("the Ω where the mean accuracy falls below the "
                                                 "level going DOWN from the largest Ω")
    return out


SUMMARY_FIELDS = ("kinetics", "volume", "rate_noise", "leak", "wash_residual", "n", "diverged",
                  "mean", "lo95", "hi95", "ideal_mean", "stochastic_mean")


def summary_csv_rows(summary: dict) -> list[list]:
    """The summary's points as CSV rows (header first): the axes, n, diverged, the headline
    metric's mean and 95 % interval, the ideal predictor's and the stochastic forward's means."""
    out = [list(SUMMARY_FIELDS)]
    for p in summary.get("points", []):
        t = p.get("test") or {}
        out.append([p["kinetics"], "" if p["volume"] is None else p["volume"], p["rate_noise"],
                    p["leak"], p["wash_residual"], p["n"], p["diverged"], t.get("mean"),
                    t.get("lo95"), t.get("hi95"), (p.get("ideal_test") or {}).get("mean"),
                    (p.get("stochastic_test") or {}).get("mean")])
    return out
