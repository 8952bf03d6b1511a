"""``neuralcrn train`` / ``neuralcrn predict``: run folder, model.json, errors, independent check.

The independent re-evaluation solves the model.json math with scipy's ``solve_ivp`` — written
here, sharing no code with neuralcrn — on a 40×40 grid over [0, 1]² labelled by the XOR rule,
and compares the accuracy with metrics.json (must agree within one percentage point).
"""

import csv
import json

import numpy as np
import pytest
from click.testing import CliRunner
from model_json_eval import predict_model_units

from neuralcrn.cli import main

MODEL_KEYS = {"format", "inputs", "outputs", "hidden", "drive", "augment_count", "augment_value",
              "z0", "nonlinearity", "alpha", "T", "theta", "h", "W", "decision", "input_offset",
              "input_scale", "output_offset", "output_scale", "feature_names", "target_names",
              "class_names"}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "xor"
    res = CliRunner().invoke(main, ["train", "xor", "--epochs", "2", "--seed", "0", "--out",
                                    str(out), "--quiet", "--k-ann", "1000"])
    assert res.exit_code == 0, res.output
    return out


def test_run_folder_contents(run_dir):
    names = {p.name for p in run_dir.iterdir()}
    assert {"config.json", "model.json", "history.csv", "parameters.csv", "metrics.json",
            "circuit.crn", "loss.png", "parameters.png", "decision_regions.png"} <= names
    assert not any(".tmp-" in n for n in names)
    rows = list(csv.DictReader(open(run_dir / "history.csv")))
    assert list(rows[0]) == ["epoch", "train_loss", "val_loss", "val_accuracy",
                             "param_diff_vs_ideal"]
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert float(rows[0]["param_diff_vs_ideal"]) == 0 < float(rows[2]["param_diff_vs_ideal"])
    m = json.loads((run_dir / "metrics.json").read_text())
    assert m["evaluated_by"] == "chemical forward pass"
    for k in ("train", "val", "test"):
        assert set(m[k]) == {"loss", "accuracy"}
        assert set(m["ideal_predictor"][k]) == set(m["ideal_training"][k]) == {"loss",
                                                                              "accuracy"}
    assert 0 < m["vs_ideal_training"]["param_relative_difference"] < 1e-2
    assert m["circuit"]["max_molecularity"] <= 2
    assert m["circuit"]["species"] > 0 and m["circuit"]["reactions"] > 0
    assert m["wall_time_s"]["compile"] >= 0 and m["wall_time_s"]["train"] > 0
    cfg = json.loads((run_dir / "config.json").read_text())
    assert cfg["task"] == "xor" and cfg["epochs"] == 2 and cfg["seed"] == 0
    assert cfg["mode"] == "chemical" and cfg["schedule"] == "two-phase"
    assert cfg["spec"]["inputs"] == 2 and "neuralcrn_version" in cfg
    assert (run_dir / "circuit.crn").read_text().count("# ---- module") == 2


_model_predict = predict_model_units


def test_run_files_are_as_readable_as_plain_files(run_dir):
    """Atomic writes go through mkstemp/mkdtemp (600/700); the results get the usual modes."""
    import os
    umask = os.umask(0)
    os.umask(umask)
    assert (run_dir.stat().st_mode & 0o777) == 0o777 & ~umask
    for name in ("loss.png", "config.json", "model.json", "metrics.json"):
        assert ((run_dir / name).stat().st_mode & 0o777) == 0o666 & ~umask, name


def test_model_json_and_independent_reevaluation(run_dir):
    model = json.loads((run_dir / "model.json").read_text())
    assert set(model) == MODEL_KEYS | {"threshold"}
    assert model["format"] == "neuralcrn-model/2" and model["decision"] == "threshold"
    n = model["hidden"]
    assert np.shape(model["theta"])[0] == n and np.shape(model["W"]) == (1, n)
    g = np.linspace(0.0, 1.0, 40)
    G1, G2 = np.meshgrid(g, g)
    X = np.column_stack([G1.ravel(), G2.ravel()])           # raw XOR inputs on [0, 1]²
    labels = ((X[:, 0] >= 0.5) ^ (X[:, 1] >= 0.5)).astype(int)
    Xm = (X - np.asarray(model["input_offset"])) / np.asarray(model["input_scale"])
    pred = (_model_predict(model, Xm)[:, 0] > model["threshold"]).astype(int)
    acc = float(np.mean(pred == labels))
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert abs(acc - metrics["ideal_predictor"]["test"]["accuracy"]) <= 1e-9
    assert abs(acc - metrics["test"]["accuracy"]) <= 0.01          # the chemical headline


def test_predict(run_dir, tmp_path):
    f = tmp_path / "in.csv"
    f.write_text("x1,x2\n0.1,0.2\n\n# comment\n0.9,0.1\n")
    model = json.loads((run_dir / "model.json").read_text())
    off, sc = np.asarray(model["input_offset"]), np.asarray(model["input_scale"])
    want = _model_predict(model, (np.array([[0.1, 0.2], [0.9, 0.1]]) - off) / sc)[:, 0]
    res = CliRunner().invoke(main, ["predict", str(run_dir), "--input", str(f), "--ideal"])
    assert res.exit_code == 0, res.output
    lines = res.output.strip().splitlines()
    assert lines[0].startswith("x1,x2,yhat1,label")
    assert len(lines) == 3
    got = np.array([float(line.split(",")[2]) for line in lines[1:]])
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)
    # default: the chemical forward pass — the chemistry's own ŷ, within its 1/k_ann of the math
    res = CliRunner().invoke(main, ["predict", str(run_dir), "--input", str(f)])
    assert res.exit_code == 0, res.output
    chem = np.array([float(line.split(",")[2]) for line in res.output.strip().splitlines()[1:]])
    np.testing.assert_allclose(chem, want, atol=2e-2)
    assert np.max(np.abs(chem - want)) > 1e-6                  # not the ideal math
    out = tmp_path / "pred.csv"
    res = CliRunner().invoke(main, ["predict", str(run_dir), "--input", str(f), "--output",
                                    str(out)])
    assert res.exit_code == 0 and out.read_text().startswith("x1,x2,yhat1")


