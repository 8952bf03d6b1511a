"""SBML export (valid, exact) and import (mass-action analysis, unit conversions, refusals)."""

import math
import os

import libsbml
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from neuralcrn import Reaction, ReactionNetwork
from neuralcrn.chemistry import (SBMLImport, from_sbml, import_sbml, parse_text, read_sbml,
                                 to_sbml, write_sbml)
from neuralcrn.errors import SBMLError, UnsupportedSBMLError

from test_text_format import networks

NEURON = parse_text("""
name: quadratic_neuron
species: z_p z_m theta_p theta_m u h_p
theta_m = 1.5
u = 0.30000000000000004
const h_p = 0.3
theta_p + u ->{1.0} theta_p + u + z_p
theta_m + u ->{1.0} theta_m + u + z_m
h_p ->{1.0} h_p + z_p
2z_p ->{1.0} z_p
3z_m ->{0.25} 2z_m
z_p + z_m ->{100.0} 0
0 ->{0.5} u
""")


def consistency(xml: str, units: bool = True) -> tuple[int, int]:
    """(errors, warnings) from libsbml's checkConsistency (errors = severity ≥ error)."""
    doc = libsbml.readSBMLFromString(xml)
    doc.setConsistencyChecks(libsbml.LIBSBML_CAT_UNITS_CONSISTENCY, units)
    doc.checkConsistency()
    errors = sum(doc.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR
                 for i in range(doc.getNumErrors()))
    return errors, doc.getNumErrors() - errors


# ---------------------------------------------------------------------------- export
@pytest.mark.parametrize("version", [1, 2])
def test_export_is_valid_sbml_level3(version):
    xml = to_sbml(NEURON, version=version)
    doc = libsbml.readSBMLFromString(xml)
    assert (doc.getLevel(), doc.getVersion()) == (3, version)
    assert consistency(xml) == (0, 0)  # dimensionless units: no unit warnings either
    assert consistency(to_sbml(NEURON, version=version, units=False), units=False)[0] == 0
    assert consistency(to_sbml(NEURON, version=version, units=False))[0] == 0
    model = doc.getModel()
    assert model.getId() == "quadratic_neuron"
    assert model.getNumCompartments() == 1 and model.getCompartment(0).getSize() == 1.0
    assert [s.getId() for s in model.getListOfSpecies()] == list(NEURON.species)
    h = model.getSpecies("h_p")
    assert h.getBoundaryCondition() and not h.getHasOnlySubstanceUnits()
    assert model.getSpecies("u").getInitialConcentration() == 0.30000000000000004
    laws = [libsbml.formulaToL3String(r.getKineticLaw().getMath())
            for r in model.getListOfReactions()]
    assert laws[:6] == ["k1 * theta_p * u", "k2 * theta_m * u", "k3 * h_p", "k4 * z_p^2",
                        "k5 * z_m^3", "k6 * z_m * z_p"]
    assert laws[6] == "k7"
    assert model.getParameter("k5").getValue() == 0.25


def test_export_avoids_id_clashes_and_keeps_odd_names():
    net = ReactionNetwork([Reaction(["c", "k1"], ["R1"], 2.0)], name="c")
    xml = to_sbml(net)
    assert consistency(xml)[0] == 0
    model = libsbml.readSBMLFromString(xml).getModel()
    assert model.getCompartment(0).getId() == "c_" and model.getParameter(0).getId() == "k1_"
    assert model.getReaction(0).getId() == "R1_"
    assert not model.isSetId() and model.getName() == "c"
    assert from_sbml(xml) == net
    odd = ReactionNetwork([Reaction(["A"], [], 1.0)], name='x <"&> #1')
    assert from_sbml(to_sbml(odd)) == odd


def test_subnormal_values_are_refused_on_export():
    with pytest.raises(SBMLError, match="subnormal"):
        to_sbml(ReactionNetwork([Reaction(["A"], [], 5e-324)]))
    with pytest.raises(SBMLError, match="subnormal"):
        to_sbml(ReactionNetwork([Reaction(["A"], [], 1.0)], initial={"A": 1e-310}))


def test_write_and_read_files(tmp_path):
    path = write_sbml(NEURON, tmp_path / "n.xml")
    assert os.listdir(tmp_path) == ["n.xml"]
    assert read_sbml(path) == NEURON
    assert from_sbml(str(path)) == NEURON
    assert from_sbml(path.read_bytes()) == NEURON
    with pytest.raises(SBMLError, match="no such SBML file"):
        read_sbml(tmp_path / "missing.xml")


