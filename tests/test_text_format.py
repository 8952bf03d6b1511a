"""The reaction-network text format: parsing, errors with line/column, exact round trips."""

import math
import os

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from neuralcrn import Reaction, ReactionNetwork
from neuralcrn.chemistry import parse_text, read_text, to_text, write_text
from neuralcrn.chemistry.io import bundled_examples
from neuralcrn.errors import ParseError

EXAMPLE = """\
# a comment line
name: my_network
species: A B C
A = 1.0            # trailing comment
const S = 2.0
A + B ->{1.0} A + B + C
2Z ->{0.15} Z
Z ->{0.1} 0
A <->{1.0}{0.5} B
∅ -> S
"""


def test_example_parses_to_the_expected_network():
    net = parse_text(EXAMPLE)
    assert net.name == "my_network"
    assert net.species == ("A", "B", "C", "S", "Z")
    assert net.initial_concentrations == {"A": 1.0, "B": 0.0, "C": 0.0, "S": 2.0, "Z": 0.0}
    assert net.constant == frozenset({"S"})
    assert net.reactions == (
        Reaction(["A", "B"], ["A", "B", "C"], 1.0),
        Reaction({"Z": 2}, ["Z"], 0.15),
        Reaction(["Z"], [], 0.1),
        Reaction(["A"], ["B"], 1.0),
        Reaction(["B"], ["A"], 0.5),
        Reaction([], ["S"], 1.0),
    )


def test_syntax_variants():
    net = parse_text("species: X, Y,Z\n2 X + Y → Z\nZ ⇌ X\nconst Y\nX=3")
    assert net.species == ("X", "Y", "Z")
    assert net.reactions == (Reaction({"X": 2, "Y": 1}, ["Z"], 1.0), Reaction(["Z"], ["X"], 1.0),
                             Reaction(["X"], ["Z"], 1.0))
    assert net.constant == {"Y"} and net.initial == (3.0, 0.0, 0.0)
    # repeated species on a side add up; coefficient directly before a name like e1
    assert parse_text("A + A ->{2} 2e1").reactions == (Reaction({"A": 2}, {"e1": 2}, 2.0),)
    # keywords are ordinary species names when not followed by ':' / a name
    net = parse_text("name = 1\nconst = 2\nspecies + const -> name")
    assert net.initial_concentrations == {"name": 1.0, "const": 2.0, "species": 0.0}
    assert net.constant == frozenset()


def test_order_of_first_appearance_and_empty_text():
    net = parse_text("B = 1\nA -> B\nconst C = 0.5")
    assert net.species == ("B", "A", "C")
    assert parse_text("") == ReactionNetwork()
    assert parse_text("# only a comment\n\n") == ReactionNetwork()
    assert to_text(ReactionNetwork()) == ""


def test_quoted_names_with_hash_round_trip():
    net = parse_text('name: "net #1 \\"quoted\\""   # comment\nA -> 0')
    assert net.name == 'net #1 "quoted"'
    assert parse_text(to_text(net)) == net


@pytest.mark.parametrize("text, line, column, words", [
    ("A + B ->{-1} C", 1, 10, "≥ 0"),
    ("A ->{} B", 1, 6, "expected a number"),
    ("A ->{1.0 B", 1, 10, "expected '}'"),
    ("A ->{abc} B", 1, 6, "expected a number"),
    ("A ->{inf} B", 1, 6, "finite"),
    ("A ->{1e400} B", 1, 6, "finite"),
    ("A <->{1} B", 1, 10, "missing rate"),
    ("A ->{1}{2} B", 1, 8, "only reversible"),
    ("0 + A -> B", 1, 1, "cannot be combined"),
    ("A -> ∅ + B", 1, 6, "cannot be combined"),
    ("A + -> B", 1, 5, "expected a species"),
    ("2.5A -> B", 1, 1, "positive integer"),
    ("0A -> B", 1, 1, "positive integer"),
    ("A -> B C", 1, 8, "expected '+' or end of line"),
    ("A ->", 1, 5, "expected the products"),
    ("-> B", 1, 1, "expected the reactants"),
    ("species: A 2B", 1, 12, "invalid species name"),
    ("species: A\nspecies: B A", 2, 12, "duplicate declaration"),
    ("A = 1\n\nA = 2", 3, 1, "duplicate declaration"),
    ("A = -1", 1, 5, "≥ 0"),
    ("A = 1x", 1, 5, "expected a number"),
    ("const A = 1\nconst A = 2", 2, 7, "duplicate declaration"),
    ("name: x\nname: y", 2, 1, "duplicate declaration"),
    ("name:", 1, 6, "expected a network name"),
    ("foo bar", 1, 1, "expected a reaction"),
    ("A -> B\n  what?", 2, 3, "expected a reaction"),
])
def test_errors_name_line_column_and_what_was_expected(text, line, column, words):
    with pytest.raises(ParseError) as info:
        parse_text(text, source="net.crn")
    err = info.value
    assert (err.line, err.column, err.source) == (line, column, "net.crn")
    assert words in err.message
    assert str(err).startswith(f"net.crn:{line}:{column}: ")


