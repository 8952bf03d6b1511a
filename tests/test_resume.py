"""Run-folder artifacts (circuit files with every concentration and the protocol, the final
chemical state) and resuming a run from them bit-identically."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from neuralcrn.chemistry import read_text
from neuralcrn.cli import main
from neuralcrn.errors import DataError, SpecError
from neuralcrn.training import (TrainConfig, read_resume, read_params, resume_run, train,
                                write_run)

FAST = dict(eval_every=2, chemical_eval=False)


def _same_run(a, b):
    for pa, pb in zip(a.params, b.params):
        for x, y in zip(pa, pb):
            np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)
            assert np.array_equal(x, y)        # in fact bit-identical
    if a.final_state is not None:
        assert np.array_equal(a.final_state, b.final_state)
    for k, v in a.history.items():
        if v is not None:
            np.testing.assert_array_equal(v, b.history[k])
    assert len(a.param_history[0]) == len(b.param_history[0]) == a.epochs + 1
    for pa, pb in zip(a.param_history[0], b.param_history[0]):
        assert all(np.array_equal(x, y) for x, y in zip(pa, pb))


def _resume_equals_whole(tmp_path, task, done, total):
    cfg = TrainConfig(task=task, **FAST)
    whole = train(cfg.replace(epochs=total))
    write_run(train(cfg.replace(epochs=done)), tmp_path / "run")
    resumed = resume_run(tmp_path / "run", total - done)
    assert resumed.epochs == total and resumed.resumed_at == (done,)
    _same_run(whole, resumed)
    assert resumed.metrics[0]["val"] == whole.metrics[0]["val"]


def test_resumed_run_equals_the_uninterrupted_run(tmp_path):
    _resume_equals_whole(tmp_path, "linear-regression", 2, 6)


@pytest.mark.slow
def test_resumed_at_epoch_20_equals_the_uninterrupted_50_epoch_run(tmp_path):
    _resume_equals_whole(tmp_path, "linear-regression", 20, 50)


@pytest.mark.parametrize("mode,replicates", [("chemical", 2), ("ideal", 1)])
def test_resume_with_replicates_and_in_ideal_mode(tmp_path, mode, replicates):
    cfg = TrainConfig(task="linear-regression", mode=mode, replicates=replicates, epochs=2,
                      **FAST)
    write_run(train(cfg), tmp_path / "run")
    _same_run(train(cfg.replace(epochs=4)), resume_run(tmp_path / "run", 2))


def test_run_folder_carries_concentrations_protocol_and_state(tmp_path):
    res = train(TrainConfig(task="linear-regression", epochs=2, **FAST))
    run = write_run(res, tmp_path / "run")
    setup = res.setup
    start = read_text(run / "circuit.crn")
    # every initial concentration, parameters included, exactly as training started
    np.testing.assert_array_equal(start.initial, setup.initial_state(res.param_history[0][0]))
    assert start.reactions == setup.circuit.network.reactions
    assert start.initial_concentrations["u3"] == 1.0           # the constant drive species
    assert start.initial_concentrations["W_1_1_p"] == 1.0      # a (frozen) parameter
    final = read_text(run / "circuit_final.crn")
    p_final = read_params(res.spec, np.asarray(setup.probe.params), np.asarray(final.initial))
    for x, y in zip(p_final, res.params[0]):
        np.testing.assert_array_equal(x, y)
    # the full final state, exactly
    species, states = __import__("neuralcrn.training._resume",
                                 fromlist=["read_state_csv"]).read_state_csv(run / "state.csv")
    assert species == setup.circuit.species
    np.testing.assert_array_equal(states, res.final_state)
    # the protocol: phases, durations, reactions per phase, wash / keep / load
    proto = json.loads((run / "protocol.json").read_text())
    K = np.asarray(setup.program.rate_constants)
    assert [ph["name"] for ph in proto["phases"]] == ["feedforward", "feedback"]
    for p, ph in enumerate(proto["phases"]):
        assert ph["duration"] == float(setup.program.durations[p])
        ids = [i for a, b in ph["reactions"] for i in range(a, b + 1)]
        assert ids == list(np.flatnonzero(K[p]) + 1)
    keep = np.asarray(setup.program.keep)
    assert proto["host"]["wash"] == [s for s, k in zip(species, keep) if k == 0]
    assert proto["host"]["load"]["x"][0] == ["x1_p", "x1_m"]
    assert proto["host"]["load"]["z0"][2] == ["z3_p", "z3_m", 1.0]
    text = (run / "circuit.crn").read_text()
    assert "#   phase 1 feedforward: duration 0.25, reactions 1..37" in text
    assert "#   load y: y1->y1_p/y1_m" in text


def test_resume_cli_and_bad_input(tmp_path):
    runner = CliRunner()
    run = tmp_path / "run"
    r = runner.invoke(main, ["train", "linear-regression", "--epochs", "1", "--out", str(run),
                             "--quiet", "--eval-every", "0", "--no-chemical-eval"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["train", "--resume", str(run), "--epochs", "1", "--quiet",
                             "--out", str(tmp_path / "more")])
    assert r.exit_code == 0, r.output
    assert "resumed after epoch 1" in r.output
    assert json.loads((tmp_path / "more" / "resume.json").read_text())["epochs_done"] == 2
    assert json.loads((run / "resume.json").read_text())["epochs_done"] == 1   # untouched
    # options that would change the training are refused
    r = runner.invoke(main, ["train", "--resume", str(run), "--learning-rate", "0.5"])
    assert r.exit_code == 1 and "--learning-rate cannot be given with it" in r.output
    r = runner.invoke(main, ["train", "xor", "--resume", str(run)])
    assert r.exit_code == 1 and "TASK" in r.output
    # a run folder without a state
    (run / "state.csv").unlink()
    r = runner.invoke(main, ["train", "--resume", str(run)])
    assert r.exit_code == 1 and "no saved chemical state (state.csv missing)" in r.output
    with pytest.raises(DataError, match="no such run folder"):
        read_resume(tmp_path / "nothing")
    with pytest.raises(SpecError, match="cannot be changed when resuming"):
        resume_run(tmp_path / "more", 1, seed=3)


def test_corrupt_state_is_named(tmp_path):
    res = train(TrainConfig(task="linear-regression", epochs=1, **FAST))
    run = write_run(res, tmp_path / "run")
    lines = (run / "state.csv").read_text().splitlines()
    lines[3] = lines[3].split(",")[0] + ",abc"
    (run / "state.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"state.csv:4: not a number"):
        read_resume(run)


class _Stop(Exception):
    pass


def _stop_after(epoch):
    def log(line):
        if line.startswith(f"epoch {epoch}/"):
            raise _Stop(line)           # a run killed after this epoch (its checkpoint written)
    return log


def test_checkpoint_of_a_stopped_run_resumes_to_the_whole_run(tmp_path):
    """A run stopped after epoch 2 of 4 leaves OUT.checkpoint: a run folder with the state and
    parameters of epoch 2 that resumes, by default, to the planned 4 epochs — the same numbers
    as the uninterrupted run — or (``epochs=0``) only evaluates."""
    from neuralcrn.training import checkpoint_dir, read_config
    cfg = TrainConfig(task="linear-regression", epochs=4, **FAST)
    whole = train(cfg)
    ck = checkpoint_dir(tmp_path / "run")
    assert ck == tmp_path / "run.checkpoint"
    with pytest.raises(_Stop):
        train(cfg, log=_stop_after(2), checkpoint=ck, checkpoint_seconds=0)
    assert sorted(p.name for p in ck.iterdir()) == ["config.json", "model.json", "resume.json",
                                                   "state.csv"]
    assert not list(tmp_path.glob("run.checkpoint.tmp-*"))          # written atomically
    config, saved = read_resume(ck)
    assert (saved.epochs_done, saved.epochs_planned, config.epochs) == (2, 4, 2)
    assert read_config(ck).task == "linear-regression"
    # the state after epoch 2 of the uninterrupted run, exactly; its parameter history too
    two = train(cfg.replace(epochs=2))
    assert np.array_equal(saved.state, two.final_state)
    for pa, pb in zip(saved.param_history[0], whole.param_history[0][:3]):
        assert all(np.array_equal(x, y) for x, y in zip(pa, pb))
    model = json.loads((ck / "model.json").read_text())
    np.testing.assert_array_equal(np.asarray(model["W"], dtype=float),
                                  two.params[0].W)
    # neuralcrn predict reads the checkpoint like a run folder (chemical forward pass)
    d = model["inputs"]
    (tmp_path / "x.csv").write_text("".join(",".join(["0.5"] * d) + "\n" for _ in range(3)))
    r = CliRunner().invoke(main, ["predict", str(ck), "--input", str(tmp_path / "x.csv")])
    assert r.exit_code == 0, r.output
    assert len(r.stdout.strip().splitlines()) == 4 and "yhat1" in r.stdout
    resumed = resume_run(ck)                              # to the 4 planned epochs
    assert resumed.epochs == 4 and resumed.resumed_at == (2,)
    for pa, pb in zip(resumed.params, whole.params):
        assert all(np.array_equal(x, y) for x, y in zip(pa, pb))
    assert np.array_equal(resumed.final_state, whole.final_state)
    only = resume_run(ck, 0)                              # evaluate the checkpoint
    assert only.epochs == 2 and np.array_equal(only.final_state, two.final_state)
    assert only.metrics[0]["val"] == two.metrics[0]["val"]


def test_cli_run_checkpoint_is_removed_once_the_folder_is_written(tmp_path):
    run = tmp_path / "run"
    r = CliRunner().invoke(main, ["train", "linear-regression", "--epochs", "2", "--out",
                                  str(run), "--quiet", "--eval-every", "0",
                                  "--no-chemical-eval"])
    assert r.exit_code == 0, r.output
    assert (run / "resume.json").is_file() and not (tmp_path / "run.checkpoint").exists()
