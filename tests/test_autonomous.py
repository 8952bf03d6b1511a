"""The autonomous Neural CRN (compiler._autonomous): one network, a chemical clock, one dose per
period. Checked against the host-clocked two-phase step and the overlap model derived from the
clock's measured gate profiles."""

import dataclasses

import jax.numpy as jnp
import numpy as np
import pytest

from neuralcrn.compiler import (AUTONOMOUS_PHASES, ClockOptions, autonomous_program,
                                autonomous_step, compile_autonomous, compile_two_phase,
                                load_sample, two_phase_step)
from neuralcrn.compiler._autonomous import overlap_forward
from neuralcrn.errors import SpecError
from neuralcrn.ideal.spec import ChemistryRates, ModelSpec, Params
from neuralcrn.tasks import get_task

QUAD = ModelSpec(inputs=2, outputs=2, drive="bias", hidden=4, z0="zero", theta="full",
                 train_h=True, train_W=True, nonlinearity="quadratic", alpha=1.0, T=0.5,
                 gradient="first-order", learning_rate=0.1,
                 rates=ChemistryRates(annihilation=1e4))


def _params(spec, seed):
    rng = np.random.default_rng(seed)
    return Params(rng.normal(size=spec.theta_shape), 0.5 * rng.normal(size=spec.n),
                  rng.normal(size=(spec.outputs, spec.n)))


def _flat(p, q):
    return np.concatenate([np.ravel(np.asarray(a) - np.asarray(b)) for a, b in zip(p, q)])


@pytest.fixture(scope="module")
def quad():
    p = _params(QUAD, 3)
    return compile_autonomous(QUAD, p), p


def test_the_whole_network_is_uni_and_bimolecular(quad):
    ac, _ = quad
    net = ac.network
    assert net.max_molecularity == 2
    assert ac.circuit.module_names == ("clock", "feedforward", "latch", "feedback", "wash")
    for phase in AUTONOMOUS_PHASES:
        assert ac.clock.signal(phase) in net.species
    # every transfer a gate catalyses is K + A -> K + ...: bimolecular with the gate species
    gates = set(ac.species.gates)
    gated = [r for r in net.reactions if gates & {s for s, _ in r.reactants}
             and r.is_catalyst(next(iter(gates & {s for s, _ in r.reactants})))]
    assert len(gated) > 20 and all(r.molecularity == 2 for r in gated)
    assert ac.timing.latched == pytest.approx(1.0, abs=1e-9)   # every latch finished in time


def test_doses_are_added_to_the_storage_species(quad):
    ac, _ = quad
    prog = autonomous_program(ac)
    sp = ac.circuit.species
    s = np.asarray(ac.network.initial, dtype=float).copy()
    s[sp.index("xs1_p")] = 0.25
    out = np.asarray(load_sample(prog, jnp.asarray(s), [0.5, -0.75], [1.0, -2.0]))
    assert out[sp.index("xs1_p")] == 0.75 and out[sp.index("xs2_m")] == 0.75
    assert out[sp.index("ys1_p")] == 1.0 and out[sp.index("ys2_m")] == 2.0
    assert out[sp.index("xs1_m")] == 0.0
    others = [i for i, n in enumerate(sp) if not n.startswith(("xs", "ys"))]
    np.testing.assert_array_equal(out[others], s[others])    # nothing washed, nothing set


def test_linear_model_autonomous_step_equals_the_host_step():
    task = get_task("linear-regression")
    spec = task.model_spec
    p = task.init_params(0, spec=spec)
    p = Params(np.diag([0.5, 1.5, 0.8]), np.asarray(p.h), np.asarray(p.W))
    ac = compile_autonomous(spec, p)
    tp = compile_two_phase(spec, p)
    x, y = np.array([2.0, 3.5]), np.array([9.0])
    r = autonomous_step(ac, x, y)
    h = two_phase_step(tp, x, y)
    # linear: the latch times average to T, so the forward pass is exact (overlap_forward agrees)
    np.testing.assert_allclose(r.zf, h.zT, rtol=1e-8)
    np.testing.assert_allclose(overlap_forward(ac, p, x), overlap_forward(ac, p, x, step=True),
                               rtol=1e-10)
    np.testing.assert_allclose(r.yhat, h.yhat, rtol=1e-8)
    upd_a, upd_h = _flat(r.params_after, p), _flat(h.params_after, p)
    assert np.linalg.norm(upd_a - upd_h) < 1e-6 * np.linalg.norm(upd_h)


