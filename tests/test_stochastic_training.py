"""Stochastic chemical training (issue 10): reproducibility, counts, bad input, large-Ω
convergence to the ODE training, the CLI and run folder."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from neuralcrn.cli import main
from neuralcrn.errors import SimulationError, SpecError
from neuralcrn.training import TrainConfig, train
from neuralcrn.training._omega_study import convergence, fit_slope

# cheap points: the linear-regression circuit (43 species, 76 reactions, 40 samples per epoch)
POINTS = {"ssa": 30.0, "tau-leap": 1e4, "cle": 1e5}


def _cfg(kinetics, **kw):
    return TrainConfig(task="linear-regression", epochs=1, kinetics=kinetics,
                       volume=POINTS[kinetics], eval_every=0, chemical_eval=False,
                       **kw)


@pytest.mark.parametrize("kinetics", sorted(POINTS))
def test_reproducible_per_seed_and_replicates_are_seeds(kinetics):
    """Same seed, same counts; replicate 0 of a K-replicate run is the single run (replicate k
    draws its data set, initial parameters, sample order and noise from seed + k)."""
    a = train(_cfg(kinetics, seed=1))
    b = train(_cfg(kinetics, seed=1))
    np.testing.assert_array_equal(a.final_state, b.final_state)
    assert a.metrics[0]["test_stochastic_forward"] == b.metrics[0]["test_stochastic_forward"]
    both = train(_cfg(kinetics, seed=1, replicates=2))
    np.testing.assert_array_equal(both.final_state[0], a.final_state[0])
    assert not np.array_equal(both.final_state[0], both.final_state[1])
    assert both.summary["test.loss"]["sd"] > 0
    # the parameters live only as counts: integers for the exact SSA and tau-leaping
    counts = a.final_state * POINTS[kinetics]
    if kinetics != "cle":
        np.testing.assert_allclose(counts, np.rint(counts), atol=1e-6)
    assert np.all(counts >= 0)
    st = a.stochastic
    assert st["kinetics"] == kinetics and st["steps"] == 40
    assert st["events_per_step"]["feedforward"] > 0 and st["events_per_step"]["feedback"] > 0


def test_exact_ssa_counts_events_like_the_chemistry():
    """Events per step of the exact SSA ≈ Ω × Σ_r ∫ rate_r dt of the ODE (the linear-regression
    circuit fires ≈ 1600 Ω in the feedforward phase, docs/stochastic.md)."""
    r = train(_cfg("ssa", seed=0))
    per = r.stochastic["events_per_step"]
    assert 1000 * 30 < per["feedforward"] < 2500 * 30
    assert r.stochastic["exact_firings"] == r.stochastic["events_total"]


def test_stochastic_training_learns():
    cfg = TrainConfig(task="linear-regression", epochs=4, kinetics="tau-leap", volume=1e4,
                      eval_every=0, chemical_eval=True)
    r = train(cfg)
    h = r.history["train_loss"][0]
    assert h[-1] < 0.3 * h[0]
    m = r.metrics[0]
    assert m["test"]["loss"] < 0.2
    # the honest evaluation: the forward pass at the training Ω is noisier, not better
    assert m["test_stochastic_forward"]["loss"] >= 0.9 * m["test"]["loss"]
    # "test" is the ODE forward pass of the learned counts: the ideal math on the same θ agrees
    assert abs(m["ideal_predictor"]["test"]["loss"] - m["test"]["loss"]) < 0.01


@pytest.mark.parametrize("kw, match", [
    (dict(kinetics="ssa"), "needs a volume"),
    (dict(kinetics="ssa", volume=0.0), "volume"),
    (dict(kinetics="ssa", volume=-5.0), "volume"),
    (dict(kinetics="ssa", volume=float("inf")), "volume"),
    (dict(kinetics="gillespie", volume=10.0), "unknown kinetics"),
    (dict(volume=10.0), "only with stochastic kinetics"),
    (dict(kinetics="cle", volume=10.0, mode="ideal"), "mode 'chemical'"),
    (dict(kinetics="tau-leap", volume=10.0, tau_epsilon=2.0), "tau_epsilon"),
    (dict(kinetics="cle", volume=10.0, cle_dt=0.0), "cle_dt"),
])
def test_bad_configurations(kw, match):
    with pytest.raises(SpecError, match=match):
        TrainConfig(task="xor", **kw)


@pytest.mark.parametrize("args, message", [
    (["--kinetics", "ssa", "--volume", "10", "--tau-epsilon", "0.1"],
     "--tau-epsilon 0.1 applies only to --kinetics tau-leap, not ssa"),
    (["--cle-dt", "0.1"], "--cle-dt 0.1 applies only to --kinetics cle, not ode"),
    (["--kinetics", "tau-leap", "--volume", "1e4", "--cle-rtol", "1e-4"],
     "--cle-rtol 0.0001 applies only to --kinetics cle, not tau-leap"),
])
def test_cli_refuses_another_methods_option(tmp_path, args, message):
    res = CliRunner().invoke(main, ["train", "linear-regression", "--epochs", "1", "--out",
                                    str(tmp_path / "r")] + args)
    assert res.exit_code == 1 and message in res.output, res.output
    assert "Traceback" not in res.output and not (tmp_path / "r").exists()


def test_amounts_too_large_to_count_are_refused():
    with pytest.raises(SimulationError, match="count exactly"):
        train(TrainConfig(task="linear-regression", epochs=1, kinetics="ssa", volume=1e17))


def test_volume_too_small_to_hold_any_molecule_is_refused():
    """At Ω = 0.01 every amount (the largest is the drive constant 1) rounds to 0 molecules: the
    run is refused, naming that species, instead of training an empty circuit."""
    with pytest.raises(SimulationError, match=r"rounds to 0 molecules.*'u3' = 1, is 0.01"):
        train(TrainConfig(task="linear-regression", epochs=1, kinetics="ssa", volume=0.01))


def test_large_volume_converges_to_ode_training():
    """RMS(θ_Ω − θ_ODE) after 10 steps falls like Ω^(−1/2) (tau-leaping, Ω = 1e3 … 1e6; the
    full measurement with all methods is in docs/stochastic.md)."""
    res = convergence("linear-regression", "tau-leap", [1e3, 1e4, 1e5, 1e6], steps=10,
                      replicates=6)
    rms = [r["rms"] for r in res["rows"]]
    assert all(b < a for a, b in zip(rms, rms[1:])), rms
    assert -0.7 < res["slope"] < -0.35, res
    assert fit_slope([1, 10, 100], [1, 10 ** -0.5, 0.1]) == pytest.approx(-0.5)


def test_cle_converges_to_ode_training():
    res = convergence("linear-regression", "cle", [1e3, 1e4, 1e5], steps=10, replicates=6,
                      cle_rtol=1e-4)
    assert -0.75 < res["slope"] < -0.3, res


@pytest.mark.slow
@pytest.mark.parametrize("kinetics, omegas", [("ssa", [10, 100, 1000]),
                                              ("tau-leap", [1e3, 1e4, 1e5, 1e6]),
                                              ("cle", [1e4, 1e5, 1e6])])
def test_xor_converges_to_ode_training(kinetics, omegas):
    res = convergence("xor", kinetics, omegas, steps=20, replicates=6, cle_rtol=1e-4)
    assert -0.7 < res["slope"] < -0.35, res


def test_cli_stochastic_run_folder(tmp_path):
    out = tmp_path / "run"
    r = CliRunner().invoke(main, ["train", "linear-regression", "--kinetics", "ssa", "--volume",
                                  "30", "--epochs", "1", "--out", str(out), "-q",
                                  "--no-chemical-eval"])
    assert r.exit_code == 0, r.output
    assert "test (ssa, Ω = 30)" in r.output and "reaction firings" in r.output
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["kinetics"] == "ssa" and cfg["volume"] == 30.0
    m = json.loads((out / "metrics.json").read_text())
    assert m["kinetics"] == "ssa" and m["stochastic"]["events_per_step"]["feedforward"] > 0
    assert "test_stochastic_forward" in m
    again = tmp_path / "again"
    r = CliRunner().invoke(main, ["train", "--config", str(out / "config.json"), "--out",
                                  str(again), "-q"])
    assert r.exit_code == 0, r.output
    m2 = json.loads((again / "metrics.json").read_text())
    assert m2["test"] == m["test"] and m2["test_stochastic_forward"] == m["test_stochastic_forward"]


@pytest.mark.parametrize("args, message", [
    (["--kinetics", "ssa"], "needs a volume"),
    (["--kinetics", "tau-leap", "--volume", "0"], "volume"),
    (["--volume", "100"], "only with stochastic kinetics"),
])
def test_cli_bad_input(args, message, tmp_path):
    r = CliRunner().invoke(main, ["train", "xor", "--out", str(tmp_path / "x"), *args])
    assert r.exit_code != 0
    assert message in r.output and "Traceback" not in r.output


def test_minimal_circuit_and_resume_continue_the_noise_streams(tmp_path):
    """The minimal linear-regression circuit (single-rail inputs, y into the error rail) trains
    on counts, and a stochastic run resumed after 2 of 3 epochs equals the uninterrupted run."""
    base = ["train", "linear-regression", "--minimal", "--kinetics", "ssa", "--volume", "30",
            "-q", "--no-chemical-eval"]
    r = CliRunner().invoke(main, base + ["--epochs", "3", "--out", str(tmp_path / "a")])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, base + ["--epochs", "2", "--out", str(tmp_path / "b")])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["train", "--resume", str(tmp_path / "b"), "--epochs", "1",
                                  "-q"])
    assert r.exit_code == 0, r.output
    a, b = (json.loads((tmp_path / n / "metrics.json").read_text()) for n in ("a", "b"))
    assert a["epochs"] == b["epochs"] == 3
    assert a["test"] == b["test"] and a["test_stochastic_forward"] == b["test_stochastic_forward"]
    assert a["circuit"]["species"] == 10 and a["test"]["loss"] < 1.0


def test_runaway_limit_counts_the_loaded_sample():
    """Regression: the limit came from a step with nothing loaded (≈ 1e3 firings per phase on
    linear regression), so its 1e6 floor stopped a healthy exact-SSA step at Ω = 1000, whose
    feedforward phase fires ≈ 1.6e6 times (docs/stochastic.md)."""
    res = convergence("linear-regression", "ssa", [1000.0], steps=1, replicates=1)
    assert res["rows"][0]["events_per_step"]["feedforward"] > 1e6


def test_runaway_counts_stop_the_run(monkeypatch):
    """An exact-SSA phase firing far more than the ODE predicts for the first step stops the run
    with a message (a diverging training at small Ω would otherwise run for days); the study's
    per-point function records it as failed."""
    from neuralcrn.training import _stochastic
    monkeypatch.setattr(_stochastic, "RUNAWAY_FACTOR", 1e-3)    # floor: 1e6 firings per phase
    cfg = TrainConfig(task="linear-regression", epochs=1, kinetics="ssa", volume=1000.0,
                      chemical_eval=False)
    with pytest.raises(SimulationError, match="grew without bound"):
        train(cfg)
    p = _stochastic.train_stochastic_point("linear-regression", "ssa", 1000.0, 0, epochs=1,
                                           chemical_eval=False)
    assert "grew without bound" in p["failed"] and p["test"]["loss"] is None
