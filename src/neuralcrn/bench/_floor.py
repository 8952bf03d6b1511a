"""The floor of one phase solve: right-hand-side evaluations × the cost of one evaluation.

* **Evaluations** are counted, not estimated: the solve of :func:`neuralcrn.kinetics.solve_final`
  (diffrax Tsit5, ``PIDController(rtol, atol)``, automatic initial step, ``SaveAt(t1=True)``) is
  repeated here with the same settings and a vector field that bumps a host counter through
  ``jax.experimental.io_callback`` on every call; its step count is checked against the library
  solve's (``same_path``). Tsit5 is FSAL with 7 stages: every step (accepted or rejected) costs 6
  new evaluations (stages 2–7; stage 7 is f(t₁, y₁), reused as the next step's stage 1), the first
  step also evaluates stage 1, and diffrax's initial step-size selection evaluates f twice; the
  counted total is reported next to ``6 · num_steps``.
* **Cost of one evaluation**: :func:`neuralcrn.kinetics.mass_action_rhs` called ``n_evals`` times
  in one jitted ``lax.fori_loop`` (x ← x + 10⁻¹²·f(x), so nothing is hoisted), the loop's wall time
  divided by ``n_evals`` — dispatch is amortised; the same loop without the rhs gives the loop's
  own per-iteration cost.
* **Overhead ratio** = measured solve time / (evaluations × cost per evaluation): what the solver
  adds (stage combinations, error norm, step-size control, while-loop bookkeeping) on top of the
  vector field.
* **Stiffness**: the spectral radius ρ of the Jacobian ∂f/∂x at the start and the end of the phase
  and Tsit5's real-axis stability bound β (|R(−β)| = 1, from its Butcher tableau) give the
  stability limit dt ≤ β/ρ, i.e. at least T·ρ/β steps for any accuracy.
"""

from __future__ import annotations

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import io_callback

from ..kinetics import mass_action_rhs, solve, solve_final
from ._circuits import Case
from ._feedforward import rel_diff
from ._timing import compile_aot, public, run_stats

__all__ = ["floor_benchmark", "tsit5_stability_bound", "count_rhs_evaluations", "solver_variants"]


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


def count_rhs_evaluations(structure, k, x0, t_end, *, rtol, atol, max_steps) -> dict:
    """Solve as :func:`~neuralcrn.kinetics.solve_final` does and count vector-field calls."""
    count = np.zeros((), dtype=np.int64)

    def bump(_):
        count[...] += 1

    def vf(t, y, args):
        io_callback(bump, None, t, ordered=True)
        return mass_action_rhs(y, args[0], args[1])

    solver = diffrax.Tsit5()
    ctrl = diffrax.PIDController(rtol=rtol, atol=atol)
    sol = diffrax.diffeqsolve(diffrax.ODETerm(vf), solver, 0.0, t_end, None,
                              jnp.asarray(x0, jnp.float64), (k, structure),
                              saveat=diffrax.SaveAt(t1=True), stepsize_controller=ctrl,
                              max_steps=max_steps, throw=False)
    jax.block_until_ready(sol.ys)
    return {"evaluations": int(count), "num_steps": int(sol.stats["num_steps"]),
            "accepted": int(sol.stats["num_accepted_steps"]),
            "rejected": int(sol.stats["num_rejected_steps"])}


def _rhs_cost(structure, k, x0, n_evals: int, repeats: int) -> dict:
    def loop(structure, k, x):
        body = lambda i, x: x + 1e-12 * mass_action_rhs(x, k, structure)  # noqa: E731
        return jax.lax.fori_loop(0, n_evals, body, x)

    def empty(x):
        return jax.lax.fori_loop(0, n_evals, lambda i, x: x + 1e-12 * x, x)

    f, _ = compile_aot(loop, structure, k, x0)
    g, _ = compile_aot(empty, x0)
    st = run_stats(lambda: f(structure, k, x0), repeats)
    st0 = run_stats(lambda: g(x0), repeats)
    return {"n_evals": n_evals, "per_eval_s": st["median_s"] / n_evals,
            "loop_per_iteration_s": st0["median_s"] / n_evals, "loop_runs_s": st["runs_s"]}


