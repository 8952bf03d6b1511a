"""One feedforward phase solved three ways on the same circuit, state, horizon and tolerances.

* ``neuralcrn`` — :func:`neuralcrn.kinetics.solve_final` compiled ahead of time with the method
  chemical training uses for this phase (``method="auto"``: Rodas5 with exact dual-rail pair-block
  solves for a stiff phase, our lean Tsit5 otherwise; :meth:`~neuralcrn.bench._circuits.Case.
  phase_method`), on the phase exactly as training integrates it
  (:meth:`~neuralcrn.bench._circuits.Case.phase_system`: the phase's own reactions over all
  species of the circuit).
* ``scipy_lsoda`` — ``scipy.integrate.solve_ivp(method="LSODA")`` with the right-hand side a Python
  user would write first: vectorised numpy over the *same arrays* (reactant-index products, then a
  sparse CSR stoichiometry matrix times the rate vector), no Jacobian supplied.
* ``roadrunner`` — libroadrunner (CVODE, BDF, dense Jacobian by finite differences) on the SBML
  export (:func:`neuralcrn.chemistry.sbml.to_sbml`) of the feedforward *module* network alone
  (its species and reactions only), with the same initial concentrations; model loading
  (SBML parse + LLVM compile) is timed separately from ``reset(); simulate(0, T, 2)``.

More neuralcrn rows (not used for the target ratios): ``neuralcrn_<method>`` — the same solve with
another method (``rodas5``, ``ros34pw2``, ``tsit5``; explicit methods are skipped where the phase
is so stiff that they would need more than ~10⁵ steps); ``neuralcrn_diffrax_tsit5`` — diffrax's
Tsit5 (what neuralcrn used before its own integrators); ``neuralcrn_union`` — the compiler's form
of the phase (all reactions of the circuit, the other phase's rate constants 0; what
:func:`neuralcrn.compiler.run_step` integrates); ``neuralcrn_module`` — the module network alone
(what roadrunner gets); ``neuralcrn_vmap`` — per solve, ``jax.vmap(solve_final)`` over a batch of
different samples (every lane its own step size; the batched while-loop runs until the slowest
lane is done); ``neuralcrn_stacked`` — per solve, one :func:`~neuralcrn.kinetics.solve_final_stack`
of the ``(B, S)`` stacked state (one shared step sequence, error norm = the worst pot's RMS), the
way the training layer runs ``--replicates``.

Every solver's final state is compared with neuralcrn's on the module's species (``rel_diff``: the
normwise relative difference max_i |a_i − b_i| / max_i |b_i|) and with a reference solve (Rodas5 at
rtol 1e-12, ``error``): equal tolerances do not mean equal accuracy.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

from ..kinetics import (MassActionStructure, compile_network, jacobian_plan, solve, solve_final,
                        solve_final_stack, stiffness_number)
from ._circuits import Case
from ._timing import compile_aot, public, run_stats

__all__ = ["numpy_rhs", "feedforward_benchmark", "rel_diff", "RTOL", "ATOL", "OTHER_METHODS",
           "EXPLICIT_LIMIT"]

RTOL = 1e-8
ATOL = 1e-10
MAX_STEPS = 200_000
OTHER_METHODS = ("rodas5", "ros34pw2", "tsit5")
"""Methods timed next to the automatic choice (rows ``neuralcrn_<method>``)."""
EXPLICIT_LIMIT = 3e4
"""Explicit methods are skipped for a phase whose stiffness number (k_max·T) is above this."""


def rel_diff(a, b) -> float:
    """Normwise relative difference ``max|a − b| / max|b|`` (``max|a − b|`` when b = 0)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    den = float(np.max(np.abs(b), initial=0.0))
    num = float(np.max(np.abs(a - b), initial=0.0))
    return num / den if den > 0 else num


def numpy_rhs(structure, rate_constants, n_species: int):
    """``rhs(t, x)`` in vectorised numpy from a :class:`~neuralcrn.kinetics.MassActionStructure`
    (numpy or JAX arrays): ``v = k · Π xpad[reactant_index]``, ``dx/dt = N_csr @ v`` with the
    sparse stoichiometry matrix built from the structure's triplets (the scipy baseline)."""
    from scipy import sparse

    index = np.asarray(structure.reactant_index)
    k = np.asarray(rate_constants, dtype=float)
    N = sparse.coo_matrix((np.asarray(structure.stoich_value, dtype=float),
                           (np.asarray(structure.stoich_species),
                            np.asarray(structure.stoich_reaction))),
                          shape=(n_species, index.shape[0])).tocsr()
    one = np.ones(1)

    def rhs(t, x):
        v = k * np.concatenate([x, one])[index].prod(axis=1)
        return N @ v

    return rhs


