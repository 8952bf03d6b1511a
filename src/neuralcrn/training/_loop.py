"""Online SGD training of a task in ``chemical`` or ``ideal`` mode (SPEC §4).

Both modes share the loop: for epoch e = 0, 1, …, E−1 visit the training samples in the order
``tasks.epoch_order(seed, e, N)``, one SGD step per sample; after each epoch evaluate the
parameters on the training and validation sets (the ideal predictor on the parameters — in
chemical mode read from the species — for the learning curves).

* ``chemical``: every step is the compiled circuit's mass-action chemistry (one compiled
  ``lax.scan`` per epoch, :mod:`neuralcrn.training._chemical`); parameters live only in the state
  vector between steps. After each epoch the host *reads* the parameter species to evaluate them.
* ``ideal``: :func:`neuralcrn.ideal.train_epoch` (the JAX math) with the same order.

Final metrics (the headline numbers): in chemical mode the trained circuit's own feedforward
chemistry is run on every train, validation and test point (:func:`~neuralcrn.training.
chemical_predict`) and *that* is what ``metrics["train"|"val"|"test"]`` report; the ideal
predictor on the learned parameters is reported beside it (``metrics["ideal_predictor"]``).
In chemical mode an ideal training run from the same initial parameters and sample order runs
alongside (cheap next to the chemistry) and the run reports how far it is from it (SPEC §4):
``metrics["ideal_training"]`` and ``metrics["vs_ideal_training"]`` (final parameter relative
difference, metric differences), ``history["param_diff"]`` per epoch.

Replicates: K runs with seeds seed, seed+1, …, seed+K−1, each with its own data set, initial
parameters and sample order (everything follows its seed), trained together (K stacked pots
integrated as one system in chemical mode, :func:`~neuralcrn.training._chemical.run_step_stack`;
a loop in ideal mode). Replicate 0 is the single run with ``seed`` (to the solver's accuracy in
chemical mode, where the pots share one adaptive step sequence). The data of every seed must have
the same number of training samples (true for every task: split sizes do not depend on the seed).

Stochastic chemistry (``kinetics`` ``"ssa"``, ``"tau-leap"``, ``"cle"`` at volume Ω): the same
protocol on molecule counts, one numba call per epoch and replicate
(:mod:`neuralcrn.training._stochastic`); the initial parameters are rounded to counts
(round(Ω·θ) molecules). The final metrics add ``test_stochastic_forward`` — the forward pass at
the same Ω and method on every test point, the honest number of a finite-volume circuit — to the
ODE forward pass of the learned counts (``train``/``val``/``test``) and the ideal predictor.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import SimulationError, SpecError
from ..ideal.spec import ModelSpec, Params
from ._resume import CHECKPOINT_SECONDS
from ._chemical import (SCHEDULE_NAMES, ChemicalSetup, SolverSettings, chemical_setup,
                        PREDICT_CHUNK, imperfect_setup, padded_chunks)
from ._stochastic import (DEFAULT_CLE_DT, DEFAULT_CLE_RTOL, DEFAULT_EPSILON,
                          check_countable, check_stochastic_config, stochastic_parts)
from ..tasks import epoch_order, get_task

__all__ = ["TrainConfig", "TrainResult", "train", "evaluate_params", "MODES"]

MODES = ("chemical", "ideal")
CLOCKS = ("host", "chemical")

EVAL_CHUNK = 256
"""Evaluation batches are padded to this many rows so one compiled predictor serves all splits."""


INIT_KEYS = {"scale", "h_scale", "readout"}


def _initial_params(config, task, spec: ModelSpec, seed: int) -> Params:
    if config.init is None:
        p = task.init_params(seed, spec=spec)
    else:
        from ..ideal import init_params
        p = init_params(spec, seed, **config.init)
    return Params(*(np.asarray(v, dtype=float) for v in p))


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run (``config.json`` of a run folder).

    Attributes
    ----------
    task:        task name (:func:`neuralcrn.tasks.get_task`).
    mode:        ``"chemical"`` (mass-action chemistry) or ``"ideal"`` (the JAX math).
    schedule:    ``"two-phase"`` (SPEC §4; first-order gradient) or ``"modular"``.
    epochs:      number of epochs; ``None`` → the task's default.
    seed:        seed of the data, the initial parameters and the sample order.
    replicates:  K independent runs with seeds seed … seed+K−1 (same data).
    spec:        the model; ``None`` → the task's default model specification.
    solver:      ODE settings of chemical training (:class:`SolverSettings`).
    ideal_rtol, ideal_atol: tolerances of the ideal solves (ideal training and all evaluation).
    chemical_eval: in chemical mode, also evaluate the test set with the chemical forward pass.
    init:        ``None`` → the task's initialisation; else keyword arguments of
                 :func:`neuralcrn.ideal.init_params` (``scale``, ``h_scale``, ``readout``), e.g.
                 ``{"scale": 1.0, "readout": "ones"}`` for the paper's Θ ~ N(0, 1), h = 0, W = 1
                 (``{}`` means init_params' own defaults, not the task's).
    eval_every:  evaluate the train and validation losses (ideal predictor on the parameters
                 read from the species) after every ``eval_every``-th epoch and after the last;
                 0 → only before training and after the last epoch (the other rows of the
                 history hold NaN; the running loss is always recorded).
    data:        ``None`` → ``task`` is a registry task; else the data source of a user's data
                 (a plain-JSON dict, :func:`neuralcrn.tasks.task_from_source`; ``task`` is then
                 its display name).
    ideal_reference: in chemical mode, also train the ideal math from the same initial
                 parameters and sample order and report the difference (SPEC §4).
    kinetics:    ``"ode"`` (mass-action ODE) or a stochastic method on molecule counts:
                 ``"ssa"`` (exact), ``"tau-leap"``, ``"cle"`` (chemical mode only;
                 :mod:`neuralcrn.training._stochastic`, ``docs/stochastic.md``).
    volume:      Ω, molecules per unit concentration (stochastic kinetics only; required there).
    tau_epsilon: ε of adaptive tau-leaping.   cle_dt, cle_rtol: largest CLE time step and the
                 relative tolerance its drift's steps adapt to (0: fixed steps of cle_dt).
    minimal:     train the minimal circuit (:func:`neuralcrn.compiler.compile_minimal`; the
                 task's minimal model unless ``spec`` is given; two-phase protocol).
    clock:       ``"host"`` (the host switches the phases and washes) or ``"chemical"`` (the
                 autonomous circuit: a chemical clock runs every step, the host only doses x
                 and y once per clock period; :mod:`neuralcrn.training._autonomous`).
    clock_options: ``None`` or keyword arguments of :class:`neuralcrn.compiler.ClockOptions`
                 (``window``, ``sharpness``, ``gate``, ``dose_at``, ``mass``, ``pacemaker``,
                 ``hold``); combines with stochastic ``kinetics`` (the doses are added as counts).
    rate_noise, leak, wash_residual: imperfect chemistry (chemical mode; SPEC §8,
                 :class:`neuralcrn.compiler.Imperfections`, ``docs/robustness.md``): σ ≥ 0 of the
                 log-normal rate-constant error, the leak fraction λ ∈ [0, 1) of every catalytic
                 production, the fraction w ∈ [0, 1) of each transient species that survives
                 the wash. All 0: the perfect circuit.
    imperfection_seed: seed of the rate-constant draw (the circuit instance); ``None`` → ``seed``.
    rate_noise_modules: ``None`` or the modules (phases) whose reactions keep their rate errors,
                 the others nominal — to find which phase's errors cost accuracy (same instance).
                 The K replicates of one run share that one circuit instance (independent
                 instances are independent runs, as ``neuralcrn robustness`` makes them).
    """

    task: str
    mode: str = "chemical"
    schedule: str = "two-phase"
    epochs: int | None = None
    seed: int = 0
    replicates: int = 1
    spec: ModelSpec | None = None
    solver: SolverSettings = SolverSettings()
    ideal_rtol: float = 1e-8
    ideal_atol: float = 1e-10
    chemical_eval: bool = True
    init: dict | None = None
    eval_every: int = 1
    data: dict | None = None
    ideal_reference: bool = True
    minimal: bool = False
    kinetics: str = "ode"
    volume: float | None = None
    tau_epsilon: float = DEFAULT_EPSILON
    cle_dt: float = DEFAULT_CLE_DT
    cle_rtol: float = DEFAULT_CLE_RTOL
    clock: str = "host"
    clock_options: dict | None = None
    rate_noise: float = 0.0
    leak: float = 0.0
    wash_residual: float = 0.0
    imperfection_seed: int | None = None
    rate_noise_modules: tuple[str, ...] | None = None

    def __post_init__(self):
        check_stochastic_config(self)
        imp = self.imperfections     # validates σ, λ, w and the seed (SpecError naming them)
        for name in ("rate_noise", "leak", "wash_residual", "rate_noise_modules"):
            object.__setattr__(self, name, getattr(imp, name))
        if self.mode == "ideal" and not imp.perfect:
            raise SpecError("rate_noise, leak and wash_residual perturb the chemistry; mode "
                            "'ideal' has none (use mode 'chemical')")
        if self.mode not in MODES:
            raise SpecError(f"unknown mode {self.mode!r}; choose one of {', '.join(MODES)}")
        if self.schedule not in SCHEDULE_NAMES:
            raise SpecError(f"unknown schedule {self.schedule!r}; choose one of "
                            f"{', '.join(SCHEDULE_NAMES)}")
        for name, lo in (("seed", 0), ("replicates", 1), ("eval_every", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
                raise SpecError(f"{name} must be an integer ≥ {lo}, got {v!r}")
        if self.epochs is not None and (isinstance(self.epochs, bool)
                                        or not isinstance(self.epochs, (int, np.integer))
                                        or self.epochs < 0):
            raise SpecError(f"epochs must be an integer ≥ 0, got {self.epochs!r}")
        if self.spec is not None and not isinstance(self.spec, ModelSpec):
            raise SpecError(f"spec must be a ModelSpec, got {type(self.spec).__name__}")
        if self.clock not in CLOCKS:
            raise SpecError(f"unknown clock {self.clock!r}; choose one of {', '.join(CLOCKS)}")
        if self.clock == "chemical":
            from ._autonomous import check_autonomous_config
            check_autonomous_config(self)
        if isinstance(self.solver, dict):
            object.__setattr__(self, "solver", SolverSettings(**self.solver))
        if self.init is not None:
            if not isinstance(self.init, dict) or set(self.init) - INIT_KEYS:
                raise SpecError(f"init must be a dict with keys among {sorted(INIT_KEYS)}, got "
                                f"{self.init!r}")
            for k in ("scale", "h_scale"):
                v = self.init.get(k, 0.0)
                if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) \
                        or not np.isfinite(v) or v < 0:
                    raise SpecError(f"init {k} must be a finite number ≥ 0, got {v!r}")
            if self.init.get("readout", "ones") not in ("ones", "mean", "random"):
                raise SpecError(f"init readout must be 'ones', 'mean' or 'random', got "
                                f"{self.init['readout']!r}")
            object.__setattr__(self, "init", dict(self.init))
        if self.data is not None and not (isinstance(self.data, dict)
                                          and self.data.get("format") in ("csv", "npz")):
            raise SpecError(f"data must be a data source dict with format 'csv' or 'npz', got "
                            f"{self.data!r}")
        if not isinstance(self.task, str) or not self.task:
            raise SpecError(f"task must be a task name, got {self.task!r}")

    @property
    def imperfections(self):
        """The :class:`~neuralcrn.compiler.Imperfections` of this run's circuit instance."""
        from ..compiler import Imperfections
        seed = self.seed if self.imperfection_seed is None else self.imperfection_seed
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise SpecError(f"imperfection_seed must be an integer ≥ 0, got {seed!r}")
        return Imperfections(self.rate_noise, self.leak, self.wash_residual, int(seed),
                             self.rate_noise_modules)

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["spec"] = None if self.spec is None else self.spec.to_dict()
        d["solver"] = dataclasses.asdict(self.solver)
        d["data"] = None if self.data is None else dict(self.data)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        d = dict(d)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise SpecError(f"unknown training configuration field(s): {sorted(unknown)}")
        if d.get("spec") is not None:
            d["spec"] = ModelSpec.from_dict(d["spec"])
        if isinstance(d.get("solver"), dict):
            d["solver"] = SolverSettings(**d["solver"])
        return cls(**d)

    def replace(self, **kw) -> "TrainConfig":
        return dataclasses.replace(self, **kw)


@dataclass(eq=False)
class TrainResult:
    """What a training run produced (numpy arrays; K = replicates, E = epochs).

    history:        ``{"train_loss", "val_loss", "val_accuracy", "running_loss", "param_diff"}``:
                    arrays ``(K, E+1)`` (row 0 = before training; ``val_accuracy`` is ``None``
                    for regression; ``running_loss[:, 0]`` is NaN, later entries are the mean loss
                    the steps of that epoch saw; ``param_diff`` — chemical mode with the ideal
                    reference, else ``None`` — the relative difference between the chemical and
                    the ideal run's parameters after each epoch).
    param_history:  list of K lists of E+1 :class:`Params`.
    params:         list of K final :class:`Params`.
    metrics:        per-replicate final metrics (list of dicts, see :func:`train`).
    summary:        mean ± sd over the replicates of every number in ``metrics``.
    timings:        seconds: ``setup``, ``compile``, ``train`` (the epochs, without compilation;
                    in chemical mode including the evaluation and the ideal reference epochs
                    that overlap the chemistry), ``evaluate``, ``chemical_eval``, ``total``.
    datasets:       the K data sets (``dataset`` = ``datasets[0]``).
    chemical_predictions: chemical mode with ``chemical_eval``: per replicate
                    ``{split: ŷ (N, m)}`` of the chemical forward pass, else ``None``.
    reference_params: chemical mode with ``ideal_reference``: the K final parameters of the
                    ideal run from the same start and sample order, else ``None``.
    resumed_at:     the epochs after which this run was resumed (``train(resume=…)``).
    stochastic:     stochastic kinetics only: events per step and phase, totals, speed
                    (:meth:`~neuralcrn.training._stochastic.StochasticEpoch.summary`).
    """

    config: TrainConfig
    spec: ModelSpec
    task: object
    dataset: object
    epochs: int
    history: dict
    param_history: list
    params: list
    metrics: list
    timings: dict
    setup: ChemicalSetup | None = None
    final_state: np.ndarray | None = None
    chemical_predictions: list | None = None
    reference_params: list | None = None
    datasets: list = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    stochastic: dict | None = None
    resumed_at: tuple = ()


# ------------------------------------------------------------------ evaluation
def _solver_opts(config: TrainConfig):
    from ..ideal import SolverOptions
    return SolverOptions(rtol=config.ideal_rtol, atol=config.ideal_atol)


def predict_params(spec: ModelSpec, params: Params, X, solver=None) -> np.ndarray:
    """ŷ ``(N, m)`` of the ideal model for X ``(N, d)``, in padded chunks of ``EVAL_CHUNK`` rows
    (one compiled predictor for every batch size)."""
    from ..ideal import predict_batch
    X = np.asarray(X, dtype=float)
    out = []
    for chunk, n in padded_chunks(X, EVAL_CHUNK):
        out.append(np.asarray(predict_batch(spec, params, chunk, solver=solver))[:n])
    return np.concatenate(out) if out else np.zeros((0, spec.outputs))


def _metrics_of(dataset, pred, Y) -> dict:
    from ..tasks.metrics import evaluate
    pred = np.asarray(pred, dtype=float)
    bad = ~np.all(np.isfinite(pred), axis=1)
    if np.any(bad):
        return {"loss": None, "accuracy": None, "failed_points": int(bad.sum())}
    r = evaluate(dataset, pred, Y)
    out = {"loss": r["half_mse"], "accuracy": r["accuracy"]}
    if dataset.kind == "regression":
        # root mean square error in the data's units (targets may be standardised)
        err = (pred - np.asarray(Y, dtype=float)) * np.asarray(dataset.y_scale)
        out["rmse"] = float(np.sqrt(np.mean(np.sum(err ** 2, axis=1))))
        if err.shape[1] > 1:      # targets in different units: each one's RMSE as well
            for k, v in enumerate(np.sqrt(np.mean(err ** 2, axis=0))):
                out[f"rmse_{k + 1}"] = float(v)
    return out


def _split_metrics(dataset, splits, pred) -> dict:
    """Metrics of predictions ``pred`` of the concatenated splits."""
    out, a = {}, 0
    for s in splits:
        Y = dataset.split(s)[1]
        out[s] = _metrics_of(dataset, pred[a:a + Y.shape[0]], Y)
        a += Y.shape[0]
    return out


def _stacked(dataset, splits) -> np.ndarray:
    return np.concatenate([dataset.split(s)[0] for s in splits])


def evaluate_params(spec: ModelSpec, params: Params, dataset, splits=("train", "val", "test"),
                    solver=None) -> dict:
    """``{split: {"loss": ½MSE, "accuracy": float or None}}`` of the ideal predictor (plus
    ``"rmse"``, the root mean square error in the data's units, for regression: √ of the mean
    over points of ‖ŷ − y‖²; with several targets also ``"rmse_1"``, ``"rmse_2"``, … per output)."""
    pred = predict_params(spec, params, _stacked(dataset, splits), solver)
    return _split_metrics(dataset, splits, pred)


# ------------------------------------------------------------------ the run's pieces
SPLITS = ("train", "val", "test")


@dataclass(eq=False)
class _Run:
    """A resolved configuration: the task, model, epochs, seeds and each seed's data."""

    config: TrainConfig
    task: object
    spec: ModelSpec
    epochs: int
    seeds: list
    datasets: list
    solver: object

    @property
    def K(self) -> int:
        return len(self.seeds)

    @property
    def N(self) -> int:
        return int(self.datasets[0].X_train.shape[0])

    @property
    def chemical(self) -> bool:
        return self.config.mode == "chemical"

    @property
    def classification(self) -> bool:
        return self.datasets[0].kind == "classification"

    def orders(self, epoch: int) -> np.ndarray:
        """``(K, N)``: each replicate's sample order of ``epoch``."""
        return np.stack([np.asarray(epoch_order(int(s), epoch, self.N)) for s in self.seeds])

    def epoch_data(self, epoch: int):
        """``(X (K, N, d), Y (K, N, m))`` in each replicate's order of ``epoch``."""
        o = self.orders(epoch)
        return (np.stack([ds.X_train[o[k]] for k, ds in enumerate(self.datasets)]),
                np.stack([ds.Y_train[o[k]] for k, ds in enumerate(self.datasets)]))


def resolve_task(config: TrainConfig):
    """The :class:`~neuralcrn.tasks.Task` of a configuration: ``config.data``'s data source, or
    the registry task ``config.task`` (DataError if unknown)."""
    if config.data is not None:
        from ..tasks import task_from_source
        return task_from_source(config.data, name=config.task)
    return get_task(config.task)


def _resolve(config: TrainConfig, task=None) -> _Run:
    task = task if task is not None else resolve_task(config)
    spec = config.spec if config.spec is not None else task.model_spec
    epochs = config.epochs if config.epochs is not None else task.epochs
    seeds = [config.seed + k for k in range(config.replicates)]
    datasets = [task.make_data(s) for s in seeds]
    ds = datasets[0]
    if config.minimal:
        from ._minimal import minimal_run_spec
        spec = minimal_run_spec(config, task, ds)
    if ds.d != spec.inputs or ds.m != spec.outputs:
        raise SpecError(f"model has {spec.inputs} inputs / {spec.outputs} outputs but task "
                        f"{config.task!r} has {ds.d} / {ds.m}")
    sizes = {d.X_train.shape[0] for d in datasets}
    if len(sizes) != 1:
        raise SpecError(f"replicates need the same number of training samples for every seed; "
                        f"task {config.task!r} has {sorted(sizes)}")
    return _Run(config, task, spec, epochs, seeds, datasets, _solver_opts(config))


def _history(run: _Run, reference: bool) -> dict:
    shape = (run.K, run.epochs + 1)
    nan = lambda: np.full(shape, np.nan)  # noqa: E731
    return {"train_loss": nan(), "val_loss": nan(),
            "val_accuracy": nan() if run.classification else None,
            "running_loss": nan(), "param_diff": nan() if reference else None}


def _check_finite(state, losses, epoch, seeds):
    bad_state = ~np.all(np.isfinite(state), axis=-1)
    bad_loss = ~np.isfinite(losses)
    if np.any(bad_state) or np.any(bad_loss):
        k = int(np.flatnonzero(bad_state | np.any(bad_loss, axis=-1))[0])
        i = np.flatnonzero(bad_loss[k])
        where = f"at step {int(i[0]) + 1} of the epoch" if i.size else ""
        raise SimulationError(
            f"chemical training failed in epoch {epoch + 1} {where} (replicate seed {seeds[k]}): "
            f"an ODE solve failed or the state became non-finite; try a smaller learning rate, a "
            f"smaller annihilation rate constant, or tighter solver tolerances")


def _counts_state(setup: ChemicalSetup, params: Params, volume: float) -> np.ndarray:
    """The initial state of ``params`` rounded to molecule counts: round(Ω·x)/Ω
    (SimulationError from :func:`check_countable` if nothing of it is left)."""
    state = setup.initial_state(params)
    check_countable(state, volume, setup.circuit.species)
    return np.rint(state * volume) / volume


def _warm_predictor(spec: ModelSpec, solver) -> float:
    """Compile the ideal predictor for ``EVAL_CHUNK`` rows (so evaluation never compiles)."""
    t0 = time.perf_counter()
    p = Params(np.zeros(spec.theta_shape), np.zeros(spec.n), np.zeros((spec.outputs, spec.n)))
    predict_params(spec, p, np.zeros((1, spec.inputs)), solver)
    return time.perf_counter() - t0


class _IdealTrainer:
    """Ideal online SGD of K replicates (a loop of :func:`neuralcrn.ideal.train_epoch`)."""

    def __init__(self, run: _Run, params: list):
        self.run, self.params = run, list(params)

    def epoch(self, e: int):
        from ..ideal import train_epoch
        X, Y = self.run.epoch_data(e)
        new, losses = [], []
        for k, p in enumerate(self.params):
            q, L = train_epoch(self.run.spec, p, X[k], Y[k], solver=self.run.solver)
            new.append(Params(*(np.asarray(v) for v in q)))
            losses.append(np.asarray(L))
        self.params = new
        return new, np.stack(losses)


class _Background:
    """One call run on its own daemon thread; :meth:`result` waits for it and re-raises its
    exception. A chemical epoch runs this way while the main thread runs the ideal reference
    epoch and the evaluation: a compiled XLA program or a numba kernel releases the GIL while it
    runs, so the two use both cores (calls queued on JAX's CPU device from one thread run one
    after another). A daemon, so an interrupted run exits without waiting for the epoch."""

    def __init__(self, fn, *args):
        self._out, self._err = None, None
        self._thread = threading.Thread(target=self._run, args=(fn, args), daemon=True,
                                        name="neuralcrn-chemical-epoch")
        self._thread.start()

    def _run(self, fn, args):
        try:
            self._out = fn(*args)
        except BaseException as err:      # re-raised in the caller's thread by result()
            self._err = err

    def result(self):
        self._thread.join()
        if self._err is not None:
            raise self._err
        return self._out


class _ChemicalTrainer:
    """Chemical epochs of K stacked pots, each on a background thread; epoch e+1 starts as soon
    as epoch e is collected, so it runs while the caller works on epoch e's results."""

    def __init__(self, run: _Run, setup: ChemicalSetup, compiled, state):
        self.run, self.setup, self.compiled = run, setup, compiled
        self.state = state
        self.pending: _Background | None = None

    def _epoch(self, e: int, state):
        """Epoch e from ``state`` ``(K, S)``: numpy ``(state (K, S), losses (K, N))``."""
        X, Y = self.run.epoch_data(e)
        if self.run.K > 1:
            s1, l1 = self.compiled(self.setup, state, X, Y)
        else:
            s1, l1 = self.compiled(self.setup, state[0], X[0], Y[0])
            s1, l1 = s1[None], l1[None]
        return np.asarray(s1), np.asarray(l1)

    def start(self, e0: int = 0):
        """Start epoch ``e0`` (the first one this run trains)."""
        self.pending = (_Background(self._epoch, e0, self.state) if self.run.epochs > e0
                        else None)

    def collect(self, e: int):
        """Wait for epoch e and start e+1; returns ``(params, losses (K, N))``."""
        state, losses = self.pending.result()
        last = e + 1 == self.run.epochs
        self.pending = _Background(self._epoch, e + 1, state) if not last else None
        _check_finite(state, losses, e, self.run.seeds)
        self.state = state
        return [self.setup.read_params(s) for s in state], losses


class _Evaluator:
    """The learning-curve evaluation (ideal predictor) of queued ``(epoch, params)`` entries."""

    def __init__(self, run: _Run, hist: dict, timings: dict):
        self.run, self.hist, self.timings = run, hist, timings
        self.queue: list = []

    def add(self, epoch: int, params: list):
        self.queue.append((epoch, params))

    def flush(self, overlapped: bool):
        t0 = time.perf_counter()
        h = self.hist
        for e, plist in self.queue:
            for k, p in enumerate(plist):
                r = evaluate_params(self.run.spec, p, self.run.datasets[k], ("train", "val"),
                                    self.run.solver)
                h["train_loss"][k, e] = r["train"]["loss"]
                h["val_loss"][k, e] = r["val"]["loss"]
                if h["val_accuracy"] is not None:
                    h["val_accuracy"][k, e] = r["val"]["accuracy"]
        self.queue.clear()
        if not overlapped:
            self.timings["evaluate"] += time.perf_counter() - t0


def _reference_epoch(ref: _IdealTrainer, e: int, param_hist: list, hist: dict,
                     timings: dict) -> None:
    """Epoch e of the ideal reference run; records its parameter difference from the
    chemical run's parameters after epoch e (``param_hist[k][e + 1]``)."""
    from ..ideal import params_relative_error
    t1 = time.perf_counter()
    ref.epoch(e)
    timings["ideal_reference"] += time.perf_counter() - t1
    for k, p in enumerate(ref.params):
        hist["param_diff"][k, e + 1] = params_relative_error(param_hist[k][e + 1], p)


def _progress_message(hist: dict, e: int) -> dict:
    msg = {"loss": f"{np.nanmean(hist['running_loss'][:, e + 1]):.4g}"}
    if np.isfinite(hist["val_loss"][0, e + 1]):
        msg["val"] = f"{hist['val_loss'][:, e + 1].mean():.4g}"
        if hist["val_accuracy"] is not None:
            msg["val_acc"] = f"{100 * hist['val_accuracy'][:, e + 1].mean():.1f}%"
    if hist["param_diff"] is not None and np.isfinite(hist["param_diff"][0, e + 1]):
        msg["Δideal"] = f"{hist['param_diff'][:, e + 1].mean():.2g}"
    return msg


def setup_for(config: TrainConfig, spec: ModelSpec) -> ChemicalSetup:
    """The compiled circuit a run of ``config`` uses (both modes: ideal runs report its sizes and
    write its files), with the run's imperfections applied (:func:`imperfect_setup`). An
    exact-gradient model runs the modular circuit in ideal mode and is refused by the two-phase
    schedule in chemical mode (SpecError)."""
    return imperfect_setup(_perfect_setup(config, spec), config.imperfections)


def _perfect_setup(config: TrainConfig, spec: ModelSpec) -> ChemicalSetup:
    if config.minimal:
        from ._minimal import minimal_setup
        return minimal_setup(spec)
    if config.clock == "chemical":
        from ._autonomous import autonomous_setup
        return autonomous_setup(spec, config.clock_options)
    schedule = config.schedule
    if schedule == "two-phase" and spec.gradient != "first-order":
        if config.mode == "chemical":
            raise SpecError("the two-phase schedule implements the first-order gradient; this "
                            "model has gradient='exact' (use --schedule modular, or a "
                            "first-order model)")
        schedule = "modular"
    return chemical_setup(spec, schedule)


# ------------------------------------------------------------------ final metrics
def _difference(a: dict, b: dict) -> dict:
    """``a − b`` for every split's loss and accuracy (None where either is missing)."""
    out = {}
    for s in SPLITS:
        out[s] = {q: (None if a[s].get(q) is None or b[s].get(q) is None
                      else float(a[s][q] - b[s][q])) for q in b[s]}
    return out


def _final_metrics(run: _Run, params: list, chem_preds, ref_params, timings) -> list:
    """Per replicate: the headline metrics (chemical forward where it ran), the ideal predictor
    on the learned parameters, and the comparison with the ideal reference run."""
    from ..ideal import params_relative_error
    t0 = time.perf_counter()
    out = []
    for k, p in enumerate(params):
        ds = run.datasets[k]
        ideal = evaluate_params(run.spec, p, ds, SPLITS, run.solver)
        if chem_preds is not None:
            head = _split_metrics(ds, SPLITS, np.concatenate([chem_preds[k][s] for s in SPLITS]))
            m = {**head, "evaluated_by": "chemical forward pass", "ideal_predictor": ideal}
        else:
            m = {**ideal, "evaluated_by": "ideal predictor" + (
                " (parameters read from the species)" if run.chemical else "")}
        if ref_params is not None:
            ref = evaluate_params(run.spec, ref_params[k], ds, SPLITS, run.solver)
            m["ideal_training"] = ref
            m["vs_ideal_training"] = {
                "param_relative_difference": params_relative_error(p, ref_params[k]),
                "metrics_difference": _difference(m, ref)}
        out.append(m)
    timings["evaluate"] += time.perf_counter() - t0
    return out


def _chemical_predictions(run: _Run, setup, state, predictor, timings,
                          progress: bool = False) -> list:
    t0 = time.perf_counter()
    out = []
    Xs = [_stacked(ds, SPLITS) for ds in run.datasets]
    total = sum(X.shape[0] for X in Xs)
    bar = None
    if progress and total > PREDICT_CHUNK:
        from tqdm.auto import tqdm
        bar = tqdm(total=total, unit="point", dynamic_ncols=True,
                   desc="chemical forward pass (all splits)")
    for k, (ds, X) in enumerate(zip(run.datasets, Xs)):
        pred = predictor(setup, state[k], X, on_chunk=None if bar is None else bar.update)
        parts, a = {}, 0
        for s in SPLITS:
            n = ds.split(s)[0].shape[0]
            parts[s] = pred[a:a + n]
            a += n
        out.append(parts)
    if bar is not None:
        bar.close()
    timings["chemical_eval"] = time.perf_counter() - t0
    return out


# ------------------------------------------------------------------ the loop
def _write_checkpoint(folder, config, run: _Run, setup, hist, param_hist, state, done: int,
                      resumed_at) -> None:
    """The run after ``done`` epochs as a checkpoint folder (:func:`write_checkpoint`)."""
    from ._run_dir import write_checkpoint
    partial = TrainResult(
        config=config, spec=run.spec, task=run.task, dataset=run.datasets[0], epochs=done,
        history={k: (None if v is None else np.array(v[:, :done + 1])) for k, v in hist.items()},
        param_history=[list(ph[:done + 1]) for ph in param_hist],
        params=[ph[done] for ph in param_hist], metrics=[], timings={}, setup=setup,
        final_state=None if state is None else np.array(state), datasets=run.datasets,
        resumed_at=tuple(resumed_at))
    write_checkpoint(partial, folder, run.epochs)


def train(config: TrainConfig, *, task=None, progress: bool = False, log=None,
          resume=None, checkpoint=None, checkpoint_seconds: float | None = None) -> TrainResult:
    """Train as ``config`` says and evaluate the result (see the module docstring).

    Parameters
    ----------
    task: a :class:`~neuralcrn.tasks.Task` to train instead of the one ``config`` names (e.g.
        :func:`neuralcrn.tasks.arrays_task`); ``config.task`` is then only its display name.
    progress: show a tqdm bar (one update per epoch: the mean loss the steps saw and, once the
        evaluation is running, the validation loss and accuracy, and the parameter difference
        from the ideal reference run).
    log: optional callable receiving one line per epoch (used when ``progress`` is off).
    resume: a :class:`~neuralcrn.training.ResumeState` (from a run folder,
        :func:`~neuralcrn.training.read_resume`): training continues after its ``epochs_done``
        epochs from its chemical state (parameters in ideal mode), with its history and parameter
        history, up to ``config.epochs`` in total — the same numbers as an uninterrupted run. The
        ideal reference run is redone from the saved initial parameters up to ``epochs_done``
        (cheap), so the comparison covers the whole run.
    checkpoint: a folder (e.g. :func:`~neuralcrn.training.checkpoint_dir` of the run folder):
        after an epoch, once ``checkpoint_seconds`` (default
        :data:`~neuralcrn.training._resume.CHECKPOINT_SECONDS`; 0: every epoch) have passed since
        the last write, and always after the last epoch (before the final evaluation), the run so
        far is written there (:func:`~neuralcrn.training.write_checkpoint`: config, model, state,
        history and parameter history), so that a run stopped later can be resumed
        (``--resume``) or evaluated. The caller removes it once the run folder is written. The
        learning-curve entries still being evaluated when it is written are missing (NaN).

    Metrics (``result.metrics[k]``): ``"train"``, ``"val"``, ``"test"`` → ``{"loss": ½MSE,
    "accuracy"}`` (regression: ``"rmse"`` in the data's units too) — in chemical mode the
    chemical forward pass (``"evaluated_by"`` says which; ``"failed_points"`` counts points whose
    solve failed), else the ideal predictor;
    ``"ideal_predictor"`` (chemical mode): the ideal math on the learned parameters;
    ``"ideal_training"`` and ``"vs_ideal_training"`` (``"param_relative_difference"``,
    ``"metrics_difference"`` = headline − ideal training) with ``config.ideal_reference``.

    Timings (``result.timings``, seconds of wall time; ``setup + compile + train + evaluate +
    chemical_eval ≈ total``): ``setup`` (task, data, circuit, initial parameters), ``compile``
    (the XLA compilation of the epoch, after the setup, and, at the end, waiting for anything
    still compiling), ``train`` (the epochs; in chemical mode including the evaluation and the
    ideal reference epochs between chemical epochs, which run while the next epoch is
    simulated), ``evaluate`` (evaluation not overlapped with the chemistry), ``chemical_eval``
    (chemical forward on every split). Informational: ``compile_epoch``, ``compile_predictor``,
    ``compile_chemical_predictor``, ``ideal_reference`` (time spent in the reference epochs). In
    ideal mode ``compile`` is the first epoch (the ideal step compiles then).

    Raises
    ------
    DataError: unknown task or bad data.  SpecError: bad configuration (e.g. the two-phase
    schedule with the exact gradient).  SimulationError: a chemical solve failed.
    """
    from concurrent.futures import ThreadPoolExecutor

    t_start = time.perf_counter()
    timings = {"setup": 0.0, "compile": 0.0, "train": 0.0, "evaluate": 0.0,
               "chemical_eval": 0.0, "compile_epoch": 0.0, "compile_predictor": 0.0,
               "ideal_reference": 0.0}
    run = _resolve(config, task)
    setup = setup_for(config, run.spec)
    chemical = run.chemical
    reference = chemical and config.ideal_reference
    hist = _history(run, reference)
    evaluator = _Evaluator(run, hist, timings)
    K, E = run.K, run.epochs
    e0 = 0 if resume is None else resume.check(setup, K, E)
    if resume is not None:
        resume.fill_history(hist)

    pool = ThreadPoolExecutor(max_workers=2)
    bar = None
    try:
        # (XLA compiles without holding the GIL: the epoch and the initial parameters' random
        # draws compile on the two cores at once)
        stochastic = config.kinetics != "ode"
        if stochastic:
            fut_epoch = pool.submit(stochastic_parts, config, setup, run.seeds)
        else:
            fut_epoch = (pool.submit(setup.compile_epoch, run.N, K if K > 1 else None,
                                     config.solver) if chemical else None)
        if not chemical:
            fut_pred = pool.submit(_warm_predictor, run.spec, run.solver)
        if resume is None:
            params = [_initial_params(config, run.task, run.spec, s) for s in run.seeds]
            if stochastic:  # the parameters become counts: round(Ω·θ) molecules
                params = [setup.read_params(_counts_state(setup, p, config.volume))
                          for p in params]
            param_hist = [[p] for p in params]
        else:
            params = [setup.read_params(s) for s in resume.state]
            param_hist = resume.param_lists()
        ref = _IdealTrainer(run, [ph[0] for ph in param_hist]) if reference else None
        t_main = time.perf_counter()
        timings["setup"] = t_main - t_start
        if chemical:
            state = (np.stack([setup.initial_state(p) for p in params]) if resume is None
                     else np.asarray(resume.state, dtype=float))
            if stochastic and resume is None:
                state = np.rint(state * config.volume) / config.volume
            trainer = _ChemicalTrainer(run, setup, fut_epoch.result(), state)
            if stochastic and resume is not None:  # continue the uninterrupted run's noise
                trainer.compiled.epoch = e0
                p0 = _initial_params(config, run.task, run.spec, run.seeds[0])
                trainer.compiled.order_from(setup, _counts_state(setup, p0, config.volume))
            timings["compile"] = time.perf_counter() - t_main
            timings["compile_epoch"] = trainer.compiled.compile_seconds
            # compiled on the other core while the first epochs run
            fut_pred = pool.submit(_warm_predictor, run.spec, run.solver)
        else:
            trainer = _IdealTrainer(run, params)
        fut_chem_pred = (pool.submit(setup.compile_predictor, config.solver)
                         if chemical and config.chemical_eval else None)

        if resume is None:
            evaluator.add(0, params)
        if reference:
            hist["param_diff"][:, 0] = 0.0
            for e in range(e0):         # a resumed run: redo the reference up to epoch e0
                _reference_epoch(ref, e, param_hist, hist, timings)
        if progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=E, initial=e0, unit="epoch", dynamic_ncols=True,
                       desc=f"{config.task} {config.mode}/{setup.schedule}")
        t_loop = t_check = time.perf_counter()
        wait = CHECKPOINT_SECONDS if checkpoint_seconds is None else float(checkpoint_seconds)
        if chemical:
            trainer.start(e0)
        for e in range(e0, E):
            t0 = time.perf_counter()
            last = e + 1 == E
            params, losses = trainer.collect(e) if chemical else trainer.epoch(e)
            if chemical and last:
                timings["train"] = time.perf_counter() - t_loop
            elif not chemical:
                timings["compile" if e == e0 else "train"] += time.perf_counter() - t0
            hist["running_loss"][:, e + 1] = losses.mean(axis=1)
            for k in range(K):
                param_hist[k].append(params[k])
            if reference:
                # the ideal run from the same start and order (while epoch e+1 is simulated)
                _reference_epoch(ref, e, param_hist, hist, timings)
            if last or (config.eval_every and (e + 1) % config.eval_every == 0):
                evaluator.add(e + 1, params)
            if fut_pred.done() and not last and evaluator.queue:
                fut_pred.result()
                evaluator.flush(overlapped=chemical)   # while epoch e+1 is simulated
            if checkpoint is not None and (last or time.perf_counter() - t_check >= wait):
                _write_checkpoint(checkpoint, config, run, setup, hist, param_hist,
                                  trainer.state if chemical else None, e + 1,
                                  () if resume is None else resume.resumed_at + (e0,))
                t_check = time.perf_counter()
            msg = _progress_message(hist, e)
            if bar is not None:
                bar.set_postfix(msg, refresh=False)
                bar.update(1)
            elif log is not None:
                log(f"epoch {e + 1}/{E} " + " ".join(f"{k}={v}" for k, v in msg.items()))
        if bar is not None:
            bar.close()
            bar = None

        # ------------------------------------------------------------ final metrics
        t0 = time.perf_counter()
        timings["compile_predictor"] = fut_pred.result()
        timings["compile"] += time.perf_counter() - t0
        evaluator.flush(overlapped=False)
        chem_preds = None
        if fut_chem_pred is not None:
            predictor = fut_chem_pred.result()
            timings["compile_chemical_predictor"] = predictor.compile_seconds
            chem_preds = _chemical_predictions(run, setup, trainer.state, predictor, timings,
                                               progress)
        ref_params = ref.params if reference else None
        metrics = _final_metrics(run, params, chem_preds, ref_params, timings)
        if stochastic:
            t0 = time.perf_counter()
            trainer.compiled.add_test_metrics(metrics, run.datasets, _metrics_of)
            timings["stochastic_eval"] = time.perf_counter() - t0
    finally:
        if bar is not None:
            bar.close()
        pool.shutdown(wait=True, cancel_futures=True)
    timings["total"] = time.perf_counter() - t_start
    result = TrainResult(config=config, spec=run.spec, task=run.task, dataset=run.datasets[0],
                         epochs=E, history=hist, param_history=param_hist, params=params,
                         metrics=metrics, timings=timings, setup=setup,
                         final_state=trainer.state if chemical else None,
                         chemical_predictions=chem_preds, reference_params=ref_params,
                         datasets=run.datasets,
                         stochastic=trainer.compiled.summary() if stochastic else None,
                         resumed_at=() if resume is None else resume.resumed_at + (e0,))
    result.summary = summarize(result)
    return result


def _stat(values):
    v = np.asarray([x for x in values if x is not None], dtype=float)
    if v.size == 0:
        return None
    return {"mean": float(np.mean(v)), "sd": float(np.std(v, ddof=1)) if v.size > 1 else 0.0,
            "min": float(np.min(v)), "max": float(np.max(v)), "n": int(v.size)}


def _leaves(d: dict, prefix: str = ""):
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            yield from _leaves(v, key + ".")
        elif v is None or (isinstance(v, (int, float, np.number)) and not isinstance(v, bool)):
            yield key, v


def summarize(result: TrainResult) -> dict:
    """Mean ± sd (and min, max, n) over replicates of every number in the final metrics, keyed
    by its dotted path (``"test.accuracy"``, ``"ideal_predictor.test.loss"``,
    ``"vs_ideal_training.param_relative_difference"``, …)."""
    keys = [k for k, _ in _leaves(result.metrics[0])]
    values = [dict(_leaves(m)) for m in result.metrics]
    out = {}
    for key in keys:
        st = _stat([v.get(key) for v in values])
        if st is not None:
            out[key] = st
    return out
