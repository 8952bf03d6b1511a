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
* ``cached``: the single run in a fresh Python process whose compiled programs are loaded from
  JAX's persistent compilation cache (what a second ``neuralcrn train`` finds:
  :mod:`neuralcrn._compilation_cache`); a first process fills a temporary cache folder
  (``cached["fill_wall_s"]``: its cold ``train()`` wall), the second one is timed;
  ``cached["cache_hits"]``: how many programs it loaded (``cached["refused"]``: this machine's
  XLA refused entries, which were compiled again); ``cached["same_result"]``: both ended with
  bit-identical metrics. The rest of the
  benchmark runs with the cache off, so its compile times stay cold.
* ``final_metrics``: test-grid accuracy etc. of the single run, so the cost of a rate constant
  can be weighed against what it learns.

``python -m neuralcrn.bench._training CIRCUIT EPOCHS SEED`` runs the single run of one circuit in
this process with the compilation cache on (``NEURALCRN_COMPILATION_CACHE`` says where) and
prints its JSON as the last line.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import tempfile
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


def _single_config(name: str, epochs: int, seed: int):
    from ..training import TrainConfig

    spec = xor_spec(annihilation=XOR_CIRCUITS[name])
    return TrainConfig(task="xor", mode="chemical", schedule="two-phase", epochs=epochs,
                       seed=seed, replicates=1, spec=spec, chemical_eval=False, eval_every=0,
                       ideal_reference=False)


def _subprocess_run(name: str, epochs: int, seed: int, cache_dir: str) -> dict:
    from .._compilation_cache import ENV_VAR, XLA_REFUSED, environment_without_cache_settings

    # only our cache settings: none inherited from this process (JAX_ENABLE_COMPILATION_CACHE,
    # JAX_COMPILATION_CACHE_DIR, ... of a caller that switched the cache off or elsewhere)
    env = environment_without_cache_settings(**{ENV_VAR: cache_dir})
    out = subprocess.run([sys.executable, "-m", "neuralcrn.bench._training", name, str(epochs),
                          str(seed)], env=env, capture_output=True, text=True, timeout=3600)
    if out.returncode != 0:
        raise RuntimeError(f"cached training run of {name} failed:\n{out.stderr[-2000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["refused"] = XLA_REFUSED in out.stderr
    return result


def cached_run(name: str, epochs: int = XOR_EPOCHS, seed: int = 0) -> dict:
    """The single run of circuit ``name`` in a second fresh process that loads its compiled
    programs from a persistent compilation cache the first one filled (module docstring)."""
    with tempfile.TemporaryDirectory(prefix="neuralcrn-bench-cache-") as folder:
        fill = _subprocess_run(name, epochs, seed, folder)
        out = _subprocess_run(name, epochs, seed, folder)
    out["fill_wall_s"] = fill["wall_s"]
    # a loaded program is the same compiled code: the two runs' metrics are equal to the bit
    out["same_result"] = fill["final_metrics"] == out["final_metrics"]
    return out


def training_benchmark(*, epochs: int = XOR_EPOCHS, replicates: int = 32,
                       replicate_epochs: int = 2, circuits: tuple[str, ...] = tuple(XOR_CIRCUITS),
                       warm: bool = True, evaluated: bool = True, cached: bool = True,
                       seed: int = 0) -> dict:
    """Time chemical training of the paper's XOR model for each circuit of ``circuits`` (names in
    :data:`~neuralcrn.bench._circuits.XOR_CIRCUITS`). Returns a JSON-ready dict ``{"runs": [...]}``
    (see the module docstring); ``replicates`` ≤ 1 skips the replicate runs."""
    runs = []
    for name in circuits:
        base = _single_config(name, epochs, seed)
        spec = base.spec
        out = {"circuit": name, "annihilation": spec.rates.annihilation, "task": "xor",
               "spec": spec.to_dict(), "solver": base.solver.as_kwargs(),
               "schedule": "two-phase", "single": _run(base)}
        single = out["single"]
        if warm:
            out["warm"] = _run(base)
        if evaluated:
            out["evaluated"] = _run(base.replace(eval_every=1))
        if cached:
            out["cached"] = cached_run(name, epochs, seed)
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


def _main(argv: list[str]) -> None:
    import jax.monitoring

    from .._compilation_cache import enable_compilation_cache

    name, epochs, seed = argv[0], int(argv[1]), int(argv[2])
    hits = []
    jax.monitoring.register_event_listener(
        lambda event, **kw: hits.append(1) if event == "/jax/compilation_cache/cache_hits"
        else None)
    enable_compilation_cache()
    out = _run(_single_config(name, epochs, seed))
    out["cache_hits"] = len(hits)
    print(json.dumps({k: out[k] for k in ("wall_s", "timings", "epochs", "samples",
                                          "per_epoch_train_s", "per_step_s", "final_metrics",
                                          "cache_hits")}))


if __name__ == "__main__":
    _main(sys.argv[1:])
