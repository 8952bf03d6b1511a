"""Pure ODE solvers for compiled training loops: our Rosenbrock integrators and diffrax's.

Every function here is pure and jit / vmap / ``lax.scan`` compatible: structure arrays, rate
constants, initial states and times are array arguments; only the method, step limit and initial
step are static. A failed solve never raises here: :func:`solve` reports a status code, and
:func:`solve_final` / :func:`solve_at` / :func:`solve_final_stack` return NaN where the solver did
not get.

Methods (``METHODS``):

* ``"auto"`` (default) — chosen from the network's structure by :func:`choose_method` where the
  structure arrays are concrete (numpy, or constants of a jitted function); with a *traced*
  structure it means ``"rodas5"``.
* ``"rodas5"``, ``"ros34pw2"`` — Rosenbrock methods with the analytic mass-action Jacobian on the
  dual-rail pair blocks (:mod:`~neuralcrn.kinetics._rosenbrock`): stiffness-proof for Neural
  CRNs, the step count does not grow with the annihilation rate. ``"rodas5"`` (order 5) solves
  exactly by block substitution; ``"ros34pw2"`` (a W-method of order 3) uses the blocks alone and
  so applies to every network. ``"rodas5-dense"`` / ``"ros34pw2-dense"``: the full Jacobian and an
  LU factorisation per step (small general networks).
* explicit: ``"tsit5"`` (Tsit5 in our lean loop, :mod:`~neuralcrn.kinetics._explicit`); diffrax's
  ``"dopri5"``, ``"dopri8"``, ``"bosh3"``; diffrax's implicit ESDIRK ``"kvaerno3"``,
  ``"kvaerno5"`` (Jacobians by autodiff).
"""

from __future__ import annotations

from typing import NamedTuple

import diffrax
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

import numpy as np

from ._arrays import MassActionStructure
from ._jacobian import PairPlan, pair_partner, pair_plan_numpy, substitution_depth
from ._rhs import mass_action_rhs
from ._explicit import EXPLICIT_TABLEAUS, explicit_stepper
from ._loop import STATUS_LINEAR, adaptive_loop
from ._rosenbrock import MAX_SWEEPS, rosenbrock_stepper

__all__ = ["METHODS", "ROSENBROCK", "DEFAULT_METHOD", "DENSE_MAX_SPECIES", "STIFF_THRESHOLD",
           "ODESolution", "STATUS_MESSAGES", "choose_method", "choose_phase_method",
           "stiffness_number", "resolve_method", "jacobian_plan", "solve", "solve_at",
           "solve_final", "solve_final_stack"]

_EXPLICIT = {"tsit5": diffrax.Tsit5, "dopri5": diffrax.Dopri5, "dopri8": diffrax.Dopri8,
             "bosh3": diffrax.Bosh3}
"""Explicit methods; tsit5 runs in our lean loop (:mod:`~neuralcrn.kinetics._explicit`), the
others in diffrax."""
_IMPLICIT = {"kvaerno5": diffrax.Kvaerno5, "kvaerno3": diffrax.Kvaerno3}
ROSENBROCK: dict[str, tuple[str, str]] = {
    "rodas5": ("rodas5", "pairs"), "rodas5p": ("rodas5p", "pairs"),
    "ros34pw2": ("ros34pw2", "pairs"), "rodas5-dense": ("rodas5", "dense"),
    "rodas5p-dense": ("rodas5p", "dense"), "ros34pw2-dense": ("ros34pw2", "dense")}
"""Rosenbrock method names → (coefficient table, linear solver)."""
_LEAN = set(ROSENBROCK) | set(EXPLICIT_TABLEAUS)
DEFAULT_METHOD = "auto"
METHODS: tuple[str, ...] = (DEFAULT_METHOD,) + tuple(ROSENBROCK) + tuple(_EXPLICIT) \
    + tuple(_IMPLICIT)
"""Accepted ``method`` names (see the module docstring)."""

