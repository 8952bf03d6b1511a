"""Regression tests for the stochastic defects a new user found (issue 10, item 5).

1. adaptive tau-leaping at the default ε was biased by many standard errors on first-order decay
   plus dimerisation with ≈ 1e4 molecules (Euler/Poisson leaps: −30 SE at 4000 runs);
2. fixed-τ leaping was biased and τ was silently shortened to the output spacing;
3. SBML amounts in moles were counted as if one mole were one molecule;
4. the SSA of an imported SBML model ignored its compartment size;
5. a law ``k*X*(X-1)`` on ``2X -> …`` was refused with a message about a "reverse term";
6. the propensity of a constant species with stoichiometry 2 was undocumented.
"""

import math

import numpy as np
import pytest

from neuralcrn import Reaction, ReactionNetwork
from neuralcrn.chemistry.sbml import import_sbml
from neuralcrn.errors import SimulationError, UnsupportedSBMLError
from neuralcrn.kinetics import simulate_ssa

DECAY_DIMER = ReactionNetwork([Reaction("A", "0", 1.0), Reaction(["A", "A"], "B", 1e-4)],
                              species=["A", "B"], initial={"A": 1e4})


def two_sample_z(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    se = np.sqrt(a.var(axis=0, ddof=1) / a.shape[0] + b.var(axis=0, ddof=1) / b.shape[0])
    return (b.mean(axis=0) - a.mean(axis=0)) / se


@pytest.fixture(scope="module")
def exact_decay_dimer():
    return simulate_ssa(DECAY_DIMER, times=[0.25, 1.0], n_runs=2000, seed=101)


def test_adaptive_tau_leaping_is_unbiased_at_default_epsilon(exact_decay_dimer):
    tr = simulate_ssa(DECAY_DIMER, times=[0.25, 1.0], n_runs=2000, seed=102, method="tau-leap")
    z = two_sample_z(exact_decay_dimer["A"], tr["A"])
    assert np.all(np.abs(z) < 4), z
    assert tr.num_events.mean() < exact_decay_dimer.num_events.mean() / 10     # it does leap


def test_fixed_tau_leaps_are_not_cut_to_the_output_spacing():
    """τ = 0.1 over t = 2 is 20 leaps whatever the output grid (outputs inside a leap are filled
    by binomial bridging), and the output grid does not change the distribution."""
    coarse = simulate_ssa(DECAY_DIMER, 2.0, 3, n_runs=400, seed=3, method="tau-leap", tau=0.1)
    fine = simulate_ssa(DECAY_DIMER, 2.0, 201, n_runs=400, seed=4, method="tau-leap", tau=0.1)
    np.testing.assert_array_equal(coarse.num_events, 20)
    np.testing.assert_array_equal(fine.num_events, 20)
    z = two_sample_z(coarse["A"][:, [1, 2]], fine["A"][:, [100, 200]])
    assert np.all(np.abs(z) < 4), z
    # bridged outputs are monotone here (A only decays) and inside the leap's range
    assert np.all(np.diff(fine["A"], axis=1) <= 0)


def test_fixed_tau_leaping_is_unbiased_within_sampling_error(exact_decay_dimer):
    tr = simulate_ssa(DECAY_DIMER, times=[0.25, 1.0], n_runs=2000, seed=103, method="tau-leap",
                      tau=0.02)
    z = two_sample_z(exact_decay_dimer["A"], tr["A"])
    assert np.all(np.abs(z) < 4), z


def test_fixed_tau_mean_is_the_second_order_leap():
    """Linear decay, leaps of τ: E[A] = A0·(1 − kτ + (kτ)²/2)^n exactly (trapezoidal leap), not
    the first-order (1 − kτ)^n of Euler tau-leaping."""
    net = ReactionNetwork([Reaction("A", "0", 1.0)], initial={"A": 1e4})
    tr = simulate_ssa(net, times=[1.0], n_runs=1000, seed=5, method="tau-leap", tau=0.1)
    second = 1e4 * (1 - 0.1 + 0.005) ** 10
    se = tr["A"][:, 0].std() / math.sqrt(1000)
    assert abs(tr["A"][:, 0].mean() - second) < 4 * se
    assert abs(1e4 * 0.9 ** 10 - second) > 20 * se


# ---------------------------------------------------------------------------- SBML
def _sbml(species_xml, reactions_xml, *, compartments='<compartment id="c" size="1" '
          'constant="true" spatialDimensions="3"/>', model_units="", unit_defs=""):
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" version="2">
  <model id="m" {model_units}>
    {unit_defs}
    <listOfCompartments>{compartments}</listOfCompartments>
    <listOfSpecies>{species_xml}</listOfSpecies>
    <listOfParameters><parameter id="k" value="0.5" constant="true"/></listOfParameters>
    <listOfReactions>{reactions_xml}</listOfReactions>
  </model>
</sbml>"""


def _decay_reaction(law="k * A * c"):
    return f"""<reaction id="R" reversible="false">
      <listOfReactants><speciesReference species="A" stoichiometry="1" constant="true"/>
      </listOfReactants>
      <kineticLaw><math xmlns="http://www.w3.org/1998/Math/MathML">{_mathml(law)}</math>
      </kineticLaw></reaction>"""


def _mathml(formula):
    import libsbml
    return libsbml.writeMathMLToString(libsbml.parseL3Formula(formula)).split("?>", 1)[-1] \
        .replace('<math xmlns="http://www.w3.org/1998/Math/MathML">', "").replace("</math>", "")


def _species(sid, amount, hosu=False, comp="c", extra=""):
    return (f'<species id="{sid}" compartment="{comp}" initialAmount="{amount!r}" '
            f'hasOnlySubstanceUnits="{str(hosu).lower()}" boundaryCondition="false" '
            f'constant="false" {extra}/>')


FEMTOLITRE = '<compartment id="c" size="1e-15" constant="true" spatialDimensions="3"/>'


def test_sbml_moles_are_counted_with_avogadros_number():
    """1e-21 mol in 1 fL: 602 molecules (not 1e-21 · Ω = 0)."""
    doc = _sbml(_species("A", 1e-21), _decay_reaction(), compartments=FEMTOLITRE,
                model_units='substanceUnits="mole"')
    imp = import_sbml(doc)
    assert imp.stochastic_volume() == pytest.approx(1e-15 * 6.02214179e23, rel=1e-12)
    assert imp.substance_units == {"A": "mole"}
    tr = simulate_ssa(imp, times=[0.0, 1.0], n_runs=2000, seed=1)
    np.testing.assert_array_equal(tr["A"][:, 0], 602)
    p = math.exp(-0.5)
    assert abs(tr["A"][:, 1].mean() - 602 * p) < 4 * math.sqrt(602 * p * (1 - p) / 2000)


def test_sbml_scaled_mole_unit_and_refusals():
    nmol = ('<listOfUnitDefinitions><unitDefinition id="nmol"><listOfUnits>'
            '<unit kind="mole" exponent="1" scale="-9" multiplier="1"/></listOfUnits>'
            '</unitDefinition></listOfUnitDefinitions>')
    imp = import_sbml(_sbml(_species("A", 1e-12), _decay_reaction(), compartments=FEMTOLITRE,
                            model_units='substanceUnits="nmol"', unit_defs=nmol))
    assert simulate_ssa(imp, times=[0.0]).counts[0, 0, 0] == 602
    # a whole mole is far too many molecules to count: a clear error, not wrong numbers
    imp = import_sbml(_sbml(_species("A", 1.0), _decay_reaction(),
                            model_units='substanceUnits="mole"'))
    with pytest.raises(SimulationError, match=r"'A'.*too many to count"):
        simulate_ssa(imp, times=[0.0, 1.0])
    imp = import_sbml(_sbml(_species("A", 1.0), _decay_reaction(),
                            model_units='substanceUnits="gram"'))
    with pytest.raises(UnsupportedSBMLError, match=r"'A'.*'gram'.*not a number of molecules"):
        imp.stochastic_volume()


def test_sbml_ssa_uses_the_compartment_size():
    """50 molecules (items) in a compartment of size 10: concentration 5, Ω = 10, 50 counts."""
    doc = _sbml(_species("A", 50.0), _decay_reaction(),
                compartments='<compartment id="c" size="10" constant="true" '
                             'spatialDimensions="3"/>', model_units='substanceUnits="item"')
    imp = import_sbml(doc)
    assert imp.network.initial[0] == 5.0 and imp.stochastic_volume() == 10.0
    tr = simulate_ssa(imp, times=[0.0, 1.0], n_runs=2000, seed=2)
    np.testing.assert_array_equal(tr["A"][:, 0], 50)
    p = math.exp(-0.5)
    assert abs(tr["A"][:, 1].mean() - 50 * p) < 4 * math.sqrt(50 * p * (1 - p) / 2000)
    two = ('<compartment id="c" size="1" constant="true" spatialDimensions="3"/>'
           '<compartment id="d" size="2" constant="true" spatialDimensions="3"/>')
    imp = import_sbml(_sbml(_species("A", 5.0) + _species("B", 5.0, comp="d"),
                            _decay_reaction(), compartments=two))
    with pytest.raises(UnsupportedSBMLError, match="different numbers of molecules"):
        simulate_ssa(imp, 1.0, 3)


def _dimer(law):
    return f"""<reaction id="Dim" reversible="false">
      <listOfReactants><speciesReference species="X" stoichiometry="2" constant="true"/>
      </listOfReactants>
      <listOfProducts><speciesReference species="Y" stoichiometry="1" constant="true"/>
      </listOfProducts>
      <kineticLaw><math xmlns="http://www.w3.org/1998/Math/MathML">{_mathml(law)}</math>
      </kineticLaw></reaction>"""


def test_falling_factorial_law_is_the_stochastic_mass_action_propensity():
    """``k*X*(X-1)`` on 2X → Y (X in molecules) is our 2X → Y with rate constant k: two X
    molecules react at k·2·1, so P(no event by t) = e^{−2kt}."""
    species = _species("X", 2.0, hosu=True) + _species("Y", 0.0, hosu=True)
    imp = import_sbml(_sbml(species, _dimer("k * X * (X - 1)"),
                            model_units='substanceUnits="item"'))
    (r,) = imp.network.reactions
    assert dict(r.reactants) == {"X": 2} and r.rate_constant == 0.5
    assert imp.falling_factorial == ("Dim",)
    tr = simulate_ssa(imp, times=[0.6], n_runs=4000, seed=3)
    p = math.exp(-2 * 0.5 * 0.6)
    assert abs(np.mean(tr["X"][:, 0] == 2) - p) < 4 * math.sqrt(p * (1 - p) / 4000)
    # the same with the 1/2 written out, as the SBML Test Suite does
    imp = import_sbml(_sbml(species, _dimer("k * X * (X - 1) / 2")))
    assert imp.network.reactions[0].rate_constant == 0.25


def test_non_factorial_lower_term_gets_a_clear_message():
    species = _species("X", 2.0, hosu=True) + _species("Y", 0.0, hosu=True)
    with pytest.raises(UnsupportedSBMLError) as err:
        import_sbml(_sbml(species, _dimer("k * X * (X - 2)")))
    msg = str(err.value)
    assert "falling factorial" in msg and "not a reverse reaction" in msg
    assert "'Y' is a product" not in msg
    # X(X−1) of a species counted in moles is not a molecule count: refused, with the reason
    with pytest.raises(UnsupportedSBMLError, match="counts molecules"):
        import_sbml(_sbml(species, _dimer("k * X * (X - 1)"),
                          model_units='substanceUnits="mole"'))


def test_constant_species_with_stoichiometry_two():
    """Documented (kinetics._ssa): constant K keeps its count n and 2K → … fires at
    k·n(n−1)/Ω. With n = 3, Ω = 1, k = 0.5 the product B ~ Poisson(3t); with n = 1 it never
    fires."""
    net = ReactionNetwork([Reaction(["K", "K"], ["K", "K", "B"], 0.5)],
                          initial={"K": 3.0}, constant=["K"])
    tr = simulate_ssa(net, times=[1.0], n_runs=4000, seed=4)
    np.testing.assert_array_equal(tr["K"], 3)
    b = tr["B"][:, 0]
    assert abs(b.mean() - 3.0) < 4 * math.sqrt(3.0 / 4000)
    assert abs(b.var(ddof=1) - 3.0) < 4 * math.sqrt(2 * 9 / 4000 + 3 / 4000)
    one = simulate_ssa(net.with_initial({"K": 1.0}), times=[5.0], n_runs=10, seed=4)
    np.testing.assert_array_equal(one["B"], 0)
    # Ω = 10: n = 30, rate 0.5 · 30 · 29 / 10 = 43.5
    tr = simulate_ssa(net, times=[1.0], volume=10.0, n_runs=2000, seed=5)
    assert abs(tr["B"][:, 0].mean() - 43.5) < 4 * math.sqrt(43.5 / 2000)


@pytest.mark.slow
def test_tau_leaping_against_the_master_equation_of_1e4_molecules():
    """The defect's network against its exact master-equation moments (20 000 runs)."""
    from test_stochastic_methods import death_chain_moments
    exact = death_chain_moments(10_000, 1.0, 1e-4, 1.0, [0.25, 1.0])
    tr = simulate_ssa(DECAY_DIMER, times=[0.25, 1.0], n_runs=20_000, seed=104,
                      method="tau-leap")
    for j, (m, v) in enumerate(exact):
        assert abs(tr["A"][:, j].mean() - m) < 4 * math.sqrt(v / 20_000)
