"""Adversarial SBML import cases: every model is either imported with the right numbers or refused.

The SBML Test Suite grades a case as passed (|v − e| ≤ abs + rel·|e|) or refused
(UnsupportedSBMLError naming the feature); wrong numbers or another exception are failures. These
tiny models probe the corners of the part of SBML the importer claims (compartments, species,
parameters, reactions; Levels 1–3): hasOnlySubstanceUnits in compartments of size ≠ 1, amounts vs
concentrations, spatial dimensions, compartments without size, local parameters that shadow
globals, compartments or species, boundary and constant species, modifiers and species used only
in the law, stoichiometries (repeated references, ids, 2.0 vs 1.5), reversible and negative laws,
many spellings of the same mass-action law, uncommon MathML, Level 1 and Level 2 documents, and
values that overflow. Each imported model is simulated and compared with libroadrunner (the
independent reference, tight tolerances) and, for some, with the analytic solution. The last part
runs :func:`sbml_suite_helpers.run_case` on hand-made cases to check what the harness reports
(parameters, compartments, reaction rates, undefined values, output that starts after t = 0).
"""

from __future__ import annotations

import math
import re

import libsbml
import numpy as np
import pytest

from neuralcrn.chemistry.sbml import import_sbml
from neuralcrn.errors import UnsupportedSBMLError
from neuralcrn.kinetics import simulate

from sbml_suite_helpers import run_case

TIMES = np.linspace(0.0, 2.0, 9)
REL, ABS = 1e-7, 1e-12

# ---------------------------------------------------------------------------- model builders
_NS = {(3, 2): "http://www.sbml.org/sbml/level3/version2/core",
       (3, 1): "http://www.sbml.org/sbml/level3/version1/core",
       (2, 4): "http://www.sbml.org/sbml/level2/version4",
       (2, 3): "http://www.sbml.org/sbml/level2/version3",
       (2, 2): "http://www.sbml.org/sbml/level2/version2",
       (2, 1): "http://www.sbml.org/sbml/level2"}
_ATTR = {"hosu": "hasOnlySubstanceUnits", "bc": "boundaryCondition", "ia": "initialAmount",
         "ic": "initialConcentration", "sd": "spatialDimensions", "c": "compartment"}


def _attrs(**kw) -> str:
    out = []
    for k, v in kw.items():
        if v is None:
            continue
        if isinstance(v, bool):
            v = "true" if v else "false"
        out.append(f'{_ATTR.get(k, k)}="{v}"')
    return " ".join(out)


def mathml(formula: str) -> str:
    ast = libsbml.parseL3Formula(formula)
    assert ast is not None, (formula, libsbml.getLastParseL3Error())
    text = libsbml.writeMathMLToString(ast)
    return text[text.index("<math"):]


def comp(cid="C", size=1.0, sd=3, constant=True) -> str:
    return f"<compartment {_attrs(id=cid, size=size, sd=sd, constant=constant)}/>"


def spec(sid, c="C", ia=None, ic=None, hosu=False, bc=False, constant=False, **kw) -> str:
    a = _attrs(id=sid, c=c, ia=ia, ic=ic, hosu=hosu, bc=bc, constant=constant, **kw)
    return f"<species {a}/>"


def par(pid, value=None, constant=True) -> str:
    return f"<parameter {_attrs(id=pid, value=value, constant=constant)}/>"


def rxn(rid, reactants=(), products=(), modifiers=(), law=None, local=(), reversible=False,
        l3=True, raw_math=None, fast=None) -> str:
    def refs(tag, items):
        if not items:
            return ""
        body = []
        for it in items:
            it = (it, 1) if isinstance(it, str) else it
            ref_id = it[2] if len(it) > 2 else None
            a = _attrs(id=ref_id, species=it[0], stoichiometry=it[1],
                       constant=True if l3 else None)
            body.append(f"<speciesReference {a}/>")
        return f"<{tag}>{''.join(body)}</{tag}>"

    mods = "".join(f'<modifierSpeciesReference species="{m}"/>' for m in modifiers)
    mods = f"<listOfModifiers>{mods}</listOfModifiers>" if modifiers else ""
    kl = ""
    if law is not None or raw_math is not None:
        m = mathml(law) if raw_math is None else \
            f'<math xmlns="http://www.w3.org/1998/Math/MathML">{raw_math}</math>'
        lps = ""
        if local:
            tag, lt = ("localParameter", "listOfLocalParameters") if l3 else \
                ("parameter", "listOfParameters")
            lps = f"<{lt}>" + "".join(f'<{tag} id="{a}" value="{b}"/>' for a, b in local) + \
                f"</{lt}>"
        kl = f"<kineticLaw>{m}{lps}</kineticLaw>"
    return (f"<reaction {_attrs(id=rid, reversible=reversible, fast=fast)}>"
            f"{refs('listOfReactants', reactants)}{refs('listOfProducts', products)}{mods}{kl}"
            f"</reaction>")


