"""Deterministic mass-action kinetics: arrays, right-hand side, diffrax solvers, errors."""

import csv
import math
import os

import neuralcrn  # noqa: F401  (enables float64 in JAX before jax.numpy is used)
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from neuralcrn import Reaction, ReactionNetwork
from neuralcrn.errors import NetworkError, SimulationError
from neuralcrn.kinetics import (Trajectory, compile_network, mass_action_rhs, simulate, solve,
                                solve_at, solve_final, write_trajectory_csv)
from neuralcrn.kinetics._solve import solve_jit

TIGHT = dict(rtol=1e-10, atol=1e-12)


def robertson():
    """Robertson (1966) stiff kinetics; 2B -> B + C at 3e7 gives the usual −3e7·y2² term."""
    return ReactionNetwork([Reaction("A", "B", 0.04), Reaction(["B", "C"], ["A", "C"], 1e4),
                            Reaction(["B", "B"], ["B", "C"], 3e7)],
                           species=["A", "B", "C"], initial={"A": 1.0})


# ---------------------------------------------------------------------------- compiled arrays
def test_compile_network_arrays():
    net = ReactionNetwork([Reaction(["Z", "Z"], ["Z"], 0.15), Reaction({"A": 1, "Z": 1}, ["A"], 2.0),
                           Reaction("0", "A", 0.5)],
                          species=["Z", "A", "K"], initial={"Z": 1.0, "K": 3.0}, constant=["K"])
    a = compile_network(net)
    assert a.species == ("Z", "A", "K")
    assert a.reactant_index.dtype == np.int32 and a.reactant_index.shape == (3, 2)
    np.testing.assert_array_equal(a.reactant_index, [[0, 0], [1, 0], [3, 3]])
    np.testing.assert_array_equal(a.reactant_repeat, [[0, 1], [0, 0], [0, 0]])
    np.testing.assert_array_equal(a.stoich, [[-1, -1, 0], [0, 0, 1], [0, 0, 0]])
    dense = np.zeros((3, 3))
    dense[a.stoich_species, a.stoich_reaction] = a.stoich_value
    np.testing.assert_array_equal(dense, a.stoich)
    np.testing.assert_array_equal(a.rate_constants, [0.15, 2.0, 0.5])
    np.testing.assert_array_equal(a.initial, [1.0, 0.0, 3.0])
    np.testing.assert_array_equal(a.constant_mask, [False, False, True])
    assert not a.stoich.flags.writeable
    # the structure key ignores rate constants and initial values, but not the structure
    b = compile_network(net.with_rate_constants([1, 2, 3]).with_initial({"A": 5.0}))
    assert a.structure_key == b.structure_key
    hash(a.structure_key)
    c = compile_network(ReactionNetwork(list(net.reactions[:2]) + [Reaction("0", "Z", 0.5)],
                                        species=["Z", "A", "K"]))
    assert c.structure_key != a.structure_key


def test_compile_network_without_reactions():
    a = compile_network(ReactionNetwork([], species=["A", "B"], initial={"A": 2.0}))
    assert a.reactant_index.shape == (0, 1) and a.stoich.shape == (2, 0)
    assert a.stoich_value.shape == (0,)
    np.testing.assert_array_equal(mass_action_rhs(a.initial, a.rate_constants, a.structure()),
                                  [0.0, 0.0])
    tr = simulate(ReactionNetwork([], species=["A", "B"], initial={"A": 2.0}), 3.0, 4)
    np.testing.assert_array_equal(tr.concentrations, [[2.0, 0.0]] * 4)


# ---------------------------------------------------------------------------- rhs = mass action
def python_rhs(network, x, k):
    """Plain-Python mass action: v = k·Π x^ν (no 1/ν!), dx/dt = Σ net·v; constant species fixed."""
    idx = network.species_index
    dx = [0.0] * network.n_species
    for r, kr in zip(network.reactions, k):
        v = kr
        for s, n in r.reactants:
            v *= x[idx[s]] ** n
        for s, n in r.net_change().items():
            if s not in network.constant:
                dx[idx[s]] += n * v
    return dx


@st.composite
def random_networks(draw):
    n_species = draw(st.integers(1, 8))
    names = [f"S{i}" for i in range(n_species)]
    side = st.lists(st.sampled_from(names), min_size=0, max_size=3)
    reactions = []
    for _ in range(draw(st.integers(1, 6))):
        reactants, products = draw(side), draw(side)
        if not reactants and not products:
            products = [names[0]]
        reactions.append(Reaction(reactants, products, draw(st.floats(0.0, 5.0))))
    constant = draw(st.lists(st.sampled_from(names), max_size=2, unique=True))
    x = draw(st.lists(st.floats(0.0, 3.0), min_size=n_species, max_size=n_species))
    return ReactionNetwork(reactions, species=names, constant=constant), np.array(x)


