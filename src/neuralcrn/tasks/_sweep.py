"""Closed-form online SGD of the bias-drive quadratic model, for hyperparameter sweeps.

For u = (x, 1), z(0) = 0, h = 0 and φ(z) = α z|z| the drive s = Θu is constant during the
forward phase and each hidden unit solves ż = s − α z|z| exactly:

    z(T) = sign(s) √(|s|/α) tanh(√(α|s|) T) = s T · tanh(k)/k,   k = √(α|s|) T

(φ = 0: z(T) = s T). With the first-order gradient (a = Wᵀe, G_Θ = T a uᵀ, G_W = e z(T)ᵀ) one SGD
step is a few matrix-vector products, so a whole run is one compiled ``lax.scan`` that takes
milliseconds instead of an ODE solve per sample. :func:`sweep_run` trains a task's data with the
shared sample order and the task's initialisation for given hyperparameters and returns the test
metrics; it agrees with ``ideal.train_epoch`` to the ODE tolerance (tests/test_tasks.py). Used to
choose the defaults (docs/tasks.md); the tables themselves are measured with the ideal and
chemical training of :mod:`neuralcrn.training`.

:func:`seed_metrics` (and ``python -m neuralcrn.tasks._sweep TASK …``) runs a task's default over
many seeds: the defaults of OR and Iris were chosen on seeds 5–14 and are reported on seeds 0–4
(docs/tasks.md, "Held-out seeds").

    python -m neuralcrn.tasks._sweep or iris --seeds 0-14
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import SpecError
from ..ideal.spec import ModelSpec, Params

__all__ = ["closed_form_z", "closed_form_train", "closed_form_predict", "sweep_run",
           "seed_metrics", "main"]


def closed_form_z(S, alpha, T):
    """z(T) ``(..., n)`` of ż = s − α z|z|, z(0) = 0, for drives S ``(..., n)``."""
    k = jnp.sqrt(alpha * jnp.abs(S)) * T
    safe = jnp.where(k > 1e-6, k, 1.0)
    ratio = jnp.where(k > 1e-6, jnp.tanh(safe) / safe, 1.0 - k * k / 3.0)
    return S * T * ratio


def _check(spec: ModelSpec):
    if not (spec.drive == "bias" and spec.z0 == "zero" and spec.theta == "full"
            and not spec.train_h and spec.gradient == "first-order"
            and spec.nonlinearity in ("quadratic", "none")):
        raise SpecError("the closed form needs drive 'bias', z0 'zero', full theta, h frozen, "
                        "the first-order gradient and a quadratic or linear model")


@functools.partial(jax.jit, static_argnames=())
def _train(theta, h, W, X, Y, orders, alpha, T, eta):
    def step(p, xy):
        th, W = p
        x, y = xy
        u = jnp.concatenate([x, jnp.ones(1)])
        z = closed_form_z(th @ u + h, alpha, T)
        e = W @ z - y
        a = W.T @ e
        return (th - eta * T * jnp.outer(a, u), W - eta * jnp.outer(e, z)), 0.5 * e @ e

    def epoch(p, o):
        p, L = jax.lax.scan(step, p, (X[o], Y[o]))
        return p, L

    (th, W), L = jax.lax.scan(epoch, (theta, W), orders)
    return th, W, L


def closed_form_train(spec: ModelSpec, params: Params, X, Y, orders) -> tuple[Params, np.ndarray]:
    """Online SGD over the epochs ``orders`` ``(E, N)`` (row e = the sample order of epoch e).
    Returns the final parameters and the losses ``(E, N)`` each step saw."""
    _check(spec)
    alpha = spec.alpha if spec.nonlinearity == "quadratic" else 0.0
    th, W, L = _train(jnp.asarray(params.theta), jnp.asarray(params.h), jnp.asarray(params.W),
                      jnp.asarray(X), jnp.asarray(Y), jnp.asarray(orders), alpha, spec.T,
                      spec.learning_rate)
    return Params(np.asarray(th), np.asarray(params.h), np.asarray(W)), np.asarray(L)


def closed_form_predict(spec: ModelSpec, params: Params, X) -> np.ndarray:
    """ŷ ``(N, m)`` of the closed form for X ``(N, d)``."""
    _check(spec)
    alpha = spec.alpha if spec.nonlinearity == "quadratic" else 0.0
    X = np.asarray(X, dtype=float)
    U = np.column_stack([X, np.ones(X.shape[0])])
    S = U @ np.asarray(params.theta).T + np.asarray(params.h)
    return np.asarray(closed_form_z(S, alpha, spec.T)) @ np.asarray(params.W).T


def sweep_run(task, seed: int, spec: ModelSpec | None = None, epochs: int | None = None,
              init=None) -> dict:
    """Train ``task`` for ``seed`` (its data, initialisation and sample order) with the closed
    form; ``spec``/``epochs``/``init`` (an InitConfig) override the task's defaults. Returns
    ``{"val": metrics, "test": metrics, "params": Params}`` (metrics of
    :func:`~neuralcrn.tasks.evaluate`)."""
    import dataclasses

    from ._dataset import epoch_order
    from .metrics import evaluate

    spec = spec or task.model_spec
    E = task.epochs if epochs is None else epochs
    t = task if init is None else dataclasses.replace(task, init=init)
    ds = task.make_data(seed)
    p0 = t.init_params(seed, spec=spec)
    N = ds.X_train.shape[0]
    orders = np.stack([epoch_order(seed, e, N) for e in range(E)]) if E else \
        np.zeros((0, N), dtype=np.int64)
    p, _ = closed_form_train(spec, p0, ds.X_train, ds.Y_train, orders)
    out = {"params": p}
    for s in ("val", "test"):
        X, Y = ds.split(s)
        out[s] = evaluate(ds, closed_form_predict(spec, p, X), Y)
    return out


def seed_metrics(task, seeds) -> np.ndarray:
    """The headline metric of ``task``'s target (its split; accuracy or ½MSE) after closed-form
    training with the task's defaults, one value per seed in ``seeds``: array ``(len(seeds),)``."""
    tg = task.target
    return np.array([sweep_run(task, int(s))[tg.split][tg.metric] for s in seeds])


