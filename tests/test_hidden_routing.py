"""The routed hidden update (``rates.adjoint_routing``, docs/robustness.md): with the routed
update, a fourth phase ``hidden_update`` moves the settled adjoint A into its magnitude Ā and a
router copy, makes ΔΘ_jl and Δh_j from |a_j| (and u_l) by one reaction each and moves them into
Θ and h with a_j's sign by run-to-completion transfers."""

from __future__ import annotations

import numpy as np
import pytest

from neuralcrn.compiler import (ROUTED_HIDDEN_MODULES, Imperfections, compile_two_phase,
                                imperfect_program, run_step, two_phase_program, two_phase_rates,
                                two_phase_step)
from neuralcrn.compiler._two_phase import readout_matrix
from neuralcrn.errors import SpecError
from neuralcrn.ideal import ChemistryRates, ModelSpec, init_params, params_relative_error, sgd_step
from neuralcrn.training._chemical import chemical_setup, imperfect_setup
from replay_helpers import phase_states

K = 1e4


def _spec(adjoint=K, **kw):
    base = dict(inputs=2, outputs=1, drive="bias", hidden=3, z0="zero", nonlinearity="quadratic",
                alpha=0.5, T=0.5, gradient="first-order", learning_rate=0.3)
    base.update(kw)
    return ModelSpec(**base, rates=ChemistryRates(sign_routing=K, adjoint_routing=adjoint,
                                                  signal_annihilation=1e3))


def _delta(a, p):
    return tuple(np.asarray(u) - np.asarray(v) for u, v in zip(a, p))


@pytest.mark.parametrize("name,kw,tol", [
    ("linear", dict(nonlinearity="none", alpha=0.0), 5e-8),
    ("quadratic", {}, 5e-4),
    ("quadratic-2-outputs", dict(outputs=2, hidden=4), 5e-4),
])
def test_hidden_routed_step_is_the_sgd_step_and_the_direct_circuits(name, kw, tol):
    spec = _spec(**kw)
    p = init_params(spec, 3, readout="random")
    circuit = compile_two_phase(spec, p)
    assert circuit.module_names == ROUTED_HIDDEN_MODULES
    assert circuit.max_molecularity <= 2
    assert circuit.duration("hidden_update") == pytest.approx(20.0 / two_phase_rates(spec)["r"])
    x, y = np.array([0.6, -0.9]), np.linspace(-0.5, 0.8, spec.outputs)
    r = two_phase_step(circuit, x, y)
    q = sgd_step(spec, p, x, y)
    assert params_relative_error(_delta(r.params_after, p), _delta(q, p)) < tol
    direct = two_phase_step(compile_two_phase(spec.replace(rates=ChemistryRates()), p), x, y)
    for a, b in zip(_delta(r.params_after, p), _delta(direct.params_after, p)):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-12)
    # Θ and h do not move before the hidden_update phase; it leaves no gradient and no A behind
    idx = {s: i for i, s in enumerate(circuit.species)}
    smap = circuit.species_map
    up = r.phase_states["update"]
    for row, row0 in zip(smap.theta, np.asarray(p.theta)):
        for rail, t0 in zip(row, row0):
            if rail is not None:
                assert up[idx[rail.plus]] - up[idx[rail.minus]] == pytest.approx(t0, abs=1e-12)
    end = r.phase_states["hidden_update"]
    left = [s for s in circuit.species if s.startswith(("gTheta", "gHmag", "aclock", "adj"))]
    assert len(left) > 3 * spec.n and max(end[idx[s]] for s in left) < 1e-7   # the F2 tail
    shadows = [idx[s] for s in circuit.species if "shadow" in s]
    for state in r.phase_states.values():
        assert np.all(state[shadows] == 0.0)


