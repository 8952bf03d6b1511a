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
* **hub regions** (partial propensities, Ramaswamy et al. 2009, J. Chem. Phys. 130, 244104; see
  :mod:`._phased`): the reactions that read a hub species (e.g. the error species catalysing every
  weight update) store their propensity without the hub's factor, and the region weighs
  ``x[hub] · Σ``; a change of the hub's count updates one product, not every reaction it
  catalyses. Selection walks the phase's regions, then the blocks of one region;
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

from ._phased import BLOCK

RESUM_EVERY = 4096


@numba.njit(cache=True, nogil=True, inline="always")
def _clamped_product(f, x, net, skip):
    """c_f · Π_{j ≠ skip} max(x_j − repeat_j, 0) over the reactant slots of flat reaction f
    (``skip`` −1: every slot). The loop in :func:`ssa_advance` writes this out on local arrays;
    keep the two in step."""
    v = net.c[f]
    S = x.shape[0]
    for j in range(net.index.shape[1]):
        i = net.index[f, j]
        if i < S and j != skip:
            d = x[i] - net.repeat[f, j]
            v *= d if d > 0.0 else 0.0
    return v


@numba.njit(cache=True, nogil=True, inline="always")
def propensity(f, x, net):
    """Propensity of flat reaction f on counts x: c·Π max(x_j − repeat_j, 0) (for integer counts
    exactly the falling factorials; the CLE's continuous counts use the same clamped factors)."""
    return _clamped_product(f, x, net, -1)


@numba.njit(cache=True, nogil=True, inline="always")
def partial_propensity(f, x, net):
    """The stored value of flat reaction f: its propensity without the factor of its region's hub
    (slot ``net.skip[f]``; the full propensity in a plain region)."""
    return _clamped_product(f, x, net, net.skip[f])


@numba.njit(cache=True, nogil=True, inline="always")
def fire(x, f, times, net):
    """Apply ``times`` firings of flat reaction f to x."""
    for e in range(net.ch_ptr[f], net.ch_ptr[f + 1]):
        x[net.ch_species[e]] += times * net.ch_value[e]


@numba.njit(cache=True, nogil=True, inline="always")
def _weight(g, x, net, bsum):
    """Total propensity of region g: its sum of stored values, times its hub's count."""
    w = bsum[net.region_block[-1] + g]
    h = net.region_hub[g]
    return w * x[h] if h < x.shape[0] else w


@numba.njit(cache=True, nogil=True)
def _resum(x, phase, net, a, bsum):
    """Re-sum every block and region of ``phase`` from the stored values; returns a0."""
    a0 = 0.0
    tot = net.region_block[-1]
    for g in range(net.region_ptr[phase], net.region_ptr[phase + 1]):
        lo, hi = net.region_lo[g], net.region_lo[g + 1]
        b0 = net.region_block[g]
        rs = 0.0
        for b in range(net.region_block[g + 1] - b0):
            s = 0.0
            for f in range(lo + b * BLOCK, min(lo + (b + 1) * BLOCK, hi)):
                s += a[f]
            bsum[b0 + b] = s
            rs += s
        bsum[tot + g] = rs
        a0 += _weight(g, x, net, bsum)
    return a0


@numba.njit(cache=True, nogil=True)
def _init(x, phase, net, a, bsum):
    for f in range(net.phase_ptr[phase], net.phase_ptr[phase + 1]):
        a[f] = partial_propensity(f, x, net)
    return _resum(x, phase, net, a, bsum)


_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xBF58476D1CE4E5B9)
_M3 = np.uint64(0x94D049BB133111EB)
_TO_UNIT = 1.0 / 9007199254740992.0   # 2^-53


@numba.njit(cache=True, nogil=True, inline="always")
def _splitmix(z):
    """SplitMix64 (Steele, Lea and Flood 2014): the next state and its output."""
    z = z + _M1
    w = (z ^ (z >> np.uint64(30))) * _M2
    w = (w ^ (w >> np.uint64(27))) * _M3
    return z, w ^ (w >> np.uint64(31))


@numba.njit(cache=True, nogil=True)
def _seed_stream():
    """A xoshiro256+ state seeded from numba's generator (so ``np.random.seed`` fixes it)."""
    z = np.uint64(np.random.randint(1, 2 ** 62))
    z, s0 = _splitmix(z)
    z, s1 = _splitmix(z)
    z, s2 = _splitmix(z)
    z, s3 = _splitmix(z)
    return s0, s1, s2, s3


@numba.njit(cache=True, nogil=True, inline="always")
def _uniform(s0, s1, s2, s3):
    """xoshiro256+ (Blackman and Vigna 2021, ACM TOMS 47, 36): a uniform double in [0, 1) from
    the top 53 bits, and the next state."""
    r = s0 + s3
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = (s3 << np.uint64(45)) | (s3 >> np.uint64(19))
    return (r >> np.uint64(11)) * _TO_UNIT, s0, s1, s2, s3


