"""numba kernels of the stochastic simulators (molecule counts; no Python objects).

Every kernel takes the network as arrays of fixed dtypes, so numba compiles each kernel once (on
first use; ``cache=True`` keeps the machine code in numba's on-disk cache for later processes), not
once per network:

- ``reactant_index``, ``reactant_repeat``: ``(R, q)`` int32 (see ``MassActionArrays``; padding
  index ``S``).
- ``change_ptr`` ``(R + 1,)``, ``change_species`` ``(N,)``, ``change_value`` ``(N,)``: int64 net
  changes of each reaction in CSR layout (reaction r changes ``change_species[ptr[r]:ptr[r+1]]``).
- ``rate_constants`` ``(R,)`` float64, ``volume`` float64, ``x0`` ``(S,)`` int64, ``times``
  ``(P,)`` float64 increasing, ≥ 0.

Propensity of reaction r with counts n in volume V (our no-1/ν! convention):
``a_r = k_r · V · Π_i n_i (n_i − 1) ··· (n_i − ν_ir + 1) / V^ν_ir``.
"""

from __future__ import annotations

import math

import numba
import numpy as np

_SSA_STEPS_AFTER_SHORT_TAU = 100  # Cao et al. (2006): direct steps when a leap would be too short
_MAX_HALVINGS = 60


@numba.njit(cache=True, nogil=True)
def _propensities(x, rate_constants, volume, reactant_index, reactant_repeat, a):
    R, q = reactant_index.shape
    S = x.shape[0]
    a0 = 0.0
    for r in range(R):
        v = rate_constants[r] * volume
        for j in range(q):
            i = reactant_index[r, j]
            if i < S:
                v *= (x[i] - reactant_repeat[r, j]) / volume
        if not v > 0.0:
            v = 0.0
        a[r] = v
        a0 += v
    return a0


@numba.njit(cache=True, nogil=True)
def _fire(x, r, times_fired, change_ptr, change_species, change_value):
    for e in range(change_ptr[r], change_ptr[r + 1]):
        x[change_species[e]] += times_fired * change_value[e]


@numba.njit(cache=True, nogil=True)
def _pick(a, a0):
    """Index r with probability a[r] / a0 (linear search)."""
    u = np.random.random() * a0
    acc = 0.0
    R = a.shape[0]
    for r in range(R):
        acc += a[r]
        if acc > u:
            return r
    for r in range(R - 1, -1, -1):  # rounding: take the last reaction that can fire
        if a[r] > 0.0:
            return r
    return R - 1


@numba.njit(cache=True, nogil=True)
def _direct_step(x, t, a, a0, times, p, out_run, change_ptr, change_species, change_value):
    """One Gillespie direct-method event; records states at output times passed. Returns (t, p)."""
    t_next = t + np.random.exponential(1.0 / a0)
    P = times.shape[0]
    while p < P and times[p] < t_next:
        out_run[p, :] = x
        p += 1
    if p < P:
        r = _pick(a, a0)
        _fire(x, r, 1, change_ptr, change_species, change_value)
    return t_next, p


@numba.njit(cache=True, nogil=True)
def direct_kernel(reactant_index, reactant_repeat, change_ptr, change_species, change_value,
                  rate_constants, volume, x0, times, n_runs, seed, max_events, out, events):
    """Exact SSA, direct method (Gillespie 1977). Fills ``out`` ``(runs, P, S)`` int64 and
    ``events`` ``(runs,)`` int64 (−1 where ``max_events`` was exceeded)."""
    np.random.seed(seed)
    R = rate_constants.shape[0]
    P = times.shape[0]
    a = np.zeros(R)
    for run in range(n_runs):
        x = x0.copy()
        t = 0.0
        p = 0
        n = 0
        while p < P:
            a0 = _propensities(x, rate_constants, volume, reactant_index, reactant_repeat, a)
            if a0 <= 0.0:
                while p < P:
                    out[run, p, :] = x
                    p += 1
                break
            if n >= max_events:
                n = -1
                break
            t, p = _direct_step(x, t, a, a0, times, p, out[run], change_ptr, change_species,
                                change_value)
            n += 1
        events[run] = n


@numba.njit(cache=True, nogil=True)
def _g_factor(hor, nu, xi):
    """Cao et al. (2006) g_i: bound on the relative change of the highest-order propensity."""
    if hor <= 1:
        return 1.0
    if hor == 2:
        if nu >= 2 and xi > 1:
            return 2.0 + 1.0 / (xi - 1.0)
        return 2.0
    if hor == 3:
        if nu == 2 and xi > 1:
            return 1.5 * (2.0 + 1.0 / (xi - 1.0))
        if nu >= 3 and xi > 2:
            return 3.0 + 1.0 / (xi - 1.0) + 2.0 / (xi - 2.0)
        return 3.0
    return float(hor)


