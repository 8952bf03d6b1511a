"""The task registry: the paper's tasks (SPEC §5) and Iris (SPEC §6) with tuned default models.

Every default model is quadratic (φ = α z|z|) or linear, so its circuit has only uni- and
bimolecular reactions, and uses the first-order gradient (the two-phase chemical schedule
implements only that one). The hyperparameters were tuned with the ideal math
(``python -m neuralcrn.tasks._tune``); docs/tasks.md has the table and the results.
"""

from __future__ import annotations

from functools import partial

from ..errors import DataError
from ..ideal.spec import ModelSpec
from . import _data as D
from ._defaults import TASK_RATES, bias_model, scaled_init
from ._task import InitConfig, Target, Task

__all__ = ["TASKS", "get_task", "task_names", "TASK_RATES"]

_ridge = bias_model
_init = scaled_init


def _binary_notes(rule: str, box: str, k: float | None, extra: str = "") -> str:
    scaled = "raw inputs" if k is None else f"inputs mapped linearly onto [−{k:g}, {k:g}]²"
    return (f"x ~ U{box}, label {rule}; targets 0/1, decision ŷ > 0.5; {scaled}; "
            f"100 train / {{val}} val; test = the 40 × 40 grid over the box{extra}")


# Chemical scale of each task (see _ridge): chosen so that a two-phase chemical step stays cheap
# (the forward phase's length T shrinks) while the chemistry's deviation from the ideal step
# (∝ c³/k_ann) stays small at the tasks' k_ann = 1e4 (TASK_RATES: final parameters within
# 5e-5–7e-3 of ideal training for seed 0); docs/tasks.md has the measurements.
SCALE = {"bilinear": 2.0, "sin-square": 2.0, "linear-classification": 2.0, "xor": 2.0,
         "and": 2.0, "or": 2.0, "rings": 2.0, "iris": 2.0}


def _build() -> dict[str, Task]:
    tasks: list[Task] = []
    C = SCALE

    # ---------------------------------------------------------------- regressions
    # The linear model is exact under first-order training. Canonical T = 1, η = 0.005, run with
    # time compressed 4× (T = 0.25, Θ updates 4× larger per unit time → η·16 = 0.08): the same
    # SGD trajectory, a 4× shorter forward phase.
    tasks.append(Task(
        name="linear-regression",
        description="y = x1 + 2 x2 + 1 + N(0, 0.4²), x ~ U(1, 5)² (SPEC §5)",
        kind="regression",
        model_spec=ModelSpec(inputs=2, drive="augment", augment_count=1, augment_value=1.0,
                             z0="drive", theta="diagonal", train_h=False, train_W=False,
                             nonlinearity="none", alpha=0.0, T=0.25, gradient="first-order",
                             learning_rate=0.08, rates=TASK_RATES),
        epochs=40,
        init=InitConfig(scale=0.0, readout="ones"),
        target=Target("half_mse", 0.095, "val"),
        generator=partial(D.regression_data, "linear-regression", target=D.linear_target,
                          lo=[1.0, 1.0], hi=[5.0, 5.0], noise=0.4, n_train=40, n_val=100,
                          n_test=100),
        data_notes="x ~ U(1, 5)² (raw inputs), y = x1 + 2x2 + 1 + N(0, 0.4²); 40 train / 100 val "
                   "/ 100 test (a fresh sample by the same rule); noise floor ½σ² = 0.08",
    ))
    regs = (("bilinear", "y = x1·x2 + x2² + N(0, 0.1²), x ~ U(0.5, 2)² (SPEC §5)",
             D.bilinear_target, _ridge(2, 64, 0.5, 2.0, 0.005, C["bilinear"]),
             _init(1.0, 1.0, C["bilinear"]), 80, 1.0),
            ("sin-square", "y = sin x1 + x2² + N(0, 0.1²), x ~ U(0.5, 2)² (SPEC §5)",
             D.sin_square_target, _ridge(2, 16, 0.5, 2.0, 0.01, C["sin-square"]),
             _init(2.0, 0.3, C["sin-square"]), 40, 1.0))
    for name, desc, target, spec, init, epochs, k in regs:
        tasks.append(Task(
            name=name, description=desc, kind="regression", model_spec=spec, epochs=epochs,
            init=init, target=Target("half_mse", 0.02, "val"),
            generator=partial(D.regression_data, name, target=target, lo=[0.5, 0.5],
                              hi=[2.0, 2.0], noise=0.1, n_train=50, n_val=100, n_test=100,
                              scale_to=k),
            data_notes=f"x ~ U(0.5, 2)² mapped onto [−{k:g}, {k:g}]² (x' = (x − 1.25)·{k:g}/0.75), "
                       "targets raw; 50 train / 100 val / 100 test (fresh sample); noise floor "
                       "0.005",
        ))

    # ---------------------------------------------------------------- 2-d classifiers
    def binary(name, desc, rule, lo, hi, n_val, k, spec, epochs, init, target, reject=None,
               grid_rule=None, extra=""):
        box = f"({lo[0]:g}, {hi[0]:g})²"
        tasks.append(Task(
            name=name, description=desc, kind="classification", model_spec=spec, epochs=epochs,
            init=init, target=target, decision="threshold", threshold=0.5,
            generator=partial(D.binary2d_data, name, rule=rule, lo=lo, hi=hi, n_train=100,
                              n_val=n_val, reject=reject, grid_rule=grid_rule, scale_to=k),
            data_notes=_binary_notes(desc.split(": ", 1)[-1], box, k, extra).format(val=n_val),
        ))

    c = C["linear-classification"]
    binary("linear-classification", "linear classification: 1 if x1 + 2 x2 > 2 else 0",
           D.linear_class_rule, [0.0, 0.0], [2.0, 2.0], 100, 3.0,
           _ridge(2, 32, 1.0, 1.0, 0.0025, c), 30, _init(1.0, 0.3, c),
           Target("accuracy", 0.97, "test"))
    c = C["xor"]
    binary("xor", "XOR: round(x1) xor round(x2)", D.xor_rule, [0.0, 0.0], [1.0, 1.0], 30, 2.0,
           _ridge(2, 32, 1.0, 2.0, 0.005, c), 100,
           _init(2.0, 0.3, c, theta="fan", fan_bias=0.5), Target("accuracy", 0.95, "test"))
    c = C["and"]
    binary("and", "AND: round(x1) and round(x2)", D.and_rule, [0.0, 0.0], [1.0, 1.0], 30, 2.0,
           _ridge(2, 16, 2.0, 2.0, 0.005, c), 30,
           _init(2.0, 0.3, c, theta="fan", fan_bias=0.5), Target("accuracy", 0.97, "test"))
    c = C["or"]
    binary("or", "OR: round(x1) or round(x2)", D.or_rule, [0.0, 0.0], [1.0, 1.0], 30, 3.0,
           _ridge(2, 48, 4.0, 1.0, 0.005, c), 100, _init(2.0, 0.3, c),
           Target("accuracy", 0.97, "test"))
    c = C["rings"]
    binary("rings", "concentric rings: 0 for r ≤ 0.45, 1 for r ≥ 0.5",
           D.rings_rule, [-1.0, -1.0], [1.0, 1.0], 200, 1.0,
           _ridge(2, 32, 0.5, 2.0, 0.0025, c), 200, _init(2.0, 0.3, c),
           Target("accuracy", 0.95, "test"), reject=D.rings_gap, grid_rule=D.rings_grid_rule,
           extra="; points with 0.45 < r < 0.5 are redrawn (train/val); the outer class is the "
                 "whole square outside r = 0.5 (corners included); grid points in the gap are "
                 "labelled by r ≥ 0.475")

    # ---------------------------------------------------------------- Iris
    c = C["iris"]
    tasks.append(Task(
        name="iris", description="Iris (scikit-learn, bundled): 4 features, 3 classes (SPEC §6)",
        kind="classification",
        model_spec=_ridge(4, 96, 1.0, 2.0, 0.0025, c, m=3),
        epochs=240,
        init=_init(0.5, 0.3, c),
        target=Target("accuracy", 0.93, "test"),
        decision="argmax",
        generator=partial(D.iris_data, "iris", scale_to=1.0),
        data_notes="stratified split 25/10/15 per class → 75 train / 30 val / 45 test; features "
                   "standardised with the training mean and sd; one-hot targets, decision argmax",
    ))
    tasks += [_real(name) for name in REAL]
    return {t.name: t for t in tasks}


