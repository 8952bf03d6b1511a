"""Antimony export and import, through SBML (the ``antimony`` package, libAntimony).

:func:`to_antimony` writes the SBML document of :func:`~neuralcrn.chemistry.sbml.to_sbml` (one
compartment of size 1, a global parameter ``k_i`` per reaction, laws ``k_i*A*B``) and converts it
with libAntimony; :func:`from_antimony` converts Antimony to SBML with libAntimony and imports it
with :func:`~neuralcrn.chemistry.sbml.import_sbml`, so it accepts exactly the mass-action models
that the SBML import accepts and raises the same errors.

libAntimony prints and converts numbers with 15 significant digits. To keep values exact,
:func:`to_antimony` rewrites the value assignments it printed (``A = 0.3;``) with ``repr(float)``,
and :func:`from_antimony` restores the exact value of every symbol assigned once, by a plain number
literal, in the text (``k1 = 0.30000000000000004;``) when libAntimony's 15-digit value agrees with
it. So ``from_antimony(to_antimony(n)) == n``. (libAntimony's own libsbml refuses numbers at the
very bottom of the double range, such as 2.2250738585072014e-308: :func:`to_antimony` then raises
:class:`SBMLError`.)
"""

from __future__ import annotations

import math
import os
import re
import threading
from pathlib import Path

import antimony
import libsbml

from ..errors import NeuralCRNError, SBMLError
from .network import ReactionNetwork
from .sbml import _export, import_sbml

__all__ = ["to_antimony", "to_antimony_switched", "from_antimony", "read_antimony",
           "write_antimony"]

_LOCK = threading.Lock()  # libAntimony keeps global state
_UNNAMED = "__main"  # libAntimony's module name for text outside any 'model' block
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_ASSIGN = re.compile(rf"(?<![\w.'$:])([A-Za-z_]\w*)[ \t]*=[ \t]*({_NUMBER})(?=[ \t]*(?:;|\n|$))")
_PRINTED = re.compile(rf"^([ \t]*)([A-Za-z_]\w*) = ({_NUMBER});[ \t]*$", re.MULTILINE)


def _close(a: float, b: float) -> bool:
    """True if ``a`` and ``b`` agree to libAntimony's 15 significant digits."""
    return a == b or float(f"{a:.15g}") == float(f"{b:.15g}")


def to_antimony(network: ReactionNetwork, *, check: bool = True) -> str:
    """Write ``network`` as an Antimony model (via SBML and libAntimony).

    The model is named after the network (``model *name()``, with ``name is "..."`` when the name is
    not an identifier; an unnamed network gets no ``model`` block), species live in compartment
    ``c`` of size 1, constant species are boundary species (``$S``), and each reaction ``R_i`` has
    the law ``k_i*A*B``.

    Parameters
    ----------
    check:
        Read the text back with :func:`from_antimony` and require the same network. Antimony has
        keywords and built-in symbols (``in``, ``model``, ``pi``, ``exp``, ``unit``, ...) that
        cannot be species names there, although they are valid in SBML and in our text format.

    Raises
    ------
    SBMLError
        If the SBML export fails, libAntimony reports an error (its message is included), or
        (``check``) the text does not read back as ``network``.
    """
    model_id = _model_id(network.name)
    xml, init, k_values = _export(network, units=False, model_id=model_id)
    text = _antimony_of(xml, {**init, **k_values})
    if check:
        try:
            back = from_antimony(text)
        except NeuralCRNError as e:
            back = e
        if back != network:
            raise SBMLError(f"the Antimony text does not read back as the same network (species "
                            f"names that are Antimony keywords or built-in symbols, such as 'in', "
                            f"'model', 'pi' or 'exp', cannot be used in Antimony; use SBML or the "
                            f"text format): {_difference(network, back)}")
    return text


def _model_id(name: str) -> str:
    # libAntimony names the module after the model id, else after the model name (which may
    # clash with a species id), else "doc0"; "__main" is its name for an unnamed model.
    if not name:
        return _UNNAMED
    model_id = re.sub(r"\W", "_", name, flags=re.ASCII)
    model_id = model_id if re.match(r"[A-Za-z_]", model_id) else "_" + model_id
    return model_id + "_" if model_id == _UNNAMED else model_id


def _antimony_of(xml: str, exact: dict[str, float]) -> str:
    """libAntimony's text of an SBML document, with the value assignments it printed with 15
    digits (``A = 0.3;``) rewritten exactly from ``exact`` ``{symbol: value}``."""
    with _LOCK:
        antimony.clearPreviousLoads()
        if antimony.loadSBMLString(xml) < 0:
            raise SBMLError(f"libAntimony could not read the SBML: {antimony.getLastError()}")
        text = antimony.getAntimonyString(antimony.getMainModuleName())
        antimony.clearPreviousLoads()
    if not text:
        raise SBMLError(f"libAntimony could not write the model: {antimony.getLastError()}")

    def repl(m: re.Match) -> str:
        name, printed = m.group(2), float(m.group(3))
        if name in exact and _close(printed, exact[name]):
            return f"{m.group(1)}{name} = {exact[name]!r};"
        return m.group(0)

    return _PRINTED.sub(repl, text)