def model(comps=(), species=(), params=(), rxns=(), lv=(3, 2), extra="", model_attrs="") -> str:
    body = ""
    for tag, items in (("Compartments", comps), ("Species", species), ("Parameters", params)):
        if items:
            body += f"<listOf{tag}>{''.join(items)}</listOf{tag}>"
    body += extra
    if rxns:
        body += f"<listOfReactions>{''.join(rxns)}</listOfReactions>"
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<sbml xmlns="{_NS[lv]}" level="{lv[0]}" '
            f'version="{lv[1]}"><model id="m"{model_attrs}>{body}</model></sbml>')


def uni(law, size=2.5, hosu=False, init="ia", local=(), lv=(3, 2), **rkw) -> str:
    """S1 -> S2 in one compartment (S1 = 1.5, S2 = 0.5), parameter k = 0.7."""
    l3 = lv[0] == 3
    cst = None if not l3 else True
    sp_const = None if not l3 else False
    return model([comp("C", size, constant=cst)],
                 [spec("S1", hosu=hosu, constant=sp_const, **{init: 1.5}),
                  spec("S2", hosu=hosu, constant=sp_const, **{init: 0.5})],
                 [par("k", 0.7, constant=cst)],
                 [rxn("r1", ["S1"], ["S2"], law=law, local=local, l3=l3, **rkw)], lv=lv)


def _l1(version=2, volume='volume="2.5"', law="C*k*S1^2", local="", ref_extra=""):
    sp, ref, spref = ("species", "speciesReference", "species") if version == 2 else \
        ("specie", "specieReference", "specie")
    kl = f'<kineticLaw formula="{law}">{local}</kineticLaw>' if local else \
        f'<kineticLaw formula="{law}"/>'
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<sbml xmlns="http://www.sbml.org/sbml/'
            f'level1" level="1" version="{version}"><model name="m">'
            f'<listOfCompartments><compartment name="C" {volume}/></listOfCompartments>'
            f'<listOfSpecies><{sp} name="S1" compartment="C" initialAmount="1.5" '
            f'boundaryCondition="false"/><{sp} name="S2" compartment="C" initialAmount="0.5" '
            f'boundaryCondition="false"/></listOfSpecies>'
            f'<listOfParameters><parameter name="k" value="0.7"/></listOfParameters>'
            f'<listOfReactions><reaction name="r1" reversible="false"><listOfReactants>'
            f'<{ref} {spref}="S1" stoichiometry="2"{ref_extra}/></listOfReactants>'
            f'<listOfProducts><{ref} {spref}="S2"/></listOfProducts>{kl}</reaction>'
            f'</listOfReactions></model></sbml>')


def _ap(op, *args):
    return f"<apply><{op}/>{''.join(args)}</apply>"


_K_S1 = "<ci> k </ci><ci> S1 </ci>"
_CSYM = '<csymbol encoding="text" definitionURL="http://www.sbml.org/sbml/symbols/{}"> x </csymbol>'

