"""Your own data: CSV files, arrays and data frames → tasks → training → model.json (format 2).

The independent evaluator (tests/model_json_eval.py) reads model.json alone and evaluates it
with numpy and scipy's ``solve_ivp`` — sharing no code with neuralcrn — on raw inputs (it applies the file's own input
scaling, output scaling and class names). Its results must match metrics.json: exactly (to the
ODE tolerance) for the ideal predictor, within one point for the chemical headline.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from model_json_eval import evaluate_model_json

from neuralcrn.cli import main
from neuralcrn.errors import DataError
from neuralcrn.tasks import (arrays_task, csv_task, fit_scaling, frame_task, read_csv_table,
                             split_indices, task_from_source)


# ------------------------------------------------------------------ small generated data sets
def _blobs(n=90, seed=1):
    """Three Gaussian classes in 3-d, raw units far from [−1, 1] (so the scaling matters)."""
    rng = np.random.default_rng(seed)
    c = np.arange(n) % 3
    centres = np.array([[10.0, -5.0, 200.0], [14.0, -3.0, 260.0], [10.0, -1.0, 300.0]])
    X = centres[c] + rng.normal(size=(n, 3)) * np.array([1.0, 0.8, 20.0])
    return X, np.array(["alpha", "beta", "gamma"])[c]


def _write_csv(path, X, y, header=("a", "b", "c", "kind")):
    lines = [",".join(header)]
    lines += [",".join(f"{v:.6g}" for v in x) + f",{t}" for x, t in zip(X, y)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def blobs_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("blobs")
    X, y = _blobs()
    train = _write_csv(d / "blobs.csv", X[:75], y[:75])
    held = _write_csv(d / "held.csv", X[75:], y[75:])
    out = d / "run"
    res = CliRunner().invoke(main, ["train", "--data", str(train), "--target", "kind",
                                    "--epochs", "3", "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    return out, train, held, res.output


def test_csv_training_end_to_end(blobs_run):
    out, train, _, output = blobs_run
    assert "chemical forward pass" in output.splitlines()[3]        # printed first
    cfg = json.loads((out / "config.json").read_text())
    src = cfg["data"]
    assert src["format"] == "csv" and src["path"] == str(train.absolute())
    assert src["target"] == ["kind"] and src["kind"] == "classification"
    assert len(src["sha256"]["path"]) == 64
    # 25 rows per class: val round(2.5) = 3, test round(6.25) = 6 (half up), train 16
    assert cfg["dataset"]["sizes"] == {"train": 48, "val": 9, "test": 18}
    m = json.loads((out / "metrics.json").read_text())
    assert m["evaluated_by"] == "chemical forward pass" and m["test"]["accuracy"] >= 0.9
    model = json.loads((out / "model.json").read_text())
    assert model["format"] == "neuralcrn-model/2"
    assert model["class_names"] == ["alpha", "beta", "gamma"] and model["decision"] == "argmax"
    assert model["feature_names"] == ["a", "b", "c"]
    # the scaling is the training split's mean and sd (input_offset is not the identity)
    assert abs(model["input_offset"][2] - 250) < 40 and model["input_scale"][2] > 10


def test_model_json_alone_reproduces_the_metrics(blobs_run):
    """The independent program, given model.json and the raw CSV rows of the run's own test
    split, gets metrics.json's ideal-predictor accuracy exactly and the chemical headline within
    one point."""
    out, train, _, _ = blobs_run
    from neuralcrn.training import read_config
    task = task_from_source(read_config(out).data)
    ds = task.make_data(0)
    model = json.loads((out / "model.json").read_text())
    X_raw = ds.raw_inputs(ds.X_test)
    _, classes = evaluate_model_json(model, X_raw)
    truth = [ds.class_names[k] for k in ds.labels("test")]
    acc = np.mean(np.array(classes) == np.array(truth))
    m = json.loads((out / "metrics.json").read_text())
    assert acc == pytest.approx(m["ideal_predictor"]["test"]["accuracy"], abs=1e-12)
    assert abs(acc - m["test"]["accuracy"]) <= 0.01


def test_held_out_csv_and_predict(blobs_run, tmp_path):
    """Rows the run never saw: the independent evaluator and ``predict --ideal`` agree; the
    chemical ``predict`` gives the same classes."""
    out, _, held, _ = blobs_run
    table = read_csv_table(held, "kind")
    model = json.loads((out / "model.json").read_text())
    Yhat, classes = evaluate_model_json(model, table.X)
    feats = tmp_path / "x.csv"
    feats.write_text("a,b,c\n" + "\n".join(",".join(f"{v:.6g}" for v in x) for x in table.X))
    for extra in (["--ideal"], []):
        res = CliRunner().invoke(main, ["predict", str(out), "--input", str(feats)] + extra)
        assert res.exit_code == 0, res.output
        rows = [r.split(",") for r in res.output.strip().splitlines()]
        assert rows[0] == ["x1", "x2", "x3", "yhat1", "yhat2", "yhat3", "label", "class"]
        got = np.array([[float(v) for v in r[3:6]] for r in rows[1:]])
        np.testing.assert_allclose(got, Yhat, atol=1e-6 if extra else 3e-2)
        assert [r[-1] for r in rows[1:]] == classes
    assert np.mean(np.array(classes) == table.targets[:, 0]) >= 0.85
    # the held-out file itself (header names the features, target column included) works too
    res = CliRunner().invoke(main, ["predict", str(out), "--input", str(held), "--ideal"])
    assert res.exit_code == 0, res.output
    assert [r.split(",")[-1] for r in res.output.strip().splitlines()[1:]] == classes


def test_rerun_from_config_and_changed_file(blobs_run, tmp_path):
    out, train, _, _ = blobs_run
    again = tmp_path / "again"
    res = CliRunner().invoke(main, ["train", "--config", str(out / "config.json"), "--out",
                                    str(again), "--quiet", "--mode", "ideal"])
    assert res.exit_code == 0, res.output
    a = json.loads((again / "config.json").read_text())
    assert a["data"]["sha256"] == json.loads((out / "config.json").read_text())["data"]["sha256"]
    # a copy of the configuration whose CSV has changed is refused, naming the file
    changed = tmp_path / "changed.csv"
    changed.write_text(train.read_text().replace("alpha", "beta", 1))
    cfg = json.loads((out / "config.json").read_text())
    cfg["data"]["path"] = str(changed)
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    res = CliRunner().invoke(main, ["train", "--config", str(tmp_path / "config.json"),
                                    "--out", str(tmp_path / "x"), "--quiet"])
    assert res.exit_code == 1 and "changed.csv" in res.output and "SHA-256" in res.output


def test_regression_csv_scales_targets_and_model_json_undoes_it(tmp_path):
    rng = np.random.default_rng(4)
    X = rng.uniform(-1, 1, (60, 2)) * [3.0, 50.0] + [10.0, 500.0]
    y = 1000.0 + 40.0 * (X[:, 0] - 10) + 0.5 * (X[:, 1] - 500) + rng.normal(0, 2, 60)
    f = _write_csv(tmp_path / "reg.csv", X, [f"{v:.4f}" for v in y], header=("u", "v", "price"))
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["train", "--data", str(f), "--target", "price", "--mode",
                                    "ideal", "--epochs", "30", "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    assert "RMSE in the data's units" in res.output
    model = json.loads((out / "model.json").read_text())
    assert model["decision"] is None and model["class_names"] is None
    assert abs(model["output_offset"][0] - 1000) < 30 and model["output_scale"][0] > 10
    from neuralcrn.training import read_config
    ds = task_from_source(read_config(out).data).make_data(0)
    Yhat, _ = evaluate_model_json(model, ds.raw_inputs(ds.X_test))
    rmse = float(np.sqrt(np.mean((Yhat - ds.raw_outputs(ds.Y_test)) ** 2)))
    m = json.loads((out / "metrics.json").read_text())
    assert rmse == pytest.approx(m["test"]["rmse"], rel=1e-6)
    assert m["test"]["loss"] == pytest.approx(0.5 * rmse ** 2 / model["output_scale"][0] ** 2,
                                              rel=1e-6)
    assert rmse < 0.5 * np.std(y)                       # it learned something


# ------------------------------------------------------------------ bad input
BAD = [
    ("a,b,kind\n1,2,x\n3,,y\n", ["kind"], "bad.csv:3: column 'b' (column 2): missing value"),
    ("a,b,kind\n1,2,x\n3,NA,y\n", ["kind"], "bad.csv:3: column 'b' (column 2): missing value"),
    ("a,b,kind\n1,2,x\n3,abc,y\n", ["kind"], "bad.csv:3: column 'b' (column 2): 'abc' is not a "
                                             "number"),
    ("a,b,kind\n1,2,x\n3,4\n", ["kind"], "bad.csv:3: 2 fields, but the header (line 1) has 3"),
    ("a,b,kind\n" + "".join(f"{i},5,{'xy'[i % 2]}\n" for i in range(20)), ["kind"],
     "column 'b' (column 2 of the features) is constant (every row is 5)"),
    ("a,b,kind\n" + "".join(f"{i},{i * i % 7},{'x' if i < 18 else 'y'}\n" for i in range(20)),
     ["kind"], "bad.csv: column 'kind': class 'y' (on lines 20, 21) has 2 samples"),
    ("a,b,kind\n1,2,x\n", ["label"], "unknown target column 'label'; the columns are a, b, kind"),
    ("a,b,kind\n" + "".join(f"{i},{i % 3},x\n" for i in range(10)), ["kind"],
     "target column 'kind' has only one class ('x')"),
    ("1,2,3\n4,5,6\n", ["kind"], "bad.csv:1: the first row '1,2,3' is all numbers"),
    ("a;b;kind\n1;2;x\n", ["kind"], "columns must be separated by commas"),
    ("", ["kind"], "empty file"),
    ("a,b,kind\n", ["kind"], "no data rows"),
]


@pytest.mark.parametrize("text,target,message", BAD)
def test_bad_csv_errors_name_file_line_and_column(tmp_path, text, target, message):
    f = tmp_path / "bad.csv"
    f.write_text(text)
    with pytest.raises(DataError) as e:
        csv_task(f, target, kind="classification")
    assert message in str(e.value)
    res = CliRunner().invoke(main, ["train", "--data", str(f), "--target", ",".join(target),
                                    "--kind", "classification", "--out", str(tmp_path / "o")])
    assert res.exit_code == 1 and message in res.output and "Traceback" not in res.output


def test_bad_cli_combinations(tmp_path):
    r = CliRunner()
    res = r.invoke(main, ["train", "--target", "y"])
    assert res.exit_code == 1 and "--target needs --data" in res.output
    f = _write_csv(tmp_path / "d.csv", *_blobs(30))
    res = r.invoke(main, ["train", "--data", str(f)])
    assert res.exit_code == 1 and "--data needs --target" in res.output
    res = r.invoke(main, ["train", "xor", "--data", str(f), "--target", "kind"])
    assert res.exit_code == 1 and "not both" in res.output
    res = r.invoke(main, ["train", "--data", str(f), "--target", "kind", "--split", "0.5,0.5"])
    assert res.exit_code == 1 and "three fractions" in res.output
    res = r.invoke(main, ["train", "xor", "--seeds", "3-1"])
    assert res.exit_code == 1 and "--seeds" in res.output
    res = r.invoke(main, ["train", "--data", str(tmp_path / "none.csv"), "--target", "y"])
    assert res.exit_code == 1 and "none.csv: no such file" in res.output


def test_separate_validation_and_test_files(tmp_path):
    X, y = _blobs(120)
    tr = _write_csv(tmp_path / "tr.csv", X[:60], y[:60])
    va = _write_csv(tmp_path / "va.csv", X[60:75], y[60:75])
    te = _write_csv(tmp_path / "te.csv", X[75:], y[75:])
    task = csv_task(tr, "kind", val=va, test=te)
    ds = task.make_data(3)
    assert ds.sizes() == {"train": 60, "val": 15, "test": 45}
    np.testing.assert_allclose(ds.raw_inputs(ds.X_test), read_csv_table(te, "kind").X,
                               rtol=1e-12)
    # the scaling is fitted on the training file only
    np.testing.assert_allclose(ds.X_train.mean(axis=0), 0, atol=1e-12)
    only_test = csv_task(tr, "kind", test=te, fractions=(0.8, 0.2, 0.0))
    assert only_test.make_data(0).sizes() == {"train": 48, "val": 12, "test": 45}
    bad = _write_csv(tmp_path / "bad.csv", X[:10], y[:10], header=("a", "b", "d", "kind"))
    with pytest.raises(DataError, match="differ"):
        csv_task(tr, "kind", test=bad)
    # the same columns in another order are matched by name (as predict does)
    perm = tmp_path / "perm.csv"
    perm.write_text("kind,c,a,b\n" + "".join(f"{t},{x[2]:.6g},{x[0]:.6g},{x[1]:.6g}\n"
                                              for x, t in zip(X[75:], y[75:])))
    reordered = csv_task(tr, "kind", val=va, test=perm).make_data(3)
    np.testing.assert_array_equal(reordered.X_test, ds.X_test)
    np.testing.assert_array_equal(reordered.Y_test, ds.Y_test)
    perm.write_text(perm.read_text() + "zeta,0,0,0\n")      # messages keep the file's columns
    with pytest.raises(DataError, match=r"perm.csv:47: column 'kind' \(column 1\): class "
                                        r"'zeta' does not occur"):
        csv_task(tr, "kind", test=perm)
    unseen = _write_csv(tmp_path / "unseen.csv", X[:3], ["alpha", "delta", "beta"])
    with pytest.raises(DataError, match=r"unseen.csv:3: column 'kind' \(column 4\): class "
                                        r"'delta' does not occur"):
        csv_task(tr, "kind", test=unseen)


def test_spreadsheet_export_quirks_are_read(tmp_path):
    """A CSV as spreadsheets and other tools write it: byte-order mark, CRLF line ends, quoted
    header names with spaces and parentheses, blanks after commas, scientific notation, quoted
    numbers, a comment line and a trailing blank line — read to the same numbers as a plain
    file; the targets are integers 0/1 (two classes, labels '0' < '1')."""
    X, _ = _blobs(30)
    y = (X[:, 0] > 11).astype(int)
    plain = _write_csv(tmp_path / "plain.csv", X, y, header=("t", "p", "c", "ok"))
    rows = ['\ufeff"temperature (K)", "pressure","c",ok', "# exported 2026-12-01"]
    rows += [f'{x[0]:.6g}, {x[1]:.6e},"{x[2]:.6g}",{t}' for x, t in zip(X, y)]
    quirky = tmp_path / "quirky.csv"
    quirky.write_bytes(("\r\n".join(rows) + "\r\n\r\n").encode("utf-8"))
    a, b = read_csv_table(plain, "ok"), read_csv_table(quirky, "ok")
    np.testing.assert_allclose(b.X, X, rtol=1e-5)
    np.testing.assert_allclose(a.X, X, rtol=1e-5)
    assert b.features == ("temperature (K)", "pressure", "c")
    ds = csv_task(quirky, "ok").make_data(0)
    assert ds.class_names == ("0", "1") and ds.Y_train.shape[1] == 1
    np.testing.assert_allclose(ds.X_train, csv_task(plain, "ok").make_data(0).X_train,
                               atol=1e-4)


# ------------------------------------------------------------------ splits and scaling
def test_stratified_split_is_seeded_disjoint_and_keeps_class_shares():
    labels = np.repeat([0, 1, 2], [40, 20, 10])
    a = split_indices(70, (0.6, 0.2, 0.2), 0, labels)
    b = split_indices(70, (0.6, 0.2, 0.2), 0, labels)
    c = split_indices(70, (0.6, 0.2, 0.2), 1, labels)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])
    allidx = np.concatenate(a)
    assert sorted(allidx) == list(range(70))
    for part, share in zip(a, (0.6, 0.2, 0.2)):
        np.testing.assert_array_equal(np.bincount(labels[part], minlength=3),
                                      np.floor(np.array([40, 20, 10]) * share + 0.5))
    assert [p.size for p in a] == [p.size for p in c]              # sizes do not follow the seed
    with pytest.raises(DataError, match="add up to 1"):
        split_indices(70, (0.6, 0.2, 0.1), 0, labels)


def test_scalings():
    X = np.array([[0.0, 10.0], [2.0, 10.0], [4.0, 40.0]])
    off, sc = fit_scaling(X, "standard")
    np.testing.assert_allclose(off, X.mean(axis=0))
    np.testing.assert_allclose(sc, X.std(axis=0))
    off, sc = fit_scaling(X[:2], "standard")          # column 2 constant in training: scale 1
    assert sc[1] == 1.0
    off, sc = fit_scaling(X, "pooled")
    np.testing.assert_allclose(sc, np.sqrt(np.mean((X - X.mean(axis=0)) ** 2)))
    off, sc = fit_scaling(X, "none")
    assert np.all(off == 0) and np.all(sc == 1)
    with pytest.raises(DataError, match="unknown input scaling"):
        fit_scaling(X, "minmax")


# ------------------------------------------------------------------ arrays and data frames
class FakeFrame:
    """Duck-typed data frame: ``columns`` and ``frame[col].to_numpy()`` (no pandas)."""

    def __init__(self, cols: dict):
        self._c = cols
        self.columns = list(cols)

    def __getitem__(self, k):
        class Col:
            def __init__(self, v):
                self.v = v

            def to_numpy(self):
                return np.asarray(self.v)
        return Col(self._c[k])


def test_arrays_and_frames_train_and_rerun(tmp_path):
    from neuralcrn.training import TrainConfig, read_config, train, write_run
    X, y = _blobs(60)
    task = arrays_task(X, y, name="blobs", features=["a", "b", "c"])
    frame = FakeFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "kind": list(y)})
    ftask = frame_task(frame, "kind", name="blobs")
    np.testing.assert_array_equal(task.make_data(2).X_train, ftask.make_data(2).X_train)
    r = train(TrainConfig(task="blobs", mode="ideal", epochs=3), task=task)
    out = write_run(r, tmp_path / "run")
    cfg = read_config(out)
    assert cfg.data["format"] == "npz" and (out / "data.npz").is_file()
    again = train(cfg)
    np.testing.assert_array_equal(again.params[0].theta, r.params[0].theta)
    with pytest.raises(DataError, match=r"row 4: column 'b' \(column 2\): 'x' is not a number"):
        frame_task(FakeFrame({"a": [1.0] * 6, "b": [1, 2, 3, 4, "x", 5], "kind": list("ababab")}),
                   "kind")
    with pytest.raises(DataError, match=r"<arrays>: row 1: column 'x2'"):
        arrays_task(np.array([[1.0, 2.0], [3.0, np.nan]]), ["a", "b"])


def test_seeds_each_with_their_own_data(tmp_path):
    out = tmp_path / "s"
    X, y = _blobs(60)
    f = _write_csv(tmp_path / "d.csv", X, y)
    res = CliRunner().invoke(main, ["train", "--data", str(f), "--target", "kind", "--mode",
                                    "ideal", "--seeds", "0-2", "--epochs", "2", "--out",
                                    str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    assert "3 seeds (0..2, each its own data" in res.output
    m = json.loads((out / "metrics.json").read_text())
    per = [p["test"]["accuracy"] for p in m["replicates"]["per_replicate"]]
    assert m["replicates"]["seeds"] == [0, 1, 2]
    assert m["replicates"]["mean_sd"]["test.accuracy"]["mean"] == pytest.approx(np.mean(per))
    task = csv_task(f, "kind")
    assert not np.array_equal(task.make_data(0).X_train, task.make_data(1).X_train)
    for k in range(3):
        model = json.loads((out / "replicates" / f"model_{k}.json").read_text())
        ds = task.make_data(k)
        _, classes = evaluate_model_json(model, ds.raw_inputs(ds.X_test))
        acc = np.mean(np.array(classes) == np.array([ds.class_names[i]
                                                     for i in ds.labels("test")]))
        assert acc == pytest.approx(per[k], abs=1e-12)


def test_model_format_1_is_still_read(tmp_path):
    from neuralcrn.training import load_model
    d = {"format": "neuralcrn-model/1", "inputs": 1, "outputs": 1, "hidden": 2,
         "drive": "augment", "augment_count": 1, "augment_value": 1.0, "z0": "drive",
         "nonlinearity": "none", "alpha": 0.0, "T": 1.0, "theta": [[0.5, 0.0], [0.0, 0.0]],
         "h": [0.0, 0.0], "W": [[1.0, 1.0]], "decision": None}
    (tmp_path / "model.json").write_text(json.dumps(d))
    m = load_model(tmp_path / "model.json")
    # z(T) = u + T θ⊙u: x = 2 → z = (2 + 1, 1), ŷ = 4
    np.testing.assert_allclose(m.predict_raw([[2.0]]), [[4.0]], rtol=1e-8)
    d2 = dict(d, format="neuralcrn-model/2")
    (tmp_path / "model.json").write_text(json.dumps(d2))
    with pytest.raises(DataError, match="missing key"):
        load_model(tmp_path / "model.json")


def test_continuous_target_as_classes_is_refused(tmp_path):
    """--kind classification on a continuous column names the column and the fix."""
    rng = np.random.default_rng(0)
    rows = ["x1,x2,y"] + [f"{a:.4f},{b:.4f},{a - b + 0.01 * i:.5f}" for i, (a, b) in
                          enumerate(rng.normal(size=(60, 2)))]
    f = tmp_path / "reg.csv"
    f.write_text("\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"'y' holds 60 distinct numbers in 60 rows.*--kind "
                                        r"regression"):
        csv_task(str(f), "y", kind="classification")


def test_predict_header_names_the_missing_features(tmp_path):
    """A header lacking some of the model's features names them (new-user report)."""
    from neuralcrn.training import read_inputs_csv
    f = tmp_path / "miss.csv"
    f.write_text("x1,x2\n0.1,0.2\n")
    with pytest.raises(DataError, match=r"miss.csv:1: header has 2 columns, the model has 3 "
                                        r"inputs \(missing: x3\)"):
        read_inputs_csv(f, 3, ("x1", "x2", "x3"))


