"""Full chemical training of the paper's XOR configuration, single and with replicates.

Runs :func:`neuralcrn.training.train` — the function behind ``neuralcrn train`` — in chemical
mode with the two-phase schedule on the ``xor`` task's data (its N = 100 training samples and its
initialisation), but with the paper's model (:func:`~neuralcrn.bench._circuits.xor_spec`, not the
task's tuned default) and the paper's E = 80 epochs, the training layer's default solver
settings, and the chemical forward evaluation of the test grid switched off (it is evaluation,
not training).

* ``single``: one cold run (the first training of this shape in the process): the wall time of
  the whole ``train()`` call and its own breakdown — ``setup`` (compile the circuit),
  ``compile`` (XLA compilation of the epoch), ``train`` (the E compiled epochs), ``evaluate``
  (the ideal-model losses on the train and validation sets after every epoch).
* ``replicates``: ``--replicates K`` (``jax.vmap`` over the compiled epoch), run for fewer epochs
  (E_r); per-epoch times are compared with the single run's, and a K-replicate run of E epochs is
  extrapolated from measured compile and per-epoch times: (compile_K + E·epoch_K) /
  (compile_1 + E·epoch_1). The ratio with evaluation included is reported too.

Where :mod:`neuralcrn.tasks` has no ``xor`` task registered yet, the same chemistry is run through
the training layer's compiled epoch directly (``api = "CompiledEpoch"``): :func:`~neuralcrn.
training.chemical_setup`, :class:`~neuralcrn.training.CompiledEpoch` (the ``lax.scan`` epoch that
``train()`` runs), XOR data from :func:`neuralcrn.tasks._data.binary2d_data` (N = 101 training
samples, x ~ U(0, 1)²) visited in :func:`~neuralcrn.tasks._dataset.epoch_order`, E = 80 by
default; there is no per-epoch evaluation in that path.
"""

from __future__ import annotations

import time

from ._circuits import xor_spec

__all__ = ["training_benchmark"]


def _run(config) -> tuple[dict, object]:
    from ..training import train

    t0 = time.perf_counter()
    result = train(config)
    wall = time.perf_counter() - t0
    tm = {k: float(v) for k, v in result.timings.items()}
    epochs = int(result.epochs)
    out = {"wall_s": wall, "timings": tm, "epochs": epochs,
           "samples": int(result.dataset.split("train")[0].shape[0]),
           "replicates": int(config.replicates),
           "per_epoch_train_s": tm["train"] / max(1, epochs),
           "per_epoch_evaluate_s": tm["evaluate"] / max(1, epochs + 1),
           "chemistry_s": tm["setup"] + tm["compile"] + tm["train"]}
    out["per_step_s"] = out["per_epoch_train_s"] / max(1, out["samples"])
    summ = getattr(result, "summary", None) or {}
    out["final_metrics"] = {k: v for k, v in summ.items()
                            if k in ("train.loss", "val.loss", "val.accuracy", "test.accuracy")}
    return out, result


XOR_SAMPLES = 101
XOR_EPOCHS = 80


def _task_available(task: str) -> bool:
    try:
        from ..tasks import get_task
        get_task(task)
        return True
    except Exception:  # noqa: BLE001 - no registry / no such task
        return False


