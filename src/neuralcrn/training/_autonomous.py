"""Autonomous training (``neuralcrn train TASK --clock chemical``): one network, its own clock.

The circuit is :func:`neuralcrn.compiler.compile_autonomous`: a chemical clock, the gated
two-phase step and a chemical wash, all reactions always on. Training is one continuous
simulation of that network; the only outside action is a dose of each sample's x and y at the
start of every clock period (a lab protocol: a pump adding a fixed volume of the next sample at
fixed times). The autonomous :class:`~neuralcrn.compiler.StepProgram` (one "phase" = one clock
period with every reaction on, loads = doses, no wash) runs through the same compiled epoch and
chemical forward pass as host-clocked training (:class:`~neuralcrn.training.CompiledEpoch`:
a ``lax.scan`` of dose-to-dose solves over the samples); ``method="auto"`` is the explicit
Tsit5 here (:meth:`AutonomousSetup.phase_methods`). Loss and parameters are only *read* from
the species: ŷ from the output monitor at the end of each period, the parameters after each
epoch.

Clock drift: the clock is never reset; :func:`clock_drift` measures, from a state at a dose
time, how far the clock's phase has moved from the dose phase it had at the start.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax.numpy as jnp
import numpy as np

from ..compiler import (AUTONOMOUS_METHOD, AutonomousCircuit, ClockOptions, autonomous_program, compile_autonomous,
                        load_sample)
from ..errors import SpecError
from ..ideal.spec import ModelSpec, Params
from ..kinetics import DEFAULT_METHOD
from ._chemical import ChemicalSetup, Probe, _phased

__all__ = ["AutonomousSetup", "autonomous_setup", "clock_drift", "clock_options",
           "check_autonomous_config", "autonomous_trace", "AUTONOMOUS_SCHEDULE",
           "AUTONOMOUS_METHOD"]

AUTONOMOUS_SCHEDULE = "autonomous"


@dataclass(frozen=True, eq=False)
class AutonomousSetup(ChemicalSetup):
    """A :class:`ChemicalSetup` of an autonomous circuit (``schedule`` ``"autonomous"``); the
    epoch and the chemical predictor run the whole network for one clock period per sample."""

    autonomous: AutonomousCircuit | None = field(default=None)

    def initial_state(self, params: Params) -> np.ndarray:
        """``(S,)``: ``params`` in their rails, the clock at the dose phase, the idle units."""
        p = Params(*(np.asarray(v, dtype=float) for v in params))
        return np.asarray(self.autonomous.with_params(p).network.initial, dtype=float)

    def phase_methods(self, method: str = DEFAULT_METHOD) -> tuple[str, ...]:
        """``method``, or for ``"auto"`` the explicit ``"tsit5"``: the clocked network's fastest
        rates (kill/recruit kM = σ/τ, annihilation) stay within an explicit method's stability
        at the accuracy the clock's phase needs, and a Rosenbrock method cannot solve it exactly
        (its clock and its feedback loop W ↔ e couple species outside the dual-rail pairs in
        cycles: only the W-method or dense LU apply). Measured on linear regression, 40 doses
        (docs/autonomous.md): tsit5 33–50 ms per period with a clock drift of 2e-5, kvaerno5
        1.9 s, rodas5-dense 0.17 s, ros34pw2 (W-method) 0.07 s but a drift of −0.09 (the
        doses would miss their windows within 250 periods)."""
        return (AUTONOMOUS_METHOD if method == DEFAULT_METHOD else method,)

    def config_extras(self) -> dict:
        """``config.json`` entries: the clock's measured timing (``clock_timing``)."""
        t = self.autonomous.timing
        return {"clock_timing": {"options": self.autonomous.options.to_dict(),
                          "period": t.period, "windows": list(t.windows),
                          "dose_offset": t.dose_offset, "t_eff": t.t_eff,
                          "drive_factor": self.autonomous.drive_factor,
                          "latch_spread": t.latch_spread, "measured": t.measurement}}

    def clock_report(self, result) -> dict:
        """``metrics.json`` entry ``clock``: periods run, the period and the drift of the clock's
        phase after the last dose (:func:`clock_drift`, replicate 0)."""
        N = result.dataset.split("train")[0].shape[0]
        periods = N * (result.epochs - (result.resumed_at[-1] if result.resumed_at else 0))
        drift = clock_drift(self, np.asarray(result.final_state)[0])
        return {"period": self.autonomous.period, "periods_run": int(periods),
                "species": len(self.autonomous.clock.species) + len(self.autonomous.species.gates),
                "drift_after_last_period": drift,
                "dose_window_slack": self.dose_slack()}

    def dose_slack(self) -> dict:
        """How far the clock may drift against the doses before a dose misses its period:
        ``earlier`` (a dose may come up to this much before its nominal time: back to the end of
        the previous forward window's load) and ``later`` (up to the next load)."""
        t = self.autonomous.timing
        later = t.period - t.dose_offset              # the next forward window starts
        earlier = t.dose_offset - t.windows[0]         # back to the end of the last one
        return {"earlier": float(earlier), "later": float(later)}

    def write_plots(self, result, folder) -> None:
        """``clock.png`` (the clock's signals and gate species over two periods) and
        ``cycles.png`` (three periods of the main species at the start of training)."""
        from pathlib import Path
        from .. import plots
        folder = Path(folder)
        X, Y = result.dataset.split("train")
        state0 = self.initial_state(result.param_history[0][0])
        times, states = autonomous_trace(self, state0, X[:3], Y[:3])
        ac = self.autonomous
        sp = list(self.circuit.species)
        col = lambda name: states[:, sp.index(name)]  # noqa: E731
        plots.plot_clock(times, {p: col(ac.clock.signal(p)) for p in ac.clock.phases},
                         {p: col(ac.clock.gate(p)) for p in ("feedforward", "latch",
                                                              "feedback", "wash")},
                         folder / "clock.png", period=ac.period,
                         title=f"{result.config.task}: chemical clock (period "
                               f"{ac.period:.4g})")
        plots.plot_cycles(times, trace_series(self, states), folder / "cycles.png",
                          period=ac.period, clock={p: col(ac.clock.signal(p))
                                                   for p in ac.clock.phases},
                          title=f"{result.config.task}: the first three doses")


