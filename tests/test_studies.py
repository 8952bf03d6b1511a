"""Robustness studies (issue 11): points, summary, the dask sweep, resume and failures."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from neuralcrn.errors import SpecError
from neuralcrn.studies import (ROW_FIELDS, StudyPoint, breaking_point, read_rows, run_point,
                               study_points, summarize_rows)

CALLS: list = []


def fake_point(point: StudyPoint) -> dict:
    """A cheap stand-in for run_point: accuracy falls linearly with σ, λ and w; replicate 3 of
    σ = 0.3 raises (a failing point)."""
    CALLS.append(point.key)
    if point.rate_noise == 0.3 and point.replicate == 3:
        raise RuntimeError("boom")
    row = {f: None for f in ROW_FIELDS}
    row.update(key=point.key, task=point.task, kinetics=point.kinetics, volume=point.volume,
               rate_noise=point.rate_noise, leak=point.leak, wash_residual=point.wash_residual,
               replicate=point.replicate, epochs=point.epochs, signal_annihilation=0.0,
               status="ok", chance_accuracy=0.5, wall_s=0.0,
               test_accuracy=1.0 - point.rate_noise - 2 * point.leak - point.wash_residual
               + 0.001 * point.replicate)
    return row


def test_points_are_the_product_of_the_axes():
    pts = study_points("xor", volumes=(100.0,), rate_noise=(0.0, 0.2), leak=(0.0,),
                       wash_residual=(0.0, 0.1), replicates=3)
    assert len(pts) == 2 * 2 * 2 * 3
    assert len({p.key for p in pts}) == len(pts)
    assert {p.kinetics for p in pts if p.volume is None} == {"ode"}
    assert {p.kinetics for p in pts if p.volume is not None} == {"ssa"}
    assert {p.replicate for p in pts} == {0, 1, 2}


@pytest.mark.parametrize("kw, word", [({"rate_noise": (-0.1,)}, "-0.1"),
                                      ({"leak": (1.0,)}, "1.0"),
                                      ({"wash_residual": (2.0,)}, "2.0"),
                                      ({"volumes": (0.0,)}, "0"),
                                      ({"replicates": 0}, "replicates")])
def test_bad_study_input_is_a_clear_error(kw, word):
    with pytest.raises(SpecError, match=word):
        study_points("xor", **kw)


def test_breaking_point_interpolates():
    assert breaking_point([0, 0.1, 0.2, 0.3], [0.97, 0.95, 0.91, 0.85]) == \
        {"value": pytest.approx(0.2 + 0.1 * (0.01 / 0.06)), "bound": "interpolated"}
    assert breaking_point([0, 0.1], [0.95, 0.93])["bound"] == "above"
    assert breaking_point([0, 0.1], [0.85, 0.8]) == {"value": 0.0, "bound": "below"}


def _row(**kw):
    r = {f: None for f in ROW_FIELDS}
    r.update(task="xor", kinetics="ode", volume=None, rate_noise=0.0, leak=0.0,
             wash_residual=0.0, replicate=0, status="ok", chance_accuracy=0.5)
    r.update(kw)
    r["key"] = f"{r['kinetics']}|{r['volume']}|{r['rate_noise']}|{r['replicate']}"
    return r


def test_summary_mean_interval_and_diverged_runs():
    from scipy import stats
    acc = [0.9, 0.95, 1.0]
    rows = [_row(replicate=i, test_accuracy=a) for i, a in enumerate(acc)]
    rows += [_row(rate_noise=0.2, replicate=0, test_accuracy=0.8),
             _row(rate_noise=0.2, replicate=1, status="diverged"),
             _row(rate_noise=0.2, replicate=2, status="error", error="x")]
    s = summarize_rows(rows)
    p0, p1 = s["points"]
    h = stats.t.ppf(0.975, 2) * np.std(acc, ddof=1) / math.sqrt(3)
    assert p0["test"]["mean"] == pytest.approx(0.95)
    assert p0["test"]["lo95"] == pytest.approx(0.95 - h)
    assert p0["test"]["hi95"] == pytest.approx(0.95 + h)
    # a diverged run counts as chance, an error row does not count
    assert p1["n"] == 2 and p1["diverged"] == 1
    assert p1["test"]["values"] == [0.8, 0.5]
    assert s["breaking"]["rate_noise"] == {"value": pytest.approx(0.2 * 0.05 / 0.3),
                                           "bound": "interpolated"}
    assert s["ode"]["mean"] == pytest.approx(0.95)


def test_runs_csv_tolerates_a_line_cut_off_by_a_crash(tmp_path):
    from neuralcrn.studies._run import _append, _start_runs_file
    path = tmp_path / "runs.csv"
    _start_runs_file(path)
    _append(path, fake_point(StudyPoint("xor", rate_noise=0.1)))
    with open(path, "a") as f:
        f.write("xor|ode|s0.2,xor,od")                # a crash mid-line
    assert [r["rate_noise"] for r in read_rows(path)] == [0.1]
    _start_runs_file(path)                            # resuming drops the partial line
    assert path.read_text().endswith("\n") and len(read_rows(path)) == 1
    path.write_text(",".join(ROW_FIELDS) + "\nbad,line\n" + "x\n")
    from neuralcrn.errors import DataError
    with pytest.raises(DataError, match="line 2"):
        read_rows(path)


def test_run_point_records_a_failure():
    row = run_point(StudyPoint("no-such-task", rate_noise=0.1))
    assert row["status"] == "error" and "no-such-task" in row["error"]
    assert set(row) == set(ROW_FIELDS)


# ------------------------------------------------------------------ dask
def test_dask_sweep_resume_and_failing_point(tmp_path):
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    from neuralcrn.studies import run_study
    pts = study_points("xor", rate_noise=(0.0, 0.1, 0.2, 0.3), leak=(0.0, 0.02), replicates=5)
    out = tmp_path / "study"
    CALLS.clear()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        # "interrupted": only the first 12 points ran
        run_study(pts[:12], out, client=client, progress=False, point_fn=fake_point)
        assert len(read_rows(out / "runs.csv")) == 12
        CALLS.clear()
        s = run_study(pts, out, client=client, progress=False, point_fn=fake_point,
                      definition={"task": "xor"})
        assert len(CALLS) == len(pts) - 12          # finished points are skipped
        rows = read_rows(out / "runs.csv")
        assert len(rows) == len(pts)
        err = [r for r in rows if r["status"] == "error"]
        assert len(err) == 2 and all("boom" in r["error"] for r in err)   # λ = 0 and 0.02
        # the failed points do not stop the study and are retried on the next run
        CALLS.clear()
        run_study(pts, out, client=client, progress=False, point_fn=fake_point)
        assert sorted(CALLS) == sorted(r["key"] for r in err)
    assert s["study"] == {"task": "xor"}
    by = {(p["rate_noise"], p["leak"]): p for p in s["points"]}
    assert by[(0.1, 0.0)]["test"]["mean"] == pytest.approx(0.9 + 0.002)
    assert by[(0.3, 0.0)]["n"] == 4
    # accuracy 1 − σ + 0.001·r: falls below 0.9 between σ = 0.1 (0.902) and 0.2 (0.802)
    assert s["breaking"]["rate_noise"]["value"] == pytest.approx(0.1 + 0.1 * 0.002 / 0.1)
    assert (out / "summary.json").is_file() and (out / "summary.csv").is_file()


def test_unreachable_scheduler_is_a_clear_error():
    pytest.importorskip("distributed")
    from neuralcrn.studies import connect
    with pytest.raises(SpecError, match="cannot reach the dask scheduler"):
        connect(scheduler="tcp://127.0.0.1:9")


def test_missing_dask_names_the_extra(monkeypatch, tmp_path):
    from neuralcrn.studies import run_study
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(SpecError, match=r'pip install -e "\.\[distributed\]"'):
        run_study(study_points("xor", replicates=1), tmp_path, progress=False)


def test_cli_bad_input(tmp_path):
    from click.testing import CliRunner

    from neuralcrn.cli import main
    r = CliRunner().invoke(main, ["robustness", "xor", "--rate-noise", "0,-0.2", "--out",
                                  str(tmp_path / "s")])
    assert r.exit_code == 1 and "-0.2" in r.output
    r = CliRunner().invoke(main, ["robustness", "xor", "--wash", "0,abc"])
    assert r.exit_code == 1 and "abc" in r.output


@pytest.mark.slow
def test_robustness_cli_real_points_and_plots(tmp_path):
    """The real run_point on a LocalCluster of 2 processes: linear classification, 1 epoch."""
    pytest.importorskip("distributed")
    from click.testing import CliRunner

    from neuralcrn.cli import main
    out = tmp_path / "s"
    args = ["robustness", "linear-classification", "--rate-noise", "0,0.1", "--wash", "0,0.05",
            "--replicates", "2", "--epochs", "1", "--workers", "2", "--out", str(out), "-q"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    rows = read_rows(out / "runs.csv")
    assert len(rows) == 8 and all(r["status"] == "ok" for r in rows)
    assert (out / "rate_noise.png").is_file() and (out / "wash.png").is_file()
    r = CliRunner().invoke(main, args)              # resumes: nothing left to run
    assert r.exit_code == 0 and len(read_rows(out / "runs.csv")) == 8


def test_summary_of_a_point_where_every_run_diverged():
    rows = [_row(rate_noise=0.2, replicate=i, status="diverged", chance_accuracy=0.5)
            for i in range(3)]
    s = summarize_rows(rows)
    assert s["metric"] == "accuracy"
    assert s["points"][0]["test"]["mean"] == 0.5 and s["points"][0]["diverged"] == 3
