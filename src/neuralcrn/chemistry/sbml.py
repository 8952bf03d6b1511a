"""SBML export and import of mass-action reaction networks (python-libsbml).

Export (:func:`to_sbml`, :func:`write_sbml`)
---------------------------------------------
SBML Level 3 Version 2 (or Version 1) with:

* one compartment (id ``c``, or ``c_``… if a species is called ``c``) of size 1, constant, 3-D;
* one ``<species>`` per species, in network order, with ``initialConcentration`` = the initial
  concentration, ``hasOnlySubstanceUnits="false"``, ``constant="false"``; constant species of the
  network get ``boundaryCondition="true"`` (reactions do not change them);
* one global ``<parameter>`` ``k1``, ``k2``, … per reaction holding its rate constant;
* one irreversible ``<reaction>`` ``R1``, ``R2``, … per reaction, with integer stoichiometries and
  the kinetic law ``k_i * A^νA * B^νB …`` and nothing else.

Because the compartment has size 1 and species symbols denote concentrations, the kinetic law (in
SBML amount/time) equals our concentration rate k·Π[X]^ν, so any SBML simulator (libroadrunner,
COPASI, …) integrates exactly our ODE. Our concentrations and times are in arbitrary units, so by
default every quantity is declared dimensionless, which makes the document unit-consistent
(``units=False`` declares none). Numbers are written with ``repr(float)``, so values round-trip
exactly (libsbml alone writes 15 significant digits). Subnormal values (0 < |x| < 2.2e-308) cannot
be read back by libsbml and are refused with :class:`SBMLError`.

Import (:func:`from_sbml`, :func:`read_sbml`, :func:`import_sbml`)
-------------------------------------------------------------------
Reads SBML Levels 1–3 models made of compartments (any constant, positive size), species (initial
amount or concentration, ``hasOnlySubstanceUnits`` true or false, constant or boundary species),
global and local parameters and reactions whose kinetic laws are mass action. Each kinetic law is
analysed as a polynomial in the species symbols (products, quotients by monomials, integer powers,
sums; numbers, parameters, compartment sizes and other constants are folded into coefficients).
After combining like terms, the law must have at most two terms, ``+K_f · Π sym(X)^ν_X`` over
the reactants and ``−K_r · Π sym(Y)^ν_Y`` over the products (sym(X) is the concentration [X], or
the amount V_X·[X] for ``hasOnlySubstanceUnits`` species), each power matching the stoichiometry
exactly. The forward term gives the reaction as written; the reverse term gives the reverse
reaction (so a reversible law ``kf·A·B − kr·C`` becomes two reactions, forward first). A species
in a term that is not among that direction's reactants (a modifier, or a product) may appear with
a positive integer power e and becomes a catalyst (e copies on both sides): ``k*E*S`` for
``S -> P`` with modifier E gives ``E + S -> E + P``. For constant/boundary species, whose value
never changes, other powers (e.g. ``k*S3/S5``) are folded into the rate constant using the
species' initial value. A term that is exactly zero and matches no reaction is ignored. So
``k*S1^2`` for ``S1 -> S2``, or ``k*(100 - P)*(99 - P)``, are refused.

Conversion to our concentration convention: SBML kinetic laws give amount/time, so
d[S]/dt = Σ_r stoich·v_r / V_S. Every reaction must change only species in compartments of one size
V_r (else it is refused); its rate constant is then k = K · Π_{X hOSU} V_X^e_X / V_r (computed
exactly, so extreme sizes neither overflow nor underflow on the way). Initial amounts are divided
by the compartment size. A compartment without a size may hold only ``hasOnlySubstanceUnits``
species with initial amounts (their dynamics never involve the size) and is then given size 1, so
concentrations equal amounts (this includes 0-dimensional compartments, which have no size; a
0-dimensional compartment with a size is refused). The size of such a compartment and the
concentrations of its species stay undefined (:meth:`SBMLImport.has_size` is False):
:meth:`SBMLImport.value` refuses to report them, as it refuses reaction rates. Reactions that
change no variable species (for example ``A + B -> A + B`` or an empty reaction) are dropped when
their law is not mass action.

**Stochastic form of a law.** A law written as the stochastic mass-action propensity, a complete
falling factorial ``c·X·(X−1)···(X−ν+1)`` (times catalysts) for a reactant X of stoichiometry
ν ≥ 2 (the SBML Test Suite writes ``k1*P*(P-1)/2`` for ``2P -> P2``), is read as the reaction
with rate constant c: our stochastic propensity of ``νX -> …`` is exactly that law
(:mod:`neuralcrn.kinetics`), and our ODE uses its large-number limit ``c·X^ν`` (the literal law
is not mass action: it is negative for 0 < X < ν − 1). This needs X to be a number of molecules
(an amount — ``hasOnlySubstanceUnits`` or a compartment of size 1 — in ``item`` units or
undeclared units); such reactions are listed in :attr:`SBMLImport.falling_factorial`.

**Molecules.** :meth:`SBMLImport.stochastic_volume` gives Ω, the molecules per unit concentration
that a stochastic simulation needs: compartment size × molecules per substance unit (``item`` and
``dimensionless``: 1; ``mole`` and ``avogadro``: Avogadro's number 6.02214179e23, times the unit's
multiplier and 10^scale; undeclared L3 units are read as molecules; the L1/L2 default
``substance`` is the mole). It refuses models whose species do not share one Ω.

Everything else raises :class:`UnsupportedSBMLError` naming the feature and the element: rules,
events, initial assignments, constraints, function definitions, delays, piecewise/relational laws,
``time`` in a law, non-integer or negative stoichiometries, stoichiometryMath, conversion factors,
fast reactions, non-constant compartments holding species, compartments without a positive finite
size, species without an initial value, required SBML packages, reactions mixing compartments of
different sizes, and any law that is not mass action.
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import libsbml

from ..errors import NetworkError, SBMLError, UnsupportedSBMLError
from .network import Reaction, ReactionNetwork

__all__ = ["to_sbml", "write_sbml", "to_sbml_switched", "from_sbml", "read_sbml", "import_sbml",
           "SBMLImport"]

_TINY = sys.float_info.min  # smallest normal double
_AVOGADRO = 6.02214179e23  # the value fixed by SBML Level 3
_MAX_TERMS = 256
_EXACT_MAX_POWER = 4096  # up to this total power, compartment factors are applied exactly


# ====================================================================== export
def _unique(base: str, used: set[str]) -> str:
    name = base
    while name in used:
        name += "_"
    used.add(name)
    return name


_XML_INVALID = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_attr(text: str) -> str:
    """Escape ``text`` for a double-quoted XML attribute, keeping tabs and newlines exact."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("\t", "&#9;").replace("\n", "&#10;")
            .replace("\r", "&#13;"))


def _check_value(x: float, what: str) -> None:
    if x != 0.0 and abs(x) < _TINY:
        raise SBMLError(f"{what} = {x!r} is subnormal: libsbml cannot read numbers below "
                        f"{_TINY!r} back, so it cannot be exported exactly")


def _ok(rc: int, what: str) -> None:
    if rc != libsbml.LIBSBML_OPERATION_SUCCESS:
        raise SBMLError(f"libsbml could not set {what}: "
                        f"{libsbml.OperationReturnValue_toString(rc) or rc}")


