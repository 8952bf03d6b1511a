"""Training loops (SPEC §4): chemical vs ideal, loss goes down, reproducibility, replicates.

Tolerances (docs/training.md): after 8 chemical steps at the training solver settings
(Tsit5, rtol 1e-4, atol 1e-7) and k_ann = 1e3, the parameter *change* (θ_8 − θ_0) agrees with
ideal SGD to 1e-3 (quadratic) / 3e-3 (cubic) relative; the measured values are 8e-5 / 6e-4
(two-phase) and 6e-5 / 1.3e-4 (modular, first-order / exact). The solver tolerance is not the
limit: rtol 1e-6 gives the same numbers; the chemistry's 1/k_ann is.
"""

import numpy as np
import pytest

from neuralcrn.errors import DataError, SpecError
from neuralcrn.ideal import (ChemistryRates, ModelSpec, SolverOptions, init_params,
                             params_relative_error, train_epoch)
from neuralcrn.training import (SolverSettings, TrainConfig, chemical_epoch, chemical_predict,
                                chemical_setup, predict_params, train)


def _xor(n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, (n, 2))
    return X, ((X[:, 0] > .5) ^ (X[:, 1] > .5)).astype(float)[:, None]


def _spec(nl="quadratic", gradient="first-order", k_ann=1e3):
    if nl == "cubic":
        return ModelSpec(inputs=2, augment_count=1, augment_value=0.2, nonlinearity="cubic",
                         alpha=1.0, T=0.9, gradient=gradient, learning_rate=0.1,
                         rates=ChemistryRates(annihilation=k_ann))
    return ModelSpec(inputs=2, augment_count=1, augment_value=0.2, nonlinearity="quadratic",
                     alpha=0.15, T=0.4, gradient=gradient, learning_rate=0.1,
                     rates=ChemistryRates(annihilation=k_ann))


def _change(a, p):
    return tuple(np.asarray(u) - np.asarray(v) for u, v in zip(a, p))


@pytest.mark.parametrize("schedule,nl,gradient,tol", [
    ("two-phase", "quadratic", "first-order", 1e-3),
    ("two-phase", "cubic", "first-order", 3e-3),
    ("modular", "quadratic", "first-order", 1e-3),
    ("modular", "quadratic", "exact", 1e-3),
])
def test_chemical_steps_match_ideal_sgd(schedule, nl, gradient, tol):
    spec = _spec(nl, gradient)
    p = init_params(spec, 0, h_scale=0.5, readout="random")
    X, Y = _xor(8)
    setup = chemical_setup(spec, schedule)
    state, losses = chemical_epoch(setup, setup.initial_state(p), X, Y, SolverSettings())
    q, ideal_losses = train_epoch(spec, p, X, Y, solver=SolverOptions())
    got = setup.read_params(state)
    assert params_relative_error(_change(got, p), _change(q, p)) < tol
    assert params_relative_error(got, q) < tol / 10
    np.testing.assert_allclose(losses, np.asarray(ideal_losses), atol=tol)


def test_chemical_forward_matches_ideal_prediction():
    spec = _spec()
    p = init_params(spec, 2, h_scale=0.5)
    setup = chemical_setup(spec, "two-phase")
    X, _ = _xor(20, 3)
    chem = chemical_predict(setup, setup.initial_state(p), X)
    ideal = predict_params(spec, p, X)
    np.testing.assert_allclose(chem, ideal, atol=1e-3)


