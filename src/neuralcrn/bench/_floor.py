"""The floor of one phase solve: what the work costs when nothing else is paid for.

* **Evaluations** are counted, not estimated: the phase is solved again with the library's own
  loop (:func:`neuralcrn.kinetics.solve_final`'s integrator, same method and settings) whose
  right-hand side bumps a host counter through ``jax.experimental.io_callback`` on every call;
  its step count is checked against the library solve's (``same_path``). Tsit5 (first same as
  last) costs 6 new evaluations per step, Rodas5 8 (7 stages + the derivative at the new point),
  both plus 2 at the start (f(y0) and the first step-size guess).
* **Cost of one evaluation**: :func:`neuralcrn.kinetics.mass_action_rhs` ``n_evals`` times in one
  jitted ``lax.fori_loop`` (x ← x + 10⁻¹²·f(x), so nothing is hoisted), divided by ``n_evals``;
  likewise, for a Rosenbrock method, the analytic Jacobian with its factorisation (once per step;
  the timed loop includes one solve) and one linear solve (the closed-form block inverse plus the
  block substitution sweeps, or the LU solve; once per stage).
* **Floor** = evaluations × cost + steps × (Jacobian + stages × linear solve); the **overhead
  ratio** solve / floor is what the loop adds (stage combinations, error norm, step-size control,
  while-loop bookkeeping).
* **Stiffness**: the spectral radius ρ of the Jacobian at the start and the end of the phase and
  Tsit5's real-axis stability bound β (|R(−β)| = 1, from its Butcher tableau): an explicit method
  needs at least T·ρ/β steps for any accuracy; the Rosenbrock methods do not.
"""

from __future__ import annotations

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import io_callback

from ..kinetics import mass_action_rhs, solve, solve_final
from ..kinetics._solve import ROSENBROCK, _lean_solve
from ._circuits import Case
from ._timing import compile_aot, public, run_stats

__all__ = ["floor_benchmark", "tsit5_stability_bound", "count_rhs_evaluations"]


def tsit5_stability_bound() -> float:
    """β > 0 with |R(−x)| ≤ 1 for 0 ≤ x ≤ β, R the stability function of Tsit5 (≈ 3.5)."""
    tab = diffrax.Tsit5.tableau
    s = len(tab.c) + 1
    A = np.zeros((s, s))
    for i, row in enumerate(tab.a_lower):
        A[i + 1, :len(row)] = np.asarray(row)
    b = np.asarray(tab.b_sol)
    e = np.ones(s)
    xs = np.linspace(0.0, 10.0, 100_001)
    for x in xs[1:]:
        z = -x
        R = 1.0 + z * b @ np.linalg.solve(np.eye(s) - z * A, e)
        if abs(R) > 1.0 + 1e-12:
            return float(x)
    return float(xs[-1])  # pragma: no cover


def count_rhs_evaluations(structure, k, x0, t_end, *, method, rtol, atol, max_steps,
                          plan=None) -> dict:
    """Solve as :func:`~neuralcrn.kinetics.solve_final` does (our loop, ``method`` one of its
    own: a Rosenbrock method or ``"tsit5"``) and count the right-hand-side calls."""
    count = np.zeros((), dtype=np.int64)

    def bump(_):
        count[...] += 1

    def wrap(f):
        def counted(y):
            io_callback(bump, None, y[0, 0], ordered=True)
            return f(y)
        return counted

    r = _lean_solve(method, structure, jnp.asarray(k), jnp.asarray(x0, jnp.float64)[None], 0.0,
                    t_end, None, rtol, atol, max_steps, None, wrap=wrap, plan=plan)
    jax.block_until_ready(r.y)
    return {"evaluations": int(count), "num_steps": int(r.num_steps),
            "accepted": int(r.num_accepted), "rejected": int(r.num_steps - r.num_accepted)}


def _loop_cost(step, x0, n: int, repeats: int, *args) -> float:
    """Seconds per call of ``step(x, *args) -> x`` in a jitted fori_loop of n calls."""
    f, _ = compile_aot(lambda x, *a: jax.lax.fori_loop(0, n, lambda i, x: step(x, *a), x),
                       x0, *args)
    return run_stats(lambda: f(x0, *args), repeats)["median_s"] / n


