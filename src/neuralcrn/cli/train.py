"""``neuralcrn train`` and ``neuralcrn predict``: train a task, evaluate a trained run."""

from __future__ import annotations

import click

from ._common import ODE_METHODS, fail_cleanly
from ._group import main


def _fmt_acc(v):
    return "" if v is None else f"{100 * v:.1f} %"


def _stochastic_lines(result) -> list[str]:
    st = result.stochastic
    if not st:
        return []
    rate = st.get("events_per_second")
    return [f"{st['kinetics']} at Ω = {st['volume']:g}: per training step "
            + ", ".join(f"{k} {v:.4g}" for k, v in st["events_per_step"].items())
            + f" ({st['event']}s)" + (f"; {rate:.3g}/s" if rate else "")]


def _stochastic_forward_lines(result) -> list[str]:
    """The honest number of a circuit trained on molecule counts: its forward pass at the
    training Ω (the rows above are the ODE forward pass of the learned counts)."""
    if not result.stochastic:
        return []
    c = result.config
    above = ("the ODE forward pass from the learned counts / Ω"
             if result.metrics[0]["evaluated_by"] == "chemical forward pass" else
             "the ideal predictor on the learned counts / Ω")
    note = (f"the rows above are {above}; the forward pass simulated with {c.kinetics} at "
            f"Ω = {c.volume:g} answers:")
    name = f"test ({c.kinetics}, Ω = {c.volume:g})"
    if c.replicates == 1:
        r = result.metrics[0]["test_stochastic_forward"]
        return [note, f"{name:26s} {_fmt_loss(r):>10s} {_fmt_acc(r.get('accuracy')):>9s}"]
    s = result.summary
    return [note, f"{name:26s} {_fmt_stat(s.get('test_stochastic_forward.loss')):>18s} "
                  f"{_fmt_stat(s.get('test_stochastic_forward.accuracy'), True):>16s}"]


def _fmt_loss(r):
    if r is None:
        return ""
    if r.get("loss") is None:
        return f"failed ({r.get('failed_points', '?')} points)" if "failed_points" in r else ""
    return f"{r['loss']:.4g}"


def _fmt_stat(st, pct=False):
    if st is None:
        return ""
    if pct:
        return f"{100 * st['mean']:.1f} ± {100 * st['sd']:.1f} %"
    return f"{st['mean']:.4g} ± {st['sd']:.2g}"


def _test_name(ds) -> str:
    return {"grid": f"test ({ds.grid_shape[0]}×{ds.grid_shape[1]} grid)"
            if ds.grid_shape else "test", "sample": "test (fresh sample)",
            "split": "test (held out)"}.get(ds.test_kind, "test")


def _check_method_options(kinetics: str, tau_epsilon, cle_dt, cle_rtol) -> None:
    """A method's own option given on the command line for another kinetics would be ignored
    without a word: refuse it (SpecError naming the flag)."""
    from ..errors import SpecError
    for flag, value, method in (("--tau-epsilon", tau_epsilon, "tau-leap"),
                                ("--cle-dt", cle_dt, "cle"), ("--cle-rtol", cle_rtol, "cle")):
        if value is not None and kinetics != method:
            raise SpecError(f"{flag} {value:g} applies only to --kinetics {method}, not "
                            f"{kinetics}")


