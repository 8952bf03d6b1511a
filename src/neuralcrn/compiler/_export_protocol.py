"""A sequence of training steps as one timed model: :func:`protocol_network` (SPEC §4).

Built from the :class:`StepProgram` — the one description of a step — and the samples of the
steps, never from the modules directly:

* **switches**: reactions whose rate constants follow the same pattern over the phases
  (``program.rate_constants[:, r] / k_r``) share one switch; for both schedules that is one switch
  per phase (``on_feedforward``, ``on_feedback``, …). Reaction r's law is
  ``k_r · switch · Π[X]^ν``, and in phase p every switch holds its pattern's value (0 or 1).
* **time**: step s starts at s·T_step (T_step = Σ durations); phase p at s·T_step + Σ_{q<p}
  durations[q]; the protocol ends at steps·T_step, where an event switches every reaction off
  (the pot then keeps the trained state).
* **autonomous protocols** (``program.dose``: :func:`~neuralcrn.compiler.autonomous_program`):
  no switches at all; the only events are the doses, one per step, adding x and y to their
  storage species.
* **host actions**: the state at time 0 is the initial state after loading the first sample
  (:func:`~neuralcrn.compiler.load_sample`); at the start of every later step an event sets every
  washed species (``program.keep == 0``) to its loaded value — 0, or x, y, z(0) in their rails —
  and switches to the first phase; kept species (parameters, constant drive) are never assigned.
  After an incomplete wash (0 < keep < 1, :class:`~neuralcrn.compiler.Imperfections`) the event
  sets such a species to keep·[X] + its loaded value.
"""

from __future__ import annotations

import numpy as np

from ..chemistry.switched import SwitchedNetwork, TimedEvent
from ..errors import DataError
from ._modules import NeuralCRN
from ._protocol import StepProgram, load_sample
from ._schedule import phase_labels

__all__ = ["protocol_network", "switch_patterns"]


def switch_patterns(circuit: NeuralCRN, program: StepProgram):
    """``(names, reaction_switch (R,), values (P, G), base (R,))``: the distinct activity patterns
    of the reactions over the phases (``values[p, g]`` = switch g in phase p), each reaction's
    pattern index and its rate constant k_r = max over phases (the network's own)."""
    K = np.asarray(program.rate_constants, dtype=float)
    base = K.max(axis=0)
    base = np.where(base > 0, base, circuit.network.rate_constants)
    pattern = np.divide(K, base, out=np.zeros_like(K), where=base > 0)
    keys, reaction_switch = [], []
    for r in range(K.shape[1]):
        key = tuple(pattern[:, r])
        if key not in keys:
            keys.append(key)
        reaction_switch.append(keys.index(key))
    phases = phase_labels(circuit, program)
    names = []
    for g, key in enumerate(keys):
        on = [p for p, v in enumerate(key) if v != 0]
        if all(v == 1.0 for v in key):
            names.append("on_always")
        elif len(on) == 1 and key[on[0]] == 1.0:
            names.append(f"on_{phases[on[0]]}")
        else:
            names.append(f"switch{g + 1}")
    taken = set(circuit.species)
    names = [n + "_" * (n in taken) for n in names]
    return names, np.asarray(reaction_switch), np.asarray(keys, dtype=float).T, base


def protocol_network(circuit: NeuralCRN, program: StepProgram, X, Y, initial_state, *,
                     name: str = "training_protocol", notes: str = "") -> SwitchedNetwork:
    """The training steps on the samples ``X`` ``(N, d)``, ``Y`` ``(N, m)`` (step s loads X[s],
    Y[s]) from ``initial_state`` ``(S,)``, as one :class:`~neuralcrn.chemistry.SwitchedNetwork`
    (see the module docstring); export it with ``to_sbml_switched`` / ``to_antimony_switched``.

    Raises :class:`DataError` for no steps, mismatched shapes or a non-finite value.
    """
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float)
    state = np.asarray(initial_state, dtype=float)
    S = circuit.network.n_species
    if X.ndim != 2 or Y.ndim != 2 or X.shape[0] != Y.shape[0] or X.shape[0] < 1:
        raise DataError(f"need one or more steps of X (N, d) and Y (N, m); got {X.shape}, "
                        f"{Y.shape}")
    if state.shape != (S,) or not np.all(np.isfinite(state)):
        raise DataError(f"the initial state must be {S} finite concentrations")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(Y))):
        raise DataError("the samples must be finite")
    if program.dose is not None:
        return _dose_network(circuit, program, X, Y, state, name, notes)
    names, rsw, values, base = switch_patterns(circuit, program)
    dur = np.asarray(program.durations, dtype=float)
    starts = np.concatenate([[0.0], np.cumsum(dur)[:-1]])
    T_step = float(dur.sum())
    keep = np.asarray(program.keep, dtype=float)
    wash = np.flatnonzero(keep == 0.0)
    partial = np.flatnonzero((keep > 0.0) & (keep < 1.0))   # an incomplete wash
    species = circuit.species

    def switches(p):
        return tuple((n, float(values[p, g])) for g, n in enumerate(names))

    loaded0 = np.asarray(load_sample(program, state, X[0], Y[0]))
    events = []
    for s in range(X.shape[0]):
        t0 = s * T_step
        if s > 0:
            loaded = np.asarray(load_sample(program, np.zeros(S), X[s], Y[s]))
            events.append(TimedEvent(t0, tuple((species[i], float(loaded[i])) for i in wash)
                                     + switches(0),
                                     rescaled=tuple((species[i], float(keep[i]),
                                                     float(loaded[i])) for i in partial)))
        for p in range(1, len(dur)):
            events.append(TimedEvent(t0 + float(starts[p]), switches(p)))
    end = X.shape[0] * T_step
    events.append(TimedEvent(end, tuple((n, 0.0) for n in names)))
    net = circuit.network.with_rate_constants(base).with_initial(np.maximum(loaded0, 0.0))
    net = type(net)(net.reactions, net.species, net.initial, net.constant, name)
    return SwitchedNetwork(net, tuple(names), tuple(float(v) for v in values[0]),
                           tuple(int(g) for g in rsw), tuple(events), end, notes)


def _dose_network(circuit, program, X, Y, state, name, notes) -> SwitchedNetwork:
    """An autonomous protocol (``program.dose``): the network runs unswitched; the state at
    time 0 is ``state`` with the first dose added, and at the start of every later step
    (s·T_step) one event adds that step's dose (x and y into their storage rails; zero amounts
    are left out). No reaction is switched and nothing is washed or set."""
    S = circuit.network.n_species
    T_step = float(np.asarray(program.durations, dtype=float).sum())
    species = circuit.species
    zero = np.zeros(S)
    events = []
    for s in range(1, X.shape[0]):
        dose = np.asarray(load_sample(program, zero, X[s], Y[s]))
        adds = tuple((species[i], float(dose[i])) for i in np.flatnonzero(dose > 0))
        events.append(TimedEvent(s * T_step, (), adds))
    first = np.asarray(load_sample(program, state, X[0], Y[0]))
    net = circuit.network.with_initial(np.maximum(first, 0.0))
    net = type(net)(net.reactions, net.species, net.initial, net.constant, name)
    return SwitchedNetwork(net, (), (), (), tuple(events), X.shape[0] * T_step, notes)