def _component_costs(structure, k, x0, method, n: int, repeats: int, plan=None) -> dict:
    x0 = jnp.asarray(x0, jnp.float64)
    out = {"per_eval_s": _loop_cost(
        lambda x, s, k: x + 1e-12 * mass_action_rhs(x, k, s), x0, n, repeats, structure, k)}
    out["loop_per_iteration_s"] = _loop_cost(lambda x: x + 1e-12 * x, x0, n, repeats)
    if method in ROSENBROCK:
        from ..kinetics._rosenbrock import _linear
        from ..kinetics._tableaus import TABLEAUS

        table, linear = ROSENBROCK[method]
        tab = TABLEAUS[table]

        def jac_step(X, s, k):  # the Jacobian and the factorisation of I/(hγ) − J: per step
            lin = _linear(s, k, X.shape[-1], tab, linear, plan)
            solve = lin.factor(lin.jacobian(X), 100.0 + X[0, 0])
            return X + 1e-12 * solve(jnp.ones_like(X))[..., :1]

        def solve_step(X, s, k):
            lin = _linear(s, k, X.shape[-1], tab, linear, plan)
            jac = lin.jacobian(jnp.abs(x0)[None] + 0.01)  # hoisted: only the solve is timed
            return X + 1e-12 * lin.factor(jac, 100.0)(X)

        X0 = x0[None]
        out["jacobian_s"] = _loop_cost(jac_step, X0, n, repeats, structure, k)
        out["linear_solve_s"] = _loop_cost(solve_step, X0, n, repeats, structure, k)
        out["stages"] = tab.stages
    return out


def _spectral_radius(structure, k, x) -> float:
    J = np.asarray(jax.jit(jax.jacfwd(lambda x: mass_action_rhs(x, k, structure)))(x))
    return float(np.max(np.abs(np.linalg.eigvals(J)), initial=0.0))


def floor_benchmark(case: Case, phase: str = "feedforward", *, rtol: float, atol: float,
                    max_steps: int = 200_000, n_evals: int = 20_000, repeats: int = 5) -> dict:
    """Floor analysis of one phase of ``case`` from sample 0 (the phase's start state is the state
    the schedule reaches there), with the method chemical training uses for the phase."""
    structure, k, t_end = case.phase_system(phase)
    x0 = jnp.asarray(case.phase_start(phase))
    method = case.phase_method(phase)
    plan = case.phase_plan(phase)

    f = lambda s, k, x, t: solve_final(s, k, x, t, method=method, rtol=rtol,  # noqa: E731
                                       atol=atol, max_steps=max_steps, jacobian_plan=plan)
    compiled, compile_s = compile_aot(f, structure, k, x0, t_end)
    st = run_stats(lambda: compiled(structure, k, x0, t_end), repeats)
    x1 = st["result"]
    lib = jax.jit(lambda s, k, x, t: solve(s, k, x, jnp.reshape(t, (1,)), method=method,
                                            rtol=rtol, atol=atol, max_steps=max_steps,
                                            jacobian_plan=plan))(structure, k, x0, t_end)
    counted = count_rhs_evaluations(structure, k, x0, t_end, method=method, rtol=rtol, atol=atol,
                                    max_steps=max_steps, plan=plan)
    cost = _component_costs(structure, k, x0, method, n_evals, repeats, plan)
    evals, steps = counted["evaluations"], counted["num_steps"]
    floor_s = evals * cost["per_eval_s"]
    if "jacobian_s" in cost:
        floor_s += steps * (cost["jacobian_s"] + cost["stages"] * cost["linear_solve_s"])
    beta = tsit5_stability_bound()
    rho0, rho1 = _spectral_radius(structure, k, x0), _spectral_radius(structure, k, x1)
    T = float(t_end)
    return {
        "circuit": case.name, "phase": phase, "T": T, "method": method,
        "tolerances": {"rtol": rtol, "atol": atol},
        "form": "training per-phase reactions" if case.reduced else "union",
        "species": int(x0.shape[0]), "active_reactions": int(np.count_nonzero(np.asarray(k))),
        "reactions": int(structure.reactant_index.shape[0]),
        "solve": {"compile_s": compile_s, **public(st)},
        "num_steps": int(lib.num_steps), "same_path": steps == int(lib.num_steps),
        "accepted_steps": counted["accepted"], "rejected_steps": counted["rejected"],
        "rhs_evaluations": evals, "rhs_cost": cost,
        "floor_s": floor_s, "overhead_ratio": st["median_s"] / floor_s,
        "per_step_s": st["median_s"] / max(1, steps),
        "stiffness": {"spectral_radius_start": rho0, "spectral_radius_end": rho1,
                      "tsit5_real_stability_bound": beta,
                      "min_stable_steps": T * max(rho0, rho1) / beta},
    }
