"""Simulation results as plain numpy data."""

from __future__ import annotations

import csv
import os
import tempfile
from dataclasses import dataclass

import numpy as np

from ..chemistry._atomic import publish_mode
from ..errors import NetworkError

__all__ = ["Trajectory", "write_csv_atomic", "write_trajectory_csv"]


def write_csv_atomic(path: str | os.PathLike, header: list[str], rows: np.ndarray) -> None:
    """Write a CSV (header + float rows, shortest round-trip reprs) atomically: a temporary file in
    the same directory is renamed over ``path`` with :func:`os.replace`."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".csv", dir=directory)
    try:
        with os.fdopen(fd, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            for row in rows:
                w.writerow([repr(float(v)) for v in row])
        publish_mode(tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_trajectory_csv(path: str | os.PathLike, times, concentrations, species) -> None:
    """Write a time course as CSV: a ``time`` column, then one column per species (header = species
    names); atomic (temporary file in the same directory, then :func:`os.replace`).

    Parameters
    ----------
    times:
        ``(P,)`` time points.
    concentrations:
        ``(P, S)`` values (concentrations, or counts), column j for ``species[j]``.
    species:
        S species names.

    Raises
    ------
    ValueError
        Mismatched shapes.
    """
    times = np.asarray(times, dtype=np.float64)
    values = np.asarray(concentrations, dtype=np.float64)
    species = list(species)
    if times.ndim != 1 or values.shape != (times.shape[0], len(species)):
        raise ValueError(f"expected times (P,) and concentrations (P, {len(species)}), got "
                         f"{times.shape} and {values.shape}")
    write_csv_atomic(path, ["time", *species], np.column_stack([times, values]))


@dataclass(frozen=True, eq=False)
class Trajectory:
    """A deterministic time course.

    Attributes
    ----------
    times:
        ``(P,)`` float64 time points (time units).
    concentrations:
        ``(P, S)`` float64 concentrations; column j is species ``species[j]``.
    species:
        Species names (length S).
    num_steps:
        Number of solver steps taken (``None`` if not recorded).

    ``trajectory["A"]`` is the ``(P,)`` time course of A; ``trajectory.final`` is
    ``{species: concentration at times[-1]}``.
    """

    times: np.ndarray
    concentrations: np.ndarray
    species: tuple[str, ...]
    num_steps: int | None = None

    def index(self, species: str) -> int:
        """Column of ``species``. Raises :class:`~neuralcrn.errors.NetworkError` if unknown."""
        try:
            return self.species.index(species)
        except ValueError:
            raise NetworkError(f"unknown species {species!r}; the trajectory has "
                               f"{', '.join(self.species) or 'no species'}") from None

    def __getitem__(self, species: str) -> np.ndarray:
        return self.concentrations[:, self.index(species)]

    def __len__(self) -> int:
        return len(self.times)

    @property
    def final(self) -> dict[str, float]:
        """``{species: concentration at the last time point}``."""
        return {s: float(v) for s, v in zip(self.species, self.concentrations[-1])}

    def to_csv(self, path: str | os.PathLike) -> None:
        """Write a ``time`` column then one column per species (header = species names).

        Written atomically (temporary file in the same directory, then :func:`os.replace`).
        """
        write_trajectory_csv(path, self.times, self.concentrations, self.species)
