"""Online SGD on the ideal Neural ODE (SPEC §2 "Update", SPEC §4 protocol: one sample at a time).

θ ← θ − η·G for every trained parameter, with G from :func:`~neuralcrn.ideal.gradient` (exact adjoint
or first-order, as ``spec.gradient`` says) and η = ``spec.learning_rate``. Frozen parameters have
zero gradient and therefore never change.
"""

from __future__ import annotations

import functools

import jax

from .spec import ModelSpec, Params
from ._model import _as_input, _as_inputs, _as_target, _as_targets, _split, validate_params
from ._gradients import _gradient_raw
from ._solver import SolverOptions, _raise_if_failed, _solver

__all__ = ["sgd_step", "train_epoch", "apply_update"]


def apply_update(spec: ModelSpec, params: Params, grads: Params) -> Params:
    """θ ← θ − η·G (η = ``spec.learning_rate``) for theta, h and W (G is zero where frozen)."""
    return _update_raw(spec.learning_rate, params, grads)


def _update_raw(eta, params, grads):
    return Params(*(p - eta * g for p, g in zip(params, grads)))


def _step_raw(st, c, exact, params, x, y, solver):
    L, g, _, ok, code = _gradient_raw(st, c, exact, params, x, y, solver)
    return _update_raw(c.eta, params, g), L, ok, code


@functools.partial(jax.jit, static_argnames=("st", "exact", "solver"))
def _step_jit(st, c, exact, params, x, y, solver):
    return _step_raw(st, c, exact, params, x, y, solver)


@functools.partial(jax.jit, static_argnames=("st", "exact", "solver"))
def _epoch_jit(st, c, exact, params, X, Y, solver):
    def body(p, xy):
        p_new, L, ok, code = _step_raw(st, c, exact, p, xy[0], xy[1], solver)
        return p_new, (L, ok, code)

    params, (losses, ok, code) = jax.lax.scan(body, params, (X, Y))
    return params, losses, ok, code


def sgd_step(spec: ModelSpec, params, x, y, *, solver: SolverOptions | None = None) -> Params:
    """One online SGD step on one sample (x ``(d,)``, y ``(m,)``) → new :class:`Params`.

    Raises SpecError, DataError or SimulationError (as :func:`~neuralcrn.ideal.gradient`).
    """
    solver = _solver(solver)
    params = validate_params(spec, params)
    x, y = _as_input(spec, x), _as_target(spec, y)
    new, _, ok, code = _step_jit(*_split(spec), spec.gradient == "exact", params, x, y, solver)
    _raise_if_failed(ok, code, "SGD step", solver)
    return new


def train_epoch(spec: ModelSpec, params, X, Y, *, solver: SolverOptions | None = None):
    """One epoch of online SGD, one sample per step in the given order (``jax.lax.scan``, compiled
    once per spec/solver and data shape; shuffle X, Y yourself).

    Parameters
    ----------
    X: shape ``(N, d)``;  Y: shape ``(N, m)`` (``(N,)`` accepted when m = 1).

    Returns
    -------
    ``(params, losses)``: the parameters after the N steps, and losses ``(N,)`` where losses[k] is
    the loss of sample k under the parameters *before* step k (the loss seen by that step).

    Raises
    ------
    SimulationError: a solve failed (names the first failing sample index).
    SpecError / DataError: bad parameters or data.
    """
    solver = _solver(solver)
    params = validate_params(spec, params)
    X = _as_inputs(spec, X)
    Y = _as_targets(spec, Y, X.shape[0])
    params, losses, ok, code = _epoch_jit(*_split(spec), spec.gradient == "exact", params, X, Y,
                                          solver)
    _raise_if_failed(ok, code, "training epoch", solver)
    return params, losses