def _seed_range(text: str) -> range:
    a, _, b = text.partition("-")
    return range(int(a), int(b or a) + 1)


def main(argv=None) -> int:
    """Per-seed headline metrics of tasks' defaults, with the means over seeds 0–4 (the reported
    table) and over the other seeds given (held out from it)."""
    import argparse

    from ._registry import get_task
    ap = argparse.ArgumentParser(prog="python -m neuralcrn.tasks._sweep",
                                 description=main.__doc__)
    ap.add_argument("tasks", nargs="+", help="task names (bias-drive quadratic defaults)")
    ap.add_argument("--seeds", default="0-14", help="seed range A-B [0-14]")
    a = ap.parse_args(argv)
    seeds = _seed_range(a.seeds)
    for name in a.tasks:
        t = get_task(name)
        v = seed_metrics(t, seeds)
        acc = t.target.metric == "accuracy"
        f = (lambda x: f"{100 * x:.2f} %") if acc else (lambda x: f"{x:.4f}")
        ids = np.array(seeds)
        rep = ids < 5
        parts = [f"{name} ({t.target}): seeds {ids.min()}–{ids.max()} mean {f(v.mean())}"]
        if rep.any() and (~rep).any():
            parts.append(f"0–4 {f(v[rep].mean())}, {ids[~rep].min()}–{ids[~rep].max()} "
                         f"{f(v[~rep].mean())}")
        print("; ".join(parts) + "\n  per seed: " + " ".join(f(x) for x in v))
    return 0


if __name__ == "__main__":
    import sys
    sys.exit(main())
