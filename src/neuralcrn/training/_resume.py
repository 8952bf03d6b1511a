"""A run folder's chemical state and protocol files, and resuming training from them.

Written into every run folder (:func:`write_run_state`, called by ``write_run``):

=====================  ==========================================================================
``protocol.json``      the protocol of one training step (format ``neuralcrn-protocol/1``, from
                       the run's :class:`~neuralcrn.compiler.StepProgram`: phases with durations
                       and reactions, what the host washes, keeps and loads; see
                       :func:`neuralcrn.compiler.describe_protocol`)
``circuit.crn``        the circuit as it starts training: every initial concentration (parameter
                       rails, constant drive species), the protocol as comments
``circuit_final.crn``  the same circuit with the concentrations at the end of training of every
                       species the host keeps (the trained parameters, the constant species)
``state.csv``          the final chemical state: ``species`` then one column of concentrations
                       per replicate (``concentration``, or ``seed{S}`` with replicates), every
                       value written with ``repr`` (exact float64); in ideal mode the state that
                       holds the final parameters
``resume.json``        format ``neuralcrn-resume/1``: epochs done, replicate seeds, the history
                       and every replicate's parameters after every epoch (exact floats; NaN as
                       null), and the epochs at which the run was resumed before
=====================  ==========================================================================

Resuming (:func:`read_resume`, :func:`resume_run`, ``neuralcrn train --resume DIR``): the run's
``config.json`` gives the task, model, data seed and sample orders (``tasks.epoch_order(seed,
epoch, N)`` depends only on the seed and the epoch), ``state.csv`` the exact state, so the
compiled epochs continue with bit-identical inputs: a run resumed after epoch E equals the
uninterrupted run (the test compares parameters to 1e-12 — they are equal).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..ideal.spec import Params

__all__ = ["RESUME_FORMAT", "ResumeState", "write_run_state", "read_resume", "resume_run",
           "read_state_csv", "state_csv", "checkpoint_dir", "CHECKPOINT_SECONDS"]

RESUME_FORMAT = "neuralcrn-resume/1"
STATE_FILE = "state.csv"
RESUME_FILE = "resume.json"
HISTORY_KEYS = ("train_loss", "val_loss", "val_accuracy", "running_loss")
CHECKPOINT_SUFFIX = ".checkpoint"
CHECKPOINT_SECONDS = 30.0
"""A run in progress writes its checkpoint after an epoch once this long has passed since the
last one (and always after the last epoch): a cost of milliseconds per write."""


def checkpoint_dir(out) -> Path:
    """The checkpoint folder of the run folder ``out``: ``OUT.checkpoint`` beside it."""
    out = Path(out)
    return out.with_name(out.name + CHECKPOINT_SUFFIX)


@dataclass(frozen=True, eq=False)
class ResumeState:
    """What continuing a run needs beyond its ``config.json`` (numpy; K replicates, E epochs done).

    epochs_done: E.  species: the state's species order.  state: ``(K, S)`` chemical state after
    epoch E.  history: ``{key: (K, E+1) array or None}`` for :data:`HISTORY_KEYS`.
    param_history: K tuples of E+1 :class:`Params`.  resumed_at: earlier resume epochs.
    epochs_planned: the epochs the run was configured for when the folder is a checkpoint of a
    run in progress (:func:`~neuralcrn.training.write_checkpoint`), else ``None``.
    """

    epochs_done: int
    species: tuple[str, ...]
    state: np.ndarray
    history: dict
    param_history: tuple
    resumed_at: tuple = ()
    epochs_planned: int | None = None

    def check(self, setup, replicates: int, epochs: int) -> int:
        """Check the state fits the run's circuit; returns ``epochs_done``. Raises DataError."""
        if tuple(setup.circuit.species) != self.species:
            raise DataError("the saved state's species are not the circuit's (the run was "
                            "written by another version of the compiler); it cannot be resumed")
        if self.state.shape != (replicates, len(self.species)):
            raise DataError(f"the saved state has {self.state.shape[0]} replicate(s), the "
                            f"configuration {replicates}")
        if epochs < self.epochs_done:
            raise DataError(f"the run has done {self.epochs_done} epochs; cannot resume it to "
                            f"{epochs} epochs in total")
        return self.epochs_done

    def fill_history(self, hist: dict) -> None:
        """Copy the saved history into the arrays ``hist`` (``(K, ≥ E+1)``) of a new run."""
        n = self.epochs_done + 1
        for k in HISTORY_KEYS:
            if hist.get(k) is not None and self.history.get(k) is not None:
                hist[k][:, :n] = self.history[k]

    def param_lists(self) -> list[list[Params]]:
        return [list(ph) for ph in self.param_history]