def test_read_and_write_files_atomically(tmp_path):
    net = parse_text(EXAMPLE)
    path = write_text(net, tmp_path / "n.crn")
    assert read_text(path) == net
    assert os.listdir(tmp_path) == ["n.crn"]  # no temporary file left behind
    (tmp_path / "bad.crn").write_text("A -> B\nA ->{x} B\n")
    with pytest.raises(ParseError, match=r"bad\.crn:2:6: expected a number"):
        read_text(tmp_path / "bad.crn")


def test_bundled_examples_parse_and_round_trip():
    examples = bundled_examples()
    assert examples
    for path in examples.values():
        net = read_text(path)
        assert net.n_reactions > 0
        assert parse_text(to_text(net)) == net


def test_str_of_a_network_is_the_text_format():
    net = ReactionNetwork([Reaction(["A"], [], 0.1)], initial={"A": 0.30000000000000004})
    assert str(net) == "species: A\nA = 0.30000000000000004\nA ->{0.1} 0\n"


# ---------------------------------------------------------------------------- round trip
NAMES = st.sampled_from(["A", "B", "C", "x1", "e1", "E2", "_a", "Z_p", "name", "species",
                         "const", "k1", "c", "R1", "inf", "nan", "time", "pi"])
NONNEG = st.floats(min_value=0.0, max_value=1e300, allow_nan=False, allow_infinity=False)


@st.composite
def networks(draw, names=NAMES, nonneg=NONNEG, max_reactions=8, network_name=None):
    species = draw(st.lists(names, min_size=1, max_size=8, unique=True))
    side = st.dictionaries(st.sampled_from(species), st.integers(1, 3), max_size=3)
    reactions = []
    for _ in range(draw(st.integers(0, max_reactions))):
        r, p = draw(side), draw(side)
        if r or p:
            reactions.append(Reaction(r, p, draw(nonneg)))
    initial = draw(st.dictionaries(st.sampled_from(species), nonneg))
    constant = draw(st.sets(st.sampled_from(species)))
    name = draw(network_name if network_name is not None else
                st.one_of(st.just(""), st.text(max_size=12)))
    order = draw(st.permutations(species))
    return ReactionNetwork(reactions, order, initial, constant, name)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_text_round_trip_is_exact(net):
    text = to_text(net)
    back = parse_text(text)
    assert back == net
    assert back.name == net.name and back.species == net.species
    assert [r.rate_constant for r in back.reactions] == [r.rate_constant for r in net.reactions]
    assert to_text(back) == text


def test_round_trip_of_extreme_floats():
    values = [5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 0.1 + 0.2, 1 / 3, 1e-5,
              123456789.12345678]
    net = ReactionNetwork([Reaction(["A"], ["B"], v) for v in values],
                          initial={"A": values[0], "B": values[3]})
    back = parse_text(to_text(net))
    assert back == net
    assert all(math.copysign(1, a.rate_constant) == 1 for a in back.reactions)


@pytest.mark.parametrize("name", ["\x85", "a\u2028b", "x\u2029", "a\x85b"])
def test_names_with_unicode_line_breaks_round_trip(name):
    """str.splitlines() breaks lines at NEL, LS and PS: such names are written quoted and escaped
    (found by hypothesis: name='\\x85')."""
    net = ReactionNetwork([], ["A"], name=name)
    text = to_text(net)
    assert len(text.splitlines()) == 2
    assert parse_text(text) == net