#: Status codes of :class:`ODESolution`.
STATUS_OK, STATUS_MAX_STEPS, STATUS_DT_MIN, STATUS_NONFINITE, STATUS_OTHER = 0, 1, 2, 3, 4
STATUS_MESSAGES = {
    STATUS_OK: "success",
    STATUS_MAX_STEPS: "maximum number of steps ({max_steps}) reached",
    STATUS_DT_MIN: "step size fell below its minimum",
    STATUS_NONFINITE: "the state became non-finite (NaN or infinity)",
    STATUS_OTHER: "the solver failed",
    STATUS_LINEAR: (f"method {{method!r}} needs exact linear solves, but the Jacobian entries "
                    f"outside the dual-rail pair blocks link species in a cycle (or a chain "
                    f"longer than {MAX_SWEEPS}); use method='ros34pw2' (a W-method) or "
                    f"'rodas5-dense' (small networks)"),
}


class ODESolution(NamedTuple):
    """Result of :func:`solve` (all JAX arrays).

    Attributes
    ----------
    ys:
        ``(P, S)`` concentrations at the requested times; rows the solver did not reach hold inf.
    t_reached:
        ``()`` time the solver reached (``ts[-1]`` on success).
    y_reached:
        ``(S,)`` state at ``t_reached`` (where the solver stopped).
    status:
        ``()`` int32: 0 success, 1 max_steps reached, 2 minimum step size reached, 3 non-finite
        state, 4 other failure, 5 exact pair-block solve impossible (see ``STATUS_MESSAGES``).
    num_steps:
        ``()`` number of solver steps taken (accepted and rejected).
    """

    ys: Float[Array, "P S"]
    t_reached: Float[Array, ""]
    y_reached: Float[Array, "S"]
    status: Int[Array, ""]
    num_steps: Int[Array, ""]


DENSE_MAX_SPECIES = 24
"""``method="auto"`` uses the dense Jacobian (``"rodas5-dense"``) for networks up to this many
species when the pair blocks cannot give exact solves (measured crossover: docs/solver.md)."""


def _check_method(method) -> None:
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"unknown ODE method {method!r}; choose one of {', '.join(METHODS)}")


def choose_method(structure: MassActionStructure, n_species: int,
                  method: str = DEFAULT_METHOD) -> str:
    """The concrete method for ``method`` on a network whose structure arrays are at hand (numpy
    analysis of the structure alone: new rate constants never change the choice or recompile).

    ``"auto"`` becomes ``"rodas5"`` (exact pair-block solves) when the Jacobian entries outside
    the dual-rail pair blocks link them without a cycle (every compiled Neural CRN), otherwise
    ``"rodas5-dense"`` up to :data:`DENSE_MAX_SPECIES` species and the W-method ``"ros34pw2"``
    (pair blocks alone, right for every network) above. Other names pass through.

    Raises
    ------
    ValueError
        Unknown method name.
    """
    _check_method(method)
    if method != DEFAULT_METHOD:
        return method
    if substitution_depth(structure, n_species) is not None:
        return "rodas5"
    return "rodas5-dense" if n_species <= DENSE_MAX_SPECIES else "ros34pw2"


STIFF_THRESHOLD = 200.0
"""A phase is integrated with a Rosenbrock method when its :func:`stiffness_number` reaches this
(below, an explicit method is cheaper: measured crossover on the paper's XOR feedforward phase,
docs/solver.md)."""


def stiffness_number(structure: MassActionStructure, n_species: int, rate_constants,
                     duration: float) -> float:
    """``duration · max k_r`` over the reactions with a non-zero rate constant and at least one
    reactant: for concentrations of order 1 (as in compiled Neural CRNs) the fastest decay rate
    times the time span — an explicit method needs about a third as many steps for stability
    alone. numpy; a static estimate for choosing a method, not a bound."""
    idx = np.asarray(structure.reactant_index)
    k = np.asarray(rate_constants, dtype=float)
    has_reactant = np.any(idx < n_species, axis=1)
    rates = k[(k > 0) & has_reactant]
    return float(duration) * float(np.max(rates, initial=0.0))


