"""Stiffness-proof integrators (issue 9): analytic Jacobians, exact pair-block solves, Rosenbrock
and lean explicit steppers, against independent references (scipy Radau, libroadrunner, diffrax)
on random networks, compiled Neural CRN phases at k_ann = 1e2 … 1e6 and Robertson's network."""

import neuralcrn  # noqa: F401  (float64)
import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from neuralcrn import Reaction, ReactionNetwork
from neuralcrn.bench._circuits import CircuitCache, xor_spec
from neuralcrn.errors import SimulationError, SpecError
from neuralcrn.kinetics import (METHODS, MassActionStructure, choose_method, choose_phase_method,
                                compile_network, mass_action_rhs, simulate, solve, solve_final,
                                solve_final_stack, stiffness_number, substitution_depth)
from neuralcrn.kinetics._jacobian import (PairPlan, dense_jacobian, outside_product,
                                          pair_jacobian, pair_partner, pair_partner_numpy,
                                          pair_plan, pair_plan_numpy, pair_solver)
from neuralcrn.kinetics._rosenbrock import fixed_step_solve
from neuralcrn.kinetics._tableaus import TABLEAUS


def robertson():
    return ReactionNetwork([Reaction("A", "B", 0.04), Reaction(["B", "C"], ["A", "C"], 1e4),
                            Reaction(["B", "B"], ["B", "C"], 3e7)],
                           species=["A", "B", "C"], initial={"A": 1.0})


def random_network(rng, n, *, trimolecular=False):
    """Random mass-action network with dual-rail pairs (annihilation), 2Z, catalysis and
    decays; species P{i}/M{i} are pairs."""
    names = [f"{r}{i}" for i in range(n) for r in "PM"]
    reactions = [Reaction([f"P{i}", f"M{i}"], [], float(rng.uniform(1, 50))) for i in range(n)]
    for _ in range(3 * n):
        a, b, c = rng.choice(names, 3, replace=False)
        kind = rng.integers(0, 5 if trimolecular else 4)
        k = float(np.exp(rng.uniform(np.log(0.1), np.log(3.0))))
        if kind == 0:
            reactions.append(Reaction([a, b], [a, b, c], k))
        elif kind == 1:
            reactions.append(Reaction([a, a], [a], k))
        elif kind == 2:
            reactions.append(Reaction([a], [b], k))
        elif kind == 3:
            reactions.append(Reaction([a], [], k))
        else:
            reactions.append(Reaction([a, b, c], [a, b], k))
    init = {s: float(rng.uniform(0, 1)) for s in names}
    return ReactionNetwork(reactions, species=names, initial=init)


