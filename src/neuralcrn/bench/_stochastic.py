"""``neuralcrn bench --only stochastic``: stochastic training on the XOR training circuit.

The circuit of ``neuralcrn train xor`` (two-phase, the task's default model, k_ann = 1e3):
the same training steps (seed 0, epoch-0 sample order) run by

* the ODE chemistry (the compiled diffrax epoch training uses), per step;
* the exact SSA at Ω = 100 — reaction firings per second (wall and thread CPU time) and
  firings per step;
* tau-leaping and the CLE at larger Ω — milliseconds per step and leaps / CLE steps per step.

Compile (or numba cache load) time is reported apart from run time; every timing is the median of
warmed repeats. Target: exact SSA ≥ 1e7 firings per second.
"""

from __future__ import annotations

import time

import numpy as np

__all__ = ["stochastic_benchmark", "format_stochastic", "stochastic_targets"]


def _xor_steps(steps: int):
    from ..tasks import epoch_order, get_task
    from ..training import chemical_setup
    task = get_task("xor")
    spec = task.model_spec
    setup = chemical_setup(spec, "two-phase")
    X, Y = task.make_data(0).split("train")
    idx = np.resize(np.asarray(epoch_order(0, 0, X.shape[0])), steps)
    s0 = setup.initial_state(task.init_params(0, spec=spec))
    return setup, s0, X[idx], Y[idx]


def _median_run(fn, repeats: int):
    wall, cpu, out = [], [], None
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.thread_time()
        out = fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
    return float(np.median(wall)), float(np.median(cpu)), out


def stochastic_benchmark(steps: int = 100, ssa_volume: float = 100.0,
                         other=(("tau-leap", 1e4), ("tau-leap", 1e6), ("cle", 1e6)),
                         repeats: int = 3) -> dict:
    """Time ``steps`` XOR training steps with the ODE and each stochastic method (module
    docstring). Returns JSON-ready results."""
    from ..training import SolverSettings
    from ..training._chemical import CompiledEpoch
    from ..training._stochastic import StochasticEpoch, firing_priority, stochastic_protocol

    setup, s0, Xs, Ys = _xor_steps(steps)
    c = setup.circuit.network
    out = {"circuit": {"task": "xor", "species": c.n_species, "reactions": c.n_reactions,
                       "k_ann": float(setup.spec.rates.annihilation)},
           "steps": steps, "repeats": repeats, "methods": []}
    t0 = time.perf_counter()
    ode = CompiledEpoch(setup, steps, None, SolverSettings())
    compile_s = time.perf_counter() - t0
    wall, cpu, _ = _median_run(lambda: np.asarray(ode(setup, s0, Xs, Ys)[0]), repeats)
    out["ode"] = {"compile_s": compile_s if not ode.cached else 0.0, "per_step_s": wall / steps,
                  "per_step_cpu_s": cpu / steps}
    priority = firing_priority(setup, s0)
    for kinetics, omega in (("ssa", ssa_volume),) + tuple(other):
        proto = stochastic_protocol(setup, omega, priority if kinetics == "ssa" else None)
        state = np.rint(s0 * omega) / omega

        def run():
            ep = StochasticEpoch(setup, proto, kinetics, [0], reorder=False)
            ep(setup, state, Xs, Ys)
            return ep

        t0 = time.perf_counter()
        warm = StochasticEpoch(setup, proto, kinetics, [0]).warm_up()
        wall, cpu, ep = _median_run(run, repeats)
        ev = ep.summary()
        per = ev["events_per_step"]
        total = ev["events_total"]
        out["methods"].append({
            "kinetics": kinetics, "volume": omega, "event": ev["event"],
            "compile_or_load_s": warm, "per_step_s": wall / steps, "per_step_cpu_s": cpu / steps,
            "events_per_step": per, "events_per_second": total / wall,
            "events_per_cpu_second": total / cpu if cpu > 0 else None,
            "vs_ode": (wall / steps) / out["ode"]["per_step_s"]})
    return out


def stochastic_targets(res: dict, quick: bool) -> list[dict]:
    """The issue's target: exact SSA ≥ 1e7 firings per second on the XOR training circuit."""
    ssa = [m for m in res.get("methods", []) if m["kinetics"] == "ssa"]
    if not ssa:
        return []
    m = ssa[0]
    v = m["events_per_second"]
    return [{"name": "ssa_events_per_second",
             "goal": "exact SSA ≥ 10 M reaction firings/s on the XOR training circuit",
             "value": v, "met": (v >= 1e7) if not quick else None,
             "detail": f"{v / 1e6:.2f} M/s wall, {m['events_per_cpu_second'] / 1e6:.2f} M/s per "
                       f"CPU second at Ω = {m['volume']:g} ({sum(m['events_per_step'].values()):.0f}"
                       f" firings per step)" + (" (quick run)" if quick else ""),
             "extra": {}}]


def format_stochastic(res: dict) -> str:
    """Plain-text table of :func:`stochastic_benchmark`."""
    from ._report import fmt_time
    c = res["circuit"]
    lines = [f"Stochastic training, XOR training circuit ({c['species']} species, "
             f"{c['reactions']} reactions, k_ann = {c['k_ann']:g}), {res['steps']} steps; ODE "
             f"{fmt_time(res['ode']['per_step_s'])} per step (compile "
             f"{fmt_time(res['ode']['compile_s'])})",
             f"  {'method':10s} {'Ω':>8s} {'per step':>10s} {'× ODE':>7s} "
             f"{'events/step (ff + fb)':>24s} {'events/s':>10s} {'per CPU s':>10s} "
             f"{'compile/load':>12s}"]
    for m in res["methods"]:
        per = m["events_per_step"]
        lines.append(
            f"  {m['kinetics']:10s} {m['volume']:8.0e} {fmt_time(m['per_step_s']):>10s} "
            f"{m['vs_ode']:7.1f} {' + '.join(f'{v:.0f}' for v in per.values()):>24s} "
            f"{m['events_per_second']:10.3g} {m['events_per_cpu_second'] or 0:10.3g} "
            f"{fmt_time(m['compile_or_load_s']):>12s}")
    lines.append("  (events: reaction firings for ssa, leaps + exact firings for tau-leap, time "
                 "steps for cle)")
    return "\n".join(lines)
