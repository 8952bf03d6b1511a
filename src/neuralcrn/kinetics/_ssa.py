"""Stochastic simulation on molecule counts: exact Gillespie direct method and tau-leaping.

Propensity convention (consistent with our ODE rate ``k·Π[X]^ν``, no 1/ν! factor): with molecule
counts n and a volume V in units where count = concentration · V,

    a = k · V · Π_X n_X (n_X − 1) ··· (n_X − ν_X + 1) / V^ν_X .

For ``2A -> B`` this is ``k·n(n−1)/V``; each firing removes two A, so in the large-volume limit
``d[A]/dt = −2k[A]²`` — exactly our ODE. The SBML/Gillespie convention for the same reaction is
``c·n(n−1)/2`` (a 1/ν! per species): an SBML stochastic rate constant c corresponds to our
``k = c / ν!`` at V = 1 (e.g. the SBML Test Suite's dimerisation ``k1·P·(P−1)/2`` is our 2P → P2
with k = k1/2).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..chemistry.network import ReactionNetwork
from ..errors import SimulationError
from ._arrays import MassActionArrays
from ._inputs import as_arrays, rate_vector, time_grid
from ._ssa_kernels import direct_kernel, tau_leap_kernel
from ._trajectory import write_csv_atomic

__all__ = ["StochasticTrajectory", "simulate_ssa", "initial_counts"]

SSA_METHODS = ("direct", "tau-leap")


@dataclass(frozen=True, eq=False)
class StochasticTrajectory:
    """Sample paths of a stochastic simulation, recorded at fixed times.

    Attributes
    ----------
    times:
        ``(P,)`` float64 time points.
    counts:
        ``(runs, P, S)`` int64 molecule counts: the state at time τ includes every event at or
        before τ.
    species:
        Species names (length S).
    volume:
        The volume V used (count = concentration · V).
    num_events:
        ``(runs,)`` int64 number of exact events plus leaps per run.

    ``traj["A"]`` is the ``(runs, P)`` count array of A.
    """

    times: np.ndarray
    counts: np.ndarray
    species: tuple[str, ...]
    volume: float
    num_events: np.ndarray

    @property
    def concentrations(self) -> np.ndarray:
        """``(runs, P, S)`` float64 concentrations ``counts / volume``."""
        return self.counts / self.volume

    @property
    def n_runs(self) -> int:
        """Number of runs."""
        return int(self.counts.shape[0])

    def index(self, species: str) -> int:
        """Column of ``species``. Raises :class:`~neuralcrn.errors.SimulationError` if unknown."""
        try:
            return self.species.index(species)
        except ValueError:
            raise SimulationError(f"unknown species {species!r}") from None

    def __getitem__(self, species: str) -> np.ndarray:
        return self.counts[:, :, self.index(species)]

    def mean(self) -> np.ndarray:
        """``(P, S)`` mean counts over runs."""
        return self.counts.mean(axis=0)

    def std(self) -> np.ndarray:
        """``(P, S)`` sample standard deviation of counts over runs (ddof = 1; 0 for one run)."""
        if self.n_runs < 2:
            return np.zeros(self.counts.shape[1:])
        return self.counts.std(axis=0, ddof=1)

    def to_csv(self, path, *, run: int | None = None) -> None:
        """Write counts as CSV, atomically.

        ``run=None``: ``time, <X>-mean..., <X>-sd...`` (the SBML Test Suite stochastic layout);
        ``run=i``: ``time`` then the counts of run i, one column per species.
        """
        if run is None:
            header = ["time", *(f"{s}-mean" for s in self.species),
                      *(f"{s}-sd" for s in self.species)]
            rows = np.column_stack([self.times, self.mean(), self.std()])
        else:
            header = ["time", *self.species]
            rows = np.column_stack([self.times, self.counts[run]])
        write_csv_atomic(path, header, rows)


def initial_counts(arrays: MassActionArrays, x0_counts, volume: float) -> np.ndarray:
    """Initial counts ``(S,)`` int64: ``None`` → ``round(initial concentration · volume)``; a mapping
    ``{species: count}`` overrides those; or an ``(S,)`` sequence.

    Raises
    ------
    SimulationError
        Unknown species, wrong length, or a count that is not a non-negative integer.
    """
    base = np.rint(np.asarray(arrays.initial, dtype=np.float64) * volume)
    if x0_counts is None:
        x = base
    elif isinstance(x0_counts, Mapping):
        x = base.copy()
        for s, v in x0_counts.items():
            if s not in arrays.species:
                raise SimulationError(f"initial count given for unknown species {s!r}")
            try:
                x[arrays.species.index(s)] = float(v)
            except (TypeError, ValueError):
                raise SimulationError(f"initial count of {s!r} must be a number, got {v!r}")
    else:
        try:
            x = np.array(x0_counts, dtype=np.float64)
        except (TypeError, ValueError):
            raise SimulationError(f"cannot read initial counts {x0_counts!r} as numbers") from None
        if x.shape != (arrays.n_species,):
            raise SimulationError(f"expected {arrays.n_species} initial counts, got shape {x.shape}")
    bad = ~(np.isfinite(x) & (x >= 0) & (x == np.round(x)) & (x < 2.0 ** 62))
    if np.any(bad):
        i = int(np.nonzero(bad)[0][0])
        raise SimulationError(f"initial count of {arrays.species[i]!r} must be a non-negative "
                              f"integer, got {x[i]!r}")
    return x.astype(np.int64)


def _highest_order(arrays: MassActionArrays) -> tuple[np.ndarray, np.ndarray]:
    """Per species: highest molecularity of a reaction consuming it, and its largest stoichiometry
    in reactions of that molecularity (Cao et al. 2006's HOR and the ν behind g_i)."""
    S = arrays.n_species
    hor = np.zeros(S, dtype=np.int64)
    nu = np.zeros(S, dtype=np.int64)
    for row in arrays.reactant_index:
        order = int(np.sum(row < S))
        for i in set(int(i) for i in row if i < S):
            m = int(np.sum(row == i))
            if order > hor[i]:
                hor[i], nu[i] = order, m
            elif order == hor[i]:
                nu[i] = max(nu[i], m)
    return hor, nu


def _change_csr(arrays: MassActionArrays):
    order = np.argsort(arrays.stoich_reaction, kind="stable")
    reaction = arrays.stoich_reaction[order]
    ptr = np.searchsorted(reaction, np.arange(arrays.n_reactions + 1)).astype(np.int64)
    species = np.ascontiguousarray(arrays.stoich_species[order], dtype=np.int64)
    value = arrays.stoich_value[order]
    if np.any(value != np.round(value)):
        raise SimulationError("stochastic simulation needs integer stoichiometry")
    return ptr, species, np.ascontiguousarray(value, dtype=np.int64)


def simulate_ssa(network: ReactionNetwork | MassActionArrays, t_end: float | None = None,
                 n_points: int = 101, *, times=None, volume: float = 1.0, x0_counts=None,
                 n_runs: int = 1, seed: int = 0, method: str = "direct",
                 tau: float | None = None, epsilon: float = 0.03, rate_constants=None,
                 max_events: int = 100_000_000) -> StochasticTrajectory:
    """Stochastic simulation of a network on molecule counts, recorded at fixed times.

    Parameters
    ----------
    network:
        A :class:`~neuralcrn.chemistry.ReactionNetwork` or its :class:`MassActionArrays`.
    t_end, n_points, times:
        Output times, as in :func:`~neuralcrn.kinetics.simulate` (time units, start from t = 0).
    volume:
        V > 0; count = concentration · V, propensities as in the module docstring.
    x0_counts:
        ``None`` (``round(network initial · V)``), ``{species: count}`` overrides, or ``(S,)``.
    n_runs, seed:
        Independent runs, generated in sequence from one seeded numba RNG: the same seed and
        arguments give the same counts.
    method:
        ``"direct"`` — exact SSA (Gillespie 1977, J. Phys. Chem. 81, 2340), all propensities
        recomputed per event (O(R·q)); ``"tau-leap"`` — Poisson tau-leaping (Gillespie 2001),
        adaptive step (Cao, Gillespie & Petzold 2006) with critical reactions, or fixed leaps if
        ``tau`` is given (approximate; bias O(tau)).
    tau, epsilon:
        Fixed leap length (time units) for ``"tau-leap"``; relative-change bound of the adaptive
        step (default 0.03).
    rate_constants:
        ``(R,)`` rate constants replacing the network's.
    max_events:
        Per-run limit on events plus leaps.

    Returns
    -------
    StochasticTrajectory
        ``counts`` ``(runs, P, S)`` int64; ``.concentrations`` divides by V.

    Raises
    ------
    SimulationError
        Bad arguments or initial counts, or a run exceeding ``max_events``.
    NetworkError
        Bad ``rate_constants``.
    """
    arrays = as_arrays(network)
    ts = time_grid(t_end, n_points, times)
    if not isinstance(volume, numbers.Real) or not np.isfinite(volume) or volume <= 0:
        raise SimulationError(f"volume must be a finite number > 0, got {volume!r}")
    volume = float(volume)
    x0 = initial_counts(arrays, x0_counts, volume)
    k = rate_vector(arrays, rate_constants)
    for name, v in (("n_runs", n_runs), ("max_events", max_events)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise SimulationError(f"{name} must be an integer ≥ 1, got {v!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2 ** 32:
        raise SimulationError(f"seed must be an integer in [0, 2**32), got {seed!r}")
    if method not in SSA_METHODS:
        raise SimulationError(f"unknown stochastic method {method!r}; choose one of "
                              f"{', '.join(SSA_METHODS)}")
    if tau is not None:
        if method != "tau-leap":
            raise SimulationError("tau is only used with method='tau-leap'")
        if not isinstance(tau, numbers.Real) or not np.isfinite(tau) or tau <= 0:
            raise SimulationError(f"tau must be a finite number > 0, got {tau!r}")
    if not isinstance(epsilon, numbers.Real) or not 0 < epsilon < 1:
        raise SimulationError(f"epsilon must be in (0, 1), got {epsilon!r}")

    ptr, change_species, change_value = _change_csr(arrays)
    index = np.ascontiguousarray(arrays.reactant_index, dtype=np.int32)
    repeat = np.ascontiguousarray(arrays.reactant_repeat, dtype=np.int32)
    out = np.zeros((int(n_runs), len(ts), arrays.n_species), dtype=np.int64)
    events = np.zeros(int(n_runs), dtype=np.int64)
    common = (index, repeat, ptr, change_species, change_value, np.ascontiguousarray(k), volume,
              x0, np.ascontiguousarray(ts), np.int64(n_runs), np.int64(seed), np.int64(max_events),
              out, events)
    if method == "direct":
        direct_kernel(*common)
    else:
        hor, nu = _highest_order(arrays)
        tau_leap_kernel(*common, float(tau or 0.0), float(epsilon), np.int64(10), hor, nu)
    if np.any(events < 0):
        run = int(np.nonzero(events < 0)[0][0])
        raise SimulationError(f"run {run} exceeded max_events = {max_events} before t = "
                              f"{ts[-1]:.6g}; the network may grow without bound — use a shorter "
                              f"t_end, method='tau-leap' or raise max_events")
    return StochasticTrajectory(ts, out, arrays.species, volume, events)
