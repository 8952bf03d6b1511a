"""``model.json``: a trained Neural ODE as plain JSON that other programs can evaluate on raw
inputs, without neuralcrn.

Format ``neuralcrn-model/2`` — keys (``threshold`` only with ``decision == "threshold"``)::

    format          "neuralcrn-model/2"
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
    input_offset    d numbers  ┐ x = (x_raw − input_offset) / input_scale
    input_scale     d numbers  ┘
    output_offset   m numbers  ┐ ŷ_raw = ŷ · output_scale + output_offset (regression; 0 and 1
    output_scale    m numbers  ┘ for classifiers)
    feature_names   d names or null;  target_names: m names or null
    class_names     the class of each label (classification) or null

Math: x = (x_raw − input_offset)/input_scale; u = (x, c repeated a times) for "augment",
u = (x, 1) for "bias"; z(0) = u ("drive") or 0 ("zero"); dz/dt = θ·u + h − φ(z),
φ(z) = α·z|z| (quadratic), α·z³ (cubic) or 0; ŷ = W z(T). Classification: label = 1 if
ŷ > threshold else 0 ("threshold"), argmax ŷ ("argmax"); class = class_names[label].
Regression: ŷ_raw = ŷ·output_scale + output_offset. Format ``neuralcrn-model/1`` (no scaling
keys: inputs in the model's units, outputs as they are) is still read.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError, SpecError
from ..ideal.spec import ModelSpec, Params

__all__ = ["MODEL_FORMAT", "MODEL_FORMATS", "MODEL_KEYS", "MODEL_KEYS_V2", "model_dict",
           "TrainedModel", "load_model", "read_inputs_csv"]

MODEL_FORMAT = "neuralcrn-model/2"
MODEL_FORMATS = ("neuralcrn-model/1", "neuralcrn-model/2")
MODEL_KEYS = ("format", "inputs", "outputs", "hidden", "drive", "augment_count", "augment_value",
              "z0", "nonlinearity", "alpha", "T", "theta", "h", "W", "decision")
"""Keys of every model.json (format 1 and 2)."""
MODEL_KEYS_V2 = MODEL_KEYS + ("input_offset", "input_scale", "output_offset", "output_scale",
                              "feature_names", "target_names", "class_names")
"""Keys of a ``neuralcrn-model/2`` file (``threshold`` in addition for decision "threshold")."""


def _names(v, size):
    return None if not v else [str(x) for x in v][:size] if len(v) == size else None


def model_dict(spec: ModelSpec, params: Params, decision: str | None = None,
               threshold: float | None = None, *, dataset=None) -> dict:
    """The ``model.json`` dictionary (format 2) of a model and its parameters; the scaling and
    names come from ``dataset`` (a :class:`~neuralcrn.tasks.Dataset`; identity without one)."""
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
    ds = dataset
    vec = lambda v, k, fill: (np.asarray(v, dtype=float).tolist() if v is not None  # noqa: E731
                              else [fill] * k)
    d["input_offset"] = vec(getattr(ds, "x_offset", None), spec.inputs, 0.0)
    d["input_scale"] = vec(getattr(ds, "x_scale", None), spec.inputs, 1.0)
    d["output_offset"] = vec(getattr(ds, "y_offset", None), spec.outputs, 0.0)
    d["output_scale"] = vec(getattr(ds, "y_scale", None), spec.outputs, 1.0)
    d["feature_names"] = _names(getattr(ds, "feature_names", ()), spec.inputs)
    d["target_names"] = _names(getattr(ds, "target_names", ()), spec.outputs)
    cls = tuple(getattr(ds, "class_names", ()) or ())
    d["class_names"] = list(cls) if decision is not None and cls else None
    return d


@dataclass(frozen=True, eq=False)
class TrainedModel:
    """A model read from ``model.json``: its spec (Θ full), parameters, decision rule, the input
    and output scaling and the names."""

    spec: ModelSpec
    params: Params
    decision: str | None
    threshold: float | None
    input_offset: np.ndarray | None = None
    input_scale: np.ndarray | None = None
    output_offset: np.ndarray | None = None
    output_scale: np.ndarray | None = None
    class_names: tuple | None = None
    feature_names: tuple | None = None
    target_names: tuple | None = None
    format: str = MODEL_FORMAT

    def model_inputs(self, X_raw) -> np.ndarray:
        """Raw inputs ``(N, d)`` in the model's units, (x_raw − input_offset)/input_scale."""
        X = np.asarray(X_raw, dtype=float)
        if self.input_offset is None:
            return X
        return (X - self.input_offset) / self.input_scale

    def raw_outputs(self, Yhat) -> np.ndarray:
        """Model outputs ``(N, m)`` in the data's units, ŷ·output_scale + output_offset."""
        Y = np.asarray(Yhat, dtype=float)
        if self.output_offset is None:
            return Y
        return Y * self.output_scale + self.output_offset

    def predict(self, X, solver=None) -> np.ndarray:
        """ŷ ``(N, m)`` in the model's units for inputs X ``(N, d)`` in the model's units (the
        ideal math, :func:`ideal.predict_batch`)."""
        from ._loop import predict_params
        return predict_params(self.spec, self.params, X, solver)

    def predict_raw(self, X_raw, solver=None) -> np.ndarray:
        """ŷ ``(N, m)`` in the data's units for raw inputs ``(N, d)`` (scaling applied)."""
        return self.raw_outputs(self.predict(self.model_inputs(X_raw), solver))

    def labels(self, Yhat) -> np.ndarray | None:
        """Class labels of predictions in the model's units (``None`` for regression)."""
        if self.decision is None:
            return None
        from ..tasks._dataset import labels_from
        return labels_from(Yhat, self.decision, self.threshold, self.spec.outputs)


