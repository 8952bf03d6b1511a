"""The CRN model: reactions, networks, composition, validation and dual-rail motifs."""

import math

import numpy as np
import pytest

import neuralcrn  # noqa: F401  (enables x64)
from neuralcrn.chemistry import (DualRail, Reaction, ReactionNetwork, annihilation, catalytic_copy,
                                 catalytic_product, compose, decode_array, transfer)
from neuralcrn.errors import NetworkError


def test_reaction_normalises_sides_and_counts_molecularity():
    r = Reaction(["Z", "Z"], {"Z": 1}, 0.15)
    assert r.reactants == (("Z", 2),)
    assert r.products == (("Z", 1),)
    assert r.molecularity == 2
    assert r.net_change() == {"Z": -1}
    c = Reaction(["A", "B"], ["A", "B", "C"], 1.0)
    assert c.is_catalyst("A") and c.is_catalyst("B") and not c.is_catalyst("C")
    assert c.net_change() == {"C": 1}
    assert Reaction("0", ["A"], 2.0).molecularity == 0
    assert str(r) == "2Z ->{0.15} Z"


@pytest.mark.parametrize("k", [-1.0, math.nan, math.inf, "fast"])
def test_bad_rate_constants_are_refused_with_the_reaction_named(k):
    with pytest.raises(NetworkError) as e:
        Reaction(["A"], ["B"], k)
    if k != "fast":
        assert "A -> B" in str(e.value)


def test_empty_reaction_and_bad_names_are_refused():
    with pytest.raises(NetworkError, match="empty reaction"):
        Reaction([], "0", 1.0)
    with pytest.raises(NetworkError, match="invalid species name"):
        Reaction(["1A"], ["B"], 1.0)
    with pytest.raises(NetworkError, match="non-negative integer"):
        Reaction([("A", -1)], ["B"], 1.0)
    with pytest.raises(NetworkError, match="non-negative integer"):
        Reaction([("A", 1.5)], ["B"], 1.0)


def test_network_validation():
    r = Reaction(["A"], ["B"], 1.0)
    with pytest.raises(NetworkError, match="duplicate species name 'A'"):
        ReactionNetwork([r], species=["A", "B", "A"])
    with pytest.raises(NetworkError, match="'B' appears in a reaction"):
        ReactionNetwork([r], species=["A"])
    with pytest.raises(NetworkError, match="unknown species 'C'"):
        ReactionNetwork([r], species=["A", "B"], initial={"C": 1.0})
    # without an explicit species list, species named only in `initial` are added
    assert ReactionNetwork([r], initial={"C": 1.0}).species == ("A", "B", "C")
    with pytest.raises(NetworkError, match="'A' must be finite and ≥ 0"):
        ReactionNetwork([r], initial={"A": -0.5})
    with pytest.raises(NetworkError, match="finite"):
        ReactionNetwork([r], initial={"A": math.nan})
    with pytest.raises(NetworkError, match="constant species 'Q'"):
        ReactionNetwork([r], species=["A", "B"], constant=["Q"])


def test_network_size_and_order():
    net = ReactionNetwork([Reaction(["A", "B"], ["C"], 2.0), Reaction(["C"], [], 0.5),
                           Reaction(["Z", "Z", "Z"], ["Z", "Z"], 1.0)],
                          initial={"A": 1.0, "B": 0.5})
    assert net.species == ("A", "B", "C", "Z")
    assert net.n_species == 4 and net.n_reactions == 3 and net.max_molecularity == 3
    assert net.initial == (1.0, 0.5, 0.0, 0.0)
    np.testing.assert_array_equal(net.rate_constants, [2.0, 0.5, 1.0])
    assert ReactionNetwork().max_molecularity == 0


def test_rename_prefix_and_compose():
    a = ReactionNetwork([Reaction(["X"], ["Y"], 1.0)], initial={"X": 2.0}, name="a")
    b = ReactionNetwork([Reaction(["Y"], ["W"], 3.0)], initial={"W": 1.0})
    ab = a | b
    assert ab.species == ("X", "Y", "W")
    assert ab.initial == (2.0, 0.0, 1.0)
    assert ab.n_reactions == 2 and ab.name == "a"
    p = a.prefix("m1_", keep=["Y"])
    assert p.species == ("m1_X", "Y") and p.initial == (2.0, 0.0)
    with pytest.raises(NetworkError, match="merges two species"):
        a.rename({"X": "Y"})
    with pytest.raises(NetworkError, match="conflicting initial"):
        compose(a, ReactionNetwork([Reaction(["X"], [], 1.0)], initial={"X": 1.0}))
    # Composition is associative and equal networks compare equal
    c = ReactionNetwork([Reaction(["W"], ["X"], 0.1)])
    assert compose(compose(a, b), c) == compose(a, compose(b, c))


def test_with_rate_constants_and_initial():
    net = ReactionNetwork([Reaction(["A"], ["B"], 1.0), Reaction(["B"], ["A"], 2.0)])
    new = net.with_rate_constants([3.0, 4.0])
    assert [r.rate_constant for r in new.reactions] == [3.0, 4.0]
    assert new.species == net.species
    with pytest.raises(NetworkError, match="expected 2 rate constants"):
        net.with_rate_constants([1.0])
    assert net.with_initial({"B": 5.0}).initial_concentrations == {"A": 0.0, "B": 5.0}


