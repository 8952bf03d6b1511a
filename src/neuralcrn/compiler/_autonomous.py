"""The autonomous Neural CRN: one network whose own chemical clock runs every training step.

A four-phase :class:`~neuralcrn.chemistry.clock.ChemicalClock` (``feedforward → latch →
feedback → wash``, signals K_ff, K_latch, K_fb, K_wash of plateau M) sequences the two-phase
circuit (:mod:`neuralcrn.compiler._two_phase`). The network is simulated continuously with
every rate constant fixed; the only outside action is a **dose** per clock period: x and y are
added to storage species (``xs``, ``ys``), at a fixed point of the period (``dose_at`` of the way
through the feedback window). Every reaction is uni- or bimolecular.

**Gating without a third reactant.** A clock signal K gates only *transfers*: ``K + A → K + B``
(a unimolecular move A → B made bimolecular by its catalyst). Every other reaction is gated by an
*operand* that exists only in its phase — the forms of x, u, z and y that the gated transfers
create and destroy:

================  ===============================================  ===========================
phase (signal)    gated transfers (rate λ = gate/(Mτ))              what then runs by itself
================  ===============================================  ===========================
feedforward (ff)  xs → x (+ z when z(0) = u); u_idle → u; ys → yq   drive Θ + x → Θ + x + Z,
                                                                    h + u → h + u + Z, decay
                                                                    2Z → Z, Z annihilation
latch             z → zf + zc; x → xf; u → u_frozen                 (z, x, u are gone: the
                                                                    forward pass stops, z(T)
                                                                    and u are frozen in zf, xf)
feedback (fb)     zc → zp; yq → y                                   the feedback cascades of the
                                                                    two-phase step (below)
wash              zf, xf, zc, zp, y, E, A, D, ŷ → ∅;                —
                  u_frozen → u_idle (the constant unit is recycled)
================  ===============================================  ===========================

The feedback cascades (rate r = ``spec.rates.update``) are the two-phase circuit's, fed by
*pulses* instead of the tracking readout: ``zp`` decays at r and, while it does, produces E at
r·W·zp (and the monitor ŷ alongside), ``y`` moves into E^{−}, E decays at r; so E receives exactly
W(0)·z(T) − y = e in total (D = W − W(0) compensates the concurrent update of W, as in the
two-phase step) and ∫ r E = e, ∫ r A = W(0)ᵀe. With zf and xf frozen (latched before the
feedback signal rises), ΔW = −η e zf ᵀ and ΔΘ = −η T (Wᵀe) xfᵀ exactly as in the two-phase step;
the monitor ŷ (dual rail ``yhat``) ends at W(0)·z(T): the measurement of the output.

**The forward window.** The gates are the clock's *gate species* G ≈ K²/M
(:meth:`~neuralcrn.chemistry.clock.ChemicalClock.gate_reactions`), which open within a few
1/(kM) of a phase change (a gate linear in K would be smeared over the whole window by the
hand-over's 1/(t* − t) rise). The drive operands exist from the load (G_ff) to the latch
(G_latch): their profile g(t) = x(t)/x_dose integrates to T_eff (:func:`clock_timing`), and the
forward reactions (drive, bias, decay) run at T/T_eff times the ideal rates, so the chemistry
integrates dz/dt = Θu + h − φ(z) over "time T". **The drain**: the latch takes the parcels of Z
one after another; the latched part Zf keeps catalysing the decay of the rest with its signed
value (Z^s + Zf^s → Zf^s, Z^s + Zf^−s → Zf^−s + 2Z^s, rate α), so the rest decays at
α·|z| as the whole pot would (with 2Z → Z alone it would decay at α·[Z], slower and slower as
it drains: a 5 % error in ŷ for the XOR model). The latched z is then the forward trajectory
averaged over the parcels' latch times: exact for linear models (the latch times average to T),
≈ ½ z̈·Var(latch time) for nonlinear ones; :func:`overlap_forward` computes it from the clock's
measured gate profiles.

Deviations from the host-clocked two-phase step come only from the clock's overlaps (a
smeared start and end of the forward window: nonlinear models only; a wash or activation that
starts before its window: products of exponentially small tails) and from unfinished cascades
(e^{−rτ}-small); docs/autonomous.md derives and measures them.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

from ..chemistry.clock import ChemicalClock
from ..chemistry.dualrail import DualRail, catalytic_product, transfer
from ..chemistry.network import Reaction, ReactionNetwork
from ..errors import SpecError
from ..ideal.spec import ModelSpec, Params
from ..kinetics import DEFAULT_METHOD
from ._modules import NeuralCRN, _annihilate, _initial_params, _support
from ._species import SpeciesMap, build_species_map
from ._two_phase import update_reactions

__all__ = ["AUTONOMOUS_PHASES", "AUTONOMOUS_METHOD", "ClockOptions", "ClockTiming", "AutonomousSpecies",
           "AutonomousCircuit", "compile_autonomous", "autonomous_program", "clock_timing",
           "autonomous_step", "AutonomousStepResult", "overlap_forward", "GATED_PHASES",
           "PACE", "pacemaker_reactions", "MIN_GATE", "MIN_CASCADE"]

AUTONOMOUS_PHASES = ("feedforward", "latch", "feedback", "hold", "wash")
"""The clock's phases, in order."""