# ---------------------------------------------------------------------------- cases that import
IMPORTS = {
    # hasOnlySubstanceUnits × initial amount/concentration × compartment factor, V = 2.5
    **{f"hosu{h}-{i}-{name}": uni(law, hosu=h, init=i)
       for h in (False, True) for i in ("ia", "ic")
       for name, law in (("C*k*S1", "C*k*S1"), ("k*S1*C", "k*S1*C"), ("k*S1", "k*S1"))},
    **{f"bimolecular-hosu{h}": model(
        [comp("C", 2.5)], [spec("S1", ia=1.5, hosu=h), spec("S2", ic=0.5, hosu=h)],
        [par("k", 0.7)], [rxn("r1", ["S1", "S2"], [("S2", 2)], law="k*S1*S2*C")])
       for h in (False, True)},
    # one law, many spellings
    **{f"spelling-{i}": uni(law) for i, law in enumerate(
        ["S1*k", "(k*S1)", "S1*k/2", "2*k*S1", "k*S1^1", "k/(1/S1)", "-(-k*S1)",
         "exp(ln(k))*S1", "k*S1*avogadro/6.02214179e23", "k*S1*pi/exponentiale",
         "k*S1*log(100)*log(2, 8)*log10(10)*sqrt(4)*root(3, 8)/abs(-8)", "k*S1^2/S1",
         "k*S1*(2 - 1)", "(k + 0*k)*S1 + 0"])},
    "power-by-parameter": model([comp("C", 2.5)], [spec("S1", ia=1.5), spec("S2", ia=0.5)],
                                [par("k", 0.7), par("n", 2.0)],
                                [rxn("r1", [("S1", 2)], ["S2"], law="k*S1^n")]),
    "k*S1^2-stoich2": model([comp("C", 1.5)], [spec("S1", ia=1.0), spec("S2", ia=0.0)],
                            [par("k", 0.7)], [rxn("r1", [("S1", 2.0)], ["S2"], law="k*S1^2")]),
    "k*S1*S1-stoich2": model([comp("C", 1.5)], [spec("S1", ia=1.0), spec("S2", ia=0.0)],
                             [par("k", 0.7)], [rxn("r1", [("S1", 2)], [("S2", 3)],
                                                   law="k*S1*S1")]),
    "reactant-listed-twice": model([comp("C", 1.5)], [spec("S1", ia=1.0), spec("S2", ia=0.0)],
                                   [par("k", 0.7)], [rxn("r1", ["S1", "S1"], ["S2"],
                                                         law="k*S1*S1")]),
    "species-reference-ids": model([comp("C", 1.5)], [spec("S1", ia=1.0), spec("S2", ia=0.0)],
                                   [par("k", 0.7)], [rxn("r1", [("S1", 1, "sr1")],
                                                         [("S2", 2, "sr2")], law="k*S1")]),
    "same-species-both-sides": model([comp("C", 1.5)], [spec("S1", ia=1.0), spec("S2", ia=0.1)],
                                     [par("k", 0.7)], [rxn("r1", [("S1", 2)], ["S1", "S2"],
                                                           law="k*S1^2")]),
    "autocatalytic-product-in-law": uni("k*S1*S2"),
    # spatial dimensions and sizes
    **{f"spatialDimensions-{sd}": model([comp("C", 2.0, sd=sd)], [spec("S1", ia=1.0),
                                                                  spec("S2", ia=0.0)],
                                        [par("k", 0.7)], [rxn("r1", ["S1"], ["S2"], law="k*S1")])
       for sd in (1, 2, 3, None, 2.5)},
    "unsized-hosu-amounts": model([comp("C", None)], [spec("S1", ia=1.0, hosu=True),
                                                      spec("S2", ia=0.0, hosu=True)],
                                  [par("k", 0.7)], [rxn("r1", ["S1"], ["S2"], law="k*S1")]),
    "0D-unsized-hosu": model(['<compartment id="C" spatialDimensions="0" constant="true"/>'],
                             [spec("S1", ia=0.015, hosu=True), spec("S2", ia=0, hosu=True)],
                             [par("k", 1.0)], [rxn("r1", ["S1"], ["S2"], law="k*S1")]),
    "two-compartments-same-size": model([comp("C", 2.0), comp("D", 2.0)],
                                        [spec("S1", ia=1.5), spec("S2", c="D", ia=0)],
                                        [par("k", 0.7)], [rxn("r1", ["S1"], ["S2"], law="k*S1")]),
    "unsized-and-unit-compartment": model([comp("C", None), comp("D", 1.0)],
                                          [spec("S1", ia=1.5, hosu=True), spec("S2", c="D", ia=0)],
                                          [par("k", 0.7)],
                                          [rxn("r1", ["S1"], ["S2"], law="k*S1")]),
    # local parameters shadow globals, compartments and species
    "local-shadows-global": uni("k*S1", local=[("k", 0.3)]),
    "local-shadows-compartment": uni("C*k*S1", local=[("C", 0.3)]),
    "local-shadows-modifier-species": uni("k*S1*S2", local=[("S2", 0.3)]),
    "nonconstant-parameter-no-rule": model([comp("C", 1.5)], [spec("S1", ia=1.0),
                                                              spec("S2", ia=0.0)],
                                           [par("k", 0.7, constant=False)],
                                           [rxn("r1", ["S1"], ["S2"], law="k*S1")]),
    # boundary and constant species
    **{f"boundary-reactant-hosu{h}": model([comp("C", 1.5)], [spec("S1", ia=1.0, bc=True, hosu=h),
                                                              spec("S2", ia=0.0)],
                                           [par("k", 0.7)], [rxn("r1", ["S1"], ["S2"],
                                                                 law="k*S1")])
       for h in (False, True)},
    "boundary-product": model([comp("C", 2.0)], [spec("S1", ia=1.5), spec("S2", ia=0.2, bc=True)],
                              [par("k", 0.5)], [rxn("r1", ["S1"], ["S2"], law="k*S1")]),
    "boundary-product-in-law": model([comp("C", 2.0)], [spec("S1", ia=1.5),
                                                        spec("S2", ia=0.2, bc=True)],
                                     [par("k", 0.5)], [rxn("r1", ["S1"], ["S2"],
                                                           law="k*S1*S2^2")]),
    "boundary-only": model([comp("C", 2.0)], [spec("S1", ia=1.5, bc=True),
                                              spec("S2", ia=0.2, bc=True)],
                           [par("k", 0.5)], [rxn("r1", ["S1"], ["S2"], law="k*S1")]),
    **{f"boundary-fractional-power-hosu{h}": model(
        [comp("C", 2.0)], [spec("S1", ia=1.5, bc=True, hosu=h), spec("S2", ia=0.2),
                           spec("S3", ia=1.0)],
        [par("k", 0.5)], [rxn("r1", ["S3"], ["S2"], modifiers=["S1"], law="k*S3*S1^0.5/S1^2")])
       for h in (False, True)},
    "constant-species-modifier": model([comp("C", 1.5)], [spec("S1", ia=1.0, constant=True),
                                                          spec("S2", ia=0.0), spec("S3", ia=2.0)],
                                       [par("k", 0.7)], [rxn("r1", ["S3"], ["S2"],
                                                             modifiers=["S1"], law="k*S1*S3")]),
    # modifiers and species used only in the law
    "modifier": model([comp("C", 1.5)], [spec("E", ia=0.4), spec("S2", ia=0.0), spec("S3", ia=2.0)],
                      [par("k", 0.7)], [rxn("r1", ["S3"], ["S2"], modifiers=["E"],
                                            law="k*E*S3")]),
    "modifier-not-in-law": model([comp("C", 1.5)], [spec("E", ia=0.4), spec("S2", ia=0.0),
                                                    spec("S3", ia=2.0)],
                                 [par("k", 0.7)], [rxn("r1", ["S3"], ["S2"], modifiers=["E"],
                                                       law="k*S3")]),
    **{f"modifier-other-compartment-hosu{h}": model(
        [comp("C", 1.5), comp("D", 3.0)],
        [spec("E", c="D", ia=0.4, hosu=h), spec("S2", ia=0.0), spec("S3", ia=2.0)],
        [par("k", 0.7)], [rxn("r1", ["S3"], ["S2"], modifiers=["E"], law="k*E*S3")])
       for h in (False, True)},
    "species-only-in-law": model([comp("C", 1.5)], [spec("S1", ia=1.0), spec("S2", ia=0.0),
                                                    spec("S3", ia=0.5)],
                                 [par("k", 0.7)], [rxn("r1", ["S1"], ["S2"], law="k*S1*S3")]),
    # reversible and negative laws
    "reversible-two-terms": model([comp("C", 2.0)], [spec("S1", ia=1.5), spec("S2", ia=0.2)],
                                  [par("kf", 0.7), par("kr", 0.3)],
                                  [rxn("r1", ["S1"], ["S2"], law="C*(kf*S1 - kr*S2)",
                                       reversible=True)]),
    "reversible-hosu": model([comp("C", 2.0)], [spec("S1", ia=1.5, hosu=True),
                                                spec("S2", ia=0.2, hosu=True)],
                             [par("kf", 0.7), par("kr", 0.3)],
                             [rxn("r1", ["S1"], ["S2"], law="kf*S1 - kr*S2", reversible=True)]),
    "irreversible-flag-two-terms": model([comp("C", 2.0)], [spec("S1", ia=1.5),
                                                            spec("S2", ia=0.2)],
                                         [par("kf", 0.7), par("kr", 0.3)],
                                         [rxn("r1", ["S1"], ["S2"], law="C*(kf*S1 - kr*S2)")]),
    "reversible-forward-only": uni("k*S1", reversible=True),
    "negative-law-degradation": model([comp("C", 1.5)], [spec("S1", ia=1.0)], [par("k", 0.7)],
                                      [rxn("r1", ["S1"], [], law="-k*S1")]),
    "negative-law-product-term": uni("-k*S2"),
    "reverse-term-with-reactant": uni("k*S1 - k*S1*S2"),
    # empty, zero and source reactions
    "empty-reaction-and-decay": model([comp("C", 1.5)], [spec("S1", ia=1.0), spec("S2", ia=0.0)],
                                      [par("k", 0.7)],
                                      [rxn("r0", [], [], law="k"),
                                       rxn("r1", ["S1"], ["S2"], law="k*S1")]),
    "source": model([comp("C", 1.5)], [spec("S1", ia=1.0)], [par("k", 0.7)],
                    [rxn("r1", [], ["S1"], law="k")]),
    "zero-law": uni("0"),
    "zero-rate-constant": model([comp("C", 2.0)], [spec("S1", ia=1.5), spec("S2", ia=0.2)],
                                [par("k", 0.0)], [rxn("r1", ["S1"], ["S2"], law="k*S1")]),
    "no-reactions": model([comp("C", 1.5)], [spec("S1", ia=1.0), spec("S2", ic=0.3)],
                          [par("k", 0.7)]),
    "non-mass-action-law-changes-nothing": model(
        [comp("C", 1.5)], [spec("S1", ia=1.0), spec("S2", ia=0.0)], [par("k", 0.7)],
        [rxn("r0", ["S1"], ["S1"], law="k*S1/(1 + S1)"), rxn("r1", ["S1"], ["S2"], law="k*S1")]),
    # uncommon MathML that is still mass action
    "cn-rational": uni(None, raw_math=_ap("times", _K_S1,
                                          '<cn type="rational">3<sep/>4</cn>')),
    "cn-e-notation": uni(None, raw_math=_ap("times", _K_S1,
                                            '<cn type="e-notation">3<sep/>-1</cn>')),
    "times-no-args": uni(None, raw_math=_ap("times", _K_S1, _ap("times"))),
    "plus-one-arg": uni(None, raw_math=_ap("times", _ap("plus", "<ci> k </ci>"),
                                           "<ci> S1 </ci>")),
    "semantics": uni(None, raw_math=f"<semantics>{_ap('times', _K_S1)}"
                                    f'<annotation encoding="text">x</annotation></semantics>'),
    "logbase-degree": uni(None, raw_math=_ap(
        "times", _K_S1, "<apply><log/><logbase><cn>2</cn></logbase><cn>8</cn></apply>",
        "<apply><root/><degree><cn>3</cn></degree><cn>8</cn></apply>")),
    "csymbol-avogadro": uni(None, raw_math=_ap("times", _K_S1, _ap(
        "divide", _CSYM.format("avogadro"), "<cn>6.02214179e23</cn>"))),
    # units do not change numbers
    "scaled-units": uni("k*S1").replace(
        '<model id="m">', '<model id="m" substanceUnits="mmol"><listOfUnitDefinitions>'
        '<unitDefinition id="mmol"><listOfUnits><unit kind="mole" exponent="1" scale="-3" '
        'multiplier="1"/></listOfUnits></unitDefinition></listOfUnitDefinitions>'),
    # Level 1 and Level 2
    "L1v1-specie": _l1(version=1),
    "L1v2": _l1(),
    "L1-no-volume": _l1(volume=""),
    "L1-denominator": _l1(law="C*k*S1", ref_extra=' denominator="2"'),
    "L1-local-parameter": _l1(local='<listOfParameters><parameter name="k" value="0.1"/>'
                                    '</listOfParameters>'),
    "L1-log-is-ln": _l1(law="C*k*S1^2*log(2)"),
    **{f"L2v{v}-{name}": uni(law, hosu=h, local=loc, lv=(2, v))
       for v in (1, 2, 3, 4)
       for name, law, h, loc in (("amount", "C*k*S1", False, [("k", 0.2)]),
                                 ("hosu", "k*S1", True, ()))},
    **{f"L2v{v}-default-stoichiometry": uni("k*S1", lv=(2, v)).replace(' stoichiometry="1"', "")
       for v in (1, 4)},
    "L3v1": uni("C*k*S1", lv=(3, 1), fast=False),
}


