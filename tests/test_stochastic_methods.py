"""Exact SSA, tau-leaping and the CLE against exact moments (SPEC §8).

Exact references: birth–death (Poisson at all times), first-order decay (binomial), dimerisation
and decay + dimerisation (the chemical master equation of the pure-death chain, solved with
``expm_multiply``), and — for a Neural CRN feedforward phase, where no closed form exists — the
exact SSA itself (two-sample z-tests). Thresholds are 4 standard errors so that a change of
numba's random stream cannot make a test flaky; the measured |z| are far below (docs/stochastic.md).
"""

import math

import numpy as np
import pytest
from scipy.sparse import lil_matrix
from scipy.sparse.linalg import expm_multiply

from neuralcrn import Reaction, ReactionNetwork
from neuralcrn.errors import SimulationError
from neuralcrn.ideal import ChemistryRates, ModelSpec, init_params
from neuralcrn.compiler import compile_circuit
from neuralcrn.kinetics import simulate, simulate_ssa

METHODS = ("direct", "tau-leap", "cle")


def assert_moments(samples, mean, var, z=4.0, var_rel=None):
    """Sample mean within z standard errors; sample variance within z of its standard error
    (or within ``var_rel`` relative, for approximate methods)."""
    samples = np.asarray(samples, dtype=float)
    n = samples.shape[0]
    se = math.sqrt(var / n)
    assert abs(samples.mean() - mean) <= z * se + 1e-12, (samples.mean(), mean, se)
    if var_rel is None:
        se_var = math.sqrt(2 * var ** 2 / (n - 1) + var / n)
        assert abs(samples.var(ddof=1) - var) <= z * se_var + 1e-12, (samples.var(ddof=1), var)
    else:
        assert abs(samples.var(ddof=1) / var - 1) <= var_rel, (samples.var(ddof=1), var)


def death_chain_moments(n0, k1, k2, volume, times):
    """Exact mean and variance of A for A → ∅ (k1) and 2A → B (k2), propensities k1·n and
    (k2/Ω)·n(n−1): the master equation on n = 0 … n0, solved exactly (expm_multiply)."""
    N = n0 + 1
    Q = lil_matrix((N, N))
    for n in range(N):
        a1, a2 = k1 * n, k2 / volume * n * (n - 1)
        if a1:
            Q[n - 1, n] += a1
        if a2:
            Q[n - 2, n] += a2
        Q[n, n] -= a1 + a2
    p0 = np.zeros(N)
    p0[n0] = 1.0
    Q = Q.tocsr()
    n = np.arange(N)
    out = []
    for t in times:
        p = expm_multiply(Q * t, p0)
        m = p @ n
        out.append((m, p @ n ** 2 - m * m))
    return out


BIRTH_DEATH = ReactionNetwork([Reaction("0", "A", 500.0), Reaction("A", "0", 1.0)], species=["A"])


@pytest.mark.parametrize("method", METHODS)
def test_birth_death_poisson_moments(method):
    """0 → A (k_b), A → 0 (k_d) from 0: A(t) ~ Poisson(k_b/k_d (1 − e^{−k_d t}))."""
    tr = simulate_ssa(BIRTH_DEATH, times=[0.5, 6.0], n_runs=1500, seed=3, method=method)
    for j, t in enumerate(tr.times):
        lam = 500.0 * (1 - math.exp(-t))
        assert_moments(tr["A"][:, j], lam, lam, var_rel=None if method == "direct" else 0.15)


@pytest.mark.parametrize("method", METHODS)
def test_linear_decay_binomial_moments(method):
    net = ReactionNetwork([Reaction("A", "B", 0.8)], species=["A", "B"])
    tr = simulate_ssa(net, times=[0.5, 2.0], x0_counts={"A": 2000}, n_runs=1500, seed=4,
                      method=method)
    # conservation, every run (CLE: up to a few molecules where B ≈ 0 was projected to ≥ 0)
    np.testing.assert_allclose(tr["A"] + tr["B"], 2000, atol=0 if method != "cle" else 5)
    assert tr.counts.min() >= 0
    for j, t in enumerate(tr.times):
        p = math.exp(-0.8 * t)
        assert_moments(tr["A"][:, j], 2000 * p, 2000 * p * (1 - p),
                       var_rel=None if method == "direct" else 0.15)


@pytest.mark.parametrize("method", METHODS)
def test_dimerisation_and_decay_master_equation(method):
    """A → ∅ (1), 2A → B (k2 = 2/Ω·…): exact moments from the master equation."""
    n0, volume, times = 1000, 1.0, [0.2, 1.0]
    net = ReactionNetwork([Reaction("A", "0", 1.0), Reaction(["A", "A"], "B", 5e-4)],
                          species=["A", "B"])
    exact = death_chain_moments(n0, 1.0, 5e-4, volume, times)
    tr = simulate_ssa(net, times=times, x0_counts={"A": n0}, volume=volume, n_runs=2000,
                      seed=5, method=method)
    for j, (m, v) in enumerate(exact):
        assert_moments(tr["A"][:, j], m, v, var_rel=None if method == "direct" else 0.15)


def test_pure_dimerisation_two_molecules_is_exact():
    """2A → B with two A: P(no event by t) = e^{−2kt/Ω} (our no-1/2 propensity k·n(n−1)/Ω)."""
    net = ReactionNetwork([Reaction(["A", "A"], "B", 1.0)], species=["A", "B"])
    for volume in (1.0, 2.0):
        tr = simulate_ssa(net, times=[0.5], x0_counts=[2, 0], volume=volume, n_runs=4000, seed=5)
        p = math.exp(-2 * 0.5 / volume)
        assert abs(np.mean(tr["A"][:, 0] == 2) - p) < 4 * math.sqrt(p * (1 - p) / 4000)


