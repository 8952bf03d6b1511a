"""An independent evaluator of neuralcrn's model.json (numpy + scipy only, no neuralcrn code).

Used by the tests to check that model.json alone reproduces the reported metrics.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp


def predict_model_units(model: dict, X) -> np.ndarray:
    """ŷ ``(N, m)`` of model.json's math for inputs already in the model's units."""
    X = np.asarray(X, float)
    n = model["hidden"]
    th, h, W = (np.asarray(model[k], float) for k in ("theta", "h", "W"))
    tail = ([model["augment_value"]] * model["augment_count"] if model["drive"] == "augment"
            else [1.0])
    U = np.hstack([X, np.tile(tail, (X.shape[0], 1))])
    Z0 = U.copy() if model["z0"] == "drive" else np.zeros((X.shape[0], n))
    drive = U @ th.T + h
    a = model["alpha"]
    phi = {"none": lambda z: 0 * z, "quadratic": lambda z: a * z * np.abs(z),
           "cubic": lambda z: a * z ** 3}[model["nonlinearity"]]
    sol = solve_ivp(lambda t, z: (drive - phi(z.reshape(-1, n))).ravel(), (0.0, model["T"]),
                    Z0.ravel(), method="RK45", rtol=1e-9, atol=1e-11)
    assert sol.success
    return sol.y[:, -1].reshape(-1, n) @ W.T


def evaluate_model_json(model: dict, X_raw) -> tuple[np.ndarray, list | None]:
    """(ŷ in the data's units (N, m), predicted classes or None) of a neuralcrn-model/2 dict for
    raw inputs: the file's own input scaling, output scaling and class names are applied."""
    X = (np.asarray(X_raw, float) - np.asarray(model["input_offset"])) / np.asarray(
        model["input_scale"])
    Yhat = predict_model_units(model, X)
    classes = None
    if model["decision"] == "threshold":
        lab = (Yhat[:, 0] > model["threshold"]).astype(int)
        classes = [model["class_names"][k] for k in lab]
    elif model["decision"] == "argmax":
        classes = [model["class_names"][k] for k in np.argmax(Yhat, axis=1)]
    return Yhat * np.asarray(model["output_scale"]) + np.asarray(model["output_offset"]), classes