def _species(xml: str) -> list[str]:
    return re.findall(r'<speci(?:es|e) (?:id|name)="(\w+)"', xml)


def ours(xml: str, times=TIMES):
    """``(amounts, concentrations)``, each ``(P, S)`` in SBML species order, and the import."""
    imp = import_sbml(xml)
    net = imp.network
    conc = np.asarray(simulate(net, times=times, rtol=1e-11, atol=1e-14,
                               max_steps=1_000_000).concentrations) if net.reactions else \
        np.tile(np.asarray(net.initial, dtype=float), (len(times), 1))
    sp = _species(xml)
    c = np.stack([conc[:, net.species_index[s]] for s in sp], axis=1)
    v = np.array([imp.volume(s) for s in sp])
    return c * v, c, imp


def reference(xml: str, species, times=TIMES, concentrations=True):
    rr = pytest.importorskip("roadrunner")
    r = rr.RoadRunner(xml)
    r.integrator.setValue("relative_tolerance", 1e-12)
    r.integrator.setValue("absolute_tolerance", 1e-16)
    r.integrator.setValue("maximum_num_steps", 1_000_000)
    sel = ["time"] + list(species) + ([f"[{s}]" for s in species] if concentrations else [])
    out = np.asarray(r.simulate(float(times[0]), float(times[-1]), len(times), sel))
    np.testing.assert_allclose(out[:, 0], times, rtol=0, atol=1e-12)
    n = len(species)
    return out[:, 1:1 + n], (out[:, 1 + n:] if concentrations else None)


