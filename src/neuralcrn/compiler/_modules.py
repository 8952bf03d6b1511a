"""Compile a Neural ODE specification into the reaction modules of a Neural CRN (SPEC §2–§4).

Modules (in the order of one training step; see ``docs/compiler.md``)
--------------------------------------------------------------------
=================  ======================================================  ====================
module             reactions (s, t, r ∈ {+, −}; "σ" = sign of a constant u)  runs for
=================  ======================================================  ====================
``feedforward``    drive    Θ_ij^s + U_j^t → Θ_ij^s + U_j^t + Z_i^{σ·s·t}  (1)   T
                   bias     H_i^s → H_i^s + Z_i^s                        (1)
                   decay    2Z_i^s → Z_i^s (quadratic) / 3Z_i^s → 2Z_i^s (α)
                   annihil. Z_i^+ + Z_i^- → ∅                        (k_ann)
``readout_error``  readout  W_ki^s + Z_i^t → W_ki^s + Z_i^t + O_k^{st} + E_k^{st}  (1/τ_r)
                   target   Y_k^s → E_k^{−s}                          (k_r)   τ_r = 30/k_r
                   annihil. O, E                                      (k_ann)
``adjoint_init``   a(0)     W_ki^s + E_k^t → W_ki^s + E_k^t + A_i^{st}     (1/τ_a)
                   ∂L/∂W    E_k^s + Z_i^t → E_k^s + Z_i^t + GW_ki^{st}     (1/τ_a)  τ_a = 30/k_r
                   annihil. A, GW                                     (k_ann)
``feedback``       exact: z reconstruction (drive and bias into Z^{−·}, growth 2Z → 3Z /
                   3Z → 4Z at α), adjoint A_i^r + Z_i^s → Z_i^s (2α) / A_i^r + 2Z_i^s → 2Z_i^s
                   (3α), accumulation A_i^r + U_j^t → … + GΘ_ij^{σ·r·t} (1),
                   A_i^r → A_i^r + Gh_i^r (1), annihilation of Z, A, GΘ, Gh.
                   first-order: only the accumulation and the annihilation of GΘ, Gh.        T
``update``         G^s → P^{−s} (η·k_u), G^s → ∅ ((1−η)·k_u), P^+ + P^- → ∅ (k_ann)   τ_u = 30/k_u
=================  ======================================================  ====================

Every rate constant is chosen so that the mass-action ODE (rate k·Π[X]^ν, no 1/ν!, see
:mod:`neuralcrn.chemistry.network`) is exactly the stated term; fixed-window products (rate 1/τ for
a time τ with constant operands) give exactly the product. The fast modules run
``FAST_TIME_CONSTANTS = 30`` time constants, leaving a residual e^{−30} ≈ 9.4e-14 of what they
drain.

The whole circuit is one :class:`~neuralcrn.chemistry.ReactionNetwork` (``NeuralCRN.network``) over
one species order: the modules' reactions concatenated (a reaction used by two modules, e.g. the
annihilation of Z, appears once per module). A phase runs that network with the rate constants of
the inactive modules set to 0, so every phase has the same shape.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..chemistry.dualrail import (DualRail, annihilation, catalytic_copy, catalytic_product,
                                  transfer)
from ..chemistry.network import Reaction, ReactionNetwork
from ..errors import SpecError
from ..ideal.spec import ModelSpec, Params
from ._species import SpeciesMap, build_species_map

__all__ = ["NeuralCRN", "compile_circuit", "MODULE_NAMES", "FAST_TIME_CONSTANTS",
           "feedforward_module", "readout_error_module", "adjoint_init_module", "feedback_module",
           "update_module"]

MODULE_NAMES = ("feedforward", "readout_error", "adjoint_init", "feedback", "update")
"""Module names in the order of one training step."""

FAST_TIME_CONSTANTS = 30.0
"""Fast modules run for this many time constants 1/k (residual e^{−30} ≈ 9.4e-14 < 1e-12)."""


# ------------------------------------------------------------------ reaction helpers
def _annihilate(rails: Iterable[DualRail | None], k_ann: float) -> list[Reaction]:
    return [annihilation(r, k_ann) for r in rails if r is not None]


def _support(smap: SpeciesMap):
    """``(i, j)`` of every compiled Θ entry."""
    return [(i, j) for i, row in enumerate(smap.theta) for j, r in enumerate(row) if r is not None]


def _network(reactions: list[Reaction], smap: SpeciesMap, name: str) -> ReactionNetwork:
    used = {s for r in reactions for s in r.species}
    return ReactionNetwork(reactions, [s for s in smap.species if s in used], name=name)


def _durations(spec: ModelSpec) -> dict[str, float]:
    r = spec.rates
    return {"feedforward": float(spec.T),
            "readout_error": FAST_TIME_CONSTANTS / r.readout,
            "adjoint_init": FAST_TIME_CONSTANTS / r.readout,
            "feedback": float(spec.T),
            "update": FAST_TIME_CONSTANTS / r.update}


# ------------------------------------------------------------------ module builders
def feedforward_module(spec: ModelSpec, smap: SpeciesMap) -> ReactionNetwork:
    """Forward dynamics dz/dt = Θu + h − φ(z) (SPEC §2, §3), run for time T.

    Per rail: d[Z_i^±]/dt = Σ_j (Θu)_ij-terms of that sign + [H_i^±] − α[Z_i^±]^p − k_ann[Z_i^+][Z_i^-]
    (p = 2 quadratic, 3 cubic, no decay for the linear model), so d z_i/dt = (Θu + h)_i −
    α([Z^+]^p − [Z^-]^p), which is α z|z| (α z³) when one rail is ≈ 0 (fast annihilation).
    """
    rx: list[Reaction] = []
    for i, j in _support(smap):
        rx += catalytic_product(smap.theta[i][j], smap.u[j], [(smap.z[i], smap.u_sign[j])], 1.0)
    for i in range(smap.n):
        rx += catalytic_copy(smap.h[i], [(smap.z[i], 1)], 1.0)
    a = float(spec.alpha)
    for zi in smap.z:
        for s in zi.species:
            if spec.nonlinearity == "quadratic":
                rx.append(Reaction({s: 2}, {s: 1}, a))
            elif spec.nonlinearity == "cubic":
                rx.append(Reaction({s: 3}, {s: 2}, a))
    rx += _annihilate(smap.z, spec.rates.annihilation)
    return _network(rx, smap, "feedforward")


def readout_error_module(spec: ModelSpec, smap: SpeciesMap, window: float) -> ReactionNetwork:
    """ŷ = W z and e = ŷ − y with z frozen (SPEC §3), run for the window τ_r.

    Fixed-window product at rate 1/τ_r for τ_r: d(ŷ_k)/dt = d(e_k)/dt = (W z)_k / τ_r (constant), so
    after τ_r both gained exactly (W z)_k; the target drains into the opposite error rail,
    Y^s → E^{−s} at k_r, leaving e^{−k_r τ_r}·y. ŷ stays readable in O (the SPEC's O^s → E^s transfer
    is merged into the readout reaction, which produces O and E together).
    """
    k_w = 1.0 / window
    rx: list[Reaction] = []
    for k in range(smap.m):
        for i in range(smap.n):
            rx += catalytic_product(smap.W[k][i], smap.z[i], [(smap.yhat[k], 1), (smap.e[k], 1)], k_w)
    for k in range(smap.m):
        rx += transfer(smap.y[k], [(smap.e[k], -1)], spec.rates.readout)
    rx += _annihilate(smap.yhat, spec.rates.annihilation)
    rx += _annihilate(smap.e, spec.rates.annihilation)
    return _network(rx, smap, "readout_error")


def adjoint_init_module(spec: ModelSpec, smap: SpeciesMap, window: float) -> ReactionNetwork:
    """a(0) = Wᵀe and ∂L/∂W = e z(T)ᵀ by fixed-window products (rate 1/τ_a for τ_a; SPEC §2, §3)."""
    k_w = 1.0 / window
    rx: list[Reaction] = []
    for k in range(smap.m):
        for i in range(smap.n):
            rx += catalytic_product(smap.W[k][i], smap.e[k], [(smap.adj[i], 1)], k_w)
    if smap.g_W is not None:
        for k in range(smap.m):
            for i in range(smap.n):
                rx += catalytic_product(smap.e[k], smap.z[i], [(smap.g_W[k][i], 1)], k_w)
    rx += _annihilate(smap.adj, spec.rates.annihilation)
    if smap.g_W is not None:
        rx += _annihilate([r for row in smap.g_W for r in row], spec.rates.annihilation)
    return _network(rx, smap, "adjoint_init")


def feedback_module(spec: ModelSpec, smap: SpeciesMap) -> ReactionNetwork:
    """Backward phase in reverse time s = T − t, run for time T (SPEC §2, §3).

    exact:  dz/ds = −(Θu + h) + φ(z)   (drive/bias into the opposite rail; 2Z → 3Z or 3Z → 4Z at α)
            da/ds = −φ'(z) ⊙ a          (A^r + Z^s → Z^s at 2α: −2α([Z^+] + [Z^-])[A^r];
                                         cubic A^r + 2Z^s → 2Z^s at 3α: −3α([Z^+]² + [Z^-]²)[A^r])
    both:   dG_Θ/ds = a uᵀ, dG_h/ds = a (catalytic, rate 1)
    first-order: a frozen at Wᵀe, no z reconstruction, no φ reactions: G_Θ = T a uᵀ, G_h = T a.
    """
    k_ann = spec.rates.annihilation
    a = float(spec.alpha)
    exact = spec.gradient == "exact"
    rx: list[Reaction] = []
    if exact:
        for i, j in _support(smap):
            rx += catalytic_product(smap.theta[i][j], smap.u[j], [(smap.z[i], -smap.u_sign[j])], 1.0)
        for i in range(smap.n):
            rx += catalytic_copy(smap.h[i], [(smap.z[i], -1)], 1.0)
        for zi in smap.z:
            for s in zi.species:
                if spec.nonlinearity == "quadratic":
                    rx.append(Reaction({s: 2}, {s: 3}, a))
                elif spec.nonlinearity == "cubic":
                    rx.append(Reaction({s: 3}, {s: 4}, a))
        rx += _annihilate(smap.z, k_ann)
        for ai, zi in zip(smap.adj, smap.z):
            for ar in ai.species:
                for zs in zi.species:
                    if spec.nonlinearity == "quadratic":
                        rx.append(Reaction([ar, zs], [zs], 2.0 * a))
                    elif spec.nonlinearity == "cubic":
                        rx.append(Reaction({ar: 1, zs: 2}, {zs: 2}, 3.0 * a))
    for i, j in _support(smap):
        rx += catalytic_product(smap.adj[i], smap.u[j], [(smap.g_theta[i][j], smap.u_sign[j])], 1.0)
    if smap.g_h is not None:
        for i in range(smap.n):
            rx += catalytic_copy(smap.adj[i], [(smap.g_h[i], 1)], 1.0)
    if exact:
        rx += _annihilate(smap.adj, k_ann)
    rx += _annihilate([r for row in smap.g_theta for r in row], k_ann)
    if smap.g_h is not None:
        rx += _annihilate(smap.g_h, k_ann)
    return _network(rx, smap, "feedback")


def _trained_pairs(smap: SpeciesMap) -> list[tuple[DualRail, DualRail]]:
    """``(gradient, parameter)`` rail pairs of every trained parameter."""
    pairs = [(smap.g_theta[i][j], smap.theta[i][j]) for i, j in _support(smap)]
    if smap.g_h is not None:
        pairs += list(zip(smap.g_h, smap.h))
    if smap.g_W is not None:
        pairs += [(smap.g_W[k][i], smap.W[k][i]) for k in range(smap.m) for i in range(smap.n)]
    return pairs


def update_module(spec: ModelSpec, smap: SpeciesMap) -> ReactionNetwork:
    """SGD update θ ← θ − η·G by reactions (SPEC §3), run for τ_u = 30/k_u.

    ``G^s → P^{−s}`` at η·k_u and ``G^s → ∅`` at (1−η)·k_u drain G at total rate k_u, a fraction η
    into the opposite parameter rail: Δθ = −η·G·(1 − e^{−k_u τ_u}). Parameter rails are re-balanced
    by ``P^+ + P^- → ∅`` at k_ann. The ``G → ∅`` reactions are omitted when η = 1.
    """
    eta = float(spec.learning_rate)
    k_u = spec.rates.update
    rx: list[Reaction] = []
    pairs = _trained_pairs(smap)
    for g, p in pairs:
        rx += transfer(g, [(p, -1)], eta * k_u)
        if eta < 1.0:
            rx += transfer(g, [], (1.0 - eta) * k_u)
    rx += _annihilate([p for _, p in pairs], spec.rates.annihilation)
    return _network(rx, smap, "update")


# ------------------------------------------------------------------ the compiled circuit
@dataclass(frozen=True)
class NeuralCRN:
    """A compiled Neural CRN: named reaction modules over one common species order.

    Attributes
    ----------
    spec:         the :class:`~neuralcrn.ideal.spec.ModelSpec`.
    species_map:  the :class:`~neuralcrn.compiler.SpeciesMap` (which species hold x, z, Θ, …).
    modules:      ``((name, ReactionNetwork), ...)`` in the order of :data:`MODULE_NAMES`; each module
                  lists only the species it uses.
    network:      the whole circuit: every module's reactions concatenated, species in
                  ``species_map.species`` order, parameter rails and constant drive species as
                  initial concentrations.
    ranges:       ``((name, (start, stop)), ...)``: module ``name`` is ``network.reactions[start:stop]``.
    durations:    ``((name, duration), ...)``: phase length of each module (time units).
    """

    spec: ModelSpec
    species_map: SpeciesMap
    modules: tuple[tuple[str, ReactionNetwork], ...]
    network: ReactionNetwork
    ranges: tuple[tuple[str, tuple[int, int]], ...]
    durations: tuple[tuple[str, float], ...]

    # ------------------------------------------------------------ access
    @property
    def module_names(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.modules)

    def _lookup(self, table, name):
        for n, v in table:
            if n == name:
                return v
        raise SpecError(f"unknown module {name!r}; modules are {', '.join(self.module_names)}")

    def module(self, name: str) -> ReactionNetwork:
        """The module network ``name`` (raises :class:`SpecError` for an unknown name)."""
        return self._lookup(self.modules, name)

    def reaction_range(self, name: str) -> tuple[int, int]:
        """``(start, stop)`` of module ``name`` in ``network.reactions``."""
        return self._lookup(self.ranges, name)

    def duration(self, name: str) -> float:
        """Phase length of module ``name`` (time units)."""
        return self._lookup(self.durations, name)

    def mask(self, *names: str) -> np.ndarray:
        """Boolean ``(R,)`` mask of the reactions of the given modules in ``network``."""
        m = np.zeros(self.network.n_reactions, dtype=bool)
        for name in names:
            a, b = self.reaction_range(name)
            m[a:b] = True
        return m

    def phase_rate_constants(self, *names: str) -> np.ndarray:
        """Rate constants ``(R,)`` of ``network`` with every reaction outside ``names`` set to 0."""
        return np.where(self.mask(*names), self.network.rate_constants, 0.0)

    @property
    def species(self) -> tuple[str, ...]:
        """Species order of every state vector (``network.species``)."""
        return self.network.species

    @property
    def params(self) -> Params:
        """Parameter values held in ``network.initial`` (numpy arrays)."""
        return self.species_map.read_params(np.asarray(self.network.initial), self.network.species)

    def with_params(self, params: Params) -> "NeuralCRN":
        """Same circuit with new parameter concentrations (shapes as in :class:`Params`)."""
        init = dict(self.network.initial_concentrations)
        for s in self.species_map.parameter_species:
            init[s] = 0.0
        init.update(self.species_map.load_params(params))
        return NeuralCRN(self.spec, self.species_map, self.modules,
                         self.network.with_initial(init, replace=True), self.ranges,
                         self.durations)

    @property
    def max_molecularity(self) -> int:
        return self.network.max_molecularity

    @property
    def trimolecular(self) -> bool:
        """True if some reaction has three reactant molecules (cubic models)."""
        return self.max_molecularity >= 3

    def summary(self) -> list[dict]:
        """One row per module plus a ``"total"`` row: ``module``, ``species``, ``reactions``,
        ``max_molecularity``, ``duration`` and ``trimolecular`` (max molecularity ≥ 3)."""
        rows = []
        for name, net in self.modules:
            rows.append({"module": name, "species": net.n_species, "reactions": net.n_reactions,
                         "max_molecularity": net.max_molecularity,
                         "duration": self.duration(name),
                         "trimolecular": net.max_molecularity >= 3})
        rows.append({"module": "total", "species": self.network.n_species,
                     "reactions": self.network.n_reactions,
                     "max_molecularity": self.network.max_molecularity,
                     "duration": sum(d for _, d in self.durations),
                     "trimolecular": self.trimolecular})
        return rows

    def summary_table(self) -> str:
        """The :meth:`summary` as an aligned text table."""
        lines = [f"{'module':<14} {'species':>8} {'reactions':>10} {'max molec.':>10} "
                 f"{'duration':>10}"]
        for r in self.summary():
            flag = "  (trimolecular)" if r["trimolecular"] else ""
            lines.append(f"{r['module']:<14} {r['species']:>8d} {r['reactions']:>10d} "
                         f"{r['max_molecularity']:>10d} {r['duration']:>10.4g}{flag}")
        return "\n".join(lines)

    def __str__(self) -> str:
        parts = [f"# Neural CRN: {self.spec.nonlinearity} model, {self.spec.gradient} gradient"]
        for name, net in self.modules:
            parts.append(f"# ---- module {name} (duration {self.duration(name):.6g})")
            parts.append(str(net))
        return "\n".join(parts)


def _initial_params(spec: ModelSpec, params) -> Params:
    if params is None:
        return Params(np.zeros(spec.theta_shape), np.zeros(spec.n),
                      np.zeros((spec.outputs, spec.n)))
    if isinstance(params, dict):
        params = Params(params["theta"], params["h"], params["W"])
    elif not isinstance(params, Params):
        params = Params(*params)
    return Params(*(np.asarray(v, dtype=float) for v in params))


def compile_circuit(spec: ModelSpec, params: Params | None = None) -> NeuralCRN:
    """Compile a model specification and parameter values into a :class:`NeuralCRN` (SPEC §3).

    Parameters
    ----------
    spec:
        The model (sizes, nonlinearity, α, T, gradient mode, η, and ``spec.rates``: k_ann, k_r, k_u).
    params:
        Parameter values (theta ``(n, n_u)``, h ``(n,)``, W ``(m, n)``) loaded as the initial
        concentrations of the parameter rails; ``None`` → all zero.

    Returns
    -------
    NeuralCRN
        Modules ``feedforward, readout_error, adjoint_init, feedback, update`` and their union.

    Raises
    ------
    SpecError
        Not a ModelSpec, bad parameter shapes or values, Θ non-zero off the diagonal in diagonal
        mode; ``spec.rates.sign_routing`` > 0 (an option of the two-phase circuit).
    """
    if isinstance(spec, ModelSpec) and float(spec.rates.sign_routing) > 0:
        raise SpecError("rates.sign_routing (the routed update) is an option of the "
                        "two-phase circuit (compile_two_phase); the modular circuit has its own "
                        "update module (use sign_routing=0)")
    smap = build_species_map(spec)
    p = _initial_params(spec, params)
    init = smap.load_params(p)
    for u, v in zip(smap.u, smap.u_value):
        if isinstance(u, str):
            init[u] = float(v)
    dur = _durations(spec)
    mods = (("feedforward", feedforward_module(spec, smap)),
            ("readout_error", readout_error_module(spec, smap, dur["readout_error"])),
            ("adjoint_init", adjoint_init_module(spec, smap, dur["adjoint_init"])),
            ("feedback", feedback_module(spec, smap)),
            ("update", update_module(spec, smap)))
    return assemble_circuit(spec, smap, mods, smap.species, init, "neural_crn",
                            tuple((n, dur[n]) for n in MODULE_NAMES))


def assemble_circuit(spec: ModelSpec, smap, mods, species, init: dict, name: str,
                     durations) -> "NeuralCRN":
    """One :class:`NeuralCRN` from its ``(name, module network)`` pairs, in phase order: the
    union network's reactions are the modules' reactions one after another (``ranges`` records
    each module's slice), over ``species`` with initial concentrations ``init``."""
    reactions: list[Reaction] = []
    ranges = []
    for mod, net in mods:
        ranges.append((mod, (len(reactions), len(reactions) + net.n_reactions)))
        reactions.extend(net.reactions)
    network = ReactionNetwork(reactions, species, init, name=name)
    return NeuralCRN(spec, smap, mods, network, tuple(ranges), tuple(durations))
