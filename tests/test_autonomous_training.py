"""Autonomous training (--clock chemical): the loop, the run folder and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from neuralcrn.cli import main
from neuralcrn.errors import SpecError
from neuralcrn.tasks import get_task
from neuralcrn.training import TrainConfig, train, write_run


@pytest.fixture(scope="module")
def runs():
    kw = dict(task="linear-regression", epochs=2, eval_every=1)
    auto = train(TrainConfig(clock="chemical", **kw))
    host = train(TrainConfig(chemical_eval=False, **kw))
    return auto, host


@pytest.mark.slow
def test_linear_regression_learns_the_same_parameters_as_the_host_clock(runs):
    auto, host = runs
    # 80 doses later the parameters agree to the solvers' accuracy (rtol 1e-4 each): the
    # autonomous step of a linear model is the host's step
    for pa, ph in zip(auto.param_history[0], host.param_history[0]):
        np.testing.assert_allclose(pa.theta, ph.theta, rtol=2e-4, atol=1e-6)
    np.testing.assert_allclose(auto.history["running_loss"][0, 1:],
                               host.history["running_loss"][0, 1:], rtol=2e-3)
    assert auto.history["val_loss"][0, -1] < 0.5 * auto.history["val_loss"][0, 0]
    m = auto.metrics[0]
    # the headline is the network's own forward pass on the test set: the trained model's values
    assert m["evaluated_by"] == "chemical forward pass"
    assert m["test"]["loss"] == pytest.approx(m["ideal_predictor"]["test"]["loss"], rel=1e-3)


@pytest.mark.slow
def test_the_clock_keeps_time_and_the_run_folder_has_its_plots(runs, tmp_path):
    auto, _ = runs
    out = write_run(auto, tmp_path / "lr")
    for f in ("clock.png", "cycles.png", "circuit.crn", "protocol.json", "state.csv"):
        assert (out / f).is_file()
    metrics = json.loads((out / "metrics.json").read_text())
    clock = metrics["clock"]
    assert clock["periods_run"] == 80
    assert abs(clock["drift_after_last_period"]["phase_shift"]) < 1e-3 * clock["period"]
    assert clock["dose_window_slack"]["earlier"] > 0.3 * clock["period"]
    assert metrics["circuit"]["schedule"] == "autonomous"
    assert metrics["circuit"]["max_molecularity"] == 2
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["clock"] == "chemical" and cfg["clock_timing"]["period"] == clock["period"]
    proto = json.loads((out / "protocol.json").read_text())
    assert proto["host"]["loads_add"] and proto["host"]["wash"] == []
    assert len(proto["phases"]) == 1


def test_bad_clock_configurations_are_refused():
    with pytest.raises(SpecError, match="unknown clock"):
        TrainConfig(task="xor", clock="quartz")
    with pytest.raises(SpecError, match="--mode chemical"):
        TrainConfig(task="xor", clock="chemical", mode="ideal")
    with pytest.raises(SpecError, match="--minimal"):
        TrainConfig(task="linear-regression", clock="chemical", minimal=True)
    with pytest.raises(SpecError, match="--schedule modular"):
        TrainConfig(task="xor", clock="chemical", schedule="modular")
    with pytest.raises(SpecError, match="unknown clock option"):
        TrainConfig(task="xor", clock="chemical", clock_options={"speed": 2})
    with pytest.raises(SpecError, match="gate strength"):
        TrainConfig(task="xor", clock="chemical", clock_options={"gate": 1.0})


def test_cli_clock_chemical(tmp_path):
    r = CliRunner().invoke(main, ["train", "linear-regression", "--clock", "chemical",
                                  "--epochs", "1", "--quiet", "--no-chemical-eval",
                                  "--out", str(tmp_path / "run")])
    assert r.exit_code == 0, r.output
    assert "circuit (autonomous)" in r.output and "max molecularity 2" in r.output
    assert (tmp_path / "run" / "clock.png").is_file()
    r = CliRunner().invoke(main, ["train", "xor", "--clock", "chemical", "--mode", "ideal",
                                  "--out", str(tmp_path / "bad")])
    assert r.exit_code != 0 and "--mode chemical" in r.output


def test_auto_is_the_explicit_method_for_the_clocked_network():
    from neuralcrn.training._autonomous import AUTONOMOUS_METHOD, autonomous_setup
    setup = autonomous_setup(get_task("linear-regression").model_spec)
    assert setup.phase_methods("auto") == (AUTONOMOUS_METHOD,) == ("tsit5",)
    assert setup.phase_methods("kvaerno5") == ("kvaerno5",)


def test_cli_clock_options_are_parsed_and_checked(tmp_path):
    r = CliRunner().invoke(main, ["train", "linear-regression", "--clock", "chemical",
                                  "--clock-option", "gate=5", "--out", str(tmp_path / "a")])
    assert r.exit_code != 0 and "gate strength" in r.output
    r = CliRunner().invoke(main, ["train", "linear-regression", "--clock", "chemical",
                                  "--clock-option", "pacemaker", "--out", str(tmp_path / "b")])
    assert r.exit_code != 0 and "NAME=VALUE" in r.output
