"""Data generators of the tasks (SPEC §5, §6), each ``seed -> Dataset``.

Every generator draws from one ``numpy.random.default_rng(seed)`` in a fixed order (train inputs,
train noise, val inputs, val noise, test inputs, test noise), so a seed fixes the data exactly.
Rejection sampling (rings) redraws in fixed-size batches from the same generator.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import DataError
from ._dataset import Dataset

__all__ = ["GRID", "regression_data", "binary2d_data", "iris_data",
           "xor_rule", "and_rule", "or_rule", "rings_rule", "rings_gap", "rings_grid_rule",
           "linear_class_rule", "linear_target", "bilinear_target", "sin_square_target"]

GRID = 40
"""Points per axis of the test grid of the 2-d classifiers (40 × 40 = 1600 points)."""


def _rng(seed) -> np.random.Generator:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DataError(f"seed must be an integer ≥ 0, got {seed!r}")
    return np.random.default_rng(int(seed))


def _uniform(rng, n, lo, hi, reject=None, batch=256):
    """n points uniform in the box [lo, hi]^d, redrawing those where ``reject(X)`` is true."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    if reject is None:
        return rng.uniform(lo, hi, size=(n, lo.size))
    out = np.empty((0, lo.size))
    while out.shape[0] < n:
        X = rng.uniform(lo, hi, size=(batch, lo.size))
        out = np.concatenate([out, X[~reject(X)]])
    return out[:n]


# ------------------------------------------------------------------ target rules (raw inputs)
def linear_target(X):
    """y = x1 + 2 x2 + 1 (SPEC §5 linear regression, before noise)."""
    return X[:, 0] + 2.0 * X[:, 1] + 1.0


def bilinear_target(X):
    """y = x1·x2 + x2² (SPEC §5 nonlinear regression, before noise)."""
    return X[:, 0] * X[:, 1] + X[:, 1] ** 2


def sin_square_target(X):
    """y = sin x1 + x2² (SPEC §5 nonlinear regression, before noise)."""
    return np.sin(X[:, 0]) + X[:, 1] ** 2


def linear_class_rule(X):
    """Label 1 where x1 + 2 x2 > 2, else 0 (the paper's labels 4/0 re-encoded as 1/0)."""
    return (X[:, 0] + 2.0 * X[:, 1] > 2.0).astype(np.int64)


def xor_rule(X):
    """round(x1) xor round(x2) on [0, 1]² (round: ≥ 0.5 → 1; the grid never hits 0.5)."""
    a, b = X[:, 0] >= 0.5, X[:, 1] >= 0.5
    return (a ^ b).astype(np.int64)


def and_rule(X):
    """round(x1) and round(x2)."""
    return ((X[:, 0] >= 0.5) & (X[:, 1] >= 0.5)).astype(np.int64)


def or_rule(X):
    """round(x1) or round(x2)."""
    return ((X[:, 0] >= 0.5) | (X[:, 1] >= 0.5)).astype(np.int64)


RINGS_INNER, RINGS_OUTER = 0.45, 0.5


def rings_rule(X):
    """0 inside the disk r ≤ 0.45, 1 for r ≥ 0.5 (r = ‖x‖; points in the gap are never drawn)."""
    return (np.hypot(X[:, 0], X[:, 1]) >= RINGS_OUTER).astype(np.int64)


def rings_gap(X):
    """True for points in the gap 0.45 < r < 0.5 (rejected and redrawn in train/val)."""
    r = np.hypot(X[:, 0], X[:, 1])
    return (r > RINGS_INNER) & (r < RINGS_OUTER)


def rings_grid_rule(X):
    """Test-grid labels of the rings: the gap is split at its middle radius 0.475."""
    return (np.hypot(X[:, 0], X[:, 1]) >= 0.5 * (RINGS_INNER + RINGS_OUTER)).astype(np.int64)


# ------------------------------------------------------------------ generators
def _box_map(lo, hi, scale_to: float | None):
    """(offset, scale) with model input = (raw − offset)/scale.

    ``scale_to=None``: identity (raw inputs). ``scale_to=k``: the box [lo, hi] is mapped linearly
    onto [−k, k] in every coordinate (centre → 0).
    """
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    if scale_to is not None:
        if not (np.isfinite(scale_to) and scale_to > 0):
            raise DataError(f"scale_to must be > 0, got {scale_to!r}")
        return (lo + hi) / 2.0, (hi - lo) / (2.0 * float(scale_to))
    return np.zeros_like(lo), np.ones_like(lo)


def regression_data(name: str, seed: int, target: Callable, *, lo, hi, noise: float,
                    n_train: int, n_val: int, n_test: int, scale_to: float | None = None,
                    notes: str = "") -> Dataset:
    """x ~ U(lo, hi)^d, y = target(x) + N(0, noise²); test = a fresh sample by the same rule.
    Inputs are mapped onto [−scale_to, scale_to]^d (``None``: raw); targets are never scaled."""
    rng = _rng(seed)
    off, sc = _box_map(lo, hi, scale_to)
    parts = []
    for n in (n_train, n_val, n_test):
        X = _uniform(rng, n, lo, hi)
        y = target(X) + noise * rng.standard_normal(n)
        parts += [(X - off) / sc, y[:, None]]
    box = ((np.asarray(lo, float) - off) / sc, (np.asarray(hi, float) - off) / sc)
    return Dataset(name, "regression", *parts, test_kind="sample", input_box=box,
                   x_offset=off, x_scale=sc, notes=notes)


