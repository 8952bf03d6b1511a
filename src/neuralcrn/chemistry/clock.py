"""A chemical clock: the cyclic kill–recruit oscillator (SPEC §9), uni- and bimolecular only.

n ≥ 3 phase species P_0 … P_{n−1} (the *phase signals*) and one blank species B share a fixed
total M = Σ P_i + B (every reaction conserves it). For every phase i (indices mod n):

=====================================  =========  ===========================================
reaction                               rate       role
=====================================  =========  ===========================================
P_a + P_b → P_a + B   (b ∉ {a, a+1})   k          every phase kills every other phase except its
                                                  successor (n = 3: only its predecessor)
B + P_i → 2 P_i                        k          recruitment of blanks (approximate-majority
                                                  style: the abundant phase takes them back)
P_i → P_{i+1}                          μ          leak: the seed of the next phase
=====================================  =========  ===========================================

While P_i holds the mass (its *window*), the successor grows from the leak and from the blanks it
makes by killing P_i: with B quasi-steady (B ≈ P_{i+1}), p = [P_{i+1}] obeys
p' ≈ μM + k p² (1 − 2p/M), so p = a·tan(ωt) with a = √(μM/k), ω = √(μkM), and blows up after
π/(2ω): P_{i+1} kills P_i and takes over within a few 1/(kM). Residues of an old phase are
killed exponentially (rate kM) but regrow only algebraically (p' ≈ kp²), so the phase timing
does not remember earlier cycles: a **limit cycle** (a ring of pure conversions
P_i + P_{i+1} → 2P_{i+1}, as in CRN++, has a conserved Σ log P_i, neutral orbits, and damps out
with any leak). With ε = μ/(kM), the window length is

    τ = π / (2√(μkM)) + [ln(1/ε) + C₀] / (kM) + O(√ε ln(1/ε) / (kM)),

the second term from the depletion P_i ≈ M − 2p (∫ 2p/M dt = (2/kM) ln(M/a)) and C₀ =
:data:`HANDOVER_CONSTANT` from the universal hand-over (computed numerically once). The period is
n·τ. Overlaps (fraction of a phase's signal ∫P_i inside another phase's window): inside the
predecessor's window (the tan growth) ≈ [½ ln(1/ε) + c_pre]/(kMτ), inside the successor's window
(the decay after the hand-over) ≈ c_post/(kMτ), elsewhere exponentially small; the signal is
above M/2 for τ − c_duty/(kM) of each period. :class:`ChemicalClock` chooses μ and k from the
window length τ and the *sharpness* σ = kMτ (overlaps fall like ln σ / σ; the fastest rate, kM,
is what the ODE solver pays for). Measured values: :func:`neuralcrn.kinetics.measure_clock`.

Sources: approximate majority (Angluin, Aspnes, Eisenstat 2008) for the kill/recruit pair; the
relaxation-oscillator idea of alternating modules (Shi, Gao, Dochain, arXiv:2302.14226,
2211.02996); the ring oscillator of CRN++ (Vasić et al. 2020) as the neutral counterexample.
The construction and the asymptotics above are ours (docs/autonomous.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import NetworkError
from .network import Reaction, ReactionNetwork, is_valid_species_name

__all__ = ["ChemicalClock", "ClockPrediction", "kill_recruit_reactions", "HANDOVER_CONSTANT",
           "MIN_SHARPNESS"]

HANDOVER_CONSTANT = -2.20
"""C₀ of the window length (units 1/(kM)): measured on the symmetric oscillator at ε = 1e-5 …
1e-6 (−2.1945, −2.2008; LSODA, rtol 1e-12)."""

PRE_OVERLAP_CONSTANT = 0.05
"""c_pre: kMτ × (fraction of P_i inside the predecessor's window) − ½ ln(1/ε) (0.03 – 0.06)."""

POST_OVERLAP_CONSTANT = 1.0
"""c_post: kMτ × (fraction of P_i inside the successor's window) (1.00 – 1.01)."""

DUTY_CONSTANT = 2.34
"""c_duty: the signal is above M/2 for τ − c_duty/(kM) of each period (2.33 – 2.35)."""

GATE_SPEED = 1.0
"""δ/(kM) of the gate species (:meth:`ChemicalClock.gate_reactions`)."""

MIN_SHARPNESS = 60.0
"""Smallest σ = kMτ accepted: below it ε > 1e-3 and the asymptotic design rule fails."""


def kill_recruit_reactions(signals, blank: str, kill_rate: float, leak_rates) -> list[Reaction]:
    """The reactions of the kill–recruit oscillator (module docstring) for the phase species
    ``signals`` (n ≥ 3, in cyclic order), the blank species and rate constants ``kill_rate`` (k,
    kill and recruit) and ``leak_rates`` ((n,) μ_i of P_i → P_{i+1}).

    Order: for each phase a, its kills, then its recruitment, then its leak.
    Raises :class:`NetworkError` for fewer than 3 phases or a bad rate.
    """
    n = len(signals)
    if n < 3:
        raise NetworkError(f"a cyclic clock needs at least 3 phases, got {n}")
    if len(leak_rates) != n:
        raise NetworkError(f"one leak rate per phase is needed ({n}), got {len(leak_rates)}")
    rx = []
    for a in range(n):
        for b in range(n):
            if b != a and b != (a + 1) % n:
                rx.append(Reaction([signals[a], signals[b]], [signals[a], blank], kill_rate))
        rx.append(Reaction([blank, signals[a]], {signals[a]: 2}, kill_rate))
        rx.append(Reaction([signals[a]], [signals[(a + 1) % n]], leak_rates[a]))
    return rx


def _solve_epsilon(sigma: float) -> float:
    """ε = μ/(kM) with π/(2√ε) + ln(1/ε) + C₀ = σ (monotone in x = ln(1/ε); Newton)."""
    x = 2.0 * math.log(2.0 * sigma / math.pi)      # leading order
    for _ in range(50):
        g = 0.5 * math.pi * math.exp(0.5 * x) + x + HANDOVER_CONSTANT - sigma
        dg = 0.25 * math.pi * math.exp(0.5 * x) + 1.0
        step = g / dg
        x -= step
        if abs(step) < 1e-14 * max(1.0, abs(x)):
            break
    return math.exp(-x)


@dataclass(frozen=True)
class ClockPrediction:
    """Asymptotic properties of a :class:`ChemicalClock` (module docstring; time units).

    period: n·τ.  window: τ, the length of each phase's window (where its signal is the largest).
    duty: fraction of the period with the signal above M/2.  overlap_pre: fraction of a phase's
    signal inside its predecessor's window; overlap_post: inside its successor's window.
    epsilon: μ/(kM).
    """

    period: float
    window: float
    duty: float
    overlap_pre: float
    overlap_post: float
    epsilon: float


@dataclass(frozen=True)
class ChemicalClock:
    """An n-phase kill–recruit clock with equal windows (see the module docstring).

    Parameters
    ----------
    phases:     phase names in cyclic order (n ≥ 3); the signal of phase ``p`` is the species
                ``prefix + p``.
    window:     τ, the length of every phase's window (time units, > 0); the period is ≈ n·τ.
    sharpness:  σ = kMτ ≥ :data:`MIN_SHARPNESS`: the kill/recruit rate in units of the window.
                Overlaps fall like ln σ/σ; the solver's cost grows like σ (stiffness kM).
    mass:       M, the conserved total of the phase species and the blank (concentration).
    prefix:     species name prefix.
    stretch:    ``None`` or one factor ≥ 1 per phase: phase i's window is stretch_i·τ (its leak
                solves the window formula for σ_i = stretch_i·σ; with unequal windows the
                formula holds to O(1/(kM)) only, and the measured windows are what counts).

    Raises :class:`NetworkError` for invalid names, fewer than 3 phases or out-of-range numbers.
    """

    phases: tuple[str, ...]
    window: float
    sharpness: float = 300.0
    mass: float = 1.0
    prefix: str = "clock_"
    stretch: tuple | None = None

    def __post_init__(self):
        object.__setattr__(self, "phases", tuple(self.phases))
        if self.stretch is not None:
            st = tuple(float(v) for v in self.stretch)
            if len(st) != len(self.phases) or not all(math.isfinite(v) and v >= 1 for v in st):
                raise NetworkError(f"stretch needs one factor ≥ 1 per phase, got {self.stretch!r}")
            object.__setattr__(self, "stretch", st)
        if len(self.phases) < 3:
            raise NetworkError(f"a cyclic clock needs at least 3 phases, got {len(self.phases)}")
        if len(set(self.phases)) != len(self.phases):
            raise NetworkError(f"phase names must be distinct: {self.phases}")
        for name in self.species:
            if not is_valid_species_name(name):
                raise NetworkError(f"clock species name {name!r} is invalid (phase names and "
                                   f"prefix must make valid species names)")
        for name, v in (("window", self.window), ("mass", self.mass),
                        ("sharpness", self.sharpness)):
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise NetworkError(f"clock {name} must be a finite number > 0, got {v!r}")
        if self.sharpness < MIN_SHARPNESS:
            raise NetworkError(f"clock sharpness σ = kMτ = {self.sharpness:g} is below "
                               f"{MIN_SHARPNESS:g}: the phases would not separate (overlap "
                               f"≈ ln σ/σ)")

    # ------------------------------------------------------------ species and rates
    @property
    def n(self) -> int:
        return len(self.phases)

    def signal(self, phase: str) -> str:
        """Species whose concentration signals ``phase`` (raises NetworkError if unknown)."""
        if phase not in self.phases:
            raise NetworkError(f"unknown clock phase {phase!r}; phases are "
                               f"{', '.join(self.phases)}")
        return self.prefix + phase

    @property
    def signals(self) -> tuple[str, ...]:
        return tuple(self.prefix + p for p in self.phases)

    @property
    def blank(self) -> str:
        return self.prefix + "blank"

    @property
    def species(self) -> tuple[str, ...]:
        """Signals in phase order, then the blank."""
        return self.signals + (self.blank,)

    @property
    def kill_rate(self) -> float:
        """k = σ/(Mτ) (kill and recruit)."""
        return self.sharpness / (self.mass * self.window)

    @property
    def epsilon(self) -> float:
        """ε = μ/(kM) solving the window-length formula for σ."""
        return _solve_epsilon(self.sharpness)

    @property
    def leak_rate(self) -> float:
        """μ = ε·kM (of an unstretched phase)."""
        return self.epsilon * self.kill_rate * self.mass

    @property
    def leak_rates(self) -> tuple[float, ...]:
        """μ_i of every phase (stretched phases leak less: longer windows)."""
        if self.stretch is None:
            return (self.leak_rate,) * self.n
        kM = self.fastest_rate
        return tuple(_solve_epsilon(f * self.sharpness) * kM for f in self.stretch)

    @property
    def fastest_rate(self) -> float:
        """kM: the stiffness the clock adds to a network (1/time)."""
        return self.kill_rate * self.mass

    def reactions(self) -> list[Reaction]:
        return kill_recruit_reactions(self.signals, self.blank, self.kill_rate,
                                      list(self.leak_rates))

    # ------------------------------------------------------------ gate species
    def gate(self, phase: str) -> str:
        """The *gate species* of ``phase`` (see :meth:`gate_reactions`)."""
        self.signal(phase)
        return self.prefix + "gate_" + phase

    @property
    def gate_rate(self) -> float:
        """δ = :data:`GATE_SPEED`·kM: the gate species' turnover (it follows P² with lag 1/δ)."""
        return GATE_SPEED * self.fastest_rate

    def gate_reactions(self, phases=None) -> list[Reaction]:
        """For each of ``phases`` (default all): ``2 P → 2 P + G`` at δ/M and ``G → ∅`` at δ,
        so G ≈ P²/M (plateau M). A gate *quadratic* in the signal opens sharply: during the
        hand-over P ≈ 1/(k(t* − t)), so ∫ P dt grows like ln(1/(t* − t)) — a transfer catalysed
        by P is smeared over the whole window — but ∫ P²/M dt ≈ P/(kM) stays negligible until
        P ~ M. Bimolecular; no extra stiffness (δ = kM)."""
        d = self.gate_rate
        out = []
        for p in (self.phases if phases is None else phases):
            sig, g = self.signal(p), self.gate(p)
            out.append(Reaction({sig: 2}, {sig: 2, g: 1}, d / self.mass))
            out.append(Reaction([g], [], d))
        return out

    def initial(self, phase: str | None = None) -> dict[str, float]:
        """All mass in the signal of ``phase`` (default the first): a start that reaches the limit
        cycle within about one period."""
        return {self.signal(phase or self.phases[0]): float(self.mass)}

    def network(self, phase: str | None = None, gates=(), name: str = "clock") -> ReactionNetwork:
        """The clock alone, started with all mass in ``phase`` (see :meth:`initial`), with the
        gate species of the phases ``gates`` (:meth:`gate_reactions`) after its own species."""
        gates = tuple(gates)
        return ReactionNetwork(self.reactions() + self.gate_reactions(gates),
                               self.species + tuple(self.gate(p) for p in gates),
                               self.initial(phase), name=name)

    # ------------------------------------------------------------ predictions
    def prediction(self) -> ClockPrediction:
        """The asymptotic period, duty cycle and overlaps (module docstring)."""
        eps, kM, tau = self.epsilon, self.fastest_rate, self.window
        log = math.log(1.0 / eps)
        return ClockPrediction(
            period=tau * (self.n if self.stretch is None else sum(self.stretch)), window=tau,
            duty=(tau - DUTY_CONSTANT / kM) / (self.n * tau),
            overlap_pre=(0.5 * log + PRE_OVERLAP_CONSTANT) / (kM * tau),
            overlap_post=POST_OVERLAP_CONSTANT / (kM * tau), epsilon=eps)
