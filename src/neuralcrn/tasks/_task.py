"""The :class:`Task` record: data generator, default model, default training length, initialisation
and the metric that the task is judged by."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Literal

import numpy as np

from ..errors import DataError, SpecError
from ..ideal.spec import ModelSpec, Params
from ._dataset import Dataset

__all__ = ["Task", "InitConfig", "Target", "fan_theta"]


def fan_theta(spec: ModelSpec, bias: float) -> np.ndarray:
    """Θ ``(n, 3)`` with rows (cos φ_j, sin φ_j, ∓bias), φ_j = π j/(n/2), j < n/2 (see
    :class:`InitConfig`). Needs 2 inputs, drive "bias", full Θ and an even hidden width."""
    if spec.inputs != 2 or spec.drive != "bias" or spec.theta != "full" or spec.n % 2:
        raise SpecError("the 'fan' initialisation needs 2 inputs, drive 'bias', full theta and "
                        "an even hidden width")
    k = spec.n // 2
    rows = [[np.cos(np.pi * j / k), np.sin(np.pi * j / k), b]
            for j in range(k) for b in (-bias, bias)]
    return np.asarray(rows, dtype=float)


def _fan_applies(spec: ModelSpec) -> bool:
    """Whether the 'fan' layout of :func:`fan_theta` fits ``spec``."""
    return (spec.inputs == 2 and spec.drive == "bias" and spec.theta == "full"
            and spec.n % 2 == 0)


@dataclass(frozen=True)
class InitConfig:
    """Default parameter initialisation (deterministic given the seed).

    ``theta="normal"``: Θ_ij ~ N(0, scale²) on the trainable entries (``ideal.init_params``, JAX
    PRNG key = seed). ``theta="fan"`` (2 inputs, drive "bias", even n): hidden unit 2j + i,
    j < n/2, i ∈ {0, 1}, gets the row scale·(cos φ_j, sin φ_j, ∓fan_bias), φ_j = π j/(n/2) —
    n/2 evenly spaced directions, each with two offsets (the same for every seed).
    h ~ N(0, h_scale²); W from ``readout`` (``"random"``: N(0, 1/n); ``"ones"``; ``"mean"``: 1/n)
    multiplied by ``w_scale``.
    """

    scale: float = 1.0
    h_scale: float = 0.0
    readout: Literal["ones", "mean", "random"] = "random"
    w_scale: float = 1.0
    theta: Literal["normal", "fan"] = "normal"
    fan_bias: float = 0.5

    def __post_init__(self):
        if self.theta not in ("normal", "fan"):
            raise SpecError(f"init theta must be 'normal' or 'fan', got {self.theta!r}")
        for k in ("scale", "h_scale", "w_scale", "fan_bias"):
            v = getattr(self, k)
            if not (isinstance(v, (int, float)) and np.isfinite(v) and v >= 0):
                raise SpecError(f"init {k} must be a finite number ≥ 0, got {v!r}")
        if self.readout not in ("ones", "mean", "random"):
            raise SpecError(f"init readout must be 'ones', 'mean' or 'random', got "
                            f"{self.readout!r}")


@dataclass(frozen=True)
class Target:
    """The result a default run must reach (the issue's targets).

    ``metric`` ``"accuracy"`` (≥ ``value``) or ``"half_mse"`` (≤ ``value``) on ``split``.
    """

    metric: Literal["accuracy", "half_mse"]
    value: float
    split: Literal["train", "val", "test"]

    def met(self, metrics: dict) -> bool:
        """Whether ``metrics`` (the dict of :func:`~neuralcrn.tasks.metrics.evaluate`) meet it."""
        v = metrics[self.metric]
        return bool(v >= self.value) if self.metric == "accuracy" else bool(v <= self.value)

    def __str__(self) -> str:
        op = "≥" if self.metric == "accuracy" else "≤"
        shown = f"{100 * self.value:g} %" if self.metric == "accuracy" else f"{self.value:g}"
        return f"{self.split} {self.metric} {op} {shown}"


@dataclass(frozen=True)
class Task:
    """A learning task: data rule, default model and hyperparameters, and its metric target.

    Attributes
    ----------
    name, description:  identifier and one-line description.
    kind:               ``"regression"`` or ``"classification"``.
    model_spec:         the default :class:`~neuralcrn.ideal.ModelSpec` (α, T, η, gradient mode…).
    epochs:             default number of epochs (one online SGD step per training sample).
    init:               :class:`InitConfig` of the default initial parameters.
    target:             :class:`Target` the default run must reach (mean over seeds 0–4), or
                        ``None`` (a user's data).
    decision, threshold: classification decision rule (see :class:`Dataset`).
    data_notes:         how the data are generated, encoded and scaled.
    generator:          ``seed -> Dataset`` (use :meth:`make_data`).
    source:             plain-JSON description of a user's data source (CSV files and options,
                        recorded in config.json so the run can be repeated), or ``None``.
    table:              the raw :class:`~neuralcrn.tasks.Table` of tabular data, or ``None``.
    """

    name: str
    description: str
    kind: Literal["regression", "classification"]
    model_spec: ModelSpec
    epochs: int
    init: InitConfig
    target: Target | None
    generator: Callable[[int], Dataset] = field(repr=False, compare=False)
    decision: Literal["threshold", "argmax"] | None = None
    threshold: float | None = None
    data_notes: str = ""
    source: dict | None = field(default=None, compare=False)
    table: object = field(default=None, repr=False, compare=False)

    def make_data(self, seed: int = 0) -> Dataset:
        """The task's data set for ``seed`` (a seeded ``numpy`` Generator; same seed → same data)."""
        ds = self.generator(seed)
        if ds.d != self.model_spec.inputs or ds.m != self.model_spec.outputs:
            raise DataError(f"task {self.name!r}: data shape ({ds.d} → {ds.m}) does not match "
                            f"the model ({self.model_spec.inputs} → {self.model_spec.outputs})")
        return ds


    def init_params(self, seed: int = 0, spec: ModelSpec | None = None) -> Params:
        """Default initial parameters for ``seed`` (and ``spec``, default :attr:`model_spec`).

        Deterministic: ``ideal.init_params(spec, seed, init.scale, h_scale=init.h_scale,
        readout=init.readout)`` with W multiplied by ``init.w_scale``; numpy float64 arrays.
        """
        from ..ideal import init_params

        spec = self.model_spec if spec is None else spec
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise SpecError(f"seed must be an integer ≥ 0, got {seed!r}")
        p = init_params(spec, int(seed), self.init.scale, h_scale=self.init.h_scale,
                        readout=self.init.readout)
        theta = np.asarray(p.theta, dtype=float)
        if self.init.theta == "fan" and _fan_applies(spec):
            # an overridden spec that the fan layout does not fit (e.g. the paper's augmented
            # XOR model in the benchmarks) keeps the normal initialisation above
            theta = self.init.scale * fan_theta(spec, self.init.fan_bias)
        return Params(theta, np.asarray(p.h, dtype=float),
                      self.init.w_scale * np.asarray(p.W, dtype=float))

    @property
    def steps(self) -> int:
        """Default number of SGD steps (epochs × training samples of seed 0's data)."""
        return self.epochs * self.make_data(0).X_train.shape[0]

    def summary(self) -> dict:
        """Plain-JSON description (name, kind, model, epochs, init, target, data notes)."""
        s = self.model_spec
        return {"name": self.name, "description": self.description, "kind": self.kind,
                "model_spec": s.to_dict(), "epochs": self.epochs,
                "init": {"scale": self.init.scale, "h_scale": self.init.h_scale,
                         "readout": self.init.readout, "w_scale": self.init.w_scale,
                         "theta": self.init.theta, "fan_bias": self.init.fan_bias},
                "target": None if self.target is None else {
                    "metric": self.target.metric, "value": self.target.value,
                    "split": self.target.split},
                "decision": self.decision, "threshold": self.threshold,
                "data": self.data_notes}