def test_dual_rail_encode_decode():
    v = DualRail("z1")
    assert v.species == ("z1_p", "z1_m")
    assert v.encode(-2.5) == {"z1_p": 0.0, "z1_m": 2.5}
    assert v.decode({"z1_p": 3.0, "z1_m": 1.0}) == 2.0
    x = np.array([[3.0, 1.0, 7.0], [0.0, 2.0, 7.0]])
    np.testing.assert_array_equal(decode_array(v, ["z1_p", "z1_m", "q"], x), [2.0, -2.0])
    assert annihilation(v, 50.0) == Reaction(["z1_p", "z1_m"], [], 50.0)


def _signed_rate(reactions, target, conc):
    """d(target)/dt from mass action (plain Python, our convention)."""
    total = 0.0
    for r in reactions:
        rate = r.rate_constant
        for s, n in r.reactants:
            rate *= conc[s] ** n
        ch = r.net_change()
        total += rate * (ch.get(target.plus, 0) - ch.get(target.minus, 0))
    return total


@pytest.mark.parametrize("sign", [1, -1])
def test_catalytic_product_computes_signed_product(sign):
    rng = np.random.default_rng(0)
    a, b, t = DualRail("a"), DualRail("b"), DualRail("t")
    rxns = catalytic_product(a, b, t, 0.7, sign=sign)
    assert len(rxns) == 4 and all(r.molecularity == 2 for r in rxns)
    for _ in range(5):
        conc = {s: rng.uniform(0, 2) for s in (*a.species, *b.species, *t.species)}
        expect = sign * 0.7 * a.decode(conc) * b.decode(conc)
        assert _signed_rate(rxns, t, conc) == pytest.approx(expect, rel=1e-12, abs=1e-14)
        # operands are catalysts: unchanged
        for r in rxns:
            assert all(s in t.species for s in r.net_change())
    # a plain (non-negative) operand needs half the reactions
    assert len(catalytic_product(a, "u", t)) == 2
    assert len(catalytic_copy(a, t, 2.0)) == 2
    conc = {"a_p": 1.5, "a_m": 0.25, "t_p": 0, "t_m": 0}
    assert _signed_rate(catalytic_copy(a, t, 2.0, sign=-1), t, conc) == pytest.approx(-2.5)
    with pytest.raises(NetworkError, match="single-rail"):
        catalytic_product(a, "u", "t")


def test_motifs_with_several_signed_targets():
    rng = np.random.default_rng(1)
    a, b, t1, t2 = DualRail("a"), DualRail("b"), DualRail("t1"), DualRail("t2")
    rxns = catalytic_product(a, b, [(t1, 1), (t2, -1)], 0.3)
    assert len(rxns) == 4 and all(r.molecularity == 2 for r in rxns)
    for _ in range(3):
        conc = {s: rng.uniform(0, 2) for s in (*a.species, *b.species, *t1.species, *t2.species)}
        ab = 0.3 * a.decode(conc) * b.decode(conc)
        assert _signed_rate(rxns, t1, conc) == pytest.approx(ab, rel=1e-12)
        assert _signed_rate(rxns, t2, conc) == pytest.approx(-ab, rel=1e-12)
        # the overall sign flips every target
        neg = catalytic_product(a, b, [(t1, 1), (t2, -1)], 0.3, sign=-1)
        assert _signed_rate(neg, t1, conc) == pytest.approx(-ab, rel=1e-12)
        cp = catalytic_copy(a, [(t1, -1), (t2, -1)], 2.0)
        assert _signed_rate(cp, t2, conc) == pytest.approx(-2.0 * a.decode(conc), rel=1e-12)
    # the same target twice receives the term twice (O^s -> O^s + 2E^s)
    assert catalytic_copy(a, [(t1, 1), (t1, 1)])[0] == Reaction(["a_p"], {"a_p": 1, "t1_p": 2})
    for bad, msg in (([], "at least one target"), ([(t1, 2)], "sign"), ([t1], "pairs"),
                     ([(3, 1)], "DualRail or a species name")):
        with pytest.raises(NetworkError, match=msg):
            catalytic_copy(a, bad)


def test_transfer_moves_the_signed_value():
    a, e = DualRail("a"), DualRail("e")
    # Y^s -> E^{-s}: the value of a goes, negated, into e
    rx = transfer(a, [(e, -1)], 5.0)
    assert rx == [Reaction(["a_p"], ["e_m"], 5.0), Reaction(["a_m"], ["e_p"], 5.0)]
    conc = {"a_p": 2.0, "a_m": 0.5, "e_p": 0.0, "e_m": 0.0}
    assert _signed_rate(rx, e, conc) == pytest.approx(-5.0 * 1.5)
    assert _signed_rate(rx, a, conc) == pytest.approx(-5.0 * 1.5)
    # O^s -> 2E^s and first-order decay
    assert transfer(a, [(e, 1), (e, 1)], 1.0)[1] == Reaction(["a_m"], {"e_m": 2}, 1.0)
    assert transfer(a, [], 3.0) == [Reaction(["a_p"], [], 3.0), Reaction(["a_m"], [], 3.0)]
    assert transfer("x", "y") == [Reaction(["x"], ["y"], 1.0)]
