"""Antimony export/import through SBML: exact round trips, hand-written models, errors."""

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from neuralcrn import Reaction, ReactionNetwork
from neuralcrn.chemistry import (from_antimony, read_antimony, to_antimony, to_text,
                                 write_antimony)
from neuralcrn.errors import SBMLError, UnsupportedSBMLError

from test_sbml import NEURON
from test_text_format import networks

# libAntimony's own libsbml cannot read numbers at the very bottom of the normal range (2.2e-308)
NORMAL = st.one_of(st.just(0.0), st.floats(min_value=1e-300, max_value=1e300))
SAFE_NAMES = st.sampled_from(["A", "B", "C", "x1", "e1", "Z_p", "k1", "c", "R1", "_a", "S"])


def test_neuron_round_trip_and_readable_output():
    text = to_antimony(NEURON)
    assert "model *quadratic_neuron()" in text
    assert "R1: theta_p + u => theta_p + u + z_p; k1*theta_p*u;" in text
    assert "u = 0.30000000000000004;" in text  # exact, not libAntimony's 15 digits
    assert "$h_p" in text  # constant species are boundary species
    assert from_antimony(text) == NEURON


def test_hand_written_model():
    net = from_antimony("""
        model birth_death
          compartment cell = 2;
          species X in cell;
          X = 3;
          J0: -> X; cell*k1;
          J1: X -> ; cell*k2*X;
          k1 = 10; k2 = 0.1234567890123456789;
        end
    """)
    assert net.name == "birth_death"
    assert net.species == ("X",) and net.initial == (3.0,)
    assert net.reactions == (Reaction([], ["X"], 10.0), Reaction(["X"], [], 0.12345678901234568))


def test_reversible_and_unnamed_model():
    net = from_antimony("A + B -> C; kf*A*B - kr*C; A = 1; B = 2; C = 0; kf = 3; kr = 0.5")
    assert net.name == ""
    assert net.reactions == (Reaction(["A", "B"], ["C"], 3.0), Reaction(["C"], ["A", "B"], 0.5))


def test_errors():
    with pytest.raises(SBMLError, match="Antimony: .*line 1"):
        from_antimony("A -> B; k*A +")
    with pytest.raises(UnsupportedSBMLError, match="not mass action"):
        from_antimony("S -> P; Vm*S/(Km + S); S = 1; P = 0; Vm = 1; Km = 0.5")
    with pytest.raises(UnsupportedSBMLError, match="rules are not supported"):
        from_antimony("A -> B; k*A; A = 1; B = 0; k := 2*time")
    with pytest.raises(UnsupportedSBMLError, match="events are not supported"):
        from_antimony("A -> B; k*A; A = 1; B = 0; k = 1; E1: at time > 1: k = 2")
    with pytest.raises(UnsupportedSBMLError, match="species 'B' has no initial"):
        from_antimony("A -> B; k*A; A = 1; k = 1")
    keyword = ReactionNetwork([Reaction(["pi"], ["B"], 1.0)])
    with pytest.raises(SBMLError, match="Antimony keywords or built-in symbols"):
        to_antimony(keyword)


def test_files(tmp_path):
    path = write_antimony(NEURON, tmp_path / "n.ant")
    assert read_antimony(path) == NEURON


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks(names=SAFE_NAMES, nonneg=NORMAL, max_reactions=5,
                network_name=st.sampled_from(["", "net", "my net #2", "k1", "A"])))
def test_antimony_round_trip_is_exact(net):
    text = to_antimony(net, check=False)
    assert from_antimony(text) == net, text + "\n" + to_text(net)
