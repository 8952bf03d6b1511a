"""The autonomous Neural CRN's clock under molecular noise (SPEC §8): how long it keeps time.

No species of the circuit is a reactant of a clock reaction (the clock's signals and the
pacemaker only catalyse the circuit's gated transfers through the gate species), so the clock's
signals, blank and pacemaker form a Markov chain of their own: simulating them alone on counts
(``kinetics.simulate_ssa``: exact SSA or tau-leaping) is the exact marginal of the whole
network's stochastic run. :func:`clock_survival` doses the pacemaker on schedule (if any),
locates every period's start of the feedforward window and compares it with the ODE clock's.
Learning under noise is ordinary stochastic training of the autonomous network
(``neuralcrn train TASK --clock chemical --kinetics tau-leap --volume Ω``).
"""

from __future__ import annotations

import time

import numpy as np

from ..compiler import ClockOptions, compile_autonomous
from ..compiler._autonomous import PACE
from ..errors import SpecError
from ..ideal.spec import ModelSpec

__all__ = ["clock_survival"]


def _clock_part(ac):
    """Indices and names of the clock's own species (signals, blank, pacemaker) in the circuit
    (the gate species only follow the signals; they are left out)."""
    sp = ac.circuit.species
    names = ac.clock.species + ((PACE,) if PACE in sp else ())
    return [sp.index(n) for n in names], names


def _ff_start(t, counts, ff, wash):
    d = counts[:, ff].astype(float) - counts[:, wash].astype(float)
    i = np.flatnonzero((d[:-1] < 0) & (d[1:] >= 0))
    return np.nan if i.size == 0 else float(t[i[0] + 1])


def clock_survival(spec: ModelSpec, options: ClockOptions, volume: float, periods: int, *,
                   seed: int = 0, method: str = "direct", points: int = 400,
                   tau: float | None = None) -> dict:
    """Run the clock (with its pacemaker doses, if ``options.pacemaker``) for ``periods`` dose
    intervals on counts in volume Ω = ``volume`` and report how long it keeps time.

    Returns ``{"volume", "periods", "survived": periods before the first lost dose (= periods
    if none), "lost_at": that period or None, "offset": (periods,) phase offset of each
    feedforward start against the ODE clock (time units; nan where none was found),
    "offset_sd", "offset_final", "period_sd": sd of the time between successive feedforward
    starts, "slack": {"earlier", "later"}, "dose_interval", "pacemaker", "method", "seconds"}``.
    A dose is *lost* when the feedforward window starts earlier or later than the slack allows
    (the dose would land in the wrong window) or not at all within the period. Raises
    SpecError for bad options, SimulationError for a bad Ω.
    """
    from ..kinetics import simulate_ssa
    from ..chemistry import ReactionNetwork
    ac = compile_autonomous(spec, None, options)
    idx, names = _clock_part(ac)
    net = ac.circuit.network
    rx = [r for r in net.reactions if set(r.species) <= set(names)]
    clock_net = ReactionNetwork(rx, names)
    P, t = ac.period, ac.timing
    expected = P - t.dose_offset                    # ff start after the dose (ODE)
    later = t.dose_offset - t.windows[0]            # as AutonomousSetup.dose_slack
    earlier = P - t.dose_offset
    ff, wash = names.index(ac.clock.signal("feedforward")), names.index(ac.clock.signal("wash"))
    pace = names.index("pace") if "pace" in names else None
    b = int(round(options.pacemaker * options.mass * volume))
    if periods < 1:
        raise SpecError(f"periods must be ≥ 1, got {periods!r}")
    counts = np.round(np.asarray(net.initial)[idx] * volume).astype(np.int64)
    offsets, lost_at = [], None
    t0 = time.perf_counter()
    for s in range(periods):
        if pace is not None:
            counts[pace] += b
        tr = simulate_ssa(clock_net, P, points + 1, volume=volume, x0_counts=counts,
                          seed=seed * 1_000_003 + s, method=method, tau=tau,
                          max_events=10 ** 10)
        c = tr.counts[0]
        start = _ff_start(tr.times, c, ff, wash)
        off = start - expected
        offsets.append(off)
        # the feedforward window must start after its dose (off > −earlier) and before the
        # next dose (off < later)
        if lost_at is None and not (-earlier < off < later):
            lost_at = s
        counts = c[-1].copy()
    offsets = np.asarray(offsets)
    starts = np.arange(periods) * P + expected + offsets
    ok = np.isfinite(starts)
    return {"volume": float(volume), "periods": periods, "method": method,
            "survived": periods if lost_at is None else lost_at, "lost_at": lost_at,
            "offset": offsets, "offset_sd": float(np.nanstd(offsets)),
            "offset_final": float(offsets[-1]),
            "period_sd": float(np.std(np.diff(starts[ok]))) if ok.sum() > 2 else float("nan"),
            "slack": {"earlier": float(earlier), "later": float(later)},
            "dose_interval": float(P), "pacemaker": float(options.pacemaker),
            "seconds": time.perf_counter() - t0}
