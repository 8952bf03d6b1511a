"""Prototype: an additive (IMEX) Runge–Kutta integrator for mass action, measured against the
Rosenbrock integrators in ``neuralcrn bench --only solvers`` (issue 9's candidate list).

Method: Kennedy & Carpenter's ARK4(3)6L[2]SA (Appl. Numer. Math. 44 (2003) 139–181; diffrax's
``KenCarp4`` tableaus): 6 stages, order 4, embedded order 3, an explicit RK for the non-stiff
part and an L-stable, stiffly accurate ESDIRK (γ = 1/4) for the stiff part.

Split (by stoichiometry entry, from the structure): the term n_t·v_r of reaction r in species i's
equation is *implicit* when every reactant of r lies in i's dual-rail pair block (annihilation,
2Z → Z, decays X → ∅, the −k·X of a conversion X → Y), otherwise explicit (catalytic drive and
products, the +k·X of X → Y). The implicit part is then block separable: each ESDIRK stage is a
tiny nonlinear system per pair block, solved by Newton's method with the closed-form 2×2 inverse
of (I − hγ·J_I) (``NEWTON`` iterations; the step is rejected when they have not converged).
Weakness the measurements show: a stiff term whose reactant lies outside the block (a catalysed
decay A + C → C with a large rate, Robertson's B + C → A + C) stays explicit; the Rosenbrock
integrators put every diagonal block of the Jacobian into their linear solve instead.
"""

from __future__ import annotations

import diffrax
import jax
import jax.numpy as jnp
import numpy as np

from ..kinetics import mass_action_rhs, reaction_rates
from ..kinetics._jacobian import pair_jacobian, pair_plan, pair_solver
from ..kinetics._loop import STATUS_OK, Stepper, adaptive_loop

__all__ = ["imex_stepper", "imex_solve_final", "NEWTON"]

NEWTON = 4
"""Newton iterations per implicit stage (each: the implicit part, its pair-block Jacobian and the
closed-form block solve)."""


def _tables():
    explicit, implicit = diffrax.KenCarp4.tableau.tableaus
    s = len(explicit.c) + 1
    aE, aI = np.zeros((s, s)), np.zeros((s, s))
    for i, (re, ri) in enumerate(zip(explicit.a_lower, implicit.a_lower), start=1):
        aE[i, :len(re)] = re
        aI[i, :len(ri)] = ri
    gamma = float(implicit.a_diagonal[1])
    return aE, aI, gamma, np.asarray(explicit.b_sol, float), np.asarray(explicit.b_error, float)


def imex_stepper(structure, k, f, S: int) -> Stepper:
    """ARK4(3)6L[2]SA stepper with the block-local implicit split (module docstring)."""
    aE, aI, gamma, b, b_err = _tables()
    plan = pair_plan(structure, S, k)   # entries listed triplet-major, q per triplet
    sv = jnp.asarray(structure.stoich_value)
    sr, ss = jnp.asarray(structure.stoich_reaction), jnp.asarray(structure.stoich_species)
    idx = jnp.asarray(structure.reactant_index)
    slots = idx[sr]
    own, mate = ss[:, None], plan.partner[ss][:, None]
    implicit = jnp.all((slots == own) | (slots == mate) | (slots >= S), axis=1) & (sv != 0)
    plan_I = plan._replace(in_weight=plan.in_weight * jnp.repeat(implicit, idx.shape[1]))
    w_I = jnp.where(implicit, sv, 0.0)

    def f_I(Y):
        def one(v):
            rates = reaction_rates(v, k, structure)
            return jax.ops.segment_sum(w_I * rates[sr], ss, num_segments=S)
        return jax.vmap(one)(Y)

    def jac_I(Y):
        return jax.vmap(lambda v: pair_jacobian(v, k, structure, plan_I))(Y)

    def step(y, fy, _data, h):
        hg = h * gamma
        fI0 = f_I(y)
        kE, kI = [fy - fI0], [fI0]
        converged = jnp.bool_(True)
        for i in range(1, len(b)):
            R = y
            for j in range(i):
                if aE[i, j] != 0.0:
                    R = R + (h * aE[i, j]) * kE[j]
                if aI[i, j] != 0.0:
                    R = R + (h * aI[i, j]) * kI[j]
            Y = R + hg * kI[-1]
            for it in range(NEWTON):
                G = Y - hg * f_I(Y) - R
                J = jac_I(Y)
                dY = pair_solver(J.diag, J.off, plan.partner, 1.0 / hg)(G) / hg
                Y = Y - dY
            scale = 1e-300 + jnp.abs(Y)
            converged &= jnp.all(jnp.abs(dY) <= 1e-3 * scale + 1e-12)
            kI.append((Y - R) / hg)
            kE.append(f(Y) - f_I(Y))
        y1, err = y, 0.0
        for w, we, e_, i_ in zip(b, b_err, kE, kI):
            if w != 0.0:
                y1 = y1 + (h * w) * (e_ + i_)
            if we != 0.0:
                err = err + (h * we) * (e_ + i_)
        err = jnp.where(converged, err, jnp.inf)
        return y1, err, None, None

    return Stepper(4, 3, lambda y: None, step, None, jnp.int32(STATUS_OK))


def imex_solve_final(structure, rate_constants, x0, t_end, *, rtol, atol, max_steps):
    """``(y(t_end) (S,), num_steps, status)`` of the IMEX prototype from ``x0`` ``(S,)``."""
    x0 = jnp.asarray(x0, jnp.float64)[None]
    k = jnp.asarray(rate_constants, x0.dtype)

    def f(y):
        return jax.vmap(lambda v: mass_action_rhs(v, k, structure))(y)

    r = adaptive_loop(imex_stepper(structure, k, f, x0.shape[-1]), f, x0, 0.0, t_end, rtol=rtol,
                      atol=atol, max_steps=max_steps)
    return r.y[0], r.num_steps, r.status
