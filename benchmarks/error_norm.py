"""The ODE error norm of dual-rail pairs, measured on what training integrates.

One epoch (100 XOR samples, seed-0 parameters of the paper's XOR model, k_ann given) of the
two-phase step as training runs it — load the sample, the feedforward phase, the feedback phase —
with the training tolerances (rtol 1e-4, atol 1e-7), once with the error of every species measured
against its own magnitude ("species") and once against its dual-rail pair's magnitude ("pairs",
the default since 2026-12-01; kinetics/_loop.py). Prints the solver steps per phase (attempted /
accepted, mean and max over the samples), the wall time per sample (best of 3) and the accuracy
against the same epoch at rtol 1e-10, atol 1e-13: the relative error of the parameters after the
epoch and the largest error of a readout ŷ.

    python benchmarks/error_norm.py [K_ANN] [FEEDFORWARD_METHOD]      # default 1e4 rodas5
"""

import sys
import time

import jax
import numpy as np

from neuralcrn.bench._circuits import xor_spec
from neuralcrn.compiler import load_sample
from neuralcrn.kinetics._solve import _lean_solve
from neuralcrn.tasks import get_task
from neuralcrn.training._chemical import chemical_setup


def epoch(setup, s0, X, Y, methods, rtol, atol, pair_norm):
    ph, prog = setup.phased, setup.program
    R = np.asarray(setup.probe.readout)

    def body(s, xy):
        s = load_sample(prog, s, *xy)[None]
        counts, yhat = [], None
        for p in range(2):
            r = _lean_solve(methods[p], ph.structures[p], ph.rate_constants[p], s, 0.0,
                            prog.durations[p], None, rtol, atol, 1_000_000, None,
                            plan=ph.plans[p], pair_norm=pair_norm)
            s = r.y
            counts.append(jax.numpy.stack([r.num_steps, r.num_accepted]))
            yhat = s[0] @ R.T if p == 0 else yhat
        return s[0], (jax.numpy.stack(counts), yhat)

    return jax.jit(lambda s: jax.lax.scan(body, s, (X, Y)))


def main(k_ann: float = 1e4, ff_method: str = "rodas5") -> None:
    spec = xor_spec(annihilation=k_ann)
    setup = chemical_setup(spec)
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (100, 2))
    Y = (np.round(X[:, :1]) != np.round(X[:, 1:2])).astype(float)
    s0 = setup.initial_state(get_task("xor").init_params(0, spec=spec))
    P = np.asarray(setup.probe.params)
    methods = (ff_method, "tsit5")
    ref_s, (_, ref_y) = epoch(setup, s0, X, Y, ("rodas5", "rodas5"), 1e-10, 1e-13, True)(s0)
    p_ref = P @ np.asarray(ref_s)
    print(f"paper XOR model, k_ann = {k_ann:g}, feedforward {ff_method}, feedback tsit5, "
          f"100 samples, rtol 1e-4, atol 1e-7")
    for norm in ("species", "pairs"):
        f = epoch(setup, s0, X, Y, methods, 1e-4, 1e-7, norm == "pairs")
        s, (counts, yhat) = f(s0)
        counts = np.asarray(counts)
        times = []
        for _ in range(3):
            t = time.perf_counter()
            np.asarray(f(s0)[0])
            times.append(time.perf_counter() - t)
        err_p = np.linalg.norm(P @ np.asarray(s) - p_ref) / np.linalg.norm(p_ref)
        err_y = np.max(np.abs(np.asarray(yhat) - np.asarray(ref_y)))
        ff, fb = counts[:, 0], counts[:, 1]
        print(f"  {norm:8s} feedforward steps {ff[:, 0].mean():5.1f} / {ff[:, 1].mean():5.1f} "
              f"(max {ff[:, 0].max()}), feedback {fb[:, 0].mean():5.1f} / {fb[:, 1].mean():5.1f}; "
              f"{1e6 * min(times) / 100:7.1f} µs per sample; parameter error {err_p:.1e}, "
              f"max ŷ error {err_y:.1e}")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 1e4,
         sys.argv[2] if len(sys.argv) > 2 else "rodas5")