_rhs_jit = jax.jit(mass_action_rhs)


@settings(max_examples=30, deadline=None)
@given(random_networks())
def test_rhs_equals_python_mass_action(case):
    net, x = case
    a = compile_network(net)
    expected = python_rhs(net, x, a.rate_constants)
    got = _rhs_jit(jnp.asarray(x), jnp.asarray(a.rate_constants), a.structure())
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------- analytic solutions
def test_first_order_decay():
    k = 0.7
    net = ReactionNetwork([Reaction("A", "B", k)], initial={"A": 2.0, "B": 0.5})
    tr = simulate(net, 5.0, **TIGHT)
    A = 2.0 * np.exp(-k * tr.times)
    np.testing.assert_allclose(tr["A"], A, rtol=1e-8)
    np.testing.assert_allclose(tr["B"], 2.5 - A, rtol=1e-8)
    assert tr.times.shape == (101,) and tr.concentrations.shape == (101, 2)
    assert tr.final["A"] == pytest.approx(2.0 * math.exp(-3.5), rel=1e-8)


def test_bimolecular_unequal_initial():
    k, A0, B0 = 2.0, 1.0, 0.6
    net = ReactionNetwork([Reaction(["A", "B"], "C", k)], initial={"A": A0, "B": B0})
    tr = simulate(net, 4.0, **TIGHT)
    d = A0 - B0
    B = B0 * d / (A0 * np.exp(d * k * tr.times) - B0)
    np.testing.assert_allclose(tr["B"], B, rtol=1e-8)
    np.testing.assert_allclose(tr["A"], B + d, rtol=1e-8)
    np.testing.assert_allclose(tr["C"], B0 - B, rtol=1e-8, atol=1e-12)


def test_reversible_isomerisation():
    kf, kr = 1.5, 0.5
    net = ReactionNetwork([Reaction("A", "B", kf), Reaction("B", "A", kr)], initial={"A": 1.0})
    tr = simulate(net, 3.0, **TIGHT)
    a_inf = kr / (kf + kr)
    A = a_inf + (1.0 - a_inf) * np.exp(-(kf + kr) * tr.times)
    np.testing.assert_allclose(tr["A"], A, rtol=1e-8)
    np.testing.assert_allclose(tr["A"] + tr["B"], 1.0, rtol=1e-12)


def test_dimerisation_uses_no_half_factor():
    """2A -> B at rate k[A]² consumes two A per event: d[A]/dt = −2k[A]² (not −k[A]²)."""
    k, A0 = 0.5, 1.0
    net = ReactionNetwork([Reaction(["A", "A"], "B", k)], initial={"A": A0})
    tr = simulate(net, 4.0, **TIGHT)
    A = A0 / (1.0 + 2.0 * k * A0 * tr.times)
    np.testing.assert_allclose(tr["A"], A, rtol=1e-8)
    np.testing.assert_allclose(tr["B"], (A0 - A) / 2.0, rtol=1e-8, atol=1e-12)


def test_conservation_laws_in_nonlinear_network():
    net = ReactionNetwork([Reaction(["A", "B"], "C", 3.0), Reaction("C", ["A", "B"], 0.4),
                           Reaction("C", ["A", "D"], 0.7), Reaction(["D", "D"], ["B", "B"], 1.1)],
                          initial={"A": 1.0, "B": 0.8, "C": 0.1, "D": 0.3})
    tr = simulate(net, 6.0)
    A, B, C, D = tr["A"], tr["B"], tr["C"], tr["D"]
    np.testing.assert_allclose(A + C, 1.1, rtol=1e-9)                      # A-moiety
    np.testing.assert_allclose(B + C + D, 0.8 + 0.1 + 0.3, rtol=1e-9)      # B-moiety
    assert abs(D[-1] - 0.3) > 0.05                                         # things did happen
    assert np.all(tr.concentrations > -1e-12)


def test_constant_species_stay_constant():
    net = ReactionNetwork([Reaction(["A", "K"], ["K", "B"], 2.0), Reaction("K", "0", 5.0)],
                          initial={"A": 1.0, "K": 0.3}, constant=["K"])
    tr = simulate(net, 2.0, **TIGHT)
    np.testing.assert_array_equal(tr["K"], 0.3)
    np.testing.assert_allclose(tr["A"], np.exp(-2.0 * 0.3 * tr.times), rtol=1e-8)


