"""The routed update (``rates.sign_routing``, docs/robustness.md) on the other backends: its
training-step protocol exported to SBML and replayed by libroadrunner, one or two steps with the
exact SSA and tau-leaping at a large volume Ω against the ODE, and the imperfections (rate-constant
error, leak, incomplete wash) composed with it."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from neuralcrn.chemistry import Reaction
from neuralcrn.chemistry.sbml import to_sbml_switched
from neuralcrn.compiler import (LEAK_REFERENCE, Imperfections, protocol_network, rate_factors,
                                two_phase_rates)
from neuralcrn.ideal import (ChemistryRates, ModelSpec, init_params, params_relative_error,
                             sgd_step)
from neuralcrn.training._chemical import chemical_setup, imperfect_setup
from replay_helpers import compare, phase_states, replay, step_states

SPEC = ModelSpec(inputs=2, outputs=1, drive="bias", hidden=3, z0="zero", nonlinearity="quadratic",
                 alpha=0.5, T=0.5, gradient="first-order", learning_rate=0.3,
                 rates=ChemistryRates(signal_annihilation=1e3, sign_routing=1e4))
IMPERFECT = Imperfections(rate_noise=0.2, leak=0.02, wash_residual=0.1, seed=3)
X = np.array([[0.6, -0.9], [-1.2, 0.4], [0.9, 1.1]])
Y = np.array([[0.7], [-0.4], [0.2]])


def _setup(imp=Imperfections()):
    return imperfect_setup(chemical_setup(SPEC), imp)


def _params():
    return init_params(SPEC, 3, readout="random")


def _delta(a, p):
    return tuple(np.asarray(u) - np.asarray(v) for u, v in zip(a, p))


# ------------------------------------------------------------------ libroadrunner
@pytest.mark.parametrize("imp", [Imperfections(), IMPERFECT], ids=["perfect", "imperfect"])
def test_routed_protocol_replays_in_roadrunner(imp):
    """Three steps of the routed circuit (three phases, routing rate 1e4, annihilation 1e3/1e4),
    exported with the protocol's SBML events and run by libroadrunner (CVODE), agree with our
    ODE to 1e-6 (parameter rails) and 1e-7 (signed parameters, relative to the largest); the
    imperfect instance (σ = 0.2, λ = 0.02, w = 0.1) too. The perfect replay's first step is the
    first-order SGD step (to 5e-4, the cascades' tails), so roadrunner confirms the routed
    step's mathematics independently."""
    setup = _setup(imp)
    p = _params()
    s0 = setup.initial_state(p)
    xml = to_sbml_switched(protocol_network(setup.circuit, setup.program, X, Y, s0))
    # one event per phase switch or load (3 phases × 3 steps: 2 loads, 6 switches, the end)
    assert xml.count("<event ") == 3 * len(X)
    theirs = replay(xml, setup, len(X))
    ours = step_states(setup.program, s0, X, Y)
    rails, signed = compare(setup, ours, theirs)
    assert rails < 1e-6 and signed < 1e-7, (rails, signed)
    first = setup.read_params(theirs[0])
    ideal = sgd_step(SPEC, p, X[0], Y[0])
    err = params_relative_error(_delta(first, p), _delta(ideal, p))
    if imp.perfect:
        assert err < 5e-4
    else:           # the imperfections are in the exported model: a different step
        assert err > 1e-2
    # W moved (the routed ΔW reached W in roadrunner too)
    assert np.max(np.abs(np.asarray(first.W) - np.asarray(p.W))) > 1e-2


# ------------------------------------------------------------------ exact SSA and tau-leaping
@pytest.mark.parametrize("kinetics, omega, imp", [
    ("ssa", 1e4, Imperfections()),
    ("tau-leap", 1e4, Imperfections()),
    ("ssa", 1e4, IMPERFECT),
], ids=["ssa", "tau-leap", "ssa-imperfect"])
def test_stochastic_routed_steps_average_to_the_ode(kinetics, omega, imp):
    """Two routed training steps on molecule counts at Ω = 1e4 (K = 16 noise streams, the same
    samples and rounded start): the mean parameter change of every parameter lies within 4.5
    standard errors of the ODE's, and the standard error is small enough (≤ 3 % of |Δθ|) to
    resolve a routing fault (a ΔW left unrouted, a wrong sign). Imperfect: the binomial
    incomplete wash and the leaks of the routed productions on counts average to the ODE's
    imperfect step, which differs from the perfect one by many standard errors."""
    from neuralcrn.training._stochastic import StochasticEpoch, stochastic_protocol
    K, steps = 16, 2
    setup = _setup(imp)
    start = np.rint(setup.initial_state(_params()) * omega) / omega
    pm = np.asarray(setup.probe.params)
    d_ode = pm @ (step_states(setup.program, start, X[:steps], Y[:steps])[-1] - start)
    ep = StochasticEpoch(setup, stochastic_protocol(setup, omega), kinetics, range(K))
    state = np.broadcast_to(start, (K, start.size))
    out, _ = ep(setup, state, np.broadcast_to(X[:steps], (K, steps, 2)),
                np.broadcast_to(Y[:steps], (K, steps, 1)))
    d = (np.asarray(out) - state) @ pm.T
    mean, se = d.mean(axis=0), d.std(axis=0, ddof=1) / np.sqrt(K)
    assert np.all(se > 0)
    z = (mean - d_ode) / se
    assert np.max(np.abs(z)) < 4.5, z
    assert np.linalg.norm(se) < 0.03 * np.linalg.norm(d_ode)
    if not imp.perfect:
        perfect = _setup()
        d_perfect = pm @ (step_states(perfect.program, start, X[:steps], Y[:steps])[-1] - start)
        assert np.linalg.norm(d_perfect - d_ode) > 10 * np.linalg.norm(se)


# ------------------------------------------------------------------ composition
def test_imperfections_reach_the_routed_reactions():
    """Leaks exist for the routed catalytic productions (ΔW's one product reaction per weight and
    the readout's O + L production), at λ·k·c_ref and only in their own phase; the routing
    transfers have none, so no leak changes W, its adjoint copy D or the routed H directly; the
    incomplete wash leaves the fraction w of every new transient species; the rate-constant
    draw multiplies the routed reactions like every other."""
    lam, w = 0.02, 0.1
    perfect = _setup()
    setup = _setup(Imperfections(leak=lam, wash_residual=w))
    c = setup.circuit
    assert c.module_names == ("feedforward", "error", "update")
    K = np.asarray(setup.program.rate_constants)
    rates = two_phase_rates(SPEC)
    eta, r, kr = SPEC.learning_rate, rates["r"], rates["k_r"]

    def column(reaction):
        [j] = [j for j, rx in enumerate(c.network.reactions)
               if (rx.reactants, rx.products) == (reaction.reactants, reaction.products)]
        return K[:, j]

    k_dw = eta * r / rates["F2"]
    for leak, k, phase in [
        (Reaction(["zmag1"], ["zmag1", "gWmag_1_1"], 1.0), k_dw, 2),       # Ē absent
        (Reaction(["eclock1"], ["eclock1", "gWmag_1_2"], 1.0), k_dw, 2),   # Z̄_2 absent
        (Reaction(["z2_p"], ["z2_p", "yhat1_m", "ycorr1_m"], 1.0), kr, 0),  # W_1_2_m absent
        (Reaction(["W_1_2_m"], ["W_1_2_m", "yhat1_m", "ycorr1_m"], 1.0), kr, 0),  # z2_p absent
    ]:
        col = column(leak)
        expect = np.zeros(3)
        expect[phase] = lam * LEAK_REFERENCE * k
        # identical leaks of one module are summed: ΔW's product leaks are one per (Ē, Z̄_i)
        np.testing.assert_allclose(col, expect, rtol=1e-9)
    assert c.network.n_reactions > perfect.circuit.network.n_reactions
    made = {s for (name, (a, b)), (_, (a0, b0)) in zip(c.ranges, perfect.circuit.ranges)
            for rx in c.network.reactions[a + (b0 - a0):b]
            for s, n in rx.net_change().items() if n > 0}
    smap = c.species_map
    w_rails = {s for row in smap.W for rail in row for s in rail.species}
    assert w_rails and not (made & w_rails)
    assert not any(s.startswith("dW_") or s.startswith("gW_") for s in made)
    # the incomplete wash: every routed transient species keeps w, the parameters stay
    keep = dict(zip(c.species, np.asarray(setup.program.keep)))
    routed = [s for s in c.species if s.startswith(("esign", "eclock", "gW", "zmag", "zsign",
                                                    "ycorr", "dW_"))]
    assert len(routed) == 2 + 1 + 2 * 3 + 3 + 3 + 2 * 3 + 2 + 2 * 3 + 1 + 3 + 3  # + leak shadows
    assert all(keep[s] == pytest.approx(w) for s in routed)
    assert all(keep[s] == 1.0 for s in w_rails)
    # rate noise: each routed reaction (routing transfers included) gets its own factor
    noisy = _setup(Imperfections(rate_noise=0.2, seed=5))
    f = rate_factors(perfect.circuit.network.n_reactions, Imperfections(rate_noise=0.2, seed=5))
    np.testing.assert_allclose(np.asarray(noisy.program.rate_constants),
                               np.asarray(perfect.program.rate_constants) * f[None, :])


@pytest.mark.slow
def test_routed_imperfect_run_records_and_exports(tmp_path):
    """``neuralcrn train`` with ``--sign-routing`` and all three imperfections: config.json
    records them (and the imperfect reaction count), circuit.crn holds the routed leaks, and
    ``neuralcrn protocol`` exports the routed imperfect protocol, which libroadrunner replays
    like our chemistry (the whole path: config → setup → imperfections → SBML)."""
    from click.testing import CliRunner

    from neuralcrn.cli import main
    from replay_helpers import ours
    run = tmp_path / "run"
    res = CliRunner().invoke(main, [
        "train", "xor", "--hidden", "2", "--epochs", "1", "--sign-routing", "1e4",
        "--signal-annihilation", "1000", "--rate-noise", "0.2", "--leak", "0.02",
        "--wash-residual", "0.1", "--imperfection-seed", "4", "--no-chemical-eval", "-q",
        "--out", str(run)])
    assert res.exit_code == 0, res.output
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["spec"]["rates"]["sign_routing"] == 1e4
    assert (cfg["rate_noise"], cfg["leak"], cfg["wash_residual"], cfg["imperfection_seed"]) == \
        (0.2, 0.02, 0.1, 4)
    crn = (run / "circuit.crn").read_text()
    assert "zmag1 ->{0.04" in crn and "gWmag_1_1 + zmag1" in crn
    assert "a fraction 0.1 of each washed species stays" in crn
    sbml = tmp_path / "p.xml"
    res = CliRunner().invoke(main, ["protocol", str(run), "--steps", "3", "--format", "sbml",
                                    "--out", str(sbml)])
    assert res.exit_code == 0, res.output
    setup, mine = ours(run, 3)
    assert cfg["imperfections"]["reactions"] == setup.circuit.network.n_reactions
    rails, signed = compare(setup, mine, replay(sbml.read_text(), setup, 3))
    assert rails < 1e-6 and signed < 1e-7, (rails, signed)


def test_leak_shadows_cancel_the_routed_update_leak():
    """ΔW's product reaction Ē + Z̄_i → Ē + Z̄_i + H̄_i of the routed update has unsigned
    catalysts: alone, its leaks (Z̄_i → Z̄_i + H̄_i for the whole update phase, Ē → Ē + H̄_i) would
    be routed with the signs of e and z_i and move W_i by −λ·k·sign(e)·(z_i·T_update +
    sign(z_i)·|e|/r) per step, which nothing cancels (docs/robustness.md, "Leak and wash with the
    routed update"). Its leak shadows (compiler/_two_phase.py) make the same leaks with the
    opposite sign: at λ = 0.01 the routed circuit's leak moves W exactly as the direct circuit's
    (whose leaks come in rail pairs; the remainder is the forward pass's and the adjoint's) and by
    < 5 % of that one-sided term; in the perfect circuit the shadows stay at zero."""
    lam = 0.01
    rates = two_phase_rates(SPEC)
    k, r, t_up = SPEC.learning_rate * rates["r"] / rates["F2"], rates["r"], rates["T_update"]
    p = _params()
    leaks = {}
    for routing in (SPEC.rates.sign_routing, 0.0):
        spec = SPEC.replace(rates=dataclasses.replace(SPEC.rates, sign_routing=routing))
        base = chemical_setup(spec)
        leaky = imperfect_setup(base, Imperfections(leak=lam))
        s0 = base.initial_state(p)
        M = np.asarray(base.probe.readout)
        shadows = [i for i, name in enumerate(base.circuit.species) if "shadow" in name]
        assert len(shadows) == (1 + 2 * 3 if routing else 0)      # Ē′, Z̄′_i, H̄′_i (m = 1, n = 3)
        for n_sample, (x, y) in enumerate(zip(X[:2], Y[:2])):
            perfect = phase_states(base.program, s0, x, y)
            for state in perfect:
                assert np.all(state[shadows] == 0.0)
            e = (M @ perfect[0] - y)[0]
            z = np.array([perfect[0][base.circuit.species.index(rl.plus)]
                          - perfect[0][base.circuit.species.index(rl.minus)]
                          for rl in base.circuit.species_map.z])
            leak = np.asarray(leaky.read_params(phase_states(leaky.program, s0, x, y)[-1]).W
                              - base.read_params(perfect[-1]).W)[0]
            one_sided = -lam * k * np.sign(e) * (z * t_up + np.sign(z) * abs(e) / r)
            assert np.linalg.norm(leak) < 0.05 * np.linalg.norm(one_sided)
            leaks[routing, n_sample] = leak
    for n_sample in range(2):
        np.testing.assert_allclose(leaks[SPEC.rates.sign_routing, n_sample], leaks[0.0, n_sample],
                                   rtol=0, atol=1e-7)
