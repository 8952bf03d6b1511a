"""Shared by the protocol-export tests: our chemistry step by step, and libroadrunner's replay of
an exported protocol."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from neuralcrn.chemistry import read_text
from neuralcrn.compiler import run_step
from neuralcrn.tasks import get_task
from neuralcrn.training import read_config, step_samples
from neuralcrn.training._loop import setup_for

TIGHT = dict(rtol=1e-10, atol=1e-12)
_STEP = jax.jit(run_step, static_argnames=("method", "rtol", "atol", "max_steps"))


def ours(run, steps):
    """Our chemistry, step by step at tight tolerances: the parameter rails after every step."""
    config = read_config(run)
    task = get_task(config.task)
    setup = setup_for(config, config.spec)
    X, Y = step_samples(task.make_data(config.seed), config.seed, steps)
    state = np.asarray(read_text(run / "circuit.crn").initial)
    return setup, step_states(setup.program, state, X, Y)


def step_states(program, state, X, Y):
    """``(N, S)``: our chemistry's state at the end of each of the N steps of ``program`` on the
    samples ``X`` ``(N, d)``, ``Y`` ``(N, m)`` from ``state`` ``(S,)`` (tight tolerances)."""
    out = []
    for x, y in zip(X, Y):
        state = phase_states(program, state, x, y)[-1]
        out.append(state)
    return np.array(out)


def phase_states(program, state, x, y):
    """``(P, S)``: the state at the end of each phase of one step (jitted, tight tolerances)."""
    return np.asarray(_STEP(program, state, x, y, max_steps=1_000_000, **TIGHT))


def replay_periods(sbml: str, species, period: float, steps: int, max_steps: int):
    """libroadrunner (CVODE, rtol 1e-10, atol 1e-13) on an exported model: the concentrations of
    ``species`` (in that order) at the end of each of ``steps`` periods of length ``period``."""
    roadrunner = pytest.importorskip("roadrunner")
    rr = roadrunner.RoadRunner(sbml)
    rr.integrator.relative_tolerance = 1e-10
    rr.integrator.absolute_tolerance = 1e-13
    rr.integrator.maximum_num_steps = max_steps
    ids = list(rr.model.getFloatingSpeciesIds())
    order = [ids.index(s) for s in species]
    out = []
    for s in range(steps):
        rr.simulate(s * period, (s + 1) * period, 2)
        out.append(np.asarray(rr.model.getFloatingSpeciesConcentrations())[order])
    return np.array(out)


def replay(sbml: str, setup, steps):
    """libroadrunner (CVODE) on the exported model: the state after every step."""
    T = float(np.asarray(setup.program.durations).sum())
    return replay_periods(sbml, setup.circuit.species, T, steps, 1_000_000)


def compare(setup, ours, theirs):
    """Largest relative difference of the parameter species (rails) and of the signed
    parameters after any step."""
    idx = [setup.circuit.species.index(s) for s in setup.circuit.species_map.parameter_species]
    a, b = theirs[:, idx], ours[:, idx]
    rails = np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12 * np.max(np.abs(b))))
    M = np.asarray(setup.probe.params)
    pa, pb = theirs @ M.T, ours @ M.T
    signed = np.max(np.abs(pa - pb)) / np.max(np.abs(pb))
    return float(rails), float(signed)
