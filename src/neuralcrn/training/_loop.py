"""Online SGD training of a task in ``chemical`` or ``ideal`` mode (SPEC §4).

Both modes share the loop: for epoch e = 0, 1, …, E−1 visit the training samples in the order
``tasks.epoch_order(seed, e, N)``, one SGD step per sample; after each epoch evaluate the
parameters on the training and validation sets.

* ``chemical``: every step is the compiled circuit's mass-action chemistry (one compiled
  ``lax.scan`` per epoch, :mod:`neuralcrn.training._chemical`); parameters live only in the state
  vector between steps. After each epoch the host *reads* the parameter species to evaluate them.
* ``ideal``: :func:`neuralcrn.ideal.train_epoch` (the JAX math) with the same order.

Evaluation (both modes) uses the ideal predictor :func:`neuralcrn.ideal.predict_batch` with the
parameters (read from the species in chemical mode) — the same math ``model.json`` describes. In
chemical mode the final test set is also evaluated by the chemical forward pass itself
(:func:`~neuralcrn.training.chemical_predict`), reported as ``test_chemical_forward``.

Replicates: K runs with seeds seed, seed+1, …, seed+K−1 (initial parameters and sample order; the
data set is the one of ``seed`` for all), trained together (K stacked pots integrated as one
system in chemical mode, :func:`~neuralcrn.training._chemical.run_step_stack`; a loop in ideal
mode). Replicate 0 is the single run with ``seed`` (to the solver's accuracy in chemical mode,
where the pots share one adaptive step sequence).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import SimulationError, SpecError
from ..ideal.spec import ModelSpec, Params
from ._chemical import (SCHEDULE_NAMES, ChemicalSetup, SolverSettings, chemical_setup,
                        padded_chunks)
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
    minimal:     train the minimal circuit (:func:`neuralcrn.compiler.compile_minimal`; the
                 task's minimal model unless ``spec`` is given; two-phase protocol).
    clock:       ``"host"`` (the host switches the phases and washes) or ``"chemical"`` (the
                 autonomous circuit: a chemical clock runs every step, the host only doses x
                 and y once per clock period; :mod:`neuralcrn.training._autonomous`).
    clock_options: ``None`` or keyword arguments of :class:`neuralcrn.compiler.ClockOptions`
                 (``window``, ``sharpness``, ``gate``, ``dose_at``, ``mass``).
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
    minimal: bool = False
    clock: str = "host"
    clock_options: dict | None = None

    def __post_init__(self):
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

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["spec"] = None if self.spec is None else self.spec.to_dict()
        d["solver"] = dataclasses.asdict(self.solver)
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

    history:        ``{"train_loss", "val_loss", "val_accuracy", "running_loss"}``: arrays
                    ``(K, E+1)`` (row 0 = before training; ``val_accuracy`` is ``None`` for
                    regression; ``running_loss[:, 0]`` is NaN, later entries are the mean loss the
                    steps of that epoch saw).
    param_history:  list of K lists of E+1 :class:`Params`.
    params:         list of K final :class:`Params`.
    metrics:        per-replicate final metrics (list of dicts) and their summary.
    timings:        seconds: ``setup``, ``compile``, ``train`` (the epochs, without compilation;
                    in chemical mode including the evaluation that overlaps the next epoch),
                    ``evaluate``, ``chemical_eval``, ``total`` (see :func:`train`).
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
    chemical_test_predictions: list | None = None
    summary: dict = field(default_factory=dict)
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
    r = evaluate(dataset, pred, Y)
    return {"loss": r["half_mse"], "accuracy": r["accuracy"]}


def evaluate_params(spec: ModelSpec, params: Params, dataset, splits=("train", "val", "test"),
                    solver=None) -> dict:
    """``{split: {"loss": ½MSE, "accuracy": float or None}}`` of the ideal predictor."""
    Xs = [dataset.split(s)[0] for s in splits]
    pred = predict_params(spec, params, np.concatenate(Xs), solver)
    out, a = {}, 0
    for s, X in zip(splits, Xs):
        out[s] = _metrics_of(dataset, pred[a:a + X.shape[0]], dataset.split(s)[1])
        a += X.shape[0]
    return out


# ------------------------------------------------------------------ the loop
def _orders(seeds, epoch, n):
    return np.stack([np.asarray(epoch_order(int(s), epoch, n)) for s in seeds])


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


def _warm_predictor(spec: ModelSpec, solver) -> float:
    """Compile the ideal predictor for ``EVAL_CHUNK`` rows (so evaluation never compiles)."""
    t0 = time.perf_counter()
    p = Params(np.zeros(spec.theta_shape), np.zeros(spec.n), np.zeros((spec.outputs, spec.n)))
    predict_params(spec, p, np.zeros((1, spec.inputs)), solver)
    return time.perf_counter() - t0


def setup_for(config: TrainConfig, spec: ModelSpec) -> ChemicalSetup:
    """The compiled circuit a run of ``config`` uses (both modes: ideal runs report its sizes and
    write its files). An exact-gradient model runs the modular circuit in ideal mode and is
    refused by the two-phase schedule in chemical mode (SpecError)."""
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


def train(config: TrainConfig, *, progress: bool = False, log=None, resume=None) -> TrainResult:
    """Train ``config.task`` as ``config`` says and evaluate it (see the module docstring).

    Parameters
    ----------
    progress: show a tqdm bar (one update per epoch: the mean loss the steps saw and, once the
        evaluation is running, the validation loss and accuracy).
    log: optional callable receiving one line per epoch (used when ``progress`` is off).

    Timings (``result.timings``, seconds of wall time; ``setup + compile + train + evaluate +
    chemical_eval ≈ total``): ``setup`` (task, data, circuit, initial parameters), ``compile``
    (the XLA compilation of the epoch, after the setup, and, at the end, waiting for anything
    still compiling), ``train`` (the epochs; in chemical mode including the evaluation between
    epochs, which runs while the next epoch is simulated), ``evaluate`` (evaluation not overlapped
    with the chemistry: the final metrics; in ideal mode all of it), ``chemical_eval`` (chemical
    forward on the test set). Informational: ``compile_epoch``, ``compile_predictor``,
    ``compile_chemical_predictor`` (durations of each compilation). In ideal mode ``compile`` is
    the first epoch (the ideal step compiles then).

    In chemical mode epoch e+1 is dispatched before epoch e is read and evaluated, and the ideal
    predictor used for evaluation compiles in a background thread while the first epochs run
    (their evaluation waits for it; results are identical).

    ``resume``: a :class:`~neuralcrn.training.ResumeState` (from a run folder,
    :func:`~neuralcrn.training.read_resume`): training continues after its ``epochs_done``
    epochs from its chemical state (parameters in ideal mode), with its history and parameter
    history, up to ``config.epochs`` in total — the same numbers as an uninterrupted run.

    Raises
    ------
    DataError: unknown task.  SpecError: bad configuration (e.g. the two-phase schedule with the
    exact gradient).  SimulationError: a chemical solve failed.
    """
    from concurrent.futures import ThreadPoolExecutor

    t_start = time.perf_counter()
    timings = {"setup": 0.0, "compile": 0.0, "train": 0.0, "evaluate": 0.0,
               "chemical_eval": 0.0, "compile_epoch": 0.0, "compile_predictor": 0.0}
    task = get_task(config.task)
    spec = config.spec if config.spec is not None else task.model_spec
    epochs = config.epochs if config.epochs is not None else task.epochs
    dataset = task.make_data(config.seed)
    if config.minimal:
        from ._minimal import minimal_run_spec
        spec = minimal_run_spec(config, task, dataset)
    if dataset.d != spec.inputs or dataset.m != spec.outputs:
        raise SpecError(f"model has {spec.inputs} inputs / {spec.outputs} outputs but task "
                        f"{config.task!r} has {dataset.d} / {dataset.m}")
    K = config.replicates
    seeds = [config.seed + k for k in range(K)]
    X, Y = dataset.split("train")
    N = X.shape[0]
    solver = _solver_opts(config)
    chemical = config.mode == "chemical"

    # the circuit is compiled in both modes (ideal mode: for its sizes and circuit.crn)
    setup = setup_for(config, spec)
    e0 = 0 if resume is None else resume.check(setup, K, epochs)

    hist = {"train_loss": np.full((K, epochs + 1), np.nan),
            "val_loss": np.full((K, epochs + 1), np.nan),
            "val_accuracy": (np.full((K, epochs + 1), np.nan)
                             if dataset.kind == "classification" else None),
            "running_loss": np.full((K, epochs + 1), np.nan)}
    if resume is not None:
        resume.fill_history(hist)
    queue: list = []          # (epoch, params) waiting for evaluation

    def evaluate_queue(overlapped: bool):
        t0 = time.perf_counter()
        for e, plist in queue:
            for k, p in enumerate(plist):
                r = evaluate_params(spec, p, dataset, ("train", "val"), solver)
                hist["train_loss"][k, e] = r["train"]["loss"]
                hist["val_loss"][k, e] = r["val"]["loss"]
                if hist["val_accuracy"] is not None:
                    hist["val_accuracy"][k, e] = r["val"]["accuracy"]
        queue.clear()
        if not overlapped:
            timings["evaluate"] += time.perf_counter() - t0

    pool = ThreadPoolExecutor(max_workers=2)
    bar = None
    try:
        # ------------------------------------------------------------ compile while setting up
        # (XLA compiles without holding the GIL: the epoch and the initial parameters' random
        # draws compile on the two cores at once)
        fut_epoch = (pool.submit(setup.compile_epoch, N, K if K > 1 else None, config.solver)
                     if chemical else None)
        if not chemical:
            fut_pred = pool.submit(_warm_predictor, spec, solver)
        if resume is None:
            params = [_initial_params(config, task, spec, s) for s in seeds]
            state = np.stack([setup.initial_state(p) for p in params]) if chemical else None
        else:
            state = np.asarray(resume.state, dtype=float) if chemical else None
            params = [setup.read_params(s) for s in resume.state]
        t_main = time.perf_counter()
        timings["setup"] = t_main - t_start
        compiled = fut_epoch.result() if chemical else None
        timings["compile"] = time.perf_counter() - t_main
        if chemical:
            timings["compile_epoch"] = compiled.compile_seconds
            # compiled on the other core while the first epochs run
            fut_pred = pool.submit(_warm_predictor, spec, solver)
        fut_chem_pred = (pool.submit(setup.compile_predictor, config.solver)
                         if chemical and config.chemical_eval else None)

        param_hist = [[p] for p in params] if resume is None else resume.param_lists()
        if resume is None:
            queue.append((0, params))

        def dispatch(e, s_dev):
            """Start epoch e (asynchronously); returns (state, losses) with a replicate axis."""
            order = _orders(seeds, e, N)
            Xo, Yo = X[order], Y[order]                 # (K, N, d), (K, N, m)
            if K > 1:
                return compiled(setup, s_dev, Xo, Yo)
            s1, l1 = compiled(setup, s_dev[0], Xo[0], Yo[0])
            return s1[None], l1[None]

        if progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=epochs, initial=e0, desc=f"{config.task} {config.mode}/{config.schedule}",
                       unit="epoch", dynamic_ncols=True)
        t_loop = time.perf_counter()
        pending = dispatch(e0, state) if chemical and epochs > e0 else None
        for e in range(e0, epochs):
            t0 = time.perf_counter()
            last = e + 1 == epochs
            if chemical:
                s_dev, l_dev = pending
                # queue epoch e+1 behind epoch e before waiting for it: the chemistry never
                # idles, and reading/evaluating epoch e overlaps epoch e+1
                pending = dispatch(e + 1, s_dev) if not last else None
                s_new, losses = np.asarray(s_dev), np.asarray(l_dev)   # waits for epoch e
                if last:
                    timings["train"] = time.perf_counter() - t_loop
                _check_finite(s_new, losses, e, seeds)
                state = s_new
                params = [setup.read_params(s) for s in state]
            else:
                from ..ideal import train_epoch
                order = _orders(seeds, e, N)
                new, ls = [], []
                for k in range(K):
                    p, L = train_epoch(spec, params[k], X[order[k]], Y[order[k]], solver=solver)
                    new.append(Params(*(np.asarray(v) for v in p)))
                    ls.append(np.asarray(L))
                params, losses = new, np.stack(ls)
                timings["compile" if e == e0 else "train"] += time.perf_counter() - t0
            hist["running_loss"][:, e + 1] = losses.mean(axis=1)
            for k in range(K):
                param_hist[k].append(params[k])
            if last or (config.eval_every and (e + 1) % config.eval_every == 0):
                queue.append((e + 1, params))
            if fut_pred.done() and not last and queue:
                fut_pred.result()
                evaluate_queue(overlapped=chemical)   # while epoch e+1 is simulated
            msg = {"loss": f"{hist['running_loss'][:, e + 1].mean():.4g}"}
            if np.isfinite(hist["val_loss"][0, e + 1]):
                msg["val"] = f"{hist['val_loss'][:, e + 1].mean():.4g}"
                if hist["val_accuracy"] is not None:
                    msg["val_acc"] = f"{100 * hist['val_accuracy'][:, e + 1].mean():.1f}%"
            if bar is not None:
                bar.set_postfix(msg, refresh=False)
                bar.update(1)
            elif log is not None:
                log(f"epoch {e + 1}/{epochs} " + " ".join(f"{k}={v}" for k, v in msg.items()))
        if bar is not None:
            bar.close()
            bar = None

        # ------------------------------------------------------------ final metrics
        t0 = time.perf_counter()
        timings["compile_predictor"] = fut_pred.result()
        timings["compile"] += time.perf_counter() - t0
        evaluate_queue(overlapped=False)
        t0 = time.perf_counter()
        metrics = [evaluate_params(spec, p, dataset, ("train", "val", "test"), solver)
                   for p in params]
        timings["evaluate"] += time.perf_counter() - t0
        chem_preds = None
        if fut_chem_pred is not None:
            t0 = time.perf_counter()
            predictor = fut_chem_pred.result()
            timings["compile_chemical_predictor"] = predictor.compile_seconds
            chem_preds = []
            Xt, Yt = dataset.split("test")
            for k in range(K):
                pred = predictor(setup, state[k], Xt)
                chem_preds.append(pred)
                if np.all(np.isfinite(pred)):
                    metrics[k]["test_chemical_forward"] = _metrics_of(dataset, pred, Yt)
                else:
                    metrics[k]["test_chemical_forward"] = {
                        "loss": None, "accuracy": None,
                        "failed_points": int(np.sum(~np.all(np.isfinite(pred), axis=1)))}
            timings["chemical_eval"] = time.perf_counter() - t0
    finally:
        if bar is not None:
            bar.close()
        pool.shutdown(wait=True, cancel_futures=True)
    timings["total"] = time.perf_counter() - t_start
    result = TrainResult(config=config, spec=spec, task=task, dataset=dataset, epochs=epochs,
                         history=hist, param_history=param_hist, params=params, metrics=metrics,
                         timings=timings, setup=setup, final_state=state,
                         chemical_test_predictions=chem_preds,
                         resumed_at=() if resume is None else resume.resumed_at + (e0,))
    result.summary = summarize(result)
    return result


def _stat(values):
    v = np.asarray([x for x in values if x is not None], dtype=float)
    if v.size == 0:
        return None
    return {"mean": float(np.mean(v)), "sd": float(np.std(v, ddof=1)) if v.size > 1 else 0.0,
            "min": float(np.min(v)), "max": float(np.max(v))}


def summarize(result: TrainResult) -> dict:
    """Mean ± sd over replicates of every final metric (``{"test.accuracy": {...}, ...}``)."""
    out = {}
    keys = [(s, q) for s in result.metrics[0] for q in result.metrics[0][s]
            if q in ("loss", "accuracy")]
    for s, q in keys:
        st = _stat([m[s].get(q) for m in result.metrics])
        if st is not None:
            out[f"{s}.{q}"] = st
    return out