def _device(st: MassActionStructure) -> MassActionStructure:
    return MassActionStructure(*(jnp.asarray(a) for a in st))


def _solve_fn(method, rtol, atol, max_steps, plan=None):
    def f(structure, k, x0, t_end):
        return solve_final(structure, k, x0, t_end, method=method, rtol=rtol, atol=atol,
                           max_steps=max_steps, jacobian_plan=plan)
    return f


_STEP_COUNTERS: dict = {}


def _num_steps(structure, k, x0, t_end, method, rtol, atol, max_steps,
               plan=None) -> tuple[int, int]:
    """``(num_steps, status)`` of the library solve (one compiled counter per setting)."""
    key = (method, rtol, atol, max_steps)
    if key not in _STEP_COUNTERS:
        _STEP_COUNTERS[key] = jax.jit(lambda s, k, x, t, p: solve(
            s, k, x, jnp.reshape(t, (1,)), method=method, rtol=rtol, atol=atol,
            max_steps=max_steps, jacobian_plan=p))
    sol = _STEP_COUNTERS[key](structure, k, x0, t_end, plan)
    return int(sol.num_steps), int(sol.status)


def _plan(structure, k, n_species):
    """The compact Jacobian plan of a phase system (what training passes to the solver)."""
    return jacobian_plan(MassActionStructure(*(np.asarray(a) for a in structure)), n_species,
                         np.asarray(k))


def _neuralcrn(structure, k, x0, t_end, repeats, rtol, atol, max_steps, method):
    plan = _plan(structure, k, x0.shape[-1])
    f = _solve_fn(method, rtol, atol, max_steps, plan)
    compiled, compile_s = compile_aot(f, structure, k, x0, t_end)
    st = run_stats(lambda: compiled(structure, k, x0, t_end), repeats)
    steps, status = _num_steps(structure, k, x0, t_end, method, rtol, atol, max_steps, plan)
    out = {"method": method, "compile_s": compile_s, **public(st), "num_steps": steps,
           "status": status}
    return out, np.asarray(st["result"])


def _diffrax_tsit5(structure, k, x0, t_end, repeats, rtol, atol, max_steps):
    """diffrax's Tsit5 with its PID controller (neuralcrn's solver before issue 9)."""
    import diffrax

    from ..kinetics import mass_action_rhs

    def f(structure, k, x, t_end):
        sol = diffrax.diffeqsolve(
            diffrax.ODETerm(lambda t, y, a: mass_action_rhs(y, a[0], a[1])), diffrax.Tsit5(),
            0.0, t_end, None, x, (k, structure), saveat=diffrax.SaveAt(t1=True),
            stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol), max_steps=max_steps,
            throw=False)
        return sol.ys[0], sol.stats["num_steps"]

    compiled, compile_s = compile_aot(f, structure, k, x0, t_end)
    st = run_stats(lambda: compiled(structure, k, x0, t_end), repeats)
    y, steps = st["result"]
    return ({"method": "diffrax Tsit5", "compile_s": compile_s, **public(st),
             "num_steps": int(steps)}, np.asarray(y))


def _neuralcrn_vmap(case: Case, structure, k, t_end, batch, repeats, rtol, atol, max_steps,
                    method):
    X0 = jnp.asarray(np.stack([case.loaded(i) for i in range(batch)]))
    plan = _plan(structure, k, X0.shape[-1])
    f = _solve_fn(method, rtol, atol, max_steps, plan)
    g = lambda s, k, X, t: jax.vmap(lambda x: f(s, k, x, t))(X)  # noqa: E731
    compiled, compile_s = compile_aot(g, structure, k, X0, t_end)
    st = run_stats(lambda: compiled(structure, k, X0, t_end), repeats)
    steps = [_num_steps(structure, k, X0[i], t_end, method, rtol, atol, max_steps, plan)[0]
             for i in range(batch)]
    out = {"method": method, "compile_s": compile_s, "batch": batch, **public(st),
           "per_solve_s": st["median_s"] / batch, "lane_steps_max": max(steps),
           "lane_steps_mean": float(np.mean(steps)),
           "per_lane_step_s": st["median_s"] / (batch * max(steps))}
    return out


