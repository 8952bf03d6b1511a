"""Stochastic simulation: propensity convention, exact statistics, tau-leaping, SBML Test Suite."""

import csv
import math
from pathlib import Path

import neuralcrn  # noqa: F401
import numpy as np
import pytest

from neuralcrn import Reaction, ReactionNetwork
from neuralcrn.errors import SimulationError
from neuralcrn.kinetics import StochasticTrajectory, simulate, simulate_ssa

BIRTH_DEATH = ReactionNetwork([Reaction("0", "A", 10.0), Reaction("A", "0", 1.0)], species=["A"])


def assert_mean_var(samples, mean, var, z=4.0):
    """Sample mean and variance agree with the exact ones within z standard errors."""
    n = len(samples)
    assert abs(samples.mean() - mean) <= z * math.sqrt(var / n) + 1e-12, (samples.mean(), mean)
    # sd of the sample variance ≈ σ²·sqrt(2/(n−1)) for near-Gaussian data (+ excess kurtosis term)
    se_var = math.sqrt(2 * var ** 2 / (n - 1) + var / n)
    assert abs(samples.var(ddof=1) - var) <= z * se_var + 1e-12, (samples.var(ddof=1), var)


def test_birth_death_is_poisson_at_all_times():
    """0 -> A (k_b), A -> 0 (k_d) from A = 0: A(t) ~ Poisson(k_b/k_d · (1 − e^{−k_d t}))."""
    tr = simulate_ssa(BIRTH_DEATH, 5.0, 6, n_runs=4000, seed=1)
    assert isinstance(tr, StochasticTrajectory)
    assert tr.counts.shape == (4000, 6, 1) and tr.counts.dtype == np.int64
    np.testing.assert_array_equal(tr["A"][:, 0], 0)
    for j in range(1, 6):
        lam = 10.0 * (1 - math.exp(-tr.times[j]))
        assert_mean_var(tr["A"][:, j], lam, lam)


def test_first_order_decay_is_binomial():
    net = ReactionNetwork([Reaction("A", "B", 0.8)], species=["A", "B"])
    tr = simulate_ssa(net, times=[0.5, 1.0, 2.0], x0_counts={"A": 50}, n_runs=3000, seed=3)
    np.testing.assert_array_equal(tr["A"] + tr["B"], 50)              # conservation, every run
    for j, t in enumerate(tr.times):
        p = math.exp(-0.8 * t)
        assert_mean_var(tr["A"][:, j], 50 * p, 50 * p * (1 - p))


def test_dimerisation_propensity_has_no_half_factor():
    """2A -> B, k = 1, two A molecules: propensity k·V·n(n−1)/V² = 2/V (SBML's c·n(n−1)/2 would
    be 1): P(no event by t) = e^{−2t/V}."""
    net = ReactionNetwork([Reaction(["A", "A"], "B", 1.0)], species=["A", "B"])
    for volume in (1.0, 2.0):
        tr = simulate_ssa(net, times=[0.5], x0_counts=[2, 0], volume=volume, n_runs=4000, seed=5)
        survived = np.mean(tr["A"][:, 0] == 2)
        p = math.exp(-2 * 0.5 / volume)
        assert abs(survived - p) < 4 * math.sqrt(p * (1 - p) / 4000)
        assert set(np.unique(tr["A"])) <= {0, 2}


def test_ode_limit_of_dimerisation_matches_ode():
    net = ReactionNetwork([Reaction(["A", "A"], "B", 1.0)], initial={"A": 1.0})
    ode = simulate(net, 1.0, 5)
    volume = 1e4
    tr = simulate_ssa(net, 1.0, 5, volume=volume, n_runs=10, seed=2)
    np.testing.assert_array_equal(tr.counts[:, 0, 0], 10_000)       # round(1.0 · V)
    np.testing.assert_allclose(tr.concentrations.mean(axis=0), ode.concentrations, atol=5e-3)
    leap = simulate_ssa(net, 1.0, 5, volume=volume, n_runs=10, seed=2, method="tau-leap")
    np.testing.assert_allclose(leap.concentrations.mean(axis=0), ode.concentrations, atol=5e-3)
    assert leap.num_events.max() < tr.num_events.min() / 10            # leaps, not single events


