"""Write a training run to a folder, atomically (``DIR.tmp-XXXX`` then rename to ``DIR``).

Files: ``config.json`` (everything needed to rerun: ``neuralcrn train --config DIR/config.json``;
its ``"data"`` is the data source of a user's data, ``"dataset"`` describes the data set),
``model.json`` (:mod:`~neuralcrn.training._model_file`), ``history.csv``, ``parameters.csv``,
``metrics.json``, ``circuit.crn`` and the PNG plots ``loss.png``, ``parameters.png`` and
``decision_regions.png`` (2-d classification) or ``predicted_vs_target.png`` (regression); the
decision regions and predicted-vs-target plots show the chemical forward pass where it ran.
With replicates also ``history_replicates.csv`` and ``replicates/model_K.json``; for data given
as arrays (no file) also ``data.npz``, which config.json's data source reads back.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ..chemistry._atomic import publish_mode
from ..errors import DataError
from ._loop import TrainConfig, TrainResult, predict_params
from ._model_file import model_dict, read_format_json

__all__ = ["check_out_dir", "write_run", "read_config", "RUN_CONFIG_FORMAT", "param_names"]

RUN_CONFIG_FORMAT = "neuralcrn-run/1"
MAX_PLOTTED_PARAMS = 200
"""parameters.png draws at most this many parameter trajectories (evenly spaced); parameters.csv
holds all."""


def check_out_dir(out, overwrite: bool = False) -> Path:
    """Fail early (before training) if the run folder cannot be written.

    Raises :class:`DataError`: ``out`` exists (without ``overwrite``) or is a file, or its parent
    folder cannot be created or written.
    """
    out = Path(out)
    if out.exists():
        if not out.is_dir():
            raise DataError(f"run folder {out}: exists and is not a folder")
        if not overwrite:
            raise DataError(f"run folder {out} exists; choose another (--out DIR) or replace it "
                            f"(--overwrite; overwrite=True in Python)")
    parent = out.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        probe = tempfile.mkdtemp(prefix=f"{out.name}.tmp-", dir=parent)
        os.rmdir(probe)
    except OSError as e:
        raise DataError(f"run folder {out}: cannot write in {parent}: {e.strerror or e}") \
            from None
    return out


def param_names(spec) -> list[str]:
    """Names of the flattened parameters (theta_i_j, h_i, W_k_i; 1-based; Θ support only)."""
    names = []
    for i in range(spec.n):
        for j in range(spec.n_u):
            if spec.theta == "full" or i == j:
                names.append(f"theta_{i + 1}_{j + 1}")
    names += [f"h_{i + 1}" for i in range(spec.n)]
    names += [f"W_{k + 1}_{i + 1}" for k in range(spec.outputs) for i in range(spec.n)]
    return names


def _flat(spec, p) -> np.ndarray:
    th = np.asarray(p.theta)
    vals = [th[i, j] for i in range(spec.n) for j in range(spec.n_u)
            if spec.theta == "full" or i == j]
    return np.concatenate([np.asarray(vals), np.ravel(p.h), np.ravel(p.W)])


def _csv(rows, header) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow([("" if v is None or (isinstance(v, float) and np.isnan(v)) else
                     (repr(float(v)) if isinstance(v, (float, np.floating)) else v)) for v in r])
    return buf.getvalue()


def _json(obj) -> str:
    def default(o):
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, Path):
            return str(o)
        raise TypeError(f"not JSON serialisable: {type(o).__name__}")
    return json.dumps(obj, indent=2, default=default, allow_nan=False) + "\n"


def _clean(v):
    """NaN → None recursively (JSON has no NaN)."""
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if isinstance(v, (float, np.floating)) and not np.isfinite(v):
        return None
    return v


def config_dict(result: TrainResult, data_source: dict | None = None) -> dict:
    """``config.json``: the resolved :class:`TrainConfig` (epochs and model filled in; ``data``
    = ``data_source`` when given) plus provenance and a description of the data set."""
    import jax

    from .. import __version__
    cfg = result.config.replace(epochs=result.epochs, spec=result.spec)
    if data_source is not None:
        cfg = cfg.replace(data=data_source)
    d = {"format": RUN_CONFIG_FORMAT, **cfg.to_dict(),
         "neuralcrn_version": __version__, "jax_version": jax.__version__,
         "rerun": "neuralcrn train --config config.json --out NEW_DIR"}
    ds = result.dataset
    d["dataset"] = {"sizes": ds.sizes(), "kind": ds.kind, "test_kind": ds.test_kind,
                    "input_offset": np.asarray(ds.x_offset).tolist(),
                    "input_scale": np.asarray(ds.x_scale).tolist(),
                    "output_offset": np.asarray(ds.y_offset).tolist(),
                    "output_scale": np.asarray(ds.y_scale).tolist(),
                    "class_names": list(ds.class_names) if ds.kind == "classification" else None,
                    "notes": getattr(ds, "notes", "")}
    if result.setup is not None and result.setup.schedule == "two-phase":
        from ..compiler import two_phase_rates
        d["two_phase_rates"] = two_phase_rates(result.spec)
    imp = getattr(result.setup, "imperfections", None)
    if imp is not None:
        c = result.setup.circuit
        d["imperfections"] = {
            **imp.to_dict(), "reactions": c.network.n_reactions,
            "form": "rate constants k*exp(sigma*xi), xi ~ N(0,1) per reaction (numpy "
                    "default_rng(seed)); leaks: each catalytic production also runs with one "
                    "catalyst absent at lambda*k*c_ref (c_ref = 1); wash: a fraction w of each "
                    "transient species survives and the loads add to it (docs/robustness.md)"}
    if hasattr(result.setup, "config_extras"):          # the chemical clock's timing
        d.update(result.setup.config_extras())
    d["replicate_seeds"] = [result.config.seed + k for k in range(result.config.replicates)]
    return d


def read_config(path) -> TrainConfig:
    """The :class:`TrainConfig` stored in a run's ``config.json`` (raises DataError)."""
    path = Path(path)
    if path.is_dir():
        path = path / "config.json"
    d = read_format_json(path, RUN_CONFIG_FORMAT, "configuration")
    import dataclasses
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    data = d.get("data")
    if isinstance(data, dict) and data.get("format") in ("csv", "npz"):
        d["data"] = _absolute_paths(data, path.absolute().parent)
    else:
        d.pop("data", None)       # runs before data sources: "data" described the data set
    try:
        return TrainConfig.from_dict({k: v for k, v in d.items() if k in names})
    except (TypeError, ValueError) as e:
        raise DataError(f"{path}: bad configuration: {e}") from None


