"""Gradients of the loss of the ideal Neural ODE (SPEC §2).

Three implementations:

- :func:`grad_autodiff` — JAX reverse-mode autodiff *through* the diffrax forward solve
  (``RecursiveCheckpointAdjoint``, discretise-then-optimise). The reference for ∂L/∂θ.
- :func:`grad_adjoint` — the explicit continuous adjoint method (Chen et al., "Neural Ordinary
  Differential Equations", NeurIPS 2018), written as the one forward-in-s ODE that the Neural CRN's
  feedback phase runs chemically (Nagipogu & Reif 2025; SPEC §2). With reverse time s = T − t::

      z(s=0) = z(T),  a(s=0) = Wᵀe,  G_Θ(0) = 0,  G_h(0) = 0,   e = W z(T) − y
      dz/ds   = −f(z, u) = −(Θu + h − φ(z))     (reconstructs the trajectory; z(s=T) ≈ z(0))
      da/ds   = (∂f/∂z)ᵀ a = −φ'(z) ⊙ a
      dG_Θ/ds = a uᵀ   (diagonal mode: a ⊙ u)
      dG_h/ds = a
      ∂L/∂Θ = G_Θ(T),  ∂L/∂h = G_h(T),  ∂L/∂W = e z(T)ᵀ

  The two exact gradients agree to solver tolerance (plus the reconstruction error of z).
- :func:`grad_first_order` — the paper's first-order approximation a(s) ≡ Wᵀe:
  G_Θ = T·a uᵀ, G_h = T·a, ∂L/∂W = e z(T)ᵀ. Exact for the linear model (φ = 0).

Gradients of frozen parameters (``train_h`` / ``train_W`` false) are returned as zeros; in diagonal
mode the Θ gradient is zero off the diagonal. All gradients have the shapes of :class:`Params`.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .spec import ModelSpec, Params
from ._model import (_as_input, _as_target, _drive_raw, _mask_raw, _phi_prime_raw, _split,
                     _vf_raw, _z0_raw, validate_params)
from ._forward import _as_times, _forward_raw
from ._solver import SolverOptions, _all_finite, _ode_solve, _raise_if_failed, _solver

__all__ = ["grad_autodiff", "grad_adjoint", "grad_first_order", "gradient", "mask_gradients",
           "params_relative_error"]


def mask_gradients(spec: ModelSpec, grads: Params) -> Params:
    """Zero the gradients of parameters that are not trained (``train_h``/``train_W`` false) and,
    in diagonal mode, the off-diagonal entries of the Θ gradient."""
    st, c = _split(spec)
    return _mask_raw(st, c, Params(*(jnp.asarray(g) for g in grads)))


def params_relative_error(a: Params, ref: Params) -> float:
    """‖a − ref‖₂ / ‖ref‖₂ over all entries of theta, h and W together (0 if both are zero)."""
    da = np.concatenate([np.ravel(np.asarray(p) - np.asarray(q)) for p, q in zip(a, ref)])
    nr = np.linalg.norm(np.concatenate([np.ravel(np.asarray(q)) for q in ref]))
    nd = np.linalg.norm(da)
    if nr == 0:
        return 0.0 if nd == 0 else float("inf")
    return float(nd / nr)


# ------------------------------------------------------------------ autodiff through the solve
def _autodiff_raw(st, c, params, x, y, solver):
    """Unmasked autodiff gradient. Returns ``(L, grads, ok, code)``."""
    def lossfn(p):
        zT, _, ok, code, _ = _forward_raw(st, c, p, x, solver)
        e = p.W @ zT - y
        return 0.5 * jnp.dot(e, e), (ok, code)

    (L, (ok, code)), g = jax.value_and_grad(lossfn, has_aux=True)(params)
    return L, g, ok & _all_finite(g), code


@functools.partial(jax.jit, static_argnames=("st", "solver"))
def _autodiff_jit(st, c, params, x, y, solver):
    L, g, ok, code = _autodiff_raw(st, c, params, x, y, solver)
    return L, _mask_raw(st, c, g), ok, code


def grad_autodiff(spec: ModelSpec, params, x, y, *, solver: SolverOptions | None = None):
    """Loss and exact gradient by JAX autodiff through the diffrax forward solve.

    Parameters
    ----------
    spec, params: the model and its parameter values (:class:`Params`).
    x: shape ``(d,)``;  y: shape ``(m,)``.
    solver: :class:`SolverOptions`.

    Returns
    -------
    ``(L, grads)``: L = ½‖W z(T) − y‖² (scalar); grads a :class:`Params` of ∂L/∂θ (zeros for frozen
    parameters, diagonal-masked Θ in diagonal mode).

    Raises
    ------
    SpecError, DataError, SimulationError (as :func:`forward`).
    """
    solver = _solver(solver)
    params = validate_params(spec, params)
    x, y = _as_input(spec, x), _as_target(spec, y)
    L, g, ok, code = _autodiff_jit(*_split(spec), params, x, y, solver)
    _raise_if_failed(ok, code, "forward solve (autodiff gradient)", solver)
    return L, g


# ------------------------------------------------------------------ explicit adjoint ODE
def _adjoint_rhs(st):
    def rhs(s, state, args):
        c, params, u = args
        z, a, _, _ = state
        dz = -_vf_raw(st, c, params, z, u)
        da = -_phi_prime_raw(c, z) * a
        dG = a * u if st.diagonal else jnp.outer(a, u)
        return (dz, da, dG, a)

    return rhs


def _adjoint_raw(st, c, params, x, y, solver, s_points=None):
    """Pure forward + adjoint solve. Returns ``(L, masked grads, info, ok, code)``."""
    diagonal = st.diagonal
    n = st.n
    u = _drive_raw(st, c, x)
    z0 = _z0_raw(st, u)
    zT, _, ok_f, code_f, steps_f = _forward_raw(st, c, params, x, solver)
    y_hat = params.W @ zT
    e = y_hat - y
    L = 0.5 * jnp.dot(e, e)
    a0 = params.W.T @ e
    G0 = jnp.zeros((n,) if diagonal else (n, st.n_u), dtype=zT.dtype)
    state0 = (zT, a0, G0, jnp.zeros((n,), dtype=zT.dtype))
    traj, stateT, code_b, steps_b = _ode_solve(_adjoint_rhs(st), state0, c.T, solver,
                                               (c, params, u), s_points)
    z_rec, aT, GT, GhT = stateT
    to_matrix = jnp.diag if diagonal else (lambda g: g)
    grads = _mask_raw(st, c, Params(to_matrix(GT), GhT, jnp.outer(e, zT)))
    err = jnp.max(jnp.abs(z_rec - z0))
    scale = jnp.maximum(jnp.max(jnp.abs(z0)), jnp.max(jnp.abs(zT)))
    info = {
        "u": u, "z0": z0, "zT": zT, "y_hat": y_hat, "e": e, "a0": a0,
        "z_rec": z_rec, "aT": aT,
        "recon_err_max": err,
        "recon_err_rel": err / jnp.where(scale > 0, scale, 1.0),
        "steps_forward": steps_f, "steps_backward": steps_b,
    }
    if s_points is not None:
        zs, as_, Gs, Ghs = traj
        info.update({"s": s_points, "z_s": zs, "a_s": as_,
                     "G_theta_s": jax.vmap(to_matrix)(Gs), "G_h_s": Ghs})
    ok_b = (code_b == 0) & _all_finite(stateT)
    code = jnp.where(code_f != 0, code_f, code_b)
    return L, grads, info, ok_f & ok_b, code


@functools.partial(jax.jit, static_argnames=("st", "solver"))
def _adjoint_jit(st, c, params, x, y, s_points, solver):
    return _adjoint_raw(st, c, params, x, y, solver, s_points)


def grad_adjoint(spec: ModelSpec, params, x, y, *, s_points=None,
                 solver: SolverOptions | None = None):
    """Loss and exact gradient by the explicit adjoint ODE of SPEC §2 (Chen et al. 2018).

    One forward solve t: 0 → T gives z(T), ŷ = W z(T), e = ŷ − y; then ONE ODE in reverse time
    s = T − t, integrated forward in s from 0 to T, with state (z, a, G_Θ, G_h) — exactly the
    computation of the Neural CRN's feedback phase (see module docstring).

    Parameters
    ----------
    spec, params: the model and its parameter values.
    x: shape ``(d,)``;  y: shape ``(m,)``.
    s_points: optional reverse times, shape ``(k,)``, non-decreasing in [0, T], at which the
        adjoint state is also returned (``info["z_s"]`` etc.).
    solver: :class:`SolverOptions` (used for both solves).

    Returns
    -------
    ``(L, grads, info)``: L scalar; grads :class:`Params` (frozen parameters zero, diagonal mode
    masked); info a dict of arrays:

    - ``u`` (n_u,), ``z0`` (n,) = z(0), ``zT`` (n,) = z(T), ``y_hat`` (m,), ``e`` (m,) = ŷ − y
    - ``a0`` (n,) = a(s=0) = Wᵀe;  ``aT`` (n,) = a(s=T) = ∂L/∂z(0)
    - ``z_rec`` (n,) = z(s=T), the reconstructed initial state
    - ``recon_err_max`` = max_i |z_rec − z(0)|_i;  ``recon_err_rel`` = recon_err_max /
      max(‖z(0)‖∞, ‖z(T)‖∞)
    - ``steps_forward``, ``steps_backward``: accepted+rejected solver steps
    - with s_points: ``s`` (k,), ``z_s`` (k, n), ``a_s`` (k, n), ``G_theta_s`` (k, n, n_u),
      ``G_h_s`` (k, n) — the raw accumulators (not masked by the train flags).

    Raises
    ------
    SpecError, DataError, SimulationError (either solve failed or went non-finite).
    """
    solver = _solver(solver)
    params = validate_params(spec, params)
    x, y = _as_input(spec, x), _as_target(spec, y)
    s_points = _as_times(spec, s_points)
    L, g, info, ok, code = _adjoint_jit(*_split(spec), params, x, y, s_points, solver)
    _raise_if_failed(ok, code, "forward/adjoint solve", solver)
    return L, g, info


# ------------------------------------------------------------------ first-order approximation
def _first_order_raw(st, c, params, x, y, solver):
    """Returns ``(L, masked grads, info, ok, code)``."""
    u = _drive_raw(st, c, x)
    zT, _, ok, code, _ = _forward_raw(st, c, params, x, solver)
    y_hat = params.W @ zT
    e = y_hat - y
    L = 0.5 * jnp.dot(e, e)
    a = params.W.T @ e
    grads = _mask_raw(st, c, Params(c.T * jnp.outer(a, u), c.T * a, jnp.outer(e, zT)))
    info = {"u": u, "zT": zT, "y_hat": y_hat, "e": e, "a0": a}
    return L, grads, info, ok, code


@functools.partial(jax.jit, static_argnames=("st", "solver"))
def _first_order_jit(st, c, params, x, y, solver):
    return _first_order_raw(st, c, params, x, y, solver)


def grad_first_order(spec: ModelSpec, params, x, y, *, solver: SolverOptions | None = None):
    """Loss and first-order gradient approximation (SPEC §2; Nagipogu & Reif 2025).

    The adjoint is frozen at its terminal value a ≡ Wᵀe and z is not reconstructed:
    G_Θ = T·a uᵀ (masked to the diagonal in diagonal mode), G_h = T·a, ∂L/∂W = e z(T)ᵀ.
    Exact when φ = 0.

    Returns ``(L, grads, info)`` with info keys ``u``, ``zT``, ``y_hat``, ``e``, ``a0``.
    Raises as :func:`forward`.
    """
    solver = _solver(solver)
    params = validate_params(spec, params)
    x, y = _as_input(spec, x), _as_target(spec, y)
    L, g, info, ok, code = _first_order_jit(*_split(spec), params, x, y, solver)
    _raise_if_failed(ok, code, "forward solve", solver)
    return L, g, info


# ------------------------------------------------------------------ dispatch
def _gradient_raw(st, c, exact: bool, params, x, y, solver):
    """Pure dispatch (exact adjoint or first-order); masked grads.
    Returns ``(L, grads, info, ok, code)``."""
    if exact:
        return _adjoint_raw(st, c, params, x, y, solver)
    return _first_order_raw(st, c, params, x, y, solver)


def gradient(spec: ModelSpec, params, x, y, *, solver: SolverOptions | None = None):
    """The gradient the Neural CRN computes: :func:`grad_adjoint` for ``spec.gradient == "exact"``,
    :func:`grad_first_order` for ``"first-order"``. Returns ``(L, grads, info)``."""
    if spec.gradient == "exact":
        return grad_adjoint(spec, params, x, y, solver=solver)
    return grad_first_order(spec, params, x, y, solver=solver)