def assert_close(mine, ref, what):
    bad = np.abs(mine - ref) > ABS + REL * np.abs(ref)
    assert not bad.any(), f"{what}: ours {mine[bad][:4]} vs reference {ref[bad][:4]}"


@pytest.mark.parametrize("name", sorted(IMPORTS))
def test_imports_and_matches_roadrunner(name):
    xml = IMPORTS[name]
    amounts, conc, imp = ours(xml)
    sized = all(imp.has_size(s) for s in _species(xml))
    ref_amounts, ref_conc = reference(xml, _species(xml), concentrations=sized)
    assert_close(amounts, ref_amounts, f"{name} amounts")
    if sized:
        assert_close(conc, ref_conc, f"{name} concentrations")


def test_some_cases_match_the_analytic_solution():
    """S1 -> S2 with d(amount S1)/dt = −κ·(amount S1): κ from the law and the conversions."""
    for name, kappa in (("hosuFalse-ia-C*k*S1", 0.7), ("hosuFalse-ic-k*S1", 0.7 / 2.5),
                        ("hosuTrue-ia-k*S1", 0.7), ("hosuTrue-ic-C*k*S1", 0.7 * 2.5),
                        ("spelling-2", 0.35 / 2.5), ("local-shadows-global", 0.3 / 2.5),
                        ("local-shadows-compartment", 0.3 * 0.7 / 2.5),
                        ("unsized-hosu-amounts", 0.7), ("0D-unsized-hosu", 1.0)):
        amounts, _, _ = ours(IMPORTS[name])
        a0 = amounts[0, 0]
        np.testing.assert_allclose(amounts[:, 0], a0 * np.exp(-kappa * TIMES), rtol=1e-8,
                                   err_msg=name)
        np.testing.assert_allclose(amounts.sum(axis=1), amounts[0].sum(), rtol=1e-10,
                                   err_msg=name)
    # a boundary species used as a reactant never changes; its product grows linearly
    amounts, conc, _ = ours(IMPORTS["boundary-reactant-hosuFalse"])
    assert (conc[:, 0] == conc[0, 0]).all()
    np.testing.assert_allclose(conc[:, 1], 0.7 * (1.0 / 1.5) * TIMES / 1.5, rtol=1e-9)


