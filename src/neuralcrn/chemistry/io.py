"""Read and write reaction networks by file type (text, SBML, Antimony; write only: Catalyst.jl,
BNGL, Visual DSD) and the bundled examples."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from ..errors import NeuralCRNError
from .network import ReactionNetwork

__all__ = ["load_network", "save_network", "bundled_examples", "FORMATS"]

FORMATS = {".crn": "text", ".txt": "text", ".xml": "sbml", ".sbml": "sbml", ".ant": "antimony",
           ".antimony": "antimony", ".jl": "catalyst", ".bngl": "bngl", ".dsd": "dsd"}
"""File extension → format. ``catalyst``, ``bngl`` and ``dsd`` are written, never read."""

EXPORT_ONLY = ("catalyst", "bngl", "dsd")
WRITERS = {"text": "to_text", "sbml": "to_sbml", "antimony": "to_antimony",
           "catalyst": "to_catalyst", "bngl": "to_bngl", "dsd": "to_dsd"}
"""Format → the function of :mod:`neuralcrn.chemistry` that writes it."""


def bundled_examples() -> dict[str, Path]:
    """``{name: path}`` of the example networks shipped with neuralcrn (text format)."""
    folder = resources.files("neuralcrn") / "data"
    return {p.name[:-4]: Path(str(p)) for p in folder.iterdir() if p.name.endswith(".crn")}


def _format_of(path: Path, fmt: str | None) -> str:
    if fmt:
        if fmt not in WRITERS:
            raise NeuralCRNError(f"unknown format {fmt!r}: use one of {', '.join(WRITERS)}")
        return fmt
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise NeuralCRNError(f"{path}: cannot tell the format from the extension {path.suffix!r} "
                             f"(use one of {', '.join(FORMATS)})")


def load_network(model: str | os.PathLike, fmt: str | None = None) -> ReactionNetwork:
    """Load a network from a file (format from the extension, or ``fmt``) or a bundled example name.

    Raises
    ------
    NeuralCRNError
        Missing file, unknown format, or the format's own error (ParseError with line and column,
        SBMLError / UnsupportedSBMLError naming the feature).
    """
    path = Path(model)
    if not path.exists():
        examples = bundled_examples()
        if str(model) in examples:
            path = examples[str(model)]
        else:
            raise NeuralCRNError(f"{model}: no such file (bundled examples: "
                                 f"{', '.join(sorted(examples))})")
    kind = _format_of(path, fmt)
    if kind in EXPORT_ONLY:
        raise NeuralCRNError(f"{path}: the {kind} format is written by neuralcrn but not read; "
                             f"use a text (.crn), SBML (.xml) or Antimony (.ant) file")
    if kind == "text":
        from .text import read_text
        return read_text(path)
    if kind == "sbml":
        from .sbml import read_sbml
        return read_sbml(path)
    from .antimony import from_antimony
    return from_antimony(path.read_text())


def save_network(network: ReactionNetwork, path: str | os.PathLike, fmt: str | None = None) -> Path:
    """Write ``network`` to ``path`` atomically in the format given by ``fmt`` or the extension."""
    from ._atomic import write_text_atomic
    path = Path(path)
    import neuralcrn.chemistry as chemistry
    text = getattr(chemistry, WRITERS[_format_of(path, fmt)])(network)
    write_text_atomic(path, text)
    return path
