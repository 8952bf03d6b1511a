"""Where does an exact-SSA XOR training at small Ω run away? (diagnostic, issue 10)

``python diverge_probe.py OMEGA SEED`` (PYTHONPATH=src): trains the Ω study's XOR model (n = 16,
T = 0.25) on counts with the exact SSA, CHUNK steps per call (each call draws its own noise seed,
so the realisation differs from the study's run of the same seed), recording after every chunk the
parameters (max |Θ|, max |W|, ‖Θ‖, ‖W‖), the mean loss and the largest events per phase; writes
them to ``diverge-ssa-OMEGA-seedSEED.json``. When a chunk stops (runaway limit), it replays that
chunk step by step from its start with a limit of 1e8 events per phase and prints the species
holding the most molecules at the end.
"""
import sys, time, json
import numpy as np
from neuralcrn.tasks import get_task, epoch_order
from neuralcrn.training._chemical import chemical_setup
from neuralcrn.training._stochastic import StochasticEpoch, stochastic_protocol
from neuralcrn.errors import SimulationError

omega = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
CHUNK = 10
t = get_task("xor")
spec = t.model_spec.replace(hidden=16, T=0.25)
setup = chemical_setup(spec)
ds = t.make_data(seed)
X, Y = ds.split("train")
p0 = t.init_params(seed, spec=spec)
state = np.rint(setup.initial_state(p0) * omega) / omega
ep = StochasticEpoch(setup, stochastic_protocol(setup, omega), "ssa", [seed])
ep.warm_up()
sp = setup.circuit.species
rows = []
t0 = time.time()
for e in range(40):
    o = np.asarray(epoch_order(seed, e, X.shape[0]))
    for c in range(0, len(o), CHUNK):
        idx = o[c:c + CHUNK]
        before = state.copy(); lim = ep.max_events
        try:
            state, losses = ep(setup, state, X[idx], Y[idx])
        except SimulationError as err:
            print("STOP", err)
            # replay step by step with a higher limit
            ep2 = StochasticEpoch(setup, ep.protocol, "ssa", [seed], reorder=False)
            ep2.max_events = int(1e8)
            s = before
            for j, i in enumerate(idx):
                pr = setup.read_params(s)
                try:
                    s2, l = ep2(setup, s, X[i:i+1], Y[i:i+1])
                    ev = ep2.events[0][-1][0]
                    print(f" step {j}: x={X[i]}, y={Y[i]}, loss={l[0]:.3g}, events={ev}, "
                          f"max|Θ|={np.abs(pr.theta).max():.3g}, max|W|={np.abs(pr.W).max():.3g}")
                    s = s2
                except SimulationError as err2:
                    print(" step", j, "x", X[i], "still runs away:", err2)
                    break
            top = np.argsort(-s)[:15]
            print(" largest species after replay:", [(sp[k], round(float(s[k]), 3)) for k in top])
            json.dump(rows, open(f"diverge-ssa-{omega:g}-seed{seed}.json", "w"), indent=0)
            sys.exit(0)
        pr = setup.read_params(state)
        ev = ep.events[0][-1]
        rows.append({"epoch": e, "chunk": c // CHUNK, "loss": float(losses.mean()),
                     "max_theta": float(np.abs(pr.theta).max()), "max_W": float(np.abs(pr.W).max()),
                     "norm_theta": float(np.linalg.norm(pr.theta)), "norm_W": float(np.linalg.norm(pr.W)),
                     "events_max": [int(v) for v in ev.max(axis=0)], "limit": lim})
    r = rows[-1]
    print(f"epoch {e+1}: loss {np.mean([q['loss'] for q in rows if q['epoch']==e]):.3g} "
          f"max|Θ| {r['max_theta']:.3g} ‖Θ‖ {r['norm_theta']:.3g} max|W| {r['max_W']:.3g} ‖W‖ {r['norm_W']:.3g} "
          f"max events/phase {max(max(q['events_max']) for q in rows if q['epoch']==e)} (limit {ep.max_events:.3g}) "
          f"{time.time()-t0:.0f}s", flush=True)
json.dump(rows, open(f"diverge-ssa-{omega:g}-seed{seed}.json", "w"), indent=0)
