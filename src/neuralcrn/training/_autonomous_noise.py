"""The autonomous Neural CRN under molecular noise (SPEC §8): clock survival and learning.

Both studies simulate the network on molecule counts in volume Ω (``kinetics.simulate_ssa``:
exact SSA or tau-leaping), one dose interval at a time: at the start of every period the host
adds the sample's x and y (and the pacemaker, if any) as molecule counts round(Ω·value) — the
same doses as the ODE run — and the chemistry runs for one period.

* :func:`clock_survival`: the clock alone (its signals, blank, gate species and pacemaker),
  dosed on schedule. Every period the start of the feedforward window is located (the first time
  the feedforward signal overtakes the wash signal after the dose) and compared with where the
  ODE clock has it: the *phase offset*. The clock *survives* while every dose still lands where
  the protocol allows it (offset within the dose window's slack, phases in order).
* :func:`noisy_training`: online SGD of a task with the autonomous circuit on counts; the
  parameters are read from the counts (÷ Ω) after each epoch and evaluated with the ideal
  predictor (as the ODE training loop does).
"""

from __future__ import annotations

import time

import numpy as np

from ..compiler import ClockOptions, compile_autonomous, load_sample
from ..errors import SimulationError
from ..ideal.spec import ModelSpec

__all__ = ["clock_survival", "noisy_training"]


def _clock_part(ac):
    """Indices of the clock's species (signals, blank, gates, pacemaker) in the circuit."""
    sp = ac.circuit.species
    names = ac.clock.species + ac.species.gates + (("pace",) if "pace" in sp else ())
    return [sp.index(n) for n in names], names


def _ff_start(t, counts, ff, wash):
    d = counts[:, ff].astype(float) - counts[:, wash].astype(float)
    i = np.flatnonzero((d[:-1] < 0) & (d[1:] >= 0))
    return np.nan if i.size == 0 else float(t[i[0] + 1])


def clock_survival(spec: ModelSpec, options: ClockOptions, volume: float, periods: int, *,
                   seed: int = 0, method: str = "direct", points: int = 400,
                   tau: float | None = None) -> dict:
    """Run the clock (with its pacemaker doses, if ``options.pacemaker``) for ``periods`` dose
    intervals on counts in volume Ω = ``volume`` and report how long it keeps time.

    Returns ``{"volume", "periods", "survived": periods before the first lost dose (= periods
    if none), "lost_at": that period or None, "offset": (periods,) phase offset of each
    feedforward start against the ODE clock (time units), "offset_sd", "period_sd": sd of the
    time between successive feedforward starts, "slack": {"earlier", "later"}, "seconds"}``.
    A dose is *lost* when the feedforward window starts earlier or later than the slack allows
    (the dose would land in the wrong window) or not at all within the period.
    """
    from ..kinetics import simulate_ssa
    from ..chemistry import ReactionNetwork
    ac = compile_autonomous(spec, None, options)
    idx, names = _clock_part(ac)
    net = ac.circuit.network
    rx = [r for r in net.reactions if set(r.species) <= set(names)]
    clock_net = ReactionNetwork(rx, names)
    P, t = ac.period, ac.timing
    expected = P - t.dose_offset                    # ff start after the dose (ODE)
    later = t.dose_offset - t.windows[0]            # as AutonomousSetup.dose_slack
    earlier = P - t.dose_offset
    ff, wash = names.index(ac.clock.signal("feedforward")), names.index(ac.clock.signal("wash"))
    pace = names.index("pace") if "pace" in names else None
    b = int(round(options.pacemaker * options.mass * volume))
    counts = np.round(np.asarray(net.initial)[idx] * volume).astype(np.int64)
    offsets, lost_at = [], None
    t0 = time.perf_counter()
    for s in range(periods):
        if pace is not None:
            counts[pace] += b
        tr = simulate_ssa(clock_net, P, points + 1, volume=volume, x0_counts=counts,
                          seed=seed * 1_000_003 + s, method=method, tau=tau,
                          max_events=10 ** 10)
        c = tr.counts[0]
        start = _ff_start(tr.times, c, ff, wash)
        off = start - expected
        offsets.append(off)
        # the feedforward window must start after its dose (off > −earlier) and load before
        # the next dose (off < later)
        if lost_at is None and not (-earlier < off < later):
            lost_at = s
        counts = c[-1].copy()
    offsets = np.asarray(offsets)
    starts = np.arange(periods) * P + expected + offsets
    ok = np.isfinite(starts)
    return {"volume": float(volume), "periods": periods, "method": method,
            "survived": periods if lost_at is None else lost_at, "lost_at": lost_at,
            "offset": offsets, "offset_sd": float(np.nanstd(offsets)),
            "offset_final": float(offsets[-1]),
            "period_sd": float(np.std(np.diff(starts[ok]))) if ok.sum() > 2 else float("nan"),
            "slack": {"earlier": float(earlier), "later": float(later)},
            "dose_interval": float(P), "pacemaker": float(options.pacemaker),
            "seconds": time.perf_counter() - t0}


