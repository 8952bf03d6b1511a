"""usage: python overlap_error.py TASK SHARPNESSES N_SAMPLES"""
"""Relative error of one autonomous step's parameter update against the host-clocked two-phase
step (same parameters, same sample), and the part the overlap model predicts."""
import sys, json, time
import numpy as np
from neuralcrn.tasks import get_task
from neuralcrn.compiler import compile_autonomous, compile_two_phase, autonomous_step, two_phase_step, ClockOptions
from neuralcrn.compiler._autonomous import overlap_forward
task = get_task(sys.argv[1]); spec = task.model_spec
rng = np.random.default_rng(0)
p = task.init_params(0, spec=spec)
X, Y = task.make_data(0).split("train")
for sigma in [float(s) for s in sys.argv[2].split(",")]:
    ac = compile_autonomous(spec, p, ClockOptions(sharpness=sigma))
    tp = compile_two_phase(spec, p)
    errs = []
    t0 = time.perf_counter()
    for i in range(int(sys.argv[3])):
        x, y = X[i], Y[i]
        r = autonomous_step(ac, x, y, rtol=1e-9, atol=1e-12)
        h = two_phase_step(tp, x, y)
        flat = lambda q: np.concatenate([np.ravel(np.asarray(a) - np.asarray(b)) for a, b in zip(q, p)])
        ua, uh = flat(r.params_after), flat(h.params_after)
        zerr = np.linalg.norm(r.zf - h.zT) / np.linalg.norm(h.zT)
        pred = overlap_forward(ac, p, x) - overlap_forward(ac, p, x, step=True)
        errs.append((np.linalg.norm(ua - uh) / np.linalg.norm(uh), zerr, np.linalg.norm(pred) / np.linalg.norm(h.zT)))
    e = np.array(errs)
    print(json.dumps({"task": sys.argv[1], "sharpness": sigma, "period": ac.period, "samples": len(e),
        "update_rel_err_mean": float(e[:, 0].mean()), "update_rel_err_max": float(e[:, 0].max()),
        "zT_rel_err_mean": float(e[:, 1].mean()), "zT_rel_err_predicted_by_overlap_mean": float(e[:, 2].mean()),
        "latch_spread": ac.timing.latch_spread, "seconds": time.perf_counter() - t0}), flush=True)