def _law_mathml(k_id: str, reactants, extra=()) -> str:
    factors = [f"<ci> {k_id} </ci>"] + [f"<ci> {e} </ci>" for e in extra]
    for s, n in reactants:
        if n == 1:
            factors.append(f"<ci> {s} </ci>")
        else:
            factors.append(f'<apply><power/><ci> {s} </ci><cn type="integer"> {n} </cn></apply>')
    body = factors[0] if len(factors) == 1 else "<apply><times/>" + "".join(factors) + "</apply>"
    return f'<math xmlns="http://www.w3.org/1998/Math/MathML">{body}</math>'


def _fix_numbers(xml: str, tag: str, attr: str, values: Mapping[str, float]) -> str:
    """Rewrite ``attr`` of ``<tag id=...>`` elements with ``repr`` of the exact value."""
    tag_re = re.compile(rf"<{tag}\s[^>]*>")
    id_re = re.compile(r'\sid="([^"]*)"')
    attr_re = re.compile(rf'(\s{attr}=")[^"]*(")')

    def repl(m: re.Match) -> str:
        t = m.group(0)
        idm = id_re.search(t)
        if idm is None or idm.group(1) not in values:
            return t
        v = repr(float(values[idm.group(1)]))
        return attr_re.sub(lambda a: a.group(1) + v + a.group(2), t, count=1)

    return tag_re.sub(repl, xml)


def _build_document(network: ReactionNetwork, level: int, version: int, units: bool,
                    model_id: str | None = None, law_factors=None, used_ids=()):
    if (level, version) not in ((3, 1), (3, 2)):
        raise SBMLError(f"SBML export supports Level 3 Version 1 or 2, not L{level}V{version}")
    doc = libsbml.SBMLDocument(level, version)
    model = doc.createModel()
    bad = _XML_INVALID.search(network.name)
    if bad:
        raise SBMLError(f"the network name {network.name!r} contains the character "
                        f"{bad.group(0)!r}, which XML cannot hold")
    used = set(network.species) | set(used_ids)
    if model_id is not None:
        _ok(model.setId(_unique(model_id, used)), "the model id")
    elif network.name and libsbml.SyntaxChecker.isValidSBMLSId(network.name) \
            and network.name not in used:
        _ok(model.setId(network.name), "the model id")
        used.add(network.name)
    if network.name:
        _ok(model.setName(network.name), "the model name")
    notes = ("<body xmlns=\"http://www.w3.org/1999/xhtml\"><p>Mass-action reaction network "
             "written by neuralcrn. Each kinetic law is k*prod(reactant^stoichiometry) with no "
             "1/n! factor; the compartment has size 1, so this equals the concentration rate. "
             "Units are arbitrary.</p></body>")
    model.setNotes(notes)
    if units:
        for setter in (model.setSubstanceUnits, model.setTimeUnits, model.setVolumeUnits,
                       model.setExtentUnits):
            _ok(setter("dimensionless"), "the model units")

    comp_id = _unique("c", used)
    comp = model.createCompartment()
    _ok(comp.setId(comp_id), "the compartment id")
    _ok(comp.setSize(1.0), "the compartment size")
    _ok(comp.setConstant(True), "the compartment's constant attribute")
    _ok(comp.setSpatialDimensions(3), "the compartment's spatial dimensions")

    init: dict[str, float] = {}
    for s, x0 in zip(network.species, network.initial):
        _check_value(x0, f"initial concentration of {s!r}")
        sp = model.createSpecies()
        _ok(sp.setId(s), f"species id {s!r}")
        _ok(sp.setCompartment(comp_id), f"the compartment of {s!r}")
        _ok(sp.setInitialConcentration(float(x0)), f"the initial concentration of {s!r}")
        _ok(sp.setHasOnlySubstanceUnits(False), f"hasOnlySubstanceUnits of {s!r}")
        _ok(sp.setBoundaryCondition(s in network.constant), f"boundaryCondition of {s!r}")
        _ok(sp.setConstant(False), f"the constant attribute of {s!r}")
        init[s] = float(x0)

    k_values: dict[str, float] = {}
    for i, r in enumerate(network.reactions, start=1):
        _check_value(r.rate_constant, f"rate constant of reaction {i} ({r})")
        k_id = _unique(f"k{i}", used)
        p = model.createParameter()
        _ok(p.setId(k_id), f"parameter id {k_id!r}")
        _ok(p.setValue(r.rate_constant), f"the value of {k_id!r}")
        _ok(p.setConstant(True), f"the constant attribute of {k_id!r}")
        if units:
            _ok(p.setUnits("dimensionless"), f"the units of {k_id!r}")
        k_values[k_id] = r.rate_constant

        rx = model.createReaction()
        _ok(rx.setId(_unique(f"R{i}", used)), f"reaction id R{i}")
        _ok(rx.setReversible(False), "the reversible attribute")
        if version == 1:
            _ok(rx.setFast(False), "the fast attribute")
        for side, create in ((r.reactants, rx.createReactant), (r.products, rx.createProduct)):
            for s, n in side:
                ref = create()
                _ok(ref.setSpecies(s), f"a species reference to {s!r}")
                _ok(ref.setStoichiometry(float(n)), f"the stoichiometry of {s!r}")
                _ok(ref.setConstant(True), "the constant attribute of a species reference")
        law = rx.createKineticLaw()
        math_ast = libsbml.readMathMLFromString(
            _law_mathml(k_id, r.reactants, () if law_factors is None else law_factors[i - 1]))
        if math_ast is None:  # pragma: no cover - the MathML above is always valid
            raise SBMLError(f"could not build the kinetic law of reaction {i}")
        _ok(law.setMath(math_ast), f"the kinetic law of reaction {i}")
    return doc, init, k_values, used


def to_sbml(network: ReactionNetwork, *, level: int = 3, version: int = 2,
            units: bool = True) -> str:
    """Write ``network`` as an SBML Level 3 document string (see the module docstring).

    Parameters
    ----------
    network:
        The reaction network. Its name becomes the model ``name`` (and the model ``id`` when it is a
        valid SBML SId not used by a species).
    level, version:
        SBML Level 3, Version 2 (default) or 1.
    units:
        Declare every quantity dimensionless (model substance, volume, time and extent units and
        the parameters' units): the network's units are arbitrary, and this makes the document
        unit-consistent, so ``checkConsistency()`` reports neither errors nor unit warnings. With
        ``False`` no units are declared (libsbml then only warns that units cannot be checked).

    Raises
    ------
    SBMLError
        If libsbml rejects a value, or a value is subnormal (cannot be read back exactly).
    """
    return _export(network, level, version, units)[0]


def _export(network: ReactionNetwork, level: int = 3, version: int = 2, units: bool = True,
            model_id: str | None = None, switched=None
            ) -> tuple[str, dict[str, float], dict[str, float]]:
    """``(xml, {species: initial}, {parameter id: value})`` (every parameter whose value must
    read back exactly); see :func:`to_sbml` and :func:`to_sbml_switched`."""
    if not isinstance(network, ReactionNetwork):
        raise TypeError(f"to_sbml expects a ReactionNetwork, got {type(network).__name__}")
    if switched is None:
        doc, init, k_values, _ = _build_document(network, level, version, units, model_id)
    else:
        factors = ([(switched.switches[i],) for i in switched.reaction_switch]
                   if switched.switches else None)
        doc, init, k_values, used = _build_document(network, level, version, units, model_id,
                                                    factors, switched.switches)
        k_values.update(_add_switches_and_events(doc.getModel(), switched, units, used))
    xml = libsbml.writeSBMLToString(doc)
    if not xml:
        raise SBMLError("libsbml could not write the document")
    if network.name:  # XML would turn tabs and newlines in an attribute into spaces
        xml = re.sub(r'(<model\b[^>]*?\sname=")[^"]*(")',
                     lambda m: m.group(1) + _xml_attr(network.name) + m.group(2), xml, count=1)
    xml = _fix_numbers(xml, "species", "initialConcentration", init)
    xml = _fix_numbers(xml, "parameter", "value", k_values)
    # self-check: the exact values must read back (guards the textual rewrites above)
    back_doc = libsbml.readSBMLFromString(xml)
    back = back_doc.getModel()
    if back is None or back.getName() != network.name:  # pragma: no cover
        raise SBMLError(f"the network name {network.name!r} did not round-trip")
    for s, v in init.items():
        got = back.getSpecies(s).getInitialConcentration()
        if got != v:  # pragma: no cover
            raise SBMLError(f"initial concentration of {s!r} did not round-trip ({v!r} -> {got!r})")
    for k, v in k_values.items():
        got = back.getParameter(k).getValue()
        if got != v:  # pragma: no cover
            raise SBMLError(f"parameter {k!r} did not round-trip ({v!r} -> {got!r})")
    return xml, init, k_values


