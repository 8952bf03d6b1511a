"""Tests of the Neural CRN compiler (issue 3, parts 3–5): modules, species map, chemical gradient.

Real values throughout: the chemistry is simulated with neuralcrn.kinetics and compared with the
ideal math of neuralcrn.ideal.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

from neuralcrn.compiler import (MODULE_NAMES, build_species_map, chemical_gradient, chemical_step,
                                compile_circuit, run_step, step_program)
from neuralcrn.compiler._study import counts_table, xor_spec
from neuralcrn.errors import DataError, SpecError
from neuralcrn.ideal import (ModelSpec, Params, gradient, init_params, params_relative_error,
                             sgd_step)
from neuralcrn.kinetics import compile_network
from neuralcrn.kinetics import mass_action_rhs as _rhs

mass_action_rhs = jax.jit(_rhs)

# ---------------------------------------------------------------------------------------------
# model families of the issue


FAMILIES = {
    "linear-diagonal": dict(inputs=2, drive="augment", augment_count=1, augment_value=1.0,
                            theta="diagonal", nonlinearity="none", T=0.5),
    "linear-full": dict(inputs=2, drive="bias", hidden=3, z0="zero", theta="full",
                        nonlinearity="none", T=0.5),
    "quadratic-full": dict(inputs=2, drive="augment", augment_count=1, augment_value=0.2,
                           theta="full", nonlinearity="quadratic", alpha=0.15, T=0.4),
    "cubic-full": dict(inputs=2, drive="augment", augment_count=1, augment_value=0.2,
                       theta="full", nonlinearity="cubic", alpha=1.0, T=0.9),
}
# measured worst case over 16 random cases ≈ 4e-6 / 8e-5 / 2.3e-4 (linear: ~1e-13)
TOLERANCE = {"linear-diagonal": 1e-9, "linear-full": 1e-9, "quadratic-full": 1e-3,
             "cubic-full": 2e-3}


def _spec(family, gradient_mode="exact", train=True, **kw):
    return ModelSpec(**{"outputs": 1, "gradient": gradient_mode, "train_h": train,
                        "train_W": train, "learning_rate": 0.3, **FAMILIES[family], **kw})


# ---------------------------------------------------------------------------------------------
# species map


def test_species_map_names_load_and_read():
    spec = ModelSpec(inputs=2, outputs=2, drive="augment", augment_count=1, augment_value=-0.5,
                     theta="full", nonlinearity="quadratic", alpha=0.15, T=0.4)
    smap = build_species_map(spec)
    names = set(smap.species)
    for s in ("x1_p", "x2_m", "u3", "z2_m", "theta_1_2_p", "theta_3_3_m", "h1_p", "W_1_2_p",
              "W_2_3_m", "yhat1_p", "y2_m", "e1_p", "adj3_p", "g_theta_1_2_p", "g_h1_p",
              "g_W_2_1_m"):
        assert s in names, s
    assert len(smap.species) == len(names)
    rng = np.random.default_rng(0)
    p = Params(rng.normal(size=(3, 3)), rng.normal(size=3), rng.normal(size=(2, 3)))
    x, y = np.array([0.3, -0.7]), np.array([1.0, -2.0])
    conc = smap.load(x, y, p)
    assert all(v >= 0 for v in conc.values())
    assert conc["u3"] == 0.5                         # |c|, the sign is folded into the reactions
    r = smap.read(conc, None)
    np.testing.assert_array_equal(r["x"], x)
    np.testing.assert_array_equal(r["y"], y)
    np.testing.assert_array_equal(r["u"], [0.3, -0.7, -0.5])
    np.testing.assert_array_equal(r["z"], [0.3, -0.7, -0.5])    # z(0) = u
    np.testing.assert_array_equal(r["theta"], p.theta)
    np.testing.assert_array_equal(r["h"], p.h)
    np.testing.assert_array_equal(r["W"], p.W)
    # array form, with a batch dimension
    order = smap.species
    arr = np.array([[conc.get(s, 0.0) for s in order]] * 2)
    np.testing.assert_array_equal(smap.read(arr, order)["W"], np.stack([p.W, p.W]))


def test_species_map_diagonal_and_frozen():
    spec = _spec("linear-diagonal", train=False)
    smap = build_species_map(spec)
    assert "theta_1_1_p" in smap.species and "theta_1_2_p" not in smap.species
    assert smap.g_h is None and smap.g_W is None
    assert not any(s.startswith(("g_h", "g_W")) for s in smap.species)
    with pytest.raises(SpecError, match="outside the compiled"):
        compile_circuit(spec, Params(np.ones((3, 3)), np.zeros(3), np.ones((1, 3))))
    with pytest.raises(SpecError, match="shapes"):
        compile_circuit(spec, Params(np.eye(2), np.zeros(3), np.ones((1, 3))))


# ---------------------------------------------------------------------------------------------
# every module's ODE is exactly the stated math (rail by rail)


def _pm(a, b):
    """Rails of the product of two rail pairs: (plus, minus)."""
    return a[0] * b[0] + a[1] * b[1], a[0] * b[1] + a[1] * b[0]


def _expected_rhs(circuit, module, c):
    """Hand-written mass-action ODE of ``module`` at state ``c`` ({species: conc})."""
    spec, sm = circuit.spec, circuit.species_map
    k, a = spec.rates.annihilation, spec.alpha
    p = {"none": None, "quadratic": 2, "cubic": 3}[spec.nonlinearity]
    d = {s: 0.0 for s in c}
    R = lambda v: (c[v.plus], c[v.minus])  # noqa: E731

    def U(j):
        u = sm.u[j]
        if isinstance(u, str):
            return (c[u], 0.0) if sm.u_sign[j] > 0 else (0.0, c[u])
        return R(u)

    def add(v, plus, minus):
        d[v.plus] += plus
        d[v.minus] += minus

    def ann(v):
        add(v, -k * c[v.plus] * c[v.minus], -k * c[v.plus] * c[v.minus])

    sup = [(i, j) for i in range(sm.n) for j in range(sm.n_u) if sm.theta[i][j] is not None]
    if module in ("feedforward", "feedback"):
        flip = module == "feedback"
        if module == "feedforward" or spec.gradient == "exact":
            for i, j in sup:
                pl, mi = _pm(R(sm.theta[i][j]), U(j))
                add(sm.z[i], *((mi, pl) if flip else (pl, mi)))
            for i in range(sm.n):
                hp, hm = R(sm.h[i])
                add(sm.z[i], *((hm, hp) if flip else (hp, hm)))
                zp, zm = R(sm.z[i])
                if p:
                    sgn = 1.0 if flip else -1.0
                    add(sm.z[i], sgn * a * zp ** p, sgn * a * zm ** p)
                ann(sm.z[i])
        if module == "feedback":
            for i in range(sm.n):
                ap, am = R(sm.adj[i])
                zp, zm = R(sm.z[i])
                if spec.gradient == "exact":
                    if p == 2:
                        add(sm.adj[i], -2 * a * (zp + zm) * ap, -2 * a * (zp + zm) * am)
                    elif p == 3:
                        add(sm.adj[i], -3 * a * (zp ** 2 + zm ** 2) * ap,
                            -3 * a * (zp ** 2 + zm ** 2) * am)
                    ann(sm.adj[i])
                if sm.g_h is not None:
                    add(sm.g_h[i], ap, am)
                    ann(sm.g_h[i])
            for i, j in sup:
                add(sm.g_theta[i][j], *_pm(R(sm.adj[i]), U(j)))
                ann(sm.g_theta[i][j])
    elif module == "readout_error":
        tau = circuit.duration(module)
        for kk in range(sm.m):
            for i in range(sm.n):
                pl, mi = _pm(R(sm.W[kk][i]), R(sm.z[i]))
                add(sm.yhat[kk], pl / tau, mi / tau)
                add(sm.e[kk], pl / tau, mi / tau)
            yp, ym = R(sm.y[kk])
            add(sm.y[kk], -spec.rates.readout * yp, -spec.rates.readout * ym)
            add(sm.e[kk], spec.rates.readout * ym, spec.rates.readout * yp)
            ann(sm.yhat[kk])
            ann(sm.e[kk])
    elif module == "adjoint_init":
        tau = circuit.duration(module)
        for kk in range(sm.m):
            for i in range(sm.n):
                pl, mi = _pm(R(sm.W[kk][i]), R(sm.e[kk]))
                add(sm.adj[i], pl / tau, mi / tau)
                if sm.g_W is not None:
                    pl, mi = _pm(R(sm.e[kk]), R(sm.z[i]))
                    add(sm.g_W[kk][i], pl / tau, mi / tau)
                    ann(sm.g_W[kk][i])
        for i in range(sm.n):
            ann(sm.adj[i])
    elif module == "update":
        eta, ku = spec.learning_rate, spec.rates.update
        pairs = [(sm.g_theta[i][j], sm.theta[i][j]) for i, j in sup]
        if sm.g_h is not None:
            pairs += list(zip(sm.g_h, sm.h))
        if sm.g_W is not None:
            pairs += [(sm.g_W[kk][i], sm.W[kk][i]) for kk in range(sm.m) for i in range(sm.n)]
        for g, par in pairs:
            gp, gm = R(g)
            add(g, -ku * gp, -ku * gm)
            add(par, eta * ku * gm, eta * ku * gp)
            ann(par)
    return d


@pytest.mark.parametrize("family,gmode", [("quadratic-full", "exact"), ("cubic-full", "exact"),
                                          ("linear-diagonal", "first-order"),
                                          ("quadratic-full", "first-order")])
def test_module_odes_equal_the_stated_math(family, gmode):
    # negative augmentation constant: exercises the sign folded into constant drive entries
    spec = _spec(family, gmode, augment_value=-0.7, rates={"annihilation": 37.0, "readout": 11.0,
                                                          "update": 5.0})
    circuit = compile_circuit(spec)
    arrays = compile_network(circuit.network)
    structure = arrays.structure()
    rng = np.random.default_rng(1)
    for name in MODULE_NAMES:
        k = circuit.phase_rate_constants(name)
        mod = circuit.module(name)
        mod_arrays = compile_network(mod)
        for _ in range(3):
            state = rng.uniform(0.0, 2.0, circuit.network.n_species)
            got = np.asarray(mass_action_rhs(state, k, structure))
            c = dict(zip(circuit.species, state))
            want = _expected_rhs(circuit, name, c)
            np.testing.assert_allclose(got, [want[s] for s in circuit.species], rtol=1e-12,
                                       atol=1e-12, err_msg=name)
            # the module alone (its own species list) has the same ODE on its species
            sub = np.array([c[s] for s in mod.species])
            got_mod = np.asarray(mass_action_rhs(sub, mod_arrays.rate_constants,
                                                 mod_arrays.structure()))
            np.testing.assert_allclose(got_mod, [want[s] for s in mod.species], rtol=1e-12,
                                       atol=1e-12, err_msg=name)
            # species outside the module do not move in its phase
            outside = [i for i, s in enumerate(circuit.species) if s not in mod.species]
            assert np.all(got[outside] == 0.0)


def test_update_module_rates():
    spec = _spec("linear-full", learning_rate=1.0)
    upd = compile_circuit(spec).module("update")
    assert all(r.products or r.molecularity == 2 for r in upd.reactions)  # η = 1: no G -> 0
    spec = _spec("linear-full")                                 # η = 0.3
    upd = compile_circuit(spec).module("update")
    ks = sorted({r.rate_constant for r in upd.reactions})
    assert ks == pytest.approx([0.3 * 100, 0.7 * 100, spec.rates.annihilation])


# ---------------------------------------------------------------------------------------------
# molecularity and sizes


def test_molecularity_and_summary():
    for fam in ("linear-diagonal", "linear-full", "quadratic-full"):
        for g in ("exact", "first-order"):
            c = compile_circuit(_spec(fam, g))
            assert c.max_molecularity <= 2 and not c.trimolecular
            assert all(r["max_molecularity"] <= 2 for r in c.summary())
    c = compile_circuit(_spec("cubic-full"))
    assert c.max_molecularity == 3 and c.trimolecular
    rows = {r["module"]: r for r in c.summary()}
    assert rows["feedforward"]["trimolecular"] and rows["feedback"]["trimolecular"]
    assert not rows["readout_error"]["trimolecular"] and rows["total"]["trimolecular"]
    assert "trimolecular" in c.summary_table()
    # first-order cubic feedback has no φ reactions: bimolecular
    c1 = compile_circuit(_spec("cubic-full", "first-order"))
    assert c1.module("feedback").max_molecularity == 2
    # the union is the concatenation of the modules over one species order
    assert c.network.n_reactions == sum(n.n_reactions for _, n in c.modules)
    for name, (a, b) in c.ranges:
        assert c.network.reactions[a:b] == c.module(name).reactions
    assert "module feedback" in str(c)


def test_first_order_feedback_grows_linearly_with_parameter_count():
    # fixed hidden width n = 4, d = 1..8: parameters P = n(d+1) + 2n grow by n per input
    counts, params = [], []
    for d in range(1, 9):
        spec = ModelSpec(inputs=d, outputs=1, drive="bias", hidden=4, z0="zero",
                         nonlinearity="quadratic", alpha=0.15, gradient="first-order")
        counts.append(compile_circuit(spec).module("feedback").n_reactions)
        params.append(4 * (d + 1) + 8)
    assert np.all(np.diff(counts, 2) == 0) and np.all(np.diff(params, 2) == 0)
    # n = d: P ~ d², and the feedback stays below 6 reactions per parameter
    rows = counts_table(dims=(2, 4, 8, 16, 32, 64))
    for r in rows:
        assert r["feedback"] <= 6 * r["params"]
        assert r["update"] == 5 * r["params"]
    print("\nfirst-order circuit, drive 'bias', hidden width n = d:")
    print(f"{'d':>4} {'n':>4} {'params':>7} {'species':>8} {'reactions':>10} {'feedback':>9}")
    for r in rows:
        print(f"{r['d']:>4} {r['n']:>4} {r['params']:>7} {r['species']:>8} {r['reactions']:>10} "
              f"{r['feedback']:>9}")


# ---------------------------------------------------------------------------------------------
# chemical gradient vs the ideal math


CASES = [(f, g, t) for f in FAMILIES for g in ("exact", "first-order") for t in (True, False)]


@pytest.mark.parametrize("family,gmode,train", CASES)
def test_chemical_gradient_matches_ideal(family, gmode, train):
    spec = _spec(family, gmode, train)
    seed = sorted(FAMILIES).index(family) * 4 + 2 * (gmode == "exact") + train
    rng = np.random.default_rng(seed)
    p = init_params(spec, seed, 1.0, h_scale=0.5, readout="random")
    lo = -1.0 if family.startswith("linear") else 0.0           # negative inputs for the linear
    x, y = rng.uniform(lo, 1.0, 2), rng.uniform(-1.0, 1.0, 1)
    circuit = compile_circuit(spec, p)
    res = chemical_gradient(circuit, x, y)
    L, g, info = gradient(spec, p, x, y)
    tol = TOLERANCE[family]
    np.testing.assert_allclose(res.yhat, info["y_hat"], rtol=tol, atol=tol)
    np.testing.assert_allclose(res.e, info["e"], rtol=tol, atol=tol)
    np.testing.assert_allclose(res.zT, info["zT"], rtol=tol, atol=tol)
    np.testing.assert_allclose(res.a0, info["a0"], rtol=tol, atol=tol)
    assert params_relative_error(res.grads, g) < tol
    assert res.loss == pytest.approx(float(L), rel=10 * tol, abs=tol)
    # the update reactions apply θ − η·G to the parameter species (chemical G; exact to e^-30)
    eta = spec.learning_rate
    for before, after, grad in zip(res.params_before, res.params_after, res.grads):
        np.testing.assert_allclose(after, before - eta * grad, rtol=1e-9, atol=1e-10)
    new = sgd_step(spec, p, x, y)
    assert params_relative_error(res.params_after, new) < tol
    if not train:
        np.testing.assert_array_equal(res.params_after.h, np.asarray(p.h))
        np.testing.assert_array_equal(res.params_after.W, np.asarray(p.W))
        assert np.all(res.grads.h == 0) and np.all(res.grads.W == 0)
    if gmode == "exact":
        assert res.reconstruction_error < 10 * tol
    else:
        assert res.reconstruction_error is None


def test_paper_xor_default_rates_meet_1e3():
    """Quadratic XOR (d=2, a=1, c ∈ {0.2, 1}, full Θ, α=0.15, T=0.4), exact mode, default rates:
    relative gradient error ≤ 1e-3 and the reconstruction error of the feedback phase."""
    rng = np.random.default_rng(7)
    for c in (0.2, 1.0):
        spec = xor_spec(c)
        errs, recon = [], []
        for s in range(6):
            p = init_params(spec, 100 + s, 1.0, h_scale=0.5)
            x, y = rng.uniform(0, 1, 2), np.round(rng.uniform(0, 1, 1))
            res = chemical_gradient(compile_circuit(spec, p), x, y)
            _, g, info = gradient(spec, p, x, y)
            errs.append(params_relative_error(res.grads, g))
            recon.append(res.reconstruction_error)
            assert float(info["recon_err_max"]) < 1e-8        # the ideal backward solve
        assert max(errs) <= 1e-3, errs
        assert max(recon) < 2e-4, recon                          # measured ≤ 6.5e-5


def test_chained_steps_carry_the_chemical_state():
    """Two steps, the second starting from the first's final state (parameters carried by the
    species, transient species washed by the host) = two ideal SGD steps (linear model: exact)."""
    spec = _spec("linear-full")
    p = init_params(spec, 5, 1.0, h_scale=0.5, readout="random")
    circuit = compile_circuit(spec, p)
    xs, ys = np.array([[0.2, -0.4], [0.9, 0.1]]), np.array([[0.5], [-1.0]])
    p1, r1 = chemical_step(circuit, xs[0], ys[0])
    p2, r2 = chemical_step(circuit, xs[1], ys[1], state=r1.final_state)
    q = p
    for x, y in zip(xs, ys):
        q = sgd_step(spec, q, x, y)
    assert params_relative_error(p2, q) < 1e-9
    assert params_relative_error(compile_circuit(spec, p1).params, p1) == 0.0
    # the pure step under lax.scan (one compiled training loop) gives the same parameters
    prog = step_program(circuit)

    def body(state, xy):
        states = run_step(prog, state, xy[0], xy[1])
        return states[-1], None

    epoch = jax.jit(lambda s: jax.lax.scan(body, s, (xs, ys)))
    final, _ = epoch(np.asarray(circuit.network.initial))
    got = circuit.species_map.read_params(np.asarray(final), circuit.species)
    assert params_relative_error(got, p2) < 1e-9


def test_errors():
    circuit = compile_circuit(_spec("linear-full"))
    with pytest.raises(DataError):
        chemical_gradient(circuit, [1.0, 2.0, 3.0], [0.0])
    with pytest.raises(DataError):
        chemical_gradient(circuit, [1.0, np.nan], [0.0])
    with pytest.raises(SpecError, match="schedule"):
        chemical_gradient(circuit, [1.0, 2.0], [0.0], schedule="two-phase")
    with pytest.raises(SpecError, match="unknown module"):
        circuit.module("backward")
    with pytest.raises(SpecError):
        compile_circuit("not a spec")
