"""Pure ODE solvers (diffrax) for compiled training loops.

Every function here is pure and jit / vmap / ``lax.scan`` compatible: structure arrays, rate
constants, initial states and times are array arguments; only the method, tolerances and step limit
are static. A failed solve never raises here: :func:`solve` reports a status code, and
:func:`solve_final` / :func:`solve_at` return NaN where the solver did not get.
"""

from __future__ import annotations

from typing import NamedTuple

import diffrax
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from ._arrays import MassActionStructure
from ._rhs import mass_action_rhs

__all__ = ["METHODS", "ODESolution", "STATUS_MESSAGES", "solve", "solve_at", "solve_final"]

_EXPLICIT = {"tsit5": diffrax.Tsit5, "dopri5": diffrax.Dopri5, "dopri8": diffrax.Dopri8}
_IMPLICIT = {"kvaerno5": diffrax.Kvaerno5, "kvaerno3": diffrax.Kvaerno3}
METHODS: tuple[str, ...] = tuple(_EXPLICIT) + tuple(_IMPLICIT)
"""Accepted ``method`` names: explicit Runge–Kutta (Tsit5, Dopri5, Dopri8) and implicit ESDIRK
(Kvaerno3/5, for stiff networks; Jacobians by forward-mode autodiff)."""

#: Status codes of :class:`ODESolution`.
STATUS_OK, STATUS_MAX_STEPS, STATUS_DT_MIN, STATUS_NONFINITE, STATUS_OTHER = 0, 1, 2, 3, 4
STATUS_MESSAGES = {
    STATUS_OK: "success",
    STATUS_MAX_STEPS: "maximum number of steps ({max_steps}) reached",
    STATUS_DT_MIN: "step size fell below its minimum",
    STATUS_NONFINITE: "the state became non-finite (NaN or infinity)",
    STATUS_OTHER: "the solver failed",
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
        state, 4 other failure (see ``STATUS_MESSAGES``).
    num_steps:
        ``()`` number of solver steps taken (accepted and rejected).
    """

    ys: Float[Array, "P S"]
    t_reached: Float[Array, ""]
    y_reached: Float[Array, "S"]
    status: Int[Array, ""]
    num_steps: Int[Array, ""]


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"unknown ODE method {method!r}; choose one of {', '.join(METHODS)}")


def _vector_field(t, y, args):
    rate_constants, structure = args
    return mass_action_rhs(y, rate_constants, structure)


def _diffeqsolve(structure, rate_constants, x0, t0, t1, saveat, method, rtol, atol, max_steps, dt0):
    _check_method(method)
    if method in _IMPLICIT:
        solver = _IMPLICIT[method]()
        # PI coefficients recommended by diffrax for stiff problems with implicit solvers.
        controller = diffrax.PIDController(rtol=rtol, atol=atol, pcoeff=0.3, icoeff=0.3)
    else:
        solver = _EXPLICIT[method]()
        controller = diffrax.PIDController(rtol=rtol, atol=atol)
    x0 = jnp.asarray(x0, dtype=jnp.float64)
    args = (jnp.asarray(rate_constants, dtype=x0.dtype), structure)
    return diffrax.diffeqsolve(
        diffrax.ODETerm(_vector_field), solver, t0, t1, dt0, x0, args, saveat=saveat,
        stepsize_controller=controller, max_steps=max_steps, throw=False)


def _status(sol, ys) -> Int[Array, ""]:
    status = jnp.where(sol.result == diffrax.RESULTS.successful, STATUS_OK, STATUS_OTHER)
    status = jnp.where(sol.result == diffrax.RESULTS.max_steps_reached, STATUS_MAX_STEPS, status)
    status = jnp.where(sol.result == diffrax.RESULTS.dt_min_reached, STATUS_DT_MIN, status)
    finite = jnp.all(jnp.isfinite(ys))
    return jnp.where((status == STATUS_OK) & ~finite, STATUS_NONFINITE, status).astype(jnp.int32)


def solve(structure: MassActionStructure, rate_constants: Float[Array, "R"],
          x0: Float[Array, "S"], ts: Float[Array, "P"], *, t0: float = 0.0,
          method: str = "tsit5", rtol: float = 1e-8, atol: float = 1e-10,
          max_steps: int = 200_000, dt0: float | None = None) -> ODESolution:
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
        Static (Python values): solver name (see ``METHODS``), step limit, initial step (``None``:
        chosen automatically).
    rtol, atol:
        Tolerances of the PID step-size controller (may be traced).

    Returns
    -------
    ODESolution
        Check ``status`` (0 = success).
    """
    ts = jnp.asarray(ts, dtype=jnp.float64)
    saveat = diffrax.SaveAt(subs=[diffrax.SubSaveAt(ts=ts), diffrax.SubSaveAt(t1=True)])
    sol = _diffeqsolve(structure, rate_constants, x0, t0, ts[-1], saveat, method, rtol, atol,
                       max_steps, dt0)
    ys, (t_reached,), (y_reached,) = sol.ys[0], sol.ts[1], sol.ys[1]
    reached = sol.ts[0] <= t_reached
    status = _status(sol, jnp.where(reached[:, None], ys, 0.0))
    return ODESolution(ys, t_reached, y_reached, status, sol.stats["num_steps"])


def solve_at(structure: MassActionStructure, rate_constants: Float[Array, "R"],
             x0: Float[Array, "S"], ts: Float[Array, "P"], *, t0: float = 0.0,
             method: str = "tsit5", rtol: float = 1e-8, atol: float = 1e-10,
             max_steps: int = 200_000, dt0: float | None = None) -> Float[Array, "P S"]:
    """Concentrations at ``ts``, shape ``(P, S)``; all NaN if the solve failed.

    Same arguments as :func:`solve`. Pure; use inside ``jax.jit``, ``jax.vmap`` and ``lax.scan``.
    """
    sol = solve(structure, rate_constants, x0, ts, t0=t0, method=method, rtol=rtol, atol=atol,
                max_steps=max_steps, dt0=dt0)
    return jnp.where(sol.status == STATUS_OK, sol.ys, jnp.nan)


def solve_final(structure: MassActionStructure, rate_constants: Float[Array, "R"],
                x0: Float[Array, "S"], t_end: Float[Array, ""], *, t0: float = 0.0,
                method: str = "tsit5", rtol: float = 1e-8, atol: float = 1e-10,
                max_steps: int = 200_000, dt0: float | None = None) -> Float[Array, "S"]:
    """Concentrations at ``t_end`` (time units), shape ``(S,)``; all NaN if the solve failed.

    ``t_end`` may be traced (e.g. a per-phase duration). ``t_end == t0`` returns ``x0``.
    Otherwise as :func:`solve`. Pure; use inside ``jax.jit``, ``jax.vmap`` and ``lax.scan``.
    """
    sol = _diffeqsolve(structure, rate_constants, x0, t0, t_end, diffrax.SaveAt(t1=True), method,
                       rtol, atol, max_steps, dt0)
    y = sol.ys[0]
    ok = _status(sol, y) == STATUS_OK
    return jnp.where(ok, y, jnp.nan)


#: :func:`solve` compiled once per (shapes, method, max_steps, dt0); tolerances are traced.
solve_jit = jax.jit(solve, static_argnames=("method", "max_steps", "dt0"))
