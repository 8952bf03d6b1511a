"""Imperfect chemistry (issue 11, SPEC §8): rate-constant errors, leaks, incomplete washing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neuralcrn.chemistry import Reaction
from neuralcrn.chemistry.switched import SwitchedNetwork, TimedEvent
from neuralcrn.compiler import (LEAK_REFERENCE, Imperfections, compile_two_phase,
                                imperfect_program, is_catalytic_production, leak_reactions,
                                load_sample, rate_factors, step_program)
from neuralcrn.errors import SpecError
from neuralcrn.ideal import ModelSpec
from neuralcrn.training import TrainConfig

SPEC = ModelSpec(inputs=1, augment_value=0.5, nonlinearity="quadratic", alpha=0.15, T=0.4,
                 gradient="first-order", learning_rate=0.1)


@pytest.fixture(scope="module")
def perfect():
    circuit = compile_two_phase(SPEC)
    return circuit, step_program(circuit, "two-phase")


# ------------------------------------------------------------------ rate-constant error
def test_rate_draw_is_reproducible_and_log_normal():
    imp = Imperfections(rate_noise=0.3, seed=7)
    f = rate_factors(40_000, imp)
    np.testing.assert_array_equal(f, rate_factors(40_000, Imperfections(rate_noise=0.3, seed=7)))
    assert not np.array_equal(f, rate_factors(40_000, Imperfections(rate_noise=0.3, seed=8)))
    logs = np.log(f)
    # ln k − ln k_nominal ~ N(0, σ²): mean within 5 standard errors, sd within 2 %
    assert abs(logs.mean()) < 5 * 0.3 / math.sqrt(logs.size)
    assert logs.std(ddof=1) == pytest.approx(0.3, rel=0.02)
    # the draw is numpy's default_rng(seed) normal stream, in reaction order
    np.testing.assert_allclose(logs, 0.3 * np.random.default_rng(7).standard_normal(40_000))
    np.testing.assert_array_equal(rate_factors(5, Imperfections(seed=3)), np.ones(5))


def test_rate_noise_multiplies_every_reaction_in_every_phase(perfect):
    circuit, program = perfect
    imp = Imperfections(rate_noise=0.2, seed=1)
    c2, p2 = imperfect_program(circuit, program, imp)
    f = rate_factors(circuit.network.n_reactions, imp)
    np.testing.assert_allclose(c2.network.rate_constants, circuit.network.rate_constants * f)
    np.testing.assert_allclose(np.asarray(p2.rate_constants),
                               np.asarray(program.rate_constants) * f[None, :])
    np.testing.assert_array_equal(np.asarray(p2.keep), np.asarray(program.keep))
    assert [r.rate_constant for r in c2.network.reactions] != \
        [r.rate_constant for r in circuit.network.reactions]
    # the perfect case is the identity
    assert imperfect_program(circuit, program, Imperfections()) == (circuit, program)


def test_rate_noise_modules_keep_the_errors_of_the_named_phases_only(perfect):
    """``rate_noise_modules``: the reactions of the named modules keep exactly the errors of the
    whole instance (same draw), every other reaction runs at its nominal rate; a module the
    circuit lacks is a clear error."""
    circuit, program = perfect
    full = Imperfections(rate_noise=0.2, seed=1)
    f = rate_factors(circuit.network.n_reactions, full)
    K = np.asarray(program.rate_constants)
    for mods in (("feedforward",), ("feedback",), ("feedforward", "feedback")):
        imp = Imperfections(rate_noise=0.2, seed=1, rate_noise_modules=list(mods))
        assert imp.rate_noise_modules == mods
        c2, p2 = imperfect_program(circuit, program, imp)
        expect = np.ones_like(f)
        for name, (a, b) in circuit.ranges:
            if name in mods:
                expect[a:b] = f[a:b]
        assert 1.0 in expect or len(mods) == 2
        np.testing.assert_allclose(np.asarray(p2.rate_constants), K * expect[None, :])
        np.testing.assert_allclose(c2.network.rate_constants,
                                   circuit.network.rate_constants * expect)
        assert Imperfections.from_dict(imp.to_dict()) == imp
        assert "only" in imp.describe() and mods[0] in imp.describe()
    with pytest.raises(SpecError, match="'update'.*feedforward, feedback"):
        imperfect_program(circuit, program,
                          Imperfections(rate_noise=0.2, rate_noise_modules=("update",)))
    for bad in ([], "feedforward", [1]):
        with pytest.raises(SpecError, match="rate_noise_modules"):
            Imperfections(rate_noise=0.2, rate_noise_modules=bad)
    assert "rate_noise_modules" not in Imperfections(rate_noise=0.2).to_dict()


# ------------------------------------------------------------------ leaks
def test_leak_form_of_single_reactions():
    cat2 = Reaction(["P", "U"], ["P", "U", "Z"], 2.0)
    assert [str(r) for r in leak_reactions(cat2)] == [
        str(Reaction(["U"], ["U", "Z"], 2.0)), str(Reaction(["P"], ["P", "Z"], 2.0))]
    assert [str(r) for r in leak_reactions(Reaction(["A"], ["A", "H"], 3.0))] == \
        [str(Reaction([], ["H"], 3.0))]
    for not_production in (Reaction(["Z", "Z"], ["Z"], 1.0), Reaction(["A", "B"], [], 1.0),
                           Reaction(["O"], ["E", "E"], 1.0), Reaction(["Z", "Z"], ["Z"] * 3, 1.0),
                           Reaction(["Z"], [], 1.0)):
        assert not is_catalytic_production(not_production)
        assert leak_reactions(not_production) == []


def test_leak_adds_exactly_the_stated_reactions(perfect):
    circuit, program = perfect
    lam = 0.02
    c2, p2 = imperfect_program(circuit, program, Imperfections(leak=lam))
    K = np.asarray(program.rate_constants)
    K2 = np.asarray(p2.rate_constants)
    for (name, (a, b)), (name2, (a2, b2)) in zip(circuit.ranges, c2.ranges):
        assert name == name2
        # the module's own reactions first, unchanged
        assert c2.network.reactions[a2:a2 + (b - a)] == circuit.network.reactions[a:b]
        np.testing.assert_array_equal(K2[:, a2:a2 + (b - a)], K[:, a:b])
        # then the leaks: one per (catalytic production, catalyst), identical ones summed
        expect: dict = {}
        for r in range(a, b):
            for lk in leak_reactions(circuit.network.reactions[r]):
                key = (lk.reactants, lk.products)
                k0, col = expect.get(key, (0.0, 0.0))
                expect[key] = (k0 + lk.rate_constant, col + K[:, r])
        leaks = c2.network.reactions[a2 + (b - a):b2]
        assert len(leaks) == len(expect) > 0
        for j, lk in enumerate(leaks):
            k0, col = expect[(lk.reactants, lk.products)]
            assert lk.rate_constant == pytest.approx(lam * LEAK_REFERENCE * k0, rel=1e-12)
            np.testing.assert_allclose(K2[:, a2 + (b - a) + j], lam * LEAK_REFERENCE * col,
                                       rtol=1e-12)
            assert lk.molecularity <= 1
    assert c2.network.n_species == circuit.network.n_species
    assert c2.network.max_molecularity == circuit.network.max_molecularity


def test_leak_changes_the_ode_as_stated():
    """A + B → A + B + C at k with leak λ: dC/dt = k·A·B + λ·k·c_ref·(A + B)."""
    from neuralcrn.chemistry import ReactionNetwork
    from neuralcrn.kinetics import simulate
    net = ReactionNetwork([Reaction(["A", "B"], ["A", "B", "C"], 2.0)], initial={"A": 0.5,
                                                                               "B": 0.3})
    leaky = ReactionNetwork([net.reactions[0]] + [lk.with_rate_constant(0.1 * 2.0)
                                                  for lk in leak_reactions(net.reactions[0])],
                            net.species, net.initial)
    c = simulate(leaky, t_end=1.0, n_points=2).final["C"]
    assert c == pytest.approx(2.0 * 0.5 * 0.3 + 0.1 * 2.0 * (0.5 + 0.3), rel=1e-6)


# ------------------------------------------------------------------ incomplete wash
def test_incomplete_wash_leaves_the_fraction_ode(perfect):
    circuit, program = perfect
    w = 0.07
    _, p2 = imperfect_program(circuit, program, Imperfections(wash_residual=w))
    keep = np.asarray(program.keep)
    np.testing.assert_allclose(np.asarray(p2.keep), np.where(keep == 1.0, 1.0, w))
    rng = np.random.default_rng(0)
    state = rng.uniform(0.5, 2.0, keep.size)
    x, y = np.array([0.3]), np.array([0.8])
    perfect_load = np.asarray(load_sample(program, state, x, y))
    out = np.asarray(load_sample(p2, state, x, y))
    # every species: w × what was there (1 × for kept ones) plus the perfect protocol's load
    np.testing.assert_allclose(out, np.asarray(p2.keep) * state + perfect_load
                               - keep * state, rtol=1e-12)
    transient = keep == 0.0
    loaded = perfect_load != 0.0
    np.testing.assert_allclose(out[transient & ~loaded] / state[transient & ~loaded], w)


def test_incomplete_wash_leaves_the_fraction_stochastic(perfect):
    """The numba protocol kernel: each molecule survives the wash with probability w."""
    from neuralcrn.kinetics._protocol_kernels import EXACT, run_steps
    from neuralcrn.training._chemical import chemical_setup, imperfect_setup
    from neuralcrn.training._stochastic import stochastic_protocol
    w, n = 0.3, 10_000
    setup = imperfect_setup(chemical_setup(SPEC, "two-phase"), Imperfections(wash_residual=w))
    p = stochastic_protocol(setup, 1.0)
    S = p.keep.size
    counts = np.full(S, float(n))
    m = p.readout.shape[0]
    run_steps(EXACT, p.net, np.zeros_like(p.durations), p.keep, p.load_index,
              np.zeros((1, p.load_index.size)), counts, p.readout, p.readout_phase,
              np.zeros((1, m)), 123, 0.03, 0.01, 0.0, 10, np.zeros(1),
              np.zeros((1, p.durations.size), dtype=np.int64), np.zeros(3))
    keep = np.asarray(setup.program.keep)
    washed = keep < 1.0
    assert np.all(counts[~washed] == n)
    assert np.all(counts == np.round(counts))
    frac = counts[washed] / n
    se = math.sqrt(w * (1 - w) / (n * washed.sum()))
    assert abs(frac.mean() - w) < 5 * se
    assert frac.std() > 0            # a binomial draw per species, not w·n rounded


def test_incomplete_wash_in_the_sbml_protocol(perfect):
    """The protocol export sets a partially washed species to w·[X] + load at each step start,
    and libroadrunner runs it."""
    from neuralcrn.chemistry.sbml import to_sbml_switched
    from neuralcrn.chemistry import ReactionNetwork
    from neuralcrn.compiler import protocol_network
    circuit, program = perfect
    c2, p2 = imperfect_program(circuit, program, Imperfections(wash_residual=0.25))
    X, Y = np.array([[0.2], [0.6]]), np.array([[1.0], [0.0]])
    sw = protocol_network(c2, p2, X, Y, np.asarray(c2.network.initial))
    ev = next(e for e in sw.events if e.rescaled)        # the start of step 2
    keep = np.asarray(p2.keep)
    rescaled = {s: (f, v) for s, f, v in ev.rescaled}
    assert set(rescaled) == {s for s, k in zip(c2.species, keep) if 0 < k < 1}
    assert all(f == 0.25 for f, _ in rescaled.values())
    assert rescaled[c2.species_map.x[0].plus][1] == pytest.approx(0.6)
    # a one-species check with libroadrunner: A = 2, at t = 1 A := 0.25·A + 0.5 → 1.0
    rr = pytest.importorskip("roadrunner")
    net = ReactionNetwork([Reaction(["A"], ["A", "B"], 1.0)], initial={"A": 2.0})
    tiny = SwitchedNetwork(net, ("on",), (1.0,), (0,),
                           (TimedEvent(1.0, (), rescaled=(("A", 0.25, 0.5),)),), 2.0)
    xml = to_sbml_switched(tiny)
    assert "A_residual" in xml
    r = rr.RoadRunner(xml)
    res = r.simulate(0, 2.0, 201)
    assert res[-1, 1] == pytest.approx(1.0, rel=1e-9)


# ------------------------------------------------------------------ bad input, records
@pytest.mark.parametrize("kw, word", [({"rate_noise": -0.1}, "-0.1"), ({"leak": 1.0}, "1.0"),
                                      ({"leak": -0.2}, "-0.2"), ({"wash_residual": 1.5}, "1.5"),
                                      ({"rate_noise": float("nan")}, "nan")])
def test_bad_imperfections_are_clear_errors(kw, word):
    with pytest.raises(SpecError, match=word):
        Imperfections(**kw)
    with pytest.raises(SpecError, match=word):
        TrainConfig(task="xor", **kw)


def test_ideal_mode_refuses_imperfections():
    with pytest.raises(SpecError, match="ideal"):
        TrainConfig(task="xor", mode="ideal", leak=0.1)


def test_config_round_trip_and_cli_error(tmp_path):
    from click.testing import CliRunner
    from neuralcrn.cli import main
    cfg = TrainConfig(task="xor", rate_noise=0.2, leak=0.01, wash_residual=0.05,
                      imperfection_seed=4)
    back = TrainConfig.from_dict(cfg.to_dict())
    assert back == cfg and back.imperfections == Imperfections(0.2, 0.01, 0.05, 4)
    assert TrainConfig(task="xor", seed=3, rate_noise=0.1).imperfections.seed == 3
    res = CliRunner().invoke(main, ["train", "xor", "--leak", "1.5", "--out",
                                    str(tmp_path / "r")])
    assert res.exit_code == 1 and "leak" in res.output and "1.5" in res.output
    cfg = TrainConfig(task="xor", rate_noise=0.2, rate_noise_modules=["feedforward"])
    back = TrainConfig.from_dict(cfg.to_dict())
    assert back == cfg and back.imperfections.rate_noise_modules == ("feedforward",)
    res = CliRunner().invoke(main, ["train", "xor", "--rate-noise", "0.2", "--epochs", "1",
                                    "--rate-noise-modules", "feedforward,updat",
                                    "--out", str(tmp_path / "r2")])
    assert res.exit_code == 1 and "'updat'" in res.output and "Traceback" not in res.output


def test_signal_annihilation_keeps_the_perfect_circuit_values():
    """The robust design's extra annihilation leaves a perfect step's result unchanged."""
    import dataclasses
    from neuralcrn.compiler import run_step
    from neuralcrn.ideal import init_params
    from neuralcrn.training._chemical import chemical_setup
    spec2 = SPEC.replace(rates=dataclasses.replace(SPEC.rates, signal_annihilation=1e3))
    s1, s2 = chemical_setup(SPEC), chemical_setup(spec2)
    # one annihilation per signal pair: O, Q, E (m = 1) and the n = 2 adjoints
    assert s2.circuit.network.n_reactions == s1.circuit.network.n_reactions + 3 + SPEC.n
    p = init_params(SPEC, 0)
    out = []
    for st in (s1, s2):
        end = np.asarray(run_step(st.program, st.initial_state(p), [0.4], [1.0]))[-1]
        out.append(st.read_params(end))
    assert not np.allclose(out[0].theta, np.asarray(p.theta))      # the step did something
    for a, b in zip(out[0], out[1]):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-9)
