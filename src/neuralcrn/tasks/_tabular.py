"""Tabular data → a :class:`Task`: CSV files, numpy arrays and data frames (SPEC §6).

A :class:`Table` is the raw data exactly as given (numeric feature columns, target values, the
line of each row for error messages). :func:`tabular_task` turns a table into a task whose data set
for a seed is: a stratified (classification) or plain random split into train / validation / test
(or the given validation and test tables), input scaling fitted on the training split, targets
encoded for the model (0/1 for two classes with decision ŷ > 0.5; one-hot with decision argmax for
more; regression targets standardised with the training mean and standard deviation).

Every problem in the data raises :class:`~neuralcrn.errors.DataError` naming the file, line and
column: a missing or non-numeric value, a constant feature column, an unknown target column,
fewer than two classes, a class with too few samples for the split.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import math
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from ..errors import DataError
from ._dataset import Dataset

__all__ = ["Table", "read_csv_table", "read_feature_columns", "read_text",
           "table_from_arrays", "table_from_frame", "tabular_task",
           "split_indices", "fit_scaling", "DEFAULT_FRACTIONS", "SCALINGS", "file_sha256"]

DEFAULT_FRACTIONS = (0.65, 0.10, 0.25)
"""Default (train, validation, test) fractions of a split (per class when stratified)."""

SCALINGS = ("standard", "pooled", "none")
"""Input scalings fitted on the training split (see :func:`fit_scaling`)."""

MISSING = {"", "na", "n/a", "nan", "null", "none", "?", "-"}
"""Field texts (case-insensitive, stripped) read as a missing value."""


@dataclass(frozen=True, eq=False)
class Table:
    """Raw tabular data as given, before any split, scaling or encoding.

    X:          ``(N, d)`` float64 feature values.
    targets:    ``(N, k)`` target values: float64 (numeric) or Python ``str`` objects (labels).
    features:   the d feature column names; ``target_names``: the k target column names.
    source:     where the data came from (a file name, or ``"<arrays>"``), for messages.
    rows:       ``(N,)`` the line number of each row in ``source`` (CSV) or the row index
                (arrays), for messages.
    row_word:   ``"line"`` (files) or ``"row"`` (arrays).
    header:     the column names in the source's own order (a file's header), for the column
                numbers in messages; empty: features, then targets.
    """

    X: np.ndarray
    targets: np.ndarray
    features: tuple[str, ...]
    target_names: tuple[str, ...]
    source: str
    rows: np.ndarray
    row_word: str = "line"
    header: tuple[str, ...] = ()

    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    @property
    def d(self) -> int:
        return int(self.X.shape[1])

    def where(self, i: int, column: str | None = None) -> str:
        """``"source:line 7, column 'x3'"``-style location of row ``i`` (and a column)."""
        r = int(self.rows[i])
        loc = f"{self.source}:{r}" if self.row_word == "line" else f"{self.source}: row {r}"
        if column is not None:
            cols = self.header or self.features + self.target_names
            loc += f": column {column!r} (column {cols.index(column) + 1})" \
                if column in cols else f": column {column!r}"
        return loc

    def numeric_targets(self) -> np.ndarray:
        """``(N, k)`` float targets; DataError naming the first non-numeric value."""
        if self.targets.dtype != object:
            return self.targets
        out = np.empty(self.targets.shape)
        for i in range(self.n):
            for j, name in enumerate(self.target_names):
                v = _number(self.targets[i, j])
                if v is None:
                    raise DataError(f"{self.where(i, name)}: {self.targets[i, j]!r} is not a "
                                    f"number (a regression needs numeric targets)")
                out[i, j] = v
        return out


def file_sha256(path) -> str:
    """SHA-256 hex digest of a file's bytes (recorded in config.json to detect a changed file)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _number(text) -> float | None:
    if isinstance(text, (int, float, np.integer, np.floating)) and not isinstance(text, bool):
        v = float(text)
        return v if math.isfinite(v) else None
    try:
        v = float(str(text).strip())
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _is_missing(text: str) -> bool:
    return text.strip().lower() in MISSING


