"""The routed update (``rates.sign_routing``, docs/robustness.md "Design for
robustness"): the same first-order SGD step as the direct two-phase circuit, with the sign of
the error entering ΔW only through run-to-completion transfers, so that independent
rate-constant errors no longer give the two signs of e different gains."""

import dataclasses

import numpy as np
import pytest

from neuralcrn.chemistry import Reaction
from neuralcrn.chemistry.dualrail import DualRail, signed_transfer
from neuralcrn.compiler import (ROUTED_MODULES, Imperfections, compile_autonomous,
                                compile_circuit, compile_two_phase, imperfect_program, run_step,
                                two_phase_program, two_phase_rates, two_phase_step)
from neuralcrn.compiler._two_phase import readout_matrix, two_phase_species
from neuralcrn.errors import SpecError
from neuralcrn.ideal import ChemistryRates, ModelSpec, init_params, params_relative_error, sgd_step

K_ROUTE = 1e4


def _spec(routing=K_ROUTE, signal_annihilation=0.0, **kw):
    base = dict(inputs=2, outputs=1, drive="bias", hidden=3, z0="zero", nonlinearity="quadratic",
                alpha=0.5, T=0.5, gradient="first-order", learning_rate=0.3)
    base.update(kw)
    return ModelSpec(**base, rates=ChemistryRates(sign_routing=routing,
                                                  signal_annihilation=signal_annihilation))


def _delta(a, p):
    return tuple(np.asarray(u) - np.asarray(v) for u, v in zip(a, p))


def test_signed_transfer_motif():
    h, s, w = DualRail("h"), DualRail("s"), DualRail("w")
    rx = signed_transfer(h, s, [(w, -1)], 7.0)
    assert rx == [Reaction(["h_p", "s_p"], ["s_p", "w_m"], 7.0),
                  Reaction(["h_p", "s_m"], ["s_m", "w_p"], 7.0),
                  Reaction(["h_m", "s_p"], ["s_p", "w_p"], 7.0),
                  Reaction(["h_m", "s_m"], ["s_m", "w_m"], 7.0)]


@pytest.mark.parametrize("name,kw,tol", [
    ("linear", dict(nonlinearity="none", alpha=0.0), 5e-8),
    ("quadratic", {}, 5e-4),
    ("quadratic-2-outputs", dict(outputs=2, hidden=4), 5e-4),
])
def test_routed_step_is_the_first_order_sgd_step_and_the_direct_circuits(name, kw, tol):
    spec = _spec(**kw)
    p = init_params(spec, 3, readout="random")
    circuit = compile_two_phase(spec, p)
    assert circuit.module_names == ROUTED_MODULES
    assert circuit.max_molecularity <= 2
    rates = two_phase_rates(spec)
    assert circuit.duration("error") == circuit.duration("update") == \
        pytest.approx(20.0 / rates["r"])
    x, y = np.array([0.6, -0.9]), np.linspace(-0.5, 0.8, spec.outputs)
    r = two_phase_step(circuit, x, y)
    q = sgd_step(spec, p, x, y)
    assert params_relative_error(_delta(r.params_after, p), _delta(q, p)) < tol
    # … and the same step as the direct circuit (to ≤ 1e-7 relative: the cascades' F2/F3 tails
    # and the routing lag)
    direct = compile_two_phase(spec.replace(rates=ChemistryRates()), p)
    d = two_phase_step(direct, x, y)
    for a, b in zip(_delta(r.params_after, p), _delta(d.params_after, p)):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-13)
    # W does not move in the error phase; the update phase leaves no gradient behind
    idx = {s: i for i, s in enumerate(circuit.species)}
    fb = r.phase_states["error"]
    for row, row0 in zip(circuit.species_map.W, np.asarray(p.W)):
        for rail, w0 in zip(row, row0):
            assert fb[idx[rail.plus]] - fb[idx[rail.minus]] == pytest.approx(w0, abs=1e-12)
    end = r.phase_states["update"]
    assert r.residual < 1e-6
    gW = [h for row in two_phase_species(spec).routing.grad for h in row]
    assert max(end[idx[s]] for h in gW for s in h.species) < 1e-9