def read_format_json(path: Path, fmt, what: str) -> dict:
    """The JSON object in ``path`` whose ``"format"`` is ``fmt`` (a string or a tuple of
    accepted ones); DataError naming the file and the problem otherwise (missing, not JSON, not
    an object of that format)."""
    try:
        d = json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: not valid JSON ({e})") from None
    formats = (fmt,) if isinstance(fmt, str) else tuple(fmt)
    if not isinstance(d, dict) or d.get("format") not in formats:
        raise DataError(f"{path}: not a {' or '.join(formats)} {what}")
    return d


def _vector(path, d: dict, key: str, size: int, positive: bool = False) -> np.ndarray:
    try:
        v = np.asarray(d[key], dtype=float)
    except (TypeError, ValueError):
        raise DataError(f"{path}: {key!r} must be a list of {size} numbers") from None
    if v.shape != (size,) or not np.all(np.isfinite(v)) or (positive and np.any(v <= 0)):
        raise DataError(f"{path}: {key!r} must be a list of {size} finite numbers"
                        + (" > 0" if positive else ""))
    return v


def load_model(path) -> TrainedModel:
    """Read and validate a ``model.json`` of format 2 or 1 (raises :class:`DataError` naming the
    problem). Format 1 files get identity scaling."""
    path = Path(path)
    d = read_format_json(path, MODEL_FORMATS, "file")
    keys = MODEL_KEYS_V2 if d["format"] == MODEL_FORMAT else MODEL_KEYS
    missing = [k for k in keys if k not in d]
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
    extra = {"format": d["format"]}
    if d["format"] == MODEL_FORMAT:
        dd, m = spec.inputs, spec.outputs
        extra.update(input_offset=_vector(path, d, "input_offset", dd),
                     input_scale=_vector(path, d, "input_scale", dd, positive=True),
                     output_offset=_vector(path, d, "output_offset", m),
                     output_scale=_vector(path, d, "output_scale", m, positive=True))
        for key, size in (("feature_names", dd), ("target_names", m), ("class_names", None)):
            v = d[key]
            bad = not isinstance(v, list) or (size is not None and len(v) != size)
            if v is not None and bad:
                raise DataError(f"{path}: {key!r} must be null or a list"
                                + (f" of {size} names" if size is not None else ""))
            extra[key] = tuple(str(x) for x in v) if v is not None else None
        cn = extra["class_names"]
        if cn is not None and decision is not None:
            k = 2 if decision == "threshold" else spec.outputs
            if len(cn) != k:
                raise DataError(f"{path}: 'class_names' must list {k} classes")
    return TrainedModel(spec, params, decision,
                        float(threshold) if decision == "threshold" else None, **extra)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def read_inputs_csv(path, d: int, names=None) -> np.ndarray:
    """Read input points from a CSV file: one point per line, ``d`` comma-separated numbers.

    An optional header line (the first non-blank line, if none of its fields is a number) is
    skipped; blank lines and lines starting with ``#`` are ignored. Raises :class:`DataError`
    naming the file and line for a wrong number of columns, a non-number, NaN or infinity
    (with ``names``, the model's ``d`` feature names: a header that lacks some names them).
    """
    from ..tasks._tabular import read_text
    path = Path(path)
    text = read_text(path)
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
                missing = [n for n in (names or ()) if n not in fields]
                raise DataError(f"{path}:{lineno}: header has {len(fields)} columns, the model "
                                f"has {d} inputs" + (f" (missing: {', '.join(missing)})"
                                                     if missing else ""))
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