def _neuralcrn_stacked(case: Case, structure, k, t_end, batch, repeats, rtol, atol, max_steps,
                       method):
    X0 = jnp.asarray(np.stack([case.loaded(i) for i in range(batch)]))
    plan = _plan(structure, k, X0.shape[-1])

    def f(structure, k, X, t_end):
        return solve_final_stack(structure, k, X, t_end, method=method, rtol=rtol, atol=atol,
                                 max_steps=max_steps, jacobian_plan=plan)

    compiled, compile_s = compile_aot(f, structure, k, X0, t_end)
    st = run_stats(lambda: compiled(structure, k, X0, t_end), repeats)
    ref = jax.vmap(lambda x: _solve_fn(method, rtol, atol, max_steps, plan)(
        structure, k, x, t_end))(X0)
    from ..kinetics._solve import _lean_solve
    steps = int(jax.jit(lambda s, k, X, t: _lean_solve(method, s, k, X, 0.0, t, None, rtol, atol,
                                                        max_steps, None, plan=plan).num_steps)(
        structure, k, X0, t_end))
    return {"method": method, "compile_s": compile_s, "batch": batch, **public(st),
            "num_steps": steps,
            "per_solve_s": st["median_s"] / batch,
            "rel_diff_vs_separate": rel_diff(np.asarray(st["result"]), np.asarray(ref))}


def _scipy(structure, k, x0, t_end, repeats, rtol, atol) -> tuple[dict, np.ndarray]:
    from scipy.integrate import solve_ivp

    rhs = numpy_rhs(structure, k, len(x0))
    call = lambda: solve_ivp(rhs, (0.0, t_end), x0, method="LSODA", rtol=rtol,  # noqa: E731
                             atol=atol)
    st = run_stats(call, repeats, first=False)
    sol = st["result"]
    out = {**public(st), "nfev": int(sol.nfev), "njev": int(sol.njev), "status": int(sol.status),
           "message": str(sol.message)}
    return out, np.asarray(sol.y[:, -1])


def _roadrunner(module, x0_module, t_end, repeats, rtol, atol, max_steps):
    try:
        import roadrunner
    except ImportError:
        return {"skipped": "libroadrunner is not installed (pip install -e '.[validate]')"}, None
    from ..chemistry.sbml import to_sbml

    # CVODE refuses near-subnormal initial values ("too much accuracy requested at t = 0");
    # values below 1e-200 are flushed to 0 (none occur right after loading a sample)
    init = {s: (float(v) if abs(v) > 1e-200 else 0.0) for s, v in zip(module.species, x0_module)}
    net = module.with_initial(init, replace=True)
    t0 = time.perf_counter()
    xml = to_sbml(net)
    export_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    r = roadrunner.RoadRunner(xml)
    load_s = time.perf_counter() - t0
    integ = r.integrator
    integ.relative_tolerance = rtol
    integ.absolute_tolerance = atol
    integ.maximum_num_steps = max_steps

    def call():
        r.simulate(0.0, t_end, 2)
        return None

    runs, cpu = [], []
    for i in range(max(1, repeats) + 1):  # the first run is reported as first_s
        r.reset()
        c0, t0 = time.process_time(), time.perf_counter()
        call()
        runs.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    ids = list(r.model.getFloatingSpeciesIds())
    vals = dict(zip(ids, np.asarray(r.model.getFloatingSpeciesConcentrations(), dtype=float)))
    final = np.array([vals.get(s, init[s]) for s in module.species])
    warm = runs[1:]
    out = {"export_s": export_s, "load_s": load_s, "first_s": runs[0],
           "median_s": float(np.median(warm)), "min_s": min(warm), "max_s": max(warm),
           "runs_s": warm, "cpu_median_s": float(np.median(cpu[1:])), "cpu_min_s": min(cpu[1:]),
           "integrator": integ.getName(), "stiff": bool(integ.getValue("stiff")),
           "version": getattr(roadrunner, "__version__", None)}
    return out, final


