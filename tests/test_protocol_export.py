"""Whole-protocol export: a run's training steps as one SBML model with events (and Antimony),
replayed by libroadrunner and compared, step by step, with our chemistry."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from click.testing import CliRunner

from neuralcrn.cli import main
from neuralcrn.errors import DataError
from neuralcrn.tasks import get_task
from neuralcrn.training import TrainConfig, export_protocol, run_protocol, train, write_run
from replay_helpers import compare as _compare, ours as _ours, replay as _replay

libsbml = pytest.importorskip("libsbml")


def _run(tmp_path, task, epochs=1):
    res = train(TrainConfig(task=task, epochs=epochs, eval_every=0, chemical_eval=False))
    return write_run(res, tmp_path / task)


def _consistency_errors(xml):
    """Every message of libsbml's consistency check (errors and warnings)."""
    doc = libsbml.readSBMLFromString(xml)
    doc.checkConsistency()
    return [doc.getError(i).getMessage() for i in range(doc.getNumErrors())]


def test_protocol_sbml_is_valid_and_replays_in_roadrunner(tmp_path):
    run = _run(tmp_path, "linear-regression")
    steps = 6
    xml = export_protocol(run, "sbml", steps)
    assert _consistency_errors(xml) == []
    doc = libsbml.readSBMLFromString(xml)
    model = doc.getModel()
    assert model.getNumEvents() == 2 * steps            # one per phase switch or load
    for e in (model.getEvent(i) for i in range(model.getNumEvents())):
        assert e.getTrigger().getPersistent() and e.getTrigger().getInitialValue()
        assert e.getUseValuesFromTriggerTime()
    setup, ours = _ours(run, steps)
    theirs = _replay(xml, setup, steps)
    rails, signed = _compare(setup, ours, theirs)
    assert rails < 1e-6 and signed < 1e-7, (rails, signed)
    # the parameters did change: the replay follows training, not a constant
    assert np.max(np.abs(ours[-1] - ours[0])) > 1e-2


def test_protocol_antimony_is_the_same_model(tmp_path):
    antimony = pytest.importorskip("antimony")
    run = _run(tmp_path, "linear-regression")
    text = export_protocol(run, "antimony", 3)
    antimony.clearPreviousLoads()
    assert antimony.loadAntimonyString(text) >= 0, antimony.getLastError()
    xml = antimony.getSBMLString(antimony.getMainModuleName())
    antimony.clearPreviousLoads()
    setup, ours = _ours(run, 3)
    rails, signed = _compare(setup, ours, _replay(xml, setup, 3))
    assert rails < 1e-6 and signed < 1e-7, (rails, signed)
    # values written exactly: a loaded input reads back as the float training used
    model = run_protocol(run, 3)
    x_val = dict(model.events[1].assignments)["x1_p"]
    assert f"= {x_val!r};" in text


def test_protocol_cli_and_bad_input(tmp_path):
    run = _run(tmp_path, "linear-regression")
    runner = CliRunner()
    out = tmp_path / "p.xml"
    r = runner.invoke(main, ["protocol", str(run), "--steps", "2", "--format", "sbml",
                             "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert libsbml.readSBMLFromString(out.read_text()).getModel().getNumEvents() == 4
    r = runner.invoke(main, ["protocol", str(run), "--steps", "41"])
    assert r.exit_code == 1 and "the run has 40 training steps (1 epochs × 40 samples)" in r.output
    r = runner.invoke(main, ["protocol", str(run), "--steps", "0"])
    assert r.exit_code == 1 and "--steps 0" in r.output
    r = runner.invoke(main, ["protocol", str(run), "--format", "copasi"])
    assert r.exit_code == 2 and "'copasi' is not one of" in r.output
    with pytest.raises(DataError, match="unknown protocol format 'cps'"):
        export_protocol(run, "cps", 1)
    (run / "protocol.json").unlink()
    with pytest.raises(DataError, match="no protocol.json"):
        run_protocol(run, 1)
    with pytest.raises(DataError, match="no such run folder"):
        run_protocol(tmp_path / "none")


@pytest.mark.slow
@pytest.mark.parametrize("task", ["xor", "linear-regression"])
def test_roadrunner_replays_100_steps_of_the_default_runs(tmp_path, task):
    run = _run(tmp_path, task, epochs=100 // get_task(task).make_data(0).split("train")[0]
               .shape[0] + 1)
    t0 = time.perf_counter()
    xml = export_protocol(run, "sbml", 100)
    assert _consistency_errors(xml) == []
    setup, ours = _ours(run, 100)
    theirs = _replay(xml, setup, 100)
    rails, signed = _compare(setup, ours, theirs)
    print(json.dumps({"task": task, "steps": 100, "max_rel_rail": rails,
                      "max_rel_signed_param": signed, "events": 2 * 100,
                      "seconds": time.perf_counter() - t0}))
    assert rails < 1e-6 and signed < 1e-6, (rails, signed)