NORMAL = st.one_of(st.just(0.0), st.floats(min_value=2.2250738585072014e-308, max_value=1e300))
XML_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters=[
    chr(i) for i in range(32) if chr(i) not in "\t\n\r"] + ["\ufffe", "\uffff"]), max_size=12)


def test_names_xml_cannot_hold_are_refused_and_whitespace_survives():
    with pytest.raises(SBMLError, match="XML cannot hold"):
        to_sbml(ReactionNetwork(name="bell\x07"))
    net = ReactionNetwork([Reaction(["A"], [], 1.0)], name=" tab\tnew\nline\r ")
    assert from_sbml(to_sbml(net)).name == net.name


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks(nonneg=NORMAL, network_name=XML_TEXT), st.sampled_from([1, 2]))
def test_sbml_round_trip_is_exact(net, version):
    xml = to_sbml(net, version=version)
    assert from_sbml(xml) == net


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks(nonneg=NORMAL, max_reactions=5, network_name=XML_TEXT))
def test_random_exports_pass_libsbml_validation(net):
    assert consistency(to_sbml(net)) == (0, 0)


# ---------------------------------------------------------------------------- import helpers
def sbml(*, compartments=(("c", 1.0),), species=(), parameters=None, reactions=(), level=3,
         version=2, edit=None) -> str:
    """Build a small SBML document. species: dicts with id, comp, amount|conc, hosu, boundary,
    constant; reactions: dicts with id, reactants, products, law, local, modifiers, fast."""
    doc = libsbml.SBMLDocument(level, version)
    m = doc.createModel()
    m.setId("test_model")
    for cid, size in compartments:
        c = m.createCompartment()
        c.setId(cid)
        c.setConstant(True)
        if size is not None:
            c.setSize(size)
    for s in species:
        sp = m.createSpecies()
        sp.setId(s["id"])
        sp.setCompartment(s.get("comp", compartments[0][0]))
        if "amount" in s:
            sp.setInitialAmount(s["amount"])
        if "conc" in s:
            sp.setInitialConcentration(s["conc"])
        sp.setHasOnlySubstanceUnits(s.get("hosu", False))
        sp.setBoundaryCondition(s.get("boundary", False))
        sp.setConstant(s.get("constant", False))
    for pid, value in (parameters or {}).items():
        p = m.createParameter()
        p.setId(pid)
        p.setValue(value)
        p.setConstant(True)
    for r in reactions:
        rx = m.createReaction()
        rx.setId(r["id"])
        rx.setReversible(r.get("reversible", False))
        if version == 1:
            rx.setFast(r.get("fast", False))
        for side, create in (("reactants", rx.createReactant), ("products", rx.createProduct)):
            for sid, n in r.get(side, {}).items():
                ref = create()
                ref.setSpecies(sid)
                ref.setStoichiometry(n)
                ref.setConstant(True)
        for sid in r.get("modifiers", ()):
            rx.createModifier().setSpecies(sid)
        if "law" in r:
            kl = rx.createKineticLaw()
            ast = libsbml.parseL3Formula(r["law"])
            assert ast is not None, libsbml.getLastParseL3Error()
            kl.setMath(ast)
            for pid, value in r.get("local", {}).items():
                lp = kl.createLocalParameter()
                lp.setId(pid)
                lp.setValue(value)
    if edit is not None:
        edit(m)
    return libsbml.writeSBMLToString(doc)


def close(a, b):
    return math.isclose(a, b, rel_tol=1e-14, abs_tol=0.0)


# ---------------------------------------------------------------------------- import conversions
def test_amounts_volumes_and_compartment_factor_are_converted_to_concentrations():
    # V = 2; A given as amount 3 (so [A] = 1.5), B as concentration; law with compartment factor
    # c*k*A*B (amount/time) -> concentration rate k[A][B]; law without it k*A -> k/V.
    xml = sbml(compartments=[("c", 2.0)],
               species=[dict(id="A", amount=3.0), dict(id="B", conc=0.25), dict(id="C", conc=0.0)],
               parameters={"k": 0.7, "kd": 0.3},
               reactions=[dict(id="R1", reactants={"A": 1, "B": 1}, products={"C": 1},
                               law="c*k*A*B"),
                          dict(id="R2", reactants={"C": 1}, products={}, law="kd*C")])
    imp = import_sbml(xml)
    assert isinstance(imp, SBMLImport)
    net = imp.network
    assert net.name == "test_model" and imp.model_id == "test_model"
    assert net.initial == (1.5, 0.25, 0.0)
    assert net.reactions[0] == Reaction(["A", "B"], ["C"], 0.7)
    assert net.reactions[1].rate_constant == pytest.approx(0.15, rel=1e-15)
    assert imp.volume("A") == 2.0 and imp.value("k") == 0.7 and imp.value("c") == 2.0


