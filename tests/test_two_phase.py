"""The two-phase schedule (SPEC §4): one step of chemistry = one first-order SGD step.

Tolerances (stated in docs/training.md): the feedback phase is exact in the integrals, so the
linear model matches the ideal step to rounding (1e-9 here); the
nonlinear models carry the forward pass's 1/k_ann error (default k_ann = 1e4) and the readout's
1/k_r² error.
"""

import jax
import numpy as np
import pytest

from neuralcrn.compiler import (SCHEDULES, chemical_gradient, compile_circuit, compile_two_phase,
                                load_sample, run_step, step_program, two_phase_program,
                                two_phase_rates, two_phase_step)
from neuralcrn.errors import SpecError
from neuralcrn.ideal import (ChemistryRates, ModelSpec, init_params, params_relative_error,
                             predict, sgd_step)

FAMILIES = {
    "linear-diagonal": (dict(inputs=2, augment_count=1, augment_value=1.0, theta="diagonal",
                             nonlinearity="none", T=0.5), 1e-9),
    "linear-full-bias": (dict(inputs=2, drive="bias", hidden=3, z0="zero", nonlinearity="none",
                              T=0.8), 1e-9),
    "quadratic": (dict(inputs=2, augment_count=1, augment_value=0.2, nonlinearity="quadratic",
                       alpha=0.15, T=0.4), 5e-4),
    "cubic": (dict(inputs=2, augment_count=1, augment_value=-0.5, nonlinearity="cubic",
                   alpha=1.0, T=0.9), 2e-3),
    "quadratic-2-outputs": (dict(inputs=2, outputs=2, drive="bias", hidden=4, z0="zero",
                                 nonlinearity="quadratic", alpha=0.5, T=1.0), 5e-4),
}


def _spec(name, **kw):
    f, tol = FAMILIES[name]
    return ModelSpec(**f, gradient="first-order", learning_rate=0.3, **kw), tol


def _delta(a, p):
    return tuple(np.asarray(u) - np.asarray(v) for u, v in zip(a, p))


@pytest.mark.parametrize("name", list(FAMILIES))
def test_two_phase_step_is_a_first_order_sgd_step(name):
    spec, tol = _spec(name)
    p = init_params(spec, 3, h_scale=0.5, readout="random")
    circuit = compile_two_phase(spec, p)
    assert circuit.module_names == ("feedforward", "feedback")
    assert circuit.max_molecularity <= (3 if spec.nonlinearity == "cubic" else 2)
    assert circuit.module("feedback").max_molecularity == 2
    rng = np.random.default_rng(1)
    x, y = rng.uniform(-1, 1, 2), rng.normal(size=spec.outputs)
    r = two_phase_step(circuit, x, y)
    q = sgd_step(spec, p, x, y)
    # the update itself (θ_after − θ_before) agrees with the ideal first-order update
    assert params_relative_error(_delta(r.params_after, p), _delta(q, p)) < tol
    assert np.max(np.abs(r.yhat - np.asarray(predict(spec, p, x)))) < 10 * tol
    assert r.residual < 1e-5          # what the wash removes (E, A not yet decayed)
    assert params_relative_error(r.params_before, p) == 0.0


@pytest.mark.parametrize("train_h,train_W", [(False, True), (True, False), (False, False)])
def test_frozen_parameters_stay_put(train_h, train_W):
    spec, tol = _spec("linear-full-bias", train_h=train_h, train_W=train_W)
    p = init_params(spec, 4, h_scale=0.5, readout="random")
    r = two_phase_step(compile_two_phase(spec, p), [0.4, -0.7], [0.3])
    q = sgd_step(spec, p, [0.4, -0.7], [0.3])
    assert params_relative_error(_delta(r.params_after, p), _delta(q, p)) < 1e-9
    if not train_h:
        np.testing.assert_array_equal(r.params_after.h, np.asarray(p.h))
    if not train_W:
        np.testing.assert_array_equal(r.params_after.W, np.asarray(p.W))


def test_chained_steps_under_scan_match_chained_sgd_steps():
    """An epoch as one lax.scan of run_step over samples: parameters carried only by species."""
    spec, _ = _spec("linear-full-bias")
    p = init_params(spec, 5, h_scale=0.5, readout="random")
    circuit = compile_two_phase(spec, p)
    prog = step_program(circuit, "two-phase")
    rng = np.random.default_rng(2)
    X, Y = rng.uniform(-1, 1, (6, 2)), rng.normal(size=(6, 1))

    def body(s, xy):
        return run_step(prog, s, xy[0], xy[1])[-1], None

    final, _ = jax.jit(lambda s: jax.lax.scan(body, s, (X, Y)))(np.asarray(circuit.network.initial))
    q = p
    for x, y in zip(X, Y):
        q = sgd_step(spec, q, x, y)
    got = circuit.species_map.read(dict(zip(circuit.species, np.asarray(final))), None)
    from neuralcrn.ideal import Params
    assert params_relative_error(Params(got["theta"], got["h"], got["W"]), q) < 1e-9


def test_program_from_a_modular_circuit_and_washing():
    spec, _ = _spec("quadratic")
    p = init_params(spec, 1)
    prog = step_program(compile_circuit(spec, p), "two-phase")
    prog2 = two_phase_program(compile_two_phase(spec, p))
    np.testing.assert_array_equal(np.asarray(prog.rate_constants), np.asarray(prog2.rate_constants))
    assert SCHEDULES["two-phase"] == (("feedforward",), ("feedback",))
    tp = compile_two_phase(spec, p)
    dirty = np.asarray(tp.network.initial) + 0.25          # every species non-zero
    s = np.asarray(load_sample(prog2, dirty, [0.1, 0.2], [1.0]))
    idx = {n: i for i, n in enumerate(tp.species)}
    assert s[idx["e1_p"]] == 0 and s[idx["adj1_m"]] == 0 and s[idx["ylag1_p"]] == 0
    assert s[idx["theta_1_1_p"]] == dirty[idx["theta_1_1_p"]]     # parameters are kept
    assert s[idx["x2_p"]] == pytest.approx(0.2) and s[idx["z3_p"]] == pytest.approx(0.2)


def test_rates_and_errors():
    spec, _ = _spec("quadratic")
    r = two_phase_rates(spec)
    assert r["k_r"] == pytest.approx(max(spec.rates.readout, 40 / spec.T))
    assert r["T_feedback"] == pytest.approx(20 / spec.rates.update)
    with pytest.raises(SpecError, match="first-order"):
        compile_two_phase(spec.replace(gradient="exact"))
    with pytest.raises(SpecError, match="schedule"):
        chemical_gradient(compile_circuit(spec), [0.1, 0.2], [0.0], schedule="two-phase")
    with pytest.raises(SpecError):
        two_phase_step(compile_circuit(spec), [0.1, 0.2], [0.0])
    slow = spec.replace(rates=ChemistryRates(readout=10.0))
    assert two_phase_rates(slow)["k_r"] == pytest.approx(40 / spec.T)
