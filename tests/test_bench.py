"""``neuralcrn bench --quick``: the JSON has its fields and the three feedforward solvers agree.

No timing assertions (the machine may be busy); only structure, counts and agreement.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from neuralcrn.bench import BENCHMARKS, SCHEMA, BenchConfig, CircuitCache, format_report
from neuralcrn.bench._feedforward import feedforward_benchmark, numpy_rhs, rel_diff
from neuralcrn.bench._floor import count_rhs_evaluations, tsit5_stability_bound
from neuralcrn.bench._scaling import loglog_slope
from neuralcrn.cli import main
from neuralcrn.kinetics import mass_action_rhs


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    r = CliRunner().invoke(main, ["bench", "--quick", "--out", str(out)])
    assert r.exit_code == 0, r.output + repr(r.exception)
    return json.loads(out.read_text()), r.output


def test_quick_bench_json_fields(quick_results):
    res, text = quick_results
    assert res["schema"] == SCHEMA and res["config"]["quick"] is True
    for key in ("machine", "versions", "load_average", "durations_s", "targets", "created"):
        assert key in res
    b = res["benchmarks"]
    assert set(b) == set(BENCHMARKS)

    (ff,) = b["feedforward"]["circuits"]
    assert ff["circuit"] == "xor" and ff["phase"]["T"] == pytest.approx(0.4)
    assert ff["tolerances"] == {"rtol": 1e-8, "atol": 1e-10, "max_steps": 200_000}
    assert ff["phase"]["method"] == "tsit5"
    assert ff["error"]["neuralcrn"] < 1e-6 and ff["error"]["scipy_lsoda"] < 1e-5
    nc = ff["solvers"]["neuralcrn"]
    for k in ("compile_s", "first_s", "median_s", "runs_s", "num_steps"):
        assert k in nc
    assert nc["status"] == 0 and len(nc["runs_s"]) == res["config"]["repeats"]
    assert "nfev" in ff["solvers"]["scipy_lsoda"]
    assert "scipy_lsoda/neuralcrn" in ff["ratios"]
    assert ff["agreement"]["outside_module_unchanged"] is True

    sc = b["scaling"]
    assert [r["d"] for r in sc["rows"]] == list(res["config"]["scaling_dims"])
    assert all(r["timing"]["all_finite"] for r in sc["rows"])
    # counts grow with d at fixed hidden width
    assert sc["rows"][0]["reactions"] < sc["rows"][1]["reactions"]
    assert "slope_time_vs_d" in sc

    (fl,) = b["floor"]["cases"]
    assert fl["same_path"] is True and fl["method"] == "tsit5"   # k_ann = 100: not stiff
    # FSAL Tsit5: 6 new evaluations per step, plus f(y0) and the first step-size guess
    assert fl["rhs_evaluations"] == 6 * fl["num_steps"] + 2
    assert fl["floor_s"] > 0 and fl["overhead_ratio"] > 0

    so = b["solvers"]
    assert {r["annihilation"] for r in so["rows"]} == {100.0, 1e6}
    for r in so["rows"]:
        assert r["status"] == 0 and r["error"] < 1e-3, r      # at rtol 1e-4 vs Radau 1e-12
    auto = {r["annihilation"]: r["resolved"] for r in so["rows"]
            if r["method"] == "auto" and r["phase"] == "feedforward"}
    assert auto == {100.0: "tsit5", 1e6: "rodas5"}
    assert {"phase_steps_vs_annihilation[feedforward]",
            "phase_steps_vs_annihilation[feedback]"} <= {t["name"] for t in res["targets"]}

    names = {t["name"] for t in res["targets"]}
    assert "feedforward_vs_scipy[xor]" in names and "step_time_growth" in names
    (tr,) = b["training"]["runs"]
    assert tr["circuit"] == "xor" and tr["annihilation"] == 100.0
    assert tr["single"]["epochs"] == 1 and tr["single"]["samples"] >= 100
    assert tr["replicates"]["replicates"] == 2 and "per_epoch" in tr["ratios"]
    assert tr["spec"]["gradient"] == "first-order" and tr["spec"]["alpha"] == 0.15
    assert tr["spec"]["rates"]["annihilation"] == 100.0
    t = tr["single"]["timings"]
    # the parts of the wall time add up (nothing hidden in between)
    assert abs(t["setup"] + t["compile"] + t["train"] + t["evaluate"] - t["total"]) \
        <= 0.05 * t["total"] + 0.05
    assert {"xor_training_wall[xor]", "replicates_cost[xor]"} <= names
    assert "Feedforward phase of xor" in text and "Targets" in text


def test_three_feedforward_solvers_agree(quick_results):
    res, _ = quick_results
    (ff,) = res["benchmarks"]["feedforward"]["circuits"]
    agree = ff["agreement"]
    assert agree["scipy_lsoda"]["rel_diff"] <= 1e-5
    assert agree["neuralcrn_module"]["rel_diff"] <= 1e-5
    if "roadrunner" in agree:  # libroadrunner is an optional ("validate") dependency
        assert agree["roadrunner"]["rel_diff"] <= 1e-5
        assert ff["solvers"]["roadrunner"]["load_s"] > 0
    for name in ("neuralcrn_vmap", "neuralcrn_stacked"):
        assert name in ff["solvers"]
    assert ff["solvers"]["neuralcrn_stacked"]["rel_diff_vs_separate"] <= 1e-5


def test_tiny_feedforward_api_and_helpers():
    cache = CircuitCache(n_samples=2)
    case = cache.scaling(2)
    r = feedforward_benchmark(case, repeats=1, batch=None, roadrunner=False, methods=())
    assert {"neuralcrn", "neuralcrn_module", "scipy_lsoda"} <= set(r["solvers"])
    assert "roadrunner" not in r["solvers"] and "neuralcrn_vmap" not in r["solvers"]
    for name, a in r["agreement"].items():
        assert name == "outside_module_unchanged" or a["rel_diff"] <= 1e-5, name
    # the numpy rhs equals the JAX rhs on the same arrays, in both phase forms
    x = case.loaded(0) + 0.01
    for reduced in (True, False):
        st, k, _ = case.phase_system("feedforward", reduced=reduced)
        np.testing.assert_allclose(numpy_rhs(st, k, len(x))(0.0, x),
                                   np.asarray(mass_action_rhs(x, k, st)), rtol=1e-12,
                                   atol=1e-14)
    # and the two forms are the same ODE
    a = np.asarray(mass_action_rhs(x, *case.phase_system("feedforward")[1::-1]))
    b = np.asarray(mass_action_rhs(x, *case.phase_system("feedforward", reduced=False)[1::-1]))
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    # the counted evaluations follow the solve's own step count
    st, k, T = case.phase_system("feedforward")
    for method, per_step in (("tsit5", 6), ("rodas5", 8)):
        c = count_rhs_evaluations(st, k, case.loaded(0), T, method=method, rtol=1e-6, atol=1e-9,
                                  max_steps=10_000)
        assert c["num_steps"] == c["accepted"] + c["rejected"]
        assert c["evaluations"] == per_step * c["num_steps"] + 2
    assert 3.0 < tsit5_stability_bound() < 4.0
    assert loglog_slope([1, 2, 4], [3, 6, 12]) == pytest.approx(1.0)
    assert rel_diff([1.0, 2.0], [1.0, 2.0]) == 0.0


def test_report_and_quick_config():
    q = BenchConfig.quick_config()
    assert q.quick and q.repeats == 2 and q.training_epochs == 1
    res = {"machine": {"cpu_count": 2, "jax_backend": "cpu"}, "versions": {"jax": "x"},
           "load_average": {"start": [0.1, 0.2, 0.3], "end": None}, "config": {"quick": True},
           "benchmarks": {}, "targets": [{"name": "t", "goal": "g", "value": 1.0, "met": None,
                                          "detail": "d"}]}
    text = format_report(res)
    assert "n/a" in text and "load average" in text


def test_cli_rejects_unknown_benchmark():
    r = CliRunner().invoke(main, ["bench", "--only", "nope"])
    assert r.exit_code != 0


def test_stochastic_bench_entry(quick_results):
    """``--only stochastic``: the XOR training circuit's steps by the ODE and every stochastic
    method, events per step consistent with the chemistry, the ≥ 10 M firings/s target listed."""
    res, text = quick_results
    st = res["benchmarks"]["stochastic"]
    from neuralcrn.tasks import get_task
    from neuralcrn.training import chemical_setup
    net = chemical_setup(get_task("xor").model_spec, "two-phase").circuit.network
    assert (st["circuit"]["species"], st["circuit"]["reactions"]) == (net.n_species,
                                                                      net.n_reactions)
    kinds = [m["kinetics"] for m in st["methods"]]
    assert kinds[0] == "ssa" and {"tau-leap", "cle"} <= set(kinds)
    ssa = st["methods"][0]
    per = ssa["events_per_step"]
    # ≈ 410 firings per unit Ω per step for the n = 16 circuit (docs/stochastic.md), ≈ 1270 for
    # the n = 32 one (measured at Ω = 100): a few hundred to a few thousand per hidden unit pair
    assert 200 * ssa["volume"] < per["feedforward"] + per["feedback"] < 3000 * ssa["volume"]
    assert st["ode"]["per_step_s"] > 0 and all(m["per_step_s"] > 0 for m in st["methods"])
    assert "ssa_events_per_second" in {t["name"] for t in res["targets"]}
    assert "Stochastic training, XOR training circuit" in text


def test_cached_training_run_in_fresh_processes(monkeypatch):
    """The ``cached`` training entry: two fresh processes share a temporary compilation cache;
    both train the same run (same final loss), the second one loads what the first compiled,
    and the target and the Markdown row are built from it."""
    from neuralcrn.bench._runner import evaluate_targets
    from neuralcrn.bench._training import cached_run

    # as after any CliRunner test in this process: the CLI said "off" and exported it
    monkeypatch.setenv("JAX_ENABLE_COMPILATION_CACHE", "false")
    c = cached_run("xor", epochs=1)
    assert c["epochs"] == 1 and c["samples"] >= 100 and c["fill_wall_s"] > 0
    assert c["same_result"] and c["final_metrics"]["test.loss"]["mean"] > 0
    if c["refused"]:
        pytest.skip("this machine's XLA refuses cached CPU executables (jax-ml/jax#38445)")
    assert c["cache_hits"] >= 1
    t = c["timings"]
    assert abs(t["setup"] + t["compile"] + t["train"] + t["evaluate"] - t["total"]) \
        <= 0.05 * t["total"] + 0.05
    run = {"circuit": "xor", "annihilation": 100.0, "single": {**c, "final_metrics": {}},
           "cached": c}
    targets = {x["name"]: x for x in evaluate_targets(
        {"config": {"quick": False}, "benchmarks": {"training": {"runs": [run]}}})}
    cached = targets["xor_training_wall_cached[xor]"]
    assert cached["value"] == c["wall_s"] and cached["met"] == (c["wall_s"] <= 5.0)
    assert "filled the cache" in cached["detail"]
    assert f"({c['cache_hits']} programs loaded from the cache)" in cached["detail"]
    from neuralcrn.bench._report import _training_rows
    rows = _training_rows(run)
    assert rows[-1][0] == "xor new process, compilation cache warm"
