"""Time per chemical training step against the input dimension d (first-order model).

Circuits: the ``d{d}`` family of :mod:`neuralcrn.bench._circuits` (drive "bias", fixed hidden
width n = 8, quadratic, T = 0.4, first-order gradient, two-phase schedule), so species and
reactions grow linearly in d. A training step is one step of the training layer's compiled epoch
(:class:`neuralcrn.training.CompiledEpoch`, single run: wash, load x and y, feedforward for T,
feedback for 30/k_u) with the training layer's default solver settings; the time per step is one
epoch over K samples divided by K (so per-call dispatch is amortised). Without the training layer
the same protocol runs as a ``lax.scan`` of :func:`neuralcrn.compiler.run_step`.

Fitted growth exponents are least-squares slopes of log(time per step) against log(d) and against
log(reactions); the solver step counts of the two phases (sample 0) and the time per solver step
separate "more steps" (stiffness) from "dearer steps" (circuit size).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..compiler import run_step
from ..kinetics import solve
from ._circuits import Case
from ._timing import compile_aot, public, run_stats

__all__ = ["scaling_benchmark", "training_solver_settings", "loglog_slope", "epoch_function"]


def training_solver_settings() -> dict:
    """The chemical training layer's default ODE settings (method, rtol, atol, max_steps)."""
    try:
        from ..training import SolverSettings
        return SolverSettings().as_kwargs()
    except ImportError:
        return {"method": "tsit5", "rtol": 1e-6, "atol": 1e-9, "max_steps": 100_000}


def loglog_slope(x, y) -> float:
    """Least-squares slope of log y against log x."""
    lx, ly = np.log(np.asarray(x, dtype=float)), np.log(np.asarray(y, dtype=float))
    return float(np.polyfit(lx, ly, 1)[0])


def epoch_function(solver: dict):
    """``epoch(program, state, X, Y) -> (state, losses)``: a ``lax.scan`` of two-phase steps."""
    def epoch(program, state, X, Y):
        def body(s, xy):
            states = run_step(program, s, xy[0], xy[1], **solver)
            return states[-1], jnp.all(jnp.isfinite(states[-1]))
        return jax.lax.scan(body, state, (X, Y))
    return epoch


def _phase_steps(case: Case, solver: dict) -> dict:
    """Solver steps of each phase of one step on sample 0 (the phases as training integrates
    them, each with the method training uses for it)."""
    x = jnp.asarray(case.loaded(0))
    out = {}
    for name in case.circuit.module_names:
        opts = dict(solver)
        if opts["method"] == "auto":
            opts["method"] = case.phase_method(name)
        f = jax.jit(lambda s, k, x, t: solve(s, k, x, jnp.reshape(t, (1,)), **opts))
        sol = f(*case.phase_system(name)[:2], x, case.phase_system(name)[2])
        out[name] = int(sol.num_steps)
        x = sol.ys[-1]
    return out


def step_time(case: Case, solver: dict, repeats: int) -> dict:
    """Compile and time one epoch over ``case``'s samples; per-step time = epoch / K."""
    state = jnp.asarray(case.state)
    X, Y = jnp.asarray(case.X), jnp.asarray(case.Y)
    K = int(X.shape[0])
    if case.setup is not None:
        from ..training import CompiledEpoch, SolverSettings
        fn = CompiledEpoch(case.setup, K, None, SolverSettings(**solver))
        compile_s = fn.compile_seconds  # 0 if this shape was compiled earlier in the process
        st = run_stats(lambda: fn(case.setup, state, X, Y), repeats)
        api = "training.CompiledEpoch"
        ok = bool(np.all(np.isfinite(np.asarray(st["result"][1]))))
    else:
        compiled, compile_s = compile_aot(epoch_function(solver), case.program, state, X, Y)
        st = run_stats(lambda: compiled(case.program, state, X, Y), repeats)
        api = "lax.scan(compiler.run_step)"
        ok = bool(np.all(np.asarray(st["result"][1])))
    return {"api": api, "compile_s": compile_s, "samples": K, **public(st),
            "per_step_s": st["median_s"] / K, "all_finite": ok}


def scaling_benchmark(cases: list[Case], *, repeats: int = 3, solver: dict | None = None) -> dict:
    """Per-step time, counts and step numbers for each case (ascending d) and fitted slopes."""
    solver = solver or training_solver_settings()
    rows = []
    for case in cases:
        counts = case.counts()
        t = step_time(case, solver, repeats)
        steps = _phase_steps(case, solver)
        total_steps = sum(steps.values())
        rows.append({"d": case.spec.inputs, "n": case.spec.n, "circuit": case.name,
                     "parameters": int(case.spec.n * case.spec.n_u + 2 * case.spec.n),
                     "species": counts["species"], "reactions": counts["reactions"],
                     "modules": counts["modules"], "timing": t,
                     "per_step_s": t["per_step_s"], "solver_steps": steps,
                     "per_solver_step_s": t["per_step_s"] / max(1, total_steps)})
    out = {"hidden": cases[0].spec.n if cases else None, "solver": solver, "rows": rows}
    if len(rows) >= 2:
        d = [r["d"] for r in rows]
        t = [r["per_step_s"] for r in rows]
        out["slope_time_vs_d"] = loglog_slope(d, t)
        out["slope_time_vs_reactions"] = loglog_slope([r["reactions"] for r in rows], t)
        out["slope_reactions_vs_d"] = loglog_slope(d, [r["reactions"] for r in rows])
        out["slope_solver_steps_vs_d"] = loglog_slope(
            d, [sum(r["solver_steps"].values()) for r in rows])
        out["slope_time_per_solver_step_vs_d"] = loglog_slope(
            d, [r["per_solver_step_s"] for r in rows])
    return out
