"""Run a study's points on dask.distributed and keep its folder up to date.

The study folder::

    study.json        the study's definition (task, axes, replicates, kinetics, epochs, design)
    runs.csv          one row per finished run (:data:`~neuralcrn.studies.ROW_FIELDS`), appended
                      as each point finishes (one ``write`` of one whole line on an O_APPEND
                      file, flushed and fsync-ed; a line cut off by a crash is ignored on read)
    summary.json      mean and 95 % interval per point, breaking points, Ω₅₀ / Ω₉₉
    summary.csv       the same per point, one row each
    *.png             accuracy (or loss) against Ω, σ, λ and w (the axes the study swept;
                      written by the CLI with :func:`neuralcrn.plots.plot_robustness`)

Rerunning the same command resumes: points whose key has a row with status ``ok`` or
``diverged`` are skipped; ``error`` rows are retried. Points are dask tasks (``client.map`` of
the pure :func:`~neuralcrn.studies.run_point`): on a ``LocalCluster`` of ``workers`` processes
(one thread each) by default, or on an existing cluster at ``scheduler``. No scheduling of our
own: dask hands out the points, ``as_completed`` collects them.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path

from ..errors import DataError, SpecError
from ._points import ROW_FIELDS, StudyPoint, run_point
from ._summary import summarize_rows, summary_csv_rows

__all__ = ["run_study", "read_rows", "write_summary", "DISTRIBUTED_HINT", "connect",
           "SCHEDULER_TIMEOUT_S"]

DISTRIBUTED_HINT = ('the robustness study runs its points on dask.distributed, which is not '
                    'installed; install the optional extra: pip install -e ".[distributed]" '
                    '(or pip install "dask[distributed]")')

SCHEDULER_TIMEOUT_S = 5.0
"""Seconds to wait for an existing scheduler (``--scheduler``) before giving up."""

RUNS_FILE, SUMMARY_JSON, SUMMARY_CSV, STUDY_JSON = ("runs.csv", "summary.json", "summary.csv",
                                                    "study.json")


def _distributed():
    try:
        import distributed
    except ImportError:
        raise SpecError(DISTRIBUTED_HINT) from None
    return distributed


# ------------------------------------------------------------------ the runs file
def _cell(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _line(row: dict) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([_cell(row.get(f)) for f in ROW_FIELDS])
    return buf.getvalue()


_INTS = {"replicate", "epochs"}
_TEXT = {"key", "task", "kinetics", "status", "error"}


def _parse(rec: dict) -> dict:
    out = {}
    for f in ROW_FIELDS:
        v = rec.get(f, "")
        if f in _TEXT:
            out[f] = v or None
        elif v == "":
            out[f] = None
        elif f in _INTS:
            out[f] = int(v)
        else:
            out[f] = float(v)
    return out


def read_rows(path) -> list[dict]:
    """The rows of a study's ``runs.csv`` (an absent file: none). A last line cut off by a crash
    (wrong number of cells or unparsable) is skipped; any other bad line is a DataError naming
    the file and line."""
    path = Path(path)
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    if not lines:
        return []
    header = next(csv.reader([lines[0]]))
    if tuple(header) != ROW_FIELDS:
        raise DataError(f"{path}: not a neuralcrn study runs.csv (header {header[:4]}…)")
    rows = []
    complete = text.endswith("\n")
    for n, rec in enumerate(csv.reader(lines[1:]), start=2):
        last = n == len(lines)
        try:
            if len(rec) != len(ROW_FIELDS):
                raise ValueError(f"{len(rec)} cells")
            rows.append(_parse(dict(zip(ROW_FIELDS, rec))))
        except ValueError as e:
            if last and not complete:
                break               # the line a crash cut off
            raise DataError(f"{path}, line {n}: bad study row ({e})") from None
    return rows


def _append(path: Path, row: dict) -> None:
    data = _line(row).encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _start_runs_file(path: Path) -> None:
    """Create runs.csv with its header, or end a line a crash cut off (so appends stay whole)."""
    from ..chemistry._atomic import write_text_atomic
    if not path.is_file() or path.stat().st_size == 0:
        write_text_atomic(path, ",".join(ROW_FIELDS) + "\n")
        return
    read_rows(path)                                   # checks the header and every line
    text = path.read_text(encoding="utf-8")
    if not text.endswith("\n"):                       # drop the partial last line
        write_text_atomic(path, text[:text.rfind("\n") + 1])


# ------------------------------------------------------------------ dask
def connect(workers: int = 2, scheduler: str | None = None, *, processes: bool = True):
    """A dask ``Client``: to the scheduler at ``scheduler`` (SpecError if it does not answer
    within :data:`SCHEDULER_TIMEOUT_S`), else to a new ``LocalCluster`` of ``workers`` worker
    processes (``processes=False``: threads in this process, for tests) with one thread each and
    the dashboard on a free port. SpecError naming the extra when dask.distributed is not installed."""
    distributed = _distributed()
    if scheduler is not None:
        try:
            return distributed.Client(scheduler, timeout=f"{SCHEDULER_TIMEOUT_S}s")
        except (OSError, TimeoutError, ValueError) as e:
            raise SpecError(f"cannot reach the dask scheduler at {scheduler!r} within "
                            f"{SCHEDULER_TIMEOUT_S:g} s ({type(e).__name__}: {e}); start one "
                            f"with `dask scheduler` or leave out --scheduler to run a local "
                            f"cluster") from None
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise SpecError(f"workers must be an integer ≥ 1, got {workers!r}")
    cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1,
                                       processes=processes, dashboard_address=":0")
    return distributed.Client(cluster)


def _close(client, own_cluster: bool) -> None:
    cluster = client.cluster if own_cluster else None
    client.close()
    if cluster is not None:
        cluster.close()


def run_study(points: list[StudyPoint], out_dir, *, workers: int = 2,
              scheduler: str | None = None, progress: bool = True, definition: dict | None = None,
              processes: bool = True, client=None, point_fn=run_point) -> dict:
    """Run every point of ``points`` not finished yet in ``out_dir`` and write the study folder
    (module docstring). Returns the summary (:func:`~neuralcrn.studies.summarize_rows`).

    Parameters
    ----------
    points:      the study's points (:func:`~neuralcrn.studies.study_points`).
    workers:     LocalCluster worker processes (when no ``scheduler`` / ``client``).
    scheduler:   address of an existing dask scheduler (``tcp://host:8786``).
    progress:    a tqdm bar counting points (finished ones included).
    definition:  JSON-able description of the study, written to ``study.json``.
    client:      an existing ``distributed.Client`` to use (not closed here).
    point_fn:    the function mapped over the points (default :func:`run_point`).

    Raises
    ------
    SpecError: dask.distributed missing (naming the extra), an unreachable scheduler, bad
    workers.  DataError: a runs.csv that is not a study's.
    """
    from ..chemistry._atomic import write_text_atomic
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    runs = out / RUNS_FILE
    _start_runs_file(runs)
    if definition is not None:
        write_text_atomic(out / STUDY_JSON, json.dumps(definition, indent=1) + "\n")
    done = {r["key"] for r in read_rows(runs) if r["status"] in ("ok", "diverged")}
    todo, seen = [], set()
    for p in points:
        if p.key not in done and p.key not in seen:
            todo.append(p)
            seen.add(p.key)
    total = len({p.key for p in points})
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=total, initial=total - len(todo), unit="point", dynamic_ncols=True,
                   desc="robustness study")
    try:
        if todo:
            _distributed()
            own = client is None
            if own:
                client = connect(workers, scheduler, processes=processes)
            try:
                _map(client, todo, runs, bar, point_fn)
            finally:
                if own:
                    _close(client, scheduler is None)
    finally:
        if bar is not None:
            bar.close()
    return write_summary(out)


def _map(client, todo, runs: Path, bar, point_fn) -> None:
    from distributed import as_completed
    futures = client.map(point_fn, todo, pure=False)
    point_of = {f.key: p for f, p in zip(futures, todo)}
    for fut in as_completed(futures):
        p = point_of[fut.key]
        try:
            row = fut.result()
        except Exception as e:  # noqa: BLE001 — a worker lost or a point_fn that raised
            row = {f: getattr(p, f, None) for f in ROW_FIELDS}
            row.update(key=p.key, status="error", error=f"{type(e).__name__}: {e}")
        _append(runs, row)
        if bar is not None:
            t = row.get("test_accuracy")
            bar.set_postfix({"last": p.key.split("|", 1)[1][:40],
                             "status": row.get("status"),
                             **({"acc": f"{100 * t:.1f}%"} if t is not None else {})},
                            refresh=False)
            bar.update(1)


def _json_default(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return float(v)


def write_summary(out_dir) -> dict:
    """Summarise ``runs.csv`` of a study folder into ``summary.json`` and ``summary.csv``
    (atomically; the plots are :func:`neuralcrn.plots.plot_robustness`, a higher layer).
    Returns the summary."""
    from ..chemistry._atomic import write_text_atomic
    out = Path(out_dir)
    summary = summarize_rows(read_rows(out / RUNS_FILE))
    defin = out / STUDY_JSON
    if defin.is_file():
        summary["study"] = json.loads(defin.read_text(encoding="utf-8"))
    errors = [r for r in read_rows(out / RUNS_FILE) if r["status"] == "error"]
    summary["errors"] = [{"key": r["key"], "error": r["error"]} for r in errors][-20:]
    write_text_atomic(out / SUMMARY_JSON,
                      json.dumps(summary, indent=1, default=_json_default) + "\n")
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(
        [[_cell(v) for v in row] for row in summary_csv_rows(summary)])
    write_text_atomic(out / SUMMARY_CSV, buf.getvalue())
    return summary
