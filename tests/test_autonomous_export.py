"""The autonomous network with its dosing schedule as SBML (events only for the doses) and
Antimony, replayed by libroadrunner and compared period by period with our chemistry."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from click.testing import CliRunner

from neuralcrn.chemistry import SwitchedNetwork, TimedEvent
from neuralcrn.cli import main
from neuralcrn.compiler import (autonomous_program, compile_autonomous, protocol_network,
                                run_step)
from neuralcrn.errors import NetworkError
from neuralcrn.tasks import get_task
from neuralcrn.training import TrainConfig, train, write_run

from replay_helpers import replay_periods

libsbml = pytest.importorskip("libsbml")

TIGHT = dict(method="tsit5", rtol=1e-10, atol=1e-12, max_steps=2_000_000)  # the autonomous "auto"
_STEP = jax.jit(run_step, static_argnames=("method", "rtol", "atol", "max_steps"))
STEPS = 3


@pytest.fixture(scope="module")
def lr():
    task = get_task("linear-regression")
    spec = task.model_spec
    ac = compile_autonomous(spec, task.init_params(0, spec=spec))
    X, Y = task.make_data(0).split("train")
    return ac, X[:STEPS], Y[:STEPS]


def _ours(ac, X, Y):
    prog = autonomous_program(ac)
    state = np.asarray(ac.network.initial)
    out = []
    for x, y in zip(X, Y):
        state = np.asarray(_STEP(prog, state, x, y, **TIGHT))[-1]
        out.append(state)
    return np.array(out)


def _replay(sbml, species, period, steps):
    # at (s + 1)·period the next dose may have been added already: the callers compare only
    # species the doses do not touch
    return replay_periods(sbml, species, period, steps, 2_000_000)


def _model(ac, X, Y):
    prog = autonomous_program(ac)
    return protocol_network(ac.circuit, prog, X, Y, np.asarray(ac.network.initial),
                            name="lr_autonomous")


def test_only_the_doses_are_events_and_the_document_is_valid(lr):
    from neuralcrn.chemistry.sbml import to_sbml_switched
    ac, X, Y = lr
    model = _model(ac, X, Y)
    assert model.switches == () and model.end_time == pytest.approx(STEPS * ac.period)
    assert all(ev.assignments == () and ev.additions for ev in model.events)
    assert {s for ev in model.events for s, _ in ev.additions} <= {
        "xs1_p", "xs2_p", "ys1_p", "ys1_m"}
    xml = to_sbml_switched(model)
    doc = libsbml.readSBMLFromString(xml)
    doc.checkConsistency()
    assert doc.getNumErrors() == 0, [doc.getError(i).getMessage()
                                     for i in range(doc.getNumErrors())]
    m = doc.getModel()
    assert m.getNumEvents() == STEPS - 1
    assert "plus" in libsbml.writeMathMLToString(m.getEvent(0).getEventAssignment(0).getMath())
    law = libsbml.formulaToL3String(m.getReaction(0).getKineticLaw().getMath())
    assert "on_" not in law                              # no switches in the kinetic laws


def test_roadrunner_replays_the_autonomous_training(lr):
    from neuralcrn.chemistry.sbml import to_sbml_switched
    ac, X, Y = lr
    ours = _ours(ac, X, Y)
    theirs = _replay(to_sbml_switched(_model(ac, X, Y)), ac.circuit.species, ac.period, STEPS)
    sp = ac.circuit.species
    M = ac.circuit.species_map
    params = [sp.index(s) for s in M.parameter_species]
    clock = [sp.index(s) for s in ac.clock.species]
    Pa = np.asarray(theirs[:, params])
    np.testing.assert_allclose(theirs[:, params], ours[:, params], rtol=1e-6, atol=1e-9)
    # at the dose time the clock is in a hand-over (d[K]/dt ≈ kM·M ≈ 1.2e3 per time unit):
    # 1e-5 is a phase difference below 1e-8 time units
    np.testing.assert_allclose(theirs[:, clock], ours[:, clock], atol=1e-5)
    yhat = ac.readout_matrix()
    np.testing.assert_allclose(theirs @ yhat.T, ours @ yhat.T, rtol=1e-6)
    assert np.max(np.abs(Pa[-1] - Pa[0])) > 1e-2         # training happened in the replay


@pytest.mark.slow
def test_antimony_is_the_same_model(lr):
    antimony = pytest.importorskip("antimony")
    from neuralcrn.chemistry.antimony import to_antimony_switched
    ac, X, Y = lr
    text = to_antimony_switched(_model(ac, X, Y))
    assert "xs1_p = xs1_p + E1_xs1_p" in text.replace("  ", " ")
    antimony.clearPreviousLoads()
    assert antimony.loadAntimonyString(text) >= 0, antimony.getLastError()
    xml = antimony.getSBMLString(antimony.getMainModuleName())
    antimony.clearPreviousLoads()
    ours = _ours(ac, X[:2], Y[:2])
    theirs = _replay(xml, ac.circuit.species, ac.period, 2)
    params = [ac.circuit.species.index(s) for s in ac.circuit.species_map.parameter_species]
    np.testing.assert_allclose(theirs[:, params], ours[:, params], rtol=1e-6, atol=1e-9)


def test_doses_are_validated():
    from neuralcrn.chemistry import Reaction, ReactionNetwork
    net = ReactionNetwork([Reaction(["A"], ["B"], 1.0)], ["A", "B"])
    with pytest.raises(NetworkError, match="dose is a finite amount"):
        SwitchedNetwork(net, (), (), (), (TimedEvent(1.0, (), (("A", -1.0),)),), 2.0)
    with pytest.raises(NetworkError, match="no species"):
        SwitchedNetwork(net, (), (), (), (TimedEvent(1.0, (), (("C", 1.0),)),), 2.0)
    with pytest.raises(NetworkError, match="twice"):
        SwitchedNetwork(net, (), (), (), (TimedEvent(1.0, (("A", 0.0),), (("A", 1.0),)),), 2.0)


@pytest.mark.slow
def test_protocol_cli_exports_an_autonomous_run(tmp_path):
    res = train(TrainConfig(task="linear-regression", epochs=1, clock="chemical", eval_every=0,
                            chemical_eval=False))
    run = write_run(res, tmp_path / "lr")
    out = tmp_path / "lr3.xml"
    r = CliRunner().invoke(main, ["protocol", str(run), "--steps", "3", "--out", str(out)])
    assert r.exit_code == 0, r.output
    doc = libsbml.readSBMLFromString(out.read_text())
    assert doc.getModel().getNumEvents() == 2
    assert "Autonomous training" in out.read_text()
