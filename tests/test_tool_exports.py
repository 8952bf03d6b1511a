"""Exports to Catalyst.jl, BioNetGen (BNGL) and Visual DSD / crn-engine.

Julia/Catalyst and BioNetGen are not installable here, and crn-engine is a .NET program, so each
output is read back by a small *independent* parser written below (not neuralcrn's code) that
rebuilds the ODE **with the target tool's own rate law** — Catalyst and BioNetGen divide by νᵢ!
for νᵢ identical reactants, crn-engine does not — and its right-hand side and trajectory are
compared with neuralcrn's mass-action ODE.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.integrate import solve_ivp

from neuralcrn.chemistry import (ReactionNetwork, parse_text, to_bngl, to_catalyst, to_dsd,
                                 write_bngl)
from neuralcrn.chemistry.io import load_network, save_network
from neuralcrn.cli import main
from neuralcrn.errors import NetworkError, NeuralCRNError
from neuralcrn.kinetics import compile_network, mass_action_rhs, simulate


# ---------------------------------------------------------------- the independent readers
class ToolModel:
    """An ODE model read from a tool's file: reactions ``(rate, reactants, products)`` where
    ``rate`` already includes the tool's 1/n! factor (if any) and constant factors."""

    def __init__(self, species, x0, reactions, fixed=()):
        self.species = list(species)
        self.x0 = np.array([x0[s] for s in self.species], dtype=float)
        self.reactions = reactions
        self.fixed = set(fixed)
        self.idx = {s: i for i, s in enumerate(self.species)}

    def rhs(self, t, x):
        dx = np.zeros_like(x)
        for rate, lhs, rhs in self.reactions:
            v = rate
            for s, n in lhs.items():
                v *= x[self.idx[s]] ** n
            for s, n in lhs.items():
                dx[self.idx[s]] -= n * v
            for s, n in rhs.items():
                dx[self.idx[s]] += n * v
        for s in self.fixed:
            dx[self.idx[s]] = 0.0
        return dx

    def solve(self, t_end):
        sol = solve_ivp(self.rhs, (0.0, t_end), self.x0, method="LSODA", rtol=1e-11, atol=1e-13)
        assert sol.success
        return dict(zip(self.species, sol.y[:, -1]))


def _multiset(text, sep, pattern):
    out = {}
    text = text.strip()
    if text in ("", "0"):
        return out
    for term in text.split(sep):
        m = re.fullmatch(pattern, term.strip())
        assert m, f"cannot read the term {term!r}"
        n = int(m.group(1)) if m.group(1) else 1
        out[m.group(2)] = out.get(m.group(2), 0) + n
    return out


def _factorials(lhs):
    return math.prod(math.factorial(n) for n in lhs.values())


def read_catalyst(text):
    """Catalyst.jl ``@reaction_network`` source → ToolModel (Catalyst divides by Π n!)."""
    pairs = lambda line: {a: float(b) for a, b in re.findall(r":(\w+) => ([-+.\deE]+)", line)}  # noqa: E731
    u0 = pairs(re.search(r"^u0 = \[(.*)\]$", text, re.M).group(1))
    ps = pairs(re.search(r"^ps = \[(.*)\]$", text, re.M).group(1))
    body = re.search(r"@reaction_network \w+ begin\n(.*?)\nend\n", text, re.S).group(1)
    reactions = []
    for line in body.split("\n"):
        line = line.split("#")[0].strip()
        if not line:
            continue
        rate_expr, reaction = line.split(",", 1)
        rate = 1.0
        for factor in rate_expr.split("*"):
            name, _, power = factor.strip().partition("^")
            rate *= ps[name] ** (int(power) if power else 1)
        lhs, rhs = reaction.split("-->")
        lhs = _multiset(lhs, "+", r"(\d*)(\w+)")
        rhs = _multiset(rhs, "+", r"(\d*)(\w+)")
        reactions.append((rate / _factorials(lhs), lhs, rhs))
    return ToolModel(u0, u0, reactions)


