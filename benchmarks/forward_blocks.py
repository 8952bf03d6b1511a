"""The chemical forward pass in blocks of stacked pots: wall time per point against the block size.

The final evaluation of a chemical run (``training.chemical_predict``) integrates its points as
blocks of pots, each block one stacked system (one shared adaptive step sequence, the worst pot's
error) and the blocks one after another (``training._chemical.CompiledPredictor``). This times
the forward pass of the seed-0 initial parameters of TASK (host-clocked or autonomous circuit) on
the first N points of its train/val/test splits for the default block
(``predict_block(species)``) and each block size given, and prints the largest difference of
ŷ from the default block's (the solver's tolerance: rtol 1e-4).

    python benchmarks/forward_blocks.py TASK host|chemical N BLOCK [BLOCK ...]
    python benchmarks/forward_blocks.py xor chemical 16 16          # autonomous XOR
    python benchmarks/forward_blocks.py xor host 1730 512           # the old single stack of 512
"""

import sys
import time

import numpy as np

from neuralcrn.training import SolverSettings, TrainConfig
from neuralcrn.training._chemical import CompiledPredictor
from neuralcrn.training._loop import _initial_params, _resolve, _stacked, setup_for


def main(task, clock, n, blocks):
    cfg = TrainConfig(task=task, mode="chemical", clock=clock, seed=0)
    run = _resolve(cfg)
    setup = setup_for(cfg, run.spec)
    state = setup.initial_state(_initial_params(cfg, run.task, run.spec, 0))
    X = _stacked(run.datasets[0], ("train", "val", "test"))[:n]
    print(f"{task} ({clock} clock): {setup.n_species} species, {len(X)} points")
    ref = None
    for b in [None] + blocks:
        pred = CompiledPredictor(setup, SolverSettings(), b)
        t0 = time.perf_counter()
        y = pred(setup, state, X)
        t = time.perf_counter() - t0
        ref = y if ref is None else ref
        print(f"block {pred.block:4d} ({'default' if b is None else 'given'}), {pred.chunk} "
              f"points per call: compile {pred.compile_seconds:5.1f} s, {t:7.2f} s = "
              f"{1e3 * t / len(X):7.1f} ms per point; max |Δŷ| vs default "
              f"{np.abs(y - ref).max():.1e}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), [int(b) for b in sys.argv[4:]])