def feedforward_benchmark(case: Case, *, repeats: int = 5, rtol: float = RTOL,
                          atol: float = ATOL, max_steps: int = MAX_STEPS,
                          batch: int | None = 32, roadrunner: bool = True,
                          methods: tuple[str, ...] = OTHER_METHODS) -> dict:
    """Solve ``case``'s feedforward phase from sample 0's loaded state with every solver.

    Returns a JSON-ready dict: circuit counts, tolerances, one entry per solver (times in
    seconds), ``ratios`` (other solver's median / neuralcrn's median: > 1 means neuralcrn is
    faster), ``agreement`` (normwise relative and absolute differences of the final states from
    neuralcrn's) and ``error`` (each solver's normwise relative error against the reference).
    """
    structure, k, t_end = case.phase_system("feedforward")
    T = float(t_end)
    x0 = case.loaded(0)
    module = case.circuit.module("feedforward")
    sidx = {s: i for i, s in enumerate(case.circuit.species)}
    midx = np.array([sidx[s] for s in module.species])
    counts = case.counts()
    auto = case.phase_method("feedforward")
    sigma = stiffness_number(MassActionStructure(*(np.asarray(a) for a in structure)),
                             len(x0), np.asarray(k), T)
    ref = np.asarray(solve_final(structure, k, jnp.asarray(x0), t_end, method="rodas5",
                                 rtol=1e-12, atol=1e-15, max_steps=1_000_000))[midx]

    solvers: dict = {}
    ys: dict = {}
    args = (structure, k, jnp.asarray(x0), t_end, repeats, rtol, atol, max_steps)
    nc, y_nc = _neuralcrn(*args, auto)
    solvers["neuralcrn"] = nc
    ys["neuralcrn"] = y_nc[midx]
    for m in methods:
        if m == auto:
            continue
        if m == "tsit5" and sigma > EXPLICIT_LIMIT:
            solvers[f"neuralcrn_{m}"] = {"skipped": f"stiff: k_max·T = {sigma:.3g}"}
            continue
        solvers[f"neuralcrn_{m}"], y = _neuralcrn(*args, m)
        ys[f"neuralcrn_{m}"] = y[midx]
    if sigma <= EXPLICIT_LIMIT:
        solvers["neuralcrn_diffrax_tsit5"], y = _diffrax_tsit5(*args)
        ys["neuralcrn_diffrax_tsit5"] = y[midx]
    if case.reduced:
        st_u, k_u, _ = case.phase_system("feedforward", reduced=False)
        solvers["neuralcrn_union"], y = _neuralcrn(st_u, k_u, *args[2:], auto)
        ys["neuralcrn_union"] = y[midx]
    arr_m = compile_network(module)
    st_m = _device(arr_m.structure())
    solvers["neuralcrn_module"], ys["neuralcrn_module"] = _neuralcrn(
        st_m, jnp.asarray(arr_m.rate_constants), jnp.asarray(x0[midx]), *args[3:], auto)
    if batch:
        batch = min(batch, case.X.shape[0])
        solvers["neuralcrn_vmap"] = _neuralcrn_vmap(case, structure, k, t_end, batch, repeats,
                                                    rtol, atol, max_steps, auto)
        solvers["neuralcrn_stacked"] = _neuralcrn_stacked(case, structure, k, t_end, batch,
                                                          repeats, rtol, atol, max_steps, auto)

    solvers["scipy_lsoda"], y = _scipy(structure, np.asarray(k), np.asarray(x0), T, repeats,
                                       rtol, atol)
    ys["scipy_lsoda"] = y[midx]
    if roadrunner:
        solvers["roadrunner"], y = _roadrunner(module, x0[midx], T, repeats, rtol, atol,
                                               max_steps)
        if y is not None:
            ys["roadrunner"] = y

    base_y = ys["neuralcrn"]
    agreement = {name: _agree(y, base_y) for name, y in ys.items() if name != "neuralcrn"}
    # the solve must not change species outside the module
    outside = np.setdiff1d(np.arange(len(x0)), midx)
    agreement["outside_module_unchanged"] = bool(np.array_equal(y_nc[outside], x0[outside]))
    error = {name: rel_diff(y, ref) for name, y in ys.items()}

    base = nc["median_s"]
    ratios = {f"{name}/neuralcrn": s["median_s"] / base for name, s in solvers.items()
              if name != "neuralcrn" and "median_s" in s and "per_solve_s" not in s}
    for name in ("neuralcrn_vmap", "neuralcrn_stacked"):
        if name in solvers:
            ratios[f"{name}_per_solve/neuralcrn"] = solvers[name]["per_solve_s"] / base
    # robust to other jobs on the machine: fastest warmed run, and process CPU time
    robust = {f"{name}/neuralcrn": {"min": s["min_s"] / nc["min_s"],
                                    "cpu": s["cpu_median_s"] / nc["cpu_median_s"]}
              for name, s in solvers.items() if name in ("scipy_lsoda", "roadrunner")
              and "cpu_median_s" in s and nc["cpu_median_s"] > 0}
    st_union = case.program.structure
    return {"circuit": case.name, "spec": case.spec.to_dict(), "counts": counts,
            "phase": {"name": "feedforward", "T": T, "method": auto, "stiffness_number": sigma,
                      "form": "training per-phase reactions" if case.reduced else "union",
                      "species": int(len(x0)),
                      "reactions": int(structure.reactant_index.shape[0]),
                      "active_reactions": int(np.count_nonzero(np.asarray(k))),
                      "union_reactions": int(st_union.reactant_index.shape[0]),
                      "module_species": module.n_species,
                      "module_reactions": module.n_reactions},
            "tolerances": {"rtol": rtol, "atol": atol, "max_steps": max_steps},
            "solvers": solvers, "ratios": ratios, "robust_ratios": robust,
            "agreement": agreement, "error": error}


def _agree(a, ref) -> dict:
    a = np.asarray(a, dtype=float)
    return {"rel_diff": rel_diff(a, ref),
            "max_abs_diff": float(np.max(np.abs(a - ref), initial=0.0))}
