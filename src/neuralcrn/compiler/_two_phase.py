"""The two-phase training schedule of SPEC §4: ``feedforward | feedback`` (and its robust
variant ``feedforward | error | update``, the routed update below).

One training step is two clocked phases (see ``docs/training.md`` for the derivation):

1. ``feedforward`` (duration T): the forward dynamics dz/dt = Θu + h − φ(z) (the reactions of
   :func:`~neuralcrn.compiler.feedforward_module`) and a readout that *tracks* W z while z moves:
   two first-order tracking stages O (rate k_r) and Q (rate k_r) with

       dO/dt = k_r (W z − O),   dQ/dt = k_r (O − Q),   ŷ := 2 O − Q = W z(T) − W z̈/k_r² + …

   (the lag W ż/k_r of one stage cancels in 2O − Q).
2. ``feedback`` (duration 20/r, r = ``spec.rates.update``): error, adjoint initialisation, gradient
   accumulation and the update all run *together*, z frozen (no reaction changes Z in this phase).
   Every cascade is linear in the signed values, so the *integrals* are exact however the cascades
   overlap in time:

   ==========================================  ============  =====================================
   reaction                                    rate          effect (signed values)
   ==========================================  ============  =====================================
   O^s → 2 E^s,  Q^s → E^{−s},  Y^s → E^{−s}   r             E receives e = 2o − q − y in total
   E^s → ∅                                     r             ∫ r e(s) ds = e  (fan-out clock)
   W^s + E^t → W^s + E^t + A^{st}              r             A receives ∫ r W(s)ᵀ e(s) ds
   D^s + E^t → D^s + E^t + A^{−st}             r             … minus ∫ r D(s)ᵀ e(s) ds: with D = W(s) − W(0),
                                                             A receives exactly W(0)ᵀ e
   E^s + Z^t → E^s + Z^t + W^{−st} + D^{−st}   η r / F2      ΔW = −η e z(T)ᵀ  (D tracks ΔW)
   A^r → ∅                                     r             ∫ a(s) ds = F3 (Wᵀe)/r
   A^r + U^t → A^r + U^t + Θ^{−σrt}            η T r / F3    ΔΘ = −η T (Wᵀe) uᵀ
   A^r → A^r + H^{−r}                          η T r / F3    Δh = −η T Wᵀe
   P^+ + P^- → ∅  (Θ, h, W)                    r/4           rail re-balancing only
   ==========================================  ============  =====================================

   F2 ≈ 1 − 4.3e-8 and F3 ≈ 1 − 4.6e-7 are the fractions of the two- and three-stage cascades
   completed at the end of the phase (:data:`FEEDBACK_TIME_CONSTANTS`). So a step is exactly the first-order SGD
   step of SPEC §2 (a ≡ Wᵀe, G_Θ = T a uᵀ, G_h = T a, ∂L/∂W = e z(T)ᵀ) applied to the chemical ŷ
   and z(T); the only errors are the forward pass's (1/k_ann) and the readout's (1/k_r²).
   There are no gradient species: the gradient goes straight into the parameter rails
   (the SPEC's "G^s → P^{−s}" transfer folded into the accumulation reaction at rate η·rate).

**Routed update** (``spec.rates.sign_routing`` = k > 0, trained W; ``docs/robustness.md``).
Under independent rate-constant errors the feedback phase above has two weaknesses: E⁺ and E⁻
fill at different rates before they annihilate, so every reaction that reads E (the adjoint,
ΔW) multiplies a *transient* of both rails — much larger than e — by its own rate error; and
ΔW's four reactions ``E^s + Z^t → W^{−st}`` per weight apply each sign pattern of (e, z_i) with
its own gain, which drifts W_i by ≈ (gain asymmetry) × E|e z_i| per step. The routed design
replaces the feedback phase by two phases:

1. ``error`` (20/r): the transfers ``O^s → 2E^s + 2S^s``, ``Q^s, Y^s → E^{−s} + S^{−s}`` (rate
   r) and ``E⁺ + E⁻ → ∅``, ``S⁺ + S⁻ → ∅`` (k_ann): E and the router S collect exactly e and
   settle to one rail; z(T) moves into its magnitude Z̄_i and a router R_i,
   ``Z_i^s → Z̄_i + R_i^s`` (rate r); nothing reads them yet.
2. ``update`` (20/r): everything that reads e, from the settled E:

   ==========================================  ============  =====================================
   reaction                                    rate          effect (signed values)
   ==========================================  ============  =====================================
   E^s → Ē                                     r             E's clock decay; Ē receives E⁺ + E⁻
   Ē → ∅                                       r             ∫ r Ē = F2 (E⁺ + E⁻) = F2 (S⁺ + S⁻)
   W^s + E^t → W^s + E^t + A^{st}, D (as above) r            A receives W(0)ᵀ e
   A^r → ∅                                     r             ∫ a = F2 (Wᵀe)/r
   A^r + U^t → … + Θ^{−σrt}, A^r → A^r + H^{−r}  η T r / F2  ΔΘ = −η T (Wᵀe) uᵀ, Δh = −η T Wᵀe
   Ē + Z̄_i → Ē + Z̄_i + H̄_i                     η r / F2      H̄_i = η (S⁺ + S⁻)(R_i⁺ + R_i⁻) ≥ 0
   H̄_i + R_i^t → R_i^t + H_i^t                 k             H̄ moves into H, split R⁺ : R⁻
   H_i^t + S^s → S^s + W_i^{−st} + D_i^{−st}   k             H moves into W, split S⁺ : S⁻
   P^+ + P^- → ∅  (Θ, h, W)                    r/4           rail re-balancing only
   ==========================================  ============  =====================================

   H̄ is split between the two signs of z_i in the proportion R_i⁺ : R_i⁻ = Z_i⁺ : Z_i⁻, and H
   between the two signs of e in the proportion S⁺ : S⁻, so W changes by
   −η (S⁺ + S⁻)(R⁺ + R⁻) · (R⁺ − R⁻)/(R⁺ + R⁻) · (S⁺ − S⁻)/(S⁺ + S⁻) = −η e z_i exactly, whatever
   common mode the rails still hold. Under rate errors ΔW_i's gain f(Ē + Z̄_i)/f(Ē → ∅) is one
   number per weight — a positive diagonal preconditioner of the gradient step — because the
   signs of e and z_i enter only through transfers that run to completion, moving the same
   amount whatever their rate (ΔW falls short only where a routing has not finished by the end
   of the phase, i.e. where k·|e|·20/r or k·|z_i|·20/r is not ≫ 1 — measured 8 % short at
   |e| = 3.6e-5 and exact to 3e-9 at |e| ≈ 0.5 with k = 1e4, r = 100; the step has ΔW_i ∝ e z_i,
   so the shortfall is small in absolute terms) — and the adjoint reads a settled, one-rail E.

   *Leak shadows.* ΔW's product ``Ē + Z̄_i → Ē + Z̄_i + H̄_i`` has unsigned catalysts, so its
   leaks (``Z̄_i → Z̄_i + H̄_i`` all phase long, ``Ē → Ē + H̄_i``; :mod:`._imperfect`) have no
   partner of opposite sign, as the direct circuit's rail pairs have, and the routing gives them
   the signs of e and z_i: ≈ 20 λ η sign(e) z_i per step against the gradient step η e z_i. Two
   shadow products per weight, ``Ē′ + Z̄_i → Ē′ + Z̄_i + H̄′_i`` and ``Ē + Z̄′_i → Ē + Z̄′_i + H̄′_i``
   (same rate), whose catalysts Ē′, Z̄′ are never made, and the routing
   ``H̄′_i + R_i^t → R_i^t + H_i^{−t}`` (k) do nothing in a perfect circuit; leaking, each makes
   exactly the product's leak (same nominal rate, same Z̄_i or Ē) with the opposite sign, so the
   leaks cancel in W. They are the last reactions of the circuit, so rate-constant draws of the
   others do not move.

**Routed hidden update** (``spec.rates.adjoint_routing`` = k_a > 0, with the routed update;
``docs/robustness.md``). In the ``update`` phase above ΔΘ and Δh are made by ``A^r + U^t``
and ``A^r → A^r + H^{−r}``, one reaction (and one decay ``A^r → ∅``) per sign of a_j, so a
rate error gives the two signs of a_j different gains — the drift ΔW had before its routing.
With k_a > 0 the ``update`` phase keeps A (no decay, no Θ or h reactions; W's rails re-balance
there) and forms it routed by e's sign as ΔW is: ``Ē_k + W_ki^s → … + Ă_ki^s`` and
``Ē_k + D_ki^s → … + Ă_ki^{−s}`` at r/F2 (Ă_ki = W_ki(0)·|e_k|, one gain per rail of W_ki and
none per sign of e — the adjoint's reactions ``W^s + E^t`` had one per (W, e) sign pattern),
then ``Ă_ki^s + S_k^t → S_k^t + A_i^{st}`` at k_a, with leak shadows through Ē′_k; a fourth phase
``hidden_update`` (20/r) follows:

==========================================  ============  =====================================
reaction                                    rate          effect (signed values)
==========================================  ============  =====================================
A_j^s → Ā_j + SA_j^s                        r             Ā_j receives A⁺ + A⁻; SA_j: a_j's router
Ā_j → ∅                                     r             ∫ r Ā_j = F2 (A⁺ + A⁻)
Ā_j + U_l^t → … + Ḡ_jl^{t·σ_l}              η T r / F2    Ḡ_jl = η T (A⁺ + A⁻) u_l
Ḡ_jl^t + SA_j^s → SA_j^s + Θ_jl^{−st}        k_a           ΔΘ_jl = −η T a_j u_l (split SA⁺ : SA⁻)
Ā_j → Ā_j + Ḡh_j;  Ḡh_j + SA_j^s → … + h_j^{−s}  η T r / F2, k_a   Δh_j = −η T a_j
P^+ + P^- → ∅  (Θ, h)                       r/4           rail re-balancing only
==========================================  ============  =====================================

so each entry's gain is f(Ā_j + U_l^t)/f(Ā_j → ∅) whatever the sign of a_j (it still depends on
the sign of an input u_l, which only reweights samples), and A → Ā runs to completion (its
rate error changes how fast, not how much). The products' unsigned catalyst Ā_j gets leak
shadows as ΔW's product does (``Ā′_j + U_l`` and ``Ā_j + U′_l`` into Ḡ′_jl, ``Ā′_j`` into
Ḡh′_j, routed with the opposite sign; Ā′, U′ never made). The routing shortfall is ΔW's: small
where k_a·|a_j|·20/r is not ≫ 1 (tiny |a_j|, where the step is tiny too). The perfect step is
the direct circuit's (to ≈ 3e-8: A now forms completely before its cascade starts).

The host protocol is the modular schedule's: before each step wash the transient species (x, z,
O, Q, y, E, A, D — and S, Ē, H̄, H, Z̄, R when routed, Ā, SA, Ḡ, Ḡh with the routed hidden
update), load x, y and z(0) = u, then switch
phases. Only the exact-gradient model is not
available in this schedule (the backward z reconstruction would run while Θ is being updated);
use the modular schedule for it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..chemistry.dualrail import (DualRail, catalytic_copy, catalytic_product,
                                  signed_transfer, transfer)
from ..chemistry.network import Reaction, ReactionNetwork
from ..errors import SpecError
from ..ideal.spec import ModelSpec, Params
from ._modules import (NeuralCRN, _annihilate, assemble_circuit, _initial_params, _support,
                       feedforward_module)
from ._species import SpeciesMap, build_species_map

__all__ = ["TWO_PHASE_MODULES", "ROUTED_MODULES", "ROUTED_HIDDEN_MODULES", "HiddenRouting", "TwoPhaseSpecies", "SignRouting",
           "is_two_phase", "compile_two_phase", "two_phase_program",
           "two_phase_species", "two_phase_rates", "two_phase_step", "TwoPhaseStepResult",
           "READOUT_MIN_KT", "FEEDBACK_TIME_CONSTANTS"]

TWO_PHASE_MODULES = ("feedforward", "feedback")
"""Module (= phase) names of a two-phase circuit."""

ROUTED_MODULES = ("feedforward", "error", "update")
ROUTED_HIDDEN_MODULES = ("feedforward", "error", "update", "hidden_update")
"""Module (= phase) names of the circuit with the routed update (``spec.rates.sign_routing`` >
0): the feedback phase is split into ``error`` (e settles) and ``update`` (everything that
reads it)."""

FEEDBACK_TIME_CONSTANTS = 20.0
"""The feedback phase runs x/r with x = 20. Its cascades have two (O → E → ∫E: ΔW) and three
(O → E → A → ∫A: ΔΘ, Δh) stages at the one rate r, so at the end a known fraction
F2 = 1 − e^{−x}(1 + x) ≈ 1 − 4.3e-8 resp. F3 = 1 − e^{−x}(1 + x + x²/2) ≈ 1 − 4.6e-7 of each
update is done;
the update rate constants are divided by F2 resp. F3, so the update is exact at the end of the
phase, and running the phase longer over-applies it by at most 4.6e-7 (self-terminating)."""

PARAMETER_REBALANCE = 0.25
"""Parameter rails are re-balanced (P^+ + P^- → ∅) at 0.25·r in the feedback phase: the values do
not depend on it, and a slow rate keeps the phase non-stiff for large parameters (the rate of
loss of the minority rail is 0.25·r·|p|; the explicit solver's step ∝ 1/max(r, 0.25·r·|p|))."""

READOUT_MIN_KT = 40.0
"""The tracking readout's rate is at least READOUT_MIN_KT / T, so its start-up transient
(∝ k_r T e^{−k_r T}) is negligible (< 2e-16)."""


@dataclass(frozen=True)
class SignRouting:
    """Species of the routed update (see the module docstring), per output k: ``sign`` S_k (dual
    rail: the router, receives e_k like E_k and keeps it through the ``update`` phase),
    ``clock`` Ē_k (one species: the |e_k| clock of the ``update`` phase), ``grad_mag`` H̄_ki
    (one species, ``(m, n)``: η (S⁺ + S⁻)(Z_i⁺ + Z_i⁻), unsigned) and ``grad`` H_ki (dual rail,
    ``(m, n)``: H̄_ki routed by the sign of z_i, before it is routed into W_ki by the sign of
    e_k); per hidden unit i: ``zmag`` Z̄_i (one species: Z_i⁺ + Z_i⁻ moved out of z after the
    forward pass) and ``zsign`` R_i (dual rail: the router with z_i's rails). The leak shadows
    (module docstring, "Leak shadows"): ``shadow_clock`` Ē′_k and ``shadow_zmag`` Z̄′_i (never
    made: nominally zero) and ``shadow_grad_mag`` H̄′_ki (``(m, n)``: routed into H_ki with the
    opposite sign)."""

    sign: tuple[DualRail, ...]
    clock: tuple[str, ...]
    grad: tuple[tuple[DualRail, ...], ...]
    grad_mag: tuple[tuple[str, ...], ...]
    zmag: tuple[str, ...]
    zsign: tuple[DualRail, ...]
    shadow_clock: tuple[str, ...] = ()
    shadow_zmag: tuple[str, ...] = ()
    shadow_grad_mag: tuple[tuple[str, ...], ...] = ()

    @property
    def species(self) -> tuple[str, ...]:
        rails = SpeciesMap._rails
        return (rails(self.sign) + self.clock
                + rails(tuple(h for row in self.grad for h in row))
                + tuple(h for row in self.grad_mag for h in row)
                + self.zmag + rails(self.zsign)
                + self.shadow_clock + self.shadow_zmag
                + tuple(h for row in self.shadow_grad_mag for h in row))


@dataclass(frozen=True)
class HiddenRouting:
    """Species of the routed hidden update (``spec.rates.adjoint_routing`` > 0; module
    docstring, "Routed hidden update"), per hidden unit j: ``clock`` Ā_j (one species: |a_j|,
    the clock of the ``hidden_update`` phase), ``sign`` SA_j (dual rail: the router with a_j's
    rails), ``grad_h`` Ḡh_j (one species: η T |a_j| before it is routed into h_j); per entry
    (j, l) of Θ's support ``grad_theta`` Ḡ_jl (dual rail: η T |a_j| u_l, routed into Θ_jl by
    a_j's sign; ``None`` off the support); the leak shadows ``shadow_clock`` Ā′_j, ``shadow_u``
    U′_l (the drive's rail type; both never made) and ``shadow_theta`` Ḡ′_jl, ``shadow_h``
    Ḡh′_j (routed with the opposite sign); per output k and unit i ``adj_part`` Ă_ki (dual
    rail: W_ki |e_k| before it is routed into A_i by e_k's sign) and its shadow ``shadow_adj``
    Ă′_ki."""

    clock: tuple[str, ...]
    sign: tuple[DualRail, ...]
    grad_h: tuple[str, ...]
    grad_theta: tuple[tuple[DualRail | None, ...], ...]
    shadow_clock: tuple[str, ...]
    shadow_u: tuple
    shadow_theta: tuple[tuple[DualRail | None, ...], ...]
    shadow_h: tuple[str, ...]
    adj_part: tuple[tuple[DualRail, ...], ...] = ()
    shadow_adj: tuple[tuple[DualRail, ...], ...] = ()

    @property
    def species(self) -> tuple[str, ...]:
        rails = SpeciesMap._rails
        flat = lambda rows: tuple(g for row in rows for g in row if g is not None)  # noqa: E731
        return (self.clock + rails(self.sign) + self.grad_h + rails(flat(self.grad_theta))
                + self.shadow_clock + rails(self.shadow_u) + rails(flat(self.shadow_theta))
                + self.shadow_h + rails(flat(self.adj_part)) + rails(flat(self.shadow_adj)))


@dataclass(frozen=True)
class TwoPhaseSpecies:
    """Species of a two-phase circuit beyond the standard :class:`SpeciesMap` roles.

    ``smap.yhat`` holds the first tracking stage O, ``lag`` the second stage Q (ŷ = 2O − Q;
    routed: the lag correction L = O − Q made by O's own reactions, ŷ = O + L),
    ``smap.e`` the error, ``smap.adj`` the adjoint; ``dW`` (``None`` when W is frozen or routed)
    tracks the change of W during the feedback phase; ``routing`` (``None`` unless
    ``spec.rates.sign_routing`` > 0) holds the routed update's species.
    """

    smap: SpeciesMap
    lag: tuple[DualRail, ...]
    dW: tuple[tuple[DualRail, ...], ...] | None
    routing: SignRouting | None = None
    hidden_routing: HiddenRouting | None = None

    @property
    def species(self) -> tuple[str, ...]:
        """State order: x, constant u, z, Θ, h, W, O, Q, y, E, A, D (routed: then S, Ē, H,
        H̄, Z̄, R)."""
        s = self.smap
        rails = SpeciesMap._rails
        d = () if self.dW is None else tuple(r for row in self.dW for r in row)
        extra = () if self.routing is None else self.routing.species
        extra += () if self.hidden_routing is None else self.hidden_routing.species
        return (rails(s.x) + s.constant_drive_species + rails(s.z) + s.parameter_species
                + rails(s.yhat + self.lag + s.y + s.e + s.adj + d) + extra)

    @property
    def modules(self) -> tuple[str, ...]:
        """The circuit's modules (= phases, in order)."""
        if self.routing is None:
            return TWO_PHASE_MODULES
        return ROUTED_MODULES if self.hidden_routing is None else ROUTED_HIDDEN_MODULES

    @property
    def transient_species(self) -> tuple[str, ...]:
        """Washed out before every step: everything except parameters and constant drive."""
        keep = set(self.smap.parameter_species) | set(self.smap.constant_drive_species)
        return tuple(s for s in self.species if s not in keep)


def _routed(spec: ModelSpec) -> bool:
    return float(spec.rates.sign_routing) > 0 and spec.train_W


def _hidden_routed(spec: ModelSpec) -> bool:
    return _routed(spec) and float(spec.rates.adjoint_routing) > 0


def _hidden_routing(smap: SpeciesMap) -> HiddenRouting:
    n, m = smap.n, smap.m
    per_weight = lambda f: tuple(tuple(DualRail(f(k, i)) for i in range(n))  # noqa: E731
                                 for k in range(m))
    support = set(_support(smap))
    grid = lambda f: tuple(tuple(DualRail(f(i, j)) if (i, j) in support else None  # noqa: E731
                                 for j in range(smap.n_u)) for i in range(n))
    shadow_u = tuple(DualRail(f"ushadow{j + 1}") if isinstance(u, DualRail) else f"ushadow{j + 1}"
                     for j, u in enumerate(smap.u))
    return HiddenRouting(tuple(f"aclock{i + 1}" for i in range(n)),
                         tuple(DualRail(f"asign{i + 1}") for i in range(n)),
                         tuple(f"gHmag_{i + 1}" for i in range(n)),
                         grid(lambda i, j: f"gTheta_{i + 1}_{j + 1}"),
                         tuple(f"aclockshadow{i + 1}" for i in range(n)), shadow_u,
                         grid(lambda i, j: f"gThetashadow_{i + 1}_{j + 1}"),
                         tuple(f"gHmagshadow_{i + 1}" for i in range(n)),
                         per_weight(lambda k, i: f"adjpart_{k + 1}_{i + 1}"),
                         per_weight(lambda k, i: f"adjpartshadow_{k + 1}_{i + 1}"))


def two_phase_species(spec: ModelSpec) -> TwoPhaseSpecies:
    """The :class:`TwoPhaseSpecies` of a specification."""
    smap = build_species_map(spec)
    m, n = smap.m, smap.n
    lag = tuple(DualRail(f"ylag{k + 1}") for k in range(m))
    routing = None
    if _routed(spec):
        lag = tuple(DualRail(f"ycorr{k + 1}") for k in range(m))
        routing = SignRouting(tuple(DualRail(f"esign{k + 1}") for k in range(m)),
                              tuple(f"eclock{k + 1}" for k in range(m)),
                              tuple(tuple(DualRail(f"gW_{k + 1}_{i + 1}") for i in range(n))
                                    for k in range(m)),
                              tuple(tuple(f"gWmag_{k + 1}_{i + 1}" for i in range(n))
                                    for k in range(m)),
                              tuple(f"zmag{i + 1}" for i in range(n)),
                              tuple(DualRail(f"zsign{i + 1}") for i in range(n)),
                              tuple(f"eclockshadow{k + 1}" for k in range(m)),
                              tuple(f"zmagshadow{i + 1}" for i in range(n)),
                              tuple(tuple(f"gWmagshadow_{k + 1}_{i + 1}" for i in range(n))
                                    for k in range(m)))
    dW = (tuple(tuple(DualRail(f"dW_{k + 1}_{i + 1}") for i in range(n))
                for k in range(m)) if spec.train_W else None)
    hidden = _hidden_routing(smap) if _hidden_routed(spec) else None
    return TwoPhaseSpecies(smap, lag, dW, routing, hidden)


def two_phase_rates(spec: ModelSpec) -> dict[str, float]:
    """Rate constants and durations of the two-phase schedule.

    ``k_ann`` (Z annihilation, feedforward), ``k_r`` = max(rates.readout, 40/T) (tracking readout),
    ``r`` = rates.update (every feedback cascade and the parameter re-balancing), durations
    ``T_feedforward`` = T and ``T_feedback`` = 20/r (with the routed update ``T_error`` =
    ``T_update`` = 20/r instead), and the completed fractions F2, F3 of the two- and three-stage
    cascades at the end of the feedback phase (see the module docstring).
    """
    r = float(spec.rates.update)
    x = FEEDBACK_TIME_CONSTANTS
    out = {"k_ann": float(spec.rates.annihilation),
           "k_r": max(float(spec.rates.readout), READOUT_MIN_KT / float(spec.T)),
           "r": r, "T_feedforward": float(spec.T), "T_feedback": x / r,
           "F2": 1.0 - math.exp(-x) * (1.0 + x),
           "F3": 1.0 - math.exp(-x) * (1.0 + x + x * x / 2.0)}
    if _routed(spec):
        out["T_error"] = out["T_update"] = x / r
    if _hidden_routed(spec):
        out["T_hidden_update"] = x / r
    return out


def _network(reactions, species, name):
    used = {s for r in reactions for s in r.species}
    return ReactionNetwork(reactions, [s for s in species if s in used], name=name)


def _feedforward(spec: ModelSpec, tp: TwoPhaseSpecies, rates: dict) -> ReactionNetwork:
    smap, k = tp.smap, rates["k_r"]
    rx = list(feedforward_module(spec, smap).reactions)
    for kk in range(smap.m):
        O, L = smap.yhat[kk], tp.lag[kk]
        if tp.routing is None:      # Q tracks O: ŷ = 2O − Q
            for i in range(smap.n):
                rx += catalytic_product(smap.W[kk][i], smap.z[i], [(O, 1)], k)
            rx += transfer(O, [], k)
            rx += catalytic_copy(O, [(L, 1)], k)
        else:                       # L = O − Q from O's own reactions: ŷ = O + L
            for i in range(smap.n):
                rx += catalytic_product(smap.W[kk][i], smap.z[i], [(O, 1), (L, 1)], k)
            rx += transfer(O, [(L, -1)], k)
        rx += transfer(L, [], k)
    k_sig = float(spec.rates.signal_annihilation)
    if k_sig > 0:          # no common mode in the readout rails (robust to rate errors)
        rx += _annihilate(list(smap.yhat) + list(tp.lag), k_sig)
    return _network(rx, tp.species, "feedforward")


def update_reactions(spec: ModelSpec, smap, u_species, kappa: float, r: float) -> list[Reaction]:
    """The first-order parameter update of the feedback phase: Θ_ij −= κ·a_i·u_j
    (``a_i + u_j → a_i + u_j + Θ_ij`` of the sign −u_sign_j; ``u_species[j]`` the drive species
    the update reads), h_i −= κ·a_i (``catalytic_copy``), and the rebalancing annihilation of
    every trained parameter's rails at ``r ·`` :data:`PARAMETER_REBALANCE`. ``kappa`` is the
    update rate constant (η·T·r over the compiler's rate factor)."""
    rx: list[Reaction] = []
    for i, j in _support(smap):
        rx += catalytic_product(smap.adj[i], u_species[j],
                                [(smap.theta[i][j], -smap.u_sign[j])], kappa)
    if spec.train_h:
        for i in range(smap.n):
            rx += catalytic_copy(smap.adj[i], [(smap.h[i], -1)], kappa)
    rx += _annihilate(_trained_parameters(spec, smap, hidden=True, readout=True),
                      r * PARAMETER_REBALANCE)
    return rx


def _trained_parameters(spec: ModelSpec, smap, *, hidden: bool, readout: bool) -> list[DualRail]:
    """The trained parameters' rails: Θ on its support and h (``hidden``), W (``readout``)."""
    params = [smap.theta[i][j] for i, j in _support(smap)] if hidden else []
    if hidden and spec.train_h:
        params += list(smap.h)
    if readout and spec.train_W:
        params += [w for row in smap.W for w in row]
    return params


def _readout_weights(tp: TwoPhaseSpecies) -> tuple[int, int]:
    """ŷ = a·O + b·(lag species): (2, −1) for ŷ = 2O − Q, (1, 1) for the routed ŷ = O + L."""
    return (2, -1) if tp.routing is None else (1, 1)


def _error_transfers(smap, tp: TwoPhaseSpecies, r: float, copies, decay: bool) -> list[Reaction]:
    """O^s → 2E^s, Q^s → E^{−s} (routed: O^s → E^s, L^s → E^s), Y^s → E^{−s} at r (each also
    feeding ``copies[k]``, further dual rails that receive e_k the same way), and with
    ``decay`` the clock E^s → ∅ at r."""
    rx: list[Reaction] = []
    o_copies, lag_sign = _readout_weights(tp)
    for k in range(smap.m):
        O, Q, Y, E = smap.yhat[k], tp.lag[k], smap.y[k], smap.e[k]
        to = [E] + list(copies[k])
        rx += transfer(O, [(v, 1) for v in to for _ in range(o_copies)], r)
        rx += transfer(Q, [(v, lag_sign) for v in to], r)
        rx += transfer(Y, [(v, -1) for v in to], r)
        if decay:
            rx += transfer(E, [], r)
    return rx


def _adjoint(smap, tp: TwoPhaseSpecies, r: float, dW_rate: float | None) -> list[Reaction]:
    """A receives ∫ r (W − D)ᵀ E = W(0)ᵀ e (D tracks the change of W while A forms), and
    A → ∅; with ``dW_rate`` also the direct ΔW reactions E + Z → W + D at that rate."""
    rx: list[Reaction] = []
    for k in range(smap.m):
        for i in range(smap.n):
            rx += catalytic_product(smap.W[k][i], smap.e[k], [(smap.adj[i], 1)], r)
            if tp.dW is not None:
                rx += catalytic_product(tp.dW[k][i], smap.e[k], [(smap.adj[i], -1)], r)
                if dW_rate is not None:
                    rx += catalytic_product(smap.e[k], smap.z[i],
                                            [(smap.W[k][i], -1), (tp.dW[k][i], -1)], dW_rate)
    for a in smap.adj:
        rx += transfer(a, [], r)
    return rx


def _feedback(spec: ModelSpec, tp: TwoPhaseSpecies, rates: dict) -> ReactionNetwork:
    smap = tp.smap
    r, eta, T = rates["r"], float(spec.learning_rate), float(spec.T)
    rx = _error_transfers(smap, tp, r, [()] * smap.m, decay=True)
    rx += _adjoint(smap, tp, r, eta * r / rates["F2"])
    rx += update_reactions(spec, smap, smap.u, eta * T * r / rates["F3"], r)
    k_sig = float(spec.rates.signal_annihilation)
    if k_sig > 0:          # no common mode in the error and adjoint rails
        rx += _annihilate(list(smap.e) + list(smap.adj), k_sig)
    return _network(rx, tp.species, "feedback")


def _error(spec: ModelSpec, tp: TwoPhaseSpecies, rates: dict) -> ReactionNetwork:
    """The ``error`` phase of the routed update: E and the router S collect e (transfers) and
    settle (annihilation at k_ann); z(T) moves into its magnitude Z̄ and its router R
    (``Z_i^s → Z̄_i + R_i^s``); nothing reads them yet."""
    smap, ro = tp.smap, tp.routing
    r = rates["r"]
    rx = _error_transfers(smap, tp, r, [(s,) for s in ro.sign], decay=False)
    rx += _annihilate(list(smap.e) + list(ro.sign), rates["k_ann"])
    for z, zmag, zsign in zip(smap.z, ro.zmag, ro.zsign):
        rx += [Reaction([z.rail(s)], [zmag, zsign.rail(s)], r) for s in (1, -1)]
    return _network(rx, tp.species, "error")


def _update(spec: ModelSpec, tp: TwoPhaseSpecies, rates: dict) -> ReactionNetwork:
    """The ``update`` phase of the routed update (module docstring)."""
    smap, ro = tp.smap, tp.routing
    r, eta, T = rates["r"], float(spec.learning_rate), float(spec.T)
    f2, k_route = rates["F2"], float(spec.rates.sign_routing)
    rx: list[Reaction] = []
    for k in range(smap.m):
        E, S, C = smap.e[k], ro.sign[k], ro.clock[k]
        rx += [Reaction([E.rail(s)], [C], r) for s in (1, -1)]     # E^s → Ē: E's clock decay
        rx.append(Reaction([C], [], r))
    if tp.hidden_routing is None:
        rx += _adjoint(smap, tp, r, None)
    else:
        rx += _routed_adjoint(tp, r / f2, k_route)
    for k in range(smap.m):
        S, C = ro.sign[k], ro.clock[k]
        for i in range(smap.n):
            H, Hmag = ro.grad[k][i], ro.grad_mag[k][i]
            rx += catalytic_product(C, ro.zmag[i], [(Hmag, 1)], eta * r / f2)
            rx += signed_transfer(Hmag, ro.zsign[i], [(H, 1)], k_route)
            rx += signed_transfer(H, S, [(smap.W[k][i], -1), (tp.dW[k][i], -1)], k_route)
    if tp.hidden_routing is None:
        rx += update_reactions(spec, smap, smap.u, eta * T * r / f2, r)
    else:                  # A stays (no decay): the hidden_update phase reads it
        rx += _annihilate(_trained_parameters(spec, smap, hidden=False, readout=True),
                          r * PARAMETER_REBALANCE)
    k_sig = float(spec.rates.signal_annihilation)
    if k_sig > 0:          # no common mode in the adjoint rails
        rx += _annihilate(list(smap.adj), k_sig)
    rx += _leak_shadows(tp, eta * r / f2, k_route)   # last: every other reaction keeps its index
    return _network(rx, tp.species, "update")


def _routed_adjoint(tp: TwoPhaseSpecies, k_adj: float, k_route: float) -> list[Reaction]:
    """The adjoint of the routed hidden update (module docstring): ``Ē_k + W_ki^s → … + Ă_ki^s``
    and ``Ē_k + D_ki^s → … + Ă_ki^{−s}`` at r/F2 (Ă_ki = W_ki(0)·|e_k|: one gain per rail of
    W_ki, none per sign of e), ``Ă_ki^s + S_k^t → S_k^t + A_i^{st}`` at k (routed by e_k's sign),
    and the leak shadows through the never-made clock Ē′_k, routed with the opposite sign."""
    smap, ro, hr = tp.smap, tp.routing, tp.hidden_routing
    rx: list[Reaction] = []
    for k in range(smap.m):
        for i in range(smap.n):
            part, shadow = hr.adj_part[k][i], hr.shadow_adj[k][i]
            for clock, target, sign in ((ro.clock[k], part, 1), (ro.shadow_clock[k], shadow, -1)):
                rx += catalytic_product(clock, smap.W[k][i], [(target, 1)], k_adj)
                rx += catalytic_product(clock, tp.dW[k][i], [(target, -1)], k_adj)
                rx += signed_transfer(target, ro.sign[k], [(smap.adj[i], sign)], k_route)
    return rx


def _hidden_update(spec: ModelSpec, tp: TwoPhaseSpecies, rates: dict) -> ReactionNetwork:
    """The ``hidden_update`` phase of the routed hidden update (module docstring)."""
    smap, hr = tp.smap, tp.hidden_routing
    r, eta, T = rates["r"], float(spec.learning_rate), float(spec.T)
    kappa, k_route = eta * T * r / rates["F2"], float(spec.rates.adjoint_routing)
    rx: list[Reaction] = []
    for i in range(smap.n):      # A_i^s → Ā_i + SA_i^s (run to completion), Ā_i → ∅
        rx += [Reaction([smap.adj[i].rail(s)], [hr.clock[i], hr.sign[i].rail(s)], r)
               for s in (1, -1)]
        rx.append(Reaction([hr.clock[i]], [], r))
    shadows: list[Reaction] = []
    for i, j in _support(smap):
        g, g2, u = hr.grad_theta[i][j], hr.shadow_theta[i][j], smap.u[j]
        us = smap.u_sign[j]
        rx += catalytic_product(hr.clock[i], u, [(g, us)], kappa)
        rx += signed_transfer(g, hr.sign[i], [(smap.theta[i][j], -1)], k_route)
        shadows += catalytic_product(hr.shadow_clock[i], u, [(g2, us)], kappa)
        shadows += catalytic_product(hr.clock[i], hr.shadow_u[j], [(g2, us)], kappa)
        shadows += signed_transfer(g2, hr.sign[i], [(smap.theta[i][j], 1)], k_route)
    if spec.train_h:
        for i in range(smap.n):
            rx += catalytic_copy(hr.clock[i], [(hr.grad_h[i], 1)], kappa)
            rx += signed_transfer(hr.grad_h[i], hr.sign[i], [(smap.h[i], -1)], k_route)
            shadows += catalytic_copy(hr.shadow_clock[i], [(hr.shadow_h[i], 1)], kappa)
            shadows += signed_transfer(hr.shadow_h[i], hr.sign[i], [(smap.h[i], 1)], k_route)
    rx += _annihilate(_trained_parameters(spec, smap, hidden=True, readout=False),
                      r * PARAMETER_REBALANCE)
    return _network(rx + shadows, tp.species, "hidden_update")


def _leak_shadows(tp: TwoPhaseSpecies, k_grad: float, k_route: float) -> list[Reaction]:
    """The leak shadows of ΔW's product ``Ē + Z̄_i → Ē + Z̄_i + H̄_i`` (module docstring, "Leak
    shadows"): ``Ē′ + Z̄_i → Ē′ + Z̄_i + H̄′_i`` and ``Ē + Z̄′_i → Ē + Z̄′_i + H̄′_i`` at the
    product's rate, and ``H̄′_i + R_i^t → R_i^t + H_i^{−t}`` at k_route. Ē′ and Z̄′ are never
    made, so nominally nothing happens; a leak of the product (``Z̄_i → Z̄_i + H̄_i``,
    ``Ē → Ē + H̄_i``) is matched by the same leak of a shadow, routed with the opposite sign."""
    smap, ro = tp.smap, tp.routing
    rx: list[Reaction] = []
    for k in range(smap.m):
        for i in range(smap.n):
            shadow = ro.shadow_grad_mag[k][i]
            rx += catalytic_product(ro.shadow_clock[k], ro.zmag[i], [(shadow, 1)], k_grad)
            rx += catalytic_product(ro.clock[k], ro.shadow_zmag[i], [(shadow, 1)], k_grad)
            rx += signed_transfer(shadow, ro.zsign[i], [(ro.grad[k][i], -1)], k_route)
    return rx


def compile_two_phase(spec: ModelSpec, params: Params | None = None) -> NeuralCRN:
    """Compile the two-phase circuit: a :class:`NeuralCRN` with modules ``feedforward`` and
    ``feedback`` (each module is one phase; see the module docstring for the reactions).

    Raises
    ------
    SpecError
        ``spec.gradient == "exact"`` (the two-phase schedule implements the first-order gradient),
        or bad parameters.
    """
    if not isinstance(spec, ModelSpec):
        raise SpecError(f"expected a ModelSpec, got {type(spec).__name__}")
    if spec.gradient != "first-order":
        raise SpecError("the two-phase schedule implements the first-order gradient (SPEC §2); "
                        "use gradient='first-order' or the modular schedule for the exact "
                        "gradient")
    if float(spec.rates.sign_routing) > 0 and not spec.train_W:
        raise SpecError("rates.sign_routing > 0 routes the update of the readout W, but this "
                        "model's W is frozen (train_W=False); use sign_routing=0")
    tp = two_phase_species(spec)
    smap = tp.smap
    rates = two_phase_rates(spec)
    init = smap.load_params(_initial_params(spec, params))
    for u, v in zip(smap.u, smap.u_value):
        if isinstance(u, str):
            init[u] = float(v)
    mods = [("feedforward", _feedforward(spec, tp, rates))]
    if tp.routing is None:
        mods.append(("feedback", _feedback(spec, tp, rates)))
    else:
        mods += [("error", _error(spec, tp, rates)), ("update", _update(spec, tp, rates))]
        if tp.hidden_routing is not None:
            mods.append(("hidden_update", _hidden_update(spec, tp, rates)))
    return assemble_circuit(spec, smap, tuple(mods), tp.species, init, "neural_crn_two_phase",
                            tuple((name, rates[f"T_{name}"]) for name, _ in mods))


def is_two_phase(circuit: NeuralCRN) -> bool:
    """True for a circuit from :func:`compile_two_phase` (``feedforward | feedback``, or
    ``feedforward | error | update`` with the routed update)."""
    return circuit.module_names in (TWO_PHASE_MODULES, ROUTED_MODULES, ROUTED_HIDDEN_MODULES)


def two_phase_program(circuit: NeuralCRN):
    """The :class:`~neuralcrn.compiler.StepProgram` of the two-phase schedule.

    ``circuit`` is a two-phase circuit (:func:`compile_two_phase`) or a modular one (from
    :func:`~neuralcrn.compiler.compile_circuit`), whose spec and parameters are then recompiled
    into the two-phase circuit. Use with :func:`~neuralcrn.compiler.run_step` like any program.
    """
    from ._protocol import program_from_phases

    if not isinstance(circuit, NeuralCRN):
        raise SpecError(f"expected a NeuralCRN, got {type(circuit).__name__}")
    if not is_two_phase(circuit):
        circuit = compile_two_phase(circuit.spec, circuit.params)
    tp = two_phase_species(circuit.spec)
    names = circuit.module_names
    return program_from_phases(
        circuit, tp.smap, np.stack([circuit.phase_rate_constants(n) for n in names]),
        [circuit.duration(n) for n in names], tp.transient_species)


def readout_matrix(circuit: NeuralCRN) -> np.ndarray:
    """``(m, S)`` matrix M with ŷ = M @ state after the ``feedforward`` phase (2O − Q; routed:
    O + L)."""
    tp = two_phase_species(circuit.spec)
    a, b = _readout_weights(tp)
    idx = {s: i for i, s in enumerate(circuit.species)}
    M = np.zeros((tp.smap.m, len(idx)))
    for k in range(tp.smap.m):
        for rail, w in ((tp.smap.yhat[k], float(a)), (tp.lag[k], float(b))):
            M[k, idx[rail.plus]] += w
            M[k, idx[rail.minus]] -= w
    return M


@dataclass(frozen=True, eq=False)
class TwoPhaseStepResult:
    """One two-phase step read from the species (numpy).

    yhat, e: ``(m,)`` readout 2O − Q after ``feedforward`` and e = ŷ − y.  loss: ½‖e‖².
    zT: ``(n,)`` z(T).  params_before, params_after: :class:`Params` read before / after the step.
    residual: largest |value| left in E, A (the cascades' unfinished part) at the end.
    phase_states: ``{phase name: (S,)}`` (``feedforward``, ``feedback``; routed: ``feedforward``,
    ``error``, ``update``).  species: state order.
    """

    yhat: np.ndarray
    e: np.ndarray
    loss: float
    zT: np.ndarray
    params_before: Params
    params_after: Params
    residual: float
    phase_states: dict
    species: tuple[str, ...]

    @property
    def final_state(self) -> np.ndarray:
        """``(S,)`` state at the end of the step (after the last phase)."""
        return list(self.phase_states.values())[-1]


def two_phase_step(circuit: NeuralCRN, x, y, *, state=None, method: str = "auto",
                   rtol: float = 1e-10, atol: float = 1e-12,
                   max_steps: int = 1_000_000) -> TwoPhaseStepResult:
    """Run one two-phase training step and read ŷ, e, z(T) and the parameters from the species.

    ``circuit``: from :func:`compile_two_phase`; ``state``: ``(S,)`` state to start from (default
    ``circuit.network.initial``). Solver options as :func:`~neuralcrn.compiler.run_step`.
    Raises DataError (bad x, y, state) and SimulationError (a phase failed to integrate).
    """
    from ._protocol import _check_xy, run_checked_step

    if not isinstance(circuit, NeuralCRN) or not is_two_phase(circuit):
        raise SpecError("two_phase_step needs a circuit from compile_two_phase")
    x, y = _check_xy(circuit, x, y)
    names = circuit.module_names
    loaded, states = run_checked_step(circuit, two_phase_program(circuit), state, x, y,
                                      names, method=method, rtol=rtol, atol=atol,
                                      max_steps=max_steps)
    smap, sp = circuit.species_map, circuit.species
    yhat = readout_matrix(circuit) @ states[0]
    e = yhat - y
    rd = lambda st: smap.read(dict(zip(sp, st)), None)  # noqa: E731  (missing species read as 0)
    r0, rend = rd(loaded), rd(states[-1])
    residual = float(max(np.max(np.abs(rend["e"])), np.max(np.abs(rend["adj"]))))
    return TwoPhaseStepResult(
        yhat=yhat, e=e, loss=float(0.5 * e @ e), zT=rd(states[0])["z"],
        params_before=Params(r0["theta"], r0["h"], r0["W"]),
        params_after=Params(rend["theta"], rend["h"], rend["W"]), residual=residual,
        phase_states=dict(zip(names, states)), species=sp)