def test_negative_law_gives_the_sbml_ode():
    """``-k*S1`` on ``S1 ->``: SBML says d S1/dt = −v = +k·S1 (growth); the import must not turn it
    into a decay, and a negative rate constant in ``k*S1`` for ``S1 -> S2`` is refused."""
    amounts, _, _ = ours(IMPORTS["negative-law-degradation"])
    np.testing.assert_allclose(amounts[:, 0], 1.0 * np.exp(0.7 / 1.5 * TIMES), rtol=1e-8)
    xml = model([comp("C", 1.5)], [spec("S1", ia=1.0), spec("S2", ia=0.0)], [par("k", -0.7)],
                [rxn("r1", ["S1"], ["S2"], law="k*S1")])
    with pytest.raises(UnsupportedSBMLError, match="not mass action"):
        import_sbml(xml)


def test_extreme_compartment_sizes_keep_the_rate_constant():
    """V·[S] squared over V must not overflow (crash) or underflow (rate 0) in the conversion:
    2 S1 -> S2, law k*S1^2 on amounts, gives d[S1]/dt = −2·k·V·[S1]^2 with k·V = 1."""
    for size, k in ((1e200, 1e-200), (1e-200, 1e200)):
        xml = model([comp("C", size)], [spec("S1", ia=1.5 * size, hosu=True),
                                         spec("S2", ia=0, hosu=True)],
                    [par("k", k)], [rxn("r1", [("S1", 2)], ["S2"], law="k*S1^2")])
        _, conc, imp = ours(xml)
        assert imp.network.reactions[0].rate_constant == pytest.approx(1.0, rel=1e-15)
        np.testing.assert_allclose(conc[:, 0], 1.5 / (1 + 2 * 1.5 * TIMES), rtol=1e-8)


# ---------------------------------------------------------------------------- refusals
def _deep_law(depth=3000):
    return "<apply><plus/>" * depth + "<ci> k </ci>" + "</apply>" * depth