def choose_phase_method(structure: MassActionStructure, n_species: int, rate_constants,
                        duration: float, method: str = DEFAULT_METHOD) -> str:
    """The method for one phase of a protocol (a fixed rate vector for a fixed time): ``"auto"``
    becomes ``"tsit5"`` (our lean explicit loop) when the phase's :func:`stiffness_number` is
    below :data:`STIFF_THRESHOLD`, else :func:`choose_method`'s stiff choice. Other names pass
    through.

    Raises
    ------
    ValueError
        Unknown method name.
    """
    if method == DEFAULT_METHOD and stiffness_number(structure, n_species, rate_constants,
                                                     duration) < STIFF_THRESHOLD:
        return "tsit5"
    return choose_method(structure, n_species, method)


def resolve_method(method: str, structure: MassActionStructure | None = None,
                   n_species: int | None = None) -> str:
    """The concrete method behind ``method``: :func:`choose_method` where ``structure`` is
    concrete, else ``"auto"`` → ``"rodas5"``.

    Raises
    ------
    ValueError
        Unknown method name.
    """
    _check_method(method)
    if method != DEFAULT_METHOD:
        return method
    if structure is not None and n_species is not None and not any(
            isinstance(a, jax.core.Tracer) for a in jax.tree_util.tree_leaves(structure)):
        return choose_method(MassActionStructure(*(np.asarray(a) for a in structure)),
                             n_species, method)
    return "rodas5"


def _lean_solve(method, structure, rate_constants, y0, t0, t1, ts, rtol, atol, max_steps, dt0,
                wrap=None, plan=None, pair_norm=True):
    """Our own loop (:func:`~neuralcrn.kinetics._loop.adaptive_loop`) with a Rosenbrock or a lean
    explicit stepper, on ``(K, S)`` pots. ``wrap`` maps the right-hand side on ``(K, S)`` states to
    the one used (the benchmarks count its calls). ``pair_norm=False`` measures every species'
    error against its own magnitude (the benchmarks compare both norms)."""
    k = jnp.asarray(rate_constants, y0.dtype)

    def f(y):
        return jax.vmap(lambda v: mass_action_rhs(v, k, structure))(y)

    f = f if wrap is None else wrap(f)

    if method in ROSENBROCK:
        table, linear = ROSENBROCK[method]
        stepper = rosenbrock_stepper(structure, k, f, y0.shape[-1], method=table, linear=linear,
                                     plan=plan)
    else:
        stepper = explicit_stepper(f, method)
    # errors measured against each dual-rail pair's magnitude (_loop module docstring)
    partner = None
    if pair_norm:
        partner = pair_partner(structure, y0.shape[-1]) if plan is None else plan.partner
    return adaptive_loop(stepper, f, y0, t0, t1, ts=ts, rtol=rtol, atol=atol, max_steps=max_steps,
                         dt0=dt0, partner=partner)


def jacobian_plan(structure: MassActionStructure, n_species: int,
                  rate_constants=None) -> PairPlan:
    """The compact pair-block Jacobian plan of a network known before compiling (numpy analysis,
    returned as JAX arrays; :func:`~neuralcrn.kinetics._jacobian.pair_plan_numpy`): pass it as
    ``jacobian_plan`` to the solvers. ``rate_constants`` (default: every reaction active) lets
    it leave out the reactions switched off and the species that then never change; the solve is
    exact only for rate vectors with the same zero pattern."""
    plan = pair_plan_numpy(MassActionStructure(*(np.asarray(a) for a in structure)), n_species,
                           rate_constants)
    return PairPlan(*(jnp.asarray(a) for a in plan))


def _vector_field(t, y, args):
    rate_constants, structure = args
    return mass_action_rhs(y, rate_constants, structure)


def _stack_field(t, y, args):
    rate_constants, structure = args
    return jax.vmap(lambda v: mass_action_rhs(v, rate_constants, structure))(y)


def _max_rms(x):
    """Error norm of a stack of pots ``(K, S)``: the largest per-pot RMS, so every pot gets the
    error control it would get alone (what the Rosenbrock integrators use too)."""
    return jnp.max(jnp.sqrt(jnp.mean(jnp.square(x), axis=-1)))


