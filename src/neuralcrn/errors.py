"""Exceptions raised by neuralcrn.

Every error a user can trigger with bad input derives from :class:`NeuralCRNError`, so that the CLI
can print one readable line instead of a traceback. Each exception names what is wrong (species,
reaction, file, line, value).
"""

from __future__ import annotations


class NeuralCRNError(Exception):
    """Base class of all neuralcrn errors."""


class NetworkError(NeuralCRNError, ValueError):
    """An invalid species, reaction or reaction network (e.g. a negative rate constant)."""


class ParseError(NeuralCRNError, ValueError):
    """A syntax error in a reaction-network text file.

    Attributes
    ----------
    line, column:
        1-based position of the error in the source text (``None`` if unknown).
    source:
        File name or ``"<string>"``.
    """

    def __init__(self, message: str, line: int | None = None, column: int | None = None,
                 source: str = "<string>"):
        self.message = message
        self.line = line
        self.column = column
        self.source = source
        where = source
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        super().__init__(f"{where}: {message}")


class SBMLError(NeuralCRNError, ValueError):
    """An SBML file that cannot be read or written."""


class UnsupportedSBMLError(SBMLError):
    """An SBML model that uses a feature outside mass-action reaction networks.

    The message names the unsupported feature (e.g. ``"rule (assignmentRule for S3)"``).
    """


class SimulationError(NeuralCRNError, RuntimeError):
    """A simulation that failed (solver step limit, non-finite state, bad initial values)."""


class SpecError(NeuralCRNError, ValueError):
    """An invalid Neural CRN model specification or parameter set."""


class DataError(NeuralCRNError, ValueError):
    """Invalid data (unknown task, NaN in a CSV, wrong column count)."""
