"""A network cut into phases as flat integer/float arrays for the numba stochastic kernels.

A *phase* is a subset of the reactions (those with a non-zero rate constant in that phase). The
stochastic kernels (:mod:`._ssa_kernels`, :mod:`._tau_kernels`, :mod:`._cle_kernels`) run one
phase at a time on the phase's own reactions only, so an inactive reaction costs nothing.
Every array has a fixed dtype, so numba compiles each kernel once for every network.

Shapes: S species, P phases, Rt = total active reactions over all phases (a reaction active in
two phases appears twice), q reactant slots (≥ 1), N net-change entries, D dependency entries.

Propensity of flat reaction r on counts x (SPEC §8, no 1/ν!):
``a_r = c_r · Π_j (x[index[r, j]] − repeat[r, j])`` with ``c_r = k_r · Ω^(1 − order_r)``, i.e.
``k·Ω·Π n(n−1)…/Ω^ν``; slot ``j`` with ``index == S`` is padding (factor 1).

**Hub regions** (exact SSA only; partial propensities after Ramaswamy, González-Segredo and
Sbalzarini 2009, J. Chem. Phys. 130, 244104). Within a phase the flat reactions are laid out in
*regions*: first the plain region, then one region per *hub* — a species read (exactly once, as
a catalyst or a reactant) by at least :data:`HUB_MIN` reactions of the phase, e.g. the error
species that catalyse every weight update. A hub region stores its reactions' *partial*
propensities (``skip`` drops the hub's factor), and its weight is ``x[hub] · Σ partial``: when
the hub's count changes, one product changes instead of every reaction it catalyses. The
simulated process is the same; only the bookkeeping differs. The other kernels ignore regions
(they read ``propensity`` of every flat reaction of the phase, which never skips).
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

from ..errors import SimulationError
from ._arrays import MassActionArrays

__all__ = ["PhasedNetwork", "phased_network", "check_volume", "count_state",
           "MAX_EXACT_COUNT"]

MAX_EXACT_COUNT = 2.0 ** 53
"""Counts are held in float64; every integer below 2^53 is exact."""

HUB_MIN = 32
"""Fewest reactions of one phase that must read a species (once each) to give it a hub region."""

BLOCK = 16
"""Reactions per block of the exact SSA's two-level search (block sums, then one block)."""


class PhasedNetwork(NamedTuple):
    """Flat arrays of a phased network (see the module docstring). All arrays are contiguous.

    phase_ptr  ``(P+1,)`` int64: phase p owns flat reactions ``phase_ptr[p]:phase_ptr[p+1]``.
    reaction   ``(Rt,)`` int64: the network's reaction index of each flat reaction.
    c          ``(Rt,)`` float64: ``k · Ω^(1 − order)`` (propensity constant on counts).
    index      ``(Rt, q)`` int64 reactant species (S = padding); ``repeat`` ``(Rt, q)`` float64.
    order      ``(Rt,)`` int64 molecularity.
    ch_ptr     ``(Rt+1,)`` int64; ``ch_species`` ``(N,)`` int64; ``ch_value`` ``(N,)`` float64:
               net change of each flat reaction (rows of constant species dropped).
    dep_ptr    ``(Rt+1,)`` int64; ``dep`` ``(D,)`` int64: flat reactions *of the same phase*
               whose stored (partial) propensity changes when r fires (r itself included when
               it changes); a hub region's reaction is listed only when a species other than its
               hub changes.
    region_ptr ``(P+1,)`` int64: phase p owns regions ``region_ptr[p]:region_ptr[p+1]`` (the
               first is the plain region, possibly empty).
    region_lo  ``(NR+1,)`` int64: region g owns flat reactions ``region_lo[g]:region_lo[g+1]``.
    region_hub ``(NR,)`` int64: the hub species of region g (S for a plain region).
    region_block ``(NR+1,)`` int64: region g's block sums are ``bsum[region_block[g]:…[g+1]]``;
               its total is ``bsum[region_block[NR] + g]`` (work size ``region_block[NR] + NR``).
    region_of  ``(Rt,)`` int64 region of each flat reaction; ``block_of`` ``(Rt,)`` int64 the
               index of its block's sum in ``bsum``; ``skip`` ``(Rt,)`` int64 the
               reactant slot of its hub (−1: none — its stored propensity is the full one).
    hub_ptr    ``(Rt+1,)`` int64; ``hub_region`` ``(H,)`` int64, ``hub_delta`` ``(H,)`` float64:
               the hub regions whose hub flat reaction r changes, and by how many molecules.
    hor, hor_nu ``(P, S)`` int64: per phase, the highest order of a reaction consuming each
               species and its largest stoichiometry of that species there (Cao et al. 2006).
    reactant   ``(P, S)`` bool: species that are reactants of a reaction of the phase.
    partner    ``(P, S)`` int64: the other species of an annihilation pair ``A + B → …`` that
               consumes both (dual rails), −1 if none (used by the CLE's implicit pair blocks
               and tau-leaping's treatment of stiff pairs).
    pair_rx    ``(P, S)`` int64: the flat index of that annihilation reaction, −1 if none.
    volume     Ω (float): counts = concentration · Ω.
    """

    phase_ptr: np.ndarray
    reaction: np.ndarray
    c: np.ndarray
    index: np.ndarray
    repeat: np.ndarray
    order: np.ndarray
    ch_ptr: np.ndarray
    ch_species: np.ndarray
    ch_value: np.ndarray
    dep_ptr: np.ndarray
    dep: np.ndarray
    hor: np.ndarray
    hor_nu: np.ndarray
    reactant: np.ndarray
    partner: np.ndarray
    pair_rx: np.ndarray
    region_ptr: np.ndarray
    region_lo: np.ndarray
    region_hub: np.ndarray
    region_block: np.ndarray
    region_of: np.ndarray
    block_of: np.ndarray
    skip: np.ndarray
    hub_ptr: np.ndarray
    hub_region: np.ndarray
    hub_delta: np.ndarray
    volume: float

    @property
    def n_phases(self) -> int:
        return int(self.phase_ptr.shape[0] - 1)

    @property
    def n_species(self) -> int:
        return int(self.hor.shape[1])