_TIME = ('<csymbol encoding="text" definitionURL="http://www.sbml.org/sbml/symbols/time"> time '
         '</csymbol>')
_MATHML = '<math xmlns="http://www.w3.org/1998/Math/MathML">{}</math>'


def _number_ast(value: float, units: bool):
    """An exact integer literal (0, 1, priorities), with dimensionless units when declared."""
    ast = libsbml.ASTNode(libsbml.AST_INTEGER)
    ast.setValue(int(value))
    if units:
        ast.setUnits("dimensionless")
    return ast


def _add_switches_and_events(model, sw, units: bool, used: set) -> dict[str, float]:
    """Add the switch parameters and the timed events of the SwitchedNetwork ``sw`` to ``model``;
    returns ``{parameter id: value}`` of the parameters holding event times and assigned values
    (their values are rewritten exactly, as libsbml's MathML keeps only 15 digits)."""
    exact: dict[str, float] = {}

    def parameter(pid, value, constant):
        p = model.createParameter()
        _ok(p.setId(pid), f"parameter id {pid!r}")
        _ok(p.setValue(float(value)), f"the value of {pid!r}")
        _ok(p.setConstant(constant), f"the constant attribute of {pid!r}")
        if units:
            _ok(p.setUnits("dimensionless"), f"the units of {pid!r}")

    for name, v in zip(sw.switches, sw.switch_initial):
        parameter(name, v, False)
        used.add(name)
    n_events = len(sw.events)
    for n, ev in enumerate(sw.events, start=1):
        e = model.createEvent()
        _ok(e.setId(_unique(f"E{n}", used)), "an event id")
        _ok(e.setUseValuesFromTriggerTime(True), "useValuesFromTriggerTime")
        t_id = _unique(f"E{n}_time", used)
        parameter(t_id, ev.time, True)
        exact[t_id] = float(ev.time)
        trig = e.createTrigger()
        _ok(trig.setInitialValue(True), "the trigger's initialValue")
        _ok(trig.setPersistent(True), "the trigger's persistent attribute")
        _ok(trig.setMath(libsbml.readMathMLFromString(_MATHML.format(
            f"<apply><geq/>{_TIME}<ci> {t_id} </ci></apply>"))), "an event trigger")
        # simultaneous events (zero-length phases) happen in list order: earlier = higher
        _ok(e.createPriority().setMath(_number_ast(n_events - n + 1, units)), "a priority")
        for target, value in ev.assignments:
            a = e.createEventAssignment()
            _ok(a.setVariable(target), f"an event assignment to {target!r}")
            if value in (0.0, 1.0):
                math_ast = _number_ast(value, units)
            else:
                pid = _unique(f"E{n}_{target}", used)
                parameter(pid, value, True)
                exact[pid] = float(value)
                math_ast = libsbml.readMathMLFromString(_MATHML.format(f"<ci> {pid} </ci>"))
            _ok(a.setMath(math_ast), f"the event assignment to {target!r}")
        for target, value in ev.additions:      # a dose: target = target + amount
            a = e.createEventAssignment()
            _ok(a.setVariable(target), f"an event assignment to {target!r}")
            pid = _unique(f"E{n}_{target}", used)
            parameter(pid, value, True)
            exact[pid] = float(value)
            math_ast = libsbml.readMathMLFromString(_MATHML.format(
                f"<apply><plus/><ci> {target} </ci><ci> {pid} </ci></apply>"))
            _ok(a.setMath(math_ast), f"the event assignment to {target!r}")
        for target, frac, value in ev.rescaled:   # incomplete wash + load: f*target + amount
            a = e.createEventAssignment()
            _ok(a.setVariable(target), f"an event assignment to {target!r}")
            fid = _unique(f"E{n}_{target}_residual", used)
            parameter(fid, frac, True)
            exact[fid] = float(frac)
            pid = _unique(f"E{n}_{target}", used)
            parameter(pid, value, True)
            exact[pid] = float(value)
            math_ast = libsbml.readMathMLFromString(_MATHML.format(
                f"<apply><plus/><apply><times/><ci> {fid} </ci><ci> {target} </ci></apply>"
                f"<ci> {pid} </ci></apply>"))
            _ok(a.setMath(math_ast), f"the event assignment to {target!r}")
    return exact


def to_sbml_switched(switched, *, level: int = 3, version: int = 2, units: bool = True) -> str:
    """Write a :class:`~neuralcrn.chemistry.switched.SwitchedNetwork` as one SBML Level 3
    document: the network as in :func:`to_sbml`, each kinetic law multiplied by its switch (a
    non-constant dimensionless parameter ``k_i * switch * A * B``), and one event per
    :class:`~neuralcrn.chemistry.switched.TimedEvent`: trigger ``time >= E{n}_time``
    (``initialValue="true"``, ``persistent="true"``, so it fires exactly once, when time reaches
    the value, never at time 0), ``useValuesFromTriggerTime="true"``, a priority that orders
    events of equal time as listed, and assignments of constants (0 and 1 as integer literals,
    any other value through a constant parameter ``E{n}_{target}`` written exactly) or, for a
    dose (:attr:`TimedEvent.additions`), ``target + E{n}_{target}``, and for an incomplete
    wash (:attr:`TimedEvent.rescaled`) ``E{n}_{target}_residual * target + E{n}_{target}``.
    Without switches the
    kinetic laws are plain ``k_i * A * B``. libsbml reports 0 consistency errors for it (tested).

    Raises :class:`SBMLError` as :func:`to_sbml`.
    """
    from .switched import SwitchedNetwork
    if not isinstance(switched, SwitchedNetwork):
        raise TypeError(f"to_sbml_switched expects a SwitchedNetwork, got "
                        f"{type(switched).__name__}")
    xml = _export(switched.network, level, version, units, switched=switched)[0]
    if switched.notes:
        body = _xml_attr(switched.notes).replace("&#10;", "<br/>")
        xml = re.sub(r"(<notes>\s*<body[^>]*>)", lambda m: m.group(1) + f"<p>{body}</p>", xml,
                     count=1)
    return xml


def write_sbml(network: ReactionNetwork, path: str | os.PathLike, *, level: int = 3,
               version: int = 2, units: bool = True) -> Path:
    """Write ``network`` to ``path`` as SBML (see :func:`to_sbml`), atomically. Returns the path."""
    from ._atomic import write_text_atomic
    return write_text_atomic(path, to_sbml(network, level=level, version=version, units=units))