def test_auto_method_is_resolved_on_the_concrete_network():
    """method="auto" must not reach the jitted step as "auto": there the structure is traced and
    the only guess is the pair-block Rodas5, which cannot solve the autonomous network's cyclic
    links (regression: it gave NaN rows and a 'failed to integrate' error)."""
    from neuralcrn.compiler import AUTONOMOUS_METHOD
    from neuralcrn.compiler._protocol import run_checked_step
    from neuralcrn.kinetics import choose_method, compile_network

    task = get_task("linear-regression")
    spec = task.model_spec
    ac = compile_autonomous(spec, task.init_params(0, spec=spec))
    x, y = np.array([2.0, 3.5]), np.array([9.0])
    kw = dict(rtol=1e-9, atol=1e-11)
    r_auto = autonomous_step(ac, x, y, method="auto", **kw)
    r_ref = autonomous_step(ac, x, y, method=AUTONOMOUS_METHOD, **kw)
    np.testing.assert_array_equal(r_auto.final_state, r_ref.final_state)
    # the generic path resolves "auto" by structure: a dense or W-method solve, never rodas5,
    # and it agrees with the explicit reference
    net = ac.network
    assert choose_method(compile_network(net).structure(), net.n_species) != "rodas5"
    _, states = run_checked_step(ac.circuit, autonomous_program(ac), None, x, y, ["period"],
                                 method="auto", rtol=1e-9, atol=1e-11, max_steps=2_000_000)
    assert np.all(np.isfinite(states))
    np.testing.assert_allclose(states[-1], r_ref.final_state, rtol=1e-5, atol=1e-7)


def test_feedback_is_exact_given_the_chemistry_own_forward_pass(quad):
    """ΔW = −η e zfᵀ, ΔΘ = −ηT(W₀ᵀe)ufᵀ, Δh = −ηT W₀ᵀe with the chemistry's own ŷ, zf, uf: the
    gating adds nothing to the feedback (its inputs are frozen before the cascades start)."""
    ac, p = quad
    spec = ac.spec
    x, y = np.array([0.6, -0.9]), np.array([0.3, -0.4])
    r = autonomous_step(ac, x, y)
    eta, T = spec.learning_rate, spec.T
    a = np.asarray(p.W).T @ r.e
    expect = Params(np.asarray(p.theta) - eta * T * np.outer(a, r.uf),
                    np.asarray(p.h) - eta * T * a, np.asarray(p.W) - eta * np.outer(r.e, r.zf))
    np.testing.assert_allclose(r.uf, spec.drive_vector(x), rtol=1e-9)
    d_exp, d_got = _flat(expect, p), _flat(r.params_after, p)
    assert np.linalg.norm(d_got - d_exp) < 1e-6 * np.linalg.norm(d_exp)
    np.testing.assert_allclose(r.yhat, np.asarray(p.W) @ r.zf, rtol=1e-8)


def test_forward_deviation_from_the_host_step_is_the_predicted_overlap_error(quad):
    ac, p = quad
    x, y = np.array([0.6, -0.9]), np.array([0.3, -0.4])
    r = autonomous_step(ac, x, y)
    h = two_phase_step(compile_two_phase(QUAD, p), x, y)
    pred = overlap_forward(ac, p, x) - overlap_forward(ac, p, x, step=True)
    meas = r.zf - h.zT
    assert np.linalg.norm(pred) > 1e-5 * np.linalg.norm(h.zT)       # a real, resolved effect
    assert np.linalg.norm(meas - pred) < 0.3 * np.linalg.norm(pred)
    upd_a, upd_h = _flat(r.params_after, p), _flat(h.params_after, p)
    assert np.linalg.norm(upd_a - upd_h) < 1e-2 * np.linalg.norm(upd_h)


def test_bad_configurations_are_clear_errors():
    short = dataclasses.replace(QUAD, T=0.1)              # r·τ = 100·0.1 = 10 < 20
    with pytest.raises(SpecError, match="shorter than the feedback phase needs"):
        compile_autonomous(short)
    with pytest.raises(SpecError, match="gate strength"):
        ClockOptions(gate=5.0)
    with pytest.raises(SpecError, match="sharpness"):
        ClockOptions(sharpness=20.0)
    with pytest.raises(SpecError, match="dose_at"):
        ClockOptions(dose_at=1.0)
    with pytest.raises(SpecError, match="first-order"):
        compile_autonomous(dataclasses.replace(QUAD, gradient="exact"))
    with pytest.raises(SpecError, match="trimolecular"):
        compile_autonomous(dataclasses.replace(QUAD, nonlinearity="cubic"))
    with pytest.raises(SpecError, match="ClockOptions"):
        compile_autonomous(QUAD, options={"gate": 40})
