"""numba kernel of the chemical Langevin equation (CLE) on molecule counts, stable under fast
annihilation and kept non-negative.

The CLE (Gillespie 2000, J. Chem. Phys. 113, 297) on the network's stoichiometry S and
propensities a (SPEC §8, on counts x):

    dX = S·a(X) dt + S·diag(√a(X)) dW.

One step of length h ≤ ``dt`` (adaptive, see below):

1. **drift** — the two-stage linearly implicit Rosenbrock-W method ROS2 (Verwer, Spee, Blom &
   Hundsdorfer 1999, SIAM J. Sci. Comput. 20, 1456; γ = 1 + 1/√2, second order for *any*
   matrix J, L-stable), with J the block-diagonal part of the Jacobian: every species' own
   derivative (negative part) and, for each annihilation pair V⁺ + V⁻ → ∅, the 2×2 block of the
   pair, inverted in closed form. So the stiff annihilation (eigenvalue ≈ −k·(V⁺ + V⁻)) and fast
   first-order decays are damped implicitly and the minority rail stays on its quasi-steady state
   ≈ production/(k·|v|) — which the per-rail reactions (2Z → Z) see — instead of being driven to 0
   by an exact-annihilation splitting step (``docs/stochastic.md`` has the measurement);
2. **noise** — Euler–Maruyama: ``S · √(a_r(X) h) · ξ_r``, ξ_r ~ N(0, 1) independent per reaction,
   propensities at the start of the step (an annihilation's noise moves both rails together, so
   it never changes the signed value);
3. **non-negativity** — for an annihilation pair whose rails went negative the common part is set
   to 0 and the signed value v = V⁺ − V⁻ is kept (V⁺ = max(v, 0), V⁻ = max(−v, 0)); any other
   negative count is set to 0. Each such projection is counted (``stats[2]``): it happens only
   where a species holds a few molecules, where the CLE is not a valid approximation anyway.

**Step size.** The drift's local error is estimated by the difference to the embedded
first-order solution ``x + h·k₁`` (RMS over species of ``error / (atol_counts + rtol·|x|)``,
``atol_counts = atol·Ω``), and h is adapted (standard controller, exponent ½) *before* the noise
is drawn: a rejected step recomputes only the drift with a smaller h, and the Brownian increment
is drawn once for the accepted h, so the step-size choice never conditions the noise. With the
default rtol 1e-3 the drift's error after 20 XOR training steps is 1.5e-4 RMS in the parameters
(1e-4: 2e-5; measured at Ω = 1e10, ``docs/stochastic.md``), below the noise up to Ω ≈ 1e6;
``rtol = 0`` gives fixed steps ≤ dt.

Propensities use max(x − repeat, 0) per factor (:func:`~._ssa_kernels.propensity`).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ._ssa_kernels import propensity

GAMMA = 1.0 + 1.0 / math.sqrt(2.0)


@numba.njit(cache=True, nogil=True)
def cle_work(net):
    """Work arrays of :func:`cle_step`: two ``(Rt,)`` propensity vectors and eight ``(S,)``."""
    Rt = max(net.c.shape[0], 1)
    S = net.hor.shape[1]
    return (np.zeros(Rt), np.zeros(Rt), np.zeros(S), np.zeros(S), np.zeros(S), np.zeros(S),
            np.zeros(S), np.zeros(S), np.zeros(S), np.zeros(S))


@numba.njit(cache=True, nogil=True)
def _drift(x, lo, hi, net, a, F):
    """a ← propensities(x), F ← S·a."""
    for i in range(F.shape[0]):
        F[i] = 0.0
    for f in range(lo, hi):
        v = propensity(f, x, net)
        a[f] = v
        if v > 0.0:
            for e in range(net.ch_ptr[f], net.ch_ptr[f + 1]):
                F[net.ch_species[e]] += net.ch_value[e] * v


@numba.njit(cache=True, nogil=True)
def _jacobian_blocks(x, phase, lo, hi, net, Jd, Jo):
    """Jd_i = ∂F_i/∂x_i, Jo_i = ∂F_i/∂x_partner(i) (0 without partner)."""
    S = x.shape[0]
    q = net.index.shape[1]
    part = net.partner[phase]
    for i in range(S):
        Jd[i] = 0.0
        Jo[i] = 0.0
    for f in range(lo, hi):
        for j in range(q):
            k = net.index[f, j]
            if k >= S:
                continue
            d = net.c[f]
            for jj in range(q):
                if jj != j:
                    i2 = net.index[f, jj]
                    if i2 < S:
                        v = x[i2] - net.repeat[f, jj]
                        d *= v if v > 0.0 else 0.0
            if d == 0.0:
                continue
            for e in range(net.ch_ptr[f], net.ch_ptr[f + 1]):
                s = net.ch_species[e]
                if s == k:
                    Jd[s] += net.ch_value[e] * d
                elif part[s] == k:
                    Jo[s] += net.ch_value[e] * d


@numba.njit(cache=True, nogil=True)
def _solve(phase, net, Jd, Jo, gh, rhs, out):
    """out ← (I − γh J)⁻¹ rhs for the block-diagonal J (positive diagonal entries dropped)."""
    part = net.partner[phase]
    S = rhs.shape[0]
    for i in range(S):
        j = part[i]
        di = 1.0 - gh * min(Jd[i], 0.0)
        if j < 0:
            out[i] = rhs[i] / di
        elif i < j:
            dj = 1.0 - gh * min(Jd[j], 0.0)
            bij = -gh * Jo[i]
            bji = -gh * Jo[j]
            det = di * dj - bij * bji
            if det > 0.25 * di * dj:
                out[i] = (dj * rhs[i] - bij * rhs[j]) / det
                out[j] = (di * rhs[j] - bji * rhs[i]) / det
            else:
                out[i] = rhs[i] / di
                out[j] = rhs[j] / dj


@numba.njit(cache=True, nogil=True)
def _project(x, phase, net):
    """Non-negativity (module docstring, step 3); returns the number of values changed."""
    part = net.partner[phase]
    n = 0
    for i in range(x.shape[0]):
        if x[i] >= 0.0:
            continue
        j = part[i]
        if j >= 0:
            v = x[i] - x[j]
            x[i] = v if v > 0.0 else 0.0
            x[j] = -v if v < 0.0 else 0.0
        else:
            x[i] = 0.0
        n += 1
    return n


@numba.njit(cache=True, nogil=True)
def _drift_step(x, h, phase, lo, hi, net, cw, rtol, atol):
    """ROS2 drift increment of a step h into ``cw[9]`` (x unchanged); propensities at x in
    ``cw[0]``. Returns the RMS error norm of the embedded first-order estimate (0 if rtol = 0).
    """
    a, a1, F, Jd, Jo, k1, k2, y1, rhs, inc = cw
    S = x.shape[0]
    gh = GAMMA * h
    _drift(x, lo, hi, net, a, F)
    _jacobian_blocks(x, phase, lo, hi, net, Jd, Jo)
    _solve(phase, net, Jd, Jo, gh, F, k1)
    for i in range(S):
        y1[i] = x[i] + h * k1[i]
    _drift(y1, lo, hi, net, a1, rhs)
    for i in range(S):
        rhs[i] -= 2.0 * k1[i]
    _solve(phase, net, Jd, Jo, gh, rhs, k2)
    err = 0.0
    for i in range(S):
        inc[i] = h * (1.5 * k1[i] + 0.5 * k2[i])
        if rtol > 0.0:
            e = 0.5 * h * (k1[i] + k2[i])
            w = atol + rtol * max(abs(x[i]), abs(x[i] + inc[i]))
            err += (e / w) ** 2
    return math.sqrt(err / S) if S > 0 else 0.0


@numba.njit(cache=True, nogil=True)
def _noise_and_project(x, h, phase, lo, hi, net, cw):
    """x += drift increment + Euler–Maruyama noise; non-negativity. Returns projections."""
    a, inc = cw[0], cw[9]
    for i in range(x.shape[0]):
        x[i] += inc[i]
    sq = math.sqrt(h)
    for f in range(lo, hi):
        if a[f] > 0.0:
            w = math.sqrt(a[f]) * sq * np.random.standard_normal()
            for e in range(net.ch_ptr[f], net.ch_ptr[f + 1]):
                x[net.ch_species[e]] += net.ch_value[e] * w
    return _project(x, phase, net)


@numba.njit(cache=True, nogil=True)
def cle_advance(x, t, t_end, phase, net, cw, dt, stats, rtol=1e-3, atol=1e-7):
    """CLE of ``phase`` from t to t_end on x (in place) with steps ≤ dt, adapted to ``rtol``
    (``atol`` in concentration units; rtol = 0: equal fixed steps). Returns the number of
    accepted steps; ``stats[1]`` += steps, ``stats[2]`` += projected values."""
    lo = net.phase_ptr[phase]
    hi = net.phase_ptr[phase + 1]
    if hi == lo or not t_end > t:
        return 0
    n = 0
    if rtol <= 0.0:
        m = max(1, int(math.ceil((t_end - t) / dt - 1e-9)))
        h = (t_end - t) / m
        for _ in range(m):
            _drift_step(x, h, phase, lo, hi, net, cw, 0.0, 1.0)
            stats[2] += _noise_and_project(x, h, phase, lo, hi, net, cw)
        stats[1] += m
        return m
    ac = atol * net.volume
    h = min(dt, 0.1 * (t_end - t))
    while t < t_end:
        last = t + h >= t_end * (1.0 - 1e-12)
        if last:
            h = t_end - t
        err = _drift_step(x, h, phase, lo, hi, net, cw, rtol, ac)
        if err > 1.0 and h > 1e-12 * (t_end if t_end > 0 else 1.0):
            h *= max(0.2, 0.9 / math.sqrt(err))
            continue
        stats[2] += _noise_and_project(x, h, phase, lo, hi, net, cw)
        n += 1
        t = t_end if last else t + h
        fac = 5.0 if err < 1e-10 else min(5.0, max(0.2, 0.9 / math.sqrt(err)))
        h = min(dt, h * fac)
    stats[1] += n
    return n
