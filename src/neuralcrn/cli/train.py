"""``neuralcrn train`` and ``neuralcrn predict``: train a task, evaluate a trained run."""

from __future__ import annotations

import click

from ._common import fail_cleanly
from ._group import main


def _fmt_acc(v):
    return "" if v is None else f"{100 * v:.1f} %"


def _summary_lines(result) -> list[str]:
    m = result.metrics[0]
    K = result.config.replicates
    ds = result.dataset
    test_name = {"grid": f"test ({ds.grid_shape[0]}×{ds.grid_shape[1]} grid)"
                 if ds.grid_shape else "test", "sample": "test (fresh sample)",
                 "split": "test (held out)"}.get(ds.test_kind, "test")
    lines = []
    if K == 1:
        lines.append(f"{'':34s} {'½MSE':>10s} {'accuracy':>10s}")
        rows = [("train", m["train"]), ("validation", m["val"]), (test_name, m["test"])]
        if "test_chemical_forward" in m:
            rows.append(("test, chemical forward", m["test_chemical_forward"]))
        for name, r in rows:
            loss = "failed" if r.get("loss") is None else f"{r['loss']:.4g}"
            lines.append(f"{name:34s} {loss:>10s} {_fmt_acc(r.get('accuracy')):>10s}")
    else:
        s = result.summary
        lines.append(f"{K} replicates (seeds {result.config.seed}..{result.config.seed + K - 1}), "
                     f"mean ± sd:")
        lines.append(f"{'':34s} {'½MSE':>20s} {'accuracy':>20s}")
        for key, name in (("train", "train"), ("val", "validation"), ("test", test_name),
                          ("test_chemical_forward", "test, chemical forward")):
            lo, ac = s.get(f"{key}.loss"), s.get(f"{key}.accuracy")
            if lo is None:
                continue
            ls = f"{lo['mean']:.4g} ± {lo['sd']:.2g}"
            a = "" if ac is None else f"{100 * ac['mean']:.1f} ± {100 * ac['sd']:.1f} %"
            lines.append(f"{name:34s} {ls:>20s} {a:>20s}")
    from ..training._run_dir import epochs_run
    t = result.timings
    per = t["train"] / max(epochs_run(result) - (1 if result.config.mode == "ideal" else 0), 1)
    comp = "first epoch (with compilation)" if result.config.mode == "ideal" else "compile"
    lines.append(f"time: {comp} {t['compile']:.2f} s, training {t['train']:.2f} s "
                 f"({per:.3g} s/epoch), evaluation {t['evaluate']:.2f} s"
                 + (f", chemical test forward {t['chemical_eval']:.2f} s"
                    if t.get("chemical_eval") else "")
                 + f", total {t['total']:.1f} s")
    return lines


@main.command("train")
@click.argument("task", required=False)
@click.option("--mode", type=click.Choice(["chemical", "ideal"]), default="chemical",
              show_default=True,
              help="chemical: every step is simulated mass-action chemistry; ideal: the JAX math.")
@click.option("--schedule", type=click.Choice(["two-phase", "modular"]), default="two-phase",
              show_default=True,
              help="two-phase: feedforward | feedback (SPEC §4, first-order gradient); modular: "
                   "feedforward | readout+error | adjoint init | feedback | update.")
@click.option("--epochs", type=click.IntRange(0, None), help="Epochs [task default].")
@click.option("--seed", type=click.IntRange(0, None), default=0, show_default=True,
              help="Seed of the data, the initial parameters and the sample order.")
@click.option("--replicates", type=click.IntRange(1, None), default=1, show_default=True,
              help="Train K independent seeds (seed..seed+K-1) at once and report mean ± sd.")
@click.option("--out", type=click.Path(file_okay=False),
              help="Run folder to write [runs/TASK-MODE-SCHEDULE-seedS].")
@click.option("--overwrite", is_flag=True, help="Replace an existing run folder.")
@click.option("--config", "config_path", type=click.Path(),
              help="Rerun from a run's config.json (options given here override it).")
