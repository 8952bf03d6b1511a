"""usage: python noise_epoch.py ssa:1e3[,ssa:1e4,...]"""
"""One epoch of autonomous linear regression on counts (entrained clock), then the learned
parameters (counts ÷ Ω) evaluated with the ideal predictor, beside the ODE epoch."""
import sys, time, json
import numpy as np
from neuralcrn.tasks import get_task, epoch_order
from neuralcrn.training._autonomous import autonomous_setup, clock_drift
from neuralcrn.training._stochastic import stochastic_protocol, StochasticEpoch
from neuralcrn.training._chemical import SolverSettings, CompiledEpoch
from neuralcrn.training._loop import evaluate_params
task = get_task("linear-regression"); spec = task.model_spec
opts = dict(pacemaker=0.2, hold=3.0, dose_at=1/3)
setup = autonomous_setup(spec, opts)
ds = task.make_data(0); X, Y = ds.split("train")
o = epoch_order(0, 0, len(X)); X, Y = X[o], Y[o]
p0 = task.init_params(0, spec=spec); s0 = setup.initial_state(p0)
s_ode, L_ode = CompiledEpoch(setup, len(X), None, SolverSettings())(setup, s0, X, Y)
p_ode = setup.read_params(np.asarray(s_ode))
base = {"val_start": evaluate_params(spec, p0, ds, ("val",))["val"]["loss"],
        "val_ode_epoch1": evaluate_params(spec, p_ode, ds, ("val",))["val"]["loss"]}
print(json.dumps(base), flush=True)
for kin, vol in [(a.split(":")[0], float(a.split(":")[1])) for a in sys.argv[1].split(",")]:
    ep = StochasticEpoch(setup, stochastic_protocol(setup, vol), kin, [0], reorder=False)
    ep.warm_up()
    t0 = time.perf_counter()
    s, L = ep(setup, s0, X, Y)
    p = setup.read_params(s)
    d = np.concatenate([np.ravel(np.asarray(a) - np.asarray(b)) for a, b in zip(p, p_ode)])
    u = np.concatenate([np.ravel(np.asarray(a) - np.asarray(b)) for a, b in zip(p_ode, p0)])
    print(json.dumps({"kinetics": kin, "volume": vol, "periods": len(X),
        "val_after_epoch1": evaluate_params(spec, p, ds, ("val",))["val"]["loss"],
        "param_dev_vs_ode_rel": float(np.linalg.norm(d) / np.linalg.norm(u)),
        "clock_drift": clock_drift(setup, s)["phase_shift"],
        "events": ep.summary().get("events_total"), "seconds": round(time.perf_counter() - t0, 1)}), flush=True)
