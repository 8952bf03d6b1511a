"""Forward solve, prediction and loss of the ideal Neural ODE (SPEC §2).

The public functions validate their arguments, call a compiled core and raise
:class:`~neuralcrn.errors.SimulationError` if the solve failed. The spec is a static, hashable
argument; the compiled cores are keyed on its *structure* only (d, n, n_u, m, z0, theta mode) and on
the :class:`SolverOptions`, while its numbers (α and the kind of φ, T, c, η, train flags), the
parameters and the data are traced — so new values of any of them do not recompile. They may also be called inside a
user's ``jit``/``vmap``/``grad``; then only shape checks are done and failures are not reported.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import DataError
from .spec import ModelSpec, Params
from ._model import (_as_input, _as_inputs, _as_target, _as_targets, _drive_raw, _split,
                     _vf_raw, _z0_raw, validate_params)
from ._solver import SolverOptions, _all_finite, _ode_solve, _raise_if_failed, _solver

__all__ = ["forward", "predict", "predict_batch", "loss", "loss_batch", "mean_loss"]


def _rhs_forward(st):
    def rhs(t, z, args):
        c, params, u = args
        return _vf_raw(st, c, params, z, u)
    return rhs


def _forward_raw(st, c, params: Params, x, solver: SolverOptions, ts=None):
    """Pure forward solve (``st`` static structure, ``c`` traced constants of the spec).

    Returns ``(z(T), trajectory at ts or None, ok, code, num_steps)``.
    """
    u = _drive_raw(st, c, x)
    z0 = _z0_raw(st, u)
    traj, zT, code, nsteps = _ode_solve(_rhs_forward(st), z0, c.T, solver, (c, params, u), ts)
    ok = (code == 0) & _all_finite(zT)
    return zT, traj, ok, code, nsteps


@functools.partial(jax.jit, static_argnames=("st", "solver"))
def _forward_jit(st, c, params, x, ts, solver):
    return _forward_raw(st, c, params, x, solver, ts)


@functools.partial(jax.jit, static_argnames=("st", "solver"))
def _forward_batch_jit(st, c, params, X, solver):
    zT, _, ok, code, _ = jax.vmap(lambda x: _forward_raw(st, c, params, x, solver))(X)
    return zT, ok, code


def _as_times(spec: ModelSpec, ts):
    if ts is None:
        return None
    ts = jnp.asarray(ts, dtype=jnp.float64).reshape(-1)
    if not isinstance(ts, jax.core.Tracer):
        t = np.asarray(ts)
        if t.size and (np.any(t < 0) or np.any(t > spec.T) or np.any(np.diff(t) < 0)):
            raise DataError(f"save times must be non-decreasing and within [0, T={spec.T}]")
    return ts


def forward(spec: ModelSpec, params, x, *, ts=None, solver: SolverOptions | None = None):
    """Solve the forward phase dz/dt = Θu + h − φ(z) from z(0) to t = T (SPEC §2).

    Parameters
    ----------
    spec: the model (static).
    params: :class:`Params` (theta ``(n, n_u)``, h ``(n,)``, W ``(m, n)``).
    x: one input, shape ``(d,)``.
    ts: optional save times, shape ``(k,)``, non-decreasing in [0, T] (time units of the model).
    solver: :class:`SolverOptions` (default Tsit5, rtol 1e-10, atol 1e-12).

    Returns
    -------
    z(T), shape ``(n,)``; with ``ts`` the pair ``(z(T), Z)`` with Z of shape ``(k, n)``, Z[i] = z(ts[i]).

    Raises
    ------
    SpecError: bad parameters.  DataError: bad x or ts.
    SimulationError: the solver failed (step limit, step-size collapse) or the state is non-finite.
    """
    solver = _solver(solver)
    params = validate_params(spec, params)
    x = _as_input(spec, x)
    ts = _as_times(spec, ts)
    zT, traj, ok, code, _ = _forward_jit(*_split(spec), params, x, ts, solver)
    _raise_if_failed(ok, code, "forward solve", solver)
    return zT if ts is None else (zT, traj)


def predict(spec: ModelSpec, params, x, *, solver: SolverOptions | None = None):
    """ŷ = W z(T) for one input x ``(d,)`` → shape ``(m,)``. Exceptions as :func:`forward`."""
    params = validate_params(spec, params)
    return params.W @ forward(spec, params, x, solver=solver)


def _forward_batch(spec, params, X, solver):
    solver = _solver(solver)
    params = validate_params(spec, params)
    X = _as_inputs(spec, X)
    zT, ok, code = _forward_batch_jit(*_split(spec), params, X, solver)
    _raise_if_failed(ok, code, "forward solve", solver)
    return params, X, zT


def predict_batch(spec: ModelSpec, params, X, *, solver: SolverOptions | None = None):
    """ŷ for a batch: X ``(N, d)`` → ``(N, m)`` (vmapped forward solves).

    Raises SimulationError naming the first failing sample index.
    """
    params, X, zT = _forward_batch(spec, params, X, solver)
    return zT @ params.W.T


def loss(spec: ModelSpec, params, x, y, *, solver: SolverOptions | None = None):
    """L = ½‖W z(T) − y‖² for one sample (x ``(d,)``, y ``(m,)``) → scalar."""
    e = predict(spec, params, x, solver=solver) - _as_target(spec, y)
    return 0.5 * jnp.dot(e, e)


def loss_batch(spec: ModelSpec, params, X, Y, *, solver: SolverOptions | None = None):
    """Per-sample losses ½‖ŷ_k − y_k‖², X ``(N, d)``, Y ``(N, m)`` → ``(N,)``."""
    E = predict_batch(spec, params, X, solver=solver) - _as_targets(spec, Y, jnp.shape(X)[0])
    return 0.5 * jnp.sum(E * E, axis=1)


def mean_loss(spec: ModelSpec, params, X, Y, *, solver: SolverOptions | None = None):
    """Mean of :func:`loss_batch` (the "½MSE" of SPEC §5) → scalar."""
    return jnp.mean(loss_batch(spec, params, X, Y, solver=solver))