def test_custom_times_and_x0_mapping_and_array():
    net = ReactionNetwork([Reaction("A", "B", 1.0)], initial={"A": 1.0})
    tr = simulate(net, times=[0.5, 1.0, 2.0], x0={"A": 3.0}, **TIGHT)
    np.testing.assert_allclose(tr["A"], 3.0 * np.exp(-np.array([0.5, 1.0, 2.0])), rtol=1e-8)
    tr2 = simulate(net, times=[0.5, 1.0, 2.0], x0=[3.0, 0.0], **TIGHT)
    np.testing.assert_array_equal(tr.concentrations, tr2.concentrations)
    assert simulate(net, times=[0.0]).final == {"A": 1.0, "B": 0.0}


def test_explicit_methods_agree():
    net = ReactionNetwork([Reaction("A", "B", 0.7)], initial={"A": 2.0})
    for method in ("dopri8",):
        tr = simulate(net, 5.0, method=method, **TIGHT)
        np.testing.assert_allclose(tr["A"], 2.0 * np.exp(-0.7 * tr.times), rtol=1e-8)


# ---------------------------------------------------------------------------- stiff
def test_robertson_implicit_matches_reference():
    # Reference: Hairer & Wanner, Solving ODEs II; also scipy Radau at rtol 1e-12.
    tr = simulate(robertson(), times=[0.4, 40.0], method="kvaerno5")
    np.testing.assert_allclose(tr.concentrations[0], [0.9851721138, 3.386395e-05, 0.01479402],
                               rtol=1e-6)
    np.testing.assert_allclose(tr.concentrations[1], [0.7158270687, 9.185534764e-06,
                                                      0.2841637457], rtol=1e-6)
    np.testing.assert_allclose(tr.concentrations.sum(axis=1), 1.0, rtol=1e-9)


def test_max_steps_gives_readable_error():
    with pytest.raises(SimulationError, match=r"maximum number of steps \(300\).*'auto'") as e:
        simulate(robertson(), times=[0.4, 40.0], max_steps=300, method="tsit5")
    assert "solver stopped at t=" in str(e.value) and "of 40" in str(e.value)
    with pytest.raises(SimulationError, match=r"maximum number of steps \(5\).*max_steps"):
        simulate(robertson(), times=[0.4, 40.0], max_steps=5)


def test_finite_time_blow_up_is_reported():
    """A + A -> 3A: d[A]/dt = [A]², so [A] = 1/(1 − t) blows up at t = 1."""
    net = ReactionNetwork([Reaction(["A", "A"], ["A", "A", "A"], 1.0)], initial={"A": 1.0})
    with pytest.raises(SimulationError, match=r"stopped at t=(0\.99\d*|1) of 2: .*blow up"):
        simulate(net, 2.0, max_steps=300)


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("x0, match", [({"B": -1.0}, r"'B'.*-1\.0"), ({"A": float("nan")}, "'A'.*nan"),
                                       ([1.0, float("inf")], "'B'.*inf"), ({"Q": 1.0}, "'Q'"),
                                       ([1.0], "expected 2")])
def test_bad_initial_values(x0, match):
    net = ReactionNetwork([Reaction("A", "B", 1.0)], initial={"A": 1.0})
    with pytest.raises(SimulationError, match=match):
        simulate(net, 1.0, x0=x0)


def test_bad_arguments():
    net = ReactionNetwork([Reaction("A", "B", 1.0)], initial={"A": 1.0})
    with pytest.raises(SimulationError, match="increasing"):
        simulate(net, times=[0.0, 2.0, 1.0])
    with pytest.raises(SimulationError, match="t ≥ 0"):
        simulate(net, times=[-1.0, 1.0])
    with pytest.raises(SimulationError, match="t_end"):
        simulate(net)
    with pytest.raises(SimulationError, match="method"):
        simulate(net, 1.0, method="euler")
    with pytest.raises(NetworkError, match="reaction #1"):
        simulate(net, 1.0, rate_constants=[-1.0])
    with pytest.raises(NetworkError, match="expected 1"):
        simulate(net, 1.0, rate_constants=[1.0, 2.0])