def test_seeded_and_reproducible():
    a = simulate_ssa(BIRTH_DEATH, 2.0, 5, n_runs=5, seed=7)
    b = simulate_ssa(BIRTH_DEATH, 2.0, 5, n_runs=5, seed=7)
    c = simulate_ssa(BIRTH_DEATH, 2.0, 5, n_runs=5, seed=8)
    np.testing.assert_array_equal(a.counts, b.counts)
    assert not np.array_equal(a.counts, c.counts)
    d = simulate_ssa(BIRTH_DEATH, 2.0, 5, n_runs=5, seed=7, method="tau-leap", tau=0.05)
    e = simulate_ssa(BIRTH_DEATH, 2.0, 5, n_runs=5, seed=7, method="tau-leap", tau=0.05)
    np.testing.assert_array_equal(d.counts, e.counts)


def test_tau_leaping_large_counts():
    """Birth–death with mean 1000: adaptive leaps (Cao et al. 2006) keep the mean; fixed small tau
    also keeps the variance (Poisson)."""
    net = ReactionNetwork([Reaction("0", "A", 1000.0), Reaction("A", "0", 1.0)], species=["A"])
    adaptive = simulate_ssa(net, times=[1.0, 4.0], n_runs=1000, seed=4, method="tau-leap")
    for j, t in enumerate(adaptive.times):
        lam = 1000 * (1 - math.exp(-t))
        assert abs(adaptive["A"][:, j].mean() - lam) < 4 * math.sqrt(lam / 1000) + 0.01 * lam
    assert adaptive.num_events.mean() < 1000                         # ~6000 exact events per run
    fixed = simulate_ssa(net, times=[4.0], n_runs=1000, seed=4, method="tau-leap", tau=0.01)
    lam = 1000 * (1 - math.exp(-4.0))
    assert abs(fixed["A"][:, 0].mean() - lam) < 4 * math.sqrt(lam / 1000) + 0.02 * lam
    assert abs(fixed["A"][:, 0].var(ddof=1) / lam - 1) < 0.2


def test_tau_leaping_never_goes_negative():
    net = ReactionNetwork([Reaction(["A", "A"], "0", 5.0), Reaction("A", "0", 3.0)],
                          initial={"A": 1.0})
    tr = simulate_ssa(net, 2.0, 11, volume=500, n_runs=20, seed=0, method="tau-leap", tau=0.5)
    assert tr.counts.min() >= 0
    assert tr.counts[:, -1, 0].mean() < 5


def test_constant_species_and_no_reactions():
    net = ReactionNetwork([Reaction(["A", "K"], ["K", "B"], 0.5), Reaction("K", "0", 9.0)],
                          initial={"A": 10.0, "K": 4.0}, constant=["K"])
    tr = simulate_ssa(net, 3.0, 4, n_runs=50, seed=1)
    np.testing.assert_array_equal(tr["K"], 4)
    p = math.exp(-0.5 * 4.0 * 3.0)
    assert abs(tr["A"][:, -1].mean() - 10 * p) < 4 * math.sqrt(10 * p * (1 - p) / 50)
    empty = simulate_ssa(ReactionNetwork([], species=["A"], initial={"A": 3.0}), 1.0, 3,
                         method="tau-leap")
    np.testing.assert_array_equal(empty.counts, [[[3], [3], [3]]])