@pytest.mark.parametrize("text,message", [
    ("0.1,0.2\n0.3,nan\n", "in.csv:2: NaN"),
    ("0.1,0.2\n0.3,0.4,0.5\n", "in.csv:2: expected 2 columns, got 3"),
    ("0.1\n", "in.csv:1: expected 2 columns, got 1"),
    ("x1,x2,x3\n0.2,0.3\n", "in.csv:1: header has 3 columns"),
    ("x1,x2\n0.1,abc\n", "in.csv:2: 'abc' is not a number"),
    ("", "no input rows"),
    ("0.1 0.2\n", "in.csv:1: expected 2 comma-separated columns"),
    ("0.1\t0.2\n", "values must be separated by commas"),
    ("0.1,abc\n", "in.csv:1: 'abc' is not a number"),
])
def test_predict_bad_csv(run_dir, tmp_path, text, message):
    f = tmp_path / "in.csv"
    f.write_text(text)
    res = CliRunner().invoke(main, ["predict", str(run_dir), "--input", str(f)])
    assert res.exit_code == 1
    assert message in res.output
    assert "Traceback" not in res.output


def test_train_errors(tmp_path, run_dir):
    r = CliRunner()
    res = r.invoke(main, ["train", "no-such-task", "--out", str(tmp_path / "a")])
    assert res.exit_code == 1 and "unknown task 'no-such-task'" in res.output
    blocker = tmp_path / "file"
    blocker.write_text("x")
    res = r.invoke(main, ["train", "xor", "--epochs", "1", "--out", str(blocker / "run")])
    assert res.exit_code == 1 and "cannot write" in res.output
    res = r.invoke(main, ["train", "xor", "--epochs", "1", "--out", str(run_dir)])
    assert res.exit_code == 1 and "--overwrite" in res.output
    res = r.invoke(main, ["train", "xor", "--epochs", "1", "--out", str(blocker)])
    assert res.exit_code == 2 and "is a file" in res.output          # click's usage error
    res = r.invoke(main, ["predict", str(tmp_path), "--input", str(blocker)])
    assert res.exit_code == 1 and "no model.json" in res.output
    res = r.invoke(main, ["train"])
    assert res.exit_code == 1 and "TASK" in res.output


def test_rerun_from_config_gives_the_same_numbers(run_dir, tmp_path):
    out = tmp_path / "again"
    res = CliRunner().invoke(main, ["train", "--config", str(run_dir / "config.json"), "--out",
                                    str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    assert (out / "history.csv").read_text() == (run_dir / "history.csv").read_text()
    assert (out / "model.json").read_text() == (run_dir / "model.json").read_text()


def test_sparse_evaluation_run_folder_and_rerun(tmp_path):
    out = tmp_path / "sparse"
    args = ["train", "xor", "--epochs", "3", "--eval-every", "2", "--out", str(out), "--quiet",
            "--no-chemical-eval"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    rows = list(csv.reader((out / "history.csv").open()))
    assert rows[0][:3] == ["epoch", "train_loss", "val_loss"]
    filled = [r[0] for r in rows[1:] if r[1] != ""]
    assert filled == ["0", "2", "3"]                       # epoch 1 was not evaluated
    assert (out / "loss.png").stat().st_size > 0
    assert json.loads((out / "config.json").read_text())["eval_every"] == 2
    again = tmp_path / "again"
    res = CliRunner().invoke(main, ["train", "--config", str(out / "config.json"), "--out",
                                    str(again), "--quiet"])
    assert res.exit_code == 0, res.output
    assert (again / "history.csv").read_text() == (out / "history.csv").read_text()


@pytest.mark.slow
def test_default_xor_run_meets_its_target_by_an_independent_evaluation(tmp_path):
    """The README's main job (``neuralcrn train xor``, all defaults, ≈ 20 s): the trained
    model.json, re-evaluated by the independent scipy program on the 40×40 grid, reaches the
    target (≥ 95 %) and agrees with metrics.json within one percentage point."""
    out = tmp_path / "xor"
    res = CliRunner().invoke(main, ["train", "xor", "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    model = json.loads((out / "model.json").read_text())
    g = np.linspace(0.0, 1.0, 40)
    G1, G2 = np.meshgrid(g, g)
    X = np.column_stack([G1.ravel(), G2.ravel()])
    labels = ((X[:, 0] >= 0.5) ^ (X[:, 1] >= 0.5)).astype(int)
    Xm = (X - np.asarray(model["input_offset"])) / np.asarray(model["input_scale"])
    acc = float(np.mean((_model_predict(model, Xm)[:, 0] > model["threshold"]) == labels))
    metrics = json.loads((out / "metrics.json").read_text())
    assert acc >= 0.95
    assert abs(acc - metrics["test"]["accuracy"]) <= 0.01
    assert metrics["circuit"]["max_molecularity"] <= 2


def test_python_dash_m_runs_the_command():
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-m", "neuralcrn", "--help"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and "Usage: neuralcrn" in r.stdout and "train" in r.stdout