def _summary_lines(result) -> list[str]:
    """The run's numbers: the headline (chemical forward pass in chemical mode) first, the ideal
    predictor on the learned parameters beside it, then the distance from ideal training."""
    import numpy as np

    m = result.metrics[0]
    K = result.config.replicates
    names = (("train", "train"), ("val", "validation"), ("test", _test_name(result.dataset)))
    beside = "ideal_predictor" in m
    head = m["evaluated_by"]
    lines = []
    if K == 1:
        cols = f"{'':26s} {'½MSE':>10s} {'accuracy':>9s}"
        if beside:
            lines.append(f"{'':26s} {head:>20s}   {'ideal predictor, same θ':>22s}")
            cols += f"   {'½MSE':>10s} {'accuracy':>9s}"
        else:
            lines.append(f"{'':26s} {head:>20s}")
        lines.append(cols)
        for key, name in names:
            r = m[key]
            line = f"{name:26s} {_fmt_loss(r):>10s} {_fmt_acc(r.get('accuracy')):>9s}"
            if beside:
                q = m["ideal_predictor"][key]
                line += f"   {_fmt_loss(q):>10s} {_fmt_acc(q.get('accuracy')):>9s}"
            lines.append(line)
    else:
        s = result.summary
        lines.append(f"{K} seeds ({result.config.seed}..{result.config.seed + K - 1}, each its "
                     f"own data, initial parameters and order), mean ± sd — {head}"
                     + ("; ideal predictor on the same parameters beside it" if beside else ""))
        for key, name in names:
            line = (f"{name:26s} {_fmt_stat(s.get(f'{key}.loss')):>18s} "
                    f"{_fmt_stat(s.get(f'{key}.accuracy'), True):>16s}")
            if beside:
                line += (f"   {_fmt_stat(s.get(f'ideal_predictor.{key}.loss')):>18s} "
                         f"{_fmt_stat(s.get(f'ideal_predictor.{key}.accuracy'), True):>16s}")
            lines.append(line)
    lines += _stochastic_forward_lines(result)
    if "rmse" in m["test"] and m["test"]["rmse"] is not None and np.any(
            np.asarray(result.dataset.y_scale) != 1):
        t = m["test"]
        who = f" (seed {result.config.seed})" if len(result.metrics) > 1 else ""
        value = f"{t['rmse']:.4g} ("
        count = sum(1 for k in t if k.startswith("rmse_"))    # rmse_1 … per target, if several
        if count:
            names = tuple(getattr(result.dataset, "target_names", ()) or ())
            names = names if len(names) == count else tuple(f"y{k}" for k in range(1, count + 1))
            value = (", ".join(f"{n} {t[f'rmse_{k}']:.4g}" for k, n in enumerate(names, 1))
                     + f" (all targets together {t['rmse']:.4g}; ")
        lines.append(f"test RMSE in the data's units{who}: {value}½MSE above is in the model's "
                     f"standardised units)")
    if "vs_ideal_training" in m:
        lines.append(_vs_ideal_line(result))
    lines += _stochastic_lines(result)
    from ..training._run_dir import epochs_run
    t = result.timings
    per = t["train"] / max(epochs_run(result) - (1 if result.config.mode == "ideal" else 0), 1)
    comp = "first epoch (with compilation)" if result.config.mode == "ideal" else "compile"
    lines.append(f"time: {comp} {t['compile']:.2f} s, training {t['train']:.2f} s "
                 f"({per:.3g} s/epoch), evaluation {t['evaluate']:.2f} s"
                 + (f", chemical forward (all splits) {t['chemical_eval']:.2f} s"
                    if t.get("chemical_eval") else "")
                 + (f", stochastic forward (test, at Ω) {t['stochastic_eval']:.2f} s"
                    if t.get("stochastic_eval") else "")
                 + f", total {t['total']:.1f} s")
    return lines


def _vs_ideal_line(result) -> str:
    """Distance from ideal training from the same start and order (mean over seeds)."""
    s = result.summary
    pd = s.get("vs_ideal_training.param_relative_difference")
    acc = s.get("vs_ideal_training.metrics_difference.test.accuracy")
    loss = s.get("vs_ideal_training.metrics_difference.test.loss")
    ref_acc = s.get("ideal_training.test.accuracy")
    ref_loss = s.get("ideal_training.test.loss")
    parts = [f"parameters differ by {pd['mean']:.2g} (relative)" if pd else None]
    if acc is not None and ref_acc is not None:
        parts.append(f"test accuracy {100 * ref_acc['mean']:.1f} % ideal, "
                     f"{100 * acc['mean']:+.1f} points here")
    if loss is not None and ref_loss is not None:
        parts.append(f"test ½MSE {ref_loss['mean']:.4g} ideal, {loss['mean']:+.3g} here")
    return "vs ideal training (same start and sample order): " + "; ".join(
        p for p in parts if p)


