"""Clock survival (clock alone, exact marginal): usage python survival.py TASK PERIODS METHOD VOLUMES"""
import sys, json, time
import numpy as np
from neuralcrn.tasks import get_task
from neuralcrn.compiler import ClockOptions
from neuralcrn.training._autonomous_noise import clock_survival
task = sys.argv[1]; periods = int(sys.argv[2]); method = sys.argv[3]
spec = get_task(task).model_spec
free = ClockOptions()
ent = ClockOptions(pacemaker=0.2, hold=3.0, dose_at=1/3)
for vol in [float(v) for v in sys.argv[4].split(",")]:
    for name, o in (("free", free), ("entrained", ent)):
        r = clock_survival(spec, o, vol, periods, method=method)
        print(json.dumps({"task": task, "clock": name, "volume": vol, "periods": periods, "survived": r["survived"],
                          "offset_sd": r["offset_sd"], "period_sd": r["period_sd"], "slack": r["slack"],
                          "dose_interval": r["dose_interval"], "method": method, "seconds": round(r["seconds"], 1)}), flush=True)