def test_has_only_substance_units_symbols_are_amounts():
    # hOSU species: symbols are amounts n = V[X]; k*A*B in amount/time gives
    # d[C]/dt = k V^2 [A][B] / V = (k V) [A][B].
    xml = sbml(compartments=[("c", 4.0)],
               species=[dict(id="A", amount=8.0, hosu=True), dict(id="B", conc=0.5, hosu=True),
                        dict(id="C", amount=0.0, hosu=True)],
               parameters={"k": 0.1},
               reactions=[dict(id="R1", reactants={"A": 1, "B": 1}, products={"C": 1},
                               law="k*A*B"),
                          dict(id="R2", reactants={"A": 2}, products={"C": 1}, law="k*A^2"),
                          dict(id="R3", reactants={"C": 1}, products={}, law="k*C")])
    net = from_sbml(xml)
    assert net.initial == (2.0, 0.5, 0.0)
    k = [r.rate_constant for r in net.reactions]
    assert close(k[0], 0.1 * 4.0) and close(k[1], 0.1 * 4.0) and close(k[2], 0.1)


def test_local_parameters_shadow_globals_and_constants_fold():
    xml = sbml(species=[dict(id="A", conc=1.0), dict(id="B", conc=0.0)],
               parameters={"k": 100.0, "two": 2.0},
               reactions=[dict(id="R1", reactants={"A": 1}, products={"B": 1},
                               law="k * A * two / 4 * exp(0) * 10^-1", local={"k": 3.0})])
    assert close(from_sbml(xml).reactions[0].rate_constant, 3.0 * 2 / 4 / 10)


def test_modifiers_become_catalysts_and_constant_species_powers_fold():
    xml = sbml(species=[dict(id="E", conc=0.1), dict(id="S", conc=1.0), dict(id="P", conc=0.0),
                        dict(id="X", conc=4.0, boundary=True)],
               parameters={"k": 2.0},
               reactions=[dict(id="R1", reactants={"S": 1}, products={"P": 1}, modifiers=["E"],
                               law="k*E*S"),
                          dict(id="R2", reactants={"P": 1}, products={"S": 1}, modifiers=["X"],
                               law="k*P/X"),
                          dict(id="R3", reactants={"X": 1}, products={"P": 1}, law="k*X")])
    net = from_sbml(xml)
    assert net.constant == {"X"}
    assert net.reactions[0] == Reaction(["E", "S"], ["E", "P"], 2.0)
    assert net.reactions[1] == Reaction(["P"], ["S"], 0.5)  # k/[X] with [X] fixed at 4
    assert net.reactions[2] == Reaction(["X"], ["P"], 2.0)


def test_reversible_laws_split_into_two_reactions():
    xml = sbml(compartments=[("c", 2.0)],
               species=[dict(id="A", conc=1.0), dict(id="B", conc=0.5), dict(id="C", conc=0.0)],
               parameters={"kf": 1.1, "kr": 0.09},
               reactions=[dict(id="R1", reactants={"A": 1, "B": 1}, products={"C": 1},
                               reversible=True, law="c*(kf*A*B - kr*C)"),
                          dict(id="R2", reactants={"C": 1}, products={"A": 1},
                               reversible=True, law="-(c*(kf*A - kr*C))")])
    net = from_sbml(xml)
    assert net.reactions == (Reaction(["A", "B"], ["C"], 1.1), Reaction(["C"], ["A", "B"], 0.09),
                             Reaction(["C"], ["A"], 0.09), Reaction(["A"], ["C"], 1.1))