@click.option("--learning-rate", type=float, help="η, SGD step in (0, 1] [task default].")
@click.option("--k-ann", type=float, help="Annihilation rate constant [task default].")
@click.option("--method", type=click.Choice(["tsit5", "dopri5", "bosh3", "dopri8", "kvaerno5",
                                            "kvaerno3"]),
              help="ODE method of the chemical solves [tsit5]; the implicit kvaerno5/3 only "
                   "with --clock chemical.")
@click.option("--rtol", type=float, help="Chemical ODE relative tolerance [1e-4].")
@click.option("--atol", type=float, help="Chemical ODE absolute tolerance [1e-7].")
@click.option("--no-chemical-eval", is_flag=True,
              help="Skip the evaluation of the test set by the chemical forward pass.")
@click.option("--eval-every", type=click.IntRange(0, None),
              help="Evaluate train/val losses after every N-th epoch and the last (0: only "
                   "before training and after the last epoch) [1].")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--minimal", is_flag=True,
              help="Train the minimal circuit (linear-regression: 10 species, 13 reactions; "
                   "single-rail inputs, y loaded into the error's minus rail).")
@click.option("--clock", type=click.Choice(["host", "chemical"]),
              help="host: the host switches phases and washes between samples [default]; "
                   "chemical: one autonomous network whose own chemical clock runs every step, "
                   "the host only doses x and y once per clock period.")
@click.option("--resume", "resume_dir", type=click.Path(file_okay=False),
              help="Continue the run in DIR from its saved chemical state for --epochs more "
                   "epochs [as many as it has done]; bit-identical to an uninterrupted run. "
                   "Updates DIR atomically (or writes --out).")
@click.pass_context
@fail_cleanly
def train_cmd(ctx, task, mode, schedule, epochs, seed, replicates, out, overwrite, config_path,
              learning_rate, k_ann, method, rtol, atol, no_chemical_eval, eval_every, quiet,
              minimal, clock, resume_dir):
    """Train a task by online SGD (one sample per step) and write a run folder.

    TASK is one of linear-regression, linear-classification, bilinear, sin-square, xor, and,
    or, rings, iris. The run folder holds config.json, model.json, history.csv,
    parameters.csv, metrics.json, circuit.crn and PNG plots.

    In chemical mode every training step is the compiled Neural CRN's mass-action chemistry; the
    parameters live only as species concentrations between steps.
    """
    import dataclasses

    from ..errors import DataError
    from ..training import TrainConfig, check_out_dir, read_config, train

    src = click.core.ParameterSource
    given = {k for k in ctx.params if ctx.get_parameter_source(k) == src.COMMANDLINE}
    if resume_dir:
        from ._resume import resume_cmd
        result, out, overwrite = resume_cmd(resume_dir, given, task, epochs, out, overwrite,
                                            eval_every, no_chemical_eval, quiet)
        return _finish(result, out, overwrite)
    if config_path:
        cfg = read_config(config_path)
        if task and task != cfg.task:
            raise DataError(f"TASK {task!r} differs from the configuration's task {cfg.task!r}")
        over = {k: v for k, v in (("mode", mode), ("schedule", schedule), ("epochs", epochs),
                                  ("seed", seed), ("replicates", replicates)) if k in given}
        cfg = cfg.replace(**over)
    else:
        if not task:
            raise DataError("give a TASK (e.g. 'neuralcrn train xor') or --config FILE")
        cfg = TrainConfig(task=task, mode=mode, schedule=schedule, epochs=epochs, seed=seed,
                          replicates=replicates)
    solver = cfg.solver
    changes = {k: v for k, v in (("method", method), ("rtol", rtol), ("atol", atol))
               if v is not None}
    if changes:
        solver = dataclasses.replace(solver, **changes)
    cfg = cfg.replace(solver=solver, chemical_eval=cfg.chemical_eval and not no_chemical_eval)
    if eval_every is not None:
        cfg = cfg.replace(eval_every=eval_every)
    if minimal:
        cfg = cfg.replace(minimal=True)
    if clock is not None:
        cfg = cfg.replace(clock=clock)
    if learning_rate is not None or k_ann is not None:
        from ..tasks import get_task
        if cfg.spec is None and cfg.minimal:
            from ..training._minimal import task_minimal_spec
            spec = task_minimal_spec(get_task(cfg.task))
        else:
            spec = cfg.spec or get_task(cfg.task).model_spec
        if learning_rate is not None:
            spec = spec.replace(learning_rate=learning_rate)
        if k_ann is not None:
            spec = spec.replace(rates=dataclasses.replace(spec.rates, annihilation=k_ann))
        cfg = cfg.replace(spec=spec)
    kind = ("minimal" if cfg.minimal else "autonomous" if cfg.clock == "chemical"
            else cfg.schedule)
    out = out or f"runs/{cfg.task}-{cfg.mode}-{kind}-seed{cfg.seed}"
    check_out_dir(out, overwrite)

    _finish(train(cfg, progress=not quiet), out, overwrite)