def _parse_seeds(text: str) -> tuple[int, int]:
    """``"A-B"`` or ``"A"`` → (first seed, count)."""
    from ..errors import DataError
    a, sep, b = text.partition("-")
    try:
        lo, hi = int(a), int(b) if sep else int(a)
    except ValueError:
        raise DataError(f"--seeds {text!r}: expected a range like 0-4") from None
    if lo < 0 or hi < lo:
        raise DataError(f"--seeds {text!r}: expected 0 ≤ first ≤ last")
    return lo, hi - lo + 1


def _split_option(text):
    from ..errors import DataError
    try:
        f = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise DataError(f"--split {text!r}: expected three fractions like 0.65,0.1,0.25") \
            from None
    if len(f) != 3:
        raise DataError(f"--split {text!r}: expected three fractions (train,val,test)")
    return f


def _clock_options(texts) -> dict:
    """``NAME=VALUE`` texts → ClockOptions keyword arguments (numbers; window may be ``none``)."""
    out = {}
    for text in texts:
        name, sep, value = text.partition("=")
        if not sep:
            raise click.BadParameter(f"expected NAME=VALUE, got {text!r}",
                                     param_hint="--clock-option")
        try:
            out[name.strip()] = None if value.strip().lower() == "none" else float(value)
        except ValueError:
            raise click.BadParameter(f"{name.strip()} needs a number, got {value!r}",
                                     param_hint="--clock-option") from None
    return out


@main.command("train")
@click.argument("task", required=False)
@click.option("--data", "data_csv", type=click.Path(dir_okay=False),
              help="Train on your own data: a CSV file with a header row (numeric feature "
                   "columns and the --target column(s)).")
@click.option("--target", help="Target column(s) of --data: COL or COL1,COL2.")
@click.option("--kind", type=click.Choice(["classification", "regression"]),
              help="Kind of --data's task [inferred: text labels or ≤ 20 distinct integers → "
                   "classification].")
@click.option("--val", "val_csv", type=click.Path(dir_okay=False),
              help="Validation CSV (same columns) instead of a split of --data.")
@click.option("--test", "test_csv", type=click.Path(dir_okay=False),
              help="Test CSV (same columns) instead of a split of --data.")
@click.option("--split", "split_text", help="Train,val,test fractions of the seeded (stratified) "
                                            "split of --data [0.65,0.1,0.25].")
@click.option("--scaling", type=click.Choice(["standard", "pooled", "none"]),
              help="Input scaling of --data fitted on the training split [standard: each "
                   "column's mean and sd; pooled: one common scale].")
@click.option("--mode", type=click.Choice(["chemical", "ideal"]), default="chemical",
              show_default=True,
              help="chemical: every step is simulated mass-action chemistry; ideal: the JAX math.")
@click.option("--schedule", type=click.Choice(["two-phase", "modular"]), default="two-phase",
              show_default=True,
              help="two-phase: feedforward | feedback (SPEC §4, first-order gradient); modular: "
                   "feedforward | readout+error | adjoint init | feedback | update.")
@click.option("--epochs", type=click.IntRange(0, None), help="Epochs [task default].")
@click.option("--seed", type=click.IntRange(0, None), default=0, show_default=True,
              help="Seed of the data split, the initial parameters and the sample order.")
@click.option("--seeds", "seeds_text",
              help="Train seeds A..B at once (e.g. 0-4), each with its own data, initial "
                   "parameters and order, and report mean ± sd (same as --seed A "
                   "--replicates B-A+1).")
@click.option("--replicates", type=click.IntRange(1, None), default=1, show_default=True,
              help="Train K seeds (seed..seed+K-1) at once, each with its own data, and report "
                   "mean ± sd.")
