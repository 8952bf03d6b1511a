"""Stochastic simulation on molecule counts: exact SSA, tau-leaping and the chemical Langevin
equation (kernels: :mod:`._ssa_kernels`, :mod:`._tau_kernels`, :mod:`._cle_kernels`).

Propensity convention (consistent with our ODE rate ``k·Π[X]^ν``, no 1/ν! factor; SPEC §8): with
molecule counts n and a volume Ω (molecules per unit concentration: count = concentration · Ω),

    a = k · Ω · Π_X n_X (n_X − 1) ··· (n_X − ν_X + 1) / Ω^ν_X .

For ``2A -> B`` this is ``k·n(n−1)/Ω``; each firing removes two A, so in the large-Ω limit
``d[A]/dt = −2k[A]²`` — exactly our ODE. The SBML/Gillespie convention for the same reaction is
``c·n(n−1)/2`` (a 1/ν! per species): an SBML stochastic rate constant c corresponds to our
``k = c / ν!`` at Ω = 1 (e.g. the SBML Test Suite's dimerisation ``k1·P·(P−1)/2`` is our 2P → P2
with k = k1/2).

**Constant species.** A constant species keeps its count n_K = round(c_K·Ω) for the whole run,
and its factor in a propensity is the same falling factorial of that held count: ``2K → …``
fires at ``k·n_K(n_K−1)/Ω`` (as if every consumed K were replaced at once, e.g. by a chemostat),
``K → …`` at ``k·n_K``. For large counts this tends to the ODE's ``k[K]²·Ω``; for n_K = 1 the
reaction ``2K → …`` never fires.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import SimulationError
from ._arrays import MassActionArrays
from ._inputs import as_arrays, rate_vector, time_grid
from ._phased import MAX_EXACT_COUNT, check_volume, phased_network
from ._trajectory import write_csv_atomic

__all__ = ["StochasticTrajectory", "simulate_ssa", "initial_counts", "SSA_METHODS",
           "DEFAULT_EPSILON", "DEFAULT_CLE_DT", "DEFAULT_CLE_RTOL"]

SSA_METHODS = ("direct", "tau-leap", "cle")
"""Methods of :func:`simulate_ssa` (``"ssa"`` is accepted for ``"direct"``)."""

DEFAULT_EPSILON = 0.03
"""Default ε of adaptive tau-leaping (the relative-change bound of Cao et al. 2006)."""

DEFAULT_CLE_DT = 1e-2
"""Default largest CLE step (time units)."""

DEFAULT_CLE_RTOL = 1e-3
"""Default relative tolerance of the CLE's drift (adaptive steps; 0 = fixed steps of dt)."""


@dataclass(frozen=True, eq=False)
class StochasticTrajectory:
    """Sample paths of a stochastic simulation, recorded at fixed times.

    Attributes
    ----------
    times:
        ``(P,)`` float64 time points.
    counts:
        ``(runs, P, S)`` molecule counts: int64 (exact SSA, tau-leaping; the state at time τ
        includes every event at or before τ) or float64 (CLE: continuous, non-negative).
    species:
        Species names (length S).
    volume:
        Ω, molecules per unit concentration (count = concentration · Ω).
    num_events:
        ``(runs,)`` int64 number of exact events plus leaps (CLE: steps) per run.
    method:
        ``"direct"``, ``"tau-leap"`` or ``"cle"``.

    ``traj["A"]`` is the ``(runs, P)`` count array of A.
    """

    times: np.ndarray
    counts: np.ndarray
    species: tuple[str, ...]
    volume: float
    num_events: np.ndarray
    method: str = "direct"

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
    """Initial counts ``(S,)`` int64: ``None`` → ``round(initial concentration · Ω)`` (nearest
    integer, ties to even); a mapping ``{species: count}`` overrides those; or an ``(S,)``
    sequence.

    Raises
    ------
    SimulationError
        Unknown species, wrong length, a count that is not a non-negative integer, or one too
        large to count exactly (≥ 2^53; the message names the species and the concentration).
    """
    conc = np.asarray(arrays.initial, dtype=np.float64)
    base = np.rint(conc * volume)
    too_big = ~(base < MAX_EXACT_COUNT)
    if x0_counts is None and np.any(too_big):
        i = int(np.nonzero(too_big)[0][0])
        raise SimulationError(
            f"initial amount of {arrays.species[i]!r} is {conc[i]!r} × Ω = {conc[i] * volume:.4g} "
            f"molecules at Ω = {volume:g}: too many to count exactly (limit 2^53 ≈ 9.0e15); use "
            f"a smaller volume, or the ODE")
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
    bad = ~(np.isfinite(x) & (x >= 0) & (x == np.round(x)) & (x < MAX_EXACT_COUNT))
    if np.any(bad):
        i = int(np.nonzero(bad)[0][0])
        raise SimulationError(f"initial count of {arrays.species[i]!r} must be a non-negative "
                              f"integer below 2^53, got {x[i]!r}")
    return x.astype(np.int64)


def _network_and_volume(network, volume):
    """(arrays, Ω): an :class:`~neuralcrn.chemistry.SBMLImport` brings its own Ω (compartment
    size × molecules per substance unit) unless ``volume`` is given."""
    if hasattr(network, "stochastic_volume") and hasattr(network, "network"):
        if volume is None:
            volume = network.stochastic_volume()
        network = network.network
    return as_arrays(network), check_volume(1.0 if volume is None else volume)


def _check_int(name, v, lo=1):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < lo:
        raise SimulationError(f"{name} must be an integer ≥ {lo}, got {v!r}")


def _check_positive(name, v):
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not np.isfinite(v) or v <= 0:
        raise SimulationError(f"{name} must be a finite number > 0, got {v!r}")


