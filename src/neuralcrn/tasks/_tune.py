"""Train every task's default model in ideal mode and print its metrics and wall time (one seed).

The targets are judged on the mean over seeds 0–4: ``python -m neuralcrn.bench._seed_table
--mode ideal`` (this tool is the quick one-seed look; ``tasks._sweep`` the closed-form trainer
used for the sweeps).

    python -m neuralcrn.tasks._tune                 # all tasks
    python -m neuralcrn.tasks._tune xor rings       # some tasks
    python -m neuralcrn.tasks._tune --seed 3 --epochs 10 xor

Online SGD, one sample per step, in the order :func:`~neuralcrn.tasks.epoch_order` gives (the order
the training layer uses), seed 0 for data, initial parameters and order, the ideal math
(``ideal.train_epoch``, JIT-compiled ``lax.scan`` per epoch) with rtol 1e-8 / atol 1e-10 (the
training layer's ideal tolerances). The table reports val and test ½MSE / accuracy, whether the
issue's target is met, the number of SGD steps and the wall time (compile included), plus κ: the
largest √(α|s|)·T over the training inputs at the end, s = Θu + h the drive of a hidden unit
(κ measures how saturated the quadratic units are; tanh(κ)/κ is the slope ratio at the worst unit;
it is invariant under the chemical scale c). The model column shows the spec's own α, T, η, i.e.
after the chemical scale c (docs/tasks.md).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from .. import ideal
from ._dataset import epoch_order
from ._registry import SCALE, TASKS, get_task
from .metrics import evaluate

__all__ = ["run_task", "main"]

SOLVER = ideal.SolverOptions(rtol=1e-8, atol=1e-10)


def _kappa(spec, params, X) -> float:
    if spec.nonlinearity == "none":
        return 0.0
    U = np.column_stack([np.asarray(X, float),
                         np.broadcast_to(np.asarray(_tail(spec)), (X.shape[0], spec.n_u - spec.inputs))])
    th = np.asarray(params.theta) * ideal.theta_mask(spec)
    S = U @ th.T + np.asarray(params.h)
    return float(np.max(np.sqrt(spec.alpha * np.abs(S)) * spec.T))


def _tail(spec):
    return ([spec.augment_value] * spec.augment_count) if spec.drive == "augment" else [1.0]


def run_task(name: str, seed: int = 0, epochs: int | None = None, history: bool = False) -> dict:
    """Train task ``name`` with its defaults in ideal mode; return metrics, steps and wall time."""
    task = get_task(name)
    spec = task.model_spec
    E = task.epochs if epochs is None else int(epochs)
    t0 = time.perf_counter()
    ds = task.make_data(seed)
    params = task.init_params(seed)
    N = ds.X_train.shape[0]
    hist = []
    for e in range(E):
        o = epoch_order(seed, e, N)
        params, losses = ideal.train_epoch(spec, params, ds.X_train[o], ds.Y_train[o],
                                           solver=SOLVER)
        if history:
            hist.append(float(np.mean(np.asarray(losses))))
    out = {"task": name, "epochs": E, "steps": E * N}
    for split in ("train", "val", "test"):
        X, Y = ds.split(split)
        pred = np.asarray(ideal.predict_batch(spec, params, X, solver=SOLVER))
        out[split] = evaluate(ds, pred, Y)
    out["target"] = str(task.target)
    out["met"] = task.target.met(out[task.target.split])
    out["kappa"] = _kappa(spec, params, ds.X_train)
    out["wall_s"] = time.perf_counter() - t0
    out["params"] = params
    if history:
        out["epoch_loss"] = hist
    return out


def _fmt(m: dict) -> str:
    s = f"{m['half_mse']:.4f}"
    if m["accuracy"] is not None:
        s += f" / {100 * m['accuracy']:.2f} %"
    return s


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m neuralcrn.tasks._tune", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tasks", nargs="*", help=f"task names (default: all of {', '.join(TASKS)})")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=None, help="override the default epochs")
    a = ap.parse_args(argv)
    names = a.tasks or list(TASKS)
    for n in names:
        get_task(n)  # fail early on a bad name
    print("| task | model | epochs | steps | val ½MSE / acc | test ½MSE / acc | target | met | κ "
          "| wall (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    ok = True
    for n in names:
        r = run_task(n, a.seed, a.epochs)
        s = get_task(n).model_spec
        c = SCALE.get(n)
        model = (f"{s.nonlinearity}, n={s.n}, α={s.alpha:g}, T={s.T:g}, η={s.learning_rate:g}"
                 + (f", c={c:g}" if c is not None else ""))
        print(f"| {n} | {model} | {r['epochs']} | {r['steps']} | {_fmt(r['val'])} | "
              f"{_fmt(r['test'])} | {r['target']} | {'yes' if r['met'] else 'NO'} | "
              f"{r['kappa']:.2f} | {r['wall_s']:.1f} |", flush=True)
        ok &= r["met"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