def clock_options(options) -> ClockOptions:
    """:class:`ClockOptions` from ``None``, a dict of its fields or itself (SpecError else)."""
    if options is None:
        return ClockOptions()
    if isinstance(options, ClockOptions):
        return options
    if not isinstance(options, dict):
        raise SpecError(f"clock_options must be a dict, got {options!r}")
    names = set(ClockOptions().to_dict())
    unknown = set(options) - names
    if unknown:
        raise SpecError(f"unknown clock option(s) {sorted(unknown)}; options are "
                        f"{sorted(names)}")
    return ClockOptions(**options)


def check_autonomous_config(config) -> None:
    """Refuse configurations the chemical clock cannot run (SpecError naming the option)."""
    if config.mode != "chemical":
        raise SpecError("--clock chemical runs the chemistry: it needs --mode chemical")
    if config.minimal:
        raise SpecError("--clock chemical compiles its own circuit; it cannot be combined with "
                        "--minimal")
    if config.schedule != "two-phase":
        raise SpecError("--clock chemical runs the two-phase step (feedforward | feedback, "
                        "first-order gradient); --schedule modular cannot be combined with it")
    clock_options(config.clock_options)


def autonomous_setup(spec: ModelSpec, options=None) -> AutonomousSetup:
    """Compile the autonomous circuit of ``spec`` and its program and probes (ŷ = the monitor,
    read at the end of each period). ``options``: :class:`ClockOptions`, a dict of its fields or
    ``None``."""
    ac = compile_autonomous(spec, None, clock_options(options))
    program = autonomous_program(ac)
    from ._chemical import _param_matrix
    probe = Probe(jnp.asarray(ac.readout_matrix()), jnp.asarray(0, dtype=jnp.int32),
                  jnp.asarray(_param_matrix(ac.circuit)))
    return AutonomousSetup(spec, AUTONOMOUS_SCHEDULE, ac.circuit, program, probe,
                           _phased(program), autonomous=ac)