@click.option("--out", type=click.Path(file_okay=False),
              help="Run folder to write [runs/TASK-MODE-SCHEDULE-seedS].")
@click.option("--overwrite", is_flag=True, help="Replace an existing run folder.")
@click.option("--config", "config_path", type=click.Path(),
              help="Rerun from a run's config.json (options given here override it).")
@click.option("--hidden", type=click.IntRange(1, None),
              help="Hidden width n (bias-drive models) [task default].")
@click.option("--alpha", type=click.FloatRange(0, None), help="α of φ(z) [task default].")
@click.option("--horizon", "horizon", type=click.FloatRange(0, None, min_open=True),
              help="Forward-phase duration T [task default].")
@click.option("--learning-rate", type=float, help="η, SGD step in (0, 1] [task default].")
@click.option("--k-ann", type=float, help="Annihilation rate constant [task default].")
@click.option("--method", type=click.Choice(ODE_METHODS),
              help="ODE method of the chemical solves [auto: Rosenbrock with exact dual-rail "
                   "pair-block solves].")
@click.option("--rtol", type=float, help="Chemical ODE relative tolerance [1e-4].")
@click.option("--atol", type=float, help="Chemical ODE absolute tolerance [1e-7].")
@click.option("--no-chemical-eval", is_flag=True,
              help="Skip the chemical forward pass over the data (the headline numbers are then "
                   "the ideal predictor's).")
@click.option("--no-ideal-reference", is_flag=True,
              help="Chemical mode: skip the ideal training run from the same start that the "
                   "chemistry is compared with.")
@click.option("--eval-every", type=click.IntRange(0, None),
              help="Evaluate train/val losses after every N-th epoch and the last (0: only "
                   "before training and after the last epoch) [1].")
@click.option("--kinetics", type=click.Choice(["ode", "ssa", "tau-leap", "cle"]),
              help="Chemical kinetics: ode (concentrations, default) or stochastic on molecule "
                   "counts: ssa (exact), tau-leap, cle (chemical Langevin) [ode].")
@click.option("--volume", type=float,
              help="Ω, molecules per unit concentration (required with stochastic kinetics).")
@click.option("--tau-epsilon", type=float, help="tau-leap: relative-change bound ε [0.03].")
@click.option("--cle-dt", type=float, help="cle: largest time step [1e-2].")
@click.option("--cle-rtol", type=float,
              help="cle: relative tolerance of the drift's adaptive steps (0: fixed steps of "
                   "--cle-dt) [1e-3].")
@click.option("--rate-noise", type=float,
              help="σ ≥ 0: every rate constant k becomes k·exp(σ·N(0,1)), drawn once per "
                   "circuit instance (seeded by --imperfection-seed) [0].")
@click.option("--rate-noise-modules", metavar="NAMES",
              help="Comma-separated modules (phases, e.g. feedforward or error,update) whose "
                   "reactions keep their --rate-noise errors; the others run at nominal rates "
                   "(the same circuit instance; to find which phase's errors cost accuracy) "
                   "[all].")
@click.option("--leak", type=float,
              help="λ in [0, 1): every catalytic production also runs with one catalyst absent "
                   "at λ·k (docs/robustness.md) [0].")
@click.option("--wash-residual", type=float,
              help="w in [0, 1): the fraction of each transient species that survives the wash "
                   "between steps [0].")
@click.option("--signal-annihilation", type=click.FloatRange(0, None),
              help="Two-phase circuit: k of V⁺ + V⁻ → ∅ for the readout, error and adjoint "
                   "rails (the design that removes their common mode) [0: none].")
@click.option("--sign-routing", type=click.FloatRange(0, None),
              help="Two-phase circuit with trained W: k of the routed update (the feedback "
                   "phase split into error | update; ΔW takes the signs of e and z through "
                   "run-to-completion transfers, so rate errors cannot give the sign "
                   "patterns different gains) [0: none].")
