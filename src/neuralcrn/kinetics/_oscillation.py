"""Measure an oscillator's limit cycle: period, phase windows, duty cycle and overlaps (SPEC §9).

:func:`measure_oscillator` integrates a network until its transient has died out, then records
one more period densely and reads, for the given phase signals S_0 … S_{n−1} (in cyclic order):

* **phase windows**: phase i's window is where S_i is the largest signal; window i starts when
  S_i overtakes S_{i−1} (linear interpolation on the dense grid). The period is the time between
  two starts of window 0.
* **duty cycle**: the fraction of the period in which S_i is above half its plateau (its
  largest value in the cycle).
* **overlap**: ``overlap[i, j]`` = ∫_{window j} S_i dt / ∫_{cycle} S_i dt (trapezoid rule on the
  grid); the diagonal is the fraction inside its own window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import SimulationError
from ._ode import simulate

__all__ = ["OscillationMeasurement", "measure_oscillator", "measure_clock"]


@dataclass(frozen=True, eq=False)
class OscillationMeasurement:
    """One period of a limit cycle (time units; n phases, S species).

    period:      time between two starts of window 0.
    windows:     ``(n,)`` window lengths.  starts: ``(n,)`` window starts (cycle time, window 0 at 0).
    duty:        ``(n,)`` fraction of the period with signal i above half its plateau.
    plateau:     ``(n,)`` largest value of each signal.
    overlap:     ``(n, n)`` fraction of signal i inside window j.
    times:       ``(P,)`` cycle times 0 … period of the recorded cycle (the dense grid's points
                 inside it and its interpolated ends).
    states:      ``(P, S)`` concentrations on the cycle; ``states[0]`` is at the start of window 0.
    species:     state order.  signals: ``(n,)`` signal species.  cycles_to_settle: cycles
    simulated before the recorded one.  period_change: relative change of the period between the
    last two cycles (how well the transient has died out).
    """

    period: float
    windows: np.ndarray
    starts: np.ndarray
    duty: np.ndarray
    plateau: np.ndarray
    overlap: np.ndarray
    times: np.ndarray
    states: np.ndarray
    species: tuple[str, ...]
    signals: tuple[str, ...]
    cycles_to_settle: int
    period_change: float

    @property
    def overlap_pre(self) -> np.ndarray:
        """``(n,)`` fraction of signal i inside its predecessor's window (i − 1)."""
        n = len(self.signals)
        return np.array([self.overlap[i, (i - 1) % n] for i in range(n)])

    @property
    def overlap_post(self) -> np.ndarray:
        """``(n,)`` fraction of signal i inside its successor's window (i + 1)."""
        n = len(self.signals)
        return np.array([self.overlap[i, (i + 1) % n] for i in range(n)])

    @property
    def max_cross_overlap(self) -> float:
        """Largest fraction of any signal inside another phase's window."""
        off = self.overlap - np.diag(np.diag(self.overlap))
        return float(off.max())

    @property
    def initial_state(self) -> np.ndarray:
        """``(S,)`` state at the start of window 0 (on the limit cycle)."""
        return self.states[0].copy()

    def summary(self) -> dict:
        """Plain-JSON numbers: period, windows, duty, plateau, overlap_pre/post, max overlap."""
        return {"period": float(self.period), "windows": self.windows.tolist(),
                "duty": self.duty.tolist(), "plateau": self.plateau.tolist(),
                "overlap_pre": self.overlap_pre.tolist(),
                "overlap_post": self.overlap_post.tolist(),
                "max_cross_overlap": self.max_cross_overlap,
                "period_change": float(self.period_change)}


def _crossings(t, a, b):
    """Times where a − b goes from < 0 to ≥ 0 (linear interpolation)."""
    d = a - b
    i = np.flatnonzero((d[:-1] < 0) & (d[1:] >= 0))
    return t[i] - d[i] * (t[i + 1] - t[i]) / (d[i + 1] - d[i])


