"""Stochastic chemical training: every phase of every step simulated on molecule counts.

The protocol is the circuit's :class:`~neuralcrn.compiler.StepProgram` — the same phases, rate
constants, durations, keep (wash) mask and load positions the ODE training runs — consumed here
as arrays (:func:`stochastic_protocol`) and run by one numba call per epoch and replicate
(:func:`neuralcrn.kinetics._protocol_kernels.run_steps`), with one of

* ``"ssa"`` — the exact SSA (direct method, dependency graph, two-level search);
* ``"tau-leap"`` — trapezoidal tau-leaping with exact critical reactions (non-negative);
* ``"cle"`` — the chemical Langevin equation (stiff-stable, non-negative, continuous counts).

**Molecules.** Ω = molecules per unit concentration. The host loads x, y (and z(0) = u) as counts
``rint(Ω·value)`` into the rail of the value's sign (nearest integer, ties to even — a pipetting
of the nominal amount; the noise is the reactions' own), washes by setting the transient species
to 0, and switches phases. The initial parameters are loaded the same way once; afterwards the
parameters exist only as counts, carried from step to step and epoch to epoch (the CLE carries
its continuous counts). Propensities follow SPEC §8 (no 1/ν!, falling factorials).

**Noise streams.** Replicate k (seed s + k, as for its data set, initial parameters and sample
order) draws its noise in epoch e from numba's generator seeded with
``SeedSequence([s + k, e, 1])``; evaluation forward passes use ``SeedSequence([s + k, 2])``. So a
run is reproducible per seed, the K replicates are independent noise streams, and replicate 0 is
the single run with seed s.

The per-point function of the Ω study and of robustness studies is
:func:`train_stochastic_point` ("train one configuration at one Ω with one seed → metrics").
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np

from ..compiler import load_sample
from ..errors import SimulationError, SpecError
from ..kinetics import compile_network
from ..kinetics._phased import check_volume, count_state, phased_network
from ..kinetics._ssa import DEFAULT_CLE_DT, DEFAULT_CLE_RTOL, DEFAULT_EPSILON

__all__ = ["STOCHASTIC_KINETICS", "KINETICS", "StochasticProtocol", "stochastic_protocol",
           "StochasticEpoch", "stochastic_forward", "train_stochastic_point",
           "check_stochastic_config", "stochastic_parts", "DEFAULT_EPSILON", "DEFAULT_CLE_DT",
           "DEFAULT_CLE_RTOL", "MAX_EVENTS_PER_PHASE"]

STOCHASTIC_KINETICS = ("ssa", "tau-leap", "cle")
KINETICS = ("ode",) + STOCHASTIC_KINETICS
"""``TrainConfig.kinetics``: the ODE (default) or one of the stochastic methods."""

MAX_EVENTS_PER_PHASE = 10 ** 11
"""Events (firings + leaps) allowed in one phase before the run is stopped with an error."""

RUNAWAY_FACTOR = 200.0
"""Exact SSA: a phase may fire at most this many times the firings the ODE predicts for the
first step with its sample loaded (and at least 1e6) — more means the counts have grown without
bound (a diverging training at a small Ω), and the run stops with a SimulationError instead of
running for days."""

_NOISE, _EVAL = 1, 2

EVENT_NAMES = {"ssa": "reaction firing", "tau-leap": "leap or exact firing",
               "cle": "CLE time step"}


class StochasticProtocol(NamedTuple):
    """A :class:`~neuralcrn.compiler.StepProgram` as the arrays of the numba protocol kernel.

    net:           :class:`~neuralcrn.kinetics._phased.PhasedNetwork` of the program's phases.
    durations:     ``(P,)`` phase lengths.
    keep:          ``(S,)`` 1.0 kept / 0.0 washed before each step.
    load_index:    ``(L,)`` int64 species set by the host before each step: x⁺, x⁻, y⁺, y⁻,
                   z(0)⁺, z(0)⁻ (rails the circuit does not have are left out: ``load_cols``
                   ``(L,)`` says which of those 2d + 2m + 2n_z0 values each position takes).
    readout:       ``(m, S)`` ŷ = readout @ counts / Ω after phase ``readout_phase``.
    readout_phase: int.
    u_const:       ``(n_u − d,)`` constant drive entries (for z(0) = u).
    n_z0:          number of z rails loaded with u (0 when z(0) = 0).
    y_weight:      w of the step loss ½‖ŷ − w·y‖² (``Probe.y_weight``; 1, or 0 for a circuit
                   whose read-out is already the error).
    extra_counts:  ``(L_e,)`` counts of the last L_e ``load_index`` positions, the same every step
                   (the autonomous clock's pacemaker dose, round(Ω·b)).
    """

    net: object
    durations: np.ndarray
    keep: np.ndarray
    load_index: np.ndarray
    readout: np.ndarray
    readout_phase: int
    u_const: np.ndarray
    n_z0: int
    load_cols: np.ndarray
    y_weight: float
    extra_counts: np.ndarray = np.zeros(0)

    @property
    def volume(self) -> float:
        return float(self.net.volume)

    def load_counts(self, X, Y) -> np.ndarray:
        """``(N, L)`` counts the host loads for samples X ``(N, d)``, Y ``(N, m)``."""
        X = np.asarray(X, dtype=np.float64)
        X = X if X.ndim == 2 else X.reshape(1, -1)
        Y = np.asarray(Y, dtype=np.float64).reshape(len(X), self.readout.shape[0])
        U = np.concatenate([X, np.broadcast_to(self.u_const, (len(X), self.u_const.size))],
                           axis=1)[:, :self.n_z0]
        vals = np.concatenate([np.maximum(X, 0), np.maximum(-X, 0), np.maximum(Y, 0),
                               np.maximum(-Y, 0), np.maximum(U, 0), np.maximum(-U, 0)], axis=1)
        counts = count_state(vals[:, self.load_cols], self.volume, None, "loaded sample")
        extra = np.broadcast_to(self.extra_counts, (len(X), self.extra_counts.size))
        return np.ascontiguousarray(np.concatenate([counts, extra], axis=1))


def firing_priority(setup, state, sample=None) -> np.ndarray:
    """``(P, R)`` expected firings per unit Ω of every reaction in each phase of one step from
    ``state`` (concentrations; the host's wash applied; ``sample`` ``(x, y)`` loaded if given,
    else nothing): ∫ rate dt of the ODE (scipy LSODA, loose tolerances). Used to order the
    exact SSA's search (hot reactions first, from the unloaded state) and to size its runaway
    limit (:data:`RUNAWAY_FACTOR`), never to change the simulated process."""
    from scipy.integrate import solve_ivp
    prog = setup.program
    arrays = compile_network(setup.circuit.network)
    idx, stoich = np.asarray(arrays.reactant_index), np.asarray(arrays.stoich)
    if sample is None:
        s = np.asarray(state, dtype=np.float64) * np.asarray(prog.keep)
    else:
        s = np.asarray(load_sample(prog, np.asarray(state, dtype=np.float64),
                                   *(np.asarray(v, dtype=np.float64) for v in sample)))
    out = []
    for k, dur in zip(np.asarray(prog.rate_constants), np.asarray(prog.durations)):
        def rates(x, k=k):
            return k * np.prod(np.append(np.maximum(x, 0.0), 1.0)[idx], axis=1)
        sol = solve_ivp(lambda t, x: stoich @ rates(x), (0.0, float(dur)), s, method="LSODA",
                        rtol=1e-4, atol=1e-8, dense_output=True)
        ts = np.linspace(0.0, float(dur), 41)
        out.append(np.trapezoid(np.array([rates(sol.sol(t)) for t in ts]), ts, axis=0))
        s = sol.y[:, -1]
    return np.asarray(out)


def check_countable(state, volume: float, species) -> None:
    """Refuse a training state ``(S,)`` (concentrations) of which every non-zero amount rounds to
    0 molecules at Ω = ``volume`` (the circuit would start without parameters or drive and learn
    nothing): SimulationError naming the largest amount."""
    c = np.asarray(state, dtype=np.float64)
    if c.shape != (len(species),):
        raise ValueError(f"check_countable takes one state of {len(species)} species, got "
                         f"shape {np.shape(state)}")
    if np.any(c > 0) and not np.any(np.rint(c * volume) > 0):
        big = int(np.argmax(c))
        raise SimulationError(
            f"at Ω = {volume:g} every amount of the training state rounds to 0 molecules (the "
            f"largest, species {species[big]!r} = {float(c[big]):g}, is "
            f"{float(c[big]) * volume:.3g} molecules): the circuit would hold no parameters; "
            f"use a larger Ω (the tasks learn from Ω ≈ 10–1000 on, docs/stochastic.md)")


def stochastic_protocol(setup, volume: float, priority=None) -> StochasticProtocol:
    """The :class:`StochasticProtocol` of a :class:`~neuralcrn.training.ChemicalSetup` (its
    circuit and ``StepProgram``) at Ω = ``volume``; ``priority`` ``(P, R)`` orders each phase's
    reactions for the exact SSA's search (:func:`firing_priority`). Raises SimulationError for
    a bad Ω."""
    volume = check_volume(volume)
    prog = setup.program
    arrays = compile_network(setup.circuit.network)
    net = phased_network(arrays, np.asarray(prog.rate_constants), volume, priority)
    idx = np.concatenate([np.asarray(a, dtype=np.int64) for a in (
        prog.x_plus, prog.x_minus, prog.y_plus, prog.y_minus, prog.z0_plus, prog.z0_minus)])
    cols = np.flatnonzero(idx < arrays.n_species)   # a value without a rail of its sign is skipped
    w = getattr(setup.probe, "y_weight", None)
    extra_index, extra = np.zeros(0, np.int64), np.zeros(0)
    if prog.dose is not None and prog.pace is not None:
        extra_index = np.asarray([int(prog.pace)], dtype=np.int64)
        extra = count_state(np.asarray([float(prog.dose)]), volume, None, "pacemaker dose")
    return StochasticProtocol(
        net=net, durations=np.ascontiguousarray(np.asarray(prog.durations, dtype=np.float64)),
        keep=np.ascontiguousarray(np.asarray(prog.keep, dtype=np.float64)),
        load_index=np.ascontiguousarray(np.concatenate([idx[cols], extra_index])),
        readout=np.ascontiguousarray(np.asarray(setup.probe.readout, dtype=np.float64)),
        readout_phase=int(setup.probe.readout_phase),
        u_const=np.asarray(prog.u_const, dtype=np.float64).reshape(-1),
        n_z0=int(np.asarray(prog.z0_plus).size), load_cols=cols,
        y_weight=1.0 if w is None else float(np.asarray(w)),
        extra_counts=np.asarray(extra, dtype=np.float64))


def check_stochastic_config(config) -> None:
    """Validate the stochastic fields of a TrainConfig (kinetics, volume, tau_epsilon, cle_dt);
    raises SpecError naming the field."""
    import numbers
    if config.kinetics not in KINETICS:
        raise SpecError(f"unknown kinetics {config.kinetics!r}; choose one of "
                        f"{', '.join(KINETICS)}")
    real = lambda v: isinstance(v, numbers.Real) and not isinstance(v, bool)  # noqa: E731
    if config.kinetics == "ode":
        if config.volume is not None:
            raise SpecError("volume Ω is used only with stochastic kinetics (ssa, tau-leap, "
                            "cle); the ODE works in concentrations")
    else:
        if config.mode != "chemical":
            raise SpecError(f"kinetics {config.kinetics!r} simulates the chemistry; it needs "
                            f"mode 'chemical', not {config.mode!r}")
        if config.volume is None:
            raise SpecError(f"kinetics {config.kinetics!r} needs a volume Ω (molecules per unit "
                            f"concentration), e.g. --volume 1000")
        if not real(config.volume) or not np.isfinite(config.volume) or config.volume <= 0:
            raise SpecError(f"volume Ω must be a finite number > 0, got {config.volume!r}")
    if not real(config.tau_epsilon) or not 0 < config.tau_epsilon < 1:
        raise SpecError(f"tau_epsilon (--tau-epsilon) must be in (0, 1), got "
                        f"{config.tau_epsilon!r}")
    if not real(config.cle_dt) or not np.isfinite(config.cle_dt) or config.cle_dt <= 0:
        raise SpecError(f"cle_dt (--cle-dt) must be a finite number > 0, got {config.cle_dt!r}")
    if not real(config.cle_rtol) or not 0 <= config.cle_rtol < 1:
        raise SpecError(f"cle_rtol (--cle-rtol) must be in [0, 1), got {config.cle_rtol!r}")


def stochastic_parts(config, setup, seeds) -> "StochasticEpoch":
    """The warmed :class:`StochasticEpoch` of a TrainConfig with stochastic kinetics."""
    epoch = StochasticEpoch(setup, stochastic_protocol(setup, config.volume), config.kinetics,
                            seeds, config.tau_epsilon, config.cle_dt, config.cle_rtol)
    epoch.warm_up()
    return epoch


def _seed(*parts) -> int:
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


def _method_args(kinetics: str, epsilon: float, dt: float, rtol: float):
    from ..kinetics._protocol_kernels import METHOD_CODES
    return METHOD_CODES[kinetics], float(epsilon), float(dt), float(rtol)


class StochasticEpoch:
    """Stochastic counterpart of :class:`~neuralcrn.training.CompiledEpoch`: the same call
    ``epoch(setup, state, X, Y) -> (state, losses)`` (state ``(S,)`` with X ``(N, d)``, or
    ``(K, S)`` with ``(K, N, d)``), states in concentrations = counts / Ω.

    Each call is the next epoch (its noise seeds come from the replicate seeds and an epoch
    counter). The counts themselves are kept between calls, so the CLE's continuous counts are
    never rounded. With ``reorder`` (exact SSA only) the first call orders each phase's
    reactions by their expected firings from the initial state (:func:`firing_priority`; speed
    only). Statistics: :attr:`events` (per replicate, list of ``(N, P)`` arrays of
    events per step and phase), :attr:`stats` (per replicate: exact firings, leaps or CLE
    steps, CLE projections), :attr:`seconds` and :attr:`cpu_seconds` (wall and thread CPU time
    in the kernels; on a busy machine the CPU time is the comparable one).
    """

    def __init__(self, setup, protocol: StochasticProtocol, kinetics: str, seeds,
                 epsilon: float = DEFAULT_EPSILON, dt: float = DEFAULT_CLE_DT,
                 rtol: float = DEFAULT_CLE_RTOL, reorder: bool = True):
        if kinetics not in STOCHASTIC_KINETICS:
            raise SpecError(f"unknown stochastic kinetics {kinetics!r}; choose one of "
                            f"{', '.join(STOCHASTIC_KINETICS)}")
        self.protocol = protocol
        self.kinetics = kinetics
        self.seeds = [int(s) for s in seeds]
        self.method, self.epsilon, self.dt, self.rtol = _method_args(kinetics, epsilon, dt,
                                                                     rtol)
        self.species = setup.circuit.species
        self._modules = tuple(setup.circuit.module_names)
        self._reorder = reorder and kinetics == "ssa"
        self._d = setup.spec.inputs
        self.epoch = 0
        self.events = [[] for _ in self.seeds]
        self.stats = np.zeros((len(self.seeds), 3))
        self.max_events = MAX_EVENTS_PER_PHASE
        self._limit_state = None
        self.seconds = 0.0
        self.cpu_seconds = 0.0
        self.compile_seconds = 0.0
        self._counts = None
        self._last = None

    def warm_up(self) -> float:
        """Load (or compile) the numba kernels with a zero-length epoch; returns seconds."""
        from ..kinetics._protocol_kernels import run_steps
        t0 = time.perf_counter()
        p = self.protocol
        S = p.keep.shape[0]
        run_steps(self.method, p.net, p.durations, p.keep, p.load_index,
                  np.zeros((0, p.load_index.size)), np.zeros(S), p.readout, p.readout_phase,
                  np.zeros((0, p.readout.shape[0])), 0, self.epsilon, self.dt, self.rtol, 1,
                  np.zeros(0), np.zeros((0, p.durations.size), dtype=np.int64), np.zeros(3))
        stochastic_forward(p, self.kinetics, np.zeros(S), np.zeros((0, self._d)), 0,
                           epsilon=self.epsilon, dt=self.dt, rtol=self.rtol)
        self.compile_seconds = time.perf_counter() - t0
        return self.compile_seconds

    def order_from(self, setup, state) -> None:
        """Exact SSA: order each phase's reactions by their expected firings from ``state``
        (concentrations; :func:`firing_priority`) and set the runaway limit from them. Done
        once (the first call does it from its own state unless this was called before — a
        resumed run passes the run's initial state, so its search order, hence its noise
        realisation, is the uninterrupted run's). The runaway limit is set on the next call
        from the same state with that call's first sample loaded (an unloaded step fires far
        less than a real one)."""
        self._reorder = False
        if self.kinetics != "ssa":
            return
        priority = firing_priority(setup, state)
        self.protocol = stochastic_protocol(setup, self.protocol.volume, priority)
        self._limit_state = np.asarray(state, dtype=np.float64)

    def _set_limit(self, setup, x, y) -> None:
        """max_events = RUNAWAY_FACTOR × Ω × the busiest phase's expected firings of one step
        with sample (x, y) loaded into the ordering state (at least 1e6)."""
        loaded = firing_priority(setup, self._limit_state, (x, y))
        self._limit_state = None
        self.max_events = int(min(MAX_EVENTS_PER_PHASE, max(
            1e6, RUNAWAY_FACTOR * self.protocol.volume * float(np.max(loaded.sum(axis=1))))))

    def _counts_of(self, state) -> np.ndarray:
        state = np.asarray(state, dtype=np.float64)
        if self._last is not None and state.shape == self._last.shape \
                and np.array_equal(state, self._last):
            return self._counts
        return count_state(state, self.protocol.volume, self.species, "training state")

    def __call__(self, setup, state, X, Y):
        from ..kinetics._protocol_kernels import run_steps
        X = np.asarray(X, dtype=np.float64)
        batched = X.ndim == 3
        Xs = X if batched else X[None]
        Ys = np.asarray(Y, dtype=np.float64)
        Ys = Ys if batched else Ys[None]
        counts = self._counts_of(np.asarray(state)[None] if not batched else state).copy()
        if self._reorder:
            self.order_from(setup, counts[0] / self.protocol.volume)
        if self._limit_state is not None and Xs.shape[1]:
            self._set_limit(setup, Xs[0, 0], Ys[0, 0])
        K, N = Xs.shape[0], Xs.shape[1]
        if K != len(self.seeds):
            raise SpecError(f"expected {len(self.seeds)} replicates, got {K}")
        p = self.protocol
        losses = np.zeros((K, N))
        t0, c0 = time.perf_counter(), time.thread_time()
        for k in range(K):
            ev = np.zeros((N, p.durations.size), dtype=np.int64)
            Yk = np.ascontiguousarray(Ys[k].reshape(N, -1))
            rc = run_steps(self.method, p.net, p.durations, p.keep, p.load_index,
                           p.load_counts(Xs[k], Yk), counts[k], p.readout, p.readout_phase,
                           p.y_weight * Yk, _seed(self.seeds[k], self.epoch, _NOISE), self.epsilon, self.dt,
                           self.rtol, self.max_events, losses[k], ev, self.stats[k])
            if rc:
                raise SimulationError(
                    f"stochastic training stopped in epoch {self.epoch + 1}, step {rc} "
                    f"(replicate seed {self.seeds[k]}): more than {self.max_events:.3g} events "
                    f"in one phase" + (f" ({RUNAWAY_FACTOR:g}× what the first step needs: the "
                                       f"counts grew without bound — the training diverges at "
                                       f"Ω = {p.volume:g})" if self.max_events
                                       < MAX_EVENTS_PER_PHASE else
                                       "; use a smaller Ω or kinetics 'cle'"))
            self.events[k].append(ev)
        self.seconds += time.perf_counter() - t0
        self.cpu_seconds += time.thread_time() - c0
        self.epoch += 1
        self._counts = counts
        self._last = counts / p.volume
        out = self._last.copy()
        return (out, losses) if batched else (out[0], losses[0])

    def summary(self) -> dict:
        """Events per training step (mean over steps and replicates, per phase), totals and
        speed. An *event* is a reaction firing (ssa), a leap or exact firing (tau-leap) or a
        time step (cle)."""
        if not any(self.events):
            return {}
        ev = np.concatenate([np.concatenate(e) for e in self.events if e])
        names = self._modules if len(self._modules) == ev.shape[1] else \
            tuple(f"phase{p + 1}" for p in range(ev.shape[1]))
        total = float(ev.sum())
        return {"kinetics": self.kinetics, "volume": self.protocol.volume,
                "event": EVENT_NAMES[self.kinetics],
                "events_per_step": {n: float(v) for n, v in zip(names, ev.mean(axis=0))},
                "events_total": total, "steps": int(ev.shape[0]),
                "exact_firings": float(self.stats[:, 0].sum()),
                "leaps_or_cle_steps": float(self.stats[:, 1].sum()),
                "cle_projections": float(self.stats[:, 2].sum()),
                "kernel_seconds": self.seconds, "kernel_cpu_seconds": self.cpu_seconds,
                "compile_seconds": self.compile_seconds,
                "events_per_second": total / self.seconds if self.seconds > 0 else None,
                "events_per_cpu_second": (total / self.cpu_seconds if self.cpu_seconds > 0
                                          else None),
                "tau_epsilon": self.epsilon if self.kinetics == "tau-leap" else None,
                "cle_dt": self.dt if self.kinetics == "cle" else None,
                "cle_rtol": self.rtol if self.kinetics == "cle" else None}

    def counts(self) -> np.ndarray:
        """``(K, S)`` the current counts (float64; integers except for the CLE)."""
        return self._counts

    def add_test_metrics(self, metrics: list, datasets: list, metrics_of) -> None:
        """Add ``test_stochastic_forward`` (the forward pass at the training Ω with the same
        method, on every test point of replicate k's data set ``datasets[k]``, from its final
        counts) to ``metrics[k]``."""
        for k, seed in enumerate(self.seeds):
            dataset = datasets[k]
            Xt, Yt = dataset.split("test")
            pred = stochastic_forward(self.protocol, self.kinetics, self._counts[k], Xt,
                                      eval_seed(seed), epsilon=self.epsilon, dt=self.dt,
                                      rtol=self.rtol)
            metrics[k]["test_stochastic_forward"] = metrics_of(dataset, pred, Yt)


def stochastic_forward(protocol: StochasticProtocol, kinetics: str, counts, X, seed: int, *,
                       epsilon: float = DEFAULT_EPSILON, dt: float = DEFAULT_CLE_DT,
                       rtol: float = DEFAULT_CLE_RTOL):
    """ŷ ``(M, m)`` of the stochastic forward pass: for every row of X ``(M, d)``, wash, load
    x (and z(0)) as counts into a copy of ``counts`` ``(S,)`` and run the phases up to the
    read-out at the protocol's Ω; ŷ = read-out counts / Ω. Reproducible per ``seed``."""
    from ..kinetics._protocol_kernels import forward_points
    X = np.asarray(X, dtype=np.float64)
    m = protocol.readout.shape[0]
    load = protocol.load_counts(X, np.zeros((len(X), m)))
    out = np.zeros((len(X), m))
    method, eps, dt, rtol = _method_args(kinetics, epsilon, dt, rtol)
    rc = forward_points(method, protocol.net,
                        protocol.durations[:protocol.readout_phase + 1].copy(), protocol.keep,
                        protocol.load_index, load, np.asarray(counts, dtype=np.float64),
                        protocol.readout, int(seed), eps, dt, rtol, MAX_EVENTS_PER_PHASE, out,
                        np.zeros(3))
    if rc:
        raise SimulationError(f"stochastic forward pass of point {rc} exceeded "
                              f"{MAX_EVENTS_PER_PHASE:.0e} events")
    return out


def eval_seed(seed: int) -> int:
    """The numba seed of a replicate's evaluation forward passes."""
    return _seed(seed, _EVAL)


def chance_level(dataset) -> dict:
    """The test metrics of the best constant predictor: ½MSE of predicting the test targets'
    mean (``loss``) and, for classifiers, the frequency of the most common test class
    (``accuracy``; 0.5 on the balanced 2-d grids)."""
    _, Y = dataset.split("test")
    Y = np.asarray(Y, dtype=float).reshape(len(Y), -1)
    loss = float(0.5 * np.mean(np.sum((Y - Y.mean(axis=0)) ** 2, axis=1)))
    acc = None
    if dataset.kind == "classification":
        labels = np.argmax(Y, axis=1) if Y.shape[1] > 1 else (Y[:, 0] > 0.5).astype(int)
        acc = float(np.max(np.bincount(labels)) / len(labels))
    return {"loss": loss, "accuracy": acc}


def train_stochastic_point(task: str, kinetics: str, volume: float, seed: int = 0, *,
                           epochs: int | None = None, spec=None, epsilon: float = DEFAULT_EPSILON,
                           cle_dt: float = DEFAULT_CLE_DT, cle_rtol: float = DEFAULT_CLE_RTOL,
                           chemical_eval: bool = True, ideal_reference: bool = False,
                           rate_noise: float = 0.0, leak: float = 0.0,
                           wash_residual: float = 0.0) -> dict:
    """Train one configuration at one Ω with one seed and return its metrics (plain dict).

    ``kinetics`` ``"ode"`` trains the ODE chemistry (``volume`` ignored) — the reference of an Ω
    study. The dict: ``task, kinetics, volume, seed, epochs``; ``train`` / ``val`` / ``test``
    ``{"loss", "accuracy", …}`` — the headline of :func:`~neuralcrn.training.train`: with
    ``chemical_eval`` the circuit's **ODE** forward pass from the learned counts / Ω (the
    circuit read out noise-free), else the ideal predictor; ``ideal_predictor`` (the ideal math
    on the same parameters); ``test_stochastic_forward`` (stochastic kinetics only: the forward
    pass on every test point simulated by the same method **at the training Ω** — the number a
    circuit at Ω actually answers); ``chance`` (the constant predictor's test metrics,
    :func:`chance_level`); ``model`` (n, T, α, η); ``stochastic`` (events per step, speed);
    ``settings``; ``wall_s``. ``rate_noise``, ``leak``, ``wash_residual``: the circuit instance's
    imperfections (:class:`~neuralcrn.compiler.Imperfections`, drawn with ``seed``).
    ``ideal_reference`` also trains the ideal math from the same start (``ideal_training``,
    ``vs_ideal_training``; off by default: a study's reference is the ODE point). The data set,
    initial parameters and sample order are those of ``seed``. A run stopped because its counts
    grew without bound (a diverging training, :data:`RUNAWAY_FACTOR`) returns ``failed`` (the
    message) and test metrics None. Used by ``python -m neuralcrn.training._omega_study`` and
    meant for studies that farm points out to workers.
    """
    from ._loop import TrainConfig, train
    stochastic = kinetics != "ode"
    cfg = TrainConfig(task=task, epochs=epochs, seed=seed, spec=spec, kinetics=kinetics,
                      volume=float(volume) if stochastic else None, tau_epsilon=epsilon,
                      cle_dt=cle_dt, cle_rtol=cle_rtol, chemical_eval=chemical_eval,
                      ideal_reference=ideal_reference, eval_every=0,
                      rate_noise=rate_noise, leak=leak, wash_residual=wash_residual)
    from ..tasks import get_task
    t = get_task(task)
    used = spec if spec is not None else t.model_spec
    model = {"hidden": used.hidden, "T": used.T, "alpha": used.alpha,
             "learning_rate": used.learning_rate}
    t0 = time.perf_counter()
    try:
        res = train(cfg)
    except SimulationError as e:  # a diverging run (runaway counts): recorded, not raised
        return {"task": task, "kinetics": kinetics, "volume": float(volume), "seed": int(seed),
                "epochs": epochs if epochs is not None else t.epochs, "failed": str(e),
                "test": {"loss": None, "accuracy": None}, "model": model,
                "wall_s": time.perf_counter() - t0}
    m = dict(res.metrics[0])
    return {"task": task, "kinetics": kinetics, "volume": float(volume) if stochastic else None,
            "seed": int(seed), "epochs": res.epochs, **m, "chance": chance_level(res.dataset),
            "model": model, "stochastic": res.stochastic,
            "settings": {"tau_epsilon": epsilon, "cle_dt": cle_dt, "cle_rtol": cle_rtol},
            "wall_s": time.perf_counter() - t0}