# ---------------------------------------------------------------------------- Jacobians
@pytest.mark.parametrize("seed, trimolecular", [(0, False), (1, True), (2, True)])
def test_analytic_jacobians_match_autodiff(seed, trimolecular):
    rng = np.random.default_rng(seed)
    a = compile_network(random_network(rng, 4, trimolecular=trimolecular))
    st = MassActionStructure(*(jnp.asarray(v) for v in a.structure()))
    x = jnp.asarray(rng.uniform(0.1, 2.0, a.n_species))
    k = jnp.asarray(a.rate_constants)
    J = np.asarray(jax.jacfwd(lambda v: mass_action_rhs(v, k, st))(x))
    np.testing.assert_allclose(dense_jacobian(x, k, st), J, rtol=1e-12, atol=1e-12)
    plan = pair_plan(st, a.n_species)
    pj = pair_jacobian(x, k, st, plan, outside=True)
    # the compact numpy plan gives the same block entries
    cp = PairPlan(*(jnp.asarray(v) for v in pair_plan_numpy(a.structure(), a.n_species)))
    pc = pair_jacobian(x, k, st, cp, outside=True)
    np.testing.assert_allclose(pc.diag, pj.diag, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(pc.off, pj.off, rtol=1e-13, atol=1e-14)
    p = np.asarray(plan.partner)
    rows = np.arange(a.n_species)
    np.testing.assert_allclose(pj.diag, J[rows, rows], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(pj.off, np.where(p != rows, J[rows, p], 0.0), rtol=1e-12,
                               atol=1e-12)
    # J_off · u reproduces (J − J_B) · u
    u = jnp.asarray(rng.normal(size=a.n_species))
    JB = np.zeros_like(J)
    JB[rows, rows] = J[rows, rows]
    JB[rows, p] = np.where(p != rows, J[rows, p], 0.0)
    np.testing.assert_allclose(outside_product(pj.lower, plan, u), (J - JB) @ np.asarray(u),
                               rtol=1e-10, atol=1e-12)
    # the closed-form block inverse
    shift = 7.0
    solve = pair_solver(pj.diag, pj.off, plan.partner, shift)
    np.testing.assert_allclose(solve(u), np.linalg.solve(shift * np.eye(len(u)) - JB, u),
                               rtol=1e-10, atol=1e-12)


def test_pair_partner_links_annihilating_rails_only():
    net = ReactionNetwork([Reaction(["Zp", "Zm"], [], 1e4), Reaction(["Zp", "Zp"], ["Zp"], 0.1),
                           Reaction(["W", "Zp"], ["W", "Zp", "Y"], 1.0), Reaction("Y", "0", 5.0),
                           Reaction(["Ap", "Am"], [], 3.0), Reaction(["B", "C"], ["A2", "C"], 2.0)],
                          species=["Zp", "Zm", "W", "Y", "Ap", "Am", "B", "C", "A2"])
    a = compile_network(net)
    expected = [1, 0, 2, 3, 5, 4, 6, 7, 8]  # B + C -> A2 + C consumes only B: no pair
    np.testing.assert_array_equal(pair_partner(a.structure(), a.n_species), expected)
    np.testing.assert_array_equal(pair_partner_numpy(a.structure(), a.n_species), expected)


@pytest.fixture(scope="module")
def xor_cases():
    """The paper's XOR circuit (61 species, two-phase) at three annihilation rates."""
    cache = CircuitCache(n_samples=4)
    return {k_ann: cache.xor_at(k_ann) for k_ann in (1e2, 1e4, 1e6)}


def test_block_substitution_is_exact_on_neural_crn_phases(xor_cases):
    """(shift·I − J)⁻¹ r by the pair-block inverse plus `depth` sweeps equals a dense solve, with
    the full JAX plan and with the compact numpy plan (which drops species that never change)."""
    case = xor_cases[1e4]
    x = jnp.asarray(case.loaded(0)) + 0.01
    S = x.shape[0]
    for name, depth in (("feedforward", 2), ("feedback", 4)):
        st, k, T = case.phase_system(name)
        stn = MassActionStructure(*(np.asarray(v) for v in st))
        compact = pair_plan_numpy(stn, S, np.asarray(k))
        full = pair_plan(st, S, k)
        assert int(full.depth) == int(compact.depth) == depth
        assert substitution_depth(stn, S, np.asarray(k)) == depth
        assert compact.out_rows.size < full.out_rows.size             # fewer entries
        J = np.asarray(dense_jacobian(x, k, st))
        shift = 1.0 / (1e-3 * TABLEAUS["rodas5"].gamma)
        # right-hand sides vanish on species the phase does not change (f and every stage
        # vector are 0 there), which is why links from those species are not needed
        changing = np.zeros(S, bool)
        active = (np.asarray(k)[stn.stoich_reaction] > 0) & (stn.stoich_value != 0)
        changing[stn.stoich_species[active]] = True
        r = jnp.asarray(np.random.default_rng(0).normal(size=S) * changing)
        expected = np.linalg.solve(shift * np.eye(S) - J, r)
        for plan in (full, PairPlan(*(jnp.asarray(a) for a in compact))):
            pj = pair_jacobian(x, k, st, plan, outside=True)
            block = pair_solver(pj.diag, pj.off, plan.partner, shift)
            u = block(r)
            for _ in range(depth):
                u = block(r + outside_product(pj.lower, plan, u))
            np.testing.assert_allclose(u, expected, rtol=1e-11, atol=1e-13)


def test_cyclic_stiff_coupling_is_refused_by_exact_pairs_and_handled_by_auto():
    a = compile_network(robertson())
    assert substitution_depth(a.structure(), 3) is None
    assert choose_method(a.structure(), 3) == "rodas5-dense"
    sol = solve(a.structure(), a.rate_constants, a.initial, jnp.array([1.0]), method="rodas5")
    assert int(sol.status) == 5
    with pytest.raises(SimulationError, match=r"cycle.*'ros34pw2'.*'rodas5-dense'"):
        simulate(robertson(), 1.0, method="rodas5")


# ---------------------------------------------------------------------------- order
def _smooth_network():
    return ReactionNetwork(
        [Reaction(["P", "M"], [], 5.0), Reaction("X", ["X", "P"], 1.0),
         Reaction(["Z", "Z"], "Z", 0.5), Reaction("P", ["P", "Z"], 2.0), Reaction("Z", "0", 0.3),
         Reaction("M", ["M", "W"], 1.5), Reaction(["W", "Z"], ["Z"], 0.7)],
        species=["P", "M", "X", "Z", "W"], initial={"P": 0.3, "M": 0.8, "X": 1.0, "W": 0.2})


@pytest.mark.parametrize("method, linear, order", [("ros34pw2", "pairs", 3),
                                                   ("ros34pw2", "dense", 3),
                                                   ("rodas5", "pairs", 5),
                                                   ("rodas5", "dense", 5)])
def test_order_of_convergence(method, linear, order):
    """Error slope against the step size with fixed steps: ROS34PW2 keeps order 3 with the
    pair-block matrix (a W-method); Rodas5 reaches 5 with exact (block substitution) solves."""
    a = compile_network(_smooth_network())
    st, k, x0 = a.structure(), a.rate_constants, a.initial
    ref = np.asarray(solve(st, k, x0, jnp.array([1.0]), method="kvaerno5", rtol=1e-13,
                           atol=1e-15).ys[-1])
    ns = np.array([8, 16, 32])
    run = jax.jit(fixed_step_solve, static_argnames=("n_steps", "method", "linear"))
    errs = [float(np.max(np.abs(np.asarray(run(st, k, x0[None], 1.0, n_steps=int(n),
                                                   method=method, linear=linear))[0] - ref)))
            for n in ns]
    slope = np.polyfit(np.log(1.0 / ns), np.log(errs), 1)[0]
    assert abs(slope - order) < 0.35, (errs, slope)


def test_tableaus_satisfy_low_order_conditions():
    for tab in TABLEAUS.values():
        alpha, G, b, bh = tab.untransformed()
        g = tab.gamma
        beta = alpha + G
        B = beta - np.diag(np.diag(beta))
        bp, a_ = B.sum(1), alpha.sum(1)
        for w, p in ((b, tab.order), (bh, tab.embedded_order)):
            conds = [w.sum() - 1, w @ bp - (0.5 - g), w @ a_ ** 2 - 1 / 3,
                     w @ B @ bp - (1 / 6 - g + g * g)]      # orders 1, 2, 3, 3 (HW Table 7.1)
            np.testing.assert_allclose(conds[:{1: 1, 2: 2}.get(p, 4)], 0.0, atol=1e-12)


# ---------------------------------------------------------------------------- Neural CRN phases
def _radau_solve(st, k, x0, T, atol=1e-14):
    """scipy's Radau (rtol 1e-12) with our jitted right-hand side and analytic Jacobian."""
    k = np.asarray(k)
    stn = MassActionStructure(*(np.asarray(v) for v in st))
    f = jax.jit(lambda x: mass_action_rhs(x, k, stn))
    J = jax.jit(lambda x: dense_jacobian(x, k, stn))
    sol = solve_ivp(lambda t, x: np.asarray(f(x)), (0.0, float(T)), np.asarray(x0),
                    method="Radau", rtol=1e-12, atol=atol, jac=lambda t, x: np.asarray(J(x)))
    assert sol.success
    return sol.y[:, -1]


def _radau(case, name, x0):
    st, k, T = case.phase_system(name)
    return st, k, T, _radau_solve(st, k, x0, T)


@pytest.mark.parametrize("k_ann", [pytest.param(1e2, marks=pytest.mark.slow), 1e4,
                                   pytest.param(1e6, marks=pytest.mark.slow)])
def test_neural_crn_phases_against_radau(xor_cases, k_ann):
    """Both phases of the paper's XOR circuit: Rodas5 (exact pair blocks) and ROS34PW2 (W) at
    rtol 1e-8 agree with scipy's Radau at 1e-12; linear conservation laws (left null vectors of
    the active stoichiometry) and non-negativity hold at the tolerance; the step count does not
    grow with k_ann."""
    case = xor_cases[k_ann]
    x0 = case.loaded(1)
    for name in ("feedforward", "feedback"):
        st, k, T, ref = _radau(case, name, x0)
        scale = np.max(np.abs(ref))
        N = np.zeros((x0.size, np.asarray(k).size))
        np.add.at(N, (np.asarray(st.stoich_species), np.asarray(st.stoich_reaction)),
                  np.asarray(st.stoich_value))
        N = N[:, np.asarray(k) > 0]
        _, sv, vt = np.linalg.svd(N.T)
        laws = vt[np.sum(sv > 1e-10):]                        # c with cᵀN = 0
        for method, tol in (("rodas5", 1e-7), ("ros34pw2", 3e-7)):
            sol = solve(st, k, x0, jnp.reshape(T, (1,)), method=method, rtol=1e-8, atol=1e-10)
            y = np.asarray(sol.ys[-1])
            assert int(sol.status) == 0
            assert np.max(np.abs(y - ref)) / scale < tol, (name, method)
            assert np.max(np.abs(laws @ y - laws @ x0)) < 10 * tol * scale
            assert y.min() > -1e-8 * scale                   # minority rails: ≥ −tolerance
            if method == "rodas5":                           # exact solves keep them to roundoff
                assert np.max(np.abs(laws @ y - laws @ x0)) < 1e-11 * scale
            if name == "feedforward":
                assert int(sol.num_steps) < {"rodas5": 150, "ros34pw2": 2500}[method]
        x0 = ref


def test_step_count_does_not_grow_with_annihilation_rate(xor_cases):
    steps = {}
    for k_ann, case in xor_cases.items():
        st, k, T = case.phase_system("feedforward")
        sol = solve(st, k, case.loaded(0), jnp.reshape(T, (1,)), method="rodas5", rtol=1e-6,
                    atol=1e-9)
        steps[k_ann] = int(sol.num_steps)
    assert max(steps.values()) <= 2 * min(steps.values()), steps


def test_phase_method_choice_follows_stiffness(xor_cases):
    for k_ann, expected in ((1e2, "tsit5"), (1e4, "rodas5"), (1e6, "rodas5")):
        st, k, T = xor_cases[k_ann].phase_system("feedforward")
        stn = MassActionStructure(*(np.asarray(v) for v in st))
        S = xor_cases[k_ann].circuit.network.n_species
        assert stiffness_number(stn, S, np.asarray(k), float(T)) == pytest.approx(
            0.4 * k_ann if k_ann > 100 else 40.0)
        assert choose_phase_method(stn, S, np.asarray(k), float(T)) == expected
        assert choose_phase_method(stn, S, np.asarray(k), float(T), "ros34pw2") == "ros34pw2"


def stiff_random_network(seed, n, k_ann):
    """:func:`random_network` with its annihilations P_i + M_i → ∅ sped up to k_ann·U(1, 5)."""
    net = random_network(np.random.default_rng(seed), n)
    rng = np.random.default_rng(seed + 100)
    fast = [Reaction(r.reactants, r.products, k_ann * float(rng.uniform(1, 5)))
            if i < n else r for i, r in enumerate(net.reactions)]
    return ReactionNetwork(fast, species=net.species, initial=net.initial)


@pytest.mark.parametrize("seed, n, k_ann", [
    (11, 4, 1e4), pytest.param(13, 12, 1e5, marks=pytest.mark.slow),
    pytest.param(12, 8, 1e6, marks=pytest.mark.slow)])
def test_random_stiff_networks_against_roadrunner_and_radau(seed, n, k_ann):
    """Random dual-rail networks with fast annihilation (k_ann·U(1, 5)): auto and both pair-block
    Rosenbrock methods at rtol 1e-8 agree with a tight scipy Radau reference (rtol 1e-12,
    analytic Jacobian) and with libroadrunner's CVODE (rtol 1e-12) on 11 times, the rails stay
    non-negative and the step count stays bounded whatever k_ann."""
    net = stiff_random_network(seed, n, k_ann)
    a = compile_network(net)
    st, k, x0 = a.structure(), np.asarray(a.rate_constants), np.asarray(a.initial)
    times = np.linspace(0.0, 1.0, 11)
    f = jax.jit(lambda x: mass_action_rhs(x, k, st))
    J = jax.jit(lambda x: dense_jacobian(x, k, st))
    ref = solve_ivp(lambda t, x: np.asarray(f(x)), (0.0, 1.0), x0, method="Radau", t_eval=times,
                    rtol=1e-12, atol=1e-15, jac=lambda t, x: np.asarray(J(x))).y.T
    scale = np.abs(ref).max()
    assert scale > 0.1
    refs = [ref]
    try:
        import roadrunner  # noqa: F401  (optional: the "validate" extra)
    except ImportError:
        roadrunner = None
    if roadrunner is not None:
        from neuralcrn.chemistry import to_sbml
        from test_roadrunner_crosscheck import roadrunner_concentrations
        refs.append(roadrunner_concentrations(to_sbml(net), net.species, times))
    for method in ("auto", "rodas5", "ros34pw2"):
        if method == "rodas5" and substitution_depth(st, a.n_species) is None:
            continue                                        # a cycle: refused (tested above)
        tr = simulate(net, times=times, method=method, rtol=1e-8, atol=1e-12)
        c = np.asarray(tr.concentrations)
        for r in refs:
            np.testing.assert_allclose(c, r, rtol=0, atol=2e-6 * scale, err_msg=method)
        assert c.min() > -1e-8 * scale, method
        # explicit methods need ≳ k_ann·T/3.3 steps (3e3 … 1.5e6 here); order 3 costs more at 1e-8
        assert tr.num_steps < (6000 if method == "ros34pw2" else 1000), (method, tr.num_steps)


# ---------------------------------------------------------------------------- Robertson
def test_robertson_to_4e10_on_a_log_grid():
    """Robertson (1966) on 41 log-spaced times up to 4e10 (auto → Rodas5 with the dense
    Jacobian): agrees with scipy Radau (analytic Jacobian, rtol 1e-12) and conserves
    A + B + C = 1 to 1e-12."""
    ts = np.concatenate([[0.0], np.logspace(-5, np.log10(4e10), 40)])

    def f(t, y):
        a, b, c = y
        return [-0.04 * a + 1e4 * b * c, 0.04 * a - 1e4 * b * c - 3e7 * b * b, 3e7 * b * b]

    def jac(t, y):
        a, b, c = y
        return [[-0.04, 1e4 * c, 1e4 * b], [0.04, -1e4 * c - 6e7 * b, -1e4 * b], [0, 6e7 * b, 0]]

    ref = solve_ivp(f, (0.0, ts[-1]), [1.0, 0.0, 0.0], method="Radau", t_eval=ts, rtol=1e-12,
                    atol=1e-20, jac=jac).y.T
    tr = simulate(robertson(), times=ts, rtol=1e-8, atol=1e-14)
    c = tr.concentrations
    np.testing.assert_allclose(c.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(c, ref, rtol=1e-6, atol=1e-13)
    assert c.min() > -1e-14
    assert c[-1, 0] == pytest.approx(5.2083e-8, rel=1e-3)    # A → 0 like 1/(…t)


# ---------------------------------------------------------------------------- agreement
def _diffrax_tsit5(net, times, rtol=1e-11, atol=1e-13):
    a = compile_network(net)
    st = a.structure()
    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(lambda t, y, k: mass_action_rhs(y, k, st)), diffrax.Tsit5(), 0.0,
        times[-1], None, jnp.asarray(a.initial), jnp.asarray(a.rate_constants),
        saveat=diffrax.SaveAt(ts=jnp.asarray(times)),
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol), max_steps=100_000)
    return np.asarray(sol.ys)


_SLOW = pytest.mark.slow


@pytest.mark.parametrize("method", ["auto", "rodas5", pytest.param("rodas5p", marks=_SLOW),
                                    "ros34pw2", pytest.param("rodas5-dense", marks=_SLOW),
                                    pytest.param("ros34pw2-dense", marks=_SLOW), "tsit5"])
def test_methods_agree_with_diffrax_tsit5_at_non_stiff_rates(method):
    """Non-stiff network (annihilation at 10): every method, dense output included (40 save
    times), agrees with diffrax's Tsit5 run at a tight tolerance."""
    net = random_network(np.random.default_rng(3), 3)
    times = np.linspace(0.0, 2.0, 41)
    ref = _diffrax_tsit5(net, times)
    tr = simulate(net, times=times, method=method, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(tr.concentrations, ref, rtol=0, atol=3e-8 * np.abs(ref).max())


def test_dense_output_order():
    """A → B: the Rodas interpolant (4th order) and the cubic Hermite one (ROS34PW2) are
    accurate between steps, not only at them."""
    net = ReactionNetwork([Reaction("A", "B", 1.3)], initial={"A": 1.0})
    times = np.linspace(0.0, 3.0, 301)
    exact = np.exp(-1.3 * times)
    for method, tol, steps in (("rodas5", 2e-6, 60), ("ros34pw2", 2e-5, 200),
                               ("tsit5", 2e-6, 60)):
        tr = simulate(net, times=times, method=method, rtol=1e-6, atol=1e-9)
        assert np.max(np.abs(tr["A"] - exact)) < tol, method
        assert tr.num_steps < steps                     # interpolated, not stepped to each time


def test_stacked_pots_match_separate_solves_and_control_each_pot():
    """K pots of one network, one step sequence: each pot equals its own solve to the tolerance,
    also a pot whose concentrations are 1e-6 of the others' (the error norm is the worst pot's
    RMS, not a sum that large pots would dominate)."""
    net = random_network(np.random.default_rng(4), 3)
    a = compile_network(net)
    st, k = a.structure(), jnp.asarray(a.rate_constants) * 20
    X0 = np.stack([a.initial, 0.5 * a.initial[::-1], 1e-6 * a.initial])
    refs = [np.asarray(solve_final(st, k, x0, 1.0, method="rodas5-dense", rtol=1e-12,
                                   atol=1e-22, max_steps=100_000)) for x0 in X0]
    for method in ("rodas5", "tsit5"):
        got = np.asarray(solve_final_stack(st, k, X0, 1.0, method=method, rtol=1e-8,
                                           atol=1e-16))
        for y, ref in zip(got, refs):
            np.testing.assert_allclose(y, ref, rtol=2e-7, atol=1e-9 * np.abs(ref).max())


def test_solve_final_stack_reports_failure_as_nan():
    a = compile_network(robertson())
    out = solve_final_stack(a.structure(), a.rate_constants, np.stack([a.initial] * 2), 40.0,
                            method="tsit5", max_steps=50)
    assert np.all(np.isnan(np.asarray(out)))


# ---------------------------------------------------------------------------- compilation, errors
def test_new_rate_vector_does_not_recompile(xor_cases):
    case = xor_cases[1e4]
    st, k, T = case.phase_system("feedforward")
    traces = []

    @jax.jit
    def run(k, x0):
        traces.append(1)
        return solve_final(st, k, x0, T, method="rodas5", rtol=1e-6, atol=1e-9)

    a = run(k, case.loaded(0))
    b = run(k * 3.0, case.loaded(1))        # faster everything, other sample
    assert len(traces) == 1 and np.all(np.isfinite(a)) and np.all(np.isfinite(b))
    # simulate: auto decides from the structure alone, so a new rate vector reuses the solver
    from neuralcrn.kinetics._solve import solve_jit
    net = case.circuit.network
    simulate(net, 0.1, 5)
    n = solve_jit._cache_size()
    simulate(net, 0.1, 5, rate_constants=np.asarray(net.rate_constants) * 2.0)
    assert solve_jit._cache_size() == n


def test_bad_solver_options_are_clear_errors():
    net = ReactionNetwork([Reaction("A", "B", 1.0)], initial={"A": 1.0})
    with pytest.raises(SimulationError, match="unknown ODE method 'rodas6'"):
        simulate(net, 1.0, method="rodas6")
    for bad in (float("nan"), float("inf"), 0.0, -1e-6, True):
        with pytest.raises(SimulationError, match="rtol must be a finite number > 0"):
            simulate(net, 1.0, rtol=bad)
        with pytest.raises(SimulationError, match="atol must be a finite number > 0"):
            simulate(net, 1.0, atol=bad)
    with pytest.raises(ValueError, match="unknown ODE method 'euler'"):
        solve_final(compile_network(net).structure(), [1.0], [1.0, 0.0], 1.0, method="euler")
    from neuralcrn.training import SolverSettings
    with pytest.raises(SpecError, match="unknown ODE method 'euler'"):
        SolverSettings(method="euler")
    with pytest.raises(SpecError, match="rtol must be a finite number > 0"):
        SolverSettings(rtol=float("nan"))


def test_cli_method_list_matches_kinetics():
    from neuralcrn.cli._common import ODE_METHODS
    assert ODE_METHODS == METHODS


def test_training_setup_uses_exact_pair_blocks_for_stiff_phases():
    from neuralcrn.training import chemical_setup
    setup = chemical_setup(xor_spec(annihilation=1e4))
    assert setup.phase_methods() == ("rodas5", "tsit5")
    assert setup.phase_methods("ros34pw2") == ("ros34pw2", "ros34pw2")


# ---------------------------------------------------------------------------- error norm
def test_pair_error_norm_saves_steps_where_a_signed_value_crosses_zero():
    """The feedforward phase of the paper's XOR circuit (k_ann = 1e4) from a sample where the
    hidden value z3 crosses zero: measuring each rail's error against its pair's magnitude (the
    default) takes fewer Rodas5 steps than the componentwise norm, and both keep the signed
    values and the rail sums within the tolerance of a tight Radau reference."""
    from neuralcrn.compiler import load_sample
    from neuralcrn.kinetics._solve import _lean_solve
    from neuralcrn.tasks import get_task
    from neuralcrn.training._chemical import chemical_setup

    spec = xor_spec(annihilation=1e4)
    setup = chemical_setup(spec)
    ph, prog = setup.phased, setup.program
    s0 = setup.initial_state(get_task("xor").init_params(0, spec=spec))
    y0 = np.asarray(load_sample(prog, s0, jnp.array([0.3, 0.8]), jnp.array([1.0])))
    T = float(prog.durations[0])
    st, k = ph.structures[0], ph.rate_constants[0]
    k_np = np.asarray(k)

    f_jit = jax.jit(lambda y: mass_action_rhs(y, jnp.asarray(k_np), st))
    j_jit = jax.jit(lambda y: dense_jacobian(y, jnp.asarray(k_np), st))

    def rhs(t, y):
        return np.asarray(f_jit(y))

    def jac(t, y):
        return np.asarray(j_jit(y))

    ref = solve_ivp(rhs, (0, T), y0, method="Radau", rtol=1e-12, atol=1e-15, jac=jac).y[:, -1]
    partner = np.asarray(ph.plans[0].partner)
    pairs = [(i, int(j)) for i, j in enumerate(partner) if i < j]
    sp = setup.circuit.species
    z3 = [p for p in pairs if sp[p[0]].startswith("z3")][0]
    assert y0[z3[0]] > 0.1 and ref[z3[1]] > 0.5      # z3 starts positive, ends negative

    results = {}
    for pair_norm in (False, True):
        r = _lean_solve("rodas5", st, k, jnp.asarray(y0)[None], 0.0, T, None, 1e-6, 1e-9,
                        100_000, None, plan=ph.plans[0], pair_norm=pair_norm)
        assert int(r.status) == 0
        y = np.asarray(r.y[0])
        for i, j in pairs:
            scale = 1e-9 + abs(ref[i]) + abs(ref[j])
            assert abs((y[i] - y[j]) - (ref[i] - ref[j])) < 1e-4 * scale
            assert abs((y[i] + y[j]) - (ref[i] + ref[j])) < 1e-4 * scale
        results[pair_norm] = int(r.num_accepted)
    assert results[True] < 0.85 * results[False]
