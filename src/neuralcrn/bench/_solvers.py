"""ODE methods against the annihilation rate: steps, time and error per phase (issue 9).

Both phases of the paper's XOR circuit (:meth:`~neuralcrn.bench._circuits.CircuitCache.xor_at`,
k_ann = 1e2 … 1e6), from sample 0 (the feedback phase from the end of a tight feedforward solve),
solved by each candidate at the training tolerances (rtol 1e-4, atol 1e-7) and at the benchmark's
tight ones (1e-8, 1e-10):

* ``auto`` — what training uses for the phase (:meth:`~neuralcrn.bench._circuits.Case.
  phase_method`: Rodas5 for a stiff phase, Tsit5 otherwise);
* ``rodas5`` / ``rodas5p`` — Rosenbrock, order 5, exact dual-rail pair-block solves;
* ``ros34pw2`` — Rosenbrock-W, order 3, the pair blocks alone;
* ``imex`` — the additive Runge–Kutta prototype of :mod:`neuralcrn.bench._imex`;
* ``tsit5`` — explicit (our loop), skipped where the phase is too stiff for it;
* ``kvaerno5`` — diffrax's implicit ESDIRK with autodiff Jacobians and dense Newton solves.

Error: normwise relative error of the final state against scipy's Radau (rtol 1e-12, the
analytic Jacobian). Time: median of warmed runs of the compiled solve.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..kinetics import MassActionStructure, mass_action_rhs, solve, stiffness_number
from ..kinetics._jacobian import dense_jacobian
from ._circuits import CircuitCache
from ._feedforward import EXPLICIT_LIMIT, rel_diff
from ._imex import imex_solve_final
from ._timing import compile_aot, run_stats

__all__ = ["solvers_benchmark", "ANNIHILATIONS", "CANDIDATES", "TOLERANCES", "radau_reference"]

ANNIHILATIONS = (1e2, 1e3, 1e4, 1e5, 1e6)
CANDIDATES = ("auto", "rodas5", "rodas5p", "ros34pw2", "imex", "tsit5", "kvaerno5")
TOLERANCES = ((1e-4, 1e-7), (1e-8, 1e-10))
MAX_STEPS = 1_000_000


def radau_reference(structure, k, x0, t_end) -> np.ndarray:
    """scipy ``solve_ivp(method="Radau")`` at rtol 1e-12, atol 1e-15 with the analytic Jacobian
    (an integrator independent of ours)."""
    from scipy.integrate import solve_ivp

    st = MassActionStructure(*(np.asarray(a) for a in structure))
    k = np.asarray(k)
    f = jax.jit(lambda x: mass_action_rhs(x, k, st))
    J = jax.jit(lambda x: dense_jacobian(x, k, st))
    sol = solve_ivp(lambda t, x: np.asarray(f(x)), (0.0, float(t_end)), np.asarray(x0),
                    method="Radau", rtol=1e-12, atol=1e-15, jac=lambda t, x: np.asarray(J(x)))
    if not sol.success:  # pragma: no cover
        raise RuntimeError(f"reference solve failed: {sol.message}")
    return sol.y[:, -1]


_COMPILED: dict = {}


def _run(method, structure, k, x0, t_end, rtol, atol, repeats, plan):
    """Compile (once per method, tolerances and shapes: the circuits at other k_ann reuse it),
    time and run one solve; ``(timings and steps, final state)``."""
    if method == "imex":
        def fn(s, k, x, t):
            return imex_solve_final(s, k, x, t, rtol=rtol, atol=atol, max_steps=MAX_STEPS)
    else:
        def fn(s, k, x, t):
            sol = solve(s, k, x, jnp.reshape(t, (1,)), method=method, rtol=rtol, atol=atol,
                        max_steps=MAX_STEPS, jacobian_plan=plan)
            return sol.ys[-1], sol.num_steps, sol.status
    key = (method, rtol, atol, jax.tree_util.tree_map(jnp.shape, (structure, k, x0, plan)))
    compile_s = 0.0
    if key not in _COMPILED:
        _COMPILED[key], compile_s = compile_aot(fn, structure, k, x0, t_end)
    compiled = _COMPILED[key]
    st = run_stats(lambda: compiled(structure, k, x0, t_end), repeats)
    y, steps, status = st["result"]
    return {"compile_s": compile_s, "median_s": st["median_s"], "num_steps": int(steps),
            "status": int(status)}, np.asarray(y)


def solvers_benchmark(cache: CircuitCache, *, annihilations=ANNIHILATIONS,
                      methods=CANDIDATES, tolerances=TOLERANCES, repeats: int = 3) -> dict:
    """The table of the module docstring: one row per (k_ann, phase, tolerances, method)."""
    rows = []
    for k_ann in annihilations:
        case = cache.xor_at(k_ann)
        for phase in case.circuit.module_names:
            structure, k, t_end = case.phase_system(phase)
            x0 = jnp.asarray(case.phase_start(phase))
            ref = radau_reference(structure, k, x0, t_end)
            sigma = stiffness_number(MassActionStructure(*(np.asarray(a) for a in structure)),
                                     int(x0.shape[0]), np.asarray(k), float(t_end))
            auto = case.phase_method(phase)
            for rtol, atol in tolerances:
                for method in methods:
                    m = auto if method == "auto" else method
                    row = {"annihilation": k_ann, "phase": phase, "rtol": rtol, "atol": atol,
                           "method": method, "resolved": m, "stiffness_number": sigma}
                    if m == "tsit5" and sigma > EXPLICIT_LIMIT:
                        row["skipped"] = f"stiff: k_max·T = {sigma:.3g}"
                    else:
                        res, y = _run(m, structure, k, x0, t_end, rtol, atol, repeats,
                                      case.phase_plan(phase))
                        row.update(res, error=rel_diff(y, ref),
                                   min_value=float(np.min(y)) / float(np.max(np.abs(ref))))
                    rows.append(row)
    return {"reference": "scipy Radau, rtol 1e-12, atol 1e-15, analytic Jacobian", "rows": rows,
            "steps_vs_annihilation": _steps_table(rows)}


def _steps_table(rows) -> list[dict]:
    """Steps per phase against k_ann for the automatic choice (one entry per tolerance)."""
    out = []
    for rtol in sorted({r["rtol"] for r in rows}, reverse=True):
        sel = [r for r in rows if r["method"] == "auto" and r["rtol"] == rtol
               and "num_steps" in r]
        out.append({"rtol": rtol, "steps": {
            f"{r['phase']}@{r['annihilation']:g}": r["num_steps"] for r in sel},
            "methods": {f"{r['phase']}@{r['annihilation']:g}": r["resolved"] for r in sel}})
    return out