GATED_PHASES = ("feedforward", "latch", "feedback", "wash")
"""Phases whose gate species catalyse transfers (``hold`` separates feedback and wash)."""

PROFILE_POINTS = 40001
"""Grid of :attr:`ClockTiming.profile` over one period."""

MIN_GATE = 15.0
"""Smallest gate strength λMτ: a gated transfer must finish within its window (e^{−15} ≈ 3e-7)."""

MIN_CASCADE = 20.0
"""Smallest r·τ: the feedback cascades (three stages) must finish within the feedback window
(residue e^{−x}(1 + x + x²/2) ≈ 4e-7 at x = 20, the two-phase schedule's value)."""


@dataclass(frozen=True)
class ClockOptions:
    """The clock and the gates of an autonomous circuit.

    window:     τ, the length of each clock phase (time units); ``None`` → the model's T (the
                forward window then runs at about the ideal rate). The period is ≈ 5τ.
    sharpness:  σ = kMτ of the clock (overlaps ≈ ln σ/σ; the stiffness the solver pays is σ/τ).
    gate:       λMτ of every gated transfer (load, latch, activation, wash).
    dose_at:    where in the hold window the doses land (fraction, 0 ≤ dose_at < 1; default
                its start): after the feedback cascades have produced ŷ and before the wash
                signal rises, so that the period of a dose contains its whole forward pass and
                feedback and ŷ can be read at its end.
    mass:       M, the clock's total (the signals' plateau).
    pacemaker:  b ≥ 0 (in units of M): with b > 0 each dose also adds b of the pacemaker species
                ``pace``, which ends the hold window ≈ 1/(k·b) later (:func:`pacemaker_reactions`):
                the clock is *entrained* to the doses (its phase error is reset every period;
                needed under molecular noise). 0: the clock runs freely and the dose interval is
                its natural period.
    hold:       the hold window's length in units of τ (≥ 1). With a pacemaker, a long natural
                hold (e.g. 3) that the dose cuts short lets the clock run early or late by about
                a window without losing the doses.
    """

    window: float | None = None
    sharpness: float = 300.0
    gate: float = 100.0
    dose_at: float = 0.0
    mass: float = 1.0
    pacemaker: float = 0.0
    hold: float = 1.0

    def __post_init__(self):
        for name in ("sharpness", "gate", "mass"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise SpecError(f"clock {name} must be a finite number > 0, got {v!r}")
        if self.window is not None and not (isinstance(self.window, (int, float))
                                            and math.isfinite(self.window) and self.window > 0):
            raise SpecError(f"clock window must be a finite number > 0, got {self.window!r}")
        if not (isinstance(self.pacemaker, (int, float)) and math.isfinite(self.pacemaker)
                and 0 <= self.pacemaker < 1):
            raise SpecError(f"pacemaker must be a fraction of the clock's mass in [0, 1), got "
                            f"{self.pacemaker!r}")
        if not (isinstance(self.hold, (int, float)) and math.isfinite(self.hold)
                and self.hold >= 1):
            raise SpecError(f"hold must be a window factor ≥ 1, got {self.hold!r}")
        if not (isinstance(self.dose_at, (int, float)) and 0 <= self.dose_at < 1):
            raise SpecError(f"dose_at must be a fraction in [0, 1), got {self.dose_at!r}")
        from ..chemistry.clock import MIN_SHARPNESS
        if self.sharpness < MIN_SHARPNESS:
            raise SpecError(f"clock sharpness σ = {self.sharpness:g} is below "
                            f"{MIN_SHARPNESS:g}: the phases would not separate")
        if self.gate < MIN_GATE:
            raise SpecError(f"gate strength λMτ = {self.gate:g} is below {MIN_GATE:g}: a gated "
                            f"transfer would not finish within its phase window (residue "
                            f"e^(-{self.gate:g}) = {math.exp(-self.gate):.1e})")

    def to_dict(self) -> dict:
        return {"window": self.window, "sharpness": self.sharpness, "gate": self.gate,
                "dose_at": self.dose_at, "mass": self.mass, "pacemaker": self.pacemaker,
                "hold": self.hold}

    def resolved_window(self, spec: ModelSpec) -> float:
        return float(spec.T) if self.window is None else float(self.window)

    def clock(self, spec: ModelSpec) -> ChemicalClock:
        """The :class:`ChemicalClock` (phases :data:`AUTONOMOUS_PHASES`)."""
        return _clock(self.resolved_window(spec), self.sharpness, self.mass, self.hold)

    def gate_rate(self, spec: ModelSpec) -> float:
        """λ = gate/(Mτ) (per unit signal concentration and time)."""
        return self.gate / (self.mass * self.resolved_window(spec))


@dataclass(frozen=True)
class ClockTiming:
    """Measured timing of a clock with its gates (:func:`clock_timing`; time units).

    period:        the dose interval: the free-running clock's period, or with a pacemaker the
                   period it is entrained to (the hold window ends ≈ 1/(k·b) after the dose).
    starts, windows: ``(5,)`` phase window starts (from the start of the feedforward window) and
                   lengths.
    dose_offset:   time of the dose after the start of the feedforward window.
    clock_state:   clock species (signals, blank, gate species of :data:`GATED_PHASES`) at the
                   dose time, on the limit cycle.
    t_eff:         ∫ g(t) dt of the drive operand's profile over a period (a unit dose).
    loaded, latched: fraction of a unit dose in the active form at the end of the feedforward
                   window / in the frozen form at the end of the latch window.
    latch_spread:  standard deviation of the latch time of a dose's parcels, measured in the
                   forward pass's own time S(t) = ∫ (loaded fraction) dt (whose mean is T_eff):
                   the latched z is the forward trajectory averaged over it, so a nonlinear model
                   deviates by ≈ ½ z̈(T)·(T/T_eff)²·latch_spread² (docs/autonomous.md).
    measurement:   the free-running clock's :meth:`OscillationMeasurement.summary`.
    natural_period: the free-running clock's period (= ``period`` without a pacemaker).
    pacemaker:     b, the pacemaker dosed each period (0: the clock runs freely).
    cycle:         ``(t (P,), states (P, C))``: the clock species (as ``clock_state``) on one
                   period of the limit cycle, t measured from the dose time.
    profile:       ``(t, load, latch)``: the hazard rates λ·G_ff(t) and λ·G_latch(t) of the
                   load and latch transfers on a uniform grid of one period from the dose
                   (:data:`PROFILE_POINTS` points; for :func:`overlap_forward`).
    """

    period: float
    starts: tuple[float, ...]
    windows: tuple[float, ...]
    dose_offset: float
    clock_state: tuple[float, ...]
    t_eff: float
    loaded: float
    latched: float
    latch_spread: float
    measurement: dict = field(default_factory=dict, compare=False)
    natural_period: float = math.nan
    pacemaker: float = 0.0
    hold: float = 1.0
    profile: tuple = field(default=((), (), ()), compare=False, repr=False)
    cycle: tuple = field(default=((), ()), compare=False, repr=False)


def _clock(window, sharpness, mass, hold) -> ChemicalClock:
    stretch = None if hold == 1.0 else tuple(hold if p == "hold" else 1.0
                                            for p in AUTONOMOUS_PHASES)
    return ChemicalClock(AUTONOMOUS_PHASES, window, sharpness, mass, stretch=stretch)


PACE = "pace"
"""The pacemaker species (:attr:`ClockOptions.pacemaker`)."""


def pacemaker_reactions(clock: ChemicalClock) -> list[Reaction]:
    """``pace + K_hold → K_wash`` (rate k, the clock's kill rate) and ``pace → ∅`` (kM/10): a
    pacemaker dose turns hold mass into a seed of the wash phase, which then takes over within
    ≈ 1/(k·b): the hold window ends a fixed time after the dose, whatever the clock's phase
    error was (within the hold window). A pacemaker that finds no hold signal decays."""
    hold, wash = clock.signal("hold"), clock.signal("wash")
    return [Reaction([PACE, hold], [wash], clock.kill_rate),
            Reaction([PACE], [], 0.1 * clock.fastest_rate)]


def _crossing_after(t, a, b, t0=0.0):
    """First time ≥ t0 where a − b goes from < 0 to ≥ 0 (linear interpolation; nan if none)."""
    d = a - b
    i = np.flatnonzero((d[:-1] < 0) & (d[1:] >= 0) & (t[1:] >= t0))
    if i.size == 0:
        return math.nan
    i = i[0]
    return float(t[i] - d[i] * (t[i + 1] - t[i]) / (d[i + 1] - d[i]))


@functools.lru_cache(maxsize=32)
def _timing(window: float, sharpness: float, gate: float, mass: float, dose_at: float,
            pacemaker: float = 0.0, hold: float = 1.0) -> ClockTiming:
    from ..kinetics import simulate
    from ..kinetics._oscillation import measure_clock

    clock = _clock(window, sharpness, mass, hold)
    m = measure_clock(clock, gates=GATED_PHASES)
    ph = {p: k for k, p in enumerate(AUTONOMOUS_PHASES)}
    t_dose = float(m.starts[ph["hold"]] + dose_at * m.windows[ph["hold"]])
    kw = dict(method="tsit5", rtol=1e-11, atol=1e-14, max_steps=5_000_000)
    net = clock.network(gates=GATED_PHASES)
    at_dose = simulate(net, t_dose, 2, x0=m.initial_state, **kw).concentrations[-1]
    period = m.period
    if pacemaker > 0:
        # the entrained clock: a dose of b pacemaker every period P_d ends the hold window
        net = ReactionNetwork(list(net.reactions) + pacemaker_reactions(clock),
                              net.species + (PACE,))
        at_dose = np.append(at_dose, 0.0)
        kick = np.zeros(len(net.species))
        kick[-1] = pacemaker * mass
        tr = simulate(net, period, 20001, x0=at_dose + kick, **kw)
        c = {p: tr.concentrations[:, net.species.index(clock.signal(p))]
             for p in AUTONOMOUS_PHASES}
        t_forced = _crossing_after(tr.times, c["wash"], c["hold"])
        t_natural = float(m.starts[ph["wash"]] - t_dose)
        if not (0 < t_forced < t_natural):
            raise SpecError(f"the pacemaker (b = {pacemaker:g}) does not end the hold window "
                            f"before the clock does: use a larger pacemaker or an earlier "
                            f"dose (dose_at = {dose_at:g})")
        period = float(m.period - t_natural + t_forced)
        prev = at_dose
        for _ in range(12):            # converge onto the forced periodic orbit
            at_dose = simulate(net, period, 2, x0=prev + kick, **kw).concentrations[-1]
            change = float(np.max(np.abs(at_dose - prev)))
            prev = at_dose
        if change > 1e-8:             # pragma: no cover - a locked clock converges fast
            raise SpecError(f"the pacemaker does not lock the clock (state change {change:.1e} "
                            f"per period after 12 periods)")
        kick_state = at_dose + kick
    else:
        kick_state = at_dose
    # one period from the dose on the cycle: window starts, and the cycle itself (for drift)
    cyc = simulate(net, period, 20001, x0=kick_state, **kw)
    sig = np.stack([cyc.concentrations[:, net.species.index(clock.signal(p))]
                    for p in AUTONOMOUS_PHASES], axis=1)
    ff_start = _crossing_after(cyc.times, sig[:, 0], sig[:, -1])
    starts = [0.0] + [(_crossing_after(cyc.times, sig[:, k], sig[:, k - 1]) - ff_start)
                      % period for k in range(1, len(AUTONOMOUS_PHASES))]
    windows = list(np.diff(starts + [period]))
    dose_offset = float(period - ff_start)
    # a unit dose through the load and latch gates; acc accumulates ∫ x dt
    lam = gate / (mass * window)
    gates = (clock.gate("feedforward"), clock.gate("latch"))
    test = ReactionNetwork(
        list(net.reactions) + [
            Reaction([gates[0], "xs"], [gates[0], "x"], lam),
            Reaction([gates[1], "x"], [gates[1], "xf"], lam),
            Reaction(["x"], ["x", "acc"], 1.0)],
        net.species + ("xs", "x", "xf", "acc"))
    x0 = np.concatenate([kick_state, [1.0, 0.0, 0.0, 0.0]])
    t_ff_end = ff_start + windows[0]
    t_lt_end = ff_start + windows[0] + windows[1]
    i = {s: k for k, s in enumerate(test.species)}
    dense = simulate(test, period, PROFILE_POINTS, x0=x0, **kw)
    t, D = dense.times, dense.concentrations
    t_eff = float(D[-1, i["acc"]])
    loaded_ff = float(np.interp(t_ff_end, t, D[:, i["x"]]))
    latched_lt = float(np.interp(t_lt_end, t, D[:, i["xf"]]))
    # the latch-time distribution in "intensive time" S(t) = ∫ loaded fraction dt
    loaded = 1.0 - D[:, i["xs"]]
    S = np.concatenate([[0.0], np.cumsum(0.5 * (loaded[1:] + loaded[:-1]) * np.diff(t))])
    dF = np.diff(D[:, i["xf"]])
    Sm = 0.5 * (S[1:] + S[:-1])
    mean = float(np.sum(Sm * dF) / np.sum(dF))
    spread = float(np.sqrt(max(np.sum((Sm - mean) ** 2 * dF) / np.sum(dF), 0.0)))
    return ClockTiming(period=float(period), starts=tuple(float(v) for v in starts),
                       windows=tuple(float(v) for v in windows), dose_offset=dose_offset,
                       clock_state=tuple(float(v) for v in at_dose), t_eff=t_eff,
                       loaded=loaded_ff, latched=latched_lt,
                       latch_spread=spread, measurement=m.summary(),
                       natural_period=float(m.period), pacemaker=float(pacemaker),
                       profile=(tuple(t), tuple(lam * D[:, i[gates[0]]]),
                                tuple(lam * D[:, i[gates[1]]])),
                       cycle=(cyc.times[:-1], cyc.concentrations[:-1]))


def clock_timing(spec: ModelSpec, options: ClockOptions = ClockOptions()) -> ClockTiming:
    """Measure the clock of ``options`` for ``spec`` (cached per window, sharpness, gate, mass
    and dose position): its limit cycle, the dose time, the clock state there and the
    effective forward time T_eff of the gates (a few seconds the first time; tight tolerances)."""
    return _timing(options.resolved_window(spec), float(options.sharpness), float(options.gate),
                   float(options.mass), float(options.dose_at), float(options.pacemaker),
                   float(options.hold))


@dataclass(frozen=True)
class AutonomousSpecies:
    """Species of an autonomous circuit beyond the standard :class:`SpeciesMap` roles.

    ``smap.x`` are the active drive operands, ``smap.y`` the active target pulse, ``smap.yhat``
    the output monitor; ``xs``/``ys`` the dose storage, ``yq`` the queued target, ``xf`` the
    latched inputs, ``zf``/``zc``/``zp`` the latched state, its copy and its pulse, ``dW`` the
    tracker of ΔW (``None`` when W is frozen). ``units``: for each constant drive entry (and the
    bias unit), ``(idle, active, frozen, value)``; ``bias_unit`` is the index of the unit that
    gates h (its active species drives h·1/value).
    """

    smap: SpeciesMap
    clock: ChemicalClock
    xs: tuple[DualRail, ...]
    xf: tuple[DualRail, ...]
    ys: tuple[DualRail, ...]
    yq: tuple[DualRail, ...]
    zf: tuple[DualRail, ...]
    zc: tuple[DualRail, ...]
    zp: tuple[DualRail, ...]
    dW: tuple[tuple[DualRail, ...], ...] | None
    units: tuple[tuple[str, str, str, float], ...]
    bias_unit: int

    @property
    def gates(self) -> tuple[str, ...]:
        """The clock's gate species of the gated phases (all but ``hold``)."""
        return tuple(self.clock.gate(p) for p in GATED_PHASES)

    @property
    def frozen_u(self) -> tuple:
        """The latched drive operand of each u entry (xf rail pair or a unit's frozen species)."""
        s = self.smap
        return self.xf + tuple(self.units[j - s.d][2] for j in range(s.d, s.n_u))

    @property
    def species(self) -> tuple[str, ...]:
        """State order: clock, x storage / active / latched, units, z / zf / zc / zp, Θ, h, W,
        y storage / queued / active, ŷ, E, A, D."""
        s = self.smap
        rails = SpeciesMap._rails
        d = () if self.dW is None else tuple(r for row in self.dW for r in row)
        units = tuple(n for u in self.units for n in u[:3])
        return (self.clock.species + self.gates + rails(self.xs + s.x + self.xf) + units
                + rails(s.z + self.zf + self.zc + self.zp) + s.parameter_species
                + rails(self.ys + self.yq + s.y + s.yhat + s.e + s.adj + d))


def autonomous_species(spec: ModelSpec, clock: ChemicalClock) -> AutonomousSpecies:
    """The :class:`AutonomousSpecies` of a specification and its clock."""
    smap = build_species_map(spec)
    units = []
    for j in range(smap.d, smap.n_u):
        u = smap.u[j]
        units.append((f"{u}_idle", u, f"{u}_frozen", float(smap.u_value[j])))
    bias_unit = 0
    if not units:  # no constant drive entry: a unit of 1 gates the bias h
        units.append(("one_idle", "one", "one_frozen", 1.0))
    elif units[0][3] == 0.0:
        units.append(("one_idle", "one", "one_frozen", 1.0))
        bias_unit = len(units) - 1
    rail = lambda fmt, k: tuple(DualRail(fmt.format(i + 1)) for i in range(k))  # noqa: E731
    dW = (tuple(tuple(DualRail(f"dW_{k + 1}_{i + 1}") for i in range(smap.n))
                for k in range(smap.m)) if spec.train_W else None)
    return AutonomousSpecies(smap, clock, rail("xs{}", smap.d), rail("xf{}", smap.d),
                             rail("ys{}", smap.m), rail("yq{}", smap.m), rail("zf{}", smap.n),
                             rail("zc{}", smap.n), rail("zp{}", smap.n), dW, tuple(units),
                             bias_unit)


def _gated(signal: str, source: str, targets: list[str], rate: float) -> Reaction:
    """``K + A → K + targets``: the transfer A → targets, gated by the clock signal K."""
    return Reaction([signal, source], [signal] + targets, rate)


def _gated_rails(signal, source: DualRail, targets, rate) -> list[Reaction]:
    """Gated transfer of both rails of ``source`` into the same-sign rails of ``targets``."""
    return [_gated(signal, source.rail(s), [t.rail(s) for t in targets], rate) for s in (1, -1)]


def _feedforward(spec, sp: AutonomousSpecies, lam: float, factor: float) -> list[Reaction]:
    smap, K = sp.smap, sp.clock.gate("feedforward")
    z0 = smap.z0_is_u
    rx: list[Reaction] = []
    for j in range(smap.d):
        rx += _gated_rails(K, sp.xs[j], [smap.x[j]] + ([smap.z[j]] if z0 else []), lam)
    for j, (idle, active, _, value) in enumerate(sp.units):
        col = smap.d + j
        extra = []
        if z0 and col < smap.n_u:
            extra = [smap.z[col].rail(smap.u_sign[col])]
        rx.append(_gated(K, idle, [active] + extra, lam))
    for k in range(smap.m):
        rx += _gated_rails(K, sp.ys[k], [sp.yq[k]], lam)
    for i, j in _support(smap):
        rx += catalytic_product(smap.theta[i][j], smap.u[j], [(smap.z[i], smap.u_sign[j])],
                                factor)
    idle, unit, _, value = sp.units[sp.bias_unit]
    for i in range(smap.n):
        rx += catalytic_product(smap.h[i], unit, [(smap.z[i], 1)], factor / value)
    a = float(spec.alpha) * factor
    k_ann = spec.rates.annihilation
    for zi, fi in zip(smap.z, sp.zf):
        for s in (1, -1):
            Zs, Fs, Fo = zi.rail(s), fi.rail(s), fi.rail(-s)
            if spec.nonlinearity == "quadratic":
                rx.append(Reaction({Zs: 2}, {Zs: 1}, a))
                # while the latch drains Z, the latched part keeps catalysing the decay of the
                # rest with its signed value: d[Z^s] −= α[Z^s](Zf^s − Zf^−s), so the rest decays
                # at α·|z| (intensive), not at α·[Z] (module docstring: the drain)
                rx.append(Reaction([Zs, Fs], [Fs], a))
                rx.append(Reaction([Zs, Fo], {Fo: 1, Zs: 2}, a))
    rx += _annihilate(smap.z, k_ann)
    return rx


def _latch(sp: AutonomousSpecies, lam: float) -> list[Reaction]:
    smap, K = sp.smap, sp.clock.gate("latch")
    rx: list[Reaction] = []
    for i in range(smap.n):
        rx += _gated_rails(K, smap.z[i], [sp.zf[i], sp.zc[i]], lam)
    for j in range(smap.d):
        rx += _gated_rails(K, smap.x[j], [sp.xf[j]], lam)
    for _, active, frozen, _ in sp.units:
        rx.append(_gated(K, active, [frozen], lam))
    return rx


def _feedback(spec, sp: AutonomousSpecies, lam: float) -> list[Reaction]:
    smap, K = sp.smap, sp.clock.gate("feedback")
    r, eta, T = float(spec.rates.update), float(spec.learning_rate), float(spec.T)
    rx: list[Reaction] = []
    for i in range(smap.n):
        rx += _gated_rails(K, sp.zc[i], [sp.zp[i]], lam)
    for k in range(smap.m):
        rx += _gated_rails(K, sp.yq[k], [smap.y[k]], lam)
    for i in range(smap.n):
        rx += transfer(sp.zp[i], [], r)
        for k in range(smap.m):
            rx += catalytic_product(smap.W[k][i], sp.zp[i], [(smap.e[k], 1), (smap.yhat[k], 1)],
                                    r)
            if sp.dW is not None:
                rx += catalytic_product(sp.dW[k][i], sp.zp[i],
                                        [(smap.e[k], -1), (smap.yhat[k], -1)], r)
    for k in range(smap.m):
        rx += transfer(smap.y[k], [(smap.e[k], -1)], r)
        rx += transfer(smap.e[k], [], r)
    for k in range(smap.m):
        for i in range(smap.n):
            rx += catalytic_product(smap.W[k][i], smap.e[k], [(smap.adj[i], 1)], r)
            if sp.dW is not None:
                rx += catalytic_product(sp.dW[k][i], smap.e[k], [(smap.adj[i], -1)], r)
                rx += catalytic_product(smap.e[k], sp.zf[i],
                                        [(smap.W[k][i], -1), (sp.dW[k][i], -1)], eta * r)
    for a in smap.adj:
        rx += transfer(a, [], r)
    rx += update_reactions(spec, smap, sp.frozen_u, eta * T * r, r)
    return rx


def _wash(sp: AutonomousSpecies, lam: float) -> list[Reaction]:
    smap, K = sp.smap, sp.clock.gate("wash")
    rails = sp.zf + sp.xf + sp.zc + sp.zp + smap.y + smap.e + smap.adj + smap.yhat
    if sp.dW is not None:
        rails += tuple(r for row in sp.dW for r in row)
    rx = [_gated(K, s, [], lam) for rail in rails for s in rail.species]
    for idle, _, frozen, _ in sp.units:
        rx.append(_gated(K, frozen, [idle], lam))
    return rx


@dataclass(frozen=True, eq=False)
class AutonomousCircuit:
    """A compiled autonomous Neural CRN (see the module docstring).

    Attributes
    ----------
    circuit:   the network as a :class:`NeuralCRN` with modules ``clock``, ``feedforward``
               (loads, drive, decay), ``latch``, ``feedback`` (activations, cascades,
               re-balancing), ``wash``; its initial state holds the parameters, the clock on its
               limit cycle at the dose time and the idle constant units.
    species:   :class:`AutonomousSpecies`.  options: :class:`ClockOptions`.
    timing:    :class:`ClockTiming` (period = the dose interval).
    drive_factor: T/T_eff, the factor on the forward reactions' rate constants.
    """

    circuit: NeuralCRN
    species: AutonomousSpecies
    options: ClockOptions
    timing: ClockTiming
    drive_factor: float

    @property
    def spec(self) -> ModelSpec:
        return self.circuit.spec

    @property
    def network(self) -> ReactionNetwork:
        return self.circuit.network

    @property
    def clock(self) -> ChemicalClock:
        return self.species.clock

    @property
    def period(self) -> float:
        return self.timing.period

    def with_params(self, params: Params) -> "AutonomousCircuit":
        """Same circuit with new parameter concentrations."""
        return AutonomousCircuit(self.circuit.with_params(params), self.species, self.options,
                                 self.timing, self.drive_factor)

    def readout_matrix(self) -> np.ndarray:
        """``(m, S)`` matrix M with ŷ = M @ state (the monitor), read after a dose's feedback."""
        idx = {s: i for i, s in enumerate(self.circuit.species)}
        M = np.zeros((self.spec.outputs, len(idx)))
        for k, rail in enumerate(self.species.smap.yhat):
            M[k, idx[rail.plus]], M[k, idx[rail.minus]] = 1.0, -1.0
        return M


def compile_autonomous(spec: ModelSpec, params: Params | None = None,
                       options: ClockOptions = ClockOptions()) -> AutonomousCircuit:
    """Compile the autonomous circuit of ``spec`` (module docstring) with initial parameters.

    Raises
    ------
    SpecError
        The exact gradient (the autonomous circuit runs the two-phase step: first-order), a
        cubic model (trimolecular), a clock window too short for the feedback cascades
        (r·τ < :data:`MIN_CASCADE`), bad options or parameters.
    """
    if not isinstance(spec, ModelSpec):
        raise SpecError(f"expected a ModelSpec, got {type(spec).__name__}")
    if not isinstance(options, ClockOptions):
        raise SpecError(f"expected ClockOptions, got {type(options).__name__}")
    if spec.gradient != "first-order":
        raise SpecError("the autonomous circuit runs the two-phase step, which implements the "
                        "first-order gradient (SPEC §2); use gradient='first-order'")
    if spec.nonlinearity == "cubic":
        raise SpecError("the cubic model needs the trimolecular decay 3Z → 2Z; the autonomous "
                        "circuit is uni- and bimolecular only (use the quadratic model)")
    if float(spec.rates.sign_routing) > 0:
        raise SpecError("rates.sign_routing (the routed update) is an option of the "
                        "host-clocked two-phase circuit; the autonomous circuit has no third "
                        "phase for it (use sign_routing=0)")
    tau = options.resolved_window(spec)
    r = float(spec.rates.update)
    if r * tau < MIN_CASCADE:
        raise SpecError(
            f"the clock period {4 * tau:g} (window τ = {tau:g}) is shorter than the feedback "
            f"phase needs: its cascades at rate r = {r:g} need r·τ ≥ {MIN_CASCADE:g} to finish "
            f"(r·τ = {r * tau:g}); use a window ≥ {MIN_CASCADE / r:g} or a larger "
            f"rates.update")
    clock = options.clock(spec)
    timing = clock_timing(spec, options)
    sp = autonomous_species(spec, clock)
    lam = options.gate_rate(spec)
    factor = float(spec.T) / timing.t_eff
    clock_rx = clock.reactions() + clock.gate_reactions(GATED_PHASES)
    if options.pacemaker > 0:
        clock_rx += pacemaker_reactions(clock)
    mods = (("clock", clock_rx), ("feedforward", _feedforward(spec, sp, lam, factor)),
            ("latch", _latch(sp, lam)), ("feedback", _feedback(spec, sp, lam)),
            ("wash", _wash(sp, lam)))
    species = sp.species
    clock_species = clock.species + sp.gates
    if options.pacemaker > 0:
        species = species[:len(clock_species)] + (PACE,) + species[len(clock_species):]
        clock_species += (PACE,)
    init = sp.smap.load_params(_initial_params(spec, params))
    init.update(zip(clock_species, timing.clock_state))
    for idle, _, _, value in sp.units:
        init[idle] = abs(value)
    reactions, ranges, modules = [], [], []
    for name, rx in mods:
        ranges.append((name, (len(reactions), len(reactions) + len(rx))))
        reactions.extend(rx)
        used = {s for r in rx for s in r.species}
        modules.append((name, ReactionNetwork(rx, [s for s in species if s in used], name=name)))
    network = ReactionNetwork(reactions, species, init, name="neural_crn_autonomous")
    durations = (("clock", timing.period),) + tuple(
        (n, w) for n, w in zip(AUTONOMOUS_PHASES, timing.windows))
    circuit = NeuralCRN(spec, sp.smap, tuple(modules), network, tuple(ranges), durations)
    return AutonomousCircuit(circuit, sp, options, timing, factor)


def autonomous_program(ac: AutonomousCircuit):
    """The :class:`~neuralcrn.compiler.StepProgram` of the autonomous protocol: one "phase" —
    every reaction at its rate constant — for one clock period, no wash, and the loads as doses
    (``dose``: x and y are *added* to their storage species ``xs``, ``ys``). A training step is
    then :func:`~neuralcrn.compiler.run_step` like any other program, started at the dose time."""
    from ._protocol import assemble_program

    if not isinstance(ac, AutonomousCircuit):
        raise SpecError(f"expected an AutonomousCircuit, got {type(ac).__name__}")
    sp = ac.species
    rails = lambda rs: ([r.plus for r in rs], [r.minus for r in rs])  # noqa: E731
    c = ac.circuit
    b = ac.options.pacemaker * ac.options.mass
    return assemble_program(c, c.network.rate_constants[None, :], [ac.period], (),
                            x=rails(sp.xs), y=rails(sp.ys), z0=([], []), u_const=[], dose=b,
                            pace=PACE if b > 0 else None)


@dataclass(frozen=True, eq=False)
class AutonomousStepResult:
    """One clock period of an autonomous circuit (one dose), read from the species (numpy).

    yhat, e: ``(m,)`` the monitor ŷ = W(0)·z(T) and e = ŷ − y.  loss: ½‖e‖².
    zf: ``(n,)`` the latched z(T).  uf: ``(n_u,)`` the latched u.
    params_before, params_after: :class:`Params` at the dose and one period later.
    dosed, final_state: ``(S,)`` states right after the dose and one period later.
    """

    yhat: np.ndarray
    e: np.ndarray
    loss: float
    zf: np.ndarray
    uf: np.ndarray
    params_before: Params
    params_after: Params
    dosed: np.ndarray
    final_state: np.ndarray
    species: tuple[str, ...]


AUTONOMOUS_METHOD = "tsit5"
"""The ODE method ``"auto"`` resolves to for an autonomous network (:func:`autonomous_step`, and
autonomous training): its fastest rates (kill/recruit, annihilation) stay within an explicit
method's stability at the accuracy the clock's phase needs, and the pair-block Rodas5 cannot solve
it exactly (the clock and the feedback loop W ↔ e couple species outside the dual-rail pairs in
cycles); the W-method's phase error accumulates on the limit cycle (docs/autonomous.md)."""


def autonomous_step(ac: AutonomousCircuit, x, y, *, state=None, method: str = AUTONOMOUS_METHOD,
                    rtol: float = 1e-10, atol: float = 1e-12,
                    max_steps: int = 2_000_000) -> AutonomousStepResult:
    """Dose x, y into the pot (``state``, default the circuit's initial state: the clock at the
    dose time) and let the network run for one clock period; read ŷ, z(T), u and the parameters
    from the species (measurements only: the chemistry did everything). The reading happens at
    the next dose time, after the feedback and before the wash. Solver options as
    :func:`~neuralcrn.compiler.run_step`; ``"auto"`` is :data:`AUTONOMOUS_METHOD`. Raises
    DataError (bad x, y, state) and SimulationError.
    """
    from ._protocol import _check_xy, run_checked_step

    if not isinstance(ac, AutonomousCircuit):
        raise SpecError(f"expected an AutonomousCircuit, got {type(ac).__name__}")
    c = ac.circuit
    x, y = _check_xy(c, x, y)
    method = AUTONOMOUS_METHOD if method == DEFAULT_METHOD else method
    dosed, states = run_checked_step(c, autonomous_program(ac), state, x, y, ["clock period"],
                                     method=method, rtol=rtol, atol=atol, max_steps=max_steps,
                                     hint="; try method='kvaerno5' or a larger max_steps")
    sp, smap = ac.species, ac.species.smap
    end = states[-1]
    val = dict(zip(c.species, end))
    read = lambda rails: np.array([val[r.plus] - val[r.minus] if isinstance(r, DualRail)  # noqa
                                   else val[r] for r in rails])
    yhat = ac.readout_matrix() @ end
    e = yhat - y
    uf = read(sp.frozen_u) * np.asarray(smap.u_sign, dtype=float)
    return AutonomousStepResult(
        yhat=yhat, e=e, loss=float(0.5 * e @ e), zf=read(sp.zf), uf=uf,
        params_before=smap.read_params(dict(zip(c.species, dosed)), None),
        params_after=smap.read_params(val, None), dosed=dosed, final_state=end,
        species=c.species)


def _rk4(f, y, t):
    """Classical RK4 of dy/dt = f(y, k) on the grid ``t`` (f gets the step index's half-steps
    through ``k`` = k, k + ½, k + 1 as floats)."""
    for k in range(len(t) - 1):
        h = t[k + 1] - t[k]
        k1 = f(y, k)
        k2 = f(y + 0.5 * h * k1, k + 0.5)
        k3 = f(y + 0.5 * h * k2, k + 0.5)
        k4 = f(y + h * k3, k + 1)
        y = y + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    return y


def overlap_forward(ac: AutonomousCircuit, params: Params, x, *, step: bool = False
                    ) -> np.ndarray:
    """The latched z(T) of the autonomous forward pass predicted from the clock alone: ``(n,)``.

    The gated forward chemistry without dual rails: a unit dose moves xs → x at the load hazard
    L(t) = λ·G_ff(t) and x → xf at the latch hazard K(t) = λ·G_latch(t) (both measured on the
    clock: :attr:`ClockTiming.profile`); the forward reactions run at c = T/T_eff times the ideal
    rates on the active parts,

        dZ/dt = c[x(t)(Θu + h) − α·Z·|Z + Zf|] + [z(0) = u] u·L·xs − K·Z,   dZf/dt = K·Z

    (the decay from 2Z → Z and Z + Zf → Zf), and Zf at the end of the period is returned.
    ``step=True`` returns the ideal z(T) instead (the host's switches: dz/dt = Θu + h − φ(z) on
    [0, T]), so ``overlap_forward(ac, p, x) − overlap_forward(ac, p, x, step=True)`` is the
    error the clock's overlaps make in z(T); the rest of a chemical step's deviation (1/k_ann
    minority rails) is the host-clocked step's too. Exact for linear models (the latch times
    average to T), ≈ ½ z̈·Var(latch time) otherwise. Classical RK4 on the profile's grid.
    """
    spec = ac.spec
    t, L, K = (np.asarray(a, dtype=float) for a in ac.timing.profile)
    c = ac.drive_factor
    u = spec.drive_vector(x)
    drive = np.asarray(params.theta, dtype=float) @ u + np.asarray(params.h, dtype=float)
    a = float(spec.alpha) if spec.nonlinearity == "quadratic" else 0.0
    n = spec.n
    z0 = u[:n] if spec.z0 == "drive" else np.zeros(n)
    if step:
        grid = np.linspace(0.0, float(spec.T), len(t))
        return _rk4(lambda z, k: drive - a * z * np.abs(z), z0.copy(), grid)
    half = lambda arr, k: (arr[int(k)] if k == int(k)  # noqa: E731
                           else 0.5 * (arr[int(k)] + arr[int(k) + 1]))

    def f(y, k):
        l_, k_ = half(L, k), half(K, k)
        xs, xa, Z, Zf = y[0], y[1], y[2:2 + n], y[2 + n:]
        dZ = c * (xa * drive - a * Z * np.abs(Z + Zf)) + l_ * xs * z0 - k_ * Z
        return np.concatenate([[-l_ * xs, l_ * xs - k_ * xa], dZ, k_ * Z])

    y = _rk4(f, np.concatenate([[1.0, 0.0], np.zeros(2 * n)]), t)
    return y[2 + n:] + y[2:2 + n]