def test_routed_reactions_and_rates():
    spec = _spec()
    c = compile_two_phase(spec)
    rates = two_phase_rates(spec)
    r, eta, n = rates["r"], spec.learning_rate, spec.n
    mod = c.module("update").reactions
    routing = [rx for rx in mod if rx.rate_constant == K_ROUTE]
    # H_i^t + S^s → …, H̄_i + R_i^t → R_i^t + H_i^t, and the leak shadow's H̄′_i + R_i^t → R_i^t + H_i^{−t}
    assert len(routing) == 4 * n + 2 * n + 2 * n
    assert Reaction(["gWmagshadow_1_2", "zsign2_m"], ["zsign2_m", "gW_1_2_p"], K_ROUTE) in routing
    assert Reaction(["gW_1_1_p", "esign1_p"], ["esign1_p", "W_1_1_m", "dW_1_1_m"],
                    K_ROUTE) in routing
    assert Reaction(["gWmag_1_2", "zsign2_m"], ["zsign2_m", "gW_1_2_m"], K_ROUTE) in routing
    product = [rx for rx in mod if rx.rate_constant == pytest.approx(eta * r / rates["F2"])]
    # Ē + Z̄_i → Ē + Z̄_i + H̄_i: ONE per weight, and its two leak shadows (never run: Ē′, Z̄′ = 0)
    assert len(product) == 3 * n
    assert Reaction(["eclock1", "zmag1"], ["eclock1", "zmag1", "gWmag_1_1"],
                    eta * r / rates["F2"]) in product
    assert Reaction(["eclockshadow1", "zmag1"], ["eclockshadow1", "zmag1", "gWmagshadow_1_1"],
                    eta * r / rates["F2"]) in product
    assert Reaction(["eclock1", "zmagshadow1"], ["eclock1", "zmagshadow1", "gWmagshadow_1_1"],
                    eta * r / rates["F2"]) in product
    assert not any(s.startswith(("eclockshadow", "zmagshadow")) and n_made > 0
                   for rx in c.network.reactions for s, n_made in rx.net_change().items())
    # the shadows are the circuit's last reactions (rate-constant draws of the others keep)
    tail = c.network.reactions[-4 * n:]
    assert all(any("shadow" in s for s in rx.species) for rx in tail)
    # no reaction of the update phase reads z's rails (ΔW reads Z̄ and R, not E and Z)
    assert not any(z in rx.species for rx in mod for z in ("z1_p", "z1_m"))
    assert Reaction(["e1_m"], ["eclock1"], r) in mod and Reaction(["eclock1"], [], r) in mod
    # ΔΘ: a two-stage cascade from the settled E (E → A → ∫A), so η T r / F2
    kappa = eta * spec.T * r / rates["F2"]
    assert Reaction(["adj1_p", "u3"], ["adj1_p", "u3", "theta_1_3_m"], kappa) in mod
    err = c.module("error").reactions
    # the error phase only collects e into E and the router S, which settle
    assert Reaction(["yhat1_p"], ["e1_p", "esign1_p"], r) in err       # ŷ = O + L
    assert Reaction(["ycorr1_p"], ["e1_p", "esign1_p"], r) in err
    assert Reaction(["y1_p"], ["e1_m", "esign1_m"], r) in err
    assert Reaction(["esign1_p", "esign1_m"], [], spec.rates.annihilation) in err
    # … and z(T) moves into its magnitude and its router: Z_i^s → Z̄_i + R_i^s
    assert Reaction(["z1_m"], ["zmag1", "zsign1_m"], r) in err
    assert len(err) == 3 * 2 + 2 + 2 * n  # O, Q, Y transfers, 2 annihilations, z transfers


def test_routed_readout_reactions():
    """ŷ = O + L: L = O − Q is made by O's own production (W + Z → W + Z + O + L) and decay
    (O^s → L^{−s}) reactions, and decays at k_r."""
    spec = _spec()
    kr = two_phase_rates(spec)["k_r"]
    ff = compile_two_phase(spec).module("feedforward").reactions
    assert Reaction(["W_1_2_m", "z2_p"], ["W_1_2_m", "z2_p", "yhat1_m", "ycorr1_m"], kr) in ff
    assert Reaction(["yhat1_m"], ["ycorr1_p"], kr) in ff
    assert Reaction(["ycorr1_m"], [], kr) in ff
    assert not any("ylag1_p" in rx.species for rx in ff)