def _finish(result, out, overwrite):
    """Print the run's summary and write its folder."""
    from ..training import write_run
    cfg = result.config
    c = result.setup.circuit
    click.echo(f"task {cfg.task}: {cfg.mode} training, {cfg.schedule} schedule, "
               f"{result.epochs} epoch{'s' if result.epochs != 1 else ''}, seed {cfg.seed}, "
               f"η = {result.spec.learning_rate:g}"
               + (f" (resumed after epoch {result.resumed_at[-1]})" if result.resumed_at else ""))
    click.echo(f"circuit ({result.setup.schedule}): {c.network.n_species} species, "
               f"{c.network.n_reactions} reactions, max molecularity "
               f"{c.network.max_molecularity}")
    for line in _summary_lines(result):
        click.echo(line)
    path = write_run(result, out, overwrite=overwrite)
    click.echo(f"wrote {path}/")


@main.command("predict")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--input", "input_csv", required=True, type=click.Path(dir_okay=False),
              help="CSV of input points: d numbers per line, optional header line, '#' comments.")
@click.option("--output", "output_csv", type=click.Path(dir_okay=False),
              help="Write the predictions to this CSV [stdout].")
@click.option("--model-units", is_flag=True,
              help="The inputs are already in the model's units (skip the task's input scaling).")
@fail_cleanly
def predict_cmd(run_dir, input_csv, output_csv, model_units):
    """Evaluate the trained model of RUN_DIR (its model.json) on the points of a CSV file.

    Inputs are in the task's raw units: the run's input scaling (config.json; identity for most
    tasks, standardisation for Iris) is applied unless --model-units. Output columns: the inputs,
    yhat1..yhatm and, for classifiers, the predicted label.
    """
    import json
    from pathlib import Path

    import numpy as np

    from ..errors import DataError
    from ..training import load_model, read_inputs_csv

    run = Path(run_dir)
    if not (run / "model.json").is_file():
        raise DataError(f"{run}: no model.json (is it a run folder written by neuralcrn train?)")
    model = load_model(run / "model.json")
    X_raw = read_inputs_csv(input_csv, model.spec.inputs)
    X = X_raw
    class_names = None
    cfg_path = run / "config.json"
    if cfg_path.is_file():
        try:
            data = json.loads(cfg_path.read_text()).get("data", {})
        except json.JSONDecodeError:
            data = {}
        class_names = data.get("class_names")
        if not model_units and data.get("input_offset") is not None:
            off = np.asarray(data["input_offset"], dtype=float)
            sc = np.asarray(data["input_scale"], dtype=float)
            X = (X_raw - off) / sc
    Yhat = model.predict(X)
    labels = model.labels(Yhat)
    d, m = model.spec.inputs, model.spec.outputs
    header = [f"x{j + 1}" for j in range(d)] + [f"yhat{k + 1}" for k in range(m)]
    if labels is not None:
        header.append("label")
        if class_names:
            header.append("class")
    lines = [",".join(header)]
    for i in range(X_raw.shape[0]):
        row = [repr(float(v)) for v in X_raw[i]] + [repr(float(v)) for v in Yhat[i]]
        if labels is not None:
            row.append(str(int(labels[i])))
            if class_names:
                row.append(str(class_names[int(labels[i])]))
        lines.append(",".join(row))
    text = "\n".join(lines) + "\n"
    if output_csv:
        from ..chemistry._atomic import write_text_atomic
        Path(output_csv).absolute().parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(output_csv, text)
        click.echo(f"wrote {len(lines) - 1} predictions to {output_csv}", err=True)
    else:
        click.echo(text, nl=False)