@click.option("--adjoint-routing", type=click.FloatRange(0, None),
              help="With --sign-routing: k of the routed hidden update (a fourth phase "
                   "hidden_update; ΔΘ and Δh take the sign of the adjoint through "
                   "run-to-completion transfers) [0: none].")
@click.option("--imperfection-seed", type=click.IntRange(0, None),
              help="Seed of the rate-constant draw (the circuit instance) [--seed].")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--minimal", is_flag=True,
              help="Train the minimal circuit (linear-regression: 10 species, 13 reactions; "
                   "single-rail inputs, y loaded into the error's minus rail).")
@click.option("--clock", type=click.Choice(["host", "chemical"]),
              help="host: the host switches phases and washes between samples [default]; "
                   "chemical: one autonomous network whose own chemical clock runs every step, "
                   "the host only doses x and y once per clock period.")
@click.option("--clock-option", "clock_option_texts", multiple=True, metavar="NAME=VALUE",
              help="A ClockOptions field for --clock chemical (repeatable): window, sharpness, "
                   "gate, dose_at, mass, pacemaker, hold; e.g. --clock-option pacemaker=0.2 "
                   "--clock-option hold=3 --clock-option dose_at=0.3333 (entrained clock).")
@click.option("--resume", "resume_dir", type=click.Path(file_okay=False),
              help="Continue the run in DIR from its saved chemical state for --epochs more "
                   "epochs [as many as it has done; for a checkpoint OUT.checkpoint of a run "
                   "that was stopped: the epochs it had left, 0 = only evaluate]; "
                   "bit-identical to an uninterrupted run. Updates DIR atomically (or writes "
                   "--out).")
