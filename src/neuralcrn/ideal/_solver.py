"""ODE solver settings and the one diffrax call used by the ideal math.

Every solve is diffrax ``Tsit5`` (5th-order explicit Runge–Kutta) with a PID step-size controller,
automatic initial step, ``throw=False`` and an explicit ``max_steps``. Failures are returned as flags
from the compiled code and turned into :class:`~neuralcrn.errors.SimulationError` on the host (see
:func:`_raise_if_failed`); under a user's own ``jit``/``vmap`` no exception can be raised, and the
flags are simply not checked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import diffrax as dfx
import jax
import jax.numpy as jnp
import numpy as np

from ..errors import SimulationError, SpecError

__all__ = ["SolverOptions", "DEFAULT_SOLVER"]


@dataclass(frozen=True)
class SolverOptions:
    """Tolerances of the diffrax solves (hashable, a static argument of the compiled functions).

    Attributes
    ----------
    rtol, atol: relative and absolute tolerance of the PID step-size controller (default 1e-10 and
        1e-12: tight, so that the ideal math is a reference for the chemistry).
    max_steps: step limit of one solve; reaching it raises :class:`SimulationError`.
    """

    rtol: float = 1e-10
    atol: float = 1e-12
    max_steps: int = 16384

    def __post_init__(self):
        for name in ("rtol", "atol"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise SpecError(f"solver {name} must be a finite number > 0, got {v!r}")
        if isinstance(self.max_steps, bool) or not isinstance(self.max_steps, (int, np.integer)) \
                or self.max_steps < 1:
            raise SpecError(f"solver max_steps must be an integer ≥ 1, got {self.max_steps!r}")


DEFAULT_SOLVER = SolverOptions()


def _solver(solver: SolverOptions | None) -> SolverOptions:
    if solver is None:
        return DEFAULT_SOLVER
    if not isinstance(solver, SolverOptions):
        raise SpecError(f"solver must be SolverOptions, got {type(solver).__name__}")
    return solver


def _ode_solve(rhs, y0, t1: float, solver: SolverOptions, args, ts=None):
    """Solve dy/dt = rhs(t, y, args) on [0, t1] from y0 (any pytree).

    Returns ``(ys_at_ts or None, y(t1), code, num_steps)``; ``code`` is the int32 diffrax result
    code (0 = success). Differentiable by ``RecursiveCheckpointAdjoint`` (discretise-then-optimise).
    """
    if ts is None:
        saveat = dfx.SaveAt(t1=True)
    else:
        saveat = dfx.SaveAt(ts=ts, t1=True)
    sol = dfx.diffeqsolve(
        dfx.ODETerm(rhs), dfx.Tsit5(), 0.0, t1, None, y0, args=args, saveat=saveat,
        stepsize_controller=dfx.PIDController(rtol=solver.rtol, atol=solver.atol),
        max_steps=solver.max_steps, throw=False, adjoint=dfx.RecursiveCheckpointAdjoint())
    ys_ts = None if ts is None else jax.tree_util.tree_map(lambda a: a[:-1], sol.ys)
    y1 = jax.tree_util.tree_map(lambda a: a[-1], sol.ys)
    code = jax.tree_util.tree_leaves(sol.result)[0]
    return ys_ts, y1, code, sol.stats["num_steps"]


def _all_finite(tree):
    leaves = jax.tree_util.tree_leaves(tree)
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves]))


_RESULT_TREEDEF = jax.tree_util.tree_structure(dfx.RESULTS.successful)


def _result_message(code: int) -> str:
    try:
        item = jax.tree_util.tree_unflatten(_RESULT_TREEDEF, [jnp.asarray(code, dtype=jnp.int32)])
        msg = dfx.RESULTS[item]
    except Exception:  # pragma: no cover - depends on diffrax internals
        msg = ""
    return msg or f"diffrax result code {code}"


def _raise_if_failed(ok, code, what: str, solver: SolverOptions, index_name: str = "sample"):
    """Raise :class:`SimulationError` if any ``ok`` flag is false (host only; no-op on tracers)."""
    if isinstance(ok, jax.core.Tracer) or isinstance(code, jax.core.Tracer):
        return
    ok = np.asarray(ok)
    if bool(np.all(ok)):
        return
    code = np.broadcast_to(np.asarray(code), ok.shape)
    where = ""
    if ok.ndim:
        idx = int(np.flatnonzero(~ok.reshape(-1))[0])
        c = int(code.reshape(-1)[idx])
        where = f" ({int(np.sum(~ok))} failed; first at {index_name} {idx})"
    else:
        c = int(code)
    reason = _result_message(c) if c != 0 else "the state became non-finite"
    raise SimulationError(f"{what} failed{where}: {reason} "
                          f"[rtol={solver.rtol}, atol={solver.atol}, max_steps={solver.max_steps}]")