def _diffeqsolve(structure, rate_constants, x0, t0, t1, saveat, method, rtol, atol, max_steps, dt0,
                 norm=None):
    if method in _IMPLICIT:
        solver = _IMPLICIT[method]()
        # PI coefficients recommended by diffrax for stiff problems with implicit solvers.
        controller = diffrax.PIDController(rtol=rtol, atol=atol, pcoeff=0.3, icoeff=0.3,
                                           **({} if norm is None else {"norm": norm}))
    else:
        solver = _EXPLICIT[method]()
        controller = diffrax.PIDController(rtol=rtol, atol=atol,
                                           **({} if norm is None else {"norm": norm}))
    x0 = jnp.asarray(x0, dtype=jnp.float64)
    args = (jnp.asarray(rate_constants, dtype=x0.dtype), structure)
    field = _vector_field if x0.ndim == 1 else _stack_field
    return diffrax.diffeqsolve(
        diffrax.ODETerm(field), solver, t0, t1, dt0, x0, args, saveat=saveat,
        stepsize_controller=controller, max_steps=max_steps, throw=False)


def _status(sol, ys) -> Int[Array, ""]:
    status = jnp.where(sol.result == diffrax.RESULTS.successful, STATUS_OK, STATUS_OTHER)
    status = jnp.where(sol.result == diffrax.RESULTS.max_steps_reached, STATUS_MAX_STEPS, status)
    status = jnp.where(sol.result == diffrax.RESULTS.dt_min_reached, STATUS_DT_MIN, status)
    finite = jnp.all(jnp.isfinite(ys))
    return jnp.where((status == STATUS_OK) & ~finite, STATUS_NONFINITE, status).astype(jnp.int32)


def solve(structure: MassActionStructure, rate_constants: Float[Array, "R"],
          x0: Float[Array, "S"], ts: Float[Array, "P"], *, t0: float = 0.0,
          method: str = DEFAULT_METHOD, rtol: float = 1e-8, atol: float = 1e-10,
          max_steps: int = 200_000, dt0: float | None = None,
          jacobian_plan: PairPlan | None = None) -> ODESolution:
    """Integrate the mass-action ODE from ``(t0, x0)`` and save at ``ts``; never raises on failure.

    Parameters
    ----------
    structure:
        :class:`MassActionStructure` (from :meth:`MassActionArrays.structure`).
    rate_constants:
        ``(R,)`` rate constants; set an entry to 0 to switch that reaction off.
    x0:
        ``(S,)`` concentrations at ``t0``.
    ts:
        ``(P,)`` increasing save times with ``t0 ≤ ts[0]``; the solve stops at ``ts[-1]``.
    method, max_steps, dt0:
        Static (Python values): solver name (see ``METHODS``), step limit (attempted steps),
        initial step (``None``: chosen automatically).
    jacobian_plan:
        Pair-block methods: the Jacobian entries to use, from :func:`jacobian_plan` (arrays; may
        be traced). Default: every entry, found in the solve. A plan that leaves out entries
        (e.g. of species that never change) only makes the solve faster.
    rtol, atol:
        Relative and absolute tolerances of the step-size control (may be traced).

    Returns
    -------
    ODESolution
        Check ``status`` (0 = success). Values at ``ts`` come from the Rosenbrock methods' cubic
        Hermite dense output, or diffrax's.
    """
    method = resolve_method(method, structure, jnp.shape(x0)[-1])
    ts = jnp.asarray(ts, dtype=jnp.float64)
    if method in _LEAN:
        r = _lean_solve(method, structure, rate_constants, jnp.asarray(x0, jnp.float64)[None],
                        t0, ts[-1], ts, rtol, atol, max_steps, dt0, plan=jacobian_plan)
        return ODESolution(r.ys[:, 0], r.t, r.y[0], r.status, r.num_steps)
    saveat = diffrax.SaveAt(subs=[diffrax.SubSaveAt(ts=ts), diffrax.SubSaveAt(t1=True)])
    sol = _diffeqsolve(structure, rate_constants, x0, t0, ts[-1], saveat, method, rtol, atol,
                       max_steps, dt0)
    ys, (t_reached,), (y_reached,) = sol.ys[0], sol.ts[1], sol.ys[1]
    reached = sol.ts[0] <= t_reached
    status = _status(sol, jnp.where(reached[:, None], ys, 0.0))
    return ODESolution(ys, t_reached, y_reached, status, sol.stats["num_steps"])