def _spectral_radius(structure, k, x) -> float:
    J = np.asarray(jax.jit(jax.jacfwd(lambda x: mass_action_rhs(x, k, structure)))(x))
    return float(np.max(np.abs(np.linalg.eigvals(J)), initial=0.0))


def floor_benchmark(case: Case, phase: str = "feedforward", *, rtol: float, atol: float,
                    max_steps: int = 200_000, n_evals: int = 20_000, repeats: int = 5) -> dict:
    """Floor analysis of one phase of ``case`` from sample 0 (the phase's start state is the state
    the schedule reaches there)."""
    structure, k, t_end = case.phase_system(phase)
    x0 = jnp.asarray(case.loaded(0))
    for name in case.circuit.module_names[:case.phase_index(phase)]:
        # run the earlier phases to get this phase's start state
        st_p, k_p, t_p = case.phase_system(name)
        x0 = solve_final(st_p, k_p, x0, t_p, rtol=rtol, atol=atol, max_steps=max_steps)

    f = lambda s, k, x, t: solve_final(s, k, x, t, rtol=rtol, atol=atol,  # noqa: E731
                                       max_steps=max_steps)
    compiled, compile_s = compile_aot(f, structure, k, x0, t_end)
    st = run_stats(lambda: compiled(structure, k, x0, t_end), repeats)
    x1 = st["result"]
    lib = jax.jit(lambda s, k, x, t: solve(s, k, x, jnp.reshape(t, (1,)), rtol=rtol, atol=atol,
                                            max_steps=max_steps))(structure, k, x0, t_end)
    counted = count_rhs_evaluations(structure, k, x0, t_end, rtol=rtol, atol=atol,
                                    max_steps=max_steps)
    cost = _rhs_cost(structure, k, x0, n_evals, repeats)
    evals = counted["evaluations"]
    floor_s = evals * cost["per_eval_s"]
    beta = tsit5_stability_bound()
    rho0, rho1 = _spectral_radius(structure, k, x0), _spectral_radius(structure, k, x1)
    T = float(t_end)
    return {
        "circuit": case.name, "phase": phase, "T": T,
        "tolerances": {"rtol": rtol, "atol": atol},
        "form": "training per-phase reactions" if case.reduced else "union",
        "species": int(x0.shape[0]), "active_reactions": int(np.count_nonzero(np.asarray(k))),
        "reactions": int(structure.reactant_index.shape[0]),
        "solve": {"compile_s": compile_s, **public(st)},
        "num_steps": int(lib.num_steps), "same_path": counted["num_steps"] == int(lib.num_steps),
        "accepted_steps": counted["accepted"], "rejected_steps": counted["rejected"],
        "rhs_evaluations": evals, "six_times_steps": 6 * counted["num_steps"],
        "rhs_cost": cost,
        "floor_s": floor_s, "overhead_ratio": st["median_s"] / floor_s,
        "per_step_s": st["median_s"] / max(1, counted["num_steps"]),
        "stiffness": {"spectral_radius_start": rho0, "spectral_radius_end": rho1,
                      "tsit5_real_stability_bound": beta,
                      "min_stable_steps": T * max(rho0, rho1) / beta},
    }