def binary2d_data(name: str, seed: int, rule: Callable, *, lo, hi, n_train: int, n_val: int,
                  reject: Callable | None = None, grid_rule: Callable | None = None,
                  targets=(0.0, 1.0), grid: int = GRID, scale_to: float | None = None,
                  notes: str = "", class_names=("0", "1")) -> Dataset:
    """A 2-d binary classifier: x ~ U(lo, hi)² (minus ``reject``), label = rule(x), targets
    ``targets[label]`` (threshold halfway between); test = the ``grid × grid`` grid over the box
    (``numpy.linspace`` per axis, corners included) labelled by ``grid_rule`` (default ``rule``).
    With ``scale_to=k`` the model sees the box mapped onto [−k, k]² (grid axes and box too)."""
    rng = _rng(seed)
    t = np.asarray(targets, float)
    off, sc = _box_map(lo, hi, scale_to)
    parts = []
    for n in (n_train, n_val):
        X = _uniform(rng, n, lo, hi, reject)
        parts += [(X - off) / sc, t[rule(X)][:, None]]
    gx = np.linspace(lo[0], hi[0], grid)
    gy = np.linspace(lo[1], hi[1], grid)
    G1, G2 = np.meshgrid(gx, gy, indexing="xy")
    XG = np.column_stack([G1.ravel(), G2.ravel()])
    parts += [(XG - off) / sc, t[(grid_rule or rule)(XG)][:, None]]
    box = ((np.asarray(lo, float) - off) / sc, (np.asarray(hi, float) - off) / sc)
    return Dataset(name, "classification", *parts, decision="threshold",
                   threshold=float(t.mean()), class_names=tuple(class_names), test_kind="grid",
                   grid_shape=(grid, grid),
                   grid_axes=((gx - off[0]) / sc[0], (gy - off[1]) / sc[1]),
                   input_box=box, x_offset=off, x_scale=sc, notes=notes)


IRIS_PER_CLASS = (25, 10, 15)
"""Iris samples per class in (train, val, test): 75 / 30 / 45 of the 150 (stratified)."""


def iris_data(name: str, seed: int, per_class=IRIS_PER_CLASS, scale_to: float = 1.0,
              notes: str = "") -> Dataset:
    """scikit-learn's bundled Iris (no download): a stratified split with ``per_class`` samples of
    each class per split (shuffled within each class by the seed), inputs standardised with the
    *training* mean and standard deviation and multiplied by ``scale_to``, one-hot targets,
    decision argmax."""
    from sklearn.datasets import load_iris

    rng = _rng(seed)
    iris = load_iris()
    X, y = np.asarray(iris.data, float), np.asarray(iris.target, int)
    classes = np.unique(y)
    if sum(per_class) > min(np.sum(y == c) for c in classes):
        raise DataError(f"Iris has 50 samples per class; cannot split {per_class}")
    idx = {s: [] for s in range(3)}
    for c in classes:
        members = rng.permutation(np.flatnonzero(y == c))
        a, b = per_class[0], per_class[0] + per_class[1]
        for s, part in enumerate((members[:a], members[a:b], members[b:b + per_class[2]])):
            idx[s].append(part)
    # interleave classes in a seeded order within each split (so the splits are not class-sorted)
    idx = {s: rng.permutation(np.concatenate(v)) for s, v in idx.items()}
    mu = X[idx[0]].mean(axis=0)
    sd = X[idx[0]].std(axis=0) / float(scale_to)
    onehot = np.eye(classes.size)
    parts = []
    for s in range(3):
        parts += [(X[idx[s]] - mu) / sd, onehot[y[idx[s]]]]
    return Dataset(name, "classification", *parts, decision="argmax",
                   class_names=tuple(str(n) for n in iris.target_names), test_kind="split",
                   x_offset=mu, x_scale=sd, notes=notes)


# ------------------------------------------------------------------ scikit-learn's bundled data
SKLEARN_SETS = {"breast-cancer": "load_breast_cancer", "wine": "load_wine",
                "digits": "load_digits"}
"""Task name → scikit-learn loader of its bundled copy (read from the installed package; no
download)."""


def sklearn_table(name: str):
    """The bundled data set ``name`` (:data:`SKLEARN_SETS`) as a :class:`~neuralcrn.tasks.Table`:
    features with sklearn's column names, labels as the class names (digits: "0" … "9")."""
    import sklearn.datasets as skd

    from ._tabular import table_from_arrays

    if name not in SKLEARN_SETS:
        raise DataError(f"no bundled data set {name!r}; choose one of {', '.join(SKLEARN_SETS)}")
    b = getattr(skd, SKLEARN_SETS[name])()
    names = np.asarray([str(t) for t in b.target_names])
    features = ([f"pixel_{i // 8}_{i % 8}" for i in range(64)] if name == "digits"
                else [str(f) for f in b.feature_names])
    return table_from_arrays(np.asarray(b.data, float), names[np.asarray(b.target, int)],
                             features=features, target_names=["class"],
                             source=f"sklearn:{name}")


def sklearn_data(name: str, seed: int, *, fractions, scaling: str, notes: str = "") -> Dataset:
    """The data set of bundled task ``name`` for ``seed``: :func:`sklearn_table` split, scaled
    and encoded like a user's CSV (:func:`~neuralcrn.tasks.tabular_dataset`; constant columns —
    the always-blank border pixels of digits — are kept)."""
    from ._tabular import make_encoding, tabular_dataset

    table = _cached_table(name)
    return tabular_dataset(name, seed, table=table, enc=make_encoding(table, "classification"),
                           fractions=fractions, scaling=scaling, notes=notes)


_TABLES: dict = {}


def _cached_table(name: str):
    if name not in _TABLES:
        _TABLES[name] = sklearn_table(name)
    return _TABLES[name]