def solve_at(structure: MassActionStructure, rate_constants: Float[Array, "R"],
             x0: Float[Array, "S"], ts: Float[Array, "P"], *, t0: float = 0.0,
             method: str = DEFAULT_METHOD, rtol: float = 1e-8, atol: float = 1e-10,
             max_steps: int = 200_000, dt0: float | None = None,
             jacobian_plan: PairPlan | None = None) -> Float[Array, "P S"]:
    """Concentrations at ``ts``, shape ``(P, S)``; all NaN if the solve failed.

    Same arguments as :func:`solve`. Pure; use inside ``jax.jit``, ``jax.vmap`` and ``lax.scan``.
    """
    sol = solve(structure, rate_constants, x0, ts, t0=t0, method=method, rtol=rtol, atol=atol,
                max_steps=max_steps, dt0=dt0, jacobian_plan=jacobian_plan)
    return jnp.where(sol.status == STATUS_OK, sol.ys, jnp.nan)


def solve_final(structure: MassActionStructure, rate_constants: Float[Array, "R"],
                x0: Float[Array, "S"], t_end: Float[Array, ""], *, t0: float = 0.0,
                method: str = DEFAULT_METHOD, rtol: float = 1e-8, atol: float = 1e-10,
                max_steps: int = 200_000, dt0: float | None = None,
                jacobian_plan: PairPlan | None = None) -> Float[Array, "S"]:
    """Concentrations at ``t_end`` (time units), shape ``(S,)``; all NaN if the solve failed.

    ``t_end`` may be traced (e.g. a per-phase duration). ``t_end == t0`` returns ``x0``.
    Otherwise as :func:`solve`. Pure; use inside ``jax.jit``, ``jax.vmap`` and ``lax.scan``.
    """
    x0 = jnp.asarray(x0, jnp.float64)
    return solve_final_stack(structure, rate_constants, x0[None], t_end, t0=t0, method=method,
                             rtol=rtol, atol=atol, max_steps=max_steps, dt0=dt0,
                             jacobian_plan=jacobian_plan)[0]


def solve_final_stack(structure: MassActionStructure, rate_constants: Float[Array, "R"],
                      X0: Float[Array, "K S"], t_end: Float[Array, ""], *, t0: float = 0.0,
                      method: str = DEFAULT_METHOD, rtol: float = 1e-8, atol: float = 1e-10,
                      max_steps: int = 200_000, dt0: float | None = None,
                      jacobian_plan: PairPlan | None = None) -> Float[Array, "K S"]:
    """K independent pots ``X0`` ``(K, S)`` of one network integrated together to ``t_end``:
    one shared adaptive step sequence whose error norm is the worst pot's RMS, so each pot gets
    the error control it would get alone. Returns ``(K, S)``; all NaN if the solve failed.

    Cheaper per pot than ``vmap`` over separate solves (one step sequence, one while loop).
    Arguments as :func:`solve_final`. Pure.
    """
    X0 = jnp.asarray(X0, jnp.float64)
    method = resolve_method(method, structure, X0.shape[-1])
    if method in _LEAN:
        r = _lean_solve(method, structure, rate_constants, X0, t0, t_end, None, rtol, atol,
                        max_steps, dt0, plan=jacobian_plan)
        return jnp.where(r.status == STATUS_OK, r.y, jnp.nan)
    sol = _diffeqsolve(structure, rate_constants, X0, t0, t_end, diffrax.SaveAt(t1=True), method,
                       rtol, atol, max_steps, dt0, norm=_max_rms)
    y = sol.ys[0]
    ok = _status(sol, y) == STATUS_OK
    return jnp.where(ok, y, jnp.nan)


#: :func:`solve` compiled once per (shapes, method, max_steps, dt0); tolerances are traced.
solve_jit = jax.jit(solve, static_argnames=("method", "max_steps", "dt0"))
"""(The plan, when given, is an argument: networks of equal plan shapes share the compilation.)"""