# ---------------------------------------------------------------- real data (scikit-learn bundled)
# Canonical hyperparameters (ideal-mode sweeps, python -m neuralcrn.tasks._tune; docs/tasks.md):
# hidden width n decoupled from d, Θ ~ N(0, gain²/(d+1)), W ~ N(0, w_scale²/n), chemical scale c.
REAL = {
    "breast-cancer": dict(d=30, m=1, classes=2, n=16, alpha=16.0, T=1.0, eta=0.002, epochs=30,
                          gain=1.0, w_scale=0.1, c=1.0, scaling="standard",
                          fractions=(0.65, 0.10, 0.25), target=0.96,
                          desc="Wisconsin breast cancer (scikit-learn, bundled): 30 features, "
                               "2 classes"),
    "wine": dict(d=13, m=3, classes=3, n=16, alpha=1.0, T=1.0, eta=0.005, epochs=30,
                 gain=1.0, w_scale=0.3, c=2.0, scaling="standard", fractions=(0.65, 0.10, 0.25),
                 target=0.95, desc="Wine (scikit-learn, bundled): 13 features, 3 classes"),
    "digits": dict(d=64, m=10, classes=10, n=128, alpha=4.0, T=1.0, eta=0.0015, epochs=80,
                   gain=1.0, w_scale=1.0, c=2.0, scaling="pooled", fractions=(0.75, 0.05, 0.20),
                   target=0.95, desc="handwritten digits (scikit-learn, bundled): 8×8 images, "
                                     "64 inputs, 10 classes"),
}


def _real(name: str) -> Task:
    from ._defaults import fan_in_init
    from ._tabular import _notes_text

    r = REAL[name]
    notes = _notes_text(r["fractions"], r["scaling"], "classification", r["classes"],
                        stratified=True)
    return Task(
        name=name, description=r["desc"], kind="classification",
        model_spec=bias_model(r["d"], r["n"], r["alpha"], r["T"], r["eta"], r["c"], m=r["m"]),
        epochs=r["epochs"], init=fan_in_init(r["d"], r["gain"], r["w_scale"], r["c"]),
        target=Target("accuracy", r["target"], "test"),
        decision="threshold" if r["m"] == 1 else "argmax",
        threshold=0.5 if r["m"] == 1 else None,
        generator=partial(D.sklearn_data, name, fractions=r["fractions"], scaling=r["scaling"],
                          notes=notes),
        data_notes=notes)


TASKS: dict[str, Task] = _build()
"""All tasks by name."""


def task_names() -> list[str]:
    """Names of the tasks, in registry order."""
    return list(TASKS)


def get_task(name: str) -> Task:
    """The task called ``name``. Unknown names raise :class:`~neuralcrn.errors.DataError` listing
    the valid ones."""
    try:
        return TASKS[name]
    except (KeyError, TypeError):
        raise DataError(f"unknown task {name!r}; valid tasks: {', '.join(TASKS)}") from None
