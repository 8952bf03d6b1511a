"""Training the minimal circuit (``neuralcrn train linear-regression --minimal``).

The circuit and its protocol are :func:`neuralcrn.compiler.compile_minimal` /
:func:`~neuralcrn.compiler.minimal_program`; this module gives them the training loop's
:class:`~neuralcrn.training.ChemicalSetup` (``schedule`` ``"minimal"``; the protocol is the
two-phase one: feedforward | feedback) and the model a task's minimal run uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from ..errors import DataError, SpecError
from ..ideal.spec import ModelSpec, Params
from ._chemical import ChemicalSetup, Probe, _phased

__all__ = ["MinimalSetup", "minimal_setup", "minimal_run_spec", "task_minimal_spec",
           "MINIMAL_TASKS"]

MINIMAL_TASKS = {"linear-regression": {"learning_rate": 0.01, "T": 1.0, "annihilation": 100.0}}
"""Tasks with a default minimal model: ŷ = θ·(x, 1) by plain online SGD at η = 0.01, T = 1
(the linear-regression task's canonical values, without its 4× time compression; 20 epochs from
θ = 0 reach val ½MSE 0.065 in the ideal math), error annihilation at k_ann = 100 (the values do
not depend on it; it keeps the error's minority rail, and so the growth of the θ rails, small:
measured max θ rail after 20 epochs 5.39 at k_ann = 100, 5.18 at 1e3, with training 4.7× faster)."""


def task_minimal_spec(task) -> ModelSpec:
    """The minimal model of a task in :data:`MINIMAL_TASKS` (SpecError for other tasks)."""
    from ..compiler import minimal_spec
    from ..ideal.spec import ChemistryRates
    if task.name not in MINIMAL_TASKS:
        raise SpecError(f"task {task.name!r} has no minimal circuit (one exists for "
                        f"{', '.join(MINIMAL_TASKS)}: a linear model with one output and "
                        f"non-negative inputs)")
    opts = dict(MINIMAL_TASKS[task.name])
    k = opts.pop("annihilation")
    return minimal_spec(task.model_spec.inputs, **opts).replace(
        rates=ChemistryRates(annihilation=k))


@dataclass(frozen=True, eq=False)
class MinimalSetup(ChemicalSetup):
    """A :class:`ChemicalSetup` of a minimal circuit: parameters read from the θ rails, with the
    folded constants h = 0 and W = 1."""

    def read_params(self, state) -> Params:
        p = super().read_params(state)
        return Params(p.theta, np.zeros_like(p.h), np.ones_like(p.W))


def minimal_setup(spec: ModelSpec) -> MinimalSetup:
    """Compile the minimal circuit of ``spec`` and its step program and probes (the readout is
    the error E⁺ − E⁻, read after the feedforward phase; loaded with y = 0 it is ŷ)."""
    from ..compiler import compile_minimal, minimal_program
    circuit = compile_minimal(spec)
    program = minimal_program(circuit)
    idx = {s: i for i, s in enumerate(circuit.species)}
    e = circuit.species_map.e
    readout = np.zeros((1, len(idx)))
    readout[0, idx[e.plus]], readout[0, idx[e.minus]] = 1.0, -1.0
    probe = Probe(jnp.asarray(readout), jnp.asarray(0, dtype=jnp.int32),
                  jnp.asarray(circuit.species_map.param_matrix(circuit.species)),
                  y_weight=jnp.asarray(0.0))
    return MinimalSetup(spec, "minimal", circuit, program, probe, _phased(program))


def minimal_run_spec(config, task, dataset) -> ModelSpec:
    """The model of a minimal run: ``config.spec`` if given (checked), else the task's minimal
    model (:data:`MINIMAL_TASKS`). Raises SpecError (no minimal model, a spec outside the family,
    a schedule other than two-phase) and DataError (negative inputs: the circuit's inputs are
    single-rail)."""
    from ..compiler import check_minimal_spec
    if config.schedule != "two-phase":
        raise SpecError("the minimal circuit runs the two-phase protocol (feedforward | "
                        "feedback); --schedule modular cannot be combined with --minimal")
    if config.spec is not None:
        spec = config.spec
        check_minimal_spec(spec)
    else:
        spec = task_minimal_spec(task)
    for split in ("train", "val", "test"):
        X = dataset.split(split)[0]
        if X.size and np.min(X) < 0:
            raise DataError(f"task {task.name!r}: the {split} inputs have negative values "
                            f"(min {np.min(X):g}); the minimal circuit's inputs are single-rail "
                            f"(x ≥ 0)")
    return spec