def _feedforward_network(volume):
    spec = ModelSpec(inputs=2, augment_value=0.2, nonlinearity="quadratic", alpha=0.15, T=0.4,
                     rates=ChemistryRates(annihilation=1e3))
    c = compile_circuit(spec, init_params(spec, 1, scale=1.0, h_scale=0.5))
    ff = c.module("feedforward")
    init = dict(zip(c.network.species, c.network.initial))
    u = {"x1_p": 0.3, "x2_m": 0.8, "u3": 0.2}
    init.update(u)
    init.update({"z1_p": 0.3, "z2_m": 0.8, "z3_p": 0.2})     # z(0) = u
    return ff.with_initial({s: init.get(s, 0.0) for s in ff.species}), spec


def test_neural_crn_feedforward_phase_methods_agree():
    """The paper-XOR feedforward phase (quadratic, k_ann = 1e3) at Ω = 3000: tau-leaping and
    the CLE give the exact SSA's mean signed z(T) within 4 standard errors, and all means are
    near the ODE (large-Ω limit)."""
    ff, spec = _feedforward_network(3000.0)
    n = 300
    runs = {m: simulate_ssa(ff, times=[spec.T], volume=3000.0, n_runs=n, seed=7, method=m)
            for m in METHODS}
    ode = simulate(ff, times=[0.0, spec.T]).final
    for i in (1, 2, 3):
        z = {m: (tr[f"z{i}_p"][:, 0] - tr[f"z{i}_m"][:, 0]) / 3000.0 for m, tr in runs.items()}
        ref = z["direct"]
        assert abs(ref.mean() - (ode[f"z{i}_p"] - ode[f"z{i}_m"])) < 4 * ref.std() / math.sqrt(n) \
            + 2e-3
        for m in ("tau-leap", "cle"):
            se = math.sqrt(ref.var(ddof=1) / n + z[m].var(ddof=1) / n)
            assert abs(z[m].mean() - ref.mean()) < 4 * se, (m, i, z[m].mean(), ref.mean(), se)
            assert 0.6 < z[m].var(ddof=1) / ref.var(ddof=1) < 1.6
    # tau-leaping leaps over the fast annihilation (pairs on the slow scale): ≈ 90 leaps vs
    # ≈ 5400 exact events per run
    assert runs["tau-leap"].num_events.mean() < runs["direct"].num_events.mean() / 20


@pytest.mark.parametrize("method", METHODS)
def test_seeded_and_reproducible(method):
    a = simulate_ssa(BIRTH_DEATH, 2.0, 5, n_runs=5, seed=7, method=method)
    b = simulate_ssa(BIRTH_DEATH, 2.0, 5, n_runs=5, seed=7, method=method)
    c = simulate_ssa(BIRTH_DEATH, 2.0, 5, n_runs=5, seed=8, method=method)
    np.testing.assert_array_equal(a.counts, b.counts)
    assert not np.array_equal(a.counts, c.counts)


def test_non_negative_and_cle_projection():
    """Fast consumption of a few molecules: every method keeps counts ≥ 0; an annihilation pair
    projected by the CLE keeps its signed value."""
    net = ReactionNetwork([Reaction(["A", "A"], "0", 5.0), Reaction("A", "0", 3.0),
                           Reaction(["P", "M"], "0", 1e3), Reaction("0", "M", 50.0)],
                          initial={"A": 1.0, "P": 1.0, "M": 0.0})
    for m in METHODS:
        tr = simulate_ssa(net, 2.0, 11, volume=50, n_runs=20, seed=0, method=m)
        assert tr.counts.min() >= 0
    tr = simulate_ssa(net, 0.5, 6, volume=50, n_runs=200, seed=0, method="cle")
    v = tr["P"] - tr["M"]
    # v = P − M loses one M per birth (2500/time at Ω = 50), annihilations leave it unchanged
    np.testing.assert_allclose(v.mean(axis=0), 50 - 2500 * tr.times,
                               atol=4 * math.sqrt(2500 * 0.5 / 200))


@pytest.mark.parametrize("kwargs, match", [
    (dict(volume=0.0), "volume"),
    (dict(volume=-1.0), "volume"),
    (dict(volume=float("nan")), "volume"),
    (dict(method="gillespie"), "unknown stochastic method"),
    (dict(method="cle", dt=0.0), "dt"),
    (dict(method="tau-leap", tau=-1.0), "tau"),
    (dict(method="tau-leap", epsilon=1.5), "epsilon"),
    (dict(volume=1e20), "too many to count"),
])
def test_bad_input(kwargs, match):
    net = ReactionNetwork([Reaction("A", "0", 1.0)], initial={"A": 1.0})
    with pytest.raises(SimulationError, match=match):
        simulate_ssa(net, 1.0, 3, **kwargs)


def test_non_integer_stoichiometry_is_refused():
    from neuralcrn.kinetics import compile_network
    from neuralcrn.kinetics._phased import phased_network
    net = ReactionNetwork([Reaction("A", "B", 1.0)], initial={"A": 1.0})
    arrays = compile_network(net)
    bad = arrays.__class__(**{**arrays.__dict__, "stoich_value": np.array([-0.5, 1.0])})
    with pytest.raises(SimulationError, match="integer stoichiometry"):
        phased_network(bad, arrays.rate_constants, 10.0)
