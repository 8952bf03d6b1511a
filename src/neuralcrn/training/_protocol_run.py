"""The training protocol of a run folder as one SBML / Antimony model (``neuralcrn protocol``).

:func:`run_protocol` rebuilds, from a run folder, exactly what chemical training ran for replicate
0: the circuit and its :class:`~neuralcrn.compiler.StepProgram` (from ``config.json``), the
initial concentrations (from ``circuit.crn``, checked against the compiled circuit), and the
sample of every step (the task's data for the run's seed in the order ``tasks.epoch_order(seed,
epoch, N)``: step k is epoch k // N, position k mod N). :func:`export_protocol` writes it with
:func:`~neuralcrn.chemistry.sbml.to_sbml_switched` or
:func:`~neuralcrn.chemistry.antimony.to_antimony_switched`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError

__all__ = ["run_protocol", "export_protocol", "PROTOCOL_FORMATS", "step_samples"]

PROTOCOL_FORMATS = ("sbml", "antimony")


def step_samples(dataset, seed: int, steps: int):
    """``(X (steps, d), Y (steps, m))``: the training samples of the first ``steps`` online-SGD
    steps of a run with ``seed`` (the order every trainer uses)."""
    from ..tasks import epoch_order
    X, Y = dataset.split("train")
    N = X.shape[0]
    idx = [int(epoch_order(seed, e, N)[i]) for k in range(steps) for e, i in [divmod(k, N)]]
    return X[idx], Y[idx]


def run_protocol(run_dir, steps: int | None = None):
    """The first ``steps`` training steps (default: all) of the run in ``run_dir`` as a
    :class:`~neuralcrn.chemistry.SwitchedNetwork`.

    Raises :class:`DataError`: not a run folder, one written without its protocol files (no
    ``circuit.crn`` / ``protocol.json``), a ``circuit.crn`` that is not the configured circuit, or
    ``steps`` < 1 or beyond the run (epochs × training samples).
    """
    from ..chemistry.text import read_text
    from ..compiler import protocol_network
    from ._loop import resolve_task, setup_for
    from ._run_dir import read_config
    run = Path(run_dir)
    if not run.is_dir():
        raise DataError(f"{run}: no such run folder")
    config = read_config(run)
    for f in ("circuit.crn", "protocol.json"):
        if not (run / f).is_file():
            raise DataError(f"{run}: no {f}; the run folder was written without its protocol "
                            f"files (by an older neuralcrn?) and cannot be exported")
    task = resolve_task(config)
    spec = config.spec if config.spec is not None else task.model_spec
    setup = setup_for(config, spec)
    start = read_text(run / "circuit.crn")
    circuit = setup.circuit
    if start.species != circuit.species or start.reactions != circuit.network.reactions:
        raise DataError(f"{run / 'circuit.crn'}: not the circuit config.json compiles to (edited, "
                        f"or written by another version)")
    dataset = task.make_data(config.seed)
    total = config.epochs * dataset.split("train")[0].shape[0]
    steps = total if steps is None else int(steps)
    if steps < 1 or steps > total:
        raise DataError(f"--steps {steps}: the run has {total} training steps "
                        f"({config.epochs} epochs × {total // max(config.epochs, 1)} samples)")
    X, Y = step_samples(dataset, config.seed, steps)
    durations = [f"{v:g}" for v in np.asarray(setup.program.durations)]
    if setup.program.dose is not None:
        notes = (f"Autonomous training written by neuralcrn: task {config.task}, "
                 f"{config.mode}/{setup.schedule} circuit, seed {config.seed}, the first {steps} "
                 f"of {total} online-SGD steps. Every reaction runs all the time; the network's "
                 f"own chemical clock (species clock_*) switches feedforward, latch, feedback, "
                 f"hold and wash. The only events are the doses: at the start of every clock "
                 f"period ({durations[0]} time units) one event adds that step's x and y to the "
                 f"storage species xs*, ys*. Mass action k*prod(X^n), no 1/n! factor.")
        return protocol_network(circuit, setup.program, X, Y, np.asarray(start.initial),
                                name=f"{config.task.replace('-', '_')}_autonomous_training",
                                notes=notes)
    notes = (f"Training protocol written by neuralcrn: task {config.task}, "
             f"{config.mode}/{setup.schedule} circuit, seed {config.seed}, the first {steps} of "
             f"{total} online-SGD steps. One step: the host washes the transient species and "
             f"loads x, y (and z(0)) by events at the step start, then the phases "
             f"({', '.join(durations)} time units) switch the reactions' on_* parameters. "
             f"Mass action k*prod(X^n), no 1/n! factor.")
    return protocol_network(circuit, setup.program, X, Y, np.asarray(start.initial),
                            name=f"{config.task.replace('-', '_')}_training", notes=notes)


def export_protocol(run_dir, fmt: str = "sbml", steps: int | None = None, out=None) -> str:
    """The protocol of :func:`run_protocol` as SBML or Antimony text; written atomically to
    ``out`` when given. Raises :class:`DataError` for an unknown format (and as run_protocol)."""
    if fmt not in PROTOCOL_FORMATS:
        raise DataError(f"unknown protocol format {fmt!r}; choose one of "
                        f"{', '.join(PROTOCOL_FORMATS)}")
    model = run_protocol(run_dir, steps)
    if fmt == "sbml":
        from ..chemistry.sbml import to_sbml_switched
        text = to_sbml_switched(model)
    else:
        from ..chemistry.antimony import to_antimony_switched
        text = to_antimony_switched(model)
    if out is not None:
        from ..chemistry._atomic import write_text_atomic
        write_text_atomic(out, text)
    return text