def _absolute_paths(source: dict, base: Path) -> dict:
    """The data source with its relative file paths made absolute against ``base``."""
    out = dict(source)
    for k in ("path", "val", "test"):
        if out.get(k) is not None and not Path(out[k]).is_absolute():
            out[k] = str(base / out[k])
    return out


def epochs_run(result: TrainResult) -> int:
    """Epochs trained by this call (all of them, or those after the last resume)."""
    return result.epochs - (result.resumed_at[-1] if result.resumed_at else 0)


def metrics_dict(result: TrainResult) -> dict:
    """``metrics.json``: final metrics of replicate 0 (the model in ``model.json``) at the top,
    per-replicate metrics and mean ± sd under ``replicates``, timings and circuit sizes."""
    m0 = result.metrics[0]
    c = result.setup.circuit if result.setup is not None else None
    t = result.timings
    d = {"task": result.config.task, "mode": result.config.mode,
         "schedule": result.config.schedule, "epochs": result.epochs,
         "seed": result.config.seed, "kind": result.dataset.kind,
         "test_kind": result.dataset.test_kind, **m0}
    d["evaluation"] = (
        "train/val/test: " + m0["evaluated_by"] + (
            " — the trained circuit's feedforward (+ readout) chemistry run on every point"
            if m0["evaluated_by"] == "chemical forward pass" else "")
        + "; ideal_predictor: the ideal math (ideal.predict_batch) on the parameters read from "
          "the species; ideal_training: ideal training from the same initial parameters and "
          "sample order; vs_ideal_training: final parameter relative difference "
          "‖θ_chem − θ_ideal‖/‖θ_ideal‖ and metrics_difference = headline − ideal_training")
    if result.stochastic:
        d["kinetics"], d["volume"] = result.config.kinetics, result.config.volume
        d["test_stochastic_forward"] = m0.get("test_stochastic_forward")
        d["stochastic"] = result.stochastic
        d["evaluation"] += (f"; the circuit trained on molecule counts ({result.config.kinetics} "
                            f"at Ω = {result.config.volume:g}): train/val/test "
                            + ("run the ODE forward pass from" if m0["evaluated_by"] ==
                               "chemical forward pass" else "use the ideal predictor on")
                            + " the learned counts / Ω; "
                            f"test_stochastic_forward: the same phases simulated by "
                            f"{result.config.kinetics} at the training Ω (the honest one)")
    d["wall_time_s"] = {"total": t.get("total"), "setup": t.get("setup"),
                        "compile": t.get("compile"), "train": t.get("train"),
                        "evaluate": t.get("evaluate"), "chemical_eval": t.get("chemical_eval"),
                        "stochastic_eval": t.get("stochastic_eval"),
                        "train_per_epoch": (t["train"] / max(epochs_run(result) - (
                            1 if result.config.mode == "ideal" else 0), 1))}
    if c is not None:
        d["circuit"] = {"schedule": result.setup.schedule, "species": c.network.n_species,
                        "reactions": c.network.n_reactions,
                        "max_molecularity": c.network.max_molecularity,
                        "modules": c.summary()[:-1]}
    if hasattr(result.setup, "clock_report") and result.final_state is not None:
        d["clock"] = result.setup.clock_report(result)
    if result.config.replicates > 1:
        d["replicates"] = {"count": result.config.replicates,
                           "seeds": [result.config.seed + k
                                     for k in range(result.config.replicates)],
                           "data": "each seed its own data set, initial parameters and order",
                           "mean_sd": result.summary, "per_replicate": result.metrics}
    return _clean(d)