# ====================================================================== import
@dataclass(frozen=True)
class SBMLImport:
    """Everything :func:`import_sbml` read from an SBML model.

    Attributes
    ----------
    network:
        The mass-action network, in concentrations (SBML species order, reaction order; a split
        reversible law gives its forward reaction then its reverse).
    compartments:
        ``{compartment id: size}`` (1 for a compartment without size that holds only
        ``hasOnlySubstanceUnits`` species, whose concentrations then equal their amounts).
    species_compartments:
        ``{species: compartment id}``.
    parameters:
        ``{global parameter id: value}`` (NaN where no value is set).
    model_id:
        The SBML model id (may be ``""``).
    dropped:
        Ids of reactions left out because they change no variable species (and their law is
        not mass action, or they are empty).
    unsized:
        Ids of the compartments without a size (given size 1 in ``compartments``; their own
        value, and the concentrations of their species, are undefined).
    reactions:
        Ids of the SBML reactions (their rates are not values this import can report).
    species_references:
        ``{species reference id: stoichiometry}`` (NaN where unset).
    valueless:
        Ids of the global parameters without a value.
    substance_units:
        ``{species: substance unit id}`` (``""`` where none is declared).
    molecules_per_amount:
        ``{species: molecules per unit of amount}`` (NaN for units that are not a number of
        molecules, e.g. gram).
    falling_factorial:
        Ids of the reactions whose law was read in the stochastic form ``c·X(X−1)…`` (see the
        module docstring).

    Amount of a species = concentration × :meth:`volume`; molecules = amount ×
    ``molecules_per_amount``.
    """

    network: ReactionNetwork
    compartments: dict[str, float] = field(default_factory=dict)
    species_compartments: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, float] = field(default_factory=dict)
    model_id: str = ""
    dropped: tuple[str, ...] = ()
    unsized: frozenset[str] = frozenset()
    reactions: tuple[str, ...] = ()
    species_references: dict[str, float] = field(default_factory=dict)
    valueless: frozenset[str] = frozenset()
    substance_units: dict[str, str] = field(default_factory=dict)
    molecules_per_amount: dict[str, float] = field(default_factory=dict)
    falling_factorial: tuple[str, ...] = ()

    def stochastic_volume(self) -> float:
        """Ω, molecules per unit concentration, for a stochastic simulation of :attr:`network`:
        compartment size × molecules per substance unit, the same for every species (1 for a
        model without species).

        Raises
        ------
        UnsupportedSBMLError
            A species whose substance unit is not a number of molecules, or species with
            different Ω (compartments of different sizes or different substance units): one
            volume cannot represent them — give ``volume`` explicitly or use the ODE.
        """
        omegas = {}
        for sp in self.network.species:
            f = self.molecules_per_amount.get(sp, 1.0)
            if not math.isfinite(f):
                raise UnsupportedSBMLError(
                    f"species {sp!r} is counted in substance units "
                    f"{self.substance_units.get(sp, '')!r}, which are not a number of molecules "
                    f"(mole, item, avogadro or dimensionless); give the volume Ω explicitly")
            omegas[sp] = self.volume(sp) * f
        if not omegas:
            return 1.0
        values = sorted(set(omegas.values()))
        if values[-1] > values[0] * (1.0 + 1e-12):
            lo = min(omegas, key=omegas.get)
            hi = max(omegas, key=omegas.get)
            raise UnsupportedSBMLError(
                f"species {lo!r} ({self._omega_text(lo)}) and {hi!r} ({self._omega_text(hi)}) "
                f"have different numbers of molecules per unit concentration; a single-volume "
                f"stochastic simulation cannot represent them")
        return values[0]

    def _omega_text(self, sp: str) -> str:
        unit = self.substance_units.get(sp) or "undeclared units"
        omega = self.volume(sp) * self.molecules_per_amount.get(sp, 1.0)
        return (f"compartment {self.species_compartments[sp]!r} of size "
                f"{_num(self.volume(sp))}, {unit}: Ω = {omega:.6g}")

    def volume(self, species: str) -> float:
        """Size of the compartment holding ``species``."""
        return self.compartments[self.species_compartments[species]]

    def has_size(self, species: str) -> bool:
        """False when ``species`` lives in a compartment without size (its concentration is
        undefined; its amount is what the network holds)."""
        return self.species_compartments[species] not in self.unsized

    def value(self, symbol: str) -> float:
        """Value of a species (initial concentration), compartment (size), global parameter or
        species reference (stoichiometry); these never change in an imported model.

        Raises
        ------
        UnsupportedSBMLError
            For a reaction id (reaction rates are not reported), a compartment without size, a
            species in one (undefined concentration) or a parameter or stoichiometry without
            value.
        KeyError
            For an id that is none of these.
        """
        if symbol in self.network.species_index:
            if not self.has_size(symbol):
                raise UnsupportedSBMLError(f"species {symbol!r} lives in compartment "
                                           f"{self.species_compartments[symbol]!r}, which has no "
                                           f"size, so its concentration is undefined")
            return self.network.initial[self.network.species_index[symbol]]
        if symbol in self.compartments:
            if symbol in self.unsized:
                raise UnsupportedSBMLError(f"compartment {symbol!r} has no size, so its value is "
                                           f"undefined")
            return self.compartments[symbol]
        if symbol in self.parameters:
            if symbol in self.valueless:
                raise UnsupportedSBMLError(f"parameter {symbol!r} has no value")
            return self.parameters[symbol]
        if symbol in self.species_references:
            v = self.species_references[symbol]
            if math.isnan(v):
                raise UnsupportedSBMLError(f"species reference {symbol!r} has no stoichiometry")
            return v
        if symbol in self.reactions:
            raise UnsupportedSBMLError(f"reporting the rate of reaction {symbol!r} is not "
                                       f"supported")
        raise KeyError(symbol)


class _NotMassAction(Exception):
    """Internal: the law is not a mass-action polynomial (message says why)."""


# polynomial in species symbols: {((species, exponent), ...) sorted: coefficient}
_Poly = dict


def _const(c: float) -> _Poly:
    return {(): float(c)}


def _is_const(p: _Poly) -> bool:
    return all(k == () for k in p)


def _const_value(p: _Poly) -> float:
    return p.get((), 0.0)


def _add(a: _Poly, b: _Poly, sign: float = 1.0) -> _Poly:
    out = dict(a)
    for k, v in b.items():
        out[k] = out[k] + sign * v if k in out else sign * v
    if len(out) > _MAX_TERMS:
        raise _NotMassAction("the law expands to too many terms")
    return out


def _merge(ka, kb, sign: float = 1.0):
    d = dict(ka)
    for s, e in kb:
        d[s] = d.get(s, 0.0) + sign * e
    return tuple(sorted((s, e) for s, e in d.items() if e != 0))


def _mul(a: _Poly, b: _Poly) -> _Poly:
    out: _Poly = {}
    for ka, va in a.items():
        for kb, vb in b.items():
            k = _merge(ka, kb)
            out[k] = out[k] + va * vb if k in out else va * vb
    if len(out) > _MAX_TERMS:
        raise _NotMassAction("the law expands to too many terms")
    return out


def _div(a: _Poly, b: _Poly) -> _Poly:
    if len(b) != 1:
        if _is_const(b):
            b = _const(_const_value(b))
        else:
            raise _NotMassAction("it divides by a sum involving species")
    (kb, vb), = b.items()
    if vb == 0:
        raise _NotMassAction("it divides by zero")
    out: _Poly = {}
    for ka, va in a.items():
        k = _merge(ka, kb, -1.0)
        q = va / vb
        out[k] = out[k] + q if k in out else q
    return out


