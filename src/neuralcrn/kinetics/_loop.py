"""The adaptive time-stepping loop shared by our integrators: one lean ``lax.while_loop``.

A *stepper* (:class:`Stepper`: a Rosenbrock method in :mod:`~neuralcrn.kinetics._rosenbrock`, an
explicit Runge–Kutta method in :mod:`~neuralcrn.kinetics._explicit`) takes one step; this loop
does everything else the same way for all of them:

* K *pots* (independent copies of one network: replicates, the points of a batch) are one stacked
  ``(K, S)`` state with one shared step sequence; the error norm is the worst pot's RMS of
  ``err / (atol + rtol·m)``, so each pot gets the error control it would get alone;
* the magnitude m of a species is max(|y0|, |y1|) — or, for a species with a dual-rail *partner*
  (``partner``, :func:`~neuralcrn.kinetics._jacobian.pair_partner`: V⁺ and V⁻ of an
  annihilation V⁺ + V⁻ → ∅), the magnitude of its pair, max over the step of |V⁺| + |V⁻|. The
  signed value v = V⁺ − V⁻ and the common mode V⁺ + V⁻ are then controlled to rtol relative to
  the pair, as the majority rail always was, while the minority rail (≈ production/(k_ann·|v|),
  tiny) is not held to its own relative accuracy: at k_ann = 1e4 that needless accuracy cost the
  paper XOR feedforward phase ≈ 40 % of its Rodas5 steps, most where a signed value crosses zero
  and the rails swap (docs/solver.md "Error norm");
* step-size control ``h·min(6, max(0.2, 0.9·E^(−1/(p̂+1))))`` with p̂ the order of the error
  estimate, no growth right after a rejection; a non-finite error or state rejects the step with
  the smallest factor; the first step as in Hairer, Nørsett & Wanner (*Solving ODEs I*, §II.4)
  unless given;
* the last step is cut to end exactly at t1; save times in between come from the stepper's
  interpolant (dense output) on the accepted step that contains them;
* status codes instead of exceptions (0 success, 1 max_steps, 2 step size underflow, 3 non-finite
  state, 5 the stepper cannot run this network — see :mod:`~neuralcrn.kinetics._solve`).

The derivative at an accepted point is kept for the next step (the first stage of every method
here, and the Hermite interpolant's end slope); the stepper's per-state data (a Jacobian) is
evaluated at the start of every step.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["Stepper", "LoopResult", "adaptive_loop", "hermite", "STATUS_OK", "STATUS_MAX_STEPS",
           "STATUS_DT_MIN", "STATUS_NONFINITE", "STATUS_LINEAR"]

STATUS_OK, STATUS_MAX_STEPS, STATUS_DT_MIN, STATUS_NONFINITE = 0, 1, 2, 3
STATUS_LINEAR = 5

_SAFETY, _FAC_MIN, _FAC_MAX = 0.9, 0.2, 6.0


class Stepper(NamedTuple):
    """One method's step, as functions of ``(K, S)`` arrays (built inside the traced solve).

    order: order of the solution (for the first step size). error_order: order p̂ of the error
    estimate (the controller's exponent is −1/(p̂+1)). state_data(y): per-state data such as a
    Jacobian (a pytree; ``None`` if none). step(y, fy, data, h) → (y1, err, f1, stages): f1 is
    f(y1) where the method has it (FSAL) else ``None``; stages are what ``interpolant`` needs.
    interpolant(y0, y1, f0, f1, h, stages) → θ ↦ y(t + θh), or ``None`` for cubic Hermite.
    status: ``()`` int32, STATUS_OK or STATUS_LINEAR when the stepper cannot run this network.
    """

    order: int
    error_order: int
    state_data: Callable
    step: Callable
    interpolant: Callable | None
    status: jnp.ndarray


class LoopResult(NamedTuple):
    """ys: ``(P, K, S)`` states at the save times (``None`` when none were asked for; rows not
    reached hold inf). t: ``()`` time reached. y: ``(K, S)`` state there. status: ``()`` int32.
    num_steps, num_accepted: ``()`` int32 attempted and accepted steps."""

    ys: jnp.ndarray | None
    t: jnp.ndarray
    y: jnp.ndarray
    status: jnp.ndarray
    num_steps: jnp.ndarray
    num_accepted: jnp.ndarray


def _norm(v, scale):
    """Worst pot's RMS of v / scale; v, scale ``(K, S)``."""
    return jnp.max(jnp.sqrt(jnp.mean(jnp.square(v / scale), axis=-1)))


def _initial_step(f, y0, f0, span, order, rtol, atol):
    """Hairer–Nørsett–Wanner's starting step size (Solving ODEs I, §II.4), at most ``span``."""
    scale = atol + rtol * jnp.abs(y0)
    d0, d1 = _norm(y0, scale), _norm(f0, scale)
    h0 = jnp.where((d0 < 1e-5) | (d1 < 1e-5), 1e-6, 0.01 * d0 / d1)
    h0 = jnp.minimum(h0, span)
    d2 = _norm(f(y0 + h0 * f0) - f0, scale) / h0
    dmax = jnp.maximum(d1, d2)
    h1 = jnp.where(dmax <= 1e-15, jnp.maximum(1e-6, h0 * 1e-3),
                   (0.01 / dmax) ** (1.0 / (order + 1)))
    h = jnp.minimum(100.0 * h0, h1)
    return jnp.where(jnp.isfinite(h) & (h > 0), jnp.minimum(h, span), span * 1e-6)


def hermite(y0, y1, f0, f1, h, theta):
    """Cubic Hermite interpolant at θ ∈ [0, 1] of the step [t, t + h] with values y0, y1 and
    derivatives f0, f1 at its ends (local error O(h⁴)); exact for species that do not change."""
    dy = y1 - y0
    return y0 + theta * dy + theta * (theta - 1.0) * (
        (1.0 - 2.0 * theta) * dy + (theta - 1.0) * h * f0 + theta * h * f1)


class _Carry(NamedTuple):
    t: jnp.ndarray
    h: jnp.ndarray
    y: jnp.ndarray
    fy: jnp.ndarray
    data: object
    steps: jnp.ndarray
    accepted: jnp.ndarray
    status: jnp.ndarray
    rejected_last: jnp.ndarray
    save_index: jnp.ndarray
    ys: jnp.ndarray


def adaptive_loop(stepper: Stepper, f: Callable, y0, t0, t1, *, ts=None, rtol, atol,
                  max_steps: int, dt0=None, partner=None) -> LoopResult:
    """Integrate from ``(t0, y0)`` (``y0`` ``(K, S)``) to t1 with ``stepper`` (see the module
    docstring). ``f`` maps ``(K, S)`` → ``(K, S)``. ``ts``: optional ``(P,)`` increasing save
    times in ``[t0, t1]``. ``max_steps`` (attempted steps) and ``dt0`` are static. ``partner``:
    optional ``(S,)`` int32, each species' dual-rail partner (itself for none): the error of a
    rail is measured against its pair's magnitude (module docstring)."""
    t0, t1 = jnp.asarray(t0, y0.dtype), jnp.asarray(t1, y0.dtype)
    rtol, atol = jnp.asarray(rtol, y0.dtype), jnp.asarray(atol, y0.dtype)
    exponent = -1.0 / (stepper.error_order + 1)
    K, S = y0.shape
    span = t1 - t0
    f0 = f(y0)
    if dt0 is None:
        h_init = _initial_step(f, y0, f0, span, stepper.order, rtol, atol)
    else:
        h_init = jnp.minimum(jnp.asarray(dt0, y0.dtype), span)

    saving = ts is not None
    P = 0
    ys = jnp.zeros((0, K, S), y0.dtype)
    save_index = jnp.int32(0)
    if saving:
        ts = jnp.asarray(ts, y0.dtype)
        P = ts.shape[0]
        ys = jnp.full((P, K, S), jnp.inf, y0.dtype)
        save_index, ys = jax.lax.while_loop(
            lambda c: (c[0] < P) & (ts[jnp.minimum(c[0], P - 1)] <= t0),
            lambda c: (c[0] + 1, c[1].at[c[0]].set(y0)), (save_index, ys))
    eps = jnp.finfo(y0.dtype).eps
    if partner is None:
        def magnitude(a, b):
            return jnp.maximum(jnp.abs(a), jnp.abs(b))
    else:
        partner = jnp.asarray(partner, jnp.int32)
        paired = partner != jnp.arange(S, dtype=jnp.int32)

        def magnitude(a, b):
            m = jnp.abs(a) + jnp.where(paired, jnp.abs(a[:, partner]), 0.0)
            return jnp.maximum(m, jnp.abs(b) + jnp.where(paired, jnp.abs(b[:, partner]), 0.0))
    init = _Carry(t0, h_init, y0, f0, stepper.state_data(y0), jnp.int32(0), jnp.int32(0),
                  stepper.status, jnp.bool_(False), save_index, ys)

    def cond(c: _Carry):
        return (c.t < t1) & (c.status == STATUS_OK) & (c.steps < max_steps)

    def body(c: _Carry) -> _Carry:
        last = c.h >= t1 - c.t
        h = jnp.where(last, t1 - c.t, c.h)
        y_new, err, f_new, stages = stepper.step(c.y, c.fy, c.data, h)
        e = _norm(err, atol + rtol * magnitude(c.y, y_new))
        ok = jnp.isfinite(e) & (e <= 1.0) & jnp.all(jnp.isfinite(y_new))
        fac = jnp.where(jnp.isfinite(e),
                        jnp.clip(_SAFETY * jnp.maximum(e, 1e-10) ** exponent, _FAC_MIN, _FAC_MAX),
                        _FAC_MIN)
        fac = jnp.where(c.rejected_last & ok, jnp.minimum(fac, 1.0), fac)
        t_new = jnp.where(last, t1, c.t + h)
        y_next = jnp.where(ok, y_new, c.y)
        if f_new is None:
            f_next = f(y_next)
        else:
            f_next = jnp.where(ok, f_new, c.fy)
        # after a rejection y_next = y, so this recomputes the same data (cheaper than a select)
        data_next = stepper.state_data(y_next)
        ys, save_index = c.ys, c.save_index
        if saving:
            interpolate = (None if stepper.interpolant is None else
                           stepper.interpolant(c.y, y_new, c.fy, f_next, h, stages))

            def save(s):
                i, ys = s
                theta = (ts[i] - c.t) / h
                y = (hermite(c.y, y_new, c.fy, f_next, h, theta) if interpolate is None
                     else interpolate(theta))
                return i + 1, ys.at[i].set(y)

            save_index, ys = jax.lax.while_loop(
                lambda s: ok & (s[0] < P) & (ts[jnp.minimum(s[0], P - 1)] <= t_new), save,
                (save_index, ys))
        h_next = h * fac
        # underflow: the step no longer moves t (16 units in the last place of t)
        tiny = (h_next <= 16.0 * eps * jnp.abs(c.t)) | ~(h_next > 0)
        status = jnp.where(~ok & tiny, STATUS_DT_MIN, STATUS_OK).astype(jnp.int32)
        return _Carry(jnp.where(ok, t_new, c.t), h_next, y_next, f_next, data_next, c.steps + 1,
                      c.accepted + ok.astype(jnp.int32), status, ~ok, save_index, ys)

    out = jax.lax.while_loop(cond, body, init)
    status = jnp.where((out.status == STATUS_OK) & (out.t < t1), STATUS_MAX_STEPS, out.status)
    status = jnp.where((status == STATUS_OK) & ~jnp.all(jnp.isfinite(out.y)), STATUS_NONFINITE,
                       status)
    return LoopResult(out.ys if saving else None, out.t, out.y, status.astype(jnp.int32),
                      out.steps, out.accepted)