def _history_rows(result: TrainResult):
    h, E = result.history, result.epochs
    cls = h["val_accuracy"] is not None
    K = result.config.replicates
    ref = h.get("param_diff") is not None
    header = ["epoch", "train_loss", "val_loss"] + (["val_accuracy"] if cls else []) \
        + (["param_diff_vs_ideal"] if ref else [])
    keys = ["train_loss", "val_loss"] + (["val_accuracy"] if cls else []) \
        + (["param_diff"] if ref else [])
    if K > 1:
        header += [f"{k}_sd" for k in keys]
    rows = []
    for e in range(E + 1):
        row = [e] + [float(np.mean(h[k][:, e])) for k in keys]
        if K > 1:
            row += [float(np.std(h[k][:, e], ddof=1)) for k in keys]
        rows.append(row)
    rep_rows = [[k, result.config.seed + k, e] + [float(h[q][k, e]) for q in keys]
                for k in range(K) for e in range(E + 1)]
    return header, rows, ["replicate", "seed", "epoch"] + header[1:len(keys) + 1], rep_rows


def _plots(result: TrainResult, folder: Path):
    from .. import plots
    if hasattr(result.setup, "write_plots"):            # the chemical clock's own plots
        result.setup.write_plots(result, folder)
    ds, spec, h = result.dataset, result.spec, result.history
    E = result.epochs
    name = f"{result.config.task} ({result.config.mode}, {result.config.schedule})"
    epochs = np.arange(E + 1)
    plots.plot_loss_curves(epochs, h["train_loss"], h["val_loss"], folder / "loss.png",
                           val_accuracy=h["val_accuracy"], running_loss=h["running_loss"],
                           title=name)
    vals = np.stack([_flat(spec, p) for p in result.param_history[0]])
    names = param_names(spec)
    title = f"{name}: parameters after each epoch"
    if len(names) > MAX_PLOTTED_PARAMS:
        keep = np.unique(np.linspace(0, len(names) - 1, MAX_PLOTTED_PARAMS).round().astype(int))
        vals, names = vals[:, keep], [names[i] for i in keep]
        title += f" ({keep.size} of {len(param_names(spec))}, evenly spaced)"
    plots.plot_parameter_trajectories(epochs, vals, names, folder / "parameters.png",
                                      title=title)
    p0 = result.params[0]
    chem = result.chemical_predictions[0] if result.chemical_predictions else None
    source = "chemical forward pass" if chem is not None else "ideal predictor"

    def predicted(split):
        if chem is not None:
            return chem[split]
        return predict_params(spec, p0, ds.split(split)[0])

    if ds.kind == "classification" and ds.test_kind == "grid" and ds.d == 2 \
            and ds.decision == "threshold":
        pred = predicted("test")
        off, sc = np.asarray(ds.x_offset), np.asarray(ds.x_scale)
        axes = tuple(np.asarray(a) * sc[i] + off[i] for i, a in enumerate(ds.grid_axes))
        plots.plot_decision_regions(axes, ds.as_grid(pred), ds.as_grid(ds.labels("test")),
                                    folder / "decision_regions.png", threshold=ds.threshold,
                                    X_train=ds.raw_inputs(ds.X_train),
                                    labels_train=ds.labels("train"),
                                    title=f"{name}\n{source}")
    elif ds.kind == "regression":
        sets = {}
        for s in ("val", "test"):
            Y = ds.raw_outputs(ds.split(s)[1])
            sets[{"val": "validation", "test": "test"}[s]] = (Y, ds.raw_outputs(predicted(s)))
        plots.plot_predicted_vs_target(sets, folder / "predicted_vs_target.png",
                                       title=f"{name}: {source}")