@numba.njit(cache=True, nogil=True)
def ssa_advance(x, t, t_end, phase, net, a, bsum, max_events):
    """Exact SSA of ``phase``'s reactions on counts x from time t to t_end (in place).

    ``a`` ``(Rt,)`` and ``bsum`` ``(region_block[NR] + NR + 1,)`` are work arrays (stored values;
    block and region sums). Random numbers: a xoshiro256+ stream seeded from numba's generator
    at each call (so ``np.random.seed`` makes a run reproducible). Returns the number of events,
    or −1 − events if ``max_events`` was reached first (x is then the state at that event). The
    state at t_end includes every event at or before t_end (the first event after t_end is
    discarded: memorylessness makes this exact).

    The loop is written out in one function on local arrays: a call with array arguments (or a
    read of a field of ``net``) inside it costs reference-count updates per event.
    """
    if net.phase_ptr[phase + 1] == net.phase_ptr[phase]:
        return 0
    c, index, repeat, skip = net.c, net.index, net.repeat, net.skip
    ch_ptr, ch_species, ch_value = net.ch_ptr, net.ch_species, net.ch_value
    dep_ptr, dep = net.dep_ptr, net.dep
    region_lo, region_hub, region_block, region_of = (net.region_lo, net.region_hub,
                                                      net.region_block, net.region_of)
    hub_ptr, hub_region, hub_delta = net.hub_ptr, net.hub_region, net.hub_delta
    block_of = net.block_of
    g0, g1 = net.region_ptr[phase], net.region_ptr[phase + 1]
    S = x.shape[0]
    q = index.shape[1]
    tot = region_block[region_block.shape[0] - 1]     # region sums start here in bsum
    a0 = _init(x, phase, net, a, bsum)
    r0, r1, r2, r3 = _seed_stream()
    events = 0
    since = 0
    while True:
        if not a0 > 0.0:
            a0 = _resum(x, phase, net, a, bsum)
            if not a0 > 0.0:
                break
        u, r0, r1, r2, r3 = _uniform(r0, r1, r2, r3)
        t += -math.log(1.0 - u) / a0
        if t > t_end:
            break
        if events >= max_events:
            return -1 - events
        f = -1
        for attempt in range(2):   # a second draw after an exact re-sum if rounding found none
            if attempt == 1:
                a0 = _resum(x, phase, net, a, bsum)
            u, r0, r1, r2, r3 = _uniform(r0, r1, r2, r3)
            u *= a0
            # the region whose weight interval holds u
            acc = 0.0
            last = -1
            for g in range(g0, g1):
                h = region_hub[g]
                w = bsum[tot + g] * x[h] if h < S else bsum[tot + g]
                if w > 0.0:
                    last = g
                    if u < acc + w:
                        break
                    acc += w
            if last < 0:
                continue
            v = u - acc                      # within the region, on its stored values
            h = region_hub[last]
            if h < S:
                v /= x[h]
            if not v < bsum[tot + last]:     # rounding past the last region
                v = bsum[tot + last]
            lo, hi, b0 = region_lo[last], region_lo[last + 1], region_block[last]
            nb = (hi - lo + BLOCK - 1) // BLOCK
            acc = 0.0
            b = 0
            while b < nb - 1 and acc + bsum[b0 + b] <= v:
                acc += bsum[b0 + b]
                b += 1
            f = lo + b * BLOCK
            end = min(f + BLOCK, hi)
            while f < end - 1 and acc + a[f] <= v:
                acc += a[f]
                f += 1
            if not a[f] > 0.0:               # rounding: the block's last firing reaction
                f = end - 1
                while f >= lo + b * BLOCK and not a[f] > 0.0:
                    f -= 1
                if f < lo + b * BLOCK:
                    f = -1
            if f >= 0:
                break
        if f < 0:
            break
        for e in range(ch_ptr[f], ch_ptr[f + 1]):          # fire f
            x[ch_species[e]] += ch_value[e]
        for e in range(hub_ptr[f], hub_ptr[f + 1]):        # hub regions: Δx_hub · Σ (before)
            a0 += hub_delta[e] * bsum[tot + hub_region[e]]
        for e in range(dep_ptr[f], dep_ptr[f + 1]):        # stored values reading a change
            g = dep[e]                 # partial_propensity(g, x, net), written out (see above)
            new = c[g]
            sk = skip[g]
            if q == 2:                 # at most bimolecular (every compiled circuit): unrolled
                i = index[g, 0]
                if i < S and sk != 0:
                    d = x[i] - repeat[g, 0]
                    new *= d if d > 0.0 else 0.0
                i = index[g, 1]
                if i < S and sk != 1:
                    d = x[i] - repeat[g, 1]
                    new *= d if d > 0.0 else 0.0
            else:
                for j in range(q):
                    i = index[g, j]
                    if i < S and j != sk:
                        d = x[i] - repeat[g, j]
                        new *= d if d > 0.0 else 0.0
            delta = new - a[g]
            if delta != 0.0:
                a[g] = new
                r = region_of[g]
                bsum[block_of[g]] += delta
                bsum[tot + r] += delta
                h = region_hub[r]
                a0 += delta * x[h] if h < S else delta
        events += 1
        since += 1
        if since >= RESUM_EVERY:
            a0 = _resum(x, phase, net, a, bsum)
            since = 0
    return events
