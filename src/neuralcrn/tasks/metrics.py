"""Metrics of the tasks (SPEC §5): ½MSE and, for classifiers, accuracy.

- ½MSE = mean over samples of ½‖ŷ − y‖² (the training loss averaged; SPEC §5's "½MSE").
- accuracy = fraction of samples whose predicted label equals the target's label, labels by the
  data set's decision rule (``"threshold"``: ŷ > threshold → 1; ``"argmax"``: argmax ŷ).
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError
from ._dataset import SPLITS, Dataset, labels_from

__all__ = ["half_mse", "accuracy", "evaluate"]


def _as2d(a, name):
    a = np.asarray(a, dtype=float)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise DataError(f"{name} must have shape (N, m), got {a.shape}")
    return a


def half_mse(predictions, targets) -> float:
    """Mean over samples of ½‖ŷ − y‖² (arrays ``(N, m)``; ``(N,)`` accepted for m = 1)."""
    P, Y = _as2d(predictions, "predictions"), _as2d(targets, "targets")
    if P.shape != Y.shape:
        raise DataError(f"predictions {P.shape} and targets {Y.shape} differ in shape")
    if P.shape[0] == 0:
        raise DataError("no samples to evaluate")
    return float(np.mean(0.5 * np.sum((P - Y) ** 2, axis=1)))


def accuracy(predictions, targets, decision: str, threshold: float | None = None) -> float:
    """Fraction of samples whose label (by ``decision``) matches the target's label."""
    P, Y = _as2d(predictions, "predictions"), _as2d(targets, "targets")
    if P.shape != Y.shape:
        raise DataError(f"predictions {P.shape} and targets {Y.shape} differ in shape")
    m = P.shape[1]
    return float(np.mean(labels_from(P, decision, threshold, m)
                         == labels_from(Y, decision, threshold, m)))


def evaluate(source, predictions, targets=None, *, split: str = "test") -> dict:
    """Metrics of predictions.

    Parameters
    ----------
    source: a :class:`Dataset` or a :class:`~neuralcrn.tasks.Task` (supplies kind and decision).
    predictions: ŷ, shape ``(N, m)`` (``(N,)`` for m = 1).
    targets: y of the same shape; default (only with a Dataset) the targets of ``split``.
    split: ``"train"``, ``"val"`` or ``"test"`` when ``targets`` is omitted.

    Returns
    -------
    ``{"half_mse": float, "accuracy": float or None, "n": int}`` (accuracy ``None`` for regression).
    """
    kind = getattr(source, "kind", None)
    if kind not in ("regression", "classification"):
        raise DataError(f"evaluate needs a Dataset or Task, got {type(source).__name__}")
    if targets is None:
        if not isinstance(source, Dataset):
            raise DataError("give the targets, or pass a Dataset to take them from a split")
        if split not in SPLITS:
            raise DataError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
        targets = source.split(split)[1]
    out = {"half_mse": half_mse(predictions, targets), "accuracy": None,
           "n": int(_as2d(targets, "targets").shape[0])}
    if kind == "classification":
        out["accuracy"] = accuracy(predictions, targets, source.decision, source.threshold)
    return out