# ------------------------------------------------------------------ reading
def read_text(path) -> str:
    """The text of a UTF-8 file (a byte-order mark is dropped); DataError naming the file if it
    is missing, a folder or not text."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, not a CSV file") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a UTF-8 text file") from None


def _read_rows(path: Path):
    """(header, [(line, fields)]) of a CSV file; blank lines and '#' lines are skipped; blanks
    after a comma are ignored, also before a quoted field (``a, "b c"``)."""
    header, rows = None, []
    lines = read_text(path).splitlines()
    reader = csv.reader(lines, skipinitialspace=True)
    for fields in reader:
        lineno = reader.line_num
        if not fields or (len(fields) == 1 and not fields[0].strip()) \
                or fields[0].lstrip().startswith("#"):
            continue
        fields = [f.strip() for f in fields]
        if header is None:
            header = (lineno, fields)
        else:
            rows.append((lineno, fields))
    if header is None:
        raise DataError(f"{path}: empty file (a header row and data rows are needed)")
    return header, rows


def _check_header(path: Path, lineno: int, names: list[str]) -> None:
    if len(names) == 1 and any(c in names[0] for c in ";\t"):
        raise DataError(f"{path}:{lineno}: the header has one column {names[0]!r}; columns must "
                        f"be separated by commas")
    nums = [n for n in names if _number(n) is not None]
    if nums and len(nums) == len(names):
        raise DataError(f"{path}:{lineno}: the first row {','.join(names)!r} is all numbers; "
                        f"the file needs a header row naming the columns")
    seen = set()
    for j, n in enumerate(names, start=1):
        if not n:
            raise DataError(f"{path}:{lineno}: column {j} has no name in the header")
        if n in seen:
            raise DataError(f"{path}:{lineno}: column name {n!r} appears twice in the header")
        seen.add(n)


def _target_columns(source: str, names, target) -> list[str]:
    target = [target] if isinstance(target, str) else list(target or [])
    target = [t.strip() for part in target for t in str(part).split(",") if t.strip()]
    if not target:
        raise DataError(f"{source}: no target column given (--target COL[,COL…])")
    for t in target:
        if t not in names:
            raise DataError(f"{source}: unknown target column {t!r}; the columns are "
                            f"{', '.join(names)}")
    if len(set(target)) != len(target):
        raise DataError(f"{source}: a target column is named twice: {', '.join(target)}")
    if len(target) == len(names):
        raise DataError(f"{source}: every column is a target; at least one feature column is "
                        f"needed")
    return target


def read_csv_table(path, target) -> Table:
    """Read a CSV file with a header row into a :class:`Table`.

    Parameters
    ----------
    path: the file; comma-separated, first non-blank line = column names; blank lines and lines
        starting with ``#`` are skipped; fields may be quoted.
    target: the target column name(s) (a name, ``"a,b"`` or a list); every other column is a
        numeric feature.

    Raises
    ------
    DataError: naming file, line and column — no such file, no header, unknown target column, a
        row with the wrong number of fields, a missing (empty, NA, NaN, ?) or non-numeric feature
        value, an infinite value, a missing target value.
    """
    path = Path(path)
    (hline, names), rows = _read_rows(path)
    _check_header(path, hline, names)
    target = _target_columns(str(path), names, target)
    if not rows:
        raise DataError(f"{path}: no data rows after the header (line {hline})")
    feat_idx = [j for j, n in enumerate(names) if n not in target]
    tgt_idx = [names.index(t) for t in target]
    X = _numeric_columns(path, hline, names, rows, feat_idx)
    T = np.empty((len(rows), len(tgt_idx)), dtype=object)
    lines = np.asarray([lineno for lineno, _ in rows], dtype=np.int64)
    for i, (lineno, fields) in enumerate(rows):
        for k, j in enumerate(tgt_idx):
            f = fields[j]
            if _is_missing(f):
                raise DataError(f"{path}:{lineno}: column {names[j]!r} (column {j + 1}): missing "
                                f"target value {f!r}")
            T[i, k] = f
    return Table(X, T, tuple(names[j] for j in feat_idx), tuple(target), str(path), lines,
                 header=tuple(names))


def _numeric_columns(path, hline: int, names, rows, columns) -> np.ndarray:
    """``(N, len(columns))`` floats of the given column indices; DataError naming file, line and
    column for a short row, a missing, non-numeric or infinite value."""
    X = np.empty((len(rows), len(columns)))
    for i, (lineno, fields) in enumerate(rows):
        if len(fields) != len(names):
            raise DataError(f"{path}:{lineno}: {len(fields)} fields, but the header (line "
                            f"{hline}) has {len(names)} columns")
        for k, j in enumerate(columns):
            f = fields[j]
            where = f"{path}:{lineno}: column {names[j]!r} (column {j + 1})"
            if _is_missing(f):
                raise DataError(f"{where}: missing value {f!r}")
            try:
                v = float(f)
            except ValueError:
                raise DataError(f"{where}: {f!r} is not a number") from None
            if not math.isfinite(v):
                raise DataError(f"{where}: {f!r} is not a finite number")
            X[i, k] = v
    return X


def read_feature_columns(path, features) -> np.ndarray | None:
    """The columns named ``features`` of a CSV file with a header (in that order, other columns
    ignored), or ``None`` when the header does not name them all (or there is no header).
    Raises DataError naming file, line and column for a bad value."""
    path = Path(path)
    (hline, names), rows = _read_rows(path)
    if not set(features) <= set(names) or not rows:
        return None
    return _numeric_columns(path, hline, names, rows, [names.index(f) for f in features])


def table_from_arrays(X, y, *, features=None, target_names=None, source: str = "<arrays>") \
        -> Table:
    """A :class:`Table` from arrays: X ``(N, d)`` numbers, y ``(N,)`` or ``(N, k)`` (numbers, or
    class labels of any type — they are compared as text). Raises DataError naming the row and
    column of a missing or non-finite value or a shape mismatch."""
    try:
        Xa = np.asarray(X, dtype=float)
    except (TypeError, ValueError):
        raise DataError(f"{source}: X must be a numeric array (N, d)") from None
    if Xa.ndim == 1:
        Xa = Xa[:, None]
    if Xa.ndim != 2 or Xa.shape[0] == 0 or Xa.shape[1] == 0:
        raise DataError(f"{source}: X must have shape (N, d) with N, d ≥ 1, got {Xa.shape}")
    ya = np.asarray(y)
    if ya.ndim == 1:
        ya = ya[:, None]
    if ya.ndim != 2 or ya.shape[0] != Xa.shape[0]:
        raise DataError(f"{source}: y must have shape ({Xa.shape[0]},) or ({Xa.shape[0]}, k), "
                        f"got {np.shape(y)}")
    features = tuple(features) if features is not None else \
        tuple(f"x{j + 1}" for j in range(Xa.shape[1]))
    target_names = tuple(target_names) if target_names is not None else \
        (("y",) if ya.shape[1] == 1 else tuple(f"y{k + 1}" for k in range(ya.shape[1])))
    if len(features) != Xa.shape[1] or len(target_names) != ya.shape[1]:
        raise DataError(f"{source}: {len(features)} feature names for {Xa.shape[1]} columns or "
                        f"{len(target_names)} target names for {ya.shape[1]}")
    rows = np.arange(Xa.shape[0])
    tab = Table(Xa, _targets(ya), tuple(map(str, features)), tuple(map(str, target_names)),
                source, rows, row_word="row")
    bad = np.argwhere(~np.isfinite(Xa))
    if bad.size:
        i, j = bad[0]
        raise DataError(f"{tab.where(i, tab.features[j])}: missing or non-finite value "
                        f"{Xa[i, j]!r}")
    if tab.targets.dtype == object:
        for i, j in np.ndindex(*tab.targets.shape):
            if _is_missing(tab.targets[i, j]):
                raise DataError(f"{tab.where(i, tab.target_names[j])}: missing target value "
                                f"{tab.targets[i, j]!r}")
    else:
        bad = np.argwhere(~np.isfinite(tab.targets))
        if bad.size:
            i, j = bad[0]
            raise DataError(f"{tab.where(i, tab.target_names[j])}: missing or non-finite "
                            f"target value")
    return tab


def _targets(ya: np.ndarray) -> np.ndarray:
    if ya.dtype.kind in "fiu":
        return ya.astype(float)
    if ya.dtype.kind == "b":
        return ya.astype(int).astype(object).astype(str).astype(object)
    out = np.empty(ya.shape, dtype=object)
    for idx in np.ndindex(*ya.shape):
        v = ya[idx]
        out[idx] = "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
    return out


def table_from_frame(frame, target, *, source: str = "<data frame>") -> Table:
    """A :class:`Table` from a data frame (duck-typed: anything with ``.columns`` and
    ``frame[column]`` giving a 1-d array-like, e.g. a pandas DataFrame; pandas is not imported).
    ``target``: the target column name(s); every other column is a numeric feature."""
    if not hasattr(frame, "columns"):
        raise DataError(f"{source}: expected a data frame with .columns, got "
                        f"{type(frame).__name__}")
    names = [str(c) for c in list(frame.columns)]
    target = _target_columns(source, names, target)
    cols = {str(c): c for c in list(frame.columns)}

    def column(name):
        v = frame[cols[name]]
        v = v.to_numpy() if hasattr(v, "to_numpy") else np.asarray(v)
        return np.asarray(v)

    feats = [n for n in names if n not in target]
    Xcols = []
    for j, n in enumerate(feats):
        col = column(n)
        try:
            Xcols.append(col.astype(float))
        except (TypeError, ValueError):
            i = next(i for i, v in enumerate(col) if _number(v) is None)
            raise DataError(f"{source}: row {i}: column {n!r} (column {names.index(n) + 1}): "
                            f"{str(col[i])!r} is not a number") from None
    Y = np.column_stack([column(t) for t in target])
    return table_from_arrays(np.column_stack(Xcols), Y, features=feats, target_names=target,
                             source=source)


# ------------------------------------------------------------------ split and scaling
def split_indices(n: int, fractions, seed: int, labels=None, *, source: str = "data",
                  class_names=None, table=None):
    """Indices ``(train, val, test)`` of a seeded split of ``n`` rows.

    With ``labels`` ``(n,)`` (ints) the split is stratified: within each class the rows are
    permuted by the seed and the class's count × fraction (rounded half up) goes to validation
    and test,
    the rest to training; every class needs at least one row in each split whose fraction is > 0
    and two in training. Without labels: one permutation, the same rounding on n. Each split is
    then shuffled. Sizes do not depend on the seed.

    Raises DataError naming the class with too few samples (with ``table``, the
    :class:`Table` the labels come from: also its target column and the class's lines).
    """
    f = _fractions(fractions)
    rng = np.random.default_rng([int(seed), 0x5B11])
    groups = [np.arange(n)] if labels is None else \
        [np.flatnonzero(labels == c) for c in range(int(np.max(labels)) + 1)]
    parts = ([], [], [])
    for c, members in enumerate(groups):
        k = members.size
        n_val, n_test = _round_half_up(f[1] * k), _round_half_up(f[2] * k)
        need = [(f[1] > 0, n_val, "validation"), (f[2] > 0, n_test, "test")]
        short = k - n_val - n_test < 2 or any(want and got < 1 for want, got, _ in need)
        if short:
            what = "the data" if labels is None else \
                f"class {class_names[c] if class_names else c!r}"
            if table is not None and labels is not None:
                cols = ", ".join(repr(t) for t in table.target_names)
                at = ", ".join(str(int(r)) for r in table.rows[members[:5]])
                what = (f"column {cols}: {what} (on {table.row_word}"
                        f"{'s' if k != 1 else ''} {at}{', …' if k > 5 else ''})")
            minimum = _min_count(f)
            raise DataError(f"{source}: {what} has {k} sample{'s' if k != 1 else ''}; a "
                            f"{'stratified ' if labels is not None else ''}split with fractions "
                            f"train/val/test = {f[0]:g}/{f[1]:g}/{f[2]:g} needs at least "
                            f"{minimum} per class (give more samples, other --split fractions, "
                            f"or separate --val/--test files)")
        perm = rng.permutation(members)
        parts[1].append(perm[:n_val])
        parts[2].append(perm[n_val:n_val + n_test])
        parts[0].append(perm[n_val + n_test:])
    return tuple(rng.permutation(np.concatenate(p)).astype(np.int64) for p in parts)


def _round_half_up(v: float) -> int:
    return int(math.floor(v + 0.5 + 1e-9))


def _min_count(f) -> int:
    for k in range(2, 10_000):
        nv, nt = _round_half_up(f[1] * k), _round_half_up(f[2] * k)
        if k - nv - nt >= 2 and (f[1] == 0 or nv >= 1) and (f[2] == 0 or nt >= 1):
            return k
    return 10_000


def _fractions(fractions) -> tuple[float, float, float]:
    try:
        f = tuple(float(v) for v in fractions)
    except (TypeError, ValueError):
        raise DataError(f"split fractions must be three numbers, got {fractions!r}") from None
    if len(f) != 3 or not all(math.isfinite(v) and v >= 0 for v in f) or f[0] <= 0:
        raise DataError(f"split fractions (train, val, test) must be three numbers ≥ 0 with "
                        f"train > 0, got {fractions!r}")
    s = sum(f)
    if abs(s - 1.0) > 1e-9:
        raise DataError(f"split fractions must add up to 1, got {'+'.join(f'{v:g}' for v in f)} "
                        f"= {s:g}")
    return f


def fit_scaling(X, scaling: str) -> tuple[np.ndarray, np.ndarray]:
    """``(offset, scale)`` ``(d,)`` fitted on training inputs X ``(N, d)``: model input =
    (raw − offset)/scale.

    ``"standard"``: per-column training mean and standard deviation (a column constant in the
    training split keeps scale 1); ``"pooled"``: per-column mean, one common scale = the root mean
    square of all centred training values (for pixels and other features in one unit);
    ``"none"``: the identity.
    """
    X = np.asarray(X, dtype=float)
    d = X.shape[1]
    if scaling == "none":
        return np.zeros(d), np.ones(d)
    mu = X.mean(axis=0)
    if scaling == "standard":
        sd = X.std(axis=0)
        return mu, np.where(sd > 1e-12 * np.maximum(1.0, np.abs(mu)), sd, 1.0)
    if scaling == "pooled":
        rms = float(np.sqrt(np.mean((X - mu) ** 2)))
        return mu, np.full(d, rms if rms > 0 else 1.0)
    raise DataError(f"unknown input scaling {scaling!r}; choose one of {', '.join(SCALINGS)}")


# ------------------------------------------------------------------ targets
@dataclass(frozen=True)
class Encoding:
    """How target values become the model's targets.

    ``kind`` "classification": ``classes`` (names, index = label), ``columns`` (one-hot target
    columns given, True) or one label column; "regression": ``y_offset``/``y_scale`` applied as
    (y − offset)/scale (fitted per data set on the training split when ``standardise``).
    """

    kind: str
    classes: tuple[str, ...] = ()
    onehot_columns: bool = False
    standardise: bool = True

    @property
    def m(self) -> int:
        if self.kind == "regression":
            return -1
        return 1 if len(self.classes) == 2 else len(self.classes)


def _label_sort_key(names):
    nums = [_number(n) for n in names]
    if all(v is not None for v in nums):
        return sorted(names, key=lambda n: (_number(n), n))
    return sorted(names)


def infer_kind(table: Table) -> str:
    """``"classification"`` if the single target column holds text or at most 20 distinct
    integers; ``"regression"`` otherwise (several target columns: regression)."""
    if table.targets.shape[1] != 1:
        return "regression"
    col = table.targets[:, 0]
    vals = [_number(v) for v in col]
    if any(v is None for v in vals):
        return "classification"
    vals = np.asarray(vals)
    if np.all(vals == np.round(vals)) and np.unique(vals).size <= 20:
        return "classification"
    return "regression"


def _class_text(v) -> str:
    if isinstance(v, str):
        return v.strip()
    x = float(v)
    return str(int(x)) if x == int(x) else repr(x)


def make_encoding(table: Table, kind: str | None) -> Encoding:
    """The target encoding of a (training) table; DataError for fewer than 2 classes or one-hot
    columns that are not one-hot."""
    kind = kind or infer_kind(table)
    if kind not in ("classification", "regression"):
        raise DataError(f"kind must be 'classification' or 'regression', got {kind!r}")
    if kind == "regression":
        table.numeric_targets()
        return Encoding("regression")
    if table.targets.shape[1] > 1:
        T = table.numeric_targets()
        for i in range(table.n):
            if not (set(np.unique(T[i])) <= {0.0, 1.0} and T[i].sum() == 1):
                raise DataError(f"{table.where(i)}: with several target columns a classification "
                                f"needs one-hot rows (exactly one 1, the rest 0), got "
                                f"{', '.join(f'{v:g}' for v in T[i])}")
        present = np.flatnonzero(T.sum(axis=0) > 0)
        if present.size < 2:
            only = table.target_names[present[0]]
            raise DataError(f"{table.source}: only one class present ({only!r}); a "
                            f"classification needs at least 2")
        return Encoding("classification", table.target_names, onehot_columns=True)
    labels = sorted({_class_text(v) for v in table.targets[:, 0]})
    nums = [_number(v) for v in labels]
    if len(labels) > 20 and all(v is not None for v in nums) and \
            any(v != round(v) for v in nums):
        raise DataError(f"{table.source}: target column {table.target_names[0]!r} holds "
                        f"{len(labels)} distinct numbers in {table.n} rows, not all integers — "
                        f"a continuous target, not class labels (use --kind regression)")
    if len(labels) < 2:
        raise DataError(f"{table.source}: target column {table.target_names[0]!r} has only one "
                        f"class ({labels[0]!r}); a classification needs at least 2")
    return Encoding("classification", tuple(_label_sort_key(labels)))


def encode_labels(table: Table, enc: Encoding) -> np.ndarray:
    """Integer labels ``(N,)`` of a table's rows; DataError naming a row whose class is unknown."""
    if enc.onehot_columns:
        if table.target_names != enc.classes:
            raise DataError(f"{table.source}: target columns {', '.join(table.target_names)} "
                            f"differ from the training data's {', '.join(enc.classes)}")
        return np.argmax(table.numeric_targets(), axis=1).astype(np.int64)
    index = {c: k for k, c in enumerate(enc.classes)}
    out = np.empty(table.n, dtype=np.int64)
    for i, v in enumerate(table.targets[:, 0]):
        k = index.get(_class_text(v))
        if k is None:
            raise DataError(f"{table.where(i, table.target_names[0])}: class {_class_text(v)!r} "
                            f"does not occur in the training data ({', '.join(enc.classes)})")
        out[i] = k
    return out


def _check_constant(table: Table) -> None:
    for j, name in enumerate(table.features):
        col = table.X[:, j]
        if table.n > 1 and np.all(col == col[0]):
            raise DataError(f"{table.source}: column {name!r} (column "
                            f"{table.features.index(name) + 1} of the features) is constant "
                            f"(every row is {col[0]:g}); it carries no information — drop it")


def _same_columns(ref: Table, other: Table) -> Table:
    """``other`` with its columns in ``ref``'s order (matched by name, as ``predict`` does; its
    ``header`` keeps its own order, so messages number its columns as it has them); DataError
    when the names differ."""
    if other.features == ref.features and other.target_names == ref.target_names:
        return other
    names = ref.features + ref.target_names
    if sorted(other.features) != sorted(ref.features) or len(set(names)) != len(names) or \
            sorted(other.target_names) != sorted(ref.target_names):
        raise DataError(f"{other.source}: columns {', '.join(other.features + other.target_names)}"
                        f" differ from {ref.source}'s "
                        f"{', '.join(ref.features + ref.target_names)}")
    fcol = [other.features.index(n) for n in ref.features]
    tcol = [other.target_names.index(n) for n in ref.target_names]
    return dataclasses.replace(other, X=other.X[:, fcol], targets=other.targets[:, tcol],
                               features=ref.features, target_names=ref.target_names,
                               header=other.header or other.features + other.target_names)


# ------------------------------------------------------------------ the data set of a seed
def _encode_targets(table: Table, rows, enc: Encoding, m: int, labels=None):
    if enc.kind == "regression":
        return table.numeric_targets()[rows]
    lab = encode_labels(table, enc) if labels is None else labels
    lab = lab[rows]
    if m == 1:
        return lab[:, None].astype(float)
    return np.eye(m)[lab]


def tabular_dataset(name: str, seed: int, *, table: Table, enc: Encoding, fractions,
                    scaling: str, val: Table | None = None, test: Table | None = None,
                    notes: str = "") -> Dataset:
    """The :class:`Dataset` of ``table`` for ``seed`` (see the module docstring)."""
    from ._data import _rng
    _rng(seed)  # validates the seed
    cls = enc.kind == "classification"
    labels = encode_labels(table, enc) if cls else None
    m = enc.m if cls else table.targets.shape[1]
    f = _fractions(fractions)
    # split off the table what is not given as a separate table: (train, val, test) shares
    want = (f[0], 0.0 if val is not None else f[1], 0.0 if test is not None else f[2])
    if want[1] == 0 and want[2] == 0:
        rng = np.random.default_rng([int(seed), 0x5B11])
        idx = (rng.permutation(table.n), None, None)
    else:
        s = sum(want)
        idx = split_indices(table.n, tuple(w / s for w in want), seed, labels,
                            source=table.source, class_names=enc.classes, table=table)
    parts = [(table, idx[0]),
             (table, idx[1]) if val is None else (val, _all(val)),
             (table, idx[2]) if test is None else (test, _all(test))]
    arrays = []
    for tab, rows in parts:
        lab = labels if tab is table else None
        arrays.append((tab.X[rows], _encode_targets(tab, rows, enc, m, lab)))
    off, sc = fit_scaling(arrays[0][0], scaling)
    y_off, y_sc = np.zeros(m), np.ones(m)
    if not cls and enc.standardise:
        Yt = arrays[0][1]
        y_off = Yt.mean(axis=0)
        sd = Yt.std(axis=0)
        y_sc = np.where(sd > 0, sd, 1.0)
    out = []
    for X, Y in arrays:
        out += [(X - off) / sc, (Y - y_off) / y_sc]
    if cls:
        extra = dict(decision="threshold" if m == 1 else "argmax",
                     threshold=0.5 if m == 1 else None, class_names=enc.classes)
    else:
        extra = {}
    return Dataset(name, enc.kind, *out, test_kind="split", x_offset=off, x_scale=sc,
                   y_offset=y_off, y_scale=y_sc, feature_names=table.features,
                   target_names=(table.target_names if not cls else
                                 (enc.classes[1:] if m == 1 else enc.classes)),
                   notes=notes, **extra)


def _all(t: Table) -> np.ndarray:
    return np.arange(t.n)


# ------------------------------------------------------------------ the task
def tabular_task(table: Table, *, name: str, kind: str | None = None, val: Table | None = None,
                 test: Table | None = None, fractions=DEFAULT_FRACTIONS,
                 scaling: str = "standard", model=None, epochs: int | None = None, init=None,
                 target=None, description: str = "", source: dict | None = None,
                 check_constant: bool = True, standardise_targets: bool = True):
    """A :class:`~neuralcrn.tasks.Task` for tabular data (checked now, split per seed later).

    Parameters
    ----------
    table, val, test: the data (:class:`Table`); ``val``/``test`` are optional separate tables
        with the same columns (the missing ones are split off ``table``).
    kind: ``"classification"``, ``"regression"`` or ``None`` (inferred: :func:`infer_kind`).
    fractions: (train, val, test) fractions of the seeded split (stratified by class).
    scaling: input scaling fitted on the training split (:func:`fit_scaling`).
    model, epochs, init: the default :class:`~neuralcrn.ideal.ModelSpec`, number of epochs and
        :class:`~neuralcrn.tasks.InitConfig`; ``None`` → :func:`neuralcrn.tasks.tabular_model`
        defaults for the data's d and m.
    source: plain-JSON description of where the data came from (recorded in config.json).
    check_constant: refuse constant feature columns (a CSV with one is an error; bundled image
        data keep their always-blank pixels).

    Raises
    ------
    DataError: bad data (see the module docstring), checked here for every seed at once: the
        split sizes do not depend on the seed.
    """
    from ._defaults import tabular_defaults
    from ._task import Task

    enc = make_encoding(table, kind)
    enc = Encoding(enc.kind, enc.classes, enc.onehot_columns, standardise_targets)
    if check_constant:
        _check_constant(table)
    val, test = (None if other is None else _same_columns(table, other) for other in (val, test))
    for other in (val, test):
        if other is not None:
            if enc.kind == "classification":
                encode_labels(other, enc)
            else:
                other.numeric_targets()
    f = _fractions(fractions)
    for given, share, what in ((val, f[1], "validation"), (test, f[2], "test")):
        if given is None and share == 0:
            raise DataError(f"{table.source}: the {what} split is empty: give a {what} fraction "
                            f"> 0 or a separate {what} file")
    if scaling not in SCALINGS:
        raise DataError(f"unknown input scaling {scaling!r}; choose one of {', '.join(SCALINGS)}")
    notes = _notes(table, enc, val, test, fractions, scaling)
    gen = partial(tabular_dataset, name, table=table, enc=enc, fractions=fractions,
                  scaling=scaling, val=val, test=test, notes=notes)
    ds0 = gen(0)            # checks the split (class sizes) once, before any training
    m = ds0.m
    spec, E, ini = tabular_defaults(table.d, m, ds0.sizes()["train"])
    cls = enc.kind == "classification"
    return Task(name=name, description=description or f"{table.source}: {table.d} inputs, "
                + (f"{len(enc.classes)} classes" if cls else f"{m} numeric target(s)"),
                kind=enc.kind, model_spec=model if model is not None else spec,
                epochs=epochs if epochs is not None else E,
                init=init if init is not None else ini, target=target,
                generator=gen, decision=("threshold" if m == 1 else "argmax") if cls else None,
                threshold=0.5 if cls and m == 1 else None, data_notes=notes,
                source=source, table=table)


def _notes(table, enc, val, test, fractions, scaling) -> str:
    split = None
    if val is not None or test is not None:
        split = (f"train {table.source}"
                 + (f", validation {val.source}" if val is not None else "")
                 + (f", test {test.source}" if test is not None else ""))
    return _notes_text(fractions, scaling, enc.kind, len(enc.classes), split=split,
                       rows=table.n, standardise=enc.standardise)


def _notes_text(fractions, scaling, kind, classes, *, split=None, rows=None,
                stratified=None, standardise=True) -> str:
    """One-line description of a tabular task's split, scaling and target encoding."""
    f = _fractions(fractions)
    if split is None:
        strat = kind == "classification" if stratified is None else stratified
        split = (f"{'stratified ' if strat else ''}seeded split train/val/test "
                 f"{f[0]:g}/{f[1]:g}/{f[2]:g}" + (f" of {rows} rows" if rows else ""))
    scale = {"standard": "features standardised with the training mean and sd",
             "pooled": "features centred on the training mean, one common scale (training RMS)",
             "none": "raw features"}[scaling]
    if kind == "classification":
        tgt = ("targets 0/1, decision ŷ > 0.5" if classes == 2 else
               f"one-hot targets over {classes} classes, decision argmax")
    else:
        tgt = ("targets standardised with the training mean and sd" if standardise
               else "raw targets")
    return f"{split}; {scale}; {tgt}"