def read_bngl(text):
    """BNGL → ToolModel (BioNetGen's symmetry factor 1/Π n! for identical reactants)."""
    def block(name):
        return re.search(rf"begin {name}\n(.*?)\nend {name}", text, re.S).group(1).split("\n")
    params = {}
    for line in block("parameters"):
        name, value = line.split("#")[0].split()
        params[name] = float(value)
    x0, fixed, species = {}, set(), []
    for line in block("seed species"):
        m = re.fullmatch(r"\s*(\$?)(\w+)\(\) (\S+)", line)
        species.append(m.group(2))
        x0[m.group(2)] = float(m.group(3))
        if m.group(1):
            fixed.add(m.group(2))
    reactions = []
    for line in block("reaction rules"):
        m = re.fullmatch(r"\s*R\d+: (.*) -> (.*) (\w+)", line)
        lhs = _multiset(m.group(1), "+", r"()(\w+)\(\)")
        rhs = _multiset(m.group(2), "+", r"()(\w+)\(\)")
        reactions.append((params[m.group(3)] / _factorials(lhs), lhs, rhs))
    return ToolModel(species, x0, reactions, fixed)


def read_dsd(text):
    """crn-engine / Visual DSD CRN → ToolModel (deterministic mass action, no 1/n!)."""
    text = re.sub(r"//[^\n]*", "", text)
    params = {a: float(b) for a, b in
              re.findall(r"(\w+) = ([-+.\deE]+);", re.search(r"parameters \[(.*?)\]", text,
                                                              re.S).group(1))}
    items = text[text.index("]") + 1:].split("|")
    x0, fixed, species, reactions = {}, set(), [], []
    for item in items:
        item = " ".join(item.split())
        m = re.fullmatch(r"init (constant )?(\w+) (\S+)", item)
        if m:
            species.append(m.group(2))
            x0[m.group(2)] = float(m.group(3))
            if m.group(1):
                fixed.add(m.group(2))
            continue
        m = re.fullmatch(r"(.*?) ?->\{(\w+)\} ?(.*)", item)
        assert m, f"cannot read {item!r}"
        lhs = _multiset(m.group(1), "+", r"(\d*)(\w+)")
        rhs = _multiset(m.group(3), "+", r"(\d*)(\w+)")
        reactions.append((params[m.group(2)], lhs, rhs))
    return ToolModel(species, x0, reactions, fixed)


READERS = {"catalyst": (to_catalyst, read_catalyst), "bngl": (to_bngl, read_bngl),
           "dsd": (to_dsd, read_dsd)}


def _our_rhs(net: ReactionNetwork, x):
    arrays = compile_network(net)
    return np.asarray(mass_action_rhs(np.asarray(x, float), arrays.rate_constants,
                                      arrays.structure()))


# ---------------------------------------------------------------- the 1/n! conversion
@pytest.mark.parametrize("fmt", list(READERS))
def test_identical_reactants_get_the_factorial_where_the_tool_divides_by_it(fmt):
    net = parse_text("A = 1.5\nB = 0.25\n2A ->{0.5} B\nA + A ->{0.25} A\n3B ->{0.2} 0\n"
                     "A + B ->{0.7} A\n")
    text = READERS[fmt][0](net)
    model = READERS[fmt][1](text)
    x = model.x0
    # the tool's ODE (with its own rate law) is ours, exactly
    np.testing.assert_allclose(model.rhs(0.0, x), _our_rhs(net, x), rtol=1e-14)
    # and the written constants carry the factor where the tool divides: 2A: 2k, 3B: 6k
    ks = [float(v) for v in re.findall(r"[:\s]k\d+ (?:=> |= )?([-+.\deE]+)", text)]
    factor = [2, 2, 6, 1] if fmt in ("catalyst", "bngl") else [1, 1, 1, 1]
    assert ks[:4] == pytest.approx([0.5 * factor[0], 0.25 * factor[1], 0.2 * factor[2], 0.7])
    # d[A]/dt of 2A -> B alone: ours −2·k·A² (each firing uses two A); Catalyst writes 2k and
    # divides by 2! — the same
    one = parse_text("A = 3.0\n2A ->{0.5} B\n")
    m1 = READERS[fmt][1](READERS[fmt][0](one))
    assert m1.rhs(0.0, m1.x0)[0] == pytest.approx(-2 * 0.5 * 9.0, rel=1e-15)