def test_hidden_update_reactions_and_errors():
    spec = _spec()
    c = compile_two_phase(spec)
    rates = two_phase_rates(spec)
    kappa = spec.learning_rate * spec.T * rates["r"] / rates["F2"]
    hu = c.module("hidden_update").reactions
    from neuralcrn.chemistry import Reaction
    assert Reaction(["adj2_m"], ["aclock2", "asign2_m"], rates["r"]) in hu
    assert Reaction(["aclock2"], [], rates["r"]) in hu
    # ΔΘ_23: one product per sign of u_3 (the bias u3 is a single species: one reaction)
    assert Reaction(["aclock2", "u3"], ["aclock2", "u3", "gTheta_2_3_p"], kappa) in hu
    assert Reaction(["aclock2", "x1_m"], ["aclock2", "x1_m", "gTheta_2_1_m"], kappa) in hu
    assert Reaction(["gTheta_2_1_p", "asign2_m"], ["asign2_m", "theta_2_1_p"], K) in hu
    assert Reaction(["gHmag_2", "asign2_p"], ["asign2_p", "h2_m"], K) in hu
    # the update phase no longer decays A or changes Θ, h; its adjoint is routed by e's sign
    up = c.module("update").reactions
    assert Reaction(["eclock1", "W_1_2_m"], ["eclock1", "W_1_2_m", "adjpart_1_2_m"],
                    rates["r"] / rates["F2"]) in up
    assert Reaction(["eclock1", "dW_1_2_p"], ["eclock1", "dW_1_2_p", "adjpart_1_2_m"],
                    rates["r"] / rates["F2"]) in up
    assert Reaction(["adjpart_1_2_m", "esign1_p"], ["esign1_p", "adj2_m"], K) in up
    assert Reaction(["adjpartshadow_1_2_m", "esign1_p"], ["esign1_p", "adj2_p"], K) in up
    assert not any(("e1_p" in rx.species or "e1_m" in rx.species) and
                   any(s.startswith("adj") for s in rx.species) for rx in up)
    assert Reaction(["adj1_p"], [], rates["r"]) not in up
    assert not any(s.startswith(("theta", "h")) for rx in up for s, n in rx.net_change().items()
                   if n > 0)
    with pytest.raises(SpecError, match="sign_routing"):
        ChemistryRates(adjoint_routing=K)
    with pytest.raises(SpecError, match="adjoint_routing"):
        ChemistryRates(sign_routing=K, adjoint_routing=-1.0)
    assert compile_two_phase(_spec(adjoint=0.0)).module_names == ("feedforward", "error",
                                                                   "update")


def _theta_gains(spec, imp, xs, dys):
    """ΔΘ_jl / (−η T a_j u_l) keyed by (j, l, sign u_l, sign a_j), rate errors in ``imp`` — the forward
    pass, e and a = W(0)ᵀe read from the circuit's own perfect phases."""
    p = init_params(spec, 1, readout="random")
    nominal = compile_two_phase(spec, p)
    c, prog = imperfect_program(nominal, two_phase_program(nominal), imp)
    M = readout_matrix(c)
    smap, idx = c.species_map, {s: i for i, s in enumerate(c.species)}
    val = lambda st, rail: st[idx[rail.plus]] - st[idx[rail.minus]]  # noqa: E731
    s0 = np.asarray(c.network.initial)
    W = np.asarray(p.W)
    out = {}
    for x in xs:
        yhat = M @ np.asarray(run_step(prog, s0, x, [0.0], rtol=1e-9, atol=1e-11))[0]
        u = np.concatenate([x, [1.0]])
        for dy in dys:
            st = np.asarray(run_step(prog, s0, x, yhat + dy, rtol=1e-9, atol=1e-11))
            e = M @ st[0] - yhat - dy
            a = W.T @ e
            for j in [j for j in range(spec.n) if abs(a[j]) > 0.05]:   # routing completes
                for l_ in range(3):
                    d = val(st[-1], smap.theta[j][l_]) - val(s0, smap.theta[j][l_])
                    out.setdefault((j, l_, np.sign(u[l_]), np.sign(a[j])), []).append(
                        d / (-spec.learning_rate * spec.T * a[j] * u[l_]))
    return out


