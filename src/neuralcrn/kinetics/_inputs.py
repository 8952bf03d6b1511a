"""Validation of user inputs shared by the ODE and stochastic simulators."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from ..chemistry.network import ReactionNetwork
from ..errors import NetworkError, SimulationError
from ._arrays import MassActionArrays, compile_network

__all__ = ["as_arrays", "time_grid", "initial_state", "rate_vector"]


def as_arrays(network: ReactionNetwork | MassActionArrays) -> MassActionArrays:
    """Compile a network (or pass :class:`MassActionArrays` through)."""
    if isinstance(network, MassActionArrays):
        return network
    return compile_network(network)


def time_grid(t_end, n_points, times) -> np.ndarray:
    """Output times ``(P,)``: ``times`` if given, else ``n_points`` evenly spaced in ``[0, t_end]``.

    Raises
    ------
    SimulationError
        Neither or conflicting ``t_end``/``times``; ``times`` not finite, not strictly increasing or
        starting before 0; ``t_end`` negative; ``n_points`` < 2.
    """
    if times is not None:
        ts = np.asarray(times, dtype=np.float64)
        if ts.ndim != 1 or ts.size == 0:
            raise SimulationError(f"times must be a non-empty 1-D sequence, got shape {ts.shape}")
        if not np.all(np.isfinite(ts)):
            raise SimulationError("times must be finite")
        if ts[0] < 0:
            raise SimulationError(f"times must start at t ≥ 0, got {ts[0]!r}")
        if np.any(np.diff(ts) <= 0):
            i = int(np.nonzero(np.diff(ts) <= 0)[0][0])
            raise SimulationError(f"times must be strictly increasing: times[{i}] = {ts[i]!r}, "
                                  f"times[{i + 1}] = {ts[i + 1]!r}")
        if t_end is not None and float(t_end) != ts[-1]:
            raise SimulationError(f"t_end = {t_end!r} disagrees with times[-1] = {ts[-1]!r}; "
                                  f"give one of them")
        return ts
    if t_end is None:
        raise SimulationError("give t_end (with n_points) or times")
    try:
        t_end = float(t_end)
    except (TypeError, ValueError):
        raise SimulationError(f"t_end must be a number, got {t_end!r}") from None
    if not math.isfinite(t_end) or t_end < 0:
        raise SimulationError(f"t_end must be finite and ≥ 0, got {t_end!r}")
    if isinstance(n_points, bool) or not isinstance(n_points, (int, np.integer)) or n_points < 2:
        raise SimulationError(f"n_points must be an integer ≥ 2, got {n_points!r}")
    if t_end == 0:
        raise SimulationError("t_end must be > 0 for a grid of n_points; use times=[0.0] "
                              "for the initial state alone")
    return np.linspace(0.0, t_end, int(n_points))


def initial_state(arrays: MassActionArrays, x0, *, what: str = "initial value") -> np.ndarray:
    """State ``(S,)`` float64 from ``None`` (network initial values), a mapping ``{species: value}``
    (overrides of the network's values) or a sequence aligned with ``arrays.species``.

    Raises
    ------
    SimulationError
        Unknown species, wrong length, or a value that is not finite and ≥ 0 (the message names
        the species and the value).
    """
    S = arrays.n_species
    if x0 is None:
        return np.array(arrays.initial, dtype=np.float64)
    if isinstance(x0, Mapping):
        x = np.array(arrays.initial, dtype=np.float64)
        index = {s: i for i, s in enumerate(arrays.species)}
        for s, v in x0.items():
            if s not in index:
                raise SimulationError(f"{what} given for unknown species {s!r}")
            try:
                x[index[s]] = float(v)
            except (TypeError, ValueError):
                raise SimulationError(f"{what} of {s!r} must be a number, got {v!r}") from None
    else:
        try:
            x = np.array(x0, dtype=np.float64)
        except (TypeError, ValueError):
            raise SimulationError(f"cannot read {what}s {x0!r} as numbers") from None
        if x.shape != (S,):
            raise SimulationError(f"expected {S} {what}s (one per species), got shape {x.shape}")
    bad = ~(np.isfinite(x) & (x >= 0))
    if np.any(bad):
        i = int(np.nonzero(bad)[0][0])
        raise SimulationError(f"{what} of {arrays.species[i]!r} must be finite and ≥ 0, "
                              f"got {x[i]!r}")
    return x


def rate_vector(arrays: MassActionArrays, rate_constants) -> np.ndarray:
    """Rate constants ``(R,)`` float64 (``None``: the network's).

    Raises
    ------
    NetworkError
        Wrong length, or a value that is not finite and ≥ 0 (names the reaction number).
    """
    if rate_constants is None:
        return np.array(arrays.rate_constants, dtype=np.float64)
    try:
        k = np.array(rate_constants, dtype=np.float64)
    except (TypeError, ValueError):
        raise NetworkError(f"cannot read rate constants {rate_constants!r} as numbers") from None
    if k.shape != (arrays.n_reactions,):
        raise NetworkError(f"expected {arrays.n_reactions} rate constants, got shape {k.shape}")
    bad = ~(np.isfinite(k) & (k >= 0))
    if np.any(bad):
        i = int(np.nonzero(bad)[0][0])
        raise NetworkError(f"rate constant of reaction #{i + 1} must be finite and ≥ 0, "
                           f"got {k[i]!r}")
    return k