@numba.njit(cache=True, nogil=True)
def tau_leap_kernel(reactant_index, reactant_repeat, change_ptr, change_species, change_value,
                    rate_constants, volume, x0, times, n_runs, seed, max_events, out, events,
                    fixed_tau, epsilon, n_critical, hor, hor_nu):
    """Poisson tau-leaping. Fills ``out`` and ``events`` like :func:`direct_kernel`.

    ``fixed_tau > 0``: leaps of at most ``fixed_tau`` (halved on negative counts).
    Otherwise adaptive (Cao, Gillespie & Petzold 2006, J. Chem. Phys. 124, 044109): step size from
    the relative-change bound ``epsilon`` with per-species ``g_i`` (``hor``/``hor_nu``: highest
    order of a reaction consuming species i and its largest stoichiometry of i there), critical
    reactions (fewer than ``n_critical`` firings left; Cao, Gillespie & Petzold 2005) fire at most
    once per leap, and 100 exact SSA steps replace a leap shorter than 10/a0.
    """
    np.random.seed(seed)
    R = rate_constants.shape[0]
    S = x0.shape[0]
    P = times.shape[0]
    q = reactant_index.shape[1]
    a = np.zeros(R)
    critical = np.zeros(R, dtype=np.bool_)
    mu = np.zeros(S)
    sigma2 = np.zeros(S)
    in_rs = np.zeros(S, dtype=np.bool_)
    k_fire = np.zeros(R, dtype=np.int64)
    x_new = np.zeros(S, dtype=np.int64)
    for r in range(R):  # I_rs: species that are reactants of any reaction
        for j in range(q):
            if reactant_index[r, j] < S:
                in_rs[reactant_index[r, j]] = True
    for run in range(n_runs):
        x = x0.copy()
        t = 0.0
        p = 0
        n = 0
        ssa_left = 0
        while p < P and times[p] <= t:
            out[run, p, :] = x
            p += 1
        while p < P:
            a0 = _propensities(x, rate_constants, volume, reactant_index, reactant_repeat, a)
            if a0 <= 0.0:
                while p < P:
                    out[run, p, :] = x
                    p += 1
                break
            if n >= max_events:
                n = -1
                break
            n += 1
            if ssa_left > 0:
                ssa_left -= 1
                t, p = _direct_step(x, t, a, a0, times, p, out[run], change_ptr, change_species,
                                    change_value)
                continue
            # --- critical reactions and the leap length tau1
            a0c = 0.0
            if fixed_tau > 0.0:
                for r in range(R):
                    critical[r] = False
                tau1 = fixed_tau
            else:
                for r in range(R):
                    crit = False
                    if a[r] > 0.0:
                        for e in range(change_ptr[r], change_ptr[r + 1]):
                            if change_value[e] < 0 and \
                                    x[change_species[e]] // (-change_value[e]) < n_critical:
                                crit = True
                    critical[r] = crit
                    if crit:
                        a0c += a[r]
                mu[:] = 0.0
                sigma2[:] = 0.0
                for r in range(R):
                    if critical[r] or a[r] <= 0.0:
                        continue
                    for e in range(change_ptr[r], change_ptr[r + 1]):
                        v = float(change_value[e])
                        mu[change_species[e]] += v * a[r]
                        sigma2[change_species[e]] += v * v * a[r]
                tau1 = math.inf
                for i in range(S):
                    if not in_rs[i]:
                        continue
                    bound = max(epsilon * x[i] / _g_factor(hor[i], hor_nu[i], float(x[i])), 1.0)
                    if mu[i] != 0.0:
                        tau1 = min(tau1, bound / abs(mu[i]))
                    if sigma2[i] > 0.0:
                        tau1 = min(tau1, bound * bound / sigma2[i])
                if tau1 < 10.0 / a0:
                    ssa_left = _SSA_STEPS_AFTER_SHORT_TAU - 1
                    t, p = _direct_step(x, t, a, a0, times, p, out[run], change_ptr,
                                        change_species, change_value)
                    continue
            # --- leap (halve tau1 while counts would go negative)
            tau2 = np.random.exponential(1.0 / a0c) if a0c > 0.0 else math.inf
            accepted = False
            for _ in range(_MAX_HALVINGS):
                tau = min(tau1, tau2)
                fire_critical = tau2 <= tau1
                hit = t + tau >= times[p]
                if hit:
                    tau = times[p] - t
                    fire_critical = False
                x_new[:] = x
                for r in range(R):
                    if not critical[r] and a[r] > 0.0:
                        k_fire[r] = np.random.poisson(a[r] * tau)
                        if k_fire[r] > 0:
                            _fire(x_new, r, k_fire[r], change_ptr, change_species, change_value)
                if fire_critical:
                    ac = np.zeros(R)
                    for r in range(R):
                        if critical[r]:
                            ac[r] = a[r]
                    _fire(x_new, _pick(ac, a0c), 1, change_ptr, change_species, change_value)
                ok = True
                for i in range(S):
                    if x_new[i] < 0:
                        ok = False
                        break
                if ok:
                    accepted = True
                    break
                tau1 *= 0.5
            if not accepted:  # pathological: fall back to exact steps
                ssa_left = _SSA_STEPS_AFTER_SHORT_TAU
                continue
            x[:] = x_new
            if hit:
                t = times[p]
                while p < P and times[p] <= t:
                    out[run, p, :] = x
                    p += 1
            else:
                t += tau
        events[run] = n