def check_volume(volume) -> float:
    """Ω as a float; raises :class:`SimulationError` unless it is a finite number > 0."""
    if isinstance(volume, bool) or not isinstance(volume, numbers.Real) \
            or not np.isfinite(volume) or volume <= 0:
        raise SimulationError(f"volume Ω (molecules per unit concentration) must be a finite "
                              f"number > 0, got {volume!r}")
    return float(volume)


def count_state(concentrations, volume: float, species, what: str = "state") -> np.ndarray:
    """``(…, S)`` concentrations → float64 counts ``rint(c · Ω)`` (nearest integer, ties to even).

    Raises :class:`SimulationError` naming the species for a negative or non-finite value or a
    count that float64 cannot hold exactly (≥ 2^53 molecules: use a smaller Ω or the ODE).
    """
    c = np.asarray(concentrations, dtype=np.float64)
    n = np.rint(c * volume)
    bad = ~np.isfinite(n) | (n < 0) | (n >= MAX_EXACT_COUNT)
    if np.any(bad):
        i = np.argwhere(bad)[0]
        s = species[int(i[-1])] if species is not None else int(i[-1])
        v = c[tuple(i)]
        why = ("is negative" if v < 0 else "is not finite" if not np.isfinite(v) else
               f"gives {v * volume:.4g} molecules at Ω = {volume:g}, more than a stochastic "
               f"simulation can count exactly (2^53); use a smaller Ω or the ODE")
        raise SimulationError(f"{what}: amount of species {s!r} ({float(v)!r}) {why}")
    return n


def _hor(index, consumed, S):
    """Cao et al. (2006): per species, highest order of a reaction consuming it and the largest
    stoichiometry of that species among the reactions of that order."""
    hor = np.zeros(S, dtype=np.int64)
    nu = np.zeros(S, dtype=np.int64)
    for row, cons in zip(index, consumed):
        order = int(np.sum(row < S))
        for i in set(int(i) for i in row if i < S):
            if i not in cons:
                continue
            m = int(np.sum(row == i))
            if order > hor[i]:
                hor[i], nu[i] = order, m
            elif order == hor[i]:
                nu[i] = max(nu[i], m)
    return hor, nu