def test_two_targets_in_different_units_get_one_rmse_each(tmp_path):
    """Targets of different spread (≈ 1 and ≈ 100): metrics.json has each one's RMSE in its own
    units beside the joint one, and they agree with model.json evaluated independently."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(80, 2))
    Y = np.column_stack([X[:, 0] + 0.1 * rng.normal(size=80),
                         100 * X[:, 1] + 5 * rng.normal(size=80)])
    f = tmp_path / "two.csv"
    f.write_text("a,b,y1,y2\n" + "".join(f"{a:.5f},{b:.5f},{u:.5f},{v:.4f}\n"
                                         for (a, b), (u, v) in zip(X, Y)))
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["train", "--data", str(f), "--target", "y1,y2", "--mode",
                                    "ideal", "--epochs", "5", "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    assert "test RMSE in the data's units: y1 " in res.output and ", y2 " in res.output
    from neuralcrn.training import read_config
    model = json.loads((out / "model.json").read_text())
    ds = task_from_source(read_config(out).data).make_data(0)
    Yhat, _ = evaluate_model_json(model, ds.raw_inputs(ds.X_test))
    err = Yhat - ds.raw_outputs(ds.Y_test)
    m = json.loads((out / "metrics.json").read_text())["test"]
    assert m["rmse_1"] == pytest.approx(float(np.sqrt(np.mean(err[:, 0] ** 2))), rel=1e-6)
    assert m["rmse_2"] == pytest.approx(float(np.sqrt(np.mean(err[:, 1] ** 2))), rel=1e-6)
    assert m["rmse"] == pytest.approx(float(np.sqrt(np.mean(np.sum(err ** 2, axis=1)))),
                                      rel=1e-6)
    assert m["rmse_2"] > 10 * m["rmse_1"]
