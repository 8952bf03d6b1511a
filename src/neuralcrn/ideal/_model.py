"""Building blocks of the ideal Neural ODE (SPEC §2): drive, initial state, φ, vector field, parameters.

All functions here are pure JAX and traceable (``jit``/``vmap``/``grad``) with the
:class:`~neuralcrn.ideal.spec.ModelSpec` as a static (hashable) argument. Shape checks use static
shapes and therefore also work under tracing; value checks (finite, zero off-diagonal) run only on
concrete arrays.

Model (SPEC §2; Nagipogu & Reif 2025)::

    u     = (x, c·1_a)  ("augment")   or   (x, 1)  ("bias")          shape (n_u,)
    z(0)  = u  ("drive")              or   0       ("zero")          shape (n,)
    dz/dt = f(z, u) = Θ u + h − φ(z)
    φ(z)  = 0 | α z|z| | α z³   (elementwise; "none" | "quadratic" | "cubic")
    ŷ     = W z(T)
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import DataError, SpecError
from .spec import ModelSpec, Params

__all__ = ["phi", "phi_prime", "drive", "initial_state", "vector_field", "theta_mask",
           "init_params", "validate_params"]

_F = jnp.float64


# ------------------------------------------------------------------ compiled-code keys
class _Struct(NamedTuple):
    """The static part of a spec: what fixes array shapes and code paths (the JIT cache key)."""

    d: int
    n: int
    n_u: int
    m: int
    z0_drive: bool
    diagonal: bool


class _Consts(NamedTuple):
    """The numeric part of a spec, passed to compiled code as traced values.

    φ(z) = alpha2·z|z| + alpha3·z³ covers "none" (0, 0), "quadratic" (α, 0) and "cubic" (0, α)
    exactly, so specs that differ only in numbers (α, T, c, η, train flags) share compiled code.
    """

    tail: np.ndarray      # (n_u − d,): c·1_a ("augment") or (1,) ("bias")
    alpha2: np.ndarray    # ()
    alpha3: np.ndarray    # ()
    T: np.ndarray         # ()
    eta: np.ndarray       # () learning rate
    train_h: np.ndarray   # () bool
    train_W: np.ndarray   # () bool


@functools.lru_cache(maxsize=1024)
def _split(spec: ModelSpec) -> tuple[_Struct, _Consts]:
    """(static structure, traced constants) of a spec. Raises SpecError if it is not a ModelSpec."""
    if not isinstance(spec, ModelSpec):
        raise SpecError(f"spec must be a ModelSpec, got {type(spec).__name__}")
    st = _Struct(spec.inputs, spec.n, spec.n_u, spec.outputs, spec.z0 == "drive",
                 spec.theta == "diagonal")
    if spec.drive == "augment":
        tail = np.full((spec.augment_count,), float(spec.augment_value))
    else:
        tail = np.ones((1,))
    f = np.float64
    c = _Consts(tail, f(spec.alpha if spec.nonlinearity == "quadratic" else 0.0),
                f(spec.alpha if spec.nonlinearity == "cubic" else 0.0), f(spec.T),
                f(spec.learning_rate), np.bool_(spec.train_h), np.bool_(spec.train_W))
    return st, c


def _phi_raw(c: _Consts, z):
    return c.alpha2 * z * jnp.abs(z) + c.alpha3 * z ** 3


def _phi_prime_raw(c: _Consts, z):
    return 2.0 * c.alpha2 * jnp.abs(z) + 3.0 * c.alpha3 * z ** 2


def _drive_raw(st: _Struct, c: _Consts, x):
    return jnp.concatenate([x, jnp.asarray(c.tail, dtype=_F)])


def _z0_raw(st: _Struct, u):
    return u if st.z0_drive else jnp.zeros((st.n,), dtype=_F)


def _diag_mask(st: _Struct) -> np.ndarray:
    return np.eye(st.n, st.n_u, dtype=bool) if st.diagonal else np.ones((st.n, st.n_u), bool)


def _theta_eff(st: _Struct, theta):
    return jnp.where(_diag_mask(st), theta, 0.0) if st.diagonal else theta


def _vf_raw(st: _Struct, c: _Consts, params: Params, z, u):
    return _theta_eff(st, params.theta) @ u + params.h - _phi_raw(c, z)


def _mask_raw(st: _Struct, c: _Consts, g: Params) -> Params:
    return Params(_theta_eff(st, g.theta), jnp.where(c.train_h, g.h, 0.0),
                  jnp.where(c.train_W, g.W, 0.0))


def _is_concrete(*arrays) -> bool:
    """True if none of the arrays is a JAX tracer (i.e. values can be inspected on the host)."""
    return not any(isinstance(a, jax.core.Tracer) for a in arrays)


def _has_nonfinite(a) -> bool:
    """True if ``a`` is concrete and has a NaN/inf entry (checked with numpy: no tracing)."""
    return _is_concrete(a) and not bool(np.all(np.isfinite(np.asarray(a))))


# ------------------------------------------------------------------ nonlinearity
def phi(spec: ModelSpec, z):
    """Elementwise decay φ(z) of SPEC §2.

    ``"none"`` → 0; ``"quadratic"`` → α·z|z| (odd-symmetric, the dual-rail ``Z + Z → Z`` decay);
    ``"cubic"`` → α·z³. Shape of ``z`` is preserved.
    """
    return _phi_raw(_split(spec)[1], jnp.asarray(z))


def phi_prime(spec: ModelSpec, z):
    """Elementwise derivative φ'(z): 0, 2α|z| (quadratic) or 3α z² (cubic). Shape of ``z``."""
    return _phi_prime_raw(_split(spec)[1], jnp.asarray(z))


