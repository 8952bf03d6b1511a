"""The chemistry layer: species, reactions, reaction networks, dual rails and file formats.

Plain immutable data; no simulation here (see :mod:`neuralcrn.kinetics`).

File formats: the text format (:mod:`.text`: ``parse_text``, ``read_text``, ``to_text``,
``write_text``), SBML (:mod:`.sbml`: ``to_sbml``, ``write_sbml``, ``from_sbml``, ``read_sbml``,
``import_sbml``, ``SBMLImport``) and Antimony (:mod:`.antimony`: ``to_antimony``,
``from_antimony``, ``read_antimony``, ``write_antimony``). The SBML and Antimony names are loaded on
first use, so that importing neuralcrn does not load libsbml / libAntimony.
"""

from .network import Reaction, ReactionNetwork, compose, is_valid_species_name
from .dualrail import (DualRail, annihilation, catalytic_copy, catalytic_product, rails_of, transfer,
                       decode_array)
from .text import parse_text, read_text, to_text, write_text

_LAZY = {
    "to_sbml": "sbml", "write_sbml": "sbml", "from_sbml": "sbml", "read_sbml": "sbml",
    "import_sbml": "sbml", "SBMLImport": "sbml",
    "to_antimony": "antimony", "from_antimony": "antimony", "read_antimony": "antimony",
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
           "decode_array", "parse_text", "read_text", "to_text", "write_text", *_LAZY]