REFUSALS = {
    "0D-with-size": (model([comp("C", 2.0, sd=0)], [spec("S1", ia=1.0, hosu=True)]),
                     "0-dimensional"),
    "unsized-concentration-species": (model([comp("C", None)], [spec("S1", ia=1.0),
                                                                spec("S2", ia=0.0)],
                                            [par("k", 0.7)],
                                            [rxn("r1", ["S1"], ["S2"], law="k*S1")]),
                                      "has no size"),
    "unsized-compartment-in-law": (model([comp("C", None)], [spec("S1", ia=1.0, hosu=True),
                                                             spec("S2", ia=0.0, hosu=True)],
                                         [par("k", 0.7)],
                                         [rxn("r1", ["S1"], ["S2"], law="C*k*S1")]),
                                   "has no size"),
    "nonconstant-compartment": (model([comp("C", 2.0, constant=False)], [spec("S1", ia=1.0)]),
                                "not constant"),
    "stoichiometry-1.5": (model([comp("C", 1.5)], [spec("S1", ia=1.0), spec("S2", ia=0.0)],
                                [par("k", 0.7)], [rxn("r1", ["S1"], [("S2", 1.5)],
                                                      law="k*S1")]),
                          "non-integer stoichiometry"),
    "stoichiometry-unset-L3": (model([comp("C", 1.5)], [spec("S1", ia=1.0), spec("S2", ia=0.0)],
                                     [par("k", 0.7)], [rxn("r1", [("S1", None)], ["S2"],
                                                           law="k*S1")]),
                               "stoichiometry"),
    "local-shadows-reactant": (uni("k*S1", local=[("S1", 0.5)]), "not mass action"),
    "parameter-without-value": (model([comp("C", 1.5)], [spec("S1", ia=1.0), spec("S2", ia=0)],
                                      [par("k")], [rxn("r1", ["S1"], ["S2"], law="k*S1")]),
                                "has no value"),
    "species-without-initial-value": (model([comp("C", 1.5)], [spec("S1", ia=1.0), spec("S2")],
                                            [par("k", 0.7)],
                                            [rxn("r1", ["S1"], ["S2"], law="k*S1")]),
                                      "no initial"),
    "negative-initial-value": (model([comp("C", 1.5)], [spec("S1", ia=-1.0)]), "≥ 0"),
    "time-in-law": (uni("k*S1*time"), "time"),
    "time-minus-time": (uni(None, raw_math=_ap("times", _K_S1, _ap(
        "minus", _CSYM.format("time"), _CSYM.format("time")))), "time"),
    "different-compartment-sizes": (model([comp("C", 2.0), comp("D", 3.0)],
                                          [spec("S1", ia=1.5), spec("S2", c="D", ia=0)],
                                          [par("k", 0.7)],
                                          [rxn("r1", ["S1"], ["S2"], law="k*S1")]),
                                    "different sizes"),
    "fractional-power": (uni("k*S1^0.5"), "power 0.5"),
    "power-not-stoichiometry": (model([comp("C", 1.5)], [spec("S1", ia=1.0), spec("S2", ia=0)],
                                      [par("k", 0.7)], [rxn("r1", [("S1", 2)], ["S2"],
                                                            law="k*S1")]),
                                "power 1"),
    "two-forward-terms": (uni("k*S1 + k*S1*S2"), "forward"),
    "michaelis-menten": (uni("k*S1/(1 + S1)"), "not mass action"),
    "infinite-k": (uni("k*S1*INF"), "inf"),
    "nan-k": (uni("k*S1*NaN"), "NaN"),
    "infinite-parameter": (uni("k*S1").replace('value="0.7"', 'value="INF"'), "inf"),
    "infinite-exponent": (uni("k*S1^1e308*S1^1e308/S1^1e308"), "power inf"),
    "infinite-exponent-boundary": (
        model([comp("C", 1)], [spec("S1", ia=1.5), spec("S2", ia=0), spec("S3", ia=1, bc=True)],
              [par("k", 1)], [rxn("r1", ["S1"], ["S2"], law="k*S1*S3^1e308*S3^1e308")]),
        "power inf"),
    "nested-too-deeply": (uni(None, raw_math=_ap("times", _deep_law(), "<ci> S1 </ci>")),
                          "nested too deeply"),
    "max": (uni("k*S1*max(1, 2)"), "max"),
    "sin": (uni("k*S1*sin(1.5)"), "sin"),
    "piecewise": (uni("piecewise(k*S1, S1 > 1, 0)"), "piecewise"),
    "boolean": (uni(None, raw_math=_ap("times", _K_S1, "<true/>")), "true"),
    "relational": (uni("k*S1*(k > 0)"), "not mass action"),
    "species-reference-in-law": (model([comp("C", 1.5)], [spec("S1", ia=1.0), spec("S2", ia=0)],
                                       [par("k", 0.7)],
                                       [rxn("r1", [("S1", 1, "sr")], ["S2"], law="k*S1*sr")]),
                                 "species reference 'sr'"),
    "reaction-id-in-law": (model([comp("C", 1.5)], [spec("S1", ia=1.0), spec("S2", ia=0)],
                                 [par("k", 0.7)],
                                 [rxn("r1", ["S1"], ["S2"], law="k*S1"),
                                  rxn("r2", ["S2"], [], law="r1*S2")]),
                           "reaction id 'r1'"),
    "initial-assignment": (model([comp("C", 1.5)], [spec("S1", ia=1.0), spec("S2", ia=0)],
                                 [par("k", 0.7)], [rxn("r1", ["S1"], ["S2"], law="k*S1")],
                                 extra='<listOfInitialAssignments><initialAssignment symbol="k">'
                                       + mathml("2*3") + "</initialAssignment>"
                                       "</listOfInitialAssignments>"),
                           "initial assignments"),
    "rate-rule": (model([comp("C", 1.5)], [spec("S1", ia=1.0, bc=True)], [par("k", 0.7)],
                        extra='<listOfRules><rateRule variable="S1">' + mathml("k")
                              + "</rateRule></listOfRules>"),
                  "rules"),
    "event": (model([comp("C", 1.5)], [spec("S1", ia=1.0)], [par("k", 0.7, constant=False)],
                    extra='<listOfEvents><event id="e" useValuesFromTriggerTime="true">'
                          '<trigger initialValue="false" persistent="true">'
                          + mathml("time > 1") + '</trigger><listOfEventAssignments>'
                          '<eventAssignment variable="k">' + mathml("1")
                          + "</eventAssignment></listOfEventAssignments></event></listOfEvents>"),
              "events"),
    "function-definition": (model([comp("C", 1.5)], [spec("S1", ia=1.0)], [par("k", 0.7)],
                                  extra='<listOfFunctionDefinitions><functionDefinition id="f">'
                                        + mathml("lambda(x, x)")
                                        + "</functionDefinition></listOfFunctionDefinitions>"),
                            "function definitions"),
    "conversion-factor": (model([comp("C", 1.5)], [spec("S1", ia=1.0)], [par("k", 0.7)],
                                model_attrs=' conversionFactor="k"'),
                          "conversion factors"),
    "fast-reaction": (uni("k*S1", lv=(3, 1), fast=True), "fast"),
    "no-kinetic-law": (uni(None), "no kinetic law"),
}


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_refused_with_a_message_naming_the_feature(name):
    xml, words = REFUSALS[name]
    with pytest.raises(UnsupportedSBMLError) as info:
        import_sbml(xml)
    assert words in str(info.value), str(info.value)


# ---------------------------------------------------------------------------- the suite harness
def _write_case(tmp_path, xml, variables, rows, *, amount=(), concentration=(), start=0.0,
                duration="2", steps="4", header=None):
    case = tmp_path / "09999"
    case.mkdir()
    (case / "09999-sbml-l3v2.xml").write_text(xml)
    (case / "09999-settings.txt").write_text(
        f"start: {start}\nduration: {duration}\nsteps: {steps}\n"
        f"variables: {', '.join(variables)}\nabsolute: 1e-10\nrelative: 1e-6\n"
        f"amount: {', '.join(amount)}\nconcentration: {', '.join(concentration)}\n")
    head = [] if header is False else [",".join(header or ["time", *variables])]
    (case / "09999-results.csv").write_text(
        "\n".join(head + [",".join(repr(float(x)) for x in r) for r in rows]) + "\n")
    return case


def _decay_rows(times, kappa=0.7 / 2.5, extra=()):
    """S1 (amount, starts at 1.5) decaying at rate κ into S2 (starts at 0.5), then ``extra``."""
    return [[t, 1.5 * math.exp(-kappa * t), 0.5 + 1.5 * (1 - math.exp(-kappa * t)), *extra]
            for t in times]