@click.pass_context
@fail_cleanly
def train_cmd(ctx, task, data_csv, target, kind, val_csv, test_csv, split_text, scaling, mode,
              schedule, epochs, seed, seeds_text, replicates, out, overwrite, config_path,
              hidden, alpha, horizon, learning_rate, k_ann, method, rtol, atol,
              no_chemical_eval, no_ideal_reference, eval_every, kinetics, volume, tau_epsilon,
              cle_dt, cle_rtol, rate_noise, rate_noise_modules, leak, wash_residual,
              signal_annihilation,
              sign_routing, adjoint_routing, imperfection_seed, quiet, minimal, clock, clock_option_texts, resume_dir):
    """Train a task by online SGD (one sample per step) and write a run folder.

    TASK is one of linear-regression, linear-classification, bilinear, sin-square, xor, and,
    or, rings, iris, breast-cancer, wine, digits — or give your own data with --data FILE.csv
    --target COL. The run folder holds config.json, model.json, history.csv, parameters.csv,
    metrics.json, circuit.crn and PNG plots.

    In chemical mode every training step is the compiled Neural CRN's mass-action chemistry; the
    parameters live only as species concentrations between steps, and the numbers printed first
    are the trained circuit's own chemical forward pass. With --kinetics ssa|tau-leap|cle
    --volume Ω every phase of every step runs on molecule counts (docs/stochastic.md); the
    forward pass at that Ω is reported beside the ODE forward pass of the learned counts.
    --rate-noise, --leak and --wash-residual make the circuit imperfect (SPEC §8,
    docs/robustness.md); config.json and circuit.crn record them.
    """
    import dataclasses

    from ..errors import DataError
    from ..training import TrainConfig, check_out_dir, checkpoint_dir, read_config, train
    from ..training._loop import resolve_task

    src = click.core.ParameterSource
    given = {k for k in ctx.params if ctx.get_parameter_source(k) == src.COMMANDLINE}
    if resume_dir:
        from ._resume import resume_cmd
        result, out, overwrite = resume_cmd(resume_dir, given, task, epochs, out, overwrite,
                                            eval_every, no_chemical_eval, quiet)
        return _finish(result, out, overwrite)
    if seeds_text is not None:
        if {"seed", "replicates"} & given:
            raise DataError("give either --seeds or --seed/--replicates")
        seed, replicates = _parse_seeds(seeds_text)
        given |= {"seed", "replicates"}
    data_opts = {"target", "kind", "val_csv", "test_csv", "split_text", "scaling"} & given
    if data_opts and not data_csv:
        raise DataError(f"--{sorted(data_opts)[0].replace('_csv', '').replace('_text', '')} "
                        f"needs --data FILE.csv")
    task_obj = None
    if config_path:
        cfg = read_config(config_path)
        if task and task != cfg.task:
            raise DataError(f"TASK {task!r} differs from the configuration's task {cfg.task!r}")
        over = {k: v for k, v in (("mode", mode), ("schedule", schedule), ("epochs", epochs),
                                  ("seed", seed), ("replicates", replicates)) if k in given}
        cfg = cfg.replace(**over)
    elif data_csv:
        if task:
            raise DataError(f"give either a TASK ({task!r}) or --data FILE.csv, not both")
        if not target:
            raise DataError("--data needs --target COL (the column to predict)")
        from ..tasks import DEFAULT_FRACTIONS, csv_task
        task_obj = csv_task(data_csv, target, kind=kind, val=val_csv, test=test_csv,
                            fractions=_split_option(split_text) if split_text
                            else DEFAULT_FRACTIONS, scaling=scaling or "standard")
        cfg = TrainConfig(task=task_obj.name, mode=mode, schedule=schedule, epochs=epochs,
                          seed=seed, replicates=replicates, data=task_obj.source)
    else:
        if not task:
            raise DataError("give a TASK (e.g. 'neuralcrn train xor'), --data FILE.csv "
                            "--target COL, or --config FILE")
        cfg = TrainConfig(task=task, mode=mode, schedule=schedule, epochs=epochs, seed=seed,
                          replicates=replicates)
    solver = cfg.solver
    changes = {k: v for k, v in (("method", method), ("rtol", rtol), ("atol", atol))
               if v is not None}
    if changes:
        solver = dataclasses.replace(solver, **changes)
    cfg = cfg.replace(solver=solver, chemical_eval=cfg.chemical_eval and not no_chemical_eval,
                      ideal_reference=cfg.ideal_reference and not no_ideal_reference)
    if eval_every is not None:
        cfg = cfg.replace(eval_every=eval_every)
    _check_method_options(kinetics or cfg.kinetics, tau_epsilon, cle_dt, cle_rtol)
    stoch = {k: v for k, v in (("kinetics", kinetics), ("volume", volume),
                               ("tau_epsilon", tau_epsilon), ("cle_dt", cle_dt),
                               ("cle_rtol", cle_rtol)) if v is not None}
    if stoch.get("kinetics") == "ode" and "volume" not in stoch:
        stoch["volume"] = None
    if stoch:
        cfg = cfg.replace(**stoch)
    imperfect = {k: v for k, v in (("rate_noise", rate_noise), ("leak", leak),
                                   ("wash_residual", wash_residual),
                                   ("imperfection_seed", imperfection_seed),
                                   ("rate_noise_modules",
                                    None if rate_noise_modules is None else
                                    tuple(m.strip() for m in rate_noise_modules.split(",")))
                                   ) if v is not None}
    if imperfect:
        cfg = cfg.replace(**imperfect)
    if minimal:
        cfg = cfg.replace(minimal=True)
    if clock is not None:
        cfg = cfg.replace(clock=clock)
    if clock_option_texts:
        cfg = cfg.replace(clock_options={**(cfg.clock_options or {}),
                                         **_clock_options(clock_option_texts)})
    model = {k: v for k, v in (("hidden", hidden), ("alpha", alpha), ("T", horizon),
                               ("learning_rate", learning_rate)) if v is not None}
    if model or k_ann is not None or signal_annihilation is not None \
            or sign_routing is not None or adjoint_routing is not None:
        if task_obj is None:
            task_obj = resolve_task(cfg)
        if cfg.spec is None and cfg.minimal:
            from ..training._minimal import task_minimal_spec
            spec = task_minimal_spec(task_obj)
        else:
            spec = cfg.spec or task_obj.model_spec
        if "hidden" in model and spec.drive != "bias":
            raise DataError(f"--hidden needs a bias-drive model; {cfg.task!r}'s hidden width is "
                            f"fixed by its inputs")
        spec = spec.replace(**model)
        if k_ann is not None:
            spec = spec.replace(rates=dataclasses.replace(spec.rates, annihilation=k_ann))
        if signal_annihilation is not None:
            spec = spec.replace(rates=dataclasses.replace(
                spec.rates, signal_annihilation=signal_annihilation))
        if sign_routing is not None:
            spec = spec.replace(rates=dataclasses.replace(spec.rates, sign_routing=sign_routing))
        if adjoint_routing is not None:
            spec = spec.replace(rates=dataclasses.replace(spec.rates,
                                                          adjoint_routing=adjoint_routing))
        cfg = cfg.replace(spec=spec)
    if out is None:
        kin = "" if cfg.kinetics == "ode" else f"-{cfg.kinetics}-omega{cfg.volume:g}"
        kind = ("minimal" if cfg.minimal else "autonomous" if cfg.clock == "chemical"
                else cfg.schedule)
        imp = cfg.imperfections
        kin += "" if imp.perfect else (f"-sigma{imp.rate_noise:g}-leak{imp.leak:g}"
                                       f"-wash{imp.wash_residual:g}")
        out = (f"runs/{cfg.task}-{cfg.mode}-{kind}{kin}-"
               + (f"seeds{cfg.seed}-{cfg.seed + cfg.replicates - 1}" if cfg.replicates > 1
                  else f"seed{cfg.seed}"))
    check_out_dir(out, overwrite)

    _finish(train(cfg, task=task_obj, progress=not quiet, checkpoint=checkpoint_dir(out)), out,
            overwrite)