def phased_network(arrays: MassActionArrays, rate_constants, volume: float,
                   priority=None) -> PhasedNetwork:
    """Build a :class:`PhasedNetwork` from a network's arrays and per-phase rate constants.

    Parameters
    ----------
    arrays:
        :class:`MassActionArrays` (structure and species).
    rate_constants:
        ``(P, R)`` rate constants of each phase (0 = reaction inactive in that phase), or
        ``(R,)`` for one phase.
    volume:
        Ω > 0.
    priority:
        Optional ``(P, R)`` or ``(R,)`` expected firing frequency of each reaction: within a
        phase the flat reactions are ordered by decreasing priority, so the exact SSA's search
        finds the frequent ones first (speed only; the simulated process is the same).

    Raises
    ------
    SimulationError
        Non-integer stoichiometry, a bad Ω or rate constants of the wrong shape.
    """
    volume = check_volume(volume)
    K = np.asarray(rate_constants, dtype=np.float64)
    if K.ndim == 1:
        K = K[None]
    R, S = arrays.n_reactions, arrays.n_species
    if K.shape[1:] != (R,):
        raise SimulationError(f"expected rate constants of shape (phases, {R}), got {K.shape}")
    if not np.all(np.isfinite(K)) or np.any(K < 0):
        raise SimulationError("rate constants must be finite and ≥ 0")
    value = np.asarray(arrays.stoich_value)
    if np.any(value != np.round(value)):
        r = int(np.asarray(arrays.stoich_reaction)[np.nonzero(value != np.round(value))[0][0]])
        raise SimulationError(f"stochastic simulation needs integer stoichiometry; reaction {r} "
                              f"has {value[value != np.round(value)][0]!r}")
    index_all = np.asarray(arrays.reactant_index, dtype=np.int64)
    repeat_all = np.asarray(arrays.reactant_repeat, dtype=np.float64)
    order_all = np.sum(index_all < S, axis=1).astype(np.int64)
    # net change per reaction (CSR over network reactions)
    srt = np.argsort(arrays.stoich_reaction, kind="stable")
    st_r = np.asarray(arrays.stoich_reaction)[srt]
    st_s = np.asarray(arrays.stoich_species, dtype=np.int64)[srt]
    st_v = value[srt].astype(np.float64)
    rptr = np.searchsorted(st_r, np.arange(R + 1))
    changes = [(st_s[rptr[r]:rptr[r + 1]], st_v[rptr[r]:rptr[r + 1]]) for r in range(R)]
    consumed = [set(int(s) for s, v in zip(*changes[r]) if v < 0) for r in range(R)]

    phase_ptr, region_ptr, region_lo, region_hub = [0], [0], [], []
    flat = []
    hub_of: list[int] = []
    pri = None if priority is None else np.broadcast_to(
        np.asarray(priority, dtype=np.float64), K.shape)
    for p, k in enumerate(K):
        act = np.flatnonzero(k > 0)
        if pri is not None:
            act = act[np.argsort(-pri[p][act], kind="stable")]
        for hub, rs in _hub_regions(act, index_all, S):
            region_lo.append(len(flat))
            region_hub.append(hub)
            flat.extend((p, r) for r in rs)
            hub_of.extend([hub] * len(rs))
        region_ptr.append(len(region_hub))
        phase_ptr.append(len(flat))
    region_lo.append(len(flat))
    P = K.shape[0]
    reaction = np.array([r for _, r in flat], dtype=np.int64)
    Rt = reaction.size
    c = np.array([K[p, r] * volume ** (1.0 - order_all[r]) for p, r in flat], dtype=np.float64)
    q = index_all.shape[1]
    index = index_all[reaction] if Rt else np.full((0, q), S, dtype=np.int64)
    repeat = repeat_all[reaction] if Rt else np.zeros((0, q))
    order = order_all[reaction] if Rt else np.zeros(0, dtype=np.int64)
    ch_ptr = np.zeros(Rt + 1, dtype=np.int64)
    ch_s, ch_v = [], []
    for f, r in enumerate(reaction):
        ch_s.append(changes[r][0])
        ch_v.append(changes[r][1])
        ch_ptr[f + 1] = ch_ptr[f] + changes[r][0].size
    NR = len(region_hub)
    sizes = np.diff(region_lo)
    region_block = np.concatenate([[0], np.cumsum((sizes + BLOCK - 1) // BLOCK)]).astype(np.int64)
    region_of = np.repeat(np.arange(NR, dtype=np.int64), sizes)
    lo_of = np.asarray(region_lo, dtype=np.int64)[region_of]
    block_of = region_block[:-1][region_of] + (np.arange(Rt, dtype=np.int64) - lo_of) // BLOCK
    skip = np.array([int(np.flatnonzero(index[f] == h)[0]) if h < S else -1
                     for f, h in enumerate(hub_of)], dtype=np.int64)
    # dependency graph within each phase: species -> flat reactions reading it
    dep_ptr = np.zeros(Rt + 1, dtype=np.int64)
    dep: list[np.ndarray] = []
    hor = np.zeros((P, S), dtype=np.int64)
    hor_nu = np.zeros((P, S), dtype=np.int64)
    reactant = np.zeros((P, S), dtype=bool)
    partner = -np.ones((P, S), dtype=np.int64)
    pair_rx = -np.ones((P, S), dtype=np.int64)
    hub_ptr = np.zeros(Rt + 1, dtype=np.int64)
    hub_region: list[int] = []
    hub_delta: list[float] = []
    for p in range(P):
        lo, hi = phase_ptr[p], phase_ptr[p + 1]
        readers: dict[int, list[int]] = {}   # species -> flat reactions whose stored value reads it
        for f in range(lo, hi):
            for i in set(int(i) for i in index[f] if i < S):
                reactant[p, i] = True
                if i != hub_of[f]:
                    readers.setdefault(i, []).append(f)
        hubs = {region_hub[g]: g for g in range(region_ptr[p], region_ptr[p + 1])
                if region_hub[g] < S}
        for f in range(lo, hi):
            d = sorted({g for s in ch_s[f] for g in readers.get(int(s), ())})
            dep.append(np.asarray(d, dtype=np.int64))
            dep_ptr[f + 1] = dep_ptr[f] + len(d)
            for s_, v in zip(ch_s[f], ch_v[f]):
                if int(s_) in hubs:
                    hub_region.append(hubs[int(s_)])
                    hub_delta.append(float(v))
            hub_ptr[f + 1] = len(hub_region)
        hor[p], hor_nu[p] = _hor(index[lo:hi], [consumed[r] for r in reaction[lo:hi]], S)
        for f in range(lo, hi):
            r = reaction[f]
            a, b = int(index[f, 0]), int(index[f, 1]) if q > 1 else S
            if order[f] == 2 and a != b and a < S and b < S and {a, b} <= consumed[r] \
                    and partner[p, a] < 0 and partner[p, b] < 0:
                partner[p, a], partner[p, b] = b, a
                pair_rx[p, a] = pair_rx[p, b] = f
    cat = lambda parts, dt: (np.ascontiguousarray(np.concatenate(parts), dtype=dt)  # noqa: E731
                             if parts else np.zeros(0, dtype=dt))
    return PhasedNetwork(
        phase_ptr=np.asarray(phase_ptr, dtype=np.int64), reaction=reaction,
        c=np.ascontiguousarray(c), index=np.ascontiguousarray(index, dtype=np.int64),
        repeat=np.ascontiguousarray(repeat, dtype=np.float64),
        order=np.ascontiguousarray(order, dtype=np.int64), ch_ptr=ch_ptr,
        ch_species=cat(ch_s, np.int64), ch_value=cat(ch_v, np.float64), dep_ptr=dep_ptr,
        dep=cat(dep, np.int64), hor=hor, hor_nu=hor_nu, reactant=reactant, partner=partner,
        pair_rx=pair_rx, region_ptr=np.asarray(region_ptr, dtype=np.int64),
        region_lo=np.asarray(region_lo, dtype=np.int64),
        region_hub=np.asarray(region_hub, dtype=np.int64), region_block=region_block,
        region_of=region_of, block_of=block_of, skip=skip, hub_ptr=hub_ptr,
        hub_region=np.asarray(hub_region, dtype=np.int64),
        hub_delta=np.asarray(hub_delta, dtype=np.float64), volume=volume)


def _hub_regions(act, index_all, S: int) -> list[tuple[int, list[int]]]:
    """The regions of one phase: ``[(S, plain reactions), (hub, its reactions), …]`` from the
    phase's active reactions ``act`` (each region keeps their order). A species read exactly once
    by at least :data:`HUB_MIN` of them is a hub (largest first); a reaction joins the first
    hub it reads once."""
    once: dict[int, list[int]] = {}
    for r in act:
        idx = [int(i) for i in index_all[r] if i < S]
        for i in set(idx):
            if idx.count(i) == 1:
                once.setdefault(i, []).append(int(r))
    hubs = sorted((h for h, rs in once.items() if len(rs) >= HUB_MIN),
                  key=lambda h: (-len(once[h]), h))
    owner: dict[int, int] = {}
    for h in hubs:
        for r in once[h]:
            owner.setdefault(r, h)
    regions = [(S, [int(r) for r in act if int(r) not in owner])]
    regions += [(h, [int(r) for r in act if owner.get(int(r)) == h]) for h in hubs]
    return [(h, rs) for h, rs in regions if rs or h == S]