def test_csv_layouts(tmp_path):
    tr = simulate_ssa(BIRTH_DEATH, 1.0, 3, n_runs=4, seed=0)
    tr.to_csv(tmp_path / "stats.csv")
    tr.to_csv(tmp_path / "run1.csv", run=1)
    with open(tmp_path / "stats.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["time", "A-mean", "A-sd"]
    np.testing.assert_allclose(np.array(rows[1:], float)[:, 1], tr.mean()[:, 0])
    with open(tmp_path / "run1.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["time", "A"]
    np.testing.assert_array_equal(np.array(rows[1:], float)[:, 1], tr.counts[1, :, 0])


@pytest.mark.parametrize("kwargs, match", [
    (dict(x0_counts={"A": 1.5}), "non-negative integer"),
    (dict(x0_counts={"A": -1}), "'A'.*-1"),
    (dict(x0_counts={"Q": 1}), "'Q'"),
    (dict(volume=0.0), "volume"),
    (dict(method="exact"), "method"),
    (dict(tau=0.1), "tau"),
    (dict(n_runs=0), "n_runs"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(SimulationError, match=match):
        simulate_ssa(BIRTH_DEATH, 1.0, 3, **kwargs)


def test_max_events():
    growth = ReactionNetwork([Reaction("A", ["A", "A"], 1.0)], initial={"A": 1.0})
    with pytest.raises(SimulationError, match="max_events = 100"):
        simulate_ssa(growth, 20.0, 3, max_events=100)


# ---------------------------------------------------------------------------- SBML Test Suite
CASES = Path("/work/shared/sbml-cases/stochastic")


def _net(reactions, species, initial):
    return ReactionNetwork(reactions, species=species, initial=initial)


# Each case's network in our convention (V = 1, counts = amounts). SBML rate c·P(P−1)/2 for 2P is
# our k = c/2; case 00034 is the dimerisation of 00030 written with P eliminated.
DIMER = _net([Reaction(["P", "P"], "P2", 0.001 / 2), Reaction("P2", ["P", "P"], 0.01)],
             ["P", "P2"], {"P": 100})
SBML_CASES = {
    "00010": _net([Reaction("X", ["X", "X"], 0.1), Reaction("X", "0", 0.11)], ["X"], {"X": 100}),
    "00001": _net([Reaction("X", ["X", "X"], 0.1), Reaction("X", "0", 0.11)], ["X"], {"X": 100}),
    "00004": _net([Reaction("X", ["X", "X"], 0.1), Reaction("X", "0", 0.11)], ["X"], {"X": 10}),
    "00007": _net([Reaction("X", ["X", "X"], 0.1), Reaction("X", "Sink", 0.11)], ["X", "Sink"],
                  {"X": 100}),
    "00021": _net([Reaction("0", "X", 10.0), Reaction("X", "0", 0.1)], ["X"], {}),
    "00030": DIMER,
    "00034": DIMER,
    "00038": _net([Reaction("0", {"X": 10}, 1.0), Reaction("X", "0", 0.4)], ["X"], {}),
}


def _read_case(case):
    settings = dict(line.split(":", 1) for line in (CASES / case / f"{case}-settings.txt")
                    .read_text().splitlines() if ":" in line)
    variables = [v.strip() for v in settings["variables"].split(",")]
    with open(CASES / case / f"{case}-results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return variables, rows


@pytest.mark.skipif(not CASES.is_dir(), reason="SBML Test Suite stochastic cases not available")
@pytest.mark.parametrize("case, method", [(c, "direct") for c in sorted(SBML_CASES)]
                         + [("00001", "tau-leap"), ("00021", "tau-leap"), ("00030", "tau-leap"),
                            ("00030", "imported"), ("00010", "imported")])
def test_sbml_stochastic_suite(case, method):
    """Suite criteria (stochastic/DSMTS), n = 10 000 runs: per time point, Z = √n (mean − μ)/σ in
    (−3, 3) and Y = √(n/2) (s²/σ² − 1) in (−5, 5). Our runs meet them (max |Z| 2.8, max |Y| 2.4);
    the test allows |Z| < 4 so that a change of numba's random stream cannot make it flaky."""
    variables, rows = _read_case(case)
    times = np.array([float(r["time"]) for r in rows])
    n = 10_000
    if method == "imported":  # the SBML file itself, with its own Ω (and k1*P*(P-1)/2 laws)
        from neuralcrn.chemistry.sbml import import_sbml
        model = import_sbml(CASES / case / f"{case}-sbml-l3v2.xml")
        tr = simulate_ssa(model, times=times, n_runs=n, seed=11)
    else:
        tr = simulate_ssa(SBML_CASES.get(case), times=times, n_runs=n, seed=11, method=method)
    for v in variables:
        mu = np.array([float(r[f"{v}-mean"]) for r in rows])
        sd = np.array([float(r[f"{v}-sd"]) for r in rows])
        x = tr[v].astype(float)
        ok = sd > 0
        z = np.sqrt(n) * (x.mean(axis=0)[ok] - mu[ok]) / sd[ok]
        y = np.sqrt(n / 2) * (x.var(axis=0, ddof=1)[ok] / sd[ok] ** 2 - 1)
        assert np.all(np.abs(z) < 4), (v, z)
        assert np.all(np.abs(y) < 5), (v, y)
        np.testing.assert_allclose(x.mean(axis=0)[~ok], mu[~ok])


def test_hub_catalyst_partial_propensities_are_exact():
    """A catalyst read by many reactions gets a hub region (partial propensities); the process
    is unchanged. H → ∅ (μ) from h0 molecules; H + C_i → H + D_i (k) for 40 species; H + A →
    H + A + B (k). Each H molecule lives min(T, t) with T ~ Exp(μ), so
    E[D_i(t)] = C_i(0)·(1 − φ^h0) with φ = μ/(μ+k)·(1 − e^{−(μ+k)t}) + e^{−(μ+k)t}, and
    E[B(t)] = k·A·h0·(1 − e^{−μt})/μ."""
    from neuralcrn.kinetics._inputs import as_arrays
    from neuralcrn.kinetics._phased import HUB_MIN, phased_network
    n_c, mu, k, h0, c0, a, t = 40, 1.0, 0.3, 5, 10, 20, 1.0
    assert n_c >= HUB_MIN
    rx = [Reaction("H", "0", mu), Reaction(["H", "A"], ["H", "A", "B"], k)]
    rx += [Reaction(["H", f"C{i}"], ["H", f"D{i}"], k) for i in range(n_c)]
    species = ["H", "A", "B"] + [f"C{i}" for i in range(n_c)] + [f"D{i}" for i in range(n_c)]
    net = ReactionNetwork(rx, species=species)
    arrays = as_arrays(net)
    phased = phased_network(arrays, np.asarray(arrays.rate_constants), 1.0)
    assert 0 in set(phased.region_hub.tolist())          # H (species 0) has a hub region
    x0 = {"H": h0, "A": a, **{f"C{i}": c0 for i in range(n_c)}}
    tr = simulate_ssa(net, times=[t], x0_counts=x0, n_runs=3000, seed=5)
    d_total = sum(tr[f"D{i}"][:, 0] for i in range(n_c)).astype(float)
    phi = mu / (mu + k) * (1 - math.exp(-(mu + k) * t)) + math.exp(-(mu + k) * t)
    mean_d = n_c * c0 * (1 - phi ** h0)
    assert abs(d_total.mean() - mean_d) <= 4 * d_total.std(ddof=1) / math.sqrt(d_total.size)
    b = tr["B"][:, 0].astype(float)
    mean_b = k * a * h0 * (1 - math.exp(-mu * t)) / mu
    assert abs(b.mean() - mean_b) <= 4 * b.std(ddof=1) / math.sqrt(b.size)
    # H itself is Binomial(h0, e^{−μt}); C_i + D_i is conserved in every run
    p = math.exp(-mu * t)
    assert_mean_var(tr["H"][:, 0].astype(float), h0 * p, h0 * p * (1 - p))
    for i in range(n_c):
        np.testing.assert_array_equal(tr[f"C{i}"][:, 0] + tr[f"D{i}"][:, 0], c0)