def _finish(result, out, overwrite):
    """Print the run's summary, write its folder and remove its checkpoint
    (``OUT.checkpoint``, written during training; superseded by the folder)."""
    import shutil

    from ..training import checkpoint_dir, write_run
    cfg = result.config
    c = result.setup.circuit
    ds = result.dataset
    click.echo(f"task {cfg.task}: {cfg.mode} training, {result.setup.schedule} schedule, "
               f"{result.epochs} epoch{'s' if result.epochs != 1 else ''} × "
               f"{ds.sizes()['train']} samples, seed {cfg.seed}"
               + (f"..{cfg.seed + cfg.replicates - 1}" if cfg.replicates > 1 else "")
               + f", η = {result.spec.learning_rate:g}"
               + (f" (resumed after epoch {result.resumed_at[-1]})" if result.resumed_at else ""))
    if cfg.data is not None:
        click.echo(f"data: {ds.kind}, {ds.d} inputs → {ds.m} output{'s' if ds.m > 1 else ''}, "
                   f"{ds.sizes()['train']}/{ds.sizes()['val']}/{ds.sizes()['test']} rows "
                   f"(train/val/test); {ds.notes}")
    click.echo(f"circuit ({result.setup.schedule}): {c.network.n_species} species, "
               f"{c.network.n_reactions} reactions, max molecularity "
               f"{c.network.max_molecularity}")
    for line in _summary_lines(result):
        click.echo(line)
    path = write_run(result, out, overwrite=overwrite)
    shutil.rmtree(checkpoint_dir(path), ignore_errors=True)
    click.echo(f"wrote {path}/")


@main.command("predict")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--input", "input_csv", required=True, type=click.Path(dir_okay=False),
              help="CSV of input points: d numbers per line, optional header line, '#' comments.")
@click.option("--output", "output_csv", type=click.Path(dir_okay=False),
              help="Write the predictions to this CSV [stdout].")
@click.option("--model-units", is_flag=True,
              help="The inputs are already in the model's units (skip the input scaling).")
