"""numba kernel of a clocked, phased protocol on molecule counts: a whole epoch in one call.

A *step* of the protocol (SPEC §4) is what a laboratory can do between phases — wash (set the
transient species to 0), load (set some species to given counts) — followed by the phases, each
run for its duration on its own reactions. :func:`run_steps` runs N steps back to back without
returning to Python, with one of three stochastic methods:

* ``EXACT`` — exact SSA (:func:`~neuralcrn.kinetics._ssa_kernels.ssa_advance`);
* ``TAU_LEAP`` — trapezoidal tau-leaping (:func:`~neuralcrn.kinetics._tau_kernels.tau_advance`);
* ``CLE`` — the chemical Langevin equation (:func:`~neuralcrn.kinetics._cle_kernels.cle_advance`).

Nothing here knows about Neural CRNs: the loads, the keep mask and the read-out matrix are arrays
(``neuralcrn.training._stochastic`` builds them from a :class:`~neuralcrn.compiler.StepProgram`).
"""

from __future__ import annotations

import numba
import numpy as np

from ._cle_kernels import cle_advance, cle_work
from ._ssa_kernels import ssa_advance
from ._tau_kernels import tau_advance, tau_work

EXACT, TAU_LEAP, CLE = 0, 1, 2
METHOD_CODES = {"ssa": EXACT, "tau-leap": TAU_LEAP, "cle": CLE}


@numba.njit(cache=True, nogil=True)
def advance(method, x, t0, t1, phase, net, a, bsum, tw, cw, epsilon, dt, rtol, max_events,
            stats):
    """Run ``phase`` of ``net`` on counts x from t0 to t1 with ``method``. Returns the number of
    events (exact firings plus leaps or CLE steps), negative (−1 − n) if ``max_events`` was
    exceeded. ``stats`` ``(3,)`` accumulates (exact events, leaps/steps, clipped values)."""
    if method == EXACT:
        n = ssa_advance(x, t0, t1, phase, net, a, bsum, max_events)
        stats[0] += n if n >= 0 else -1 - n
        return n
    if method == TAU_LEAP:
        return tau_advance(x, t0, t1, phase, net, a, bsum, tw, epsilon, max_events, stats)
    return cle_advance(x, t0, t1, phase, net, cw, dt, stats, rtol)


@numba.njit(cache=True, nogil=True)
def _work(net):
    """Work arrays of :func:`advance` for every method: (a, bsum, tau work, CLE work)."""
    Rt = net.c.shape[0]
    ssa = net.region_block[-1] + net.region_hub.shape[0] + 1   # block and region sums
    return (np.zeros(max(Rt, 1)), np.zeros(ssa), tau_work(net),
            cle_work(net))


@numba.njit(cache=True, nogil=True, inline="always")
def _wash_and_load(x, source, keep, load_index, load_counts, i):
    """x = source · keep (the wash), then the host's loads of step/point i, added to what the
    wash left (a washed species is 0, so the load sets it). An incomplete wash (0 < keep < 1):
    each of the round(source[s]) molecules survives independently with probability keep[s] (a
    binomial draw from numba's seeded stream; mean keep·count)."""
    for s in range(x.shape[0]):
        k = keep[s]
        if k == 0.0 or k == 1.0:
            x[s] = source[s] * k
        else:
            x[s] = float(np.random.binomial(int(np.floor(source[s] + 0.5)), k))
    for j in range(load_index.shape[0]):
        x[load_index[j]] += load_counts[i, j]


@numba.njit(cache=True, nogil=True, inline="always")
def _readout(x, readout, k, volume):
    """Output k of the read-out: readout[k] @ x / Ω."""
    v = 0.0
    for s in range(x.shape[0]):
        v += readout[k, s] * x[s]
    return v / volume


