"""``model.json``: a trained Neural ODE as plain JSON that other programs can evaluate.

Keys (exactly these; ``threshold`` only with ``decision == "threshold"``)::

    format          "neuralcrn-model/1"
    inputs          d
    outputs         m
    hidden          n
    drive           "augment" | "bias"
    augment_count   a   (drive "augment"; 0 for "bias")
    augment_value   c   (drive "augment"; 1.0 for "bias")
    z0              "drive" | "zero"
    nonlinearity    "none" | "quadratic" | "cubic"
    alpha           α
    T               time horizon
    theta           n × len(u) list of lists (zeros off the diagonal in diagonal mode)
    h               n
    W               m × n
    decision        "threshold" | "argmax" (classification), null (regression)
    threshold       (only for "threshold")

Math: u = (x, c repeated a times) for "augment", u = (x, 1) for "bias"; z(0) = u ("drive") or 0
("zero"); dz/dt = θ·u + h − φ(z), φ(z) = α·z|z| (quadratic), α·z³ (cubic) or 0; ŷ = W z(T).
Classification: label = 1 if ŷ > threshold else 0 ("threshold"), argmax ŷ ("argmax").
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError, SpecError
from ..ideal.spec import ModelSpec, Params

__all__ = ["MODEL_FORMAT", "MODEL_KEYS", "model_dict", "TrainedModel", "load_model",
           "read_inputs_csv"]

MODEL_FORMAT = "neuralcrn-model/1"
MODEL_KEYS = ("format", "inputs", "outputs", "hidden", "drive", "augment_count", "augment_value",
              "z0", "nonlinearity", "alpha", "T", "theta", "h", "W", "decision")


def model_dict(spec: ModelSpec, params: Params, decision: str | None = None,
               threshold: float | None = None) -> dict:
    """The ``model.json`` dictionary of a model and its parameters."""
    theta = np.asarray(params.theta, dtype=float)
    if spec.theta == "diagonal":
        theta = theta * np.eye(spec.n, spec.n_u)
    aug = spec.drive == "augment"
    d = {"format": MODEL_FORMAT, "inputs": spec.inputs, "outputs": spec.outputs,
         "hidden": spec.n, "drive": spec.drive,
         "augment_count": int(spec.augment_count) if aug else 0,
         "augment_value": float(spec.augment_value) if aug else 1.0,
         "z0": spec.z0, "nonlinearity": spec.nonlinearity, "alpha": float(spec.alpha),
         "T": float(spec.T), "theta": theta.tolist(),
         "h": np.asarray(params.h, dtype=float).tolist(),
         "W": np.asarray(params.W, dtype=float).tolist(), "decision": decision}
    if decision == "threshold":
        d["threshold"] = float(threshold)
    return d


@dataclass(frozen=True, eq=False)
class TrainedModel:
    """A model read from ``model.json``: its spec (Θ full), parameters and decision rule."""

    spec: ModelSpec
    params: Params
    decision: str | None
    threshold: float | None

    def predict(self, X, solver=None) -> np.ndarray:
        """ŷ ``(N, m)`` for inputs X ``(N, d)`` (the ideal math, :func:`ideal.predict_batch`)."""
        from ._loop import predict_params
        return predict_params(self.spec, self.params, X, solver)

    def labels(self, Yhat) -> np.ndarray | None:
        """Class labels of predictions (``None`` for regression)."""
        if self.decision is None:
            return None
        from ..tasks._dataset import labels_from
        return labels_from(Yhat, self.decision, self.threshold, self.spec.outputs)


def read_format_json(path: Path, fmt: str, what: str) -> dict:
    """The JSON object in ``path`` whose ``"format"`` is ``fmt``; DataError naming the file and
    the problem otherwise (missing, not JSON, not an object of that format)."""
    try:
        d = json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(d, dict) or d.get("format") != fmt:
        raise DataError(f"{path}: not a {fmt} {what}")
    return d


def load_model(path) -> TrainedModel:
    """Read and validate a ``model.json`` (raises :class:`DataError` naming the problem)."""
    path = Path(path)
    d = read_format_json(path, MODEL_FORMAT, "file")
    missing = [k for k in MODEL_KEYS if k not in d]
    if missing:
        raise DataError(f"{path}: missing key(s) {missing}")
    try:
        fields = dict(inputs=int(d["inputs"]), outputs=int(d["outputs"]), drive=d["drive"],
                      hidden=int(d["hidden"]), z0=d["z0"], theta="full",
                      nonlinearity=d["nonlinearity"], alpha=float(d["alpha"]), T=float(d["T"]))
        if d["drive"] == "augment":
            fields.update(augment_count=int(d["augment_count"]),
                          augment_value=float(d["augment_value"]))
        spec = ModelSpec(**fields)
        params = Params(np.asarray(d["theta"], dtype=float), np.asarray(d["h"], dtype=float),
                        np.asarray(d["W"], dtype=float))
    except (TypeError, ValueError, SpecError) as e:
        raise DataError(f"{path}: bad model: {e}") from None
    if params.theta.shape != spec.theta_shape or params.h.shape != (spec.n,) \
            or params.W.shape != (spec.outputs, spec.n):
        raise DataError(f"{path}: parameter shapes do not match the model sizes")
    if not all(np.all(np.isfinite(p)) for p in params):
        raise DataError(f"{path}: non-finite parameter values")
    decision, threshold = d["decision"], d.get("threshold")
    if decision not in (None, "threshold", "argmax"):
        raise DataError(f"{path}: unknown decision {decision!r}")
    if decision == "threshold" and not (isinstance(threshold, (int, float))
                                        and math.isfinite(threshold)):
        raise DataError(f"{path}: decision 'threshold' needs a finite 'threshold'")
    return TrainedModel(spec, params, decision,
                        float(threshold) if decision == "threshold" else None)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def read_inputs_csv(path, d: int) -> np.ndarray:
    """Read input points from a CSV file: one point per line, ``d`` comma-separated numbers.

    An optional header line (the first non-blank line, if none of its fields is a number) is
    skipped; blank lines and lines starting with ``#`` are ignored. Raises :class:`DataError`
    naming the file and line for a wrong number of columns, a non-number, NaN or infinity.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text file") from None
    rows = []
    first = True
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split(",")]
        values = []
        bad = None
        for f in fields:
            try:
                values.append(float(f))
            except ValueError:
                bad = f
                break
        if len(fields) == 1 and d > 1 and len(line.replace(";", " ").split()) == d:
            raise DataError(f"{path}:{lineno}: expected {d} comma-separated columns, got "
                            f"{line!r} (values must be separated by commas)")
        if bad is not None and first and not any(_is_number(f) for f in fields):
            first = False               # a header: no field of it is a number
            if len(fields) != d:
                raise DataError(f"{path}:{lineno}: header has {len(fields)} columns, the model "
                                f"has {d} inputs")
            continue
        first = False
        if len(fields) != d:
            raise DataError(f"{path}:{lineno}: expected {d} columns, got {len(fields)}")
        if bad is not None:
            raise DataError(f"{path}:{lineno}: {bad!r} is not a number")
        if not all(math.isfinite(v) for v in values):
            raise DataError(f"{path}:{lineno}: NaN or infinite value")
        rows.append(values)
    if not rows:
        raise DataError(f"{path}: no input rows")
    return np.asarray(rows, dtype=float)
