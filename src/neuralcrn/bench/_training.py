"""Full chemical training of the paper's XOR configuration, single and with replicates.

Runs :func:`neuralcrn.training.train` — the function behind ``neuralcrn train`` — in chemical
mode with the two-phase schedule on the paper's XOR data (:func:`paper_xor_task`: the ``xor``
task's N = 100 training samples, sample order and initialisation, with the raw inputs
x ~ U(0, 1)² of SPEC §5 rather than the task's rescaled box), but with the paper's model
(:func:`~neuralcrn.bench._circuits.xor_spec`, not the task's tuned default) and the paper's
E = 80 epochs, the training layer's default solver settings, and the chemical forward evaluation
of the test grid switched off (it is evaluation, not training). Each annihilation rate constant
is one circuit (the paper's 100 and neuralcrn's default 1e4; see
:data:`~neuralcrn.bench._circuits.XOR_CIRCUITS`).

Per circuit:

* ``single``: the first run of this circuit with evaluation only
  before and after training (``eval_every=0``): the wall time of the whole ``train()`` call and its
  own breakdown — ``setup`` (circuit, initial parameters), ``compile`` (XLA compilation of the
  epoch), ``train`` (the E compiled epochs), ``evaluate`` (ideal-model metrics). It is cold for
  the first circuit; circuits of the same shapes (the XOR model at another rate constant) reuse
  the compiled epoch (``timings["compile_epoch"] == 0``).
* ``warm``: the same run again in the same process: the compiled epoch is reused (no
  recompilation between runs of the same shape).
* ``evaluated``: the same run with the train/validation losses evaluated after every epoch (what
  ``neuralcrn train`` does by default for its history and plots).
* ``replicates``: ``--replicates K`` (one stacked system of K pots inside the compiled epoch), run
  for fewer epochs (E_r); a K-replicate run of E epochs is extrapolated from its measured setup,
  compile and per-epoch times: (setup_K + compile_K + E·epoch_K) / (setup_1 + compile_1 +
  E·epoch_1).
* ``final_metrics``: test-grid accuracy etc. of the single run, so the cost of a rate constant
  can be weighed against what it learns.
"""

from __future__ import annotations

import dataclasses
import time
from functools import partial

from ._circuits import XOR_CIRCUITS, xor_spec

__all__ = ["training_benchmark", "paper_xor_task", "XOR_EPOCHS"]

XOR_EPOCHS = 80
"""The paper's number of epochs for XOR."""


def paper_xor_task():
    """The registry's ``xor`` task with the paper's raw inputs x ~ U(0, 1)² (SPEC §5; the task
    itself maps the box onto [−2, 2]², on which the paper's quadratic model blows up)."""
    from ..tasks import get_task

    task = get_task("xor")
    return dataclasses.replace(task, generator=partial(task.generator, scale_to=None))


def _run(config) -> dict:
    from ..training import train

    t0 = time.perf_counter()
    result = train(config, task=paper_xor_task())
    wall = time.perf_counter() - t0
    tm = {k: float(v) for k, v in result.timings.items()}
    epochs = int(result.epochs)
    out = {"wall_s": wall, "timings": tm, "epochs": epochs,
           "samples": int(result.dataset.split("train")[0].shape[0]),
           "replicates": int(config.replicates), "eval_every": int(config.eval_every),
           "per_epoch_train_s": tm["train"] / max(1, epochs),
           "chemistry_s": tm["setup"] + tm["compile"] + tm["train"]}
    out["per_step_s"] = out["per_epoch_train_s"] / max(1, out["samples"])
    summ = getattr(result, "summary", None) or {}
    out["final_metrics"] = {k: v for k, v in summ.items()
                            if k in ("train.loss", "val.loss", "val.accuracy", "test.loss",
                                     "test.accuracy")}
    return out


def training_benchmark(*, epochs: int = XOR_EPOCHS, replicates: int = 32,
                       replicate_epochs: int = 2, circuits: tuple[str, ...] = tuple(XOR_CIRCUITS),
                       warm: bool = True, evaluated: bool = True, seed: int = 0) -> dict:
    """Time chemical training of the paper's XOR model for each circuit of ``circuits`` (names in
    :data:`~neuralcrn.bench._circuits.XOR_CIRCUITS`). Returns a JSON-ready dict ``{"runs": [...]}``
    (see the module docstring); ``replicates`` ≤ 1 skips the replicate runs."""
    from ..training import TrainConfig

    runs = []
    for name in circuits:
        spec = xor_spec(annihilation=XOR_CIRCUITS[name])
        base = TrainConfig(task="xor", mode="chemical", schedule="two-phase", epochs=epochs,
                           seed=seed, replicates=1, spec=spec, chemical_eval=False, eval_every=0,
                           ideal_reference=False)
        out = {"circuit": name, "annihilation": spec.rates.annihilation, "task": "xor",
               "spec": spec.to_dict(), "solver": base.solver.as_kwargs(),
               "schedule": "two-phase", "single": _run(base)}
        single = out["single"]
        if warm:
            out["warm"] = _run(base)
        if evaluated:
            out["evaluated"] = _run(base.replace(eval_every=1))
        if replicates and replicates > 1:
            rep = _run(base.replace(replicates=replicates, epochs=replicate_epochs))
            out["replicates"] = rep
            E = single["epochs"]
            t1, tK = single["timings"], rep["timings"]
            c1, cK = t1["setup"] + t1["compile"], tK["setup"] + tK["compile"]
            e1, eK = single["per_epoch_train_s"], rep["per_epoch_train_s"]
            out["ratios"] = {
                "per_epoch": eK / e1 if e1 > 0 else None,
                "setup_and_compile": cK / c1 if c1 > 0 else None,
                f"run_{E}_epochs": (cK + E * eK) / (c1 + E * e1),
                "per_replicate_epoch": eK / (replicates * e1) if e1 > 0 else None,
            }
        runs.append(out)
    return {"runs": runs}