# ------------------------------------------------------------------ drive and initial state
def _as_input(spec: ModelSpec, x):
    """One input x as a float64 array of shape ``(d,)`` (a scalar is accepted when d = 1).

    Raises :class:`~neuralcrn.errors.DataError` on a wrong size or (concrete) non-finite values.
    """
    x = jnp.asarray(x, dtype=_F)
    if x.ndim == 0 and spec.inputs == 1:
        x = x.reshape(1)
    if x.shape != (spec.inputs,):
        raise DataError(f"input x must have shape ({spec.inputs},), got {tuple(x.shape)}")
    if _has_nonfinite(x):
        raise DataError(f"input x has non-finite values: {np.asarray(x)}")
    return x


def _as_target(spec: ModelSpec, y):
    """One target y as a float64 array of shape ``(m,)`` (a scalar is accepted when m = 1)."""
    y = jnp.asarray(y, dtype=_F)
    if y.ndim == 0 and spec.outputs == 1:
        y = y.reshape(1)
    if y.shape != (spec.outputs,):
        raise DataError(f"target y must have shape ({spec.outputs},), got {tuple(y.shape)}")
    if _has_nonfinite(y):
        raise DataError(f"target y has non-finite values: {np.asarray(y)}")
    return y


def _as_inputs(spec: ModelSpec, X):
    """A batch of inputs as shape ``(N, d)`` (shape ``(N,)`` accepted when d = 1)."""
    X = jnp.asarray(X, dtype=_F)
    if X.ndim == 1 and spec.inputs == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[1] != spec.inputs:
        raise DataError(f"inputs X must have shape (N, {spec.inputs}), got {tuple(X.shape)}")
    if _has_nonfinite(X):
        raise DataError("inputs X have non-finite values")
    return X


def _as_targets(spec: ModelSpec, Y, N: int):
    """A batch of targets as shape ``(N, m)`` (shape ``(N,)`` accepted when m = 1)."""
    Y = jnp.asarray(Y, dtype=_F)
    if Y.ndim == 1 and spec.outputs == 1:
        Y = Y[:, None]
    if Y.shape != (N, spec.outputs):
        raise DataError(f"targets Y must have shape ({N}, {spec.outputs}), got {tuple(Y.shape)}")
    if _has_nonfinite(Y):
        raise DataError("targets Y have non-finite values")
    return Y


