"""Compiled modules exported to SBML and simulated by libroadrunner give our result; the
``neuralcrn circuit`` command."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from neuralcrn.chemistry.sbml import from_sbml, to_sbml
from neuralcrn.chemistry.text import parse_text
from neuralcrn.cli import main
from neuralcrn.compiler import MODULE_NAMES, chemical_gradient, compile_circuit
from neuralcrn.compiler._study import xor_spec
from neuralcrn.ideal import init_params


def _roadrunner_final(network, t_end):
    roadrunner = pytest.importorskip("roadrunner")
    rr = roadrunner.RoadRunner(to_sbml(network))
    rr.integrator.relative_tolerance = 1e-9
    rr.integrator.absolute_tolerance = 1e-12
    rr.integrator.maximum_num_steps = 1_000_000
    rr.simulate(0.0, t_end, 2)
    ids = rr.model.getFloatingSpeciesIds()
    vals = rr.model.getFloatingSpeciesConcentrations()
    return dict(zip(ids, vals))


@pytest.mark.parametrize("nonlinearity,gmode", [("quadratic", "exact"), ("cubic", "exact"),
                                                ("quadratic", "first-order")])
def test_every_module_in_libroadrunner(nonlinearity, gmode):
    pytest.importorskip("roadrunner")
    spec = xor_spec(0.2, gradient=gmode, nonlinearity=nonlinearity)
    p = init_params(spec, 3, 1.0, h_scale=0.5, readout="random")
    circuit = compile_circuit(spec, p)
    res = chemical_gradient(circuit, [0.3, 0.8], [1.0])
    starts = [res.initial_state] + list(res.phase_states.values())[:-1]
    ends = list(res.phase_states.values())
    idx = {s: i for i, s in enumerate(circuit.species)}
    for name, start, end in zip(MODULE_NAMES, starts, ends):
        mod = circuit.module(name)
        # a minority rail annihilated for a whole phase can reach ~1e-308; CVODE refuses such
        # near-subnormal initial values ("too much accuracy requested at t = 0"): flush them to 0
        init = {s: float(start[idx[s]]) if start[idx[s]] > 1e-200 else 0.0 for s in mod.species}
        net = mod.with_initial(init, replace=True)
        got = _roadrunner_final(net, circuit.duration(name))
        ours = np.array([end[idx[s]] for s in mod.species])
        theirs = np.array([got[s] for s in mod.species])
        np.testing.assert_allclose(theirs, ours, rtol=1e-6, atol=1e-8, err_msg=name)
        # and the signed values the modules compute agree to 1e-8
        for rail in circuit.species_map.z + circuit.species_map.adj:
            if rail.plus in got:
                assert abs((got[rail.plus] - got[rail.minus])
                           - (end[idx[rail.plus]] - end[idx[rail.minus]])) < 1e-8


def test_cli_circuit_text_sbml_and_table(tmp_path):
    runner = CliRunner()
    out = tmp_path / "xor.crn"
    r = runner.invoke(main, ["circuit", "--inputs", "2", "--augment-value", "0.2", "--alpha",
                             "0.15", "--T", "0.4", "--format", "text", "--out", str(out)])
    assert r.exit_code == 0, r.output
    for name in MODULE_NAMES:
        assert name in r.output
    assert "max molec." in r.output and "total" in r.output
    net = parse_text(out.read_text())
    spec = xor_spec(0.2)
    ref = compile_circuit(spec, init_params(spec, 0))
    assert net.species == ref.network.species
    assert net.n_reactions == ref.network.n_reactions
    assert net.max_molecularity == 2
    assert net.initial == ref.network.initial
    # SBML of one module to stdout; the table goes to stderr
    r = runner.invoke(main, ["circuit", "--nonlinearity", "cubic", "--format", "sbml",
                             "--module", "feedback"])
    assert r.exit_code == 0, r.output
    sb = from_sbml(r.stdout)
    assert sb.max_molecularity == 3
    assert "trimolecular" in r.stderr and "<sbml" not in r.stderr
    # Antimony of the whole circuit reads back to the same network
    r = runner.invoke(main, ["circuit", "--inputs", "2", "--augment-value", "0.2", "--alpha",
                             "0.15", "--T", "0.4", "--format", "antimony"])
    assert r.exit_code == 0, r.output
    from neuralcrn.chemistry.antimony import from_antimony
    ant = from_antimony(r.stdout)
    assert ant.n_reactions == ref.network.n_reactions and set(ant.species) == set(net.species)
    # first-order with frozen h and W, drive bias
    r = runner.invoke(main, ["circuit", "--drive", "bias", "--inputs", "3", "--hidden", "2",
                             "--gradient", "first-order", "--no-train-h", "--no-train-W"])
    assert r.exit_code == 0, r.output
    assert "g_h1" not in r.stdout and "g_theta_2_4_p" in r.stdout
    # a clear error for an unknown task and bad options
    r = runner.invoke(main, ["circuit", "--task", "no-such-task"])
    assert r.exit_code != 0 and "unknown task" in r.output
    r = runner.invoke(main, ["circuit", "--drive", "bias"])
    assert r.exit_code != 0 and "hidden" in r.output


def test_cli_circuit_two_phase_is_the_training_circuit(tmp_path):
    """``circuit --task xor --schedule two-phase`` writes the circuit ``train xor`` runs."""
    from neuralcrn.chemistry import read_text
    from neuralcrn.tasks import get_task
    from neuralcrn.training import chemical_setup

    out = tmp_path / "xor2.crn"
    r = CliRunner().invoke(main, ["circuit", "--task", "xor", "--schedule", "two-phase",
                                  "--out", str(out)])
    assert r.exit_code == 0, r.output
    net = read_text(out)
    train_net = chemical_setup(get_task("xor").model_spec, "two-phase").circuit.network
    assert (net.n_species, net.n_reactions) == (train_net.n_species, train_net.n_reactions)
    assert "feedforward" in r.output and "feedback" in r.output
    r = CliRunner().invoke(main, ["circuit", "--schedule", "two-phase", "--module", "update"])
    assert r.exit_code == 1 and "has the modules feedforward, feedback" in r.output
