"""Clock drift, speed and accuracy of ODE methods on the autonomous epoch.

usage: python solvers.py TASK N_DOSES A|C:METHOD:RTOL,... [CLOCK_OPTIONS_JSON]
(A is no longer available: use C, the shared CompiledEpoch)"""
import sys, time, json
import numpy as np
from neuralcrn.tasks import get_task
from neuralcrn.training._autonomous import autonomous_setup, clock_drift
from neuralcrn.training._chemical import SolverSettings, CompiledEpoch
task = get_task(sys.argv[1]); n = int(sys.argv[2]); opts = json.loads(sys.argv[4]) if len(sys.argv) > 4 else None
spec = task.model_spec
setup = autonomous_setup(spec, opts)
print("period", setup.autonomous.period, "slack", setup.dose_slack())
X, Y = task.make_data(0).split("train"); X, Y = X[:n], Y[:n]
p0 = task.init_params(0, spec=spec); s0 = setup.initial_state(p0)
res = {}
for kind in sys.argv[3].split(","):
    which, method, rtol = kind.split(":")
    rtol = float(rtol)
    solver = SolverSettings(method=method, rtol=rtol, atol=rtol*1e-3, max_steps=1_000_000)
    ep = CompiledEpoch(setup, n, None, solver)
    t0 = time.perf_counter()
    s, L = ep(setup, s0, X, Y); s = np.asarray(s); L = np.asarray(L)
    tr = time.perf_counter() - t0
    res[kind] = (s, L)
    d = clock_drift(setup, s)
    print(f"{kind:18s} run {tr:6.2f}s ({tr/n*1e3:.0f} ms/period) loss_sum {L.sum():.8g} drift {d['phase_shift']:.3e} off {d['off_cycle']:.2e}", flush=True)
ref, Lr = res[list(res)[0]]
pr = setup.read_params(ref)
for k, (s, L) in res.items():
    p = setup.read_params(s)
    dp = max(np.max(np.abs(np.asarray(a) - np.asarray(b))) for a, b in zip(p, pr))
    print(k, "max|Δparams|", dp, "max|Δloss|", np.max(np.abs(L - Lr)))