def test_harness_reports_parameters_compartments_and_species_references(tmp_path):
    xml = model([comp("C", 2.5)], [spec("S1", ia=1.5), spec("S2", ia=0.5)], [par("k", 0.7)],
                [rxn("r1", [("S1", 1, "sr1")], ["S2"], law="k*S1")])
    case = _write_case(tmp_path, xml, ["S1", "S2", "k", "C", "sr1"],
                       _decay_rows(np.linspace(0, 2, 5), extra=(0.7, 2.5, 1.0)),
                       amount=["S1", "S2"], header=["Time", "S1", "S2", "k", "C", "sr1"])
    result = run_case(case)
    assert result.status == "pass", result.reason


def test_harness_reads_results_without_header(tmp_path):
    xml = model([comp("C", 2.5)], [spec("S1", ia=1.5), spec("S2", ia=0.5)], [par("k", 0.7)],
                [rxn("r1", ["S1"], ["S2"], law="k*S1")])
    case = _write_case(tmp_path, xml, ["S1", "S2"], _decay_rows(np.linspace(0, 2, 5)),
                       amount=["S1", "S2"], header=False)
    result = run_case(case)
    assert result.status == "pass", result.reason


def test_harness_output_may_start_after_zero(tmp_path):
    """``start`` is where the output begins; SBML time (and the initial values) start at 0."""
    xml = model([comp("C", 2.5)], [spec("S1", ia=1.5), spec("S2", ia=0.5)], [par("k", 0.7)],
                [rxn("r1", ["S1"], ["S2"], law="k*S1")])
    case = _write_case(tmp_path, xml, ["S1", "S2"], _decay_rows(np.linspace(1, 3, 5)),
                       amount=["S1", "S2"], start=1.0)
    result = run_case(case)
    assert result.status == "pass", result.reason


@pytest.mark.parametrize("what", ["reaction-rate", "unsized-compartment",
                                  "unsized-concentration", "valueless-parameter",
                                  "flux-balance"])
def test_harness_refuses_values_it_cannot_report(tmp_path, what):
    times = np.linspace(0, 2, 5)
    sized = model([comp("C", 2.5)], [spec("S1", ia=1.5), spec("S2", ia=0.5)],
                  [par("k", 0.7), par("p")], [rxn("r1", ["S1"], ["S2"], law="k*S1")])
    unsized = model([comp("C", None)], [spec("S1", ia=1.5, hosu=True),
                                        spec("S2", ia=0.5, hosu=True)],
                    [par("k", 0.7 / 2.5)], [rxn("r1", ["S1"], ["S2"], law="k*S1")])
    if what == "reaction-rate":
        case = _write_case(tmp_path, sized, ["S1", "S2", "r1"],
                           _decay_rows(times, extra=(0.0,)), amount=["S1", "S2"])
    elif what == "unsized-compartment":
        case = _write_case(tmp_path, unsized, ["S1", "S2", "C"],
                           _decay_rows(times, extra=(1.0,)), amount=["S1", "S2"])
    elif what == "unsized-concentration":
        case = _write_case(tmp_path, unsized, ["S1", "S2"], _decay_rows(times),
                           concentration=["S1", "S2"])
    elif what == "valueless-parameter":
        case = _write_case(tmp_path, sized, ["S1", "S2", "p"],
                           _decay_rows(times, extra=(float("nan"),)), amount=["S1", "S2"])
    else:
        case = _write_case(tmp_path, sized, ["r1"], [[0.0, 0.0]], duration="", steps="")
    result = run_case(case)
    assert result.status == "refused", result
    assert result.reason


def test_harness_unsized_amounts_pass(tmp_path):
    xml = model([comp("C", None)], [spec("S1", ia=1.5, hosu=True), spec("S2", ia=0.5, hosu=True)],
                [par("k", 0.7 / 2.5)], [rxn("r1", ["S1"], ["S2"], law="k*S1")])
    case = _write_case(tmp_path, xml, ["S1", "S2"], _decay_rows(np.linspace(0, 2, 5)),
                       amount=["S1", "S2"])
    result = run_case(case)
    assert result.status == "pass", result.reason


def test_import_value_refuses_undefined_values():
    xml = model([comp("C", None), comp("D", 2.0)],
                [spec("S1", ia=1.5, hosu=True), spec("S2", c="D", ia=0.5)],
                [par("k", 0.7), par("p"), par("q", "NaN")],
                [rxn("r1", [("S1", 1, "sr1")], [("S1", 2, "sr2")], law="k*S1")])
    imp = import_sbml(xml)
    assert imp.value("k") == 0.7 and imp.value("D") == 2.0 and imp.value("S2") == 0.25
    assert imp.value("sr1") == 1.0 and imp.value("sr2") == 2.0 and math.isnan(imp.value("q"))
    assert not imp.has_size("S1") and imp.has_size("S2") and imp.volume("S1") == 1.0
    for symbol, words in (("C", "no size"), ("S1", "no size"), ("p", "no value"),
                          ("r1", "rate of reaction")):
        with pytest.raises(UnsupportedSBMLError, match=words):
            imp.value(symbol)
    with pytest.raises(KeyError):
        imp.value("nothing")