def _run_compiled(spec, epochs: int, replicates: int, seed: int, solver) -> dict:
    """Setup + compile + E epochs through :class:`~neuralcrn.training.CompiledEpoch`."""
    import numpy as np

    from ..ideal import Params, init_params
    from ..tasks._data import binary2d_data, xor_rule
    from ..tasks._dataset import epoch_order
    from ..training import CompiledEpoch, chemical_setup

    t_start = time.perf_counter()
    setup = chemical_setup(spec, "two-phase")
    data = binary2d_data("xor", seed, xor_rule, lo=(0.0, 0.0), hi=(1.0, 1.0),
                         n_train=XOR_SAMPLES, n_val=30)
    X, Y = data.X_train, data.Y_train
    N = X.shape[0]
    seeds = [seed + k for k in range(replicates)]
    state = np.stack([setup.initial_state(Params(*(np.asarray(v) for v in init_params(spec, s))))
                      for s in seeds])
    t_setup = time.perf_counter() - t_start
    fn = CompiledEpoch(setup, N, replicates if replicates > 1 else None, solver)
    t_train = 0.0
    losses = []
    for e in range(epochs):
        order = np.stack([epoch_order(s, e, N) for s in seeds])
        t0 = time.perf_counter()
        if replicates > 1:
            s_new, L = fn(setup, state, X[order], Y[order])
        else:
            s_new, L = fn(setup, state[0], X[order[0]], Y[order[0]])
            s_new, L = s_new[None], L[None]
        state, L = np.asarray(s_new), np.asarray(L)
        t_train += time.perf_counter() - t0
        losses.append(float(np.mean(L)))
    wall = time.perf_counter() - t_start
    tm = {"setup": t_setup, "compile": float(fn.compile_seconds), "train": t_train,
          "evaluate": 0.0, "chemical_eval": 0.0, "total": wall}
    out = {"api": "CompiledEpoch", "wall_s": wall, "timings": tm, "epochs": epochs,
           "samples": int(N), "replicates": replicates,
           "per_epoch_train_s": t_train / max(1, epochs), "per_epoch_evaluate_s": 0.0,
           "chemistry_s": t_setup + tm["compile"] + t_train,
           "running_loss_first_last": [losses[0], losses[-1]] if losses else None,
           "all_finite": bool(np.all(np.isfinite(state)))}
    out["per_step_s"] = out["per_epoch_train_s"] / max(1, N)
    return out


def training_benchmark(*, epochs: int | None = XOR_EPOCHS, replicates: int = 32,
                       replicate_epochs: int = 2, task: str = "xor", seed: int = 0) -> dict:
    """Time the single run (``epochs``; ``None`` = the task's default) and a ``replicates`` run of
    ``replicate_epochs`` epochs. Returns a JSON-ready dict (see the module docstring)."""
    if epochs is None:
        epochs = XOR_EPOCHS
    from ..training import SolverSettings, TrainConfig

    spec = xor_spec()
    use_train = _task_available(task)
    if use_train:
        base = TrainConfig(task=task, mode="chemical", schedule="two-phase", epochs=epochs,
                           seed=seed, replicates=1, spec=spec, chemical_eval=False)
        solver = base.solver
        single, _ = _run(base)
        single["api"] = "train()"
    else:
        solver = SolverSettings()
        single = _run_compiled(spec, XOR_EPOCHS if epochs is None else epochs, 1, seed, solver)
    out = {"task": task, "spec": spec.to_dict(), "solver": solver.as_kwargs(),
           "schedule": "two-phase", "api": single["api"], "single": single}
    if replicates and replicates > 1:
        if use_train:
            rep, _ = _run(base.replace(replicates=replicates, epochs=replicate_epochs))
            rep["api"] = "train()"
        else:
            rep = _run_compiled(spec, replicate_epochs, replicates, seed, solver)
        out["replicates"] = rep
        E = single["epochs"]
        c1, e1 = single["timings"]["setup"] + single["timings"]["compile"], \
            single["per_epoch_train_s"]
        cK, eK = rep["timings"]["setup"] + rep["timings"]["compile"], rep["per_epoch_train_s"]
        ev1, evK = single["per_epoch_evaluate_s"], rep["per_epoch_evaluate_s"]
        out["ratios"] = {
            "per_epoch": eK / e1 if e1 > 0 else None,
            "compile": cK / c1 if c1 > 0 else None,
            f"run_{E}_epochs_chemistry": (cK + E * eK) / (c1 + E * e1),
            **({f"run_{E}_epochs_with_evaluation": ((cK + E * (eK + evK) + evK)
                                                  / (c1 + E * (e1 + ev1) + ev1))}
               if ev1 > 0 else {}),
            "per_replicate_epoch": eK / (replicates * e1) if e1 > 0 else None,
        }
    return out
