"""The Ω study's bookkeeping (issue 10): per-Ω intervals, diverged runs as chance, Ω₅₀ / Ω₉₉
by log-linear interpolation (SPEC §8), the headline evaluation, combined methods, the plot."""

import math

import numpy as np
import pytest

from neuralcrn.training._omega_study import HEADLINE, omega_thresholds, summarize_study


def _point(kinetics, volume, seed, acc, acc_ode_forward=None, failed=False):
    p = {"task": "xor", "kinetics": kinetics, "volume": volume, "seed": seed, "epochs": 30,
         "wall_s": 1.0, "chance": {"loss": 0.125, "accuracy": 0.5}}
    if failed:
        p.update(failed="grew without bound", test={"loss": None, "accuracy": None})
        return p
    p["test"] = {"loss": 0.1, "accuracy": acc if acc_ode_forward is None else acc_ode_forward}
    if kinetics != "ode":
        p[HEADLINE] = {"loss": 0.1, "accuracy": acc}
    return p


def _study():
    pts = [_point("ode", None, s, a) for s, a in enumerate((0.90, 0.92, 0.94))]
    pts += [_point("ssa", 10.0, s, 0.52, 0.6) for s in range(2)]
    pts += [_point("ssa", 10.0, 2, None, failed=True)]                  # counts as 0.5
    pts += [_point("ssa", 100.0, s, a, 0.93) for s, a in enumerate((0.905, 0.915, 0.925))]
    pts += [_point("tau-leap", 1e4, s, 0.92) for s in range(3)]
    pts += [_point("cle", 1e4, s, 0.10) for s in range(3)]              # less exact: ignored
    return pts


def test_summary_rows_intervals_and_diverged_runs():
    s = summarize_study(_study())
    assert s["metric"] == "accuracy" and s["headline"] == HEADLINE and s["chance"] == 0.5
    assert s["ode"]["mean"] == pytest.approx(0.92)
    # 95 % t-interval of (0.90, 0.92, 0.94): mean ± t(0.975, 2)·0.02/√3
    h = 4.302652729911275 * 0.02 / math.sqrt(3)
    assert s["ode"]["lo95"] == pytest.approx(0.92 - h)
    assert s["ode"]["hi95"] == pytest.approx(0.92 + h)
    rows = {(r["kinetics"], r["volume"]): r for r in s["rows"]}
    r10 = rows[("ssa", 10.0)]
    assert r10["n"] == 3 and r10["diverged"] == 1
    assert r10[HEADLINE]["values"] == [0.52, 0.52, 0.5]                  # diverged → chance
    assert r10[HEADLINE]["mean"] == pytest.approx(1.54 / 3)
    assert r10["test"]["mean"] == pytest.approx(1.7 / 3)
    assert s["kinetics"] == "ssa+tau-leap+cle" and s["epochs"] == [30]


def test_thresholds_interpolate_in_log_omega_on_the_most_exact_method():
    s = summarize_study(_study())
    th = s[f"thresholds_{HEADLINE}"]
    # level50 = 0.5 + ½(0.92 − 0.5) = 0.71 between Ω = 10 (0.5133) and Ω = 100 (0.915)
    lo = 1.54 / 3
    assert th["level50"] == pytest.approx(0.71)
    f = (0.71 - lo) / (0.915 - lo)
    assert th["omega50"] == {"value": pytest.approx(10 ** (1 + f)), "bound": "interpolated"}
    # level99 = 0.91: reached between Ω = 10 and 100 and kept at 1e4 by tau-leaping (the
    # CLE's 0.10 at the same Ω is ignored: tau-leaping is more exact, EXACTNESS)
    assert th["level99"] == pytest.approx(0.91)
    f = (0.91 - lo) / (0.915 - lo)
    assert th["omega99"] == {"value": pytest.approx(10 ** (1 + f)), "bound": "interpolated"}
    # the ODE forward of the learned counts: 0.5667 at Ω = 10, 0.93 at 100, 0.92 at 1e4
    t = s["thresholds_test"]
    f = (0.91 - 1.7 / 3) / (0.93 - 1.7 / 3)
    assert t["omega99"]["value"] == pytest.approx(10 ** (1 + f))


def test_thresholds_of_losses_and_unreached_levels():
    rows = [{"volume": 10.0, "k": {"mean": 3.0}}, {"volume": 100.0, "k": {"mean": 0.2}},
            {"volume": 1000.0, "k": {"mean": 0.12}}]
    th = omega_thresholds(rows, "k", "loss", ode_value=0.1, chance=3.4)
    assert th["level50"] == pytest.approx(1.75)
    assert th["level99"] == pytest.approx(0.1 + 0.033)
    assert th["omega50"]["bound"] == "interpolated"
    assert math.log10(th["omega50"]["value"]) == pytest.approx(1 + (1.75 - 3.0) / (0.2 - 3.0))
    assert th["omega99"]["value"] == pytest.approx(10 ** (2 + (0.133 - 0.2) / (0.12 - 0.2)))
    # a level never reached: reported as "above" the largest Ω; one met everywhere: "at or below"
    worse = omega_thresholds(rows[:2], "k", "loss", ode_value=0.1, chance=3.4)
    assert worse["omega99"] == {"value": 100.0, "bound": "above"}
    easy = omega_thresholds(rows, "k", "loss", ode_value=0.1, chance=100.0)
    assert easy["omega50"] == {"value": 10.0, "bound": "at or below"}


def test_plot_is_written(tmp_path):
    from neuralcrn.plots import plot_omega_study
    out = tmp_path / "omega.png"
    plot_omega_study(summarize_study(_study()), out)
    assert out.stat().st_size > 10_000
    assert np.frombuffer(out.read_bytes()[:8], dtype=np.uint8).tolist() == [
        137, 80, 78, 71, 13, 10, 26, 10]
