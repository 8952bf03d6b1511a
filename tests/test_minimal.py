"""The minimal learning circuit: size, exactness of a step, training, export and bad input."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from click.testing import CliRunner

from neuralcrn.chemistry import parse_text
from neuralcrn.cli import main
from neuralcrn.compiler import compile_minimal, minimal_program, minimal_spec, run_step
from neuralcrn.errors import DataError, SpecError
from neuralcrn.ideal import Params
from neuralcrn.ideal.spec import ChemistryRates
from neuralcrn.training import TrainConfig, train

_step = jax.jit(run_step, static_argnames=("method", "rtol", "atol", "max_steps"))


def _params(theta_diag):
    n = len(theta_diag)
    return Params(np.diag(np.asarray(theta_diag, float)), np.zeros(n), np.ones((1, n)))


def test_size_of_the_linear_regression_circuit():
    c = compile_minimal(minimal_spec(2))
    net = c.network
    assert net.n_species == 10 and net.n_reactions == 13          # the paper: 15 and 13
    assert all(1 <= r.molecularity <= 2 for r in net.reactions)
    assert set(net.species) == {"x1", "x2", "e1_p", "e1_m"} | {
        f"theta_{j}_{j}_{s}" for j in (1, 2, 3) for s in "pm"}
    assert compile_minimal(minimal_spec(2), rebalance=True).network.n_reactions == 16


@pytest.mark.parametrize("d,c,T,eta,y", [(2, 1.0, 1.0, 0.01, 7.5), (3, -0.5, 0.5, 0.05, -2.0)])
def test_one_step_is_exactly_the_sgd_step(d, c, T, eta, y):
    rng = np.random.default_rng(d)
    spec = minimal_spec(d, learning_rate=eta, T=T, augment_value=c).replace(
        rates=ChemistryRates(annihilation=100.0))
    for rebalance in (False, True):
        circuit = compile_minimal(spec, rebalance=rebalance)
        program = minimal_program(circuit)
        theta = rng.normal(size=d + 1)
        state = np.asarray(circuit.with_params(_params(theta)).network.initial)
        # a pot with both rails of every θ occupied: the result must not depend on it
        state[2:2 + 2 * (d + 1)] += rng.uniform(0, 3, size=2 * (d + 1))
        theta_read = circuit.species_map.read_params(state, circuit.species).theta.diagonal()
        x = rng.uniform(0.5, 4.0, size=d)
        states = np.asarray(_step(program, state, x, [y], rtol=1e-12, atol=1e-14,
                                  max_steps=1_000_000))
        u = np.concatenate([x, [c]])
        e_ideal = T * theta_read @ u - y
        e = states[0][circuit.species.index("e1_p")] - states[0][circuit.species.index("e1_m")]
        assert e == pytest.approx(e_ideal, rel=1e-10, abs=1e-12)
        after = circuit.species_map.read_params(states[1], circuit.species).theta.diagonal()
        np.testing.assert_allclose(after, theta_read - eta * T * e_ideal * u, rtol=1e-10,
                                   atol=1e-12)


def test_minimal_training_learns_linear_regression_exactly(tmp_path):
    cfg = TrainConfig(task="linear-regression", minimal=True, epochs=5, eval_every=5)
    chem = train(cfg)
    ideal = train(cfg.replace(mode="ideal"))
    assert chem.setup.schedule == "minimal"
    assert chem.metrics[0]["val"]["loss"] <= 0.095
    # the circuit's arithmetic is exact: chemistry equals the ideal SGD to rounding
    np.testing.assert_allclose(chem.params[0].theta, ideal.params[0].theta, rtol=1e-9,
                               atol=1e-10)
    assert chem.metrics[0]["evaluated_by"] == "chemical forward pass"
    assert chem.metrics[0]["test"]["loss"] == pytest.approx(
        chem.metrics[0]["ideal_predictor"]["test"]["loss"], rel=1e-8)
    assert chem.metrics[0]["vs_ideal_training"]["param_relative_difference"] < 1e-9
    # running losses are the loss each step saw (the readout is the error itself)
    assert np.isfinite(chem.history["running_loss"][0, 1:]).all()
    assert chem.history["running_loss"][0, -1] < 0.2


@pytest.mark.slow
def test_default_minimal_run_meets_the_target(tmp_path):
    out = tmp_path / "run"
    r = CliRunner().invoke(main, ["train", "linear-regression", "--minimal", "--out", str(out),
                                  "--quiet"])
    assert r.exit_code == 0, r.output
    import json
    m = json.loads((out / "metrics.json").read_text())
    assert m["circuit"] == {**m["circuit"], "species": 10, "reactions": 13,
                            "max_molecularity": 2, "schedule": "minimal"}
    assert m["val"]["loss"] <= 0.095


def test_minimal_run_exports_and_replays(tmp_path):
    pytest.importorskip("roadrunner")
    from replay_helpers import compare, ours, replay
    from neuralcrn.training import export_protocol, write_run
    res = train(TrainConfig(task="linear-regression", minimal=True, epochs=1, eval_every=0,
                            chemical_eval=False))
    run = write_run(res, tmp_path / "run")
    setup, mine = ours(run, 4)
    rails, signed = compare(setup, mine, replay(export_protocol(run, "sbml", 4), setup, 4))
    assert rails < 1e-6 and signed < 1e-8, (rails, signed)


def test_bad_minimal_requests_are_refused():
    with pytest.raises(SpecError, match="task 'xor' has no minimal circuit"):
        train(TrainConfig(task="xor", minimal=True, epochs=1))
    with pytest.raises(DataError, match="negative values.*single-rail"):
        train(TrainConfig(task="bilinear", minimal=True, epochs=1, spec=minimal_spec(2)))
    with pytest.raises(SpecError, match="two-phase protocol"):
        train(TrainConfig(task="linear-regression", minimal=True, schedule="modular"))
    with pytest.raises(SpecError, match="nonlinearity='none'"):
        compile_minimal(minimal_spec(2).replace(nonlinearity="quadratic", alpha=1.0))
    with pytest.raises(SpecError, match="W = 1"):
        compile_minimal(minimal_spec(2), Params(np.zeros((3, 3)), np.zeros(3), np.zeros((1, 3))))


def test_cli_circuit_minimal(tmp_path):
    runner = CliRunner()
    out = tmp_path / "m.crn"
    r = runner.invoke(main, ["circuit", "--task", "linear-regression", "--minimal", "--out",
                             str(out)])
    assert r.exit_code == 0, r.output
    assert "total                10         13          2" in r.output
    net = parse_text(out.read_text())
    assert net.n_species == 10 and net.n_reactions == 13
    text = out.read_text()
    assert "#   load y: y1->e1_m/e1_p" in text and "reactions 7..13" in text
    r = runner.invoke(main, ["circuit", "--minimal", "--nonlinearity", "cubic"])
    assert r.exit_code == 1 and "nonlinearity cannot be combined" in r.output