# ------------------------------------------------------------------ writing
def _num(v) -> float | None:
    v = float(v)
    return v if np.isfinite(v) else None


def state_csv(species, states, seeds) -> str:
    """CSV text: ``species`` then one column per replicate (``concentration`` for one), values
    with ``repr`` (exact)."""
    states = np.atleast_2d(np.asarray(states, dtype=float))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["species"] + (["concentration"] if len(seeds) == 1 else
                              [f"seed{s}" for s in seeds]))
    for i, s in enumerate(species):
        w.writerow([s] + [repr(float(v)) for v in states[:, i]])
    return buf.getvalue()


def _params_json(p: Params) -> dict:
    return {"theta": np.asarray(p.theta, dtype=float).tolist(),
            "h": np.asarray(p.h, dtype=float).tolist(), "W": np.asarray(p.W, dtype=float).tolist()}


def _states(result):
    """``(initial (K, S), final (K, S))`` of a run (ideal mode: the states holding its
    parameters)."""
    setup = result.setup
    initial = np.stack([setup.initial_state(ph[0]) for ph in result.param_history])
    final = (np.asarray(result.final_state, dtype=float) if result.final_state is not None
             else np.stack([setup.initial_state(p) for p in result.params]))
    return initial, final


def write_run_state(result, folder) -> None:
    """Write ``protocol.json``, ``circuit.crn``, ``circuit_final.crn``, ``state.csv`` and
    ``resume.json`` of ``result`` (a :class:`~neuralcrn.training.TrainResult` with a setup) into
    ``folder`` (the module docstring has the contents)."""
    from ..compiler import circuit_text, describe_protocol
    from ._run_dir import _json
    folder = Path(folder)
    setup = result.setup
    circuit, program = setup.circuit, setup.program
    seeds = [result.config.seed + k for k in range(result.config.replicates)]
    initial, final = _states(result)
    E = result.epochs
    (folder / "protocol.json").write_text(_json(describe_protocol(circuit, program)))
    imp = [setup.imperfections.describe()] if setup.imperfections is not None else []
    (folder / "circuit.crn").write_text(circuit_text(
        circuit, state=initial[0], program=program,
        header=[f"initial concentrations: the start of training (seed {seeds[0]})"] + imp))
    keep = np.asarray(program.keep)
    (folder / "circuit_final.crn").write_text(circuit_text(
        circuit, state=final[0] * (keep == 1.0), program=program,
        header=[f"initial concentrations: the kept species at the end of training (epoch {E}, "
                f"seed {seeds[0]}); the full final state is in state.csv"] + imp))
    write_resume_files(result, folder)


def write_resume_files(result, folder, epochs_planned: int | None = None) -> None:
    """Write ``state.csv`` and ``resume.json`` of ``result`` into ``folder`` (``epochs_planned``:
    the epochs the run was configured for, when it is a checkpoint of a run in progress)."""
    from ._run_dir import _json
    folder = Path(folder)
    seeds = [result.config.seed + k for k in range(result.config.replicates)]
    _, final = _states(result)
    E = result.epochs
    (folder / STATE_FILE).write_text(state_csv(result.setup.circuit.species, final, seeds))
    hist = {k: (None if result.history.get(k) is None else
                [[_num(v) for v in row] for row in np.asarray(result.history[k])])
            for k in HISTORY_KEYS}
    (folder / RESUME_FILE).write_text(_json({
        "format": RESUME_FORMAT, "epochs_done": E, "mode": result.config.mode,
        "replicate_seeds": seeds, "resumed_at": list(result.resumed_at),
        "state_file": STATE_FILE, "history": hist,
        "param_history": [[_params_json(p) for p in ph] for ph in result.param_history],
        **({} if epochs_planned is None else {"epochs_planned": int(epochs_planned)}),
        "resume": "neuralcrn train --resume DIR [--epochs N]"}))


