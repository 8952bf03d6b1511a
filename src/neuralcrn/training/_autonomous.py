"""Autonomous training (``neuralcrn train TASK --clock chemical``): one network, its own clock.

The circuit is :func:`neuralcrn.compiler.compile_autonomous`: a chemical clock, the gated
two-phase step and a chemical wash, all reactions always on. Training is one continuous
simulation of that network; the only outside action is a dose of each sample's x and y at the
start of every clock period (a lab protocol: a pump adding a fixed volume of the next sample at
fixed times). The dose-to-dose segments are integrated with :func:`neuralcrn.kinetics.solve_final`
(through :func:`neuralcrn.compiler.run_step` and the autonomous
:class:`~neuralcrn.compiler.StepProgram`: one "phase" = one period, loads = doses) inside one
``lax.scan`` over the samples of an epoch, with the ODE method passed through (``--method``,
e.g. an implicit solver for the stiff clock). Loss and parameters are only *read* from the
species: ŷ from the output monitor at the end of each period, the parameters after each epoch.

Clock drift: the clock is never reset; :func:`clock_drift` measures, from a state at a dose
time, how far the clock's phase has moved from the dose phase it had at the start.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from ..compiler import (AutonomousCircuit, ClockOptions, autonomous_program, compile_autonomous,
                        load_sample, run_step)
from ..errors import SpecError
from ..ideal.spec import ModelSpec, Params
from ._chemical import ChemicalSetup, Probe, SolverSettings, _phased, _shape_key, padded_chunks

__all__ = ["AutonomousSetup", "autonomous_setup", "clock_drift", "AutonomousEpoch",
           "clock_options", "check_autonomous_config",
           "AutonomousPredictor", "autonomous_trace", "AUTONOMOUS_SCHEDULE"]

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

    def compile_epoch(self, n_samples: int, replicates: int | None, solver: SolverSettings):
        return AutonomousEpoch(self, n_samples, replicates, solver)

    def compile_predictor(self, solver: SolverSettings):
        return AutonomousPredictor(self, solver)

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
    if getattr(config, "kinetics", "ode") != "ode":
        raise SpecError(f"--clock chemical trains with the ODE; --kinetics {config.kinetics} "
                        f"cannot be combined with it yet")
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


# ------------------------------------------------------------------ the compiled epoch
def _period(program, state, x, y, method, rtol, atol, max_steps):
    """One dose and one clock period from ``state`` (NaN in, NaN out without solving)."""
    def run(s):
        return run_step(program, s, x, y, method=method, rtol=rtol, atol=atol,
                        max_steps=max_steps)[-1]
    return jax.lax.cond(jnp.all(jnp.isfinite(state)), run, lambda s: jnp.full_like(s, jnp.nan),
                        state)


def _epoch(program, probe, state, X, Y, method, rtol, atol, max_steps):
    def pot(s0, Xk, Yk):
        def body(s, xy):
            x, y = xy
            s1 = _period(program, s, x, y, method, rtol, atol, max_steps)
            e = probe.readout @ s1 - y
            return s1, 0.5 * jnp.sum(e * e)
        return jax.lax.scan(body, s0, (Xk, Yk))

    return jax.vmap(pot)(state, X, Y)


_STATIC = ("method", "rtol", "atol", "max_steps")
_epoch_jit = jax.jit(_epoch, static_argnames=_STATIC)


def _kwargs(setup: AutonomousSetup, solver: SolverSettings) -> dict:
    """Static solver arguments; ``"auto"`` resolved here on the concrete network (inside the
    jitted epoch the structure is traced and ``"auto"`` would mean Rodas5, whose exact pair-block
    solves the clock's cyclic couplings refuse; the clock period is the program's one phase)."""
    method = setup.phase_methods(solver.method)[0]
    return {"method": method, "rtol": float(solver.rtol), "atol": float(solver.atol),
            "max_steps": int(solver.max_steps)}


class AutonomousEpoch:
    """An ahead-of-time compiled autonomous epoch: ``lax.scan`` over the samples of one dose and
    one clock period each (the K replicate pots ``vmap``-ed). Same interface as
    :class:`~neuralcrn.training.CompiledEpoch`: ``compiled(setup, state, X, Y) -> (state,
    losses)``; the loss of a sample is ½‖ŷ − y‖² with ŷ read from the monitor at the end of its
    period. Cached per shapes and solver settings."""

    _cache: dict = {}

    def __init__(self, setup: AutonomousSetup, n_samples: int, replicates: int | None,
                 solver: SolverSettings):
        S, d, m = setup.n_species, setup.spec.inputs, setup.spec.outputs
        K = 1 if replicates is None else int(replicates)
        self.batched = replicates is not None
        kw = _kwargs(setup, solver)
        key = (_shape_key(setup.program, setup.probe), S, d, m, n_samples, K, solver,
               kw["method"])
        hit = self._cache.get(key)
        if hit is not None:
            self.fn, self.compile_seconds = hit, 0.0
            return
        f64 = jnp.float64
        shapes = (jax.ShapeDtypeStruct((K, S), f64), jax.ShapeDtypeStruct((K, n_samples, d), f64),
                  jax.ShapeDtypeStruct((K, n_samples, m), f64))
        t0 = time.perf_counter()
        self.fn = _epoch_jit.lower(setup.program, setup.probe, *shapes, **kw).compile()
        self.compile_seconds = time.perf_counter() - t0
        self._cache[key] = self.fn

    def __call__(self, setup: AutonomousSetup, state, X, Y):
        state, X, Y = (jnp.asarray(a, jnp.float64) for a in (state, X, Y))
        if not self.batched:
            state, X, Y = state[None], X[None], Y[None]
        s, losses = self.fn(setup.program, setup.probe, state, X, Y)
        return (s, losses) if self.batched else (s[0], losses[0])


# ------------------------------------------------------------------ chemical forward
PREDICT_CHUNK = 256


def _predict(program, probe, state, X, method, rtol, atol, max_steps):
    Y0 = jnp.zeros((probe.readout.shape[0],), jnp.float64)
    run = lambda x: _period(program, state, x, Y0, method, rtol, atol, max_steps)  # noqa: E731
    return jax.vmap(run)(X) @ probe.readout.T


_predict_jit = jax.jit(_predict, static_argnames=_STATIC)


class AutonomousPredictor:
    """ŷ of the autonomous network's own forward pass: every point is a pot started from the
    trained state, dosed with x (and y = 0) and run for one clock period; ŷ is the monitor at
    its end (the feedback that follows changes nothing measured). Interface of
    :class:`~neuralcrn.training.CompiledPredictor`; compiled for :data:`PREDICT_CHUNK` points."""

    _cache: dict = {}

    def __init__(self, setup: AutonomousSetup, solver: SolverSettings):
        kw = _kwargs(setup, solver)
        key = (_shape_key(setup.program, setup.probe), setup.n_species, setup.spec.inputs,
               solver, kw["method"])
        hit = self._cache.get(key)
        if hit is not None:
            self.fn, self.compile_seconds = hit, 0.0
            return
        f64 = jnp.float64
        t0 = time.perf_counter()
        self.fn = _predict_jit.lower(
            setup.program, setup.probe, jax.ShapeDtypeStruct((setup.n_species,), f64),
            jax.ShapeDtypeStruct((PREDICT_CHUNK, setup.spec.inputs), f64), **kw).compile()
        self.compile_seconds = time.perf_counter() - t0
        self._cache[key] = self.fn

    def __call__(self, setup: AutonomousSetup, state, X) -> np.ndarray:
        out = []
        for chunk, n in padded_chunks(X, PREDICT_CHUNK):
            out.append(np.asarray(self.fn(setup.program, setup.probe,
                                          jnp.asarray(state, jnp.float64),
                                          jnp.asarray(chunk)))[:n])
        return np.concatenate(out) if out else np.zeros((0, setup.spec.outputs))


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