@pytest.mark.parametrize("routing", [0.0, K_ROUTE])
def test_an_error_of_the_lag_stage_scales_only_the_direct_readout(routing):
    """Multiply the rate constant of the lag stage's decay (Q^± → ∅; routed: L^± → ∅) by 1.6.
    Direct, Q settles at O/1.6 and ŷ = 2O − Q moves by ≈ (1 − 1/1.6) = 37.5 %; routed, L only
    carries the readout's lag (≈ W ż/k_r), so ŷ = O + L moves by a fraction of that lag."""
    spec = _spec(routing=routing, alpha=4.0)
    p = init_params(spec, 2, readout="random")
    c = compile_two_phase(spec, p)
    prog = two_phase_program(c)
    lag = two_phase_species(spec).lag[0]
    rows = [i for i, rx in enumerate(c.network.reactions)
            if len(rx.reactants) == 1 and rx.reactants[0][0] in lag.species and not rx.products]
    assert len(rows) == 2
    k = np.array(prog.rate_constants)
    k[0, rows] *= 1.6
    bad = prog._replace(rate_constants=k)
    M, s0, x = readout_matrix(c), np.asarray(c.network.initial), np.array([0.8, -0.3])
    yhat = [(M @ np.asarray(run_step(pr, s0, x, [0.0], rtol=1e-10, atol=1e-12))[0])[0]
            for pr in (prog, bad)]
    change = abs(yhat[1] / yhat[0] - 1)
    if routing:
        assert change < 1e-2
    else:
        assert change == pytest.approx(1 - 1 / 1.6, abs=0.03)


def test_errors_and_other_circuits():
    with pytest.raises(SpecError, match="sign_routing"):
        ChemistryRates(sign_routing=-1.0)
    with pytest.raises(SpecError, match="frozen"):
        compile_two_phase(_spec(train_W=False))
    with pytest.raises(SpecError, match="two-phase"):
        compile_circuit(_spec())
    with pytest.raises(SpecError, match="autonomous"):
        compile_autonomous(_spec())
    assert compile_two_phase(_spec(routing=0.0)).module_names == ("feedforward", "feedback")


def _gains(spec, imp, xs, dys):
    """ΔW_i / (−η e z_i) of one imperfect circuit instance for every (x, y − ŷ) pair, keyed by
    (unit, sign e, sign z_i) — e and z(T) read from the chemistry itself."""
    p = init_params(spec, 1, readout="random")
    c, prog = imperfect_program(compile_two_phase(spec, p),
                                two_phase_program(compile_two_phase(spec, p)), imp)
    M = readout_matrix(c)
    smap, idx = c.species_map, {s: i for i, s in enumerate(c.species)}
    val = lambda st, rail: st[idx[rail.plus]] - st[idx[rail.minus]]  # noqa: E731
    s0 = np.asarray(c.network.initial)
    out = {}
    for x in xs:
        yhat = M @ np.asarray(run_step(prog, s0, x, [0.0], rtol=1e-9, atol=1e-11))[0]
        for dy in dys:
            st = np.asarray(run_step(prog, s0, x, yhat + dy, rtol=1e-9, atol=1e-11))
            e = (M @ st[0] - yhat - dy)[0]
            z = np.array([val(st[0], rl) for rl in smap.z])
            dW = np.array([val(st[-1], rl) - val(s0, rl) for rl in smap.W[0]])
            for i in range(spec.n):
                if abs(z[i]) > 0.05:
                    out.setdefault((i, np.sign(e), np.sign(z[i])), []).append(
                        dW[i] / (-spec.learning_rate * e * z[i]))
    return out, c


