"""usage: python replay_run.py FILE.xml RUN_DIR N_DOSES PERIOD N_TRAIN (after neuralcrn protocol RUN_DIR --steps N_DOSES --out FILE.xml)"""
"""Replay the first N doses of an autonomous run from its exported SBML in libroadrunner and
compare the parameter species with the run's parameters.csv (after whole epochs) or with our
ODE at the same doses."""
import sys, csv, time, json
import numpy as np, roadrunner
sbml, run_dir, n, period = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
rr = roadrunner.RoadRunner(open(sbml).read())
rr.integrator.relative_tolerance = 1e-8
rr.integrator.absolute_tolerance = 1e-11
rr.integrator.maximum_num_steps = 5_000_000
t0 = time.perf_counter()
rr.simulate(0, n * period, 2)
wall = time.perf_counter() - t0
ids = list(rr.model.getFloatingSpeciesIds())
c = dict(zip(ids, rr.model.getFloatingSpeciesConcentrations()))
rows = list(csv.DictReader(open(f"{run_dir}/parameters.csv")))
N = int(sys.argv[5])
row = rows[n // N]
worst = 0.0
for k, v in row.items():
    if k == "epoch": continue
    got = c.get(k + "_p", 0.0) - c.get(k + "_m", 0.0)
    if (k + "_p") not in c and (k + "_m") not in c:
        continue
    worst = max(worst, abs(got - float(v)))
    print(f"{k:12s} run {float(v): .8f} roadrunner {got: .8f}")
scale = max(abs(float(v)) for k, v in row.items() if k != "epoch")
print(json.dumps({"doses": n, "epoch": row["epoch"], "max_abs_diff": worst, "rel": worst / scale, "roadrunner_seconds": wall}))