def test_multiple_compartments_when_each_reaction_stays_in_one_size():
    # B (in c2, V=3) catalyses A -> C in c1 (V=2): d[C]/dt = k[A][B] / V1 ... law in amount/time
    xml = sbml(compartments=[("c1", 2.0), ("c2", 3.0)],
               species=[dict(id="A", conc=1.0, comp="c1"), dict(id="B", amount=6.0, comp="c2"),
                        dict(id="C", conc=0.0, comp="c1")],
               parameters={"k": 0.5},
               reactions=[dict(id="R1", reactants={"A": 1, "B": 1}, products={"C": 1, "B": 1},
                               law="c1*k*A*B")])
    imp = import_sbml(xml)
    assert imp.network.initial == (1.0, 2.0, 0.0)
    assert imp.network.reactions == (Reaction(["A", "B"], ["B", "C"], 0.5),)
    assert imp.volume("B") == 3.0
    mixed = sbml(compartments=[("c1", 2.0), ("c2", 3.0)],
                 species=[dict(id="A", conc=1.0, comp="c1"), dict(id="B", conc=1.0, comp="c2")],
                 parameters={"k": 0.5},
                 reactions=[dict(id="T", reactants={"A": 1}, products={"B": 1}, law="k*A")])
    with pytest.raises(UnsupportedSBMLError, match="reaction T changes species in compartments "
                                                   "of different sizes"):
        from_sbml(mixed)


def test_effectless_and_zero_rate_reactions():
    xml = sbml(species=[dict(id="A", conc=1.0), dict(id="B", conc=1.0)],
               parameters={"k": 0.0},
               reactions=[dict(id="J0", reactants={"A": 1, "B": 1}, products={"A": 1, "B": 1},
                               law="1"),
                          dict(id="J1", law="2"),
                          dict(id="J2", reactants={"A": 1}, products={"B": 1}, law="k*A")])
    imp = import_sbml(xml)
    assert imp.dropped == ("J0", "J1")
    assert imp.network.reactions == (Reaction(["A"], ["B"], 0.0),)


def test_zero_order_and_level2_models():
    xml = sbml(level=2, version=4, compartments=[("c", 0.5)],
               species=[dict(id="A", amount=1.0)], parameters={"s": 2.0},
               reactions=[dict(id="src", products={"A": 1}, law="s")])
    net = from_sbml(xml)
    assert net.initial == (2.0,) and net.reactions == (Reaction([], ["A"], 4.0),)


def test_unsized_compartment_with_amount_only_species():
    xml = sbml(compartments=[("cell", None)],
               species=[dict(id="X", amount=100.0, hosu=True)], parameters={"mu": 0.1},
               reactions=[dict(id="death", reactants={"X": 1}, law="mu*X")])
    imp = import_sbml(xml)
    assert imp.network.initial == (100.0,) and imp.volume("X") == 1.0
    assert imp.network.reactions == (Reaction(["X"], [], 0.1),)
    bad = sbml(compartments=[("cell", None)], species=[dict(id="X", amount=1.0)],
               parameters={"mu": 0.1},
               reactions=[dict(id="death", reactants={"X": 1}, law="mu*X")])
    with pytest.raises(UnsupportedSBMLError, match="compartment 'cell' has no size"):
        from_sbml(bad)


# ---------------------------------------------------------------------------- refusals
def _with(**kw):
    base = dict(species=[dict(id="S1", conc=1.0), dict(id="S2", conc=0.0)],
                parameters={"k": 1.0, "Km": 0.5})
    base.update(kw)
    return sbml(**base)


def _rule(m):
    r = m.createAssignmentRule()
    r.setVariable("k")
    r.setMath(libsbml.parseL3Formula("2*Km"))


def _event(m):
    e = m.createEvent()
    e.setId("E1")
    e.setUseValuesFromTriggerTime(True)
    t = e.createTrigger()
    t.setMath(libsbml.parseL3Formula("time > 1"))
    t.setPersistent(True)
    t.setInitialValue(False)
    a = e.createEventAssignment()
    a.setVariable("S1")
    a.setMath(libsbml.parseL3Formula("1"))


def _initial_assignment(m):
    ia = m.createInitialAssignment()
    ia.setSymbol("S1")
    ia.setMath(libsbml.parseL3Formula("2*k"))


def _function(m):
    f = m.createFunctionDefinition()
    f.setId("f")
    f.setMath(libsbml.parseL3Formula("lambda(x, x)"))


def _nonconstant_compartment(m):
    m.getCompartment(0).setConstant(False)


def _conversion_factor(m):
    m.setConversionFactor("k")