def simulate_ssa(network, t_end: float | None = None, n_points: int = 101, *, times=None,
                 volume: float | None = None, x0_counts=None, n_runs: int = 1, seed: int = 0,
                 method: str = "direct", tau: float | None = None,
                 epsilon: float = DEFAULT_EPSILON, dt: float = DEFAULT_CLE_DT,
                 rtol: float = DEFAULT_CLE_RTOL, rate_constants=None,
                 max_events: int = 100_000_000) -> StochasticTrajectory:
    """Stochastic simulation of a network on molecule counts, recorded at fixed times.

    Parameters
    ----------
    network:
        A :class:`~neuralcrn.chemistry.ReactionNetwork`, its :class:`MassActionArrays`, or an
        :class:`~neuralcrn.chemistry.SBMLImport` (which brings its own Ω, see ``volume``).
    t_end, n_points, times:
        Output times, as in :func:`~neuralcrn.kinetics.simulate` (time units, start from t = 0).
    volume:
        Ω > 0, molecules per unit concentration (count = concentration · Ω; propensities as in
        the module docstring). Default: 1 for a network; for an ``SBMLImport`` its compartment
        size × molecules per substance unit
        (:meth:`~neuralcrn.chemistry.SBMLImport.stochastic_volume`).
    x0_counts:
        ``None`` (``round(network initial · Ω)``), ``{species: count}`` overrides, or ``(S,)``.
    n_runs, seed:
        Independent runs, generated in sequence from one seeded numba RNG: the same seed and
        arguments give the same counts.
    method:
        ``"direct"`` (or ``"ssa"``) — exact SSA (Gillespie 1977), direct method with a dependency
        graph and a two-level search; ``"tau-leap"`` — non-negative trapezoidal tau-leaping
        (Anderson & Mattingly 2011) with Cao–Gillespie–Petzold (2006) step selection
        (``epsilon``) and exact critical reactions, or leaps of ``tau`` if given; output times
        inside a leap are filled by binomial bridging, so the leaps do not depend on the output
        grid; ``"cle"`` — the chemical Langevin equation (stiff-stable Rosenbrock-W drift,
        Euler–Maruyama noise, kept non-negative; steps ≤ ``dt`` adapted to the drift's
        ``rtol``, ending on every output time).
    tau, epsilon, dt, rtol:
        Fixed leap length (time units; ``"tau-leap"`` only); relative-change bound of the
        adaptive leap (default 0.03); largest CLE step (default 1e-2) and relative tolerance of
        its drift (default 1e-3; 0: equal fixed steps ≤ dt).
    rate_constants:
        ``(R,)`` rate constants replacing the network's.
    max_events:
        Per-run limit on events plus leaps.

    Returns
    -------
    StochasticTrajectory
        ``counts`` ``(runs, P, S)`` (int64; float64 for the CLE); ``.concentrations`` divides
        by Ω.

    Raises
    ------
    SimulationError
        Bad arguments or initial counts, non-integer stoichiometry, or a run exceeding
        ``max_events``.
    NetworkError
        Bad ``rate_constants``.
    UnsupportedSBMLError
        An ``SBMLImport`` whose Ω is not defined (species in compartments of different sizes or
        in different substance units).
    """
    from ._protocol_kernels import CLE, EXACT, record_runs
    from ._tau_kernels import tau_record

    method = "direct" if method == "ssa" else method
    if method not in SSA_METHODS:
        raise SimulationError(f"unknown stochastic method {method!r}; choose one of "
                              f"{', '.join(SSA_METHODS)} (or 'ssa')")
    arrays, volume = _network_and_volume(network, volume)
    ts = time_grid(t_end, n_points, times)
    x0 = initial_counts(arrays, x0_counts, volume)
    k = rate_vector(arrays, rate_constants)
    _check_int("n_runs", n_runs)
    _check_int("max_events", max_events)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2 ** 32:
        raise SimulationError(f"seed must be an integer in [0, 2**32), got {seed!r}")
    if tau is not None:
        if method != "tau-leap":
            raise SimulationError("tau is only used with method='tau-leap'")
        _check_positive("tau", tau)
    if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) \
            or not 0 < epsilon < 1:
        raise SimulationError(f"epsilon must be in (0, 1), got {epsilon!r}")
    _check_positive("dt", dt)
    if isinstance(rtol, bool) or not isinstance(rtol, numbers.Real) or not 0 <= rtol < 1:
        raise SimulationError(f"rtol must be in [0, 1), got {rtol!r}")

    net = phased_network(arrays, k, volume)
    ts = np.ascontiguousarray(ts, dtype=np.float64)
    x0f = x0.astype(np.float64)
    events = np.zeros(int(n_runs), dtype=np.int64)
    out = np.zeros((int(n_runs), len(ts), arrays.n_species), dtype=np.float64)
    if method == "tau-leap":
        tau_record(net, x0f, ts, np.int64(n_runs), np.int64(seed), float(epsilon),
                   float(tau or 0.0), np.int64(max_events), out, events)
    else:
        record_runs(EXACT if method == "direct" else CLE, net, x0f, ts, np.int64(n_runs),
                    np.int64(seed), float(epsilon), float(dt), float(rtol),
                    np.int64(max_events), out, events)
    if np.any(events < 0):
        run = int(np.nonzero(events < 0)[0][0])
        raise SimulationError(f"run {run} exceeded max_events = {max_events} before t = "
                              f"{ts[-1]:.6g}; the network may grow without bound — use a shorter "
                              f"t_end, method='tau-leap' or raise max_events")
    counts = out if method == "cle" else out.astype(np.int64)
    return StochasticTrajectory(ts, counts, arrays.species, volume, events, method)