@numba.njit(cache=True, nogil=True)
def run_steps(method, net, durations, keep, load_index, load_counts, state, readout,
              readout_phase, targets, seed, epsilon, dt, rtol, max_events, losses, events,
              stats):
    """Run N protocol steps in place on ``state`` (float64 counts ``(S,)``).

    Per step i: the wash ``state *= keep`` (0 < keep < 1: a binomial survival per molecule);
    ``state[load_index] += load_counts[i]``; then every phase p for
    ``durations[p]``. After phase ``readout_phase`` the read-out ŷ = ``readout @ state / Ω``
    ``(m,)`` is compared with ``targets[i]`` and ``losses[i] = ½‖ŷ − y‖²``. ``events[i, p]``
    counts the events of phase p (exact firings, leaps or CLE steps). Returns 0, or 1 + i if
    step i exceeded ``max_events`` in a phase (the state is then left mid-step).
    """
    np.random.seed(seed)
    a, bsum, tw, cw = _work(net)
    N = load_counts.shape[0]
    P = durations.shape[0]
    m = readout.shape[0]
    for i in range(N):
        _wash_and_load(state, state, keep, load_index, load_counts, i)
        for p in range(P):
            n = advance(method, state, 0.0, durations[p], p, net, a, bsum, tw, cw, epsilon, dt,
                        rtol, max_events, stats)
            if n < 0:
                events[i, p] = -1 - n
                return 1 + i
            events[i, p] = n
            if p == readout_phase:
                loss = 0.0
                for k in range(m):
                    e = _readout(state, readout, k, net.volume) - targets[i, k]
                    loss += 0.5 * e * e
                losses[i] = loss
    return 0


@numba.njit(cache=True, nogil=True)
def forward_points(method, net, durations, keep, load_index, load_counts, state, readout, seed,
                   epsilon, dt, rtol, max_events, out, stats):
    """The phases ``0 … len(durations) − 1`` from the same ``state`` for each of M loads: ``out[i]`` =
    ``readout @ x / Ω`` ``(m,)`` after them (the protocol's forward pass; ``state`` unchanged;
    loads as in :func:`run_steps`). Returns 0, or 1 + i if point i
    exceeded ``max_events``."""
    np.random.seed(seed)
    a, bsum, tw, cw = _work(net)
    S = state.shape[0]
    x = np.empty(S)
    for i in range(load_counts.shape[0]):
        _wash_and_load(x, state, keep, load_index, load_counts, i)
        for p in range(durations.shape[0]):
            n = advance(method, x, 0.0, durations[p], p, net, a, bsum, tw, cw, epsilon, dt,
                        rtol, max_events, stats)
            if n < 0:
                return 1 + i
        for k in range(readout.shape[0]):
            out[i, k] = _readout(x, readout, k, net.volume)
    return 0


@numba.njit(cache=True, nogil=True)
def record_runs(method, net, x0, times, n_runs, seed, epsilon, dt, rtol, max_events, out,
                events):
    """Phase 0 of ``net`` with ``method`` (EXACT or CLE): ``n_runs`` runs from counts x0, each
    recorded at ``times`` (``(P,)`` increasing, ≥ 0) into ``out`` ``(runs, P, S)``; ``events``
    ``(runs,)`` firings or CLE steps (−1 where ``max_events`` was exceeded). One seeded numba RNG
    stream for all runs, in sequence. (Tau-leaping records with bridging:
    :func:`~neuralcrn.kinetics._tau_kernels.tau_record`.)"""
    np.random.seed(seed)
    a, bsum, tw, cw = _work(net)
    stats = np.zeros(3)
    for run in range(n_runs):
        x = x0.copy()
        t = 0.0
        n = 0
        for p in range(times.shape[0]):
            if times[p] > t:
                k = advance(method, x, t, times[p], 0, net, a, bsum, tw, cw, epsilon, dt, rtol,
                            max_events - n, stats)
                if k < 0:
                    n = -1
                    break
                n += k
                t = times[p]
            out[run, p, :] = x
        events[run] = n