def to_antimony_switched(switched) -> str:
    """Antimony text of a :class:`~neuralcrn.chemistry.switched.SwitchedNetwork`: the document of
    :func:`~neuralcrn.chemistry.sbml.to_sbml_switched` converted by libAntimony (events
    ``E{n}: at time >= E{n}_time, priority = …: x1_p = E{n}_x1_p, …;`` — libAntimony's
    defaults t0 = true, persistent = true, fromTrigger = true are the SBML's attributes), every
    value written exactly. Raises :class:`SBMLError`."""
    from .switched import SwitchedNetwork
    if not isinstance(switched, SwitchedNetwork):
        raise TypeError(f"to_antimony_switched expects a SwitchedNetwork, got "
                        f"{type(switched).__name__}")
    xml, init, values = _export(switched.network, units=False,
                                model_id=_model_id(switched.network.name), switched=switched)
    text = _antimony_of(xml, {**init, **values})
    if switched.notes:
        text = "".join(f"// {line}\n" for line in switched.notes.splitlines()) + text
    return text


def _difference(expected: ReactionNetwork, got) -> str:
    if isinstance(got, Exception):
        return f"reading it back raised {type(got).__name__}: {got}"
    if got.species != expected.species:
        odd = [s for s in expected.species if s not in got.species]
        return f"species differ ({', '.join(map(repr, odd[:5])) or 'order'})"
    for i, (a, b) in enumerate(zip(expected.reactions, got.reactions)):
        if a != b:
            return f"reaction {i + 1} reads back as '{b}' instead of '{a}'"
    return "the networks differ"


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.DOTALL)
    return re.sub(r"(//|#)[^\n]*", "", text)


def _exact_literals(text: str) -> dict[str, float]:
    """``{symbol: value}`` for symbols assigned exactly once, by a number literal, in ``text``."""
    found: dict[str, list[float]] = {}
    for m in _ASSIGN.finditer(_strip_comments(text)):
        found.setdefault(m.group(1), []).append(float(m.group(2)))
    return {k: v[0] for k, v in found.items() if len(v) == 1 and math.isfinite(v[0])}


def _restore_exact(xml: str, literals: dict[str, float]) -> libsbml.SBMLDocument:
    doc = libsbml.readSBMLFromString(xml)
    model = doc.getModel()
    if model is None:
        return doc
    if model.getId() == _UNNAMED:  # no 'model' block: an unnamed network
        model.unsetId()
    for name, value in literals.items():
        p = model.getParameter(name)
        if p is not None and p.isSetValue() and _close(p.getValue(), value):
            p.setValue(value)
            continue
        s = model.getSpecies(name)
        if s is not None:
            if s.isSetInitialConcentration() and _close(s.getInitialConcentration(), value):
                s.setInitialConcentration(value)
            elif s.isSetInitialAmount() and _close(s.getInitialAmount(), value):
                s.setInitialAmount(value)
            continue
        c = model.getCompartment(name)
        if c is not None and c.isSetSize() and _close(c.getSize(), value):
            c.setSize(value)
    return doc


def from_antimony(text: str) -> ReactionNetwork:
    """Import a mass-action network from Antimony text (via libAntimony → SBML → import_sbml).

    The main (last) module is imported; its name becomes the network name.

    Raises
    ------
    SBMLError
        Antimony syntax errors (libAntimony's message, with its line) or invalid SBML.
    UnsupportedSBMLError
        A model outside mass-action reaction networks (see
        :func:`~neuralcrn.chemistry.sbml.import_sbml`), e.g. rate rules, events, Michaelis–Menten
        laws, or species without an initial value.
    """
    if not isinstance(text, str):
        raise TypeError(f"from_antimony expects a str, got {type(text).__name__}")
    with _LOCK:
        antimony.clearPreviousLoads()
        if antimony.loadAntimonyString(text) < 0:
            msg = antimony.getLastError().strip()
            antimony.clearPreviousLoads()
            raise SBMLError(f"Antimony: {msg}")
        xml = antimony.getSBMLString(antimony.getMainModuleName())
        antimony.clearPreviousLoads()
    if not xml:
        raise SBMLError(f"libAntimony could not convert the model to SBML: "
                        f"{antimony.getLastError()}")
    return import_sbml(_restore_exact(xml, _exact_literals(text))).network


def read_antimony(path: str | os.PathLike) -> ReactionNetwork:
    """Import an Antimony file (UTF-8); see :func:`from_antimony`."""
    return from_antimony(Path(path).read_text(encoding="utf-8"))


def write_antimony(network: ReactionNetwork, path: str | os.PathLike) -> Path:
    """Write ``network`` to ``path`` as Antimony (see :func:`to_antimony`), atomically."""
    from ._atomic import write_text_atomic
    return write_text_atomic(path, to_antimony(network))