# ------------------------------------------------------------------ reading
def read_state_csv(path) -> tuple[tuple[str, ...], np.ndarray]:
    """``(species, states (K, S))`` from a ``state.csv``; DataError naming file and line."""
    path = Path(path)
    try:
        rows = list(csv.reader(path.read_text().splitlines()))
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    if not rows or not rows[0] or rows[0][0] != "species" or len(rows[0]) < 2:
        raise DataError(f"{path}: not a neuralcrn state file (header 'species,...')")
    K = len(rows[0]) - 1
    species, values = [], []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != K + 1:
            raise DataError(f"{path}:{line}: expected {K + 1} fields, got {len(row)}")
        try:
            vals = [float(v) for v in row[1:]]
        except ValueError:
            raise DataError(f"{path}:{line}: not a number in {row[1:]}") from None
        if not all(np.isfinite(vals)):
            raise DataError(f"{path}:{line}: non-finite concentration for {row[0]!r}")
        species.append(row[0])
        values.append(vals)
    return tuple(species), np.asarray(values, dtype=float).reshape(len(species), K).T.copy()


def _params_from(d, where) -> Params:
    try:
        return Params(np.asarray(d["theta"], dtype=float), np.asarray(d["h"], dtype=float),
                      np.asarray(d["W"], dtype=float))
    except (KeyError, TypeError, ValueError):
        raise DataError(f"{where}: bad parameter entry") from None


def read_resume(run_dir):
    """``(TrainConfig, ResumeState)`` of a run folder.

    Raises :class:`DataError`: not a run folder, no saved state (``state.csv``/``resume.json``
    missing: a folder written by an older neuralcrn or an incomplete one), or inconsistent files.
    """
    from ._model_file import read_format_json
    from ._run_dir import read_config
    run = Path(run_dir)
    if not run.is_dir():
        raise DataError(f"{run}: no such run folder")
    config = read_config(run)
    missing = [f for f in (STATE_FILE, RESUME_FILE) if not (run / f).is_file()]
    if missing:
        raise DataError(f"{run}: no saved chemical state ({' and '.join(missing)} missing); "
                        f"only run folders written with the final state can be resumed")
    d = read_format_json(run / RESUME_FILE, RESUME_FORMAT, "resume file")
    species, state = read_state_csv(run / STATE_FILE)
    where = run / RESUME_FILE
    try:
        E = int(d["epochs_done"])
        K = state.shape[0]
        hist = {}
        for k in HISTORY_KEYS:
            v = d["history"].get(k)
            hist[k] = None if v is None else np.array(
                [[np.nan if x is None else float(x) for x in row] for row in v], dtype=float)
            if hist[k] is not None and hist[k].shape != (K, E + 1):
                raise DataError(f"{where}: history {k!r} has shape {hist[k].shape}, expected "
                                f"{(K, E + 1)}")
        ph = tuple(tuple(_params_from(p, where) for p in rep) for rep in d["param_history"])
        resumed_at = tuple(int(e) for e in d.get("resumed_at", ()))
        planned = None if d.get("epochs_planned") is None else int(d["epochs_planned"])
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise DataError(f"{where}: bad resume file ({e})") from None
    if len(ph) != K or any(len(rep) != E + 1 for rep in ph):
        raise DataError(f"{where}: the parameter history does not cover {K} replicate(s) × "
                        f"{E + 1} epochs")
    if config.replicates != K:
        raise DataError(f"{run}: state.csv has {K} replicate column(s), config.json says "
                        f"{config.replicates}")
    return config.replace(epochs=E), ResumeState(E, species, state, hist, ph, resumed_at, planned)


def resume_run(run_dir, epochs: int | None = None, *, progress: bool = False, log=None,
               checkpoint=None, **changes):
    """Continue the run in ``run_dir`` for ``epochs`` more epochs (default: a checkpoint's
    remaining epochs, else as many as it has done; 0 only evaluates) and return the :class:`~neuralcrn.training.TrainResult` of the whole run (history from
    epoch 0). ``changes`` may set TrainConfig fields that do not change the training
    (``eval_every``, ``chemical_eval``). Write it with ``write_run`` (to ``run_dir`` with
    ``overwrite=True`` to update the folder atomically). ``checkpoint``: as for
    :func:`~neuralcrn.training.train`."""
    from ..errors import SpecError
    from ._loop import train
    bad = set(changes) - {"eval_every", "chemical_eval"}
    if bad:
        raise SpecError(f"{sorted(bad)} cannot be changed when resuming a run (it would not "
                        f"continue the same training)")
    config, state = read_resume(run_dir)
    if epochs is not None:
        more = int(epochs)
    elif state.epochs_planned is not None:
        more = state.epochs_planned - state.epochs_done
    else:
        more = state.epochs_done
    if more < 0:
        raise DataError(f"epochs to add must be ≥ 0, got {more}")
    config = config.replace(epochs=state.epochs_done + more, **changes)
    return train(config, progress=progress, log=log, resume=state, checkpoint=checkpoint)