def test_forward_block_size_rule():
    from neuralcrn.training._chemical import (PREDICT_CHUNK, PREDICT_STACK_BUDGET, predict_block,
                                              predict_chunk)
    # XOR host-clocked (525 species) and autonomous (739): one pot per block; the small
    # linear-regression circuits (43, 83) stack 23 and 12 pots
    assert [predict_block(S) for S in (739, 525, 83, 43)] == [1, 1, 12, 23]
    assert predict_block(1) == PREDICT_CHUNK and predict_block(10 ** 6) == 1
    assert predict_block(PREDICT_STACK_BUDGET // 7) == 7
    assert [predict_chunk(S) for S in (739, 83, 43, 1)] == [64, 12 * 42, 23 * 22, PREDICT_CHUNK]


def test_forward_blocks_equal_one_stacked_system():
    """Blocks of stacked pots (default: this 61-species circuit stacks 16) give the predictions of
    the old single stack of PREDICT_CHUNK pots and of one pot per solve, to the solver's
    tolerance; the padding of the 21 points to a chunk of 512 is cut off (and not solved)."""
    from neuralcrn.training._chemical import CompiledPredictor
    spec = _spec()
    p = init_params(spec, 2, h_scale=0.5)
    setup = chemical_setup(spec, "two-phase")
    X, _ = _xor(21, 5)
    state = setup.initial_state(p)
    default = CompiledPredictor(setup, SolverSettings())
    assert setup.n_species == 61 and (default.block, default.chunk) == (16, 512)
    got = default(setup, state, X)
    assert got.shape == (21, 1) and np.all(np.isfinite(got))
    for block in (1, 4, 512):
        other = chemical_predict(setup, state, X, block=block)
        np.testing.assert_allclose(other, got, rtol=0, atol=2e-6)
    # a block of 1 is each point alone: the same as predicting the points one by one, exactly
    ones = chemical_predict(setup, state, X, block=1)
    for i in (0, 7, 20):
        np.testing.assert_array_equal(chemical_predict(setup, state, X[i:i + 1], block=1),
                                      ones[i:i + 1])
    np.testing.assert_allclose(got, predict_params(spec, p, X), atol=1e-3)
    with pytest.raises(SpecError, match="block size"):
        CompiledPredictor(setup, SolverSettings(), block=0)


def test_replicate_stack_equals_single_runs():
    spec = _spec()
    setup = chemical_setup(spec, "two-phase")
    X, Y = _xor(6)
    ps = [init_params(spec, s, h_scale=0.3) for s in (0, 1)]
    states = np.stack([setup.initial_state(p) for p in ps])
    Xs = np.stack([X, X[::-1]])
    Ys = np.stack([Y, Y[::-1]])
    s_b, l_b = chemical_epoch(setup, states, Xs, Ys)
    for k in range(2):
        # the stacked pots share one adaptive step sequence: equal to the solver's accuracy
        s_k, l_k = chemical_epoch(setup, states[k], Xs[k], Ys[k])
        for a, b in zip(setup.read_params(s_b[k]), setup.read_params(s_k)):
            np.testing.assert_allclose(a, b, atol=1e-7)
        np.testing.assert_allclose(l_b[k], l_k, atol=1e-7)


# ------------------------------------------------------------------ the loop on real tasks
def _fast_spec(task):
    """The task's default model with k_ann = 1e3 (fast enough for tests, see docs/training.md)."""
    from neuralcrn.tasks import get_task
    spec = get_task(task).model_spec
    return spec.replace(rates=ChemistryRates(annihilation=1e3, readout=spec.rates.readout,
                                             update=spec.rates.update))


def _quick(task="xor", **kw):
    kw.setdefault("epochs", 2)
    kw.setdefault("chemical_eval", False)
    kw.setdefault("ideal_reference", False)
    kw.setdefault("spec", _fast_spec(task))
    return TrainConfig(task=task, **kw)


TASK_NAMES = ["linear-regression", "bilinear", "sin-square", "linear-classification", "xor",
              "and", "or", "rings", "iris"]
REAL_TASKS = ["breast-cancer", "wine", "digits"]


@pytest.mark.parametrize("task", TASK_NAMES)
def test_short_chemical_training_lowers_the_loss(task):
    # Iris's default circuit (n = 96: 2 721 species) takes a minute to compile and run; its
    # circuit at n = 16 exercises the same construction
    spec = _fast_spec(task)
    if task == "iris":
        spec = spec.replace(hidden=16)
    r = train(_quick(task, epochs=2, spec=spec))
    h = r.history
    assert h["train_loss"][0, -1] < h["train_loss"][0, 0]
    assert h["val_loss"][0, -1] < h["val_loss"][0, 0]
    assert np.all(np.isfinite(h["running_loss"][0, 1:]))
    assert r.setup.circuit.max_molecularity <= 2


@pytest.mark.parametrize("task", REAL_TASKS)
def test_real_data_tasks_train(task):
    """The bundled data sets train (a narrow circuit, one epoch, so the test stays short): the
    chemical loss falls, and digits' circuit keeps its 64 inputs."""
    from neuralcrn.tasks import get_task
    spec = get_task(task).model_spec.replace(hidden=4)
    mode = "ideal" if task == "digits" else "chemical"
    r = train(_quick(task, epochs=1, spec=spec, mode=mode))
    h = r.history
    assert h["val_loss"][0, -1] < h["val_loss"][0, 0]
    assert r.spec.inputs == {"breast-cancer": 30, "wine": 13, "digits": 64}[task]
    assert r.setup.circuit.max_molecularity <= 2


def test_every_task_is_covered():
    from neuralcrn.tasks import task_names
    assert sorted(task_names()) == sorted(TASK_NAMES + REAL_TASKS)


def test_training_is_reproducible():
    a = train(_quick(epochs=2))
    b = train(_quick(epochs=2))
    assert b.timings["compile_epoch"] == 0.0          # same shapes: the compiled epoch is reused
    for k in ("train_loss", "val_loss", "running_loss"):
        np.testing.assert_array_equal(a.history[k], b.history[k])
    for pa, pb in zip(a.params[0], b.params[0]):
        np.testing.assert_array_equal(pa, pb)
    c = train(_quick(epochs=2, seed=1))
    assert not np.array_equal(a.history["train_loss"], c.history["train_loss"])


def test_eval_every_thins_the_history_not_the_training():
    every = train(_quick(epochs=3))
    sparse = train(_quick(epochs=3, eval_every=2))
    h, g = sparse.history, every.history
    # evaluated before training, after epoch 2 (a multiple of 2) and after the last epoch
    assert np.all(np.isfinite(h["val_loss"][0, [0, 2, 3]])) and np.isnan(h["val_loss"][0, 1])
    np.testing.assert_array_equal(h["val_loss"][0, [0, 2, 3]], g["val_loss"][0, [0, 2, 3]])
    np.testing.assert_array_equal(h["running_loss"], g["running_loss"])   # same chemistry
    np.testing.assert_array_equal(sparse.params[0].theta, every.params[0].theta)
    t = sparse.timings
    assert abs(t["setup"] + t["compile"] + t["train"] + t["evaluate"] - t["total"]) \
        <= 0.05 * t["total"] + 0.05
    with pytest.raises(SpecError, match="eval_every"):
        TrainConfig(task="xor", eval_every=-1)


def test_chemical_and_ideal_training_agree():
    chem = train(_quick(epochs=2, mode="chemical"))
    ideal = train(_quick(epochs=2, mode="ideal"))
    assert params_relative_error(chem.params[0], ideal.params[0]) < 1e-2
    np.testing.assert_allclose(chem.history["train_loss"], ideal.history["train_loss"],
                               rtol=5e-2)


def test_replicates_report_mean_and_sd_and_follow_their_seed():
    single = train(_quick(epochs=1))
    rep = train(_quick(epochs=1, replicates=2))
    assert rep.history["train_loss"].shape == (2, 2)
    np.testing.assert_allclose(rep.history["train_loss"][0], single.history["train_loss"][0],
                               rtol=1e-6)
    assert set(rep.summary) >= {"train.loss", "val.loss", "test.loss"}
    assert rep.summary["test.loss"]["sd"] >= 0
    # replicate 1 is seed 1 alone: its own data, initial parameters and order
    one = train(_quick(epochs=1, seed=1))
    assert not np.array_equal(rep.datasets[0].X_train, rep.datasets[1].X_train)
    np.testing.assert_array_equal(rep.datasets[1].X_train, one.dataset.X_train)
    np.testing.assert_allclose(rep.history["train_loss"][1], one.history["train_loss"][0],
                               rtol=1e-6)
    vals = [m["test"]["loss"] for m in rep.metrics]
    assert rep.summary["test.loss"]["mean"] == pytest.approx(np.mean(vals))
    assert rep.summary["test.loss"]["sd"] == pytest.approx(np.std(vals, ddof=1))


def test_headline_is_the_chemical_forward_and_the_ideal_run_is_compared():
    """Chemical mode: metrics["test"] is the circuit's own forward pass (= chemical_predict on the
    final state), the ideal predictor on the same parameters sits beside it, and the ideal run
    from the same start and order gives the parameter difference (= params_relative_error)."""
    from neuralcrn.tasks.metrics import evaluate
    r = train(_quick(epochs=2, chemical_eval=True, ideal_reference=True))
    m = r.metrics[0]
    assert m["evaluated_by"] == "chemical forward pass"
    ds = r.dataset
    # the points of all splits are integrated as pots of stacked systems that share adaptive
    # steps: the same points in the same chunks give the same numbers
    X_all = np.concatenate([ds.split(s)[0] for s in ("train", "val", "test")])
    chem = chemical_predict(r.setup, r.final_state[0], X_all, r.config.solver)[-len(ds.X_test):]
    np.testing.assert_allclose(r.chemical_predictions[0]["test"], chem, atol=1e-12)
    assert m["test"]["loss"] == pytest.approx(evaluate(ds, chem, ds.Y_test)["half_mse"])
    ideal = predict_params(r.spec, r.params[0], ds.X_test)
    assert m["ideal_predictor"]["test"]["loss"] == pytest.approx(
        evaluate(ds, ideal, ds.Y_test)["half_mse"])
    ref = train(_quick(epochs=2, mode="ideal"))
    for a, b in zip(r.reference_params[0], ref.params[0]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    d = m["vs_ideal_training"]
    assert d["param_relative_difference"] == pytest.approx(
        params_relative_error(r.params[0], ref.params[0]))
    assert 0 < d["param_relative_difference"] < 1e-2
    assert d["metrics_difference"]["test"]["loss"] == pytest.approx(
        m["test"]["loss"] - ref.metrics[0]["test"]["loss"])
    assert r.history["param_diff"][0, -1] == pytest.approx(d["param_relative_difference"])
    # a fresh pot holding the learned parameters on one rail each (what `predict` builds from
    # model.json) gives the same ŷ up to the minority-rail effect: after training both rails of
    # a parameter hold some concentration (up to ≈ 0.03 here), which the fast annihilation of the
    # Z rails absorbs only to O(1/k_ann) — measured 3e-5
    fresh = chemical_predict(r.setup, r.setup.initial_state(r.params[0]), ds.X_test[:50])
    np.testing.assert_allclose(fresh, chem[:50], atol=2e-4)


def test_bad_configurations():
    with pytest.raises(DataError, match="unknown task"):
        train(TrainConfig(task="no-such-task", epochs=1))
    with pytest.raises(SpecError):
        TrainConfig(task="xor", mode="quantum")
    with pytest.raises(SpecError):
        TrainConfig(task="xor", schedule="three-phase")
    with pytest.raises(SpecError, match="first-order"):
        train(TrainConfig(task="xor", epochs=1, spec=_spec(gradient="exact")))
    with pytest.raises(SpecError):
        TrainConfig(task="xor", replicates=0)
    with pytest.raises(SpecError, match="init"):
        TrainConfig(task="xor", init={"scale": 1.0, "shape": "fan"})
    with pytest.raises(SpecError, match="init scale"):
        TrainConfig(task="xor", init={"scale": "a"})
    with pytest.raises(SpecError, match="init h_scale"):
        TrainConfig(task="xor", init={"h_scale": -1.0})
    with pytest.raises(SpecError, match="init readout"):
        TrainConfig(task="xor", init={"readout": "zeros"})


def test_init_override_gives_the_papers_initialisation():
    from neuralcrn.ideal import init_params
    r = train(_quick(epochs=0, mode="ideal", init={"scale": 1.0, "readout": "ones"}))
    want = init_params(r.spec, 0, 1.0, readout="ones")
    for got, w in zip(r.param_history[0][0], want):
        np.testing.assert_array_equal(got, np.asarray(w))
    assert np.all(r.params[0].W == 1.0)


def test_stacked_step_is_the_compiler_step():
    """run_step_stack (each phase's own reactions, pots stacked) integrates the same ODEs as
    compiler.run_step (the whole masked network)."""
    import jax.numpy as jnp

    from neuralcrn.compiler import run_step
    from neuralcrn.training._chemical import run_step_stack
    for schedule in ("two-phase", "modular"):
        spec = _spec()
        setup = chemical_setup(spec, schedule)
        s0 = setup.initial_state(init_params(spec, 1, h_scale=0.5, readout="random"))
        x, y = np.array([0.3, 0.8]), np.array([1.0])
        ref = np.asarray(run_step(setup.program, s0, x, y, rtol=1e-10, atol=1e-12))
        got = np.asarray(run_step_stack(setup.program, setup.phased, jnp.asarray(s0)[None],
                                        x[None], y[None], rtol=1e-10, atol=1e-12))[:, 0]
        np.testing.assert_allclose(got, ref, rtol=1e-7, atol=1e-9)


def test_compiled_program_cache_keeps_only_the_most_recent():
    """The per-process store of compiled programs is bounded (least recently used dropped):
    keeping every compiled program alive crashed XLA's compiler in long processes."""
    from neuralcrn.training._chemical import _ProgramCache
    cache = _ProgramCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1          # "a" is now the most recent
    cache.put("c", 3)                   # evicts "b"
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3
    assert len(cache) == 2
    cache.clear()
    assert len(cache) == 0 and cache.get("a") is None


def test_background_epoch_returns_and_reraises_in_the_caller():
    """A chemical epoch runs on a background thread: its result and its exception (a
    SimulationError from a diverging stochastic run, say) reach the training loop's thread."""
    from neuralcrn.errors import SimulationError
    from neuralcrn.training._loop import _Background
    assert _Background(lambda a, b: a * b, 6, 7).result() == 42

    def fail():
        raise SimulationError("counts grew without bound")
    with pytest.raises(SimulationError, match="without bound"):
        _Background(fail).result()
