"""The chemistry layer: species, reactions, reaction networks, dual rails and file formats.

Plain immutable data; no simulation here (see :mod:`neuralcrn.kinetics`).

File formats: the text format (:mod:`.text`: ``parse_text``, ``read_text``, ``to_text``,
``write_text``), SBML (:mod:`.sbml`: ``to_sbml``, ``write_sbml``, ``from_sbml``, ``read_sbml``,
``import_sbml``, ``SBMLImport``) and Antimony (:mod:`.antimony`: ``to_antimony``,
``from_antimony``, ``read_antimony``, ``write_antimony``). The SBML and Antimony names are loaded on
first use, so that importing neuralcrn does not load libsbml / libAntimony.

Export only, for other tools (each converts the rate-law convention where the tool's differs;
see :mod:`._tool_formats`): Catalyst.jl ``@reaction_network`` source (:mod:`.catalyst`:
``to_catalyst``), BioNetGen BNGL (:mod:`.bngl`: ``to_bngl``) and the CRN syntax of Visual DSD /
crn-engine (:mod:`.dsd`: ``to_dsd``), each with a ``write_*`` twin.

A network run as a timed protocol — reactions multiplied by switches, species and switches set by
timed events (:mod:`.switched`: ``SwitchedNetwork``, ``TimedEvent``) — is written by
``to_sbml_switched`` (SBML events) and ``to_antimony_switched``.

Chemical clocks (:mod:`.clock`): ``ChemicalClock``, the cyclic kill–recruit oscillator whose
species signal the phases of a protocol (and its sharp gate species), with asymptotic
predictions of its period, duty cycle and overlaps.
"""

from .network import Reaction, ReactionNetwork, compose, is_valid_species_name
from .dualrail import (DualRail, annihilation, catalytic_copy, catalytic_product, rails_of, transfer,
                       decode_array)
from .text import parse_text, read_text, to_text, write_text
from .catalyst import to_catalyst, write_catalyst
from .bngl import to_bngl, write_bngl
from .dsd import to_dsd, write_dsd
from .switched import SwitchedNetwork, TimedEvent
from .clock import ChemicalClock, ClockPrediction, kill_recruit_reactions

_LAZY = {
    "to_sbml": "sbml", "write_sbml": "sbml", "from_sbml": "sbml", "read_sbml": "sbml",
    "import_sbml": "sbml", "SBMLImport": "sbml", "to_sbml_switched": "sbml",
    "to_antimony_switched": "antimony", "to_antimony": "antimony", "from_antimony": "antimony", "read_antimony": "antimony",
    "write_antimony": "antimony",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Reaction", "ReactionNetwork", "compose", "is_valid_species_name", "DualRail",
           "annihilation", "catalytic_copy", "catalytic_product", "transfer", "rails_of",
           "decode_array", "parse_text", "read_text", "to_text", "write_text", "to_catalyst",
           "write_catalyst", "to_bngl", "write_bngl", "to_dsd", "write_dsd", "SwitchedNetwork",
           "TimedEvent", "ChemicalClock", "ClockPrediction", "kill_recruit_reactions", *_LAZY]
