"""Helpers shared by the CLI subcommands: clean error reporting and option parsing."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

import click

__all__ = ["fail_cleanly", "parse_assignments", "ODE_METHODS"]

ODE_METHODS = ("auto", "rodas5", "rodas5p", "ros34pw2", "rodas5-dense", "rodas5p-dense",
               "ros34pw2-dense", "tsit5", "dopri5", "dopri8", "bosh3", "kvaerno5", "kvaerno3")
"""``neuralcrn.kinetics.METHODS``, spelled out so that ``--help`` does not import JAX (a test
keeps the two equal)."""


def fail_cleanly(func):
    """Turn neuralcrn errors and file errors into a one-line ``Error: ...`` and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from ..errors import NeuralCRNError
        try:
            return func(*args, **kwargs)
        except NeuralCRNError as e:
            raise click.ClickException(str(e)) from None
        except OSError as e:
            where = f"{e.filename}: " if getattr(e, "filename", None) else ""
            raise click.ClickException(f"{where}{e.strerror or e}") from None

    return wrapper


def parse_assignments(items: Iterable[str], species: Sequence[str]) -> dict[str, float]:
    """Parse ``NAME=VALUE`` strings into ``{name: value}``, checking names against ``species``."""
    from ..errors import NeuralCRNError
    out = {}
    known = set(species)
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep:
            raise NeuralCRNError(f"--set {item!r}: expected SPECIES=VALUE")
        if name not in known:
            raise NeuralCRNError(f"--set {item!r}: unknown species {name!r}")
        try:
            out[name] = float(value)
        except ValueError:
            raise NeuralCRNError(f"--set {item!r}: {value!r} is not a number") from None
    return out