def noisy_training(task_name: str, options: ClockOptions, volume: float, *, epochs: int | None
                   = None, seed: int = 0, method: str = "tau-leap", epsilon: float = 0.03,
                   progress=None) -> dict:
    """Online SGD of ``task_name`` with its autonomous circuit on molecule counts.

    The doses are round(Ω·x), round(Ω·y) molecules of the storage rails (and the pacemaker);
    every period is one ``simulate_ssa`` call from the previous counts. After each epoch the
    parameters are read from the counts (÷ Ω) and evaluated on the training and validation sets
    with the ideal predictor. Returns ``{"volume", "epochs", "val_loss" (E+1,), "train_loss",
    "val_accuracy" or None, "params": final Params, "clock_offset": (epochs,) phase offset of
    the clock after each epoch (time units, :func:`clock_drift` on counts ÷ Ω), "seconds"}``.
    Raises SimulationError if a period runs out of events.
    """
    from ..kinetics import compile_network, simulate_ssa
    from ..tasks import epoch_order, get_task
    from ._autonomous import autonomous_setup, clock_drift
    from ._loop import evaluate_params

    task = get_task(task_name)
    spec = task.model_spec
    setup = autonomous_setup(spec, options)
    ac = setup.autonomous
    dataset = task.make_data(seed)
    X, Y = dataset.split("train")
    N = X.shape[0]
    E = task.epochs if epochs is None else int(epochs)
    params = task.init_params(seed, spec=spec)
    state = setup.initial_state(params)
    arrays = compile_network(ac.network)
    counts = np.round(state * volume).astype(np.int64)
    zero = np.zeros_like(state)
    hist_v, hist_t, hist_a, offs = [], [], [], []

    def evaluate(p):
        r = evaluate_params(spec, p, dataset, ("train", "val"))
        hist_t.append(r["train"]["loss"])
        hist_v.append(r["val"]["loss"])
        hist_a.append(r["val"]["accuracy"])

    evaluate(params)
    t0 = time.perf_counter()
    for e in range(E):
        order = epoch_order(seed, e, N)
        for k, i in enumerate(order):
            dose = np.asarray(load_sample(setup.program, zero, X[i], Y[i]))
            counts = counts + np.round(dose * volume).astype(np.int64)
            tr = simulate_ssa(arrays, ac.period, 2, volume=volume, x0_counts=counts,
                              seed=(seed * 1000 + e) * 100_003 + k, method=method,
                              epsilon=epsilon, max_events=10 ** 10)
            counts = tr.counts[0, -1]
        conc = counts / volume
        params = setup.read_params(conc)
        offs.append(clock_drift(setup, conc)["phase_shift"])
        evaluate(params)
        if progress is not None:
            progress(f"Ω={volume:g} epoch {e + 1}/{E}: val ½MSE {hist_v[-1]:.4g}")
    if not np.all(np.isfinite(counts)):          # pragma: no cover
        raise SimulationError("the stochastic run produced non-finite counts")
    acc = None if dataset.kind != "classification" else np.asarray(hist_a, dtype=float)
    return {"volume": float(volume), "epochs": E, "val_loss": np.asarray(hist_v),
            "train_loss": np.asarray(hist_t), "val_accuracy": acc, "params": params,
            "clock_offset": np.asarray(offs), "seconds": time.perf_counter() - t0,
            "method": method}
