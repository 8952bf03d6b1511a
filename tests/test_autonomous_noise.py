"""The autonomous network on molecule counts: doses through the stochastic protocol kernels and
the clock's survival under noise (training._autonomous_noise)."""

from __future__ import annotations

import numpy as np
import pytest

from neuralcrn.compiler import ClockOptions
from neuralcrn.errors import SpecError
from neuralcrn.kinetics._protocol_kernels import TAU_LEAP, run_steps
from neuralcrn.tasks import get_task
from neuralcrn.training import TrainConfig
from neuralcrn.training._autonomous import autonomous_setup
from neuralcrn.training._autonomous_noise import clock_survival
from neuralcrn.training._stochastic import stochastic_protocol

ENTRAINED = dict(pacemaker=0.2, hold=3.0, dose_at=1 / 3)


@pytest.fixture(scope="module")
def lr_entrained():
    spec = get_task("linear-regression").model_spec
    return spec, autonomous_setup(spec, ENTRAINED)


def test_the_stochastic_protocol_adds_the_doses_and_the_pacemaker(lr_entrained):
    spec, setup = lr_entrained
    omega = 1000.0
    p = stochastic_protocol(setup, omega)
    assert p.extra_counts.tolist() == [200.0]          # round(Ω·b) pacemaker molecules
    assert setup.circuit.species[p.load_index[-1]] == "pace"
    X, Y = np.array([[0.5, -1.25]]), np.array([[2.0]])
    loads = p.load_counts(X, Y)
    state = np.rint(setup.initial_state(get_task("linear-regression").init_params(0, spec=spec))
                    * omega)
    state[p.load_index] += 7.0                                   # left-overs stay: a dose adds
    before = state.copy()
    losses, events = np.zeros(1), np.zeros((1, 1), dtype=np.int64)
    rc = run_steps(TAU_LEAP, p.net, np.zeros(1), p.keep, p.load_index, loads, state, p.readout,
                   0, Y, 0, 0.03, 0.0, 0.0, 10, losses, events, np.zeros(3))
    assert rc == 0 and np.all(p.keep == 1.0)                     # no wash in the autonomous protocol
    expect = before.copy()
    expect[p.load_index] += loads[0]
    np.testing.assert_array_equal(state, expect)
    sp = setup.circuit.species
    assert state[sp.index("xs1_p")] - before[sp.index("xs1_p")] == 500
    assert state[sp.index("xs2_m")] - before[sp.index("xs2_m")] == 1250


def test_stochastic_kinetics_combine_with_the_chemical_clock():
    cfg = TrainConfig(task="linear-regression", clock="chemical", kinetics="tau-leap",
                      volume=1e3, clock_options=ENTRAINED)
    assert cfg.kinetics == "tau-leap" and cfg.clock_options["pacemaker"] == 0.2


@pytest.mark.slow
def test_the_entrained_clock_keeps_time_where_the_free_clock_is_lost(lr_entrained):
    """Exact SSA at Ω = 1e3: the free-running clock's phase diffuses (window-start offsets with
    sd ≈ 0.3 time units) until a dose lands in the wrong window (period 11 with this seed); the
    pacemaker resets the phase every period (sd ≈ 0.04). Seeded: reproducible."""
    spec, _ = lr_entrained
    free = clock_survival(spec, ClockOptions(), 1e3, 15, method="direct")
    ent = clock_survival(spec, ClockOptions(**ENTRAINED), 1e3, 15, method="direct")
    assert free["lost_at"] is not None and free["survived"] < 15
    assert ent["lost_at"] is None and ent["survived"] == 15
    assert ent["offset_sd"] < 0.5 * free["offset_sd"]
    assert ent["offset_sd"] < ent["slack"]["earlier"]


def test_clock_survival_refuses_bad_input():
    spec = get_task("linear-regression").model_spec
    with pytest.raises(SpecError, match="periods"):
        clock_survival(spec, ClockOptions(), 1e3, 0)