def _routed_gain(c, nominal, i):
    """f(Ē + Z̄_i → Ē + Z̄_i + H̄_i) / f(Ē → ∅): the rate errors of ΔW_i's one product reaction
    and of the clock's decay, read from the imperfect circuit ``c`` (``nominal``: perfect)."""
    def factor(reactants, products):
        key = (tuple(sorted((s, 1) for s in reactants)), tuple(sorted((s, 1) for s in products)))
        ks = [(a.rate_constant, b.rate_constant)
              for a, b in zip(c.network.reactions, nominal.network.reactions)
              if (tuple(sorted(a.reactants)), tuple(sorted(a.products))) == key]
        assert len(ks) == 1
        return ks[0][0] / ks[0][1]
    zmag, h = f"zmag{i + 1}", f"gWmag_1_{i + 1}"
    return factor(["eclock1", zmag], ["eclock1", zmag, h]) / factor(["eclock1"], [])


@pytest.mark.slow
def test_rate_errors_no_longer_give_the_sign_patterns_different_gains():
    """The mechanism of the σ = 0.2 failure: with independent rate errors the direct update
    applies ΔW_i with a gain that depends on the signs of e and z_i (per weight); routed, it
    does not. Both circuits with signal annihilation k = 1e3. Direct, the gain of one weight
    even varies between samples of the same sign pattern (measured −0.6 … 2.5 on this
    instance): the transient E⁺ and E⁻ — the two rails fill at different (erroneous) rates
    before they annihilate — are multiplied into W by reactions with different errors. Routed,
    ΔW_i is made by one reaction from the settled |e| and |z_i| and moves with the signs of z_i
    and e by transfers, so each weight has one gain f(Ē + Z̄_i)/f(Ē → ∅)."""
    imp = Imperfections(rate_noise=0.2, seed=3)
    xs = [np.array([a, b]) for a in (-1.5, 0.4, 1.5) for b in (-1.2, 1.3)]
    spread = {}
    for k in (0.0, K_ROUTE):
        spec = _spec(routing=k, signal_annihilation=1e3, alpha=2.0)
        g, c = _gains(spec, imp, xs, (-0.5, 0.5))
        pairs = [(np.mean(g[(i, 1.0, sz)]), np.mean(g[(i, -1.0, sz)]))
                 for (i, se, sz) in g if se == 1.0 and (i, -1.0, sz) in g]
        assert len(pairs) >= 3
        spread[k] = max(abs(a - b) for a, b in pairs)
        if k:
            per_weight = {}
            for (i, _, sz), v in g.items():
                per_weight.setdefault(i, []).extend(v)
            assert {sz for (_, _, sz) in g} == {-1.0, 1.0}    # both signs of z were seen
            # one gain per weight, whatever the signs of e and z_i: the ratio of the rate
            # errors of its product reaction and of the clock's decay (to ≤ 2 %: the residual
            # common mode of the z and e rails meets the two routing rails' different errors)
            nominal = compile_two_phase(spec, init_params(spec, 1, readout="random"))
            for i, v in per_weight.items():
                np.testing.assert_allclose(v, _routed_gain(c, nominal, i), rtol=2e-2)
    assert spread[0.0] > 0.3           # direct: the sign of e changes a weight's gain
    assert spread[K_ROUTE] < 1e-3      # routed: it does not


def test_train_cli_records_the_option_in_config_and_circuit_file(tmp_path):
    import json

    from click.testing import CliRunner

    from neuralcrn.cli import main
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["train", "xor", "--mode", "ideal", "--epochs", "0",
                                    "--hidden", "2", "--sign-routing", "1e4", "-q",
                                    "--out", str(out)])
    assert res.exit_code == 0, res.output
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["spec"]["rates"]["sign_routing"] == 1e4
    crn = (out / "circuit.crn").read_text()
    assert "phase 2 error" in crn and "phase 3 update" in crn
    assert "esign1_m + gW_1_1_p ->{10000.0} W_1_1_p + dW_1_1_p + esign1_m" in crn
    res = CliRunner().invoke(main, ["train", "xor", "--sign-routing", "-1", "--out",
                                    str(tmp_path / "bad")])
    assert res.exit_code != 0 and "sign-routing" in res.output