def _random_network(rng, n_species=6, n_reactions=12):
    names = [f"S{i}" for i in range(n_species)]
    lines = [f"{s} = {rng.uniform(0.1, 2.0)!r}" for s in names]
    for _ in range(n_reactions):
        order = rng.integers(0, 3)
        lhs = rng.choice(names, size=order)
        rhs = rng.choice(names, size=rng.integers(0, 3))
        if not len(lhs) and not len(rhs):
            rhs = names[:1]
        side = lambda xs: " + ".join(xs) if len(xs) else "0"  # noqa: E731
        lines.append(f"{side(lhs)} ->{{{rng.uniform(0.05, 1.0)!r}}} {side(rhs)}")
    lines.append("const C = 0.8")
    lines.append(f"C + S0 ->{{0.3}} C + S1")
    lines.append(f"2C + S1 ->{{0.2}} 2C")
    return parse_text("\n".join(lines))


@pytest.mark.parametrize("fmt", list(READERS))
def test_round_trip_trajectories_match_ours(fmt):
    rng = np.random.default_rng(7)
    for _ in range(3):
        net = _random_network(rng)
        model = READERS[fmt][1](READERS[fmt][0](net, **({"t_end": 2.0} if fmt != "catalyst"
                                                         else {})))
        # Catalyst holds a constant species as a parameter of the rate expression
        species = [s for s in net.species if fmt != "catalyst" or s != "C"]
        assert sorted(model.species) == sorted(species)
        theirs = model.solve(2.0)
        ours = simulate(net, t_end=2.0, n_points=2, rtol=1e-11, atol=1e-13).final
        for s in species:
            assert theirs[s] == pytest.approx(ours[s], rel=1e-7, abs=1e-10), s
        if fmt != "catalyst":
            assert theirs["C"] == 0.8   # the constant species stays put


@pytest.mark.parametrize("fmt", list(READERS))
def test_a_compiled_circuit_round_trips(fmt):
    from neuralcrn.compiler import compile_two_phase
    from neuralcrn.ideal import init_params
    from neuralcrn.tasks import get_task
    spec = get_task("xor").model_spec
    circuit = compile_two_phase(spec, init_params(spec, 0))
    net = circuit.module("feedforward")
    init = circuit.network.initial_concentrations
    x = {**{s: init[s] for s in net.species}, "x1_p": 0.3, "x2_m": 0.7}
    net = net.with_initial(x)
    model = READERS[fmt][1](READERS[fmt][0](net))
    np.testing.assert_allclose(model.rhs(0.0, model.x0), _our_rhs(net, model.x0), rtol=1e-12,
                               atol=1e-14)
    assert len(model.reactions) == net.n_reactions


def test_reserved_names_and_export_only_formats_are_refused(tmp_path):
    with pytest.raises(NetworkError, match="'end'.*Catalyst"):
        to_catalyst(parse_text("end = 1\nend ->{1.0} B\n"))
    with pytest.raises(NetworkError, match="'t'"):
        to_catalyst(parse_text("t ->{1.0} B\n"))
    with pytest.raises(NetworkError, match="'init'"):
        to_dsd(parse_text("init ->{1.0} B\n"))
    path = write_bngl(parse_text("A ->{1.0} B\n"), tmp_path / "m.bngl")
    with pytest.raises(NeuralCRNError, match="written by neuralcrn but not read"):
        load_network(path)
    with pytest.raises(NeuralCRNError, match="unknown format 'kappa'"):
        save_network(parse_text("A ->{1.0} B\n"), tmp_path / "m.x", "kappa")


def test_cli_circuit_and_convert_write_the_tool_formats(tmp_path):
    runner = CliRunner()
    out = tmp_path / "lr.jl"
    r = runner.invoke(main, ["circuit", "--task", "linear-regression", "--schedule", "two-phase",
                             "--format", "catalyst", "--out", str(out)])
    assert r.exit_code == 0, r.output
    model = read_catalyst(out.read_text())
    assert len(model.reactions) == 76
    src = tmp_path / "n.crn"
    src.write_text("A = 1.0\n2A ->{0.5} B\n")
    r = runner.invoke(main, ["convert", str(src), str(tmp_path / "n.bngl")])
    assert r.exit_code == 0, r.output
    assert "k1 1.0  # neuralcrn k = 0.5 (x 2 for 1/n!)" in (tmp_path / "n.bngl").read_text()
    r = runner.invoke(main, ["convert", str(src), str(tmp_path / "n.txt2")])
    assert r.exit_code == 1 and "cannot tell the format" in r.output
    r = runner.invoke(main, ["convert", str(src), str(tmp_path / "n.out"), "--format", "dsd"])
    assert r.exit_code == 0 and "->{k1} B" in (tmp_path / "n.out").read_text()