def _pow(x: float, e: float) -> float:
    """Real power, NaN where undefined (negative base with fractional exponent, 0 ** negative)."""
    return _safe(lambda: math.pow(x, e))


def _power(base: _Poly, e: float) -> _Poly:
    if not math.isfinite(e):
        raise _NotMassAction(f"it has the exponent {e!r}")
    if _is_const(base):
        return _const(_pow(_const_value(base), e))
    if len(base) == 1:
        (kb, vb), = base.items()
        return {tuple((s, x * e) for s, x in kb if x * e != 0): _pow(vb, e)}
    if e == int(e) and 0 <= e <= 8:
        out = _const(1.0)
        for _ in range(int(e)):
            out = _mul(out, base)
        return out
    raise _NotMassAction(f"it raises a sum involving species to the power {e!r}")


_CONST_FUNCS = {
    libsbml.AST_FUNCTION_EXP: ("exp", math.exp),
    libsbml.AST_FUNCTION_LN: ("ln", math.log),
    libsbml.AST_FUNCTION_ABS: ("abs", abs),
}


class _LawAnalyser:
    """Turns a kinetic-law AST into a polynomial in the species symbols."""

    def __init__(self, symbols: Mapping[str, tuple[str, float]], where: str):
        # symbols: id -> ("species", nan) or ("const", value) or ("refuse", reason)
        self.symbols = symbols
        self.where = where

    def unsupported(self, what: str) -> UnsupportedSBMLError:
        return UnsupportedSBMLError(f"{self.where}: {what}")

    def poly(self, node) -> _Poly:
        t = node.getType()
        n = node.getNumChildren()
        if node.isNumber():
            return _const(node.getValue())
        if t == libsbml.AST_NAME:
            name = node.getName()
            kind, value = self.symbols.get(name, ("refuse", f"unknown symbol {name!r}"))
            if kind == "species":
                return {((name, 1.0),): 1.0}
            if kind == "const":
                return _const(value)
            raise self.unsupported(value)
        if t == libsbml.AST_NAME_TIME:
            raise self.unsupported("the kinetic law uses time (csymbol time), which is not mass "
                                   "action")
        if t == libsbml.AST_NAME_AVOGADRO:
            return _const(_AVOGADRO)
        if t == libsbml.AST_CONSTANT_PI:
            return _const(math.pi)
        if t == libsbml.AST_CONSTANT_E:
            return _const(math.e)
        if t == libsbml.AST_FUNCTION_DELAY:
            raise self.unsupported("delay in a kinetic law is not supported")
        if t == libsbml.AST_FUNCTION_RATE_OF:
            raise self.unsupported("rateOf in a kinetic law is not supported")
        if t == libsbml.AST_FUNCTION_PIECEWISE:
            raise _NotMassAction("it uses piecewise")
        if t in (libsbml.AST_FUNCTION, libsbml.AST_CSYMBOL_FUNCTION):
            raise self.unsupported(f"function call {node.getName()!r} in a kinetic law "
                                   f"(function definitions are not supported)")
        if t == libsbml.AST_PLUS:
            if n == 0:
                return _const(0.0)
            out: _Poly = self.poly(node.getChild(0))
            for i in range(1, n):
                out = _add(out, self.poly(node.getChild(i)))
            return out
        if t == libsbml.AST_MINUS:
            if n == 1:
                return {k: -v for k, v in self.poly(node.getChild(0)).items()}
            if n == 2:
                return _add(self.poly(node.getChild(0)), self.poly(node.getChild(1)), -1.0)
            raise _NotMassAction("malformed minus")
        if t == libsbml.AST_TIMES:
            out = _const(1.0)
            for i in range(n):
                out = _mul(out, self.poly(node.getChild(i)))
            return out
        if t == libsbml.AST_DIVIDE and n == 2:
            return _div(self.poly(node.getChild(0)), self.poly(node.getChild(1)))
        if t in (libsbml.AST_POWER, libsbml.AST_FUNCTION_POWER) and n == 2:
            ex = self.poly(node.getChild(1))
            if not _is_const(ex):
                raise _NotMassAction("it has an exponent that depends on species")
            return _power(self.poly(node.getChild(0)), _const_value(ex))
        if t == libsbml.AST_FUNCTION_ROOT and n in (1, 2):
            degree = 2.0
            if n == 2:
                d = self.poly(node.getChild(0))
                if not _is_const(d):
                    raise _NotMassAction("it has a root degree that depends on species")
                degree = _const_value(d)
            return _power(self.poly(node.getChild(n - 1)), 1.0 / degree)
        if t == libsbml.AST_FUNCTION_LOG and n in (1, 2):
            args = [self.poly(node.getChild(i)) for i in range(n)]
            if not all(_is_const(a) for a in args):
                raise _NotMassAction("it takes the logarithm of a species")
            vals = [_const_value(a) for a in args]
            base, x = (10.0, vals[0]) if n == 1 else vals
            return _const(_safe(lambda: math.log(x, base)))
        if t in _CONST_FUNCS and n == 1:
            name, f = _CONST_FUNCS[t]
            arg = self.poly(node.getChild(0))
            if not _is_const(arg):
                raise _NotMassAction(f"it applies {name} to a species")
            return _const(_safe(lambda: f(_const_value(arg))))
        label = node.getName() or libsbml.formulaToL3String(node)
        raise _NotMassAction(f"it uses {label!r}")


def _safe(f) -> float:
    try:
        return float(f())
    except (ValueError, OverflowError, ZeroDivisionError):
        return math.nan


def _read_document(source) -> libsbml.SBMLDocument:
    if isinstance(source, bytes):
        source = source.decode("utf-8")
    if isinstance(source, libsbml.SBMLDocument):
        doc, where = source, "<document>"
    elif isinstance(source, str) and source.lstrip("\ufeff \t\r\n").startswith("<"):
        doc = libsbml.readSBMLFromString(source)
        where = "<string>"
    else:
        path = Path(source)
        if not path.is_file():
            raise SBMLError(f"{path}: no such SBML file")
        doc = libsbml.readSBMLFromFile(str(path))
        where = str(path)
    errors = []
    unsupported = []
    for i in range(doc.getNumErrors()):
        e = doc.getError(i)
        if e.getSeverity() >= libsbml.LIBSBML_SEV_ERROR:
            msg = e.getMessage().strip().replace("\n", " ")
            if "package" in msg.lower() and "required" in msg.lower():
                unsupported.append(f"line {e.getLine()}: {msg}")
            else:
                errors.append(f"line {e.getLine()}: {msg}")
    if unsupported and not errors:
        raise UnsupportedSBMLError(f"{where}: " + "; ".join(unsupported[:3]))
    if errors:
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        raise SBMLError(f"{where}: invalid SBML: " + "; ".join(errors[:3]) + more)
    if doc.getModel() is None:
        raise SBMLError(f"{where}: the SBML document has no model")
    return doc


def _num(x: float) -> str:
    return repr(float(x))


_UNIT_MOLECULES = {"item": 1.0, "dimensionless": 1.0, "mole": _AVOGADRO, "avogadro": _AVOGADRO}


