"""The five-seed table of the tasks: every default run as the mean ± sd over seeds 0–4.

Each seed has its own data set, initial parameters and sample order (``--replicates 5``: the
seeds are trained together, stacked pots in chemical mode). For every task the table reports the
headline metric of the task's target (chemical mode: the trained circuit's own chemical forward
pass; ideal mode: the ideal predictor), the ideal predictor on the same parameters, the ideal
training run from the same starts and orders with the mean parameter difference (chemical mode),
whether the target's mean is met, the circuit size and the wall time.

    python -m neuralcrn.bench._seed_table --mode ideal              # all tasks, minutes
    python -m neuralcrn.bench._seed_table --mode chemical xor rings # the chemical table
    python -m neuralcrn.bench._seed_table --mode chemical --json runs/seeds.json \\
        --markdown runs/seeds.md --runs runs/seeds     # also every run folder

Equivalent for one task: ``neuralcrn train TASK --seeds 0-4 [--mode ideal]``.
"""

from __future__ import annotations

import argparse
import sys
import time

__all__ = ["seed_row", "seed_table", "markdown", "main"]


def _fmt(st, acc: bool) -> str:
    if st is None:
        return "—"
    if acc:
        return f"{100 * st['mean']:.1f} ± {100 * st['sd']:.1f} %"
    return f"{st['mean']:.4f} ± {st['sd']:.4f}"


def seed_row(task: str, mode: str = "chemical", seeds: int = 5, first: int = 0,
             out=None, progress: bool = False) -> dict:
    """Train ``task`` with its defaults for seeds first … first+seeds−1 and summarise."""
    from ..tasks import get_task
    from ..training import TrainConfig, train, write_run
    t = get_task(task)
    cfg = TrainConfig(task=task, mode=mode, seed=first, replicates=seeds)
    t0 = time.perf_counter()
    r = train(cfg, progress=progress)
    wall = time.perf_counter() - t0
    if out is not None:
        write_run(r, out, overwrite=True)
    tg = t.target
    key = f"{tg.split}.{'accuracy' if tg.metric == 'accuracy' else 'loss'}"
    s = r.summary
    head = s.get(key)
    c = r.setup.circuit.network
    return {"task": task, "mode": mode, "seeds": list(range(first, first + seeds)),
            "target": str(tg), "metric": key, "headline": head,
            "evaluated_by": r.metrics[0]["evaluated_by"],
            "ideal_predictor": s.get(f"ideal_predictor.{key}"),
            "ideal_training": s.get(f"ideal_training.{key}"),
            "param_diff": s.get("vs_ideal_training.param_relative_difference"),
            "met": None if head is None else tg.met({tg.metric: head["mean"]}),
            "per_seed": [m[tg.split][tg.metric if tg.metric == "accuracy" else "loss"]
                         for m in r.metrics],
            "epochs": r.epochs, "train_samples": r.dataset.sizes()["train"],
            "species": c.n_species, "reactions": c.n_reactions,
            "max_molecularity": c.max_molecularity, "wall_s": wall,
            "train_s": r.timings["train"]}


def seed_table(tasks, mode: str = "chemical", seeds: int = 5, runs=None, log=None) -> list:
    """:func:`seed_row` for each task (run folders under ``runs`` when given)."""
    from pathlib import Path
    rows = []
    for name in tasks:
        out = None if runs is None else Path(runs) / f"{name}-{mode}-seeds0-{seeds - 1}"
        rows.append(seed_row(name, mode, seeds, out=out))
        if log:
            r = rows[-1]
            log(f"{name}: {_fmt(r['headline'], 'accuracy' in r['metric'])} "
                f"({'met' if r['met'] else 'MISSED'}), {r['wall_s']:.0f} s")
    return rows


def markdown(rows: list) -> str:
    """The README table (mean ± sd over the seeds)."""
    mode = rows[0]["mode"] if rows else "chemical"
    head = ("| task | target | result (mean ± sd, seeds 0–4) | ideal predictor, same θ | "
            "ideal training | param. diff. | epochs × samples | species | reactions | wall |")
    out = [head, "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        acc = "accuracy" in r["metric"]
        met = "" if r["met"] is None else (" ✓" if r["met"] else " ✗")
        pd = "—" if r["param_diff"] is None else f"{r['param_diff']['mean']:.1e}"
        ideal_tr = _fmt(r["ideal_training"], acc) if mode == "chemical" else "—"
        out.append(f"| {r['task']} | {r['target']} | **{_fmt(r['headline'], acc)}**{met} | "
                   f"{_fmt(r['ideal_predictor'], acc) if mode == 'chemical' else '—'} | "
                   f"{ideal_tr} | {pd} | {r['epochs']} × {r['train_samples']} | "
                   f"{r['species']:,} | {r['reactions']:,} | {r['wall_s']:.0f} s |")
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    from ..tasks import task_names
    ap = argparse.ArgumentParser(prog="python -m neuralcrn.bench._seed_table",
                                 description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tasks", nargs="*", help="task names (default: all)")
    ap.add_argument("--mode", choices=("chemical", "ideal"), default="chemical")
    ap.add_argument("--seeds", type=int, default=5, help="seeds 0 … N−1 [5]")
    ap.add_argument("--runs", help="write every run folder under this folder")
    ap.add_argument("--json", help="write the rows as JSON")
    ap.add_argument("--markdown", help="write the table as Markdown")
    a = ap.parse_args(argv)
    names = a.tasks or task_names()
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    rows = seed_table(names, a.mode, a.seeds, a.runs, log=log)
    from ._sizes import write_outputs
    write_outputs(rows, markdown(rows), a.json, a.markdown)
    return 0 if all(r["met"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
