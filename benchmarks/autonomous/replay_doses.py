"""usage: python replay_doses.py TASK N_DOSES"""
"""Our autonomous ODE epoch (training solver) vs libroadrunner on the exported SBML: first n doses
of epoch 1, seed 0."""
import sys, time, json
import numpy as np
from neuralcrn.tasks import get_task, epoch_order
from neuralcrn.compiler import autonomous_program, protocol_network
from neuralcrn.chemistry.sbml import to_sbml_switched
from neuralcrn.training._autonomous import autonomous_setup
from neuralcrn.training._chemical import SolverSettings, CompiledEpoch
import roadrunner
task = get_task(sys.argv[1]); n = int(sys.argv[2])
spec = task.model_spec
setup = autonomous_setup(spec, None)
ac = setup.autonomous
X, Y = task.make_data(0).split("train")
order = epoch_order(0, 0, len(X))[:n]
X, Y = X[order], Y[order]
p0 = task.init_params(0, spec=spec); s0 = setup.initial_state(p0)
ep = CompiledEpoch(setup, n, None, SolverSettings())
t0 = time.perf_counter(); s, L = ep(setup, s0, X, Y); s = np.asarray(s); ours_t = time.perf_counter() - t0
model = protocol_network(setup.circuit, setup.program, X, Y, s0, name="replay")
xml = to_sbml_switched(model)
rr = roadrunner.RoadRunner(xml)
rr.integrator.relative_tolerance = 1e-8
rr.integrator.absolute_tolerance = 1e-11
rr.integrator.maximum_num_steps = 5_000_000
t0 = time.perf_counter(); rr.simulate(0, n * ac.period, 2); rr_t = time.perf_counter() - t0
ids = list(rr.model.getFloatingSpeciesIds())
sp = setup.circuit.species
conc = np.asarray(rr.model.getFloatingSpeciesConcentrations())[[ids.index(x) for x in sp]]
pa, pb = setup.read_params(s), setup.read_params(conc)
fa = np.concatenate([np.ravel(a) for a in pa]); fb = np.concatenate([np.ravel(b) for b in pb])
f0 = np.concatenate([np.ravel(np.asarray(a)) for a in p0])
print(json.dumps({"task": sys.argv[1], "doses": n, "species": len(sp), "reactions": setup.circuit.network.n_reactions,
   "max_abs_param_diff": float(np.max(np.abs(fa - fb))),
   "rel_update_diff": float(np.linalg.norm(fa - fb) / np.linalg.norm(fa - f0)),
   "yhat_ours": (setup.probe.readout @ s).tolist(), "yhat_rr": (np.asarray(setup.probe.readout) @ conc).tolist(),
   "ours_seconds": ours_t, "roadrunner_seconds": rr_t}))
