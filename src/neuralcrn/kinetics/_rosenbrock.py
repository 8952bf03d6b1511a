"""Rosenbrock integrators for mass action with the analytic Jacobian (steppers for
:func:`~neuralcrn.kinetics._loop.adaptive_loop`).

Methods (coefficients in :mod:`~neuralcrn.kinetics._tableaus`):

* ``"rodas5"`` — Rodas5 (Di Marzo 1993; Hairer & Wanner's RODAS): 8 stages, order 5, embedded
  order 4, L-stable, stiffly accurate, 4th-order dense output. Needs solves with the *exact*
  Jacobian. ``"rodas5p"``: Steinebach's 2023 coefficients of the same scheme.
* ``"ros34pw2"`` — ROS34PW2 (Rang & Angermann 2005): 4 stages, order 3 for *any* matrix W (a
  W-method), embedded order 2, L-stable, stiffly accurate; cubic Hermite dense output.

Each step solves its stages' linear systems with one matrix ``I/(hγ) − J_W`` (Hairer & Wanner's
transformed form, no matrix-vector products), J_W from the analytic mass-action Jacobian
(:mod:`~neuralcrn.kinetics._jacobian`) at the step's start:

* ``linear="pairs"`` — J_W = J_B, the entries inside the dual-rail pair blocks, inverted in
  closed form, O(S) per stage: the stiff reactions of a Neural CRN (annihilation, 2Z → Z, fast
  decays) live inside those blocks, so the step count does not grow with their rate constants.
  A W-method uses J_B as it is. A method that needs the exact Jacobian adds block substitution
  sweeps with the entries outside the blocks, exact when those entries link the blocks without
  a cycle (every compiled Neural CRN phase); the number of sweeps is the chain length
  (:func:`~neuralcrn.kinetics._jacobian.block_depth`, found once per solve from the active
  reactions). A network with such a cycle gets status 5 (use ``linear="dense"`` or a W-method).
* ``linear="dense"`` — the full analytic Jacobian and one LU factorisation per step (general
  networks whose stiffness couples species outside pairs, e.g. Robertson's; small S only).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from ._arrays import MassActionStructure
from ._jacobian import (MAX_SWEEPS, PairPlan, dense_jacobian, outside_product, pair_jacobian,
                        pair_plan, pair_solver)
from ._loop import STATUS_LINEAR, STATUS_OK, Stepper
from ._tableaus import TABLEAUS, TransformedTableau

__all__ = ["LINEAR_SOLVERS", "MAX_SWEEPS", "rosenbrock_stepper", "fixed_step_solve"]

LINEAR_SOLVERS = ("pairs", "dense")


class _Linear(NamedTuple):
    jacobian: Callable      # y (K, S) -> Jacobian data
    factor: Callable        # (Jacobian data, shift) -> solve: (K, S) -> (K, S)
    status: jnp.ndarray     # () int32: STATUS_OK or STATUS_LINEAR


def _pairs(structure, k, S, exact: bool, plan: PairPlan | None = None) -> _Linear:
    plan = pair_plan(structure, S, k) if plan is None else plan
    status = jnp.int32(STATUS_OK)
    if exact:
        depth = jnp.asarray(plan.depth)
        status = jnp.where(depth > MAX_SWEEPS, STATUS_LINEAR, STATUS_OK).astype(jnp.int32)

    def jacobian(y):
        return jax.vmap(lambda v: pair_jacobian(v, k, structure, plan, exact))(y)

    def factor(jac, shift):
        block = pair_solver(jac.diag, jac.off, plan.partner, shift)
        if not exact:
            return block
        lower = jax.vmap(lambda L, u: outside_product(L, plan, u))

        def solve(r):
            return jax.lax.fori_loop(0, depth, lambda _, u: block(r + lower(jac.lower, u)),
                                     block(r))

        return solve

    return _Linear(jacobian, factor, status)


def _dense(structure, k, S) -> _Linear:
    def jacobian(y):
        return jax.vmap(lambda v: dense_jacobian(v, k, structure))(y)

    def factor(J, shift):
        lu = jax.vmap(jax.scipy.linalg.lu_factor)(shift * jnp.eye(S, dtype=J.dtype) - J)
        return lambda r: jax.vmap(jax.scipy.linalg.lu_solve)(lu, r)

    return _Linear(jacobian, factor, jnp.int32(STATUS_OK))


def _linear(structure, k, S, tab: TransformedTableau, linear: str,
            plan: PairPlan | None = None) -> _Linear:
    if linear not in LINEAR_SOLVERS:
        raise ValueError(f"unknown linear solver {linear!r}; choose one of "
                         f"{', '.join(LINEAR_SOLVERS)}")
    if linear == "pairs":
        return _pairs(structure, k, S, not tab.w_method, plan)
    return _dense(structure, k, S)


def _stages(tab: TransformedTableau, f, solve, y, fy, h):
    """One Rosenbrock step of size h from y (stage matrix already factored): (y1, err, U).

    The stages 2…s run in a ``lax.fori_loop`` over an ``(s, K, S)`` array of stage vectors: one
    copy of the stage code (measured: compiles ~15 % faster than unrolled stages and runs at least
    as fast)."""
    s = tab.stages
    a = jnp.asarray(tab.a, y.dtype)
    c = jnp.asarray(tab.c, y.dtype) / h
    U = jnp.zeros((s,) + y.shape, y.dtype).at[0].set(solve(fy))

    def stage(i, U):
        F = f(y + jnp.tensordot(a[i], U, axes=1)) + jnp.tensordot(c[i], U, axes=1)
        return U.at[i].set(solve(F))

    U = jax.lax.fori_loop(1, s, stage, U)
    m, me = jnp.asarray(tab.m, y.dtype), jnp.asarray(tab.m_error, y.dtype)
    return y + jnp.tensordot(m, U, axes=1), jnp.tensordot(me, U, axes=1), U


def rosenbrock_stepper(structure: MassActionStructure, k, f, S: int, *, method: str = "rodas5",
                       linear: str = "pairs", plan: PairPlan | None = None) -> Stepper:
    """The :class:`~neuralcrn.kinetics._loop.Stepper` of Rosenbrock method ``method`` (a name of
    :data:`~neuralcrn.kinetics._tableaus.TABLEAUS`) with linear solver ``linear`` for the
    network ``(structure, k)`` whose right-hand side on ``(K, S)`` states is ``f``; ``plan``: a
    precomputed :class:`~neuralcrn.kinetics._jacobian.PairPlan` (default: every entry, found in
    the solve)."""
    if method not in TABLEAUS:
        raise ValueError(f"unknown Rosenbrock method {method!r}; choose one of "
                         f"{', '.join(TABLEAUS)}")
    tab = TABLEAUS[method]
    lin = _linear(structure, k, S, tab, linear, plan)

    def step(y, fy, jac, h):
        y1, err, U = _stages(tab, f, lin.factor(jac, 1.0 / (h * tab.gamma)), y, fy, h)
        return y1, err, None, U

    interpolant = None
    if tab.dense is not None:
        def interpolant(y0, y1, f0, f1, h, U):
            D0, D1, D2 = (jnp.tensordot(jnp.asarray(row, U.dtype), U, axes=1)
                          for row in tab.dense)

            def at(theta):
                # (1−θ)·y0 + θ·y1 + θ(1−θ)(…): a species that does not change stays exact
                return y0 + theta * ((y1 - y0) + (1.0 - theta) * (D0 + theta * (D1 + theta * D2)))

            return at

    return Stepper(tab.order, tab.embedded_order, lin.jacobian, step, interpolant, lin.status)


def fixed_step_solve(structure: MassActionStructure, rate_constants, y0, t1, n_steps: int, *,
                     method: str = "rodas5", linear: str = "pairs"):
    """``y(t1)`` ``(K, S)`` after ``n_steps`` equal steps from t = 0 (``y0`` ``(K, S)``), no
    step-size control: for measuring a method's order of convergence."""
    from ._rhs import mass_action_rhs

    y0 = jnp.asarray(y0, jnp.float64)
    k = jnp.asarray(rate_constants, y0.dtype)
    S = y0.shape[-1]

    def f(y):
        return jax.vmap(lambda v: mass_action_rhs(v, k, structure))(y)

    stepper = rosenbrock_stepper(structure, k, f, S, method=method, linear=linear)
    h = jnp.asarray(t1, y0.dtype) / n_steps

    def body(_, y):
        return stepper.step(y, f(y), stepper.state_data(y), h)[0]

    return jax.lax.fori_loop(0, n_steps, body, y0)
