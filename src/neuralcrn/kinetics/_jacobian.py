"""The analytic Jacobian of mass action, whole or by dual-rail pair blocks, and its linear solves.

Rate law (see :mod:`neuralcrn.kinetics._rhs`): ``v_r = k_r · Π_s xpad[idx[r, s]]`` over the q
reactant slots of reaction r, ``dx/dt = N·v``. Hence

    ∂v_r/∂x_j = Σ_{slots s with idx[r, s] = j} k_r · Π_{s' ≠ s} xpad[idx[r, s']],
    J[i, j] = Σ_r N[i, r] · ∂v_r/∂x_j,

computed from the sparse stoichiometry triplets without forming ∂v/∂x.

**Pair blocks.** The stiff reactions of a Neural CRN act inside one dual-rail pair or on one
species: annihilation V⁺ + V⁻ → ∅ (eigenvalue ≈ −k·(V⁺ + V⁻)), 2Z → Z, fast first-order decays.
:func:`pair_partner` links two species when an active reaction consumes both (as V⁺ + V⁻ → ∅);
every other species is a 1×1 block. J_B, the entries of J inside the blocks (each row's diagonal
and partner entry), is what a W-method needs: ``(shift·I − J_B)⁻¹`` is closed form per 2×2 block,
O(S) per solve (:func:`pair_solver`).

**Exact solves by block substitution.** Write J = J_B + J_off. When the links J_off makes between
blocks form no cycle, ``shift·I − J`` is block triangular (after a permutation) and the sweeps
``u ← (shift·I − J_B)⁻¹ (r + J_off·u)`` starting from ``u = (shift·I − J_B)⁻¹ r`` give the exact
solution after as many sweeps as the longest chain of such links (:func:`block_depth`;
links from species that do not change in the phase carry u = 0 and are not counted). In every
phase of a compiled Neural CRN the chain is short (2 for the paper's XOR feedforward phase:
z → ŷ → ŷ_lag; 4 for its feedback phase), so a Rosenbrock method that needs the exact Jacobian
(Rodas5) costs a few sparse products per stage instead of an LU factorisation.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ._arrays import MassActionStructure

__all__ = ["reactant_partials", "pair_partner", "PairPlan", "pair_plan", "PairJacobian",
           "pair_jacobian", "outside_product", "pair_solver", "block_depth", "dense_jacobian",
           "substitution_depth"]


def reactant_partials(x, rate_constants, structure: MassActionStructure):
    """``(R, q)``: ∂v_r/∂(slot s) = k_r · Π_{s' ≠ s} xpad[idx[r, s']] (a species in two slots of
    one reaction, e.g. 2Z, gets both slots' terms)."""
    x = jnp.asarray(x)
    xpad = jnp.concatenate([x, jnp.ones((1,), x.dtype)])
    g = xpad[structure.reactant_index]
    k = jnp.asarray(rate_constants, x.dtype)[:, None]
    q = g.shape[1]
    if q == 1:
        return jnp.broadcast_to(k, g.shape)
    if q == 2:
        return k * g[:, ::-1]
    ones = jnp.ones_like(g[:, :1])
    before = jnp.cumprod(jnp.concatenate([ones, g[:, :-1]], axis=1), axis=1)
    after = jnp.cumprod(jnp.concatenate([ones, g[:, :0:-1]], axis=1), axis=1)[:, ::-1]
    return k * before * after


def pair_partner(structure: MassActionStructure, n_species: int):
    """``(S,)`` int32: the partner species of each species' pair block (itself for a 1×1 block).

    Two different species are partners when a reaction has exactly those two as reactants and
    consumes both (e.g. annihilation V⁺ + V⁻ → ∅). A species that such reactions link to several
    others keeps at most one partner, chosen so that the relation stays symmetric. From the
    structure alone (rate constants do not matter, so a phase that switches reactions off keeps
    its blocks). Pure JAX (works on traced arrays).
    """
    idx = jnp.asarray(structure.reactant_index)
    R, q = idx.shape
    S = n_species
    self_index = jnp.arange(S, dtype=jnp.int32)
    if q < 2 or R == 0:
        return self_index
    ss, sr = jnp.asarray(structure.stoich_species), jnp.asarray(structure.stoich_reaction)
    sv = jnp.asarray(structure.stoich_value)
    hit = idx[sr] == ss[:, None]
    net = jnp.zeros((R, q), sv.dtype).at[sr].add(jnp.where(hit, sv[:, None], 0.0))
    a, b = idx[:, 0], idx[:, 1]
    pair = (a != b) & (a < S) & (b < S) & (net[:, 0] < 0) & (net[:, 1] < 0)
    if q > 2:
        pair &= jnp.all(idx[:, 2:] == S, axis=1)
    partner = jnp.arange(S + 1, dtype=jnp.int32)
    partner = partner.at[jnp.where(pair, a, S)].set(jnp.where(pair, b, S).astype(jnp.int32))
    partner = partner.at[jnp.where(pair, b, S)].set(jnp.where(pair, a, S).astype(jnp.int32))
    partner = partner[:S]
    return jnp.where(partner[partner] == self_index, partner, self_index)


class PairPlan(NamedTuple):
    """Per-solve constants of the pair-block Jacobian (arrays; from :func:`pair_plan`).

    partner: ``(S,)`` from :func:`pair_partner`. rows: ``(N,)`` species of each stoichiometry
    triplet. columns: ``(N, q)`` the species in each reactant slot of the triplet's reaction
    (S for padding). weight_self, weight_partner, weight_off: ``(N, q)`` the triplet's
    stoichiometry entry where that slot holds the row's own species, its partner, or a species
    outside its block (else 0).
    """

    partner: jnp.ndarray
    rows: jnp.ndarray
    columns: jnp.ndarray
    weight_self: jnp.ndarray
    weight_partner: jnp.ndarray
    weight_off: jnp.ndarray


def pair_plan(structure: MassActionStructure, n_species: int) -> PairPlan:
    """The :class:`PairPlan` of a structure (computed once per solve; pure JAX)."""
    partner = pair_partner(structure, n_species)
    idx = jnp.asarray(structure.reactant_index)
    ss, sr = jnp.asarray(structure.stoich_species), jnp.asarray(structure.stoich_reaction)
    sv = jnp.asarray(structure.stoich_value)[:, None]
    slots = idx[sr]
    own = ss[:, None]
    mate = partner[ss][:, None]
    w_self = jnp.where(slots == own, sv, 0.0)
    w_mate = jnp.where((slots == mate) & (mate != own), sv, 0.0)
    w_off = jnp.where((slots != own) & (slots != mate) & (slots < n_species), sv, 0.0)
    return PairPlan(partner, ss, slots, w_self, w_mate, w_off)


class PairJacobian(NamedTuple):
    """J at one state: ``diag`` ``(S,)`` J[i, i]; ``off`` ``(S,)`` J[i, partner[i]] (0 for a 1×1
    block); ``lower`` ``(N, q)`` the entries outside the blocks, at row ``plan.rows[t]`` and
    column ``plan.columns[t, s]`` (``None`` unless asked for)."""

    diag: jnp.ndarray
    off: jnp.ndarray
    lower: jnp.ndarray | None


def pair_jacobian(x, rate_constants, structure: MassActionStructure, plan: PairPlan,
                  outside: bool = False) -> PairJacobian:
    """The Jacobian entries inside the pair blocks of one state ``x`` ``(S,)`` (with ``outside``,
    also those outside, for :func:`outside_product`)."""
    P = reactant_partials(x, rate_constants, structure)[jnp.asarray(structure.stoich_reaction)]
    both = jnp.stack([jnp.sum(plan.weight_self * P, axis=1),
                      jnp.sum(plan.weight_partner * P, axis=1)], axis=1)
    out = jax.ops.segment_sum(both, plan.rows, num_segments=x.shape[-1])
    return PairJacobian(out[:, 0], out[:, 1], plan.weight_off * P if outside else None)


def outside_product(lower, plan: PairPlan, u):
    """``J_off · u`` for one state: the entries outside the pair blocks times u ``(S,)``."""
    upad = jnp.concatenate([u, jnp.zeros((1,), u.dtype)])
    return jax.ops.segment_sum(jnp.sum(lower * upad[plan.columns], axis=1), plan.rows,
                               num_segments=u.shape[0])


def pair_solver(diag, off, partner, shift):
    """``r ↦ (shift·I − J_B)⁻¹ r`` for the pair blocks (arrays ``(..., S)``).

    Per 2×2 block [[d_i, o_i], [o_p, d_p]] of ``shift·I − J_B`` (d = shift − J_ii,
    o = −J[i, partner]): u_i = (d_p·r_i − o_i·r_p) / (d_i·d_p − o_i·o_p); for a 1×1 block o = 0
    and p = i, so the same formula gives r_i / d_i.
    """
    d = shift - diag
    o = -off
    dp, op = d[..., partner], o[..., partner]
    inv_det = 1.0 / (d * dp - o * op)
    ca, cb = dp * inv_det, -o * inv_det

    def solve(r):
        return ca * r + cb * r[..., partner]

    return solve


def block_depth(structure: MassActionStructure, rate_constants, plan: PairPlan,
                limit: int):
    """``()`` int32: the number of substitution sweeps that make the pair-block solve exact (the
    longest chain of blocks linked by active entries of J_off, counting only links from species
    that change), or ``limit + 1`` when it exceeds ``limit`` (always the case for a cycle).
    Pure JAX, O(N·q) per chain link; the numpy counterpart is :func:`substitution_depth`."""
    S = plan.partner.shape[0]
    k = jnp.asarray(rate_constants)
    sr = jnp.asarray(structure.stoich_reaction)
    active = (k[sr] > 0) & (jnp.asarray(structure.stoich_value) != 0)
    changing = jnp.zeros(S + 1, bool).at[jnp.where(active, plan.rows, S)].set(True)
    changing = changing.at[S].set(False)
    edge = active[:, None] & (plan.weight_off != 0) & changing[plan.columns]
    src = jnp.minimum(plan.columns, S - 1)
    dst = jnp.broadcast_to(plan.rows[:, None], src.shape)

    def relax(level):
        cand = jnp.where(edge, level[src] + 1, 0)
        new = jnp.zeros(S, jnp.int32).at[dst].max(cand)
        new = jnp.maximum(new, level)
        return jnp.maximum(new, new[plan.partner])

    def cond(c):
        level, prev, it = c
        return jnp.any(level != prev) & (it <= limit + 1)

    def body(c):
        level, _, it = c
        return relax(level), level, it + 1

    level0 = jnp.zeros(S, jnp.int32)
    level, _, _ = jax.lax.while_loop(cond, body, (relax(level0), level0, jnp.int32(1)))
    depth = jnp.max(level, initial=0)
    return jnp.minimum(depth, limit + 1).astype(jnp.int32)


def dense_jacobian(x, rate_constants, structure: MassActionStructure):
    """``(S, S)``: the full analytic Jacobian of one state ``x`` ``(S,)``."""
    S = x.shape[-1]
    idx = jnp.asarray(structure.reactant_index)
    sr = jnp.asarray(structure.stoich_reaction)
    P = reactant_partials(x, rate_constants, structure)[sr]
    vals = jnp.asarray(structure.stoich_value)[:, None] * P
    rows = jnp.broadcast_to(jnp.asarray(structure.stoich_species)[:, None], vals.shape)
    J = jnp.zeros((S, S + 1), x.dtype).at[rows, idx[sr]].add(vals)
    return J[:, :S]


# ------------------------------------------------------------------ structure analysis (numpy)
def pair_partner_numpy(structure: MassActionStructure, n_species: int) -> np.ndarray:
    """numpy counterpart of :func:`pair_partner` (same rule, same tie-break)."""
    idx = np.asarray(structure.reactant_index)
    S = n_species
    partner = np.arange(S + 1)
    R, q = idx.shape
    if q < 2 or R == 0:
        return partner[:S].astype(np.int32)
    ss, sr = np.asarray(structure.stoich_species), np.asarray(structure.stoich_reaction)
    sv = np.asarray(structure.stoich_value)
    net = np.zeros((R, q))
    for t in range(ss.size):
        net[sr[t]] += np.where(idx[sr[t]] == ss[t], sv[t], 0.0)
    a, b = idx[:, 0], idx[:, 1]
    pair = (a != b) & (a < S) & (b < S) & (net[:, 0] < 0) & (net[:, 1] < 0)
    if q > 2:
        pair &= np.all(idx[:, 2:] == S, axis=1)
    partner[a[pair]] = b[pair]
    partner[b[pair]] = a[pair]
    partner = partner[:S]
    self_index = np.arange(S)
    return np.where(partner[partner] == self_index, partner, self_index).astype(np.int32)


def substitution_depth(structure: MassActionStructure, n_species: int,
                       rate_constants=None) -> int | None:
    """numpy counterpart of :func:`block_depth`: the number of substitution sweeps that make the
    pair-block solve exact, or ``None`` when the links outside the blocks form a cycle (then only
    a W-method or a dense solve applies). ``rate_constants`` ``None`` counts every reaction
    (the structural bound: switching reactions off never lengthens a chain). For choosing a
    method before compiling."""
    idx = np.asarray(structure.reactant_index)
    k = (np.ones(idx.shape[0]) if rate_constants is None else np.asarray(rate_constants))
    ss, sr = np.asarray(structure.stoich_species), np.asarray(structure.stoich_reaction)
    sv = np.asarray(structure.stoich_value)
    partner = pair_partner_numpy(structure, n_species)
    block = np.minimum(np.arange(n_species), partner)
    active = (k[sr] > 0) & (sv != 0)
    changing = np.zeros(n_species + 1, bool)
    changing[ss[active]] = True
    rows = np.repeat(ss[active], idx.shape[1])
    cols = idx[sr[active]].reshape(-1)
    keep = changing[cols]
    rows, cols = block[rows[keep]], block[cols[keep]]
    edges = {(int(c), int(r)) for c, r in zip(cols, rows) if c != r}
    succ: dict[int, list[int]] = {}
    indeg = {int(b): 0 for b in np.unique(block)}
    for c, r in edges:
        succ.setdefault(c, []).append(r)
        indeg[r] += 1
    depth = dict.fromkeys(indeg, 0)
    ready = [b for b, d in indeg.items() if d == 0]
    seen = 0
    while ready:
        b = ready.pop()
        seen += 1
        for r in succ.get(b, ()):
            depth[r] = max(depth[r], depth[b] + 1)
            indeg[r] -= 1
            if indeg[r] == 0:
                ready.append(r)
    if seen < len(indeg):
        return None
    return max(depth.values(), default=0)