@click.option("--ideal", "use_ideal", is_flag=True,
              help="Evaluate the ideal math of model.json instead of the chemical forward pass "
                   "(chemical runs).")
@fail_cleanly
def predict_cmd(run_dir, input_csv, output_csv, model_units, use_ideal):
    """Evaluate the trained model of RUN_DIR on the points of a CSV file.

    The CSV holds d numbers per line (optional header); or, for a model trained on named
    columns (--data), any CSV whose header names those columns (others, e.g. the target, are
    ignored).

    For a chemical run the prediction is the trained circuit's own chemical forward pass (its
    feedforward and readout phases with the learned parameter concentrations and the run's rate
    constants from config.json); --ideal (and any run without config.json or trained in ideal
    mode) evaluates model.json's math instead. Inputs are in the data's raw units: model.json's
    input scaling is applied unless --model-units. Output columns: the inputs, yhat1..yhatm (in
    the data's units) and, for classifiers, the predicted label and class.
    """
    from pathlib import Path

    import numpy as np

    from ..errors import DataError
    from ..training import load_model, read_inputs_csv

    run = Path(run_dir)
    if not (run / "model.json").is_file():
        raise DataError(f"{run}: no model.json (is it a run folder written by neuralcrn train?)")
    model = load_model(run / "model.json")
    X_raw = None
    if model.feature_names:
        # a CSV whose header names the model's features (e.g. the training file, target
        # column included): take those columns by name
        from ..tasks import read_feature_columns
        X_raw = read_feature_columns(input_csv, model.feature_names)
    if X_raw is None:
        X_raw = read_inputs_csv(input_csv, model.spec.inputs, model.feature_names)
    X = X_raw if model_units else model.model_inputs(X_raw)
    Yhat, how = None, "ideal"
    if not use_ideal and (run / "config.json").is_file():
        Yhat = _chemical_prediction(run, model, X)
        how = "chemical" if Yhat is not None else how
    if Yhat is None:
        Yhat = model.predict(X)
    labels = model.labels(Yhat)
    Y_out = model.raw_outputs(Yhat)
    class_names = model.class_names
    d, m = model.spec.inputs, model.spec.outputs
    header = [f"x{j + 1}" for j in range(d)] + [f"yhat{k + 1}" for k in range(m)]
    if labels is not None:
        header.append("label")
        if class_names:
            header.append("class")
    lines = [",".join(header)]
    for i in range(X_raw.shape[0]):
        row = [repr(float(v)) for v in X_raw[i]] + [repr(float(v)) for v in Y_out[i]]
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
        click.echo(f"wrote {len(lines) - 1} predictions ({how}) to {output_csv}", err=True)
    else:
        click.echo(text, nl=False)


def _chemical_prediction(run, model, X):
    """ŷ of the run's circuit (chemical forward pass) or ``None`` for an ideal-mode run."""
    import numpy as np

    from ..errors import DataError
    from ..training import chemical_predict, read_config
    from ..training._loop import setup_for

    cfg = read_config(run)
    if cfg.mode != "chemical" or cfg.spec is None:
        return None
    spec = cfg.spec
    if (spec.inputs, spec.outputs, spec.n) != (model.spec.inputs, model.spec.outputs,
                                               model.spec.n):
        raise DataError(f"{run}: config.json's model ({spec.inputs} → {spec.n} → "
                        f"{spec.outputs}) does not match model.json's")
    setup = setup_for(cfg, spec)
    p = model.params
    if spec.theta == "diagonal":
        p = p._replace(theta=p.theta * np.eye(spec.n, spec.n_u))
    Yhat = chemical_predict(setup, setup.initial_state(p), X, cfg.solver)
    bad = ~np.all(np.isfinite(Yhat), axis=1)
    if np.any(bad):
        raise DataError(f"the chemical forward pass failed on {int(bad.sum())} of "
                        f"{X.shape[0]} points (first: line {int(np.flatnonzero(bad)[0]) + 1} of "
                        f"the inputs); try --ideal")
    return Yhat