def solver_variants(case: Case, *, rtol: float, atol: float, repeats: int = 5,
                    max_steps: int = 200_000, annihilation: float | None = 1e3) -> dict:
    """Candidate speed-ups of the feedforward solve of ``case`` (sample 0), measured, not adopted.

    * ``library`` — :func:`~neuralcrn.kinetics.solve_final` on the phase as training integrates
      it (reference; :meth:`~neuralcrn.bench._circuits.Case.phase_system`);
    * ``union_network`` — the compiler's form (all reactions, the other phase's set to 0);
    * ``module_network`` — the feedforward module's own network (its species and reactions);
    * ``pi_controller`` / ``module_network+pi`` — the same Tsit5 solves with a PI step-size
      controller (``PIDController(pcoeff=0.4, icoeff=0.3)``): fewer rejected steps at the
      stability limit;
    * ``kvaerno5`` — diffrax's implicit ESDIRK solver (the library's stiff option);
    * ``annihilation=…`` — the circuit recompiled with a smaller k_ann (changes the chemistry:
      the forward error grows like 1/k_ann; shown only to price the stiffness).

    Each entry: compile and median run time, accepted/rejected steps, and the normwise relative
    difference of the final module state from ``library``.
    """
    from ..compiler import compile_two_phase, load_sample, step_program
    from ..kinetics import MassActionStructure, compile_network

    x0 = jnp.asarray(case.loaded(0))
    module = case.circuit.module("feedforward")
    sidx = {s: i for i, s in enumerate(case.circuit.species)}
    midx = np.array([sidx[s] for s in module.species])
    arr_m = compile_network(module)
    st_m = MassActionStructure(*(jnp.asarray(a) for a in arr_m.structure()))
    k_m = jnp.asarray(arr_m.rate_constants)

    def diffrax_solve(solver, ctrl):
        def f(structure, k, x, t_end):
            vf = lambda t, y, a: mass_action_rhs(y, a[0], a[1])  # noqa: E731
            sol = diffrax.diffeqsolve(diffrax.ODETerm(vf), solver, 0.0, t_end, None, x,
                                      (k, structure), saveat=diffrax.SaveAt(t1=True),
                                      stepsize_controller=ctrl, max_steps=max_steps,
                                      throw=False)
            return sol.ys[0], sol.stats["num_accepted_steps"], sol.stats["num_rejected_steps"]
        return f

    default = diffrax_solve(diffrax.Tsit5(), diffrax.PIDController(rtol=rtol, atol=atol))
    pi = diffrax_solve(diffrax.Tsit5(),
                       diffrax.PIDController(rtol=rtol, atol=atol, pcoeff=0.4, icoeff=0.3))
    kv = diffrax_solve(diffrax.Kvaerno5(),
                       diffrax.PIDController(rtol=rtol, atol=atol, pcoeff=0.3, icoeff=0.3))

    def library(structure, k, x, t_end):
        return solve_final(structure, k, x, t_end, rtol=rtol, atol=atol, max_steps=max_steps)

    main = (*case.phase_system("feedforward")[:2], x0, case.phase_system("feedforward")[2])
    union = (*case.phase_system("feedforward", reduced=False)[:2], x0, main[3])
    mod = (st_m, k_m, x0[midx], main[3])
    variants = [("library", library, default, main, True),
                ("union_network", library, default, union, True),
                ("module_network", library, default, mod, False),
                ("pi_controller", pi, None, main, True),
                ("module_network+pi", pi, None, mod, False),
                ("kvaerno5", kv, None, main, True)]
    if annihilation is not None:
        spec = case.spec.replace(rates=case.spec.rates.__class__(
            **{**case.spec.rates.__dict__, "annihilation": annihilation}))
        circ = compile_two_phase(spec).with_params(case.params)
        p2 = step_program(circ, "two-phase")
        x2 = load_sample(p2, jnp.asarray(circ.network.initial), case.X[0], case.Y[0])
        ph = case.phase_index("feedforward")
        variants.append((f"annihilation={annihilation:g}", library, default,
                         (p2.structure, p2.rate_constants[ph], x2, p2.durations[ph]), True))
    out = {}
    ref = None
    for name, fn, counter, args, full in variants:
        compiled, compile_s = compile_aot(fn, *args)
        st = run_stats(lambda: compiled(*args), repeats)
        res = st["result"]
        if counter is None:  # the timed function reports its own step counts
            y, acc, rej = res
        else:  # the library solve: count steps with the same solver on the same system
            y = res
            _, acc, rej = jax.jit(counter)(*args)
        y = np.asarray(y)[midx] if full else np.asarray(y)
        if ref is None:
            ref = y
        out[name] = {"compile_s": compile_s, **public(st), "accepted": int(acc),
                     "rejected": int(rej), "rel_diff_vs_library": rel_diff(y, ref)}
    base = out["library"]["median_s"]
    for v in out.values():
        v["time_vs_library"] = v["median_s"] / base
    return {"circuit": case.name, "tolerances": {"rtol": rtol, "atol": atol}, "variants": out}