def _molecules_per_amount(model, level: int, sp) -> tuple[str, float]:
    """(substance unit id, molecules per unit amount) of a species; NaN for a unit that is not a
    number of molecules. Undeclared L3 units count molecules; the L1/L2 default is the mole."""
    if level >= 3:
        unit = (sp.getSubstanceUnits() if sp.isSetSubstanceUnits() else
                model.getSubstanceUnits() if model.isSetSubstanceUnits() else "")
    elif level == 2:
        unit = sp.getSubstanceUnits() if sp.isSetSubstanceUnits() else "substance"
    else:
        unit = sp.getUnits() if sp.isSetUnits() else "substance"
    if not unit:
        return "", 1.0
    ud = model.getUnitDefinition(unit)
    if ud is not None:
        if ud.getNumUnits() != 1:
            return unit, math.nan
        u = ud.getUnit(0)
        base = _UNIT_MOLECULES.get(libsbml.UnitKind_toString(u.getKind()))
        if base is None or u.getExponentAsDouble() != 1.0:
            return unit, math.nan
        return unit, base * u.getMultiplier() * 10.0 ** u.getScale()
    if unit == "substance":
        return unit, _AVOGADRO
    return unit, _UNIT_MOLECULES.get(unit, math.nan)


def import_sbml(source) -> SBMLImport:
    """Read an SBML model (string, path or ``libsbml.SBMLDocument``) as a mass-action network.

    Parameters
    ----------
    source:
        XML text (a str starting with ``<``, or bytes), a file path, or an ``SBMLDocument``.

    Returns
    -------
    SBMLImport
        The network (in concentrations) and the compartment sizes, species compartments and global
        parameter values needed to report amounts or parameters.

    Raises
    ------
    SBMLError
        Unreadable or invalid SBML (missing file, XML errors, dangling references).
    UnsupportedSBMLError
        A model outside mass-action reaction networks; the message names every unsupported
        feature found and its element (see the module docstring).
    """
    doc = _read_document(source)
    model = doc.getModel()
    level = doc.getLevel()
    problems: list[str] = []

    for i in range(doc.getNumPlugins() if level >= 3 else 0):  # L3 packages
        name = doc.getPlugin(i).getPackageName()
        if name == "l3v2extendedmath":  # libsbml's internal plugin for L3V2 core math
            continue
        if doc.getPackageRequired(name):
            problems.append(f"SBML package '{name}' (required) is not supported")
    if model.getNumFunctionDefinitions():
        ids = [model.getFunctionDefinition(i).getId()
               for i in range(model.getNumFunctionDefinitions())]
        problems.append(f"function definitions are not supported ({', '.join(ids)})")
    for i in range(model.getNumRules()):
        r = model.getRule(i)
        kind = ("assignmentRule" if r.isAssignment() else "rateRule" if r.isRate()
                else "algebraicRule")
        var = r.getVariable() if not r.isAlgebraic() else libsbml.formulaToL3String(r.getMath())
        problems.append(f"rules are not supported ({kind} for {var})")
    for i in range(model.getNumInitialAssignments()):
        problems.append(f"initial assignments are not supported "
                        f"(initialAssignment for {model.getInitialAssignment(i).getSymbol()})")
    for i in range(model.getNumEvents()):
        ev = model.getEvent(i)
        problems.append(f"events are not supported (event {ev.getId() or i + 1})")
    if model.getNumConstraints():
        problems.append(f"constraints are not supported ({model.getNumConstraints()} constraint"
                        f"{'s' if model.getNumConstraints() > 1 else ''})")
    if level >= 3 and model.isSetConversionFactor():
        problems.append(f"conversion factors are not supported (model conversionFactor "
                        f"{model.getConversionFactor()!r})")

    # ------------------------------------------------------------ compartments
    compartments: dict[str, float] = {}
    comp_ok: dict[str, str | None] = {}
    unsized: set[str] = set()  # no size: allowed only for amount-only (hOSU) species
    for i in range(model.getNumCompartments()):
        c = model.getCompartment(i)
        size = c.getSize() if c.isSetSize() else (c.getVolume() if level == 1 else math.nan)
        compartments[c.getId()] = float(size)
        reason = None
        if not c.getConstant():
            reason = f"compartment {c.getId()!r} is not constant"
        elif math.isnan(size):
            unsized.add(c.getId())
        elif not (math.isfinite(size) and size > 0):
            reason = (f"compartment {c.getId()!r} has no size" if math.isnan(size)
                      else f"compartment {c.getId()!r} has size {_num(size)} (must be positive "
                           f"and finite)")
        elif level >= 2 and c.isSetSpatialDimensions() and c.getSpatialDimensionsAsDouble() == 0:
            reason = f"compartment {c.getId()!r} is 0-dimensional"
        comp_ok[c.getId()] = reason

    # ------------------------------------------------------------ species
    species: list[str] = []
    sp_comp: dict[str, str] = {}
    hosu: dict[str, bool] = {}
    conc0: dict[str, float] = {}
    symbol0: dict[str, float] = {}  # value of the species' symbol (amount if hOSU)
    constant: set[str] = set()
    units: dict[str, str] = {}
    per_amount: dict[str, float] = {}
    for i in range(model.getNumSpecies()):
        sp = model.getSpecies(i)
        sid = sp.getId()
        species.append(sid)
        units[sid], per_amount[sid] = _molecules_per_amount(model, level, sp)
        cid = sp.getCompartment()
        sp_comp[sid] = cid
        if cid not in compartments:
            raise SBMLError(f"species {sid!r} refers to an unknown compartment {cid!r}")
        if comp_ok[cid] is not None:
            problems.append(f"species {sid!r}: {comp_ok[cid]}")
            continue
        hosu[sid] = bool(sp.getHasOnlySubstanceUnits()) if level >= 2 else False
        if cid in unsized:
            if not hosu[sid]:
                problems.append(f"species {sid!r}: compartment {cid!r} has no size (only "
                                f"hasOnlySubstanceUnits species may live in a compartment "
                                f"without size)")
                continue
            if not sp.isSetInitialAmount():
                problems.append(f"species {sid!r} has no initial amount and compartment {cid!r} "
                                f"has no size")
                continue
        vol = 1.0 if cid in unsized else compartments[cid]
        if level >= 3 and sp.isSetConversionFactor():
            problems.append(f"conversion factors are not supported (species {sid!r} "
                            f"conversionFactor {sp.getConversionFactor()!r})")
        if sp.isSetInitialAmount():
            amount = sp.getInitialAmount()
            c0 = amount / vol
        elif sp.isSetInitialConcentration():
            c0 = sp.getInitialConcentration()
            amount = c0 * vol
        else:
            problems.append(f"species {sid!r} has no initial amount or concentration")
            continue
        if not (math.isfinite(c0) and c0 >= 0):
            problems.append(f"species {sid!r} has initial value {_num(c0)} (concentrations must "
                            f"be finite and ≥ 0)")
            continue
        conc0[sid] = c0
        symbol0[sid] = amount if hosu[sid] else c0
        if sp.getBoundaryCondition() or sp.getConstant():
            constant.add(sid)

    parameters = {model.getParameter(i).getId():
                  (float(model.getParameter(i).getValue()) if model.getParameter(i).isSetValue()
                   else math.nan)
                  for i in range(model.getNumParameters())}

    if problems:
        raise UnsupportedSBMLError("; ".join(problems))
    for cid in unsized:  # holds only amount-only species: amounts never involve the size
        compartments[cid] = 1.0

    # ------------------------------------------------------------ symbols
    symbols: dict[str, tuple[str, float | str]] = {}
    for pid, v in parameters.items():
        symbols[pid] = ("const", v) if not math.isnan(v) or model.getParameter(pid).isSetValue() \
            else ("refuse", f"parameter {pid!r} has no value")
    for cid, v in compartments.items():
        symbols[cid] = ("const", v) if cid not in unsized else \
            ("refuse", f"the kinetic law uses compartment {cid!r}, which has no size")
    for sid in species:
        symbols[sid] = ("species", math.nan)
    for i in range(model.getNumReactions()):
        r = model.getReaction(i)
        if r.isSetId():
            symbols[r.getId()] = ("refuse", f"reaction id {r.getId()!r} used as a value "
                                            f"(reaction rate) is not supported")
        for lst in (r.getListOfReactants(), r.getListOfProducts()):
            for ref in lst:
                if ref.isSetId():
                    symbols[ref.getId()] = ("refuse", f"species reference {ref.getId()!r} used "
                                                      f"as a value is not supported")

    reactions: list[Reaction] = []
    dropped: list[str] = []
    ff_ids: list[str] = []
    # species whose symbol in a law is a number of molecules (for the falling-factorial form)
    counted = {sid for sid in hosu if per_amount[sid] == 1.0
               and (hosu[sid] or compartments[sp_comp[sid]] == 1.0)}
    for i in range(model.getNumReactions()):
        reactions.extend(_import_reaction(model.getReaction(i), i, level, symbols, sp_comp,
                                          compartments, hosu, symbol0, constant, dropped,
                                          counted, ff_ids))

    try:
        network = ReactionNetwork(reactions, species, conc0, constant,
                                  model.getName() if model.isSetName() else model.getId())
    except NetworkError as e:  # pragma: no cover - checked above
        raise SBMLError(str(e))
    refs: dict[str, float] = {}
    for i in range(model.getNumReactions()):
        r = model.getReaction(i)
        for lst in (r.getListOfReactants(), r.getListOfProducts()):
            for ref in lst:
                if ref.isSetId():
                    refs[ref.getId()] = (ref.getStoichiometry()
                                         if level < 3 or ref.isSetStoichiometry() else math.nan)
    valueless = frozenset(pid for pid in parameters if not model.getParameter(pid).isSetValue())
    return SBMLImport(network, compartments, sp_comp, parameters, model.getId(), tuple(dropped),
                      frozenset(unsized), tuple(model.getReaction(i).getId()
                                                for i in range(model.getNumReactions())),
                      refs, valueless, units, per_amount, tuple(ff_ids))


