"""numba kernels of the exact stochastic simulation algorithm (molecule counts; no Python objects).

Every kernel takes the network as a :class:`~neuralcrn.kinetics._phased.PhasedNetwork` (a named
tuple of arrays with fixed dtypes), so numba compiles each kernel once (``cache=True`` keeps the
machine code on disk for later processes), not once per network. Counts are float64 holding
integers (exact below 2^53).

Exact SSA (Gillespie 1977, J. Phys. Chem. 81, 2340), direct method with

* a **dependency graph** (Gibson & Bruck 2000, J. Phys. Chem. A 104, 1876): after reaction r
  fires, only the propensities that read a species r changed are recomputed;
* a **two-level search** (blocks of :data:`BLOCK` reactions with running block sums): selecting the
  next reaction scans the block sums, then one block — O(R/B + B) instead of O(R);
* incremental sums re-summed exactly every :data:`RESUM_EVERY` events (and whenever the total
  reaches 0), so rounding never accumulates.

Propensity (SPEC §8, no 1/ν!): ``a_r = c_r · Π_j (x_j − repeat_j)``, ``c_r = k_r Ω^(1−order)``.
A constant species keeps its count, so ``2K → …`` with K constant fires at ``c·K(K−1)`` (the
falling factorial of the held count, like every other species).
"""

from __future__ import annotations

import math

import numba
import numpy as np

BLOCK = 16
RESUM_EVERY = 4096


@numba.njit(cache=True, nogil=True, inline="always")
def propensity(f, x, net):
    """Propensity of flat reaction f on counts x: c·Π max(x_j − repeat_j, 0) (for integer counts
    exactly the falling factorials; the CLE's continuous counts use the same clamped factors)."""
    v = net.c[f]
    S = x.shape[0]
    for j in range(net.index.shape[1]):
        i = net.index[f, j]
        if i < S:
            d = x[i] - net.repeat[f, j]
            v *= d if d > 0.0 else 0.0
    return v


@numba.njit(cache=True, nogil=True, inline="always")
def fire(x, f, times, net):
    """Apply ``times`` firings of flat reaction f to x."""
    for e in range(net.ch_ptr[f], net.ch_ptr[f + 1]):
        x[net.ch_species[e]] += times * net.ch_value[e]


@numba.njit(cache=True, nogil=True)
def _resum(x, lo, hi, net, a, bsum):
    a0 = 0.0
    nb = (hi - lo + BLOCK - 1) // BLOCK
    for b in range(nb):
        s = 0.0
        for f in range(lo + b * BLOCK, min(lo + (b + 1) * BLOCK, hi)):
            s += a[f]
        bsum[b] = s
        a0 += s
    return a0


@numba.njit(cache=True, nogil=True)
def _init(x, lo, hi, net, a, bsum):
    for f in range(lo, hi):
        a[f] = propensity(f, x, net)
    return _resum(x, lo, hi, net, a, bsum)


@numba.njit(cache=True, nogil=True, inline="always")
def _select(u, lo, hi, a, bsum):
    """Flat reaction whose cumulative propensity interval holds u (−1 if rounding left none)."""
    nb = (hi - lo + BLOCK - 1) // BLOCK
    acc = 0.0
    b = 0
    while b < nb - 1 and acc + bsum[b] <= u:
        acc += bsum[b]
        b += 1
    f = lo + b * BLOCK
    end = min(f + BLOCK, hi)
    while f < end - 1 and acc + a[f] <= u:
        acc += a[f]
        f += 1
    if a[f] > 0.0:
        return f
    for g in range(end - 1, lo + b * BLOCK - 1, -1):  # rounding: a firing reaction of the block
        if a[g] > 0.0:
            return g
    return -1


@numba.njit(cache=True, nogil=True)
def ssa_advance(x, t, t_end, phase, net, a, bsum, max_events):
    """Exact SSA of ``phase``'s reactions on counts x from time t to t_end (in place).

    ``a`` ``(Rt,)`` and ``bsum`` ``(ceil(Rt/BLOCK),)`` are work arrays. Returns the number of
    events, or −1 − events if ``max_events`` was reached first (x is then the state at that
    event). The state at t_end includes every event at or before t_end (the first event after
    t_end is discarded: memorylessness makes this exact).
    """
    lo = net.phase_ptr[phase]
    hi = net.phase_ptr[phase + 1]
    if hi == lo:
        return 0
    bs = bsum  # block b of the phase holds flat reactions lo + b·BLOCK … (one phase at a time)
    a0 = _init(x, lo, hi, net, a, bs)
    events = 0
    since = 0
    while True:
        if not a0 > 0.0:
            a0 = _resum(x, lo, hi, net, a, bs)
            if not a0 > 0.0:
                break
        t += -math.log(1.0 - np.random.random()) / a0
        if t > t_end:
            break
        if events >= max_events:
            return -1 - events
        f = _select(np.random.random() * a0, lo, hi, a, bs)
        if f < 0:
            a0 = _resum(x, lo, hi, net, a, bs)
            f = _select(np.random.random() * a0, lo, hi, a, bs)
            if f < 0:
                break
        fire(x, f, 1.0, net)
        for e in range(net.dep_ptr[f], net.dep_ptr[f + 1]):
            g = net.dep[e]
            new = propensity(g, x, net)
            delta = new - a[g]
            if delta != 0.0:
                a[g] = new
                bs[(g - lo) // BLOCK] += delta
                a0 += delta
        events += 1
        since += 1
        if since >= RESUM_EVERY:
            a0 = _resum(x, lo, hi, net, a, bs)
            since = 0
    return events