MM = [dict(id="R1", reactants={"S1": 1}, products={"S2": 1}, law="k*S1/(Km + S1)")]
UNI = [dict(id="R1", reactants={"S1": 1}, products={"S2": 1}, law="k*S1")]


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(reactions=MM), r"reaction R1: kinetic law 'k \* S1 / \(Km \+ S1\)' is not mass action"),
    (dict(reactions=UNI, edit=_rule), r"rules are not supported \(assignmentRule for k\)"),
    (dict(reactions=UNI, edit=_event), r"events are not supported \(event E1\)"),
    (dict(reactions=UNI, edit=_initial_assignment),
     r"initial assignments are not supported \(initialAssignment for S1\)"),
    (dict(reactions=UNI, edit=_function), r"function definitions are not supported \(f\)"),
    (dict(reactions=UNI, edit=_nonconstant_compartment), r"compartment 'c' is not constant"),
    (dict(reactions=UNI, edit=_conversion_factor), r"conversion factors are not supported"),
    (dict(reactions=[dict(id="R1", reactants={"S1": 1}, products={"S2": 1},
                          law="k*S2 - k*S1")]),
     r"the forward term has 'S1' to the power 0 but 'S1' is a reactant with stoichiometry 1"),
    (dict(reactions=[dict(id="R1", reactants={"S1": 1}, products={"S2": 1},
                          law="k*S1 + k*S1*S2")]),
     r"it has 2 forward and 0 reverse terms"),
    (dict(reactions=[dict(id="R1", reactants={"S1": 1}, products={"S2": 1},
                          law="k*S1*time")]), r"time"),
    (dict(reactions=[dict(id="R1", reactants={"S1": 1}, products={"S2": 1},
                          law="k*delay(S1, 1)")]), r"delay"),
    (dict(reactions=[dict(id="R1", reactants={"S1": 1}, products={"S2": 1},
                          law="piecewise(k*S1, S1 > 1, 0)")]), r"piecewise"),
    (dict(reactions=[dict(id="R1", reactants={"S1": 1}, products={"S2": 1},
                          law="k*S1^0.5")]), r"to the power 0.5"),
    (dict(reactions=[dict(id="R1", reactants={"S1": 1}, products={"S2": 1},
                          law="k*S1^2")]), r"'S1' to the power 2 but 'S1' is a reactant"),
    (dict(reactions=[dict(id="R1", reactants={"S1": 1.5}, products={"S2": 1},
                          law="k*S1")]), r"non-integer stoichiometry 1.5"),
    (dict(reactions=[dict(id="R1", reactants={"S1": 1}, products={"S2": 1}, law="-k*S1")]),
     r"not mass action"),
    (dict(reactions=[dict(id="R1", reactants={"S1": 1}, products={"S2": 1},
                          law="k*(S1 + S2)^2")]), r"is not mass action"),
    (dict(reactions=[dict(id="R1", reactants={"S1": 1}, products={"S2": 1}, law="R1*k")]),
     r"reaction id 'R1' used as a value"),
    (dict(reactions=[dict(id="R1", reactants={"S1": 1}, products={"S2": 1},
                          law="undefined_p*S1")]), r"unknown symbol 'undefined_p'"),
    (dict(reactions=[dict(id="R1", reactants={"S1": 1}, products={"S2": 1})]),
     r"reaction R1 has no kinetic law"),
    (dict(version=1, reactions=[dict(id="R1", reactants={"S1": 1}, products={"S2": 1},
                                     law="k*S1", fast=True)]), r"fast reactions"),
    (dict(species=[dict(id="S1")], reactions=[]), r"species 'S1' has no initial amount"),
    (dict(compartments=[("c", 0.0)], reactions=UNI), r"compartment 'c' has size 0.0"),
    (dict(species=[dict(id="S1", conc=-1.0)]), r"species 'S1' has initial value -1.0"),
])
def test_unsupported_models_are_refused_with_the_feature_named(kwargs, pattern):
    with pytest.raises(UnsupportedSBMLError, match=pattern):
        from_sbml(_with(**kwargs))


def test_several_problems_are_listed_together():
    with pytest.raises(UnsupportedSBMLError) as info:
        from_sbml(_with(reactions=UNI, edit=lambda m: (_rule(m), _event(m))))
    assert "rules are not supported" in str(info.value) and "events" in str(info.value)


def test_invalid_sbml_is_an_sbml_error_not_unsupported():
    for bad in ("<sbml>not closed", "<?xml version='1.0'?><notsbml/>"):
        with pytest.raises(SBMLError) as info:
            from_sbml(bad)
        assert not isinstance(info.value, UnsupportedSBMLError)
    dangling = _with(reactions=[dict(id="R1", reactants={"Q": 1}, law="k*Q")])
    with pytest.raises(SBMLError, match="unknown species 'Q'"):
        from_sbml(dangling)