def drive(spec: ModelSpec, x):
    """Drive vector u for one input (SPEC §2), JAX version of ``ModelSpec.drive_vector``.

    Parameters
    ----------
    x: shape ``(d,)`` (a scalar when d = 1).

    Returns
    -------
    u: shape ``(n_u,)`` — ``(x, c·1_a)`` for drive ``"augment"`` (c = ``augment_value``,
    a = ``augment_count``), ``(x, 1)`` for drive ``"bias"``.

    Raises
    ------
    DataError: wrong shape or non-finite (concrete) x.
    """
    st, c = _split(spec)
    return _drive_raw(st, c, _as_input(spec, x))


def initial_state(spec: ModelSpec, u):
    """z(0): ``u`` for z0 ``"drive"`` (n == n_u is guaranteed by the spec), zeros ``(n,)`` for ``"zero"``."""
    return _z0_raw(_split(spec)[0], jnp.asarray(u, dtype=_F))


def theta_mask(spec: ModelSpec) -> np.ndarray:
    """0/1 mask of the trainable entries of Θ, shape ``(n, n_u)``: all ones ("full") or the identity
    ("diagonal", θ ⊙ u)."""
    return _diag_mask(_split(spec)[0]).astype(float)


def vector_field(spec: ModelSpec, params: Params, z, u):
    """f(z, u) = Θ u + h − φ(z) (SPEC §2), shape ``(n,)``.

    In diagonal mode the off-diagonal entries of Θ are masked out, so only θ_ii u_i drives z_i
    (and autodiff gradients are automatically zero off the diagonal).
    z: shape ``(n,)``; u: shape ``(n_u,)``.
    """
    st, c = _split(spec)
    return _vf_raw(st, c, params, jnp.asarray(z, dtype=_F), jnp.asarray(u, dtype=_F))


# ------------------------------------------------------------------ parameters
def validate_params(spec: ModelSpec, params) -> Params:
    """Check and convert parameter values to a :class:`Params` of float64 JAX arrays.

    Accepts a :class:`Params`, a 3-tuple ``(theta, h, W)`` or a mapping with keys
    ``theta``, ``h``, ``W``.

    Shapes: theta ``(n, n_u)``, h ``(n,)``, W ``(m, n)``.

    Raises
    ------
    SpecError
        Wrong container, wrong shape, non-finite values, or (diagonal mode) a non-zero entry off the
        diagonal of theta. Value checks are skipped for traced arrays (under ``jit``/``vmap``).
    """
    if isinstance(params, Mapping):
        missing = {"theta", "h", "W"} - set(params)
        if missing:
            raise SpecError(f"parameters are missing {sorted(missing)}")
        params = Params(params["theta"], params["h"], params["W"])
    elif not isinstance(params, Params):
        if isinstance(params, (tuple, list)) and len(params) == 3:
            params = Params(*params)
        else:
            raise SpecError(f"parameters must be Params(theta, h, W), got {type(params).__name__}")
    want = {"theta": spec.theta_shape, "h": (spec.n,), "W": (spec.outputs, spec.n)}
    out = {}
    for name, shape in want.items():
        v = getattr(params, name)
        try:
            v = jnp.asarray(v, dtype=_F)
        except (TypeError, ValueError) as e:
            raise SpecError(f"parameter {name} is not a numeric array: {e}") from None
        if v.shape != shape:
            raise SpecError(f"parameter {name} must have shape {shape}, got {tuple(v.shape)}")
        if _has_nonfinite(v):
            raise SpecError(f"parameter {name} has non-finite values")
        out[name] = v
    if spec.theta == "diagonal" and _is_concrete(out["theta"]):
        off = np.asarray(out["theta"]) * (1.0 - theta_mask(spec))
        if np.any(off != 0):
            i, j = np.argwhere(off != 0)[0]
            raise SpecError(f"diagonal theta must be zero off the diagonal, got theta[{i},{j}] = "
                            f"{off[i, j]}")
    return Params(**out)