# ------------------------------------------------------------------ measurements
def clock_drift(setup: AutonomousSetup, state) -> dict:
    """How far the clock of ``state`` (a state at a dose time) is from the dose phase.

    The clock species of ``state`` are compared with the measured limit cycle
    (:attr:`~neuralcrn.compiler.ClockTiming.cycle`): the nearest point of the cycle gives the
    phase shift δ (time units; δ > 0: the clock is ahead of the doses) and the distance from
    the cycle ``off_cycle`` (relative to the cycle state's size). Returns ``{"phase_shift": δ,
    "phase_shift_fraction": δ/period, "off_cycle": …}``.
    """
    ac = setup.autonomous
    t, cyc = ac.timing.cycle
    t, cyc = np.asarray(t), np.asarray(cyc)
    c = np.asarray(state, dtype=float)[:cyc.shape[1]]
    dist = np.linalg.norm(cyc - c, axis=1)
    k = int(np.argmin(dist))
    # refine on the segment to the better neighbour
    j = k + 1 if dist[(k + 1) % len(t)] < dist[k - 1] else k - 1
    a, b = cyc[k], cyc[j % len(t)]
    seg = b - a
    w = float(np.clip((c - a) @ seg / (seg @ seg), 0.0, 1.0)) if seg @ seg > 0 else 0.0
    tj = t[j % len(t)] + (ac.period if j >= len(t) else 0.0) - (ac.period if j < 0 else 0.0)
    delta = (1 - w) * t[k] + w * tj
    delta = (delta + 0.5 * ac.period) % ac.period - 0.5 * ac.period
    off = float(np.linalg.norm(c - (a + w * seg)) / np.linalg.norm(a))
    return {"phase_shift": float(delta), "phase_shift_fraction": float(delta / ac.period),
            "off_cycle": off}


def autonomous_trace(setup: AutonomousSetup, state, X, Y, *, points_per_period: int = 1000,
                     method: str = "tsit5", rtol: float = 1e-8, atol: float = 1e-10):
    """A few periods of the pot, recorded densely: ``(times (P,), states (P, S))`` from
    ``state`` with the doses X[i], Y[i] at the start of period i (for plots)."""
    from ..kinetics import solve
    ac, program = setup.autonomous, setup.program
    ts = np.linspace(0.0, ac.period, points_per_period + 1)[1:]
    times, states = [np.zeros(1)], [np.asarray(state, dtype=float)[None]]
    s = jnp.asarray(state, jnp.float64)
    for i, (x, y) in enumerate(zip(X, Y)):
        s = load_sample(program, s, x, y)
        sol = solve(program.structure, program.rate_constants[0], s, jnp.asarray(ts),
                    method=method, rtol=rtol, atol=atol, max_steps=2_000_000)
        ys = np.asarray(sol.ys)
        times.append(i * ac.period + ts)
        states.append(ys)
        s = jnp.asarray(ys[-1])
    return np.concatenate(times), np.concatenate(states)


def trace_series(setup: AutonomousSetup, states) -> dict:
    """Signed values of the main species along a trace ``(P, S)``: the first input (storage,
    active, latched), the first hidden unit (z, latched zf, pulse zp), the output monitor ŷ,
    the error E, the first adjoint and the first trained parameters."""
    ac = setup.autonomous
    sp = list(setup.circuit.species)
    st = np.asarray(states)
    val = lambda rail: st[:, sp.index(rail.plus)] - st[:, sp.index(rail.minus)]  # noqa: E731
    a, smap = ac.species, ac.species.smap
    out = {"x1 dose (xs1)": val(a.xs[0]), "x1 active": val(smap.x[0]),
           "x1 latched (xf1)": val(a.xf[0]), "z1": val(smap.z[0]),
           "z1 latched (zf1)": val(a.zf[0]), "z1 pulse (zp1)": val(a.zp[0]),
           "yhat1 (monitor)": val(smap.yhat[0]), "e1": val(smap.e[0]),
           "a1 (adjoint)": val(smap.adj[0])}
    th = next(r for row in smap.theta for r in row if r is not None)
    out[f"{th.name}"] = val(th)
    if ac.spec.train_W:
        out[smap.W[0][0].name] = val(smap.W[0][0])
    return out