def _stoichiometry(ref, rid: str) -> int:
    sid = ref.getSpecies()
    if ref.isSetStoichiometryMath() if hasattr(ref, "isSetStoichiometryMath") else False:
        raise UnsupportedSBMLError(f"reaction {rid}: stoichiometryMath for {sid!r} is not "
                                   f"supported")
    if ref.getLevel() >= 3 and not ref.isSetStoichiometry():
        raise UnsupportedSBMLError(f"reaction {rid}: the stoichiometry of {sid!r} is not set")
    x = ref.getStoichiometry()
    if ref.getLevel() < 3 and hasattr(ref, "getDenominator") and ref.getDenominator() != 1:
        x = x / ref.getDenominator()
    if not math.isfinite(x) or x < 0:
        raise UnsupportedSBMLError(f"reaction {rid}: stoichiometry {_num(x)} of {sid!r} is not "
                                   f"supported (must be a non-negative integer)")
    if x != int(x):
        raise UnsupportedSBMLError(f"reaction {rid}: non-integer stoichiometry {_num(x)} of "
                                   f"{sid!r} is not supported")
    return int(x)


def _import_reaction(r, index, level, symbols, sp_comp, compartments, hosu, symbol0, constant,
                     dropped, counted=frozenset(), ff_ids=None) -> list[Reaction]:
    rid = r.getId() or f"#{index + 1}"
    label = f"reaction {rid}"
    if r.isSetFast() and r.getFast():
        raise UnsupportedSBMLError(f"{label}: fast reactions are not supported")
    lhs: dict[str, int] = {}
    rhs: dict[str, int] = {}
    for side, lst in ((lhs, r.getListOfReactants()), (rhs, r.getListOfProducts())):
        for ref in lst:
            sid = ref.getSpecies()
            if sid not in sp_comp:
                raise SBMLError(f"{label} refers to an unknown species {sid!r}")
            n = _stoichiometry(ref, rid)
            if n:
                side[sid] = side.get(sid, 0) + n
    for j in range(r.getNumModifiers()):
        sid = r.getModifier(j).getSpecies()
        if sid not in sp_comp:
            raise SBMLError(f"{label} refers to an unknown modifier species {sid!r}")
    changing = {s for s in set(lhs) | set(rhs)
                if s not in constant and lhs.get(s, 0) != rhs.get(s, 0)}

    if not r.isSetKineticLaw() or r.getKineticLaw().getMath() is None:
        if not changing:
            dropped.append(rid)
            return []
        raise UnsupportedSBMLError(f"{label} has no kinetic law")
    law = r.getKineticLaw()
    math_ast = law.getMath()
    formula = libsbml.formulaToL3String(math_ast)
    own = {}
    lp = law.getListOfLocalParameters() if level >= 3 else law.getListOfParameters()
    for p in lp:
        own[p.getId()] = ("const", float(p.getValue())) if p.isSetValue() else \
            ("refuse", f"local parameter {p.getId()!r} has no value")
    local = ChainMap(own, symbols) if own else symbols  # local parameters shadow everything

    def not_mass_action(why: str) -> UnsupportedSBMLError:
        return UnsupportedSBMLError(f"{label}: kinetic law '{formula}' is not mass action "
                                    f"({why})")

    try:
        try:
            terms = _LawAnalyser(local, label).poly(math_ast)
        except RecursionError:
            raise _NotMassAction("it is nested too deeply to analyse") from None
        terms, collapsed = _falling_factorials(terms, lhs, rhs, constant, counted)
        if collapsed and ff_ids is not None:
            ff_ids.append(rid)
        out = []
        directions = []
        for exps, coef in terms.items():
            try:
                out.append(_term_to_reaction(exps, coef, lhs, rhs, constant, symbol0))
            except _NotMassAction as err:
                if coef == 0:  # a term that is exactly zero contributes nothing
                    continue
                raise _explain_term(exps, coef, lhs, rhs, constant, err) from None
            directions.append(math.copysign(1.0, coef) > 0)
        if directions.count(True) > 1 or directions.count(False) > 1:
            raise _NotMassAction(f"it has {directions.count(True)} forward and "
                                 f"{directions.count(False)} reverse terms; mass action has at "
                                 f"most one of each")
        out = [o for _, o in sorted(zip(directions, out), key=lambda d: not d[0])]
    except _NotMassAction as e:
        if not changing:  # no effect on the dynamics whatever the law says
            dropped.append(rid)
            return []
        raise not_mass_action(str(e))
    except UnsupportedSBMLError:
        if not changing:
            dropped.append(rid)
            return []
        raise

    reactions = []
    for reactants, products, coef in out:
        if not reactants and not products:
            continue  # an empty reaction does nothing
        moved = [s for s in set(reactants) | set(products)
                 if s not in constant and reactants.get(s, 0) != products.get(s, 0)]
        sizes = {compartments[sp_comp[s]] for s in moved}
        if len(sizes) > 1:
            comps = sorted({f"{sp_comp[s]} = {_num(compartments[sp_comp[s]])}" for s in moved})
            raise UnsupportedSBMLError(f"{label} changes species in compartments of different "
                                       f"sizes ({', '.join(comps)}), which a single-volume "
                                       f"concentration model cannot represent exactly")
        if sizes:
            v_r = sizes.pop()
        else:
            involved = [s for s in list(reactants) + list(products)]
            v_r = compartments[sp_comp[involved[0]]]
        # hasOnlySubstanceUnits symbols are amounts: sym = V·[X]; d[S]/dt = stoich·v / V_r
        k = _scaled(coef, [(compartments[sp_comp[s]], n) for s, n in reactants.items()
                           if hosu[s]] + [(v_r, -1)])
        if not math.isfinite(k):
            raise not_mass_action(f"its rate constant evaluates to {_num(k)}")
        if k < 0:
            raise not_mass_action(f"its rate constant evaluates to {_num(k)} < 0")
        reactions.append(Reaction(reactants, products, k))
    if not reactions:
        dropped.append(rid)
    return reactions