def measure_oscillator(network, signals, period_guess: float, *, settle_cycles: int = 12,
                       points_per_cycle: int = 20000, method: str = "tsit5",
                       rtol: float = 1e-10, atol: float = 1e-13,
                       max_steps: int = 2_000_000) -> OscillationMeasurement:
    """Measure the limit cycle reached from the network's initial state (module docstring).

    Parameters
    ----------
    network:        a :class:`~neuralcrn.chemistry.ReactionNetwork` (or its arrays).
    signals:        the phase signal species, in the order the phases follow each other.
    period_guess:   approximate period (time units): sets how long to settle and record.
    settle_cycles:  periods simulated before the recorded one.
    points_per_cycle: save points per period of the dense recording.
    method, rtol, atol, max_steps: ODE solver (:func:`~neuralcrn.kinetics.simulate`).

    Raises
    ------
    SimulationError
        The solver failed, or the signals do not take turns (fewer than two starts of window 0
        in the recording: no oscillation, or a period far from ``period_guess``).
    """
    if not (np.isfinite(period_guess) and period_guess > 0):
        raise SimulationError(f"period_guess must be a finite number > 0, got {period_guess!r}")
    species = tuple(network.species)
    try:
        idx = [species.index(s) for s in signals]
    except ValueError:
        raise SimulationError(f"signals {signals} are not all species of the network") from None
    n = len(idx)
    kw = dict(method=method, rtol=rtol, atol=atol, max_steps=max_steps)
    settled = simulate(network, settle_cycles * period_guess, 2, **kw).concentrations[-1]
    span = 3.5 * period_guess
    npts = int(3.5 * points_per_cycle) + 1
    tr = simulate(network, span, npts, x0=settled, **kw)
    t, Y = tr.times, tr.concentrations
    sig = Y[:, idx]
    starts0 = _crossings(t, sig[:, 0], sig[:, n - 1])
    if starts0.size < 3:
        raise SimulationError(f"the signals {', '.join(signals)} do not take turns: "
                              f"{starts0.size} starts of window 0 in 3.5 guessed periods "
                              f"(no oscillation, or period_guess {period_guess:g} is far off)")
    t0, t1 = starts0[-2], starts0[-1]
    period = t1 - t0
    period_change = abs(period - (starts0[-2] - starts0[-3])) / period
    # the recorded cycle: the grid points inside [t0, t1] and the interpolated ends
    inside = (t > t0) & (t < t1)
    at = lambda tt: np.array([np.interp(tt, t, Y[:, s]) for s in range(Y.shape[1])])  # noqa
    tc = np.concatenate([[t0], t[inside], [t1]]) - t0
    Yc = np.vstack([at(t0), Y[inside], at(t1)])
    sc = Yc[:, idx]
    starts = np.zeros(n)
    for i in range(1, n):
        c = _crossings(tc, sc[:, i], sc[:, i - 1])
        if c.size == 0:
            raise SimulationError(f"signal {signals[i]} never overtakes {signals[i - 1]} in a "
                                  f"cycle: the phases do not follow in the order given")
        starts[i] = c[0]
    ends = np.append(starts[1:], period)
    windows = ends - starts
    plateau = sc.max(axis=0)
    dt = np.diff(tc)
    duty = np.array([np.sum(dt[sc[:-1, i] > 0.5 * plateau[i]]) / period for i in range(n)])
    win = np.argmax(sc, axis=1)
    overlap = np.zeros((n, n))
    for i in range(n):
        seg = 0.5 * (sc[:-1, i] + sc[1:, i]) * dt        # trapezoid pieces
        owner = win[:-1]
        total = seg.sum()
        for j in range(n):
            overlap[i, j] = seg[owner == j].sum() / total if total > 0 else np.nan
    return OscillationMeasurement(period=float(period), windows=windows, starts=starts,
                                  duty=duty, plateau=plateau, overlap=overlap, times=tc,
                                  states=Yc, species=species, signals=tuple(signals),
                                  cycles_to_settle=settle_cycles,
                                  period_change=float(period_change))


def measure_clock(clock, gates=(), **kwargs) -> OscillationMeasurement:
    """:func:`measure_oscillator` of a :class:`~neuralcrn.chemistry.clock.ChemicalClock` alone
    (started with all mass in its first phase; period guess from :meth:`~ChemicalClock.prediction`),
    with the gate species of the phases ``gates`` in the recorded states. Keyword arguments as
    :func:`measure_oscillator`."""
    return measure_oscillator(clock.network(gates=gates), clock.signals,
                              clock.prediction().period, **kwargs)
