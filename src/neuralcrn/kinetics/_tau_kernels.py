"""numba kernel of non-negative, second-order (trapezoidal) tau-leaping on molecule counts.

One leap of length τ from counts x (non-critical reactions only; Anderson & Mattingly 2011,
Commun. Math. Sci. 9, 301, "weak trapezoidal" method with θ = ½):

    x* = x + Σ_r ν_r · Poisson(a_r(x) · τ/2)
    x' = x* + Σ_r ν_r · Poisson(max(0, 2 a_r(x*) − a_r(x)) · τ/2)

Its mean is second-order accurate in τ (Euler/Poisson tau-leaping, first order, was biased by
many standard errors at ε = 0.03 on a 1e4-molecule decay + dimerisation network; measurements in
``docs/stochastic.md``).

Step selection and non-negativity follow Cao, Gillespie & Petzold (2006, J. Chem. Phys. 124,
044109): the leap τ' bounds the expected relative change of every reactant count by ε (with the
species factors g_i), *critical* reactions (fewer than :data:`N_CRITICAL` firings from exhausting
a reactant) fire exactly, at most once per leap, at an exponential time τ'' with their total
propensity, and when τ' < 10/a0 the kernel switches to :data:`SSA_STEPS` exact SSA events. A leap
that would still make a count negative is redrawn with τ' halved (rare: only non-critical
reactions leap). With ``fixed_tau > 0`` the step is ``min(fixed_tau, τ'')`` instead of τ'
(critical reactions are still exact, so counts stay ≥ 0).

**Annihilation pairs** (dual rails: V⁺ + V⁻ → ∅, in Neural CRNs at k_ann ≫ the other rates).
The minority rail of a pair holds few molecules with a fast turnover — produced by the other
reactions, removed by annihilation at rate λ = (k/Ω)·(majority) per molecule — which would
force leaps of about one event. Annihilations are therefore not leaped: the other reactions leap
and change the signed value v = V⁺ − V⁻ exactly, and the minority rail at the end of the leap is
drawn from the linear death process it follows (the majority, hence λ, nearly constant over a
leap): each of the m₀ molecules present at the start survives with the probability of the
deterministic pair solution, ``S₀ = V·E/(V + m₀(1 − E))``, E = exp(−(k/Ω)·V·τ), V = |v|
(``stiff-annihilation.md``), and each of the A molecules produced into it during the leap
(uniformly in time) survives with ``(1 − e^{−λτ})/(λτ)``, λ = (k/Ω)·(V + m̄), m̄ the
quasi-steady minority for that production: ``m = Binomial(m₀, S₀) + Binomial(A, S_A) −
(slow consumption)``, the majority is V + m, and the number annihilated follows. For λτ ≫ 1
this is the minority's quasi-steady (Poisson) state, as in the slow-scale SSA (Cao, Gillespie &
Petzold 2005); for λτ ≪ 1 it fires almost no annihilation. The minority rail does not bound τ
(its change is not leaped); the majority's bound includes its loss by annihilation, so τ is set
by the slow dynamics.

Output times inside a leap are filled by **binomial bridging**: within each half-leap the
reactions fire as Poisson processes of constant rate, so the firings before an output time are
``Binomial(K, fraction of the half-leap elapsed)``. The leap grid is therefore the same whatever
the output times (a leap is cut only at the end time).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ._ssa_kernels import fire, propensity

N_CRITICAL = 10
SSA_STEPS = 100
_MAX_HALVINGS = 60


@numba.njit(cache=True, nogil=True)
def tau_work(net):
    """Work arrays of :func:`tau_advance`: 0 a (temp), 1 K1, 2 K2, 3 critical, 4 μ, 5 σ²,
    6 x* (mid-point for propensities), 7 x', 8 bridged K1, 9 bridged K2, 10 x1 (raw stage 1),
    11 excluded reactions (the pairs' annihilations), 12 pair species, 13 arrivals, 14 slow
    consumption (per species, of the current leap)."""
    Rt = max(net.c.shape[0], 1)
    S = net.hor.shape[1]
    return (np.zeros(Rt), np.zeros(Rt), np.zeros(Rt), np.zeros(Rt, dtype=np.bool_),
            np.zeros(S), np.zeros(S), np.zeros(S), np.zeros(S), np.zeros(Rt), np.zeros(Rt),
            np.zeros(S), np.zeros(Rt, dtype=np.bool_), np.zeros(S, dtype=np.bool_),
            np.zeros(S), np.zeros(S))


@numba.njit(cache=True, nogil=True)
def _g(hor, nu, xi):
    """Cao et al. (2006) g_i: bound on the relative change of the highest-order propensity."""
    if hor <= 1:
        return 1.0
    if hor == 2:
        if nu >= 2 and xi > 1.0:
            return 2.0 + 1.0 / (xi - 1.0)
        return 2.0
    if hor == 3:
        if nu == 2 and xi > 1.0:
            return 1.5 * (2.0 + 1.0 / (xi - 1.0))
        if nu >= 3 and xi > 2.0:
            return 3.0 + 1.0 / (xi - 1.0) + 2.0 / (xi - 2.0)
        return 3.0
    return float(hor)


@numba.njit(cache=True, nogil=True)
def _pick(lo, hi, a, u):
    acc = 0.0
    last = -1
    for f in range(lo, hi):
        if a[f] > 0.0:
            last = f
            acc += a[f]
            if acc > u:
                return f
    return last


@numba.njit(cache=True, nogil=True)
def _record_exact(x, t_next, times, out, p, t_end):
    """Record x at every output time < t_next (and ≤ t_end) from index p on; returns new p."""
    while p < times.shape[0] and times[p] < t_next and times[p] <= t_end:
        out[p, :] = x
        p += 1
    return p


@numba.njit(cache=True, nogil=True)
def _qss(g, c, V):
    """Stable root m̄ ≥ 0 of g = c·m·(m + V): the quasi-steady minority count of a pair."""
    if not g > 0.0:
        return 0.0
    r = g / c
    return 2.0 * r / (V + math.sqrt(V * V + 4.0 * r))


@numba.njit(cache=True, nogil=True)
def _flows(lo, hi, net, ka, kb, paired, arrivals, consumed):
    """Per pair species: molecules produced (arrivals) and consumed by the leaped firings
    ka + kb (annihilations are never among them)."""
    for i in range(arrivals.shape[0]):
        arrivals[i] = 0.0
        consumed[i] = 0.0
    for f in range(lo, hi):
        n = ka[f] + kb[f]
        if n > 0.0:
            for e in range(net.ch_ptr[f], net.ch_ptr[f + 1]):
                s = net.ch_species[e]
                if paired[s]:
                    v = net.ch_value[e]
                    if v > 0.0:
                        arrivals[s] += n * v
                    else:
                        consumed[s] -= n * v


@numba.njit(cache=True, nogil=True)
def _pairs(x0, y, tau, phase, net, arrivals, consumed, sample):
    """Apply the annihilations of every pair over a leap of τ to y (raw: leaped firings only),
    keeping each signed value (module docstring). ``sample``: binomial draws; else expectations
    (for the trapezoidal mid-point)."""
    part = net.partner[phase]
    for i in range(y.shape[0]):
        j = part[i]
        if j <= i:
            continue
        v = y[i] - y[j]
        mi, ma = (j, i) if v > 0.0 else (i, j)
        V = abs(v)
        c = net.c[net.pair_rx[phase, i]]
        m0 = x0[mi]
        if m0 < 0.0:
            m0 = 0.0
        if V > 0.0:
            E = math.exp(-c * V * tau)
            s0 = V * E / (V + m0 * (1.0 - E))
        else:
            s0 = 1.0 / (1.0 + c * m0 * tau)
        A = arrivals[mi]
        mbar = _qss(A / tau, c, V) if tau > 0.0 else 0.0
        lt = c * (V + mbar) * tau
        sa = (1.0 - math.exp(-lt)) / lt if lt > 1e-12 else 1.0
        if sample:
            m = float(np.random.binomial(int(m0), s0)) if m0 > 0.0 else 0.0
            if A > 0.0:
                m += float(np.random.binomial(int(A), sa))
        else:
            m = m0 * s0 + A * sa
        m -= consumed[mi]
        if m < 0.0:
            m = 0.0
        y[mi] = m
        y[ma] = V + m


@numba.njit(cache=True, nogil=True)
def _bridge(x, t, tau, phase, lo, hi, net, tw, times, out, p, t_stop):
    """Record output times in (t, t_stop) (t_stop ≤ t + τ) by sequential binomial bridging of
    the leap's firings K1 (first half) and K2 (second half): the firings up to each output time,
    given those up to the previous one, are binomial in the remaining firings. Pairs get the
    annihilations of the elapsed part of the leap."""
    k1, k2, u1, u2 = tw[1], tw[2], tw[8], tw[9]
    paired, arrivals, consumed = tw[12], tw[13], tw[14]
    S = x.shape[0]
    half = 0.5 * tau
    s_prev = 0.0
    for f in range(lo, hi):
        u1[f] = 0.0
        u2[f] = 0.0
    while p < times.shape[0] and times[p] < t_stop:
        s = times[p] - t
        for f in range(lo, hi):
            if s < half:
                left = k1[f] - u1[f]
                if left > 0.0:
                    u1[f] += np.random.binomial(int(left), (s - s_prev) / (half - s_prev))
            else:
                u1[f] = k1[f]
                left = k2[f] - u2[f]
                if left > 0.0:
                    s0 = max(s_prev - half, 0.0)
                    u2[f] += np.random.binomial(int(left), (s - half - s0) / (half - s0))
        row = out[p]
        for i in range(S):
            row[i] = x[i]
        for f in range(lo, hi):
            n = u1[f] + u2[f]
            if n > 0.0:
                for e in range(net.ch_ptr[f], net.ch_ptr[f + 1]):
                    row[net.ch_species[e]] += n * net.ch_value[e]
        _flows(lo, hi, net, u1, u2, paired, arrivals, consumed)
        _pairs(x, row, s, phase, net, arrivals, consumed, True)
        for i in range(S):
            if row[i] < 0.0:
                row[i] = 0.0
        s_prev = s
        p += 1
    return p


@numba.njit(cache=True, nogil=True)
def _leap(x, tau, phase, lo, hi, net, a, tw, crit_fire, a0c, xnew):
    """One trapezoidal leap of the non-critical reactions (+ one critical firing if asked; the
    pairs' annihilations as in the module docstring) into xnew. Returns False if a count would
    become negative."""
    a_tmp, k1, k2, critical, xs = tw[0], tw[1], tw[2], tw[3], tw[6]
    x1, excluded, paired, arrivals, consumed = tw[10], tw[11], tw[12], tw[13], tw[14]
    S = x.shape[0]
    h = 0.5 * tau
    for i in range(S):
        x1[i] = x[i]
    for f in range(lo, hi):
        k1[f] = 0.0
        k2[f] = 0.0
        if not critical[f] and not excluded[f] and a[f] > 0.0:
            k1[f] = np.random.poisson(a[f] * h)
            if k1[f] > 0.0:
                fire(x1, f, k1[f], net)
    for i in range(S):
        if x1[i] < 0.0 and not paired[i]:
            return False
    for i in range(S):
        xs[i] = x1[i]
        xnew[i] = x1[i]
    _flows(lo, hi, net, k1, k2, paired, arrivals, consumed)
    _pairs(x, xs, h, phase, net, arrivals, consumed, False)
    for f in range(lo, hi):
        if not critical[f] and not excluded[f]:
            b = 2.0 * propensity(f, xs, net) - a[f]
            if b > 0.0:
                k2[f] = np.random.poisson(b * h)
                if k2[f] > 0.0:
                    fire(xnew, f, k2[f], net)
    if crit_fire:
        for f in range(lo, hi):
            a_tmp[f] = a[f] if critical[f] else 0.0
        fire(xnew, _pick(lo, hi, a_tmp, np.random.random() * a0c), 1.0, net)
    _flows(lo, hi, net, k1, k2, paired, arrivals, consumed)
    _pairs(x, xnew, tau, phase, net, arrivals, consumed, True)
    for i in range(S):
        if xnew[i] < 0.0:
            return False
    return True


@numba.njit(cache=True, nogil=True)
def _tau_prime(x, phase, lo, hi, net, a, tw, epsilon):
    """Cao et al. (2006) τ' over the non-critical reactions (marks ``critical``; the pairs'
    annihilations are never critical, count in the majority's bound, and the minority rail of a
    pair does not bound τ). Returns (τ', a0 of the critical reactions)."""
    critical, mu, sigma2, excluded, paired = tw[3], tw[4], tw[5], tw[11], tw[12]
    S = x.shape[0]
    part = net.partner[phase]
    a0c = 0.0
    for f in range(lo, hi):
        crit = False
        if a[f] > 0.0 and not excluded[f]:
            for e in range(net.ch_ptr[f], net.ch_ptr[f + 1]):
                v = net.ch_value[e]
                s = net.ch_species[e]
                if v < 0.0 and math.floor(x[s] / -v) < N_CRITICAL:
                    crit = True
        critical[f] = crit
        if crit:
            a0c += a[f]
    for i in range(S):
        mu[i] = 0.0
        sigma2[i] = 0.0
    for f in range(lo, hi):
        if critical[f] or a[f] <= 0.0:
            continue
        for e in range(net.ch_ptr[f], net.ch_ptr[f + 1]):
            v = net.ch_value[e]
            mu[net.ch_species[e]] += v * a[f]
            sigma2[net.ch_species[e]] += v * v * a[f]
    tau1 = math.inf
    for i in range(S):
        if not net.reactant[phase, i] or (paired[i] and x[i] < x[part[i]]):
            continue
        bound = max(epsilon * x[i] / _g(net.hor[phase, i], net.hor_nu[phase, i], x[i]), 1.0)
        if mu[i] != 0.0:
            tau1 = min(tau1, bound / abs(mu[i]))
        if sigma2[i] > 0.0:
            tau1 = min(tau1, bound * bound / sigma2[i])
    return tau1, a0c


@numba.njit(cache=True, nogil=True)
def tau_advance_record(x, t, t_end, phase, net, a, tw, epsilon, fixed_tau, max_events, stats,
                       times, out, p):
    """Tau-leap ``phase`` of ``net`` on counts x from t to t_end (in place), recording the
    output times ``times[p:]`` ≤ t_end into ``out`` (bridging inside leaps). Returns
    ``(events, p)``: events = leaps + exact SSA events (−1 − events if ``max_events`` was
    reached); ``stats[0]`` += exact events, ``stats[1]`` += leaps."""
    lo = net.phase_ptr[phase]
    hi = net.phase_ptr[phase + 1]
    S = x.shape[0]
    xnew = tw[7]
    excluded, paired = tw[11], tw[12]
    for f in range(lo, hi):
        excluded[f] = False
    for i in range(S):
        paired[i] = net.partner[phase, i] >= 0
        if paired[i]:
            excluded[net.pair_rx[phase, i]] = True
    ssa_left = 0
    events = 0
    a0c = 0.0
    tau1 = 0.0
    while t < t_end:
        a0 = 0.0
        for f in range(lo, hi):
            a[f] = propensity(f, x, net)
            a0 += a[f]
        if not a0 > 0.0:
            break
        if events >= max_events:
            return -1 - events, p
        if ssa_left == 0:
            if fixed_tau > 0.0:
                tau1, a0c = _tau_prime(x, phase, lo, hi, net, a, tw, 0.5)  # marks critical
                tau1 = fixed_tau
            else:
                tau1, a0c = _tau_prime(x, phase, lo, hi, net, a, tw, epsilon)
                if tau1 < 10.0 / a0:
                    ssa_left = SSA_STEPS
        if ssa_left > 0:  # one exact event with the propensities a
            ssa_left -= 1
            t_next = t - math.log(1.0 - np.random.random()) / a0
            p = _record_exact(x, t_next, times, out, p, t_end)
            if t_next > t_end:
                t = t_end
                break
            fire(x, _pick(lo, hi, a, np.random.random() * a0), 1.0, net)
            t = t_next
            events += 1
            stats[0] += 1
            continue
        ok = False
        tau = 0.0
        for _ in range(_MAX_HALVINGS):
            tau2 = -math.log(1.0 - np.random.random()) / a0c if a0c > 0.0 else math.inf
            tau = min(tau1, tau2)
            crit_fire = tau2 <= tau1
            if t + tau >= t_end:
                tau = t_end - t
                crit_fire = False
            if _leap(x, tau, phase, lo, hi, net, a, tw, crit_fire, a0c, xnew):
                ok = True
                break
            tau1 *= 0.5
        if not ok:  # pathological: exact steps instead
            ssa_left = SSA_STEPS
            continue
        t_new = t + tau if t + tau < t_end else t_end
        p = _bridge(x, t, tau, phase, lo, hi, net, tw, times, out, p, t_new)
        for i in range(S):
            x[i] = xnew[i]
        t = t_new
        events += 1
        stats[1] += 1
    while p < times.shape[0] and times[p] <= t_end:
        out[p, :] = x
        p += 1
    return events, p


_NO_TIMES = np.zeros(0)


@numba.njit(cache=True, nogil=True)
def tau_advance(x, t, t_end, phase, net, a, bsum, tw, epsilon, max_events, stats):
    """:func:`tau_advance_record` without output times (adaptive τ; the protocol kernel's form)."""
    n, _ = tau_advance_record(x, t, t_end, phase, net, a, tw, epsilon, 0.0, max_events, stats,
                              np.zeros(0), np.zeros((0, x.shape[0])), 0)
    return n


@numba.njit(cache=True, nogil=True)
def tau_record(net, x0, times, n_runs, seed, epsilon, fixed_tau, max_events, out, events):
    """Tau-leaping of phase 0 of ``net``: ``n_runs`` runs from x0 recorded at ``times`` into
    ``out`` ``(runs, P, S)``; ``events`` ``(runs,)`` leaps + exact events (−1 past
    ``max_events``)."""
    np.random.seed(seed)
    a = np.zeros(max(net.c.shape[0], 1))
    tw = tau_work(net)
    stats = np.zeros(3)
    for run in range(n_runs):
        x = x0.copy()
        p = 0
        while p < times.shape[0] and times[p] <= 0.0:
            out[run, p, :] = x
            p += 1
        if times.shape[0] == 0 or p == times.shape[0]:
            events[run] = 0
            continue
        n, p = tau_advance_record(x, 0.0, times[times.shape[0] - 1], 0, net, a, tw, epsilon,
                                  fixed_tau, max_events, stats, times, out[run], p)
        events[run] = n if n >= 0 else -1
