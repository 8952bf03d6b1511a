"""The :class:`Dataset` container and the shared per-epoch shuffling :func:`epoch_order`.

A data set holds exactly what the model sees (after any scaling the task applies): inputs
``X_*`` of shape ``(N, d)`` and targets ``Y_*`` of shape ``(N, m)``, float64 numpy arrays, read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..errors import DataError

__all__ = ["Dataset", "epoch_order", "labels_from", "SPLITS"]

SPLITS = ("train", "val", "test")


def _frozen(a, name: str, ndim: int = 2) -> np.ndarray:
    a = np.array(a, dtype=float)  # a private copy
    if a.ndim != ndim:
        raise DataError(f"{name} must be a {ndim}-d array, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise DataError(f"{name} has non-finite values")
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class Dataset:
    """One task's data: train / validation / test splits as the model sees them.

    Attributes
    ----------
    name:        task name.
    kind:        ``"regression"`` or ``"classification"``.
    X_train, Y_train, X_val, Y_val, X_test, Y_test:
                 inputs ``(N, d)`` and targets ``(N, m)`` (float64, read-only).
    decision:    classification only: ``"threshold"`` (one output; label = 1 if ŷ > ``threshold``
                 else 0) or ``"argmax"`` (m outputs, one-hot targets; label = argmax ŷ).
                 ``None`` for regression.
    threshold:   the threshold of ``decision="threshold"`` (targets are 0/1, threshold 0.5).
    class_names: names of the classes (classification), index = integer label.
    test_kind:   ``"grid"`` (the 40×40 grid over ``input_box``, 2-d classifiers), ``"sample"``
                 (a fresh sample drawn by the same rule, regressions) or ``"split"`` (held-out part
                 of a fixed data set, Iris).
    grid_shape:  ``(rows, cols) = (len(x2 axis), len(x1 axis))`` when ``test_kind == "grid"``:
                 ``X_test`` is the grid in row-major order, x1 varying fastest, so
                 ``values.reshape(grid_shape)`` is ready for ``contourf(*grid_axes, ·)``.
    grid_axes:   ``(x1 values, x2 values)`` of the grid, or ``None``.
    input_box:   ``(lower, upper)`` arrays ``(d,)`` of the (model-facing) input range.
    x_offset, x_scale:
                 arrays ``(d,)``: raw input = ``X * x_scale + x_offset`` (identity unless the task
                 standardises its inputs).
    y_offset, y_scale:
                 arrays ``(m,)``: target in the data's units = ``Y * y_scale + y_offset``
                 (identity except for standardised regression targets of tabular data).
    feature_names, target_names:
                 names of the d inputs and the m outputs (``()``: unnamed).
    notes:       one-line description of the data rule.
    """

    name: str
    kind: Literal["regression", "classification"]
    X_train: np.ndarray
    Y_train: np.ndarray
    X_val: np.ndarray
    Y_val: np.ndarray
    X_test: np.ndarray
    Y_test: np.ndarray
    decision: Literal["threshold", "argmax"] | None = None
    threshold: float | None = None
    class_names: tuple[str, ...] = ()
    test_kind: Literal["grid", "sample", "split"] = "sample"
    grid_shape: tuple[int, int] | None = None
    grid_axes: tuple[np.ndarray, np.ndarray] | None = None
    input_box: tuple[np.ndarray, np.ndarray] | None = None
    x_offset: np.ndarray | None = None
    x_scale: np.ndarray | None = None
    notes: str = ""
    y_offset: np.ndarray | None = None
    y_scale: np.ndarray | None = None
    feature_names: tuple[str, ...] = ()
    target_names: tuple[str, ...] = ()

    def __post_init__(self):
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        if self.kind not in ("regression", "classification"):
            raise DataError(f"kind must be 'regression' or 'classification', got {self.kind!r}")
        for s in SPLITS:
            X = _frozen(getattr(self, f"X_{s}"), f"X_{s}")
            Y = _frozen(getattr(self, f"Y_{s}"), f"Y_{s}")
            if X.shape[0] != Y.shape[0]:
                raise DataError(f"X_{s} has {X.shape[0]} rows but Y_{s} has {Y.shape[0]}")
            set_(f"X_{s}", X)
            set_(f"Y_{s}", Y)
        d, m = self.X_train.shape[1], self.Y_train.shape[1]
        for s in SPLITS:
            if getattr(self, f"X_{s}").shape[1] != d or getattr(self, f"Y_{s}").shape[1] != m:
                raise DataError(f"split {s!r} has a different input or output width")
        if self.kind == "classification":
            if self.decision not in ("threshold", "argmax"):
                raise DataError(f"classification needs decision 'threshold' or 'argmax', "
                                f"got {self.decision!r}")
            if self.decision == "threshold" and (m != 1 or self.threshold is None):
                raise DataError("decision 'threshold' needs one output and a threshold")
        elif self.decision is not None:
            raise DataError("regression data has no decision rule")
        if self.test_kind == "grid":
            if self.grid_shape is None or self.grid_axes is None:
                raise DataError("a grid test set needs grid_shape and grid_axes")
            gx, gy = (_frozen(a, "grid axis", 1) for a in self.grid_axes)
            set_("grid_axes", (gx, gy))
            set_("grid_shape", (int(self.grid_shape[0]), int(self.grid_shape[1])))
            if self.grid_shape != (gy.size, gx.size) or self.X_test.shape[0] != gx.size * gy.size:
                raise DataError("grid_shape does not match the grid axes / X_test")
        off = np.zeros(d) if self.x_offset is None else self.x_offset
        sc = np.ones(d) if self.x_scale is None else self.x_scale
        set_("x_offset", _frozen(off, "x_offset", 1))
        set_("x_scale", _frozen(sc, "x_scale", 1))
        set_("y_offset", _frozen(np.zeros(m) if self.y_offset is None else self.y_offset,
                                 "y_offset", 1))
        set_("y_scale", _frozen(np.ones(m) if self.y_scale is None else self.y_scale,
                                "y_scale", 1))
        if self.x_offset.shape != (d,) or self.x_scale.shape != (d,) \
                or self.y_offset.shape != (m,) or self.y_scale.shape != (m,):
            raise DataError("x_offset/x_scale must have shape (d,) and y_offset/y_scale (m,)")
        if np.any(self.x_scale <= 0) or np.any(self.y_scale <= 0):
            raise DataError("x_scale and y_scale must be > 0")
        for k, size in (("feature_names", d), ("target_names", m)):
            names = tuple(str(v) for v in getattr(self, k))
            if names and len(names) != size:
                raise DataError(f"{k} has {len(names)} names for {size} columns")
            set_(k, names)
        if self.input_box is not None:
            set_("input_box", tuple(_frozen(b, "input_box", 1) for b in self.input_box))
        set_("class_names", tuple(self.class_names))

    # ------------------------------------------------------------ sizes and access
    @property
    def d(self) -> int:
        """Input dimension."""
        return int(self.X_train.shape[1])

    @property
    def m(self) -> int:
        """Output (target) dimension."""
        return int(self.Y_train.shape[1])

    def split(self, which: str) -> tuple[np.ndarray, np.ndarray]:
        """``(X, Y)`` of ``"train"``, ``"val"`` or ``"test"``."""
        if which not in SPLITS:
            raise DataError(f"unknown split {which!r}; choose one of {', '.join(SPLITS)}")
        return getattr(self, f"X_{which}"), getattr(self, f"Y_{which}")

    def sizes(self) -> dict[str, int]:
        """Number of samples per split."""
        return {s: int(getattr(self, f"X_{s}").shape[0]) for s in SPLITS}

    # ------------------------------------------------------------ labels
    def to_labels(self, values) -> np.ndarray:
        """Integer class labels of targets or predictions ``(N, m)`` (classification only).

        ``"threshold"``: 1 where the value is > ``threshold``, else 0; ``"argmax"``: argmax over
        the outputs.
        """
        if self.kind != "classification":
            raise DataError(f"task {self.name!r} is a regression; it has no labels")
        return labels_from(values, self.decision, self.threshold, self.m)

    def labels(self, which: str) -> np.ndarray:
        """Integer labels ``(N,)`` of one split's targets."""
        return self.to_labels(self.split(which)[1])

    # ------------------------------------------------------------ grid and raw inputs
    def as_grid(self, values) -> np.ndarray:
        """Values over the test grid (``(G,)`` or ``(G, 1)``) reshaped to ``grid_shape``."""
        if self.grid_shape is None:
            raise DataError(f"task {self.name!r} has no test grid")
        v = np.asarray(values)
        if v.ndim == 2 and v.shape[1] == 1:
            v = v[:, 0]
        return v.reshape(self.grid_shape)

    def raw_inputs(self, X) -> np.ndarray:
        """Model-facing inputs back in the original units: ``X * x_scale + x_offset``."""
        return np.asarray(X, dtype=float) * self.x_scale + self.x_offset

    def model_inputs(self, X_raw) -> np.ndarray:
        """Raw inputs in the model's units: ``(X_raw − x_offset) / x_scale``."""
        return (np.asarray(X_raw, dtype=float) - self.x_offset) / self.x_scale

    def raw_outputs(self, Y) -> np.ndarray:
        """Model outputs or targets in the data's units: ``Y * y_scale + y_offset``."""
        return np.asarray(Y, dtype=float) * self.y_scale + self.y_offset


def labels_from(values, decision: str, threshold: float | None, m: int) -> np.ndarray:
    """Integer labels of values ``(N, m)`` (``(N,)`` accepted when m = 1) by a decision rule."""
    v = np.asarray(values, dtype=float)
    if v.ndim == 1 and m == 1:
        v = v[:, None]
    if v.ndim != 2 or v.shape[1] != m:
        raise DataError(f"values must have shape (N, {m}), got {v.shape}")
    if decision == "threshold":
        return (v[:, 0] > threshold).astype(np.int64)
    if decision == "argmax":
        return np.argmax(v, axis=1).astype(np.int64)
    raise DataError(f"no labels for decision {decision!r}")


def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The order in which online SGD visits the n training samples in one epoch.

    A permutation of ``range(n)`` from ``numpy.random.default_rng([seed, epoch, 0x5EED])`` — the
    same for every caller (ideal and chemical training, the tuning script), different per epoch,
    independent of the data and initialisation streams drawn from the same ``seed``.
    """
    for name, v in (("seed", seed), ("epoch", epoch), ("n", n)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise DataError(f"{name} must be an integer ≥ 0, got {v!r}")
    return np.random.default_rng([int(seed), int(epoch), 0x5EED]).permutation(int(n))