@functools.partial(jax.jit, static_argnames=("theta_shape", "n", "m"))
def _standard_normals(key, theta_shape: tuple, n: int, m: int):
    """The three N(0, 1) draws of :func:`init_params` (for Θ, h, W) in one compiled call: the
    numbers of ``jax.random.normal`` on ``jax.random.split(key, 3)``, without the dozen small XLA
    compilations of eager ``jax.random`` calls (≈ 2 s per process). ``key``: an integer seed
    (``jax.random.PRNGKey(seed)``) or a PRNG key."""
    if jnp.issubdtype(jnp.asarray(key).dtype, jnp.integer) and jnp.ndim(key) == 0:
        key = jax.random.PRNGKey(key)
    k1, k2, k3 = jax.random.split(key, 3)
    return (jax.random.normal(k1, theta_shape, dtype=_F), jax.random.normal(k2, (n,), dtype=_F),
            jax.random.normal(k3, (m, n), dtype=_F))


def init_params(spec: ModelSpec, key=0, scale: float = 1.0, *, h_scale: float = 0.0,
                readout: Literal["ones", "mean", "random"] = "ones") -> Params:
    """Random initial parameter values.

    Parameters
    ----------
    spec: the model.
    key: an integer seed or a JAX PRNG key.
    scale: standard deviation of the entries of Θ: θ_ij ~ N(0, scale²) (diagonal mode: only the
        diagonal, zeros elsewhere).
    h_scale: standard deviation of h; the default 0 gives h = 0.
    readout: W ``"ones"`` (W = 1, the paper's frozen readout ŷ = Σ z_i; default), ``"mean"``
        (W = 1/n) or ``"random"`` (W_ij ~ N(0, 1/n)).

    Returns
    -------
    Params with theta ``(n, n_u)``, h ``(n,)``, W ``(m, n)`` (float64).
    """
    if not (np.isfinite(scale) and scale >= 0 and np.isfinite(h_scale) and h_scale >= 0):
        raise SpecError(f"scale and h_scale must be finite and ≥ 0, got {scale!r}, {h_scale!r}")
    if readout not in ("ones", "mean", "random"):
        raise SpecError(f"readout must be 'ones', 'mean' or 'random', got {readout!r}")
    n, m = spec.n, spec.outputs
    if isinstance(key, jax.core.Tracer):
        # traced key (inside jit / vmap): the same draws with traceable operations
        g_theta, g_h, g_W = _standard_normals(key, tuple(spec.theta_shape), n, m)
        theta = jnp.where(theta_mask(spec) > 0, scale * g_theta, 0.0)
        W = {"ones": lambda: jnp.ones((m, n), dtype=_F),
             "mean": lambda: jnp.full((m, n), 1.0 / n, dtype=_F),
             "random": lambda: g_W / np.sqrt(n)}[readout]()
        return Params(theta, h_scale * g_h, W)
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        key = np.int64(int(key))        # OverflowError beyond 64 bits, like PRNGKey
    g_theta, g_h, g_W = (np.asarray(a) for a in _standard_normals(
        key, tuple(spec.theta_shape), n, m))
    theta = np.where(np.asarray(theta_mask(spec)) > 0, scale * g_theta, 0.0)
    h = h_scale * g_h
    W = {"ones": lambda: np.ones((m, n)), "mean": lambda: np.full((m, n), 1.0 / n),
         # the eager JAX division of the original code (XLA's differs from numpy's by 1 ulp)
         "random": lambda: np.asarray(jnp.asarray(g_W) / np.sqrt(n))}[readout]()
    theta, h, W = (jnp.asarray(v, dtype=_F) for v in (theta, h, W))
    return Params(theta, h, W)