def _ff_coefficients(nu: int) -> list[float]:
    """Coefficients of X^0 … X^ν in the falling factorial X(X−1)···(X−ν+1) (Stirling numbers of
    the first kind, signed)."""
    c = [1.0]
    for m in range(nu):
        new = [0.0] * (len(c) + 1)
        for j, v in enumerate(c):
            new[j + 1] += v
            new[j] -= m * v
        c = new
    return c


def _falling_factorials(terms, lhs, rhs, constant, counted):
    """Collapse a complete falling factorial ``c·Π_X X(X−1)···(X−ν_X+1)·rest`` (X the variable
    reactants of stoichiometry ν_X ≥ 2 of one direction) into its leading term ``c·Π X^ν·rest``:
    the stochastic mass-action form of the law (module docstring). Returns ``(terms, found)``.

    Raises _NotMassAction when the form is found but a factor species is not a molecule count.
    """
    out = dict(terms)
    found = False
    for sign, src in ((1.0, lhs), (-1.0, rhs)):
        F = {x: n for x, n in src.items() if n >= 2 and x not in constant}
        if not F:
            continue
        for lead, c in list(out.items()):
            e = dict(lead)
            if c == 0 or math.copysign(1.0, c) != sign \
                    or any(e.get(x, 0.0) != n for x, n in F.items()):
                continue
            expansion = {tuple(sorted((s, v) for s, v in e.items() if s not in F)): c}
            for x, n in F.items():
                new: dict = {}
                for key, v in expansion.items():
                    for j, cj in enumerate(_ff_coefficients(n)):
                        if cj:
                            k2 = tuple(sorted(dict(key, **({x: float(j)} if j else {})).items()))
                            new[k2] = new.get(k2, 0.0) + v * cj
                expansion = new
            if len(expansion) < 2 or any(
                    k not in out or not math.isclose(out[k], v, rel_tol=1e-9,
                                                     abs_tol=1e-12 * abs(c))
                    for k, v in expansion.items()):
                continue
            missing = sorted(x for x in F if x not in counted)
            if missing:
                raise _NotMassAction(
                    f"it has the stochastic falling-factorial form X·(X−1)··· in "
                    f"{', '.join(map(repr, missing))}, which counts molecules: such a species "
                    f"must be an amount (hasOnlySubstanceUnits) in item units")
            for k in expansion:
                if k != lead:
                    del out[k]
            found = True
            break
    return out, found


def _explain_term(exps, coef, lhs, rhs, constant, err):
    """A clearer _NotMassAction for a negative term that is not a reverse reaction."""
    names = {s for s, _ in exps if s not in constant}
    if coef < 0 and names and names <= set(lhs) and not names <= set(rhs):
        mono = "·".join(s if e == 1 else f"{s}^{e:g}" for s, e in exps)
        return _NotMassAction(
            f"it has a negative term {_num(coef)}·{mono} in reactant species only: that is not "
            f"a reverse reaction (whose term would hold the products "
            f"{', '.join(sorted(rhs)) or 'none'}), and lower-order terms are read only as part "
            f"of a complete falling factorial X·(X−1)···(X−ν+1) of a reactant with "
            f"stoichiometry ν ≥ 2")
    return err


def _scaled(x: float, factors) -> float:
    """``x · Π b**n`` (bases b > 0 finite, integer n), correctly rounded and free of intermediate
    overflow or underflow (a compartment of size 1e-200 squared must not become 0)."""
    if not math.isfinite(x) or x == 0:
        return x
    if sum(abs(n) for _, n in factors) <= _EXACT_MAX_POWER:
        q = Fraction(x)
        for b, n in factors:
            q *= Fraction(b) ** n
        try:
            return float(q)
        except OverflowError:
            return math.copysign(math.inf, x)
    log = math.log(abs(x)) + math.fsum(n * math.log(b) for b, n in factors)
    try:
        return math.copysign(math.exp(log), x)
    except OverflowError:
        return math.copysign(math.inf, x)


def _term_to_reaction(exps, coef, lhs, rhs, constant, symbol0):
    """Turn one polynomial term ``coef · Π sym(X)^e_X`` into a mass-action reaction.

    A term with coefficient ≥ +0 runs the reaction forward (src = reactants, dst = products), one
    with coefficient ≤ −0 runs it backward (src = products, dst = reactants) at rate −coef. Every
    variable species of src must appear with exactly its stoichiometry; other variable species
    may appear with a positive integer power e and become catalysts (e on both sides). Constant
    species may appear with any power: a non-negative integer power becomes their reactant count,
    others are folded into the rate constant. Returns ``(reactants, products, coefficient)``.
    """
    if math.isnan(coef):
        raise _NotMassAction("a coefficient is NaN")
    forward = math.copysign(1.0, coef) > 0
    src, dst = (lhs, rhs) if forward else (rhs, lhs)
    k = coef if forward else -coef
    e = dict(exps)
    reac: dict[str, int] = {}
    prod: dict[str, int] = {}
    direction = "" if forward else "reverse "
    for s in sorted(set(e) | set(src) | set(dst)):
        x = e.get(s, 0.0)
        if not math.isfinite(x):  # an exponent that overflowed (S^1e308 * S^1e308)
            raise _NotMassAction(f"the {direction or 'forward '}term has {s!r} to the power {x:g}")
        net = dst.get(s, 0) - src.get(s, 0)
        if s in constant:
            if x == int(x) and x >= 0:
                reac[s] = int(x)
                prod[s] = max(0, int(x) + net)
            else:  # a fixed value: fold its power into the rate constant
                k *= _pow(symbol0[s], x)
                prod[s] = max(0, net)
            continue
        nu = src.get(s, 0)
        if nu and x != nu:
            role = "reactant" if forward else "product"
            raise _NotMassAction(f"the {direction or 'forward '}term has {s!r} to the power {x:g} "
                                 f"but {s!r} is a {role} with stoichiometry {nu}")
        if x != int(x) or x < 0:
            raise _NotMassAction(f"the {direction or 'forward '}term has {s!r} to the power {x:g}")
        reac[s] = int(x)
        prod[s] = int(x) + net
    reac = {s: n for s, n in reac.items() if n}
    prod = {s: n for s, n in prod.items() if n}
    return reac, prod, k


def from_sbml(source) -> ReactionNetwork:
    """Import a mass-action network from SBML text, a path or an ``SBMLDocument``.

    Same as ``import_sbml(source).network``; see :func:`import_sbml` for the accepted models and the
    errors raised (:class:`SBMLError`, :class:`UnsupportedSBMLError`).
    """
    return import_sbml(source).network


def read_sbml(path: str | os.PathLike) -> ReactionNetwork:
    """Import a mass-action network from an SBML file (see :func:`import_sbml`).

    Raises
    ------
    SBMLError
        Missing or invalid file.
    UnsupportedSBMLError
        A model outside mass-action reaction networks.
    """
    return import_sbml(Path(path)).network