# ---------------------------------------------------------------------------- compilation reuse
def test_no_recompilation_for_new_rate_constants_or_initial_values():
    net = ReactionNetwork([Reaction(["A", "B"], "C", 1.0), Reaction("C", "A", 0.3)],
                          initial={"A": 1.0, "B": 0.5})
    simulate(net, 1.0)
    n = solve_jit._cache_size()
    simulate(net, 1.0, rate_constants=[2.0, 0.1])
    simulate(net.with_rate_constants([5.0, 0.0]), 1.0)
    simulate(net, 1.0, x0={"B": 3.0})
    simulate(net.with_initial({"C": 2.0}), 2.5)                          # same grid length
    renamed = ReactionNetwork([Reaction(["X", "Y"], "Z", 4.0), Reaction("Z", "Y", 0.3)],
                              species=["X", "Y", "Z"], initial={"X": 1.0})  # same shapes
    simulate(renamed, 1.0)
    assert solve_jit._cache_size() == n

    traces = []

    @jax.jit
    def final(k, x0):
        traces.append(1)  # Python side effect: runs once per trace
        return solve_final(compile_network(net).structure(), k, x0, 1.0)

    final(jnp.array([1.0, 0.3]), jnp.array([1.0, 0.5, 0.0]))
    final(jnp.array([2.0, 0.0]), jnp.array([0.2, 0.1, 0.7]))
    assert len(traces) == 1


# ---------------------------------------------------------------------------- pure solvers
def test_solve_final_vmap_and_scan():
    net = ReactionNetwork([Reaction(["A", "B"], "C", 1.0), Reaction("C", "A", 0.3)],
                          species=["A", "B", "C"], initial={"A": 1.0, "B": 0.5})
    structure = compile_network(net).structure()
    ks = jnp.array([[1.0, 0.3], [2.0, 0.0], [0.0, 1.0]])        # 0 switches a reaction off
    x0s = jnp.array([[1.0, 0.5, 0.0], [0.2, 0.4, 0.1], [0.0, 0.0, 2.0]])
    batched = jax.jit(jax.vmap(lambda k, x: solve_final(structure, k, x, 1.5)))(ks, x0s)
    for k, x0, got in zip(ks, x0s, batched):
        ref = simulate(net, times=[1.5], x0=np.asarray(x0), rate_constants=np.asarray(k))
        np.testing.assert_allclose(got, ref.concentrations[0], rtol=1e-9, atol=1e-14)

    # a two-phase protocol in lax.scan: phase 1 only A+B->C, phase 2 only C->A
    masks = jnp.array([[1.0, 0.0], [0.0, 1.0]])
    durations = jnp.array([1.0, 2.0])

    def phase(x, inp):
        mask, duration = inp
        x = solve_final(structure, mask * jnp.array([1.0, 0.3]), x, duration)
        return x, x

    x_end, _ = jax.jit(lambda x: jax.lax.scan(phase, x, (masks, durations)))(x0s[0])
    x1 = simulate(net, times=[1.0], rate_constants=[1.0, 0.0]).concentrations[0]
    x2 = simulate(net, times=[2.0], x0=x1, rate_constants=[0.0, 0.3]).concentrations[0]
    np.testing.assert_allclose(x_end, x2, rtol=1e-9)


def test_solve_reports_failure_without_raising():
    a = compile_network(robertson())
    for method, max_steps in (("tsit5", 300), ("rodas5-dense", 5), ("ros34pw2", 5)):
        sol = solve(a.structure(), a.rate_constants, a.initial, jnp.array([0.4, 40.0]),
                    max_steps=max_steps, method=method)
        assert int(sol.status) == 1 and 0 < float(sol.t_reached) < 40.0
        ys = solve_at(a.structure(), a.rate_constants, a.initial, jnp.array([0.4, 40.0]),
                      max_steps=max_steps, method=method)
        assert np.all(np.isnan(ys))
        assert np.all(np.isnan(solve_final(a.structure(), a.rate_constants, a.initial, 40.0,
                                           max_steps=max_steps, method=method)))


# ---------------------------------------------------------------------------- trajectory
def test_trajectory_csv(tmp_path):
    net = ReactionNetwork([Reaction("A", "B", 1.0)], initial={"A": 1.0})
    tr = simulate(net, times=[0.0, 0.5, 1.0])
    path = tmp_path / "out.csv"
    tr.to_csv(path)
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["time", "A", "B"]
    data = np.array(rows[1:], dtype=float)
    np.testing.assert_array_equal(data[:, 0], tr.times)
    np.testing.assert_array_equal(data[:, 1:], tr.concentrations)   # exact round trip
    assert os.listdir(tmp_path) == ["out.csv"]                        # no temporary left over
    assert isinstance(tr, Trajectory) and len(tr) == 3
    with pytest.raises(NetworkError, match="'Q'"):
        tr["Q"]
    write_trajectory_csv(tmp_path / "plain.csv", tr.times, tr.concentrations, tr.species)
    assert (tmp_path / "plain.csv").read_text() == path.read_text()
    with pytest.raises(ValueError, match="expected"):
        write_trajectory_csv(tmp_path / "bad.csv", tr.times, tr.concentrations[:, :1], tr.species)
