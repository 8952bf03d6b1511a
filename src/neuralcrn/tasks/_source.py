"""Tasks from a user's data, and the plain-JSON *data source* that rebuilds them.

- :func:`csv_task`: a CSV file (and optional validation / test files) → :class:`Task`.
- :func:`arrays_task`: numpy arrays, :func:`frame_task`: a data frame (duck-typed) → Task.
- :func:`task_from_source`: the Task described by a data source dict (``config.json``'s
  ``"data"``): ``{"format": "csv" | "npz", "path", "target", "kind", "val", "test",
  "fractions", "scaling", "check_constant", "standardise_targets", "sha256"}``. Relative paths
  are resolved against ``base`` (the folder of the config.json). A file whose SHA-256 differs
  from the recorded one is refused, so a repeated run uses the same data.
- :func:`save_arrays`: write an in-memory task's table(s) to ``data.npz`` (no pickling) and return
  the data source that reads it back.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError
from ._tabular import (DEFAULT_FRACTIONS, Table, file_sha256, read_csv_table, table_from_arrays,
                       table_from_frame, tabular_task)

__all__ = ["csv_task", "arrays_task", "frame_task", "task_from_source", "save_arrays",
           "SOURCE_FORMATS"]

SOURCE_FORMATS = ("csv", "npz", "arrays")

_OPTIONS = ("kind", "fractions", "scaling", "check_constant", "standardise_targets")


def _options_source(fmt: str, task, **extra) -> dict:
    src = {"format": fmt, **extra}
    src.update({k: task.source[k] for k in _OPTIONS})
    return src


def _with_source(task, source: dict):
    import dataclasses
    return dataclasses.replace(task, source=source)


def _build(table: Table, *, name, kind, val, test, fractions, scaling, check_constant=True,
           standardise_targets=True, **model):
    task = tabular_task(table, name=name, kind=kind, val=val, test=test, fractions=fractions,
                        scaling=scaling, check_constant=check_constant,
                        standardise_targets=standardise_targets, **model)
    opts = {"kind": task.kind, "fractions": [float(f) for f in fractions], "scaling": scaling,
            "check_constant": bool(check_constant),
            "standardise_targets": bool(standardise_targets),
            "target": list(table.target_names)}
    return _with_source(task, opts)


def csv_task(path, target, *, kind: str | None = None, val=None, test=None,
             fractions=DEFAULT_FRACTIONS, scaling: str = "standard", name: str | None = None,
             **model):
    """A task from a CSV file (header row; ``target`` names the target column(s); every other
    column is a numeric feature). ``val``/``test``: optional CSV files with the same columns
    (in any order: matched by name).
    Other options as :func:`~neuralcrn.tasks.tabular_task` (``model``, ``epochs``, ``init``).
    The task's ``source`` records the absolute paths, options and the files' SHA-256."""
    path = Path(path)
    tab = read_csv_table(path, target)
    tv = read_csv_table(val, tab.target_names) if val is not None else None
    tt = read_csv_table(test, tab.target_names) if test is not None else None
    task = _build(tab, name=name or path.stem, kind=kind, val=tv, test=tt, fractions=fractions,
                  scaling=scaling, **model)
    files = {"path": path, "val": val, "test": test}
    src = {"format": "csv"}
    src.update({k: (str(Path(v).absolute()) if v is not None else None)
                for k, v in files.items()})
    src.update({k: task.source[k] for k in ("target",) + _OPTIONS})
    src["sha256"] = {k: file_sha256(v) for k, v in files.items() if v is not None}
    return _with_source(task, src)


def arrays_task(X, y, *, name: str = "data", kind: str | None = None, features=None,
                target_names=None, val=None, test=None, fractions=DEFAULT_FRACTIONS,
                scaling: str = "standard", **model):
    """A task from arrays: X ``(N, d)`` numeric, y ``(N,)`` labels or numbers (``(N, k)`` for k
    targets). ``val``/``test``: optional ``(X, y)`` pairs. See :func:`csv_task` for the options;
    the run folder stores the arrays in ``data.npz`` so the run can be repeated."""
    tab = table_from_arrays(X, y, features=features, target_names=target_names)
    extra = {}
    for key, pair in (("val", val), ("test", test)):
        if pair is not None:
            extra[key] = table_from_arrays(*pair, features=tab.features,
                                           target_names=tab.target_names, source=f"<{key}>")
    task = _build(tab, name=name, kind=kind, fractions=fractions, scaling=scaling,
                  val=extra.get("val"), test=extra.get("test"), **model)
    src = dict(task.source, format="arrays")
    return _with_source(task, src)


def frame_task(frame, target, *, name: str = "data", kind: str | None = None,
               fractions=DEFAULT_FRACTIONS, scaling: str = "standard", **model):
    """A task from a data frame (anything with ``.columns`` and ``frame[col]``; pandas is not
    needed): ``target`` names the target column(s), the other columns are numeric features."""
    tab = table_from_frame(frame, target)
    task = _build(tab, name=name, kind=kind, val=None, test=None, fractions=fractions,
                  scaling=scaling, **model)
    return _with_source(task, dict(task.source, format="arrays"))


# ------------------------------------------------------------------ npz storage
_NPZ_KEYS = ("X", "targets", "features", "target_names")


def save_arrays(task, path) -> dict:
    """Write the task's table (and separate val/test tables) to ``path`` (.npz, no pickling)
    and return the data source dict that reads it back (``"path"``: the file name only)."""
    tables = {"": task.table}
    gen = task.generator
    for key in ("val", "test"):
        t = getattr(gen, "keywords", {}).get(key)
        if t is not None:
            tables[key + "_"] = t
    arrays = {}
    for prefix, t in tables.items():
        tg = t.targets.astype(str) if t.targets.dtype == object else t.targets
        arrays.update({prefix + "X": t.X, prefix + "targets": tg,
                       prefix + "features": np.asarray(t.features, dtype=str),
                       prefix + "target_names": np.asarray(t.target_names, dtype=str)})
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    src = {k: v for k, v in task.source.items() if k != "format"}
    src.update(format="npz", path=Path(path).name, sha256={"path": file_sha256(path)})
    return src


def _npz_tables(path: Path):
    try:
        z = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (ValueError, OSError) as e:
        raise DataError(f"{path}: not a readable .npz data file ({e})") from None
    out = {}
    with z:
        for prefix, key in (("", "path"), ("val_", "val"), ("test_", "test")):
            if prefix + "X" not in z.files:
                continue
            tg = z[prefix + "targets"]
            tg = tg.astype(object) if tg.dtype.kind == "U" else tg
            out[key] = table_from_arrays(z[prefix + "X"], tg,
                                         features=[str(s) for s in z[prefix + "features"]],
                                         target_names=[str(s) for s in z[prefix + "target_names"]],
                                         source=f"{path}" + (f"[{key}]" if prefix else ""))
    if "path" not in out:
        raise DataError(f"{path}: no data arrays (X, targets) in the file")
    return out


# ------------------------------------------------------------------ source → task
def task_from_source(source: dict, base=None, *, name: str | None = None, **model):
    """The task described by a data source dict (see the module docstring). ``base``: folder
    against which relative paths are resolved. Raises DataError for a bad source, a missing
    file or a file whose SHA-256 differs from the recorded one."""
    if not isinstance(source, dict) or source.get("format") not in ("csv", "npz"):
        raise DataError(f"data source must be a dict with format 'csv' or 'npz', got "
                        f"{source!r}")
    base = Path(base) if base is not None else Path.cwd()

    def resolve(p):
        if p is None:
            return None
        p = Path(p)
        return p if p.is_absolute() else base / p

    files = {k: resolve(source.get(k)) for k in ("path", "val", "test")}
    if files["path"] is None:
        raise DataError("data source has no 'path'")
    for key, want in (source.get("sha256") or {}).items():
        f = files.get(key)
        if f is not None and f.is_file() and file_sha256(f) != want:
            raise DataError(f"{f}: the file changed since the run was made (SHA-256 differs "
                            f"from config.json's); restore it or train anew")
    opts = {k: source[k] for k in _OPTIONS if k in source}
    opts.setdefault("fractions", DEFAULT_FRACTIONS)
    opts.setdefault("scaling", "standard")
    if source["format"] == "csv":
        task = csv_task(files["path"], source.get("target"), val=files["val"],
                        test=files["test"], name=name, **opts, **model)
    else:
        tabs = _npz_tables(files["path"])
        task = _build(tabs["path"], name=name or files["path"].stem, val=tabs.get("val"),
                      test=tabs.get("test"), **opts, **model)
        task = _with_source(task, dict(source))
    return task