@pytest.mark.slow
def test_rate_errors_no_longer_give_the_signs_of_the_adjoint_different_gains():
    """With rate errors in the phase that updates Θ only (``rate_noise_modules``: the forward
    pass, e and a stay exact), the routed update without the hidden routing applies ΔΘ_jl with
    a gain that depends on the sign of a_j (A^± + U → Θ^∓ are different reactions, and so are
    A^±'s decays); with it, one gain per entry and sign of u_l (the drive's rails stay catalysts:
    a gain per input sign reweights samples, harmless in the emulation), whatever a_j's sign
    (|a_j| > 0.05: where k·|a_j|·T_phase ≫ 1, so the routing has completed)."""
    xs = [np.array([a, b]) for a in (-1.5, 1.5) for b in (-1.2, 1.3)]
    spread = {}
    for adjoint, module in ((0.0, ("update",)), (K, ("hidden_update",)),
                            ("adjoint", ("update", "hidden_update"))):
        spec = _spec(adjoint=K if adjoint == "adjoint" else adjoint, alpha=2.0)
        imp = Imperfections(rate_noise=0.2, seed=3, rate_noise_modules=module)
        g = _theta_gains(spec, imp, xs, (-0.5, 0.5))
        pairs = [(np.mean(g[(j, l_, su, 1.0)]), np.mean(g[(j, l_, su, -1.0)]))
                 for (j, l_, su, sa) in g if sa == 1.0 and (j, l_, su, -1.0) in g]
        assert len(pairs) >= 3
        spread[adjoint] = max(abs(a - b) for a, b in pairs)
    assert spread[0.0] > 0.3         # the sign of a changes an entry's gain (measured 0.78)
    assert spread[K] < 2e-3          # routed: it does not
    # with the adjoint's errors too (Ē + W^s → Ă^s routed by e's sign: a gain per rail of W,
    # none per sign of e) only D's correction of W's change keeps a small trace (measured 0.045)
    assert spread["adjoint"] < 0.2 * spread[0.0]


def test_leak_shadows_cancel_the_hidden_update_leak():
    """The hidden update's products Ā_j + U_l → Ḡ_jl and Ā_j → Ā_j + Ḡh_j have an unsigned
    catalyst Ā_j, so their leaks would be routed with a_j's sign and move Θ and h one-sidedly
    (≈ 20 λ η T u_l sign(a_j) per step); their shadows cancel them: at λ = 0.01 the circuit's
    leak moves Θ and h no more than the direct circuit's does, and by < 2 % of that term."""
    lam = 0.01
    p = init_params(_spec(), 3, readout="random")
    moved = {}
    for adjoint in (K, None):
        spec = _spec() if adjoint else _spec().replace(rates=ChemistryRates())
        base = chemical_setup(spec)
        leaky = imperfect_setup(base, Imperfections(leak=lam))
        s0 = base.initial_state(p)
        x, y = np.array([0.6, -0.9]), np.array([0.7])
        after = leaky.read_params(phase_states(leaky.program, s0, x, y)[-1])
        clean = base.read_params(phase_states(base.program, s0, x, y)[-1])
        moved[adjoint] = (np.asarray(after.theta) - np.asarray(clean.theta),
                          np.asarray(after.h) - np.asarray(clean.h),
                          np.asarray(clean.theta) - np.asarray(p.theta))
    step = np.abs(moved[None][2]).max()
    one_sided = 20 * lam * _spec().learning_rate * _spec().T
    assert step > 1e-3 and one_sided > 0.01
    for a, b in zip(moved[K][:2], moved[None][:2]):
        # no larger than the direct circuit's leak anywhere (measured: equal on the input
        # columns; on the bias column the direct circuit's A^± → A^± + Θ^∓ leaks (U absent)
        # add λ·κ·a, which the shadow Ā + U′ cancels here), and far below the one-sided term
        assert np.all(np.abs(a) <= np.abs(b) + 1e-6)
        assert np.abs(a).max() < 0.02 * one_sided
    np.testing.assert_allclose(moved[K][0][:, :2], moved[None][0][:, :2], rtol=0, atol=1e-6)


def test_study_point_and_cli_carry_the_option(tmp_path):
    import json

    from click.testing import CliRunner

    from neuralcrn.cli import main
    from neuralcrn.studies import StudyPoint
    pt = StudyPoint("xor", rate_noise=0.2, sign_routing=K, adjoint_routing=K)
    assert pt.key.endswith("|g10000|t10000")
    assert StudyPoint("xor", sign_routing=K).key.endswith("|g10000")
    with pytest.raises(SpecError, match="sign_routing"):
        StudyPoint("xor", adjoint_routing=K)
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["train", "xor", "--mode", "ideal", "--epochs", "0",
                                    "--hidden", "2", "--sign-routing", "1e4",
                                    "--adjoint-routing", "1e4", "-q", "--out", str(out)])
    assert res.exit_code == 0, res.output
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["spec"]["rates"]["adjoint_routing"] == 1e4
    crn = (out / "circuit.crn").read_text()
    assert "phase 4 hidden_update" in crn
    assert "aclock1 + u3 ->" in crn
    res = CliRunner().invoke(main, ["train", "xor", "--adjoint-routing", "1e4", "--out",
                                    str(tmp_path / "bad")])
    assert res.exit_code != 0 and "sign_routing" in res.output and "Traceback" not in res.output