def _write_config_and_model(result: TrainResult, folder: Path) -> None:
    """``config.json`` and ``model.json`` (and ``data.npz`` for an in-memory data set)."""
    w = lambda name, text: (folder / name).write_text(text)  # noqa: E731
    ds, spec = result.dataset, result.spec
    source = None
    task = result.task
    given = (getattr(task, "source", None) or {}) if result.config.data is None else {}
    if given.get("format") == "arrays" and getattr(task, "table", None) is not None:
        from ..tasks import save_arrays
        source = save_arrays(task, folder / "data.npz")
    elif given.get("format") == "csv":
        source = given
    w("config.json", _json(_clean(config_dict(result, source))))
    w("model.json", _json(model_dict(spec, result.params[0], ds.decision, ds.threshold,
                                     dataset=ds)))


def _publish(tmp: Path, out: Path) -> None:
    """Rename the finished folder ``tmp`` to ``out``, replacing an existing ``out`` (moved
    aside first, removed after)."""
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f"{out.name}.old-", dir=out.absolute().parent))
        os.rmdir(old)
        os.rename(out, old)
        os.rename(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, out)


def write_run(result: TrainResult, out, *, overwrite: bool = False) -> Path:
    """Write every output of ``result`` into the folder ``out`` atomically; returns its path.

    Raises :class:`DataError` if ``out`` exists (without ``overwrite``) or cannot be written.
    """
    out = check_out_dir(out, overwrite)
    parent = out.absolute().parent
    tmp = Path(tempfile.mkdtemp(prefix=f"{out.name}.tmp-", dir=parent))
    try:
        publish_mode(tmp)
        w = lambda name, text: (tmp / name).write_text(text)  # noqa: E731
        ds, spec = result.dataset, result.spec
        _write_config_and_model(result, tmp)
        if result.config.replicates > 1:
            (tmp / "replicates").mkdir()
            for k, p in enumerate(result.params):
                dk = result.datasets[k] if result.datasets else ds
                w(f"replicates/model_{k}.json", _json(model_dict(spec, p, dk.decision,
                                                                 dk.threshold, dataset=dk)))
        header, rows, rheader, rrows = _history_rows(result)
        w("history.csv", _csv(rows, header))
        if result.config.replicates > 1:
            w("history_replicates.csv", _csv(rrows, rheader))
        names = param_names(spec)
        w("parameters.csv", _csv([[e] + list(_flat(spec, p))
                                  for e, p in enumerate(result.param_history[0])],
                                 ["epoch"] + names))
        w("metrics.json", _json(metrics_dict(result)))
        if result.setup is not None:
            from ._resume import write_run_state
            write_run_state(result, tmp)
        _plots(result, tmp)
        _publish(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def write_checkpoint(result: TrainResult, folder, epochs_planned: int) -> Path:
    """Write the checkpoint of a run in progress into ``folder`` (replaced atomically: written
    as ``folder.tmp-XXXX`` and renamed); returns its path.

    ``result``: the run after ``result.epochs`` of its ``epochs_planned`` epochs (metrics
    empty). The folder holds ``config.json``, ``model.json`` (the parameters after the last
    epoch done, replicate 0), ``state.csv`` and ``resume.json`` (with ``epochs_planned``): a
    run folder that ``neuralcrn train --resume FOLDER --out DIR`` continues (to
    ``epochs_planned`` epochs unless ``--epochs`` says how many more; ``--epochs 0`` only
    evaluates) and ``neuralcrn predict FOLDER`` evaluates. Raises :class:`DataError` if the
    folder cannot be written.
    """
    from ._resume import write_resume_files
    out = Path(folder)
    parent = out.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f"{out.name}.tmp-", dir=parent))
    except OSError as e:
        raise DataError(f"{out}: cannot write the checkpoint ({e.strerror or e})") from None
    try:
        publish_mode(tmp)
        _write_config_and_model(result, tmp)
        write_resume_files(result, tmp, epochs_planned=epochs_planned)
        _publish(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
