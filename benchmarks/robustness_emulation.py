"""Ideal-math emulation of XOR training under rate-constant errors (docs/robustness.md).

The chemistry's first-order SGD step with each rate-constant error folded into a *gain* of the
term it drives — the cheap model that located the σ = 0.2 failure of the two-phase circuit in
seconds, before any chemistry was run. Per circuit instance every gain is exp(σ·ξ), ξ ~ N(0, 1)
independent, one per reaction it stands for (so a term's gain depends on the rails, i.e. the
signs, it runs through):

* forward: dz_i/dt = Σ_j GF[i, j, sθ, su] θ_ij u_j − α fa[i, sz] z_i|z_i| (RK4, 25 steps);
  ŷ = (2 − fc/fq)[sO] · o / fO[sO], o = Σ_i GR[i, sW, sz] W_i z_i (the tracking readout's
  steady state; O, Q rails with their own errors);
* error clock: ∫E = e / fE[se]; adjoint a_i = GA[i, sW, se] W_i ∫E, ∫A = a_i / fA[i, sa];
* ΔΘ_ij = −η T GU[i, j, sa, su] ∫A_i u_j;  ΔW_i = −η GW[i, se, sz] ∫E z_i.

What it leaves out: the transient of the two error rails before they annihilate (which the
chemistry multiplies by the same errors — docs/robustness.md measures it), leaks, washes.
Everything else is the task's model, data, initialisation and sample order.

    python benchmarks/robustness_emulation.py            # the table of docs/robustness.md
    python benchmarks/robustness_emulation.py --quick    # σ = 0 and 0.2 with all gains only
"""

from __future__ import annotations

import argparse
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from neuralcrn.tasks import epoch_order, get_task

PARTS = ("GF", "fa", "GR", "fO", "fc", "fq", "fE", "GA", "fA", "GU", "GW")
FORWARD = ("GF", "fa", "GR", "fO", "fc", "fq")
UPDATE = ("fE", "GA", "fA", "GU", "GW")


def _sign(v):
    return (v < 0).astype(jnp.int32)


def draw_gains(n: int, nu: int, sigma: float, seed: int, parts=PARTS, w_gain: str = "sign",
               a_gain: str = "sign"):
    """The gains of one instance (ones for the parts not listed). ``w_gain``: ``"sign"`` (one
    per (e, z) sign pattern and weight: the direct update), ``"z"`` (one per z sign and weight,
    shared by both signs of e: the routed update before z's sign was routed), ``"weight"`` (one
    per weight: the routed update). ``a_gain``: ``"sign"`` (adjoint gain per (W, e) sign
    pattern: the circuit) or ``"w"`` (per W sign only: an adjoint routed by the sign of e)."""
    rng = np.random.default_rng(1000 + seed)
    f = lambda *shape: np.exp(sigma * rng.standard_normal(shape))  # noqa: E731
    g = dict(GF=f(n, nu, 2, 2), fa=f(n, 2), GR=f(n, 2, 2), fO=f(2), fc=f(2), fq=f(2),
             fE=f(2), GA=f(n, 2, 2), fA=f(n, 2), GU=f(n, nu, 2, 2), GW=f(n, 2, 2))
    if w_gain == "z":
        g["GW"] = np.broadcast_to(f(n, 1, 2), (n, 2, 2)).copy()
    elif w_gain == "weight":
        g["GW"] = np.broadcast_to(f(n, 1, 1), (n, 2, 2)).copy()
    if a_gain == "w":
        g["GA"] = np.broadcast_to(g["GA"][:, :, :1], (n, 2, 2)).copy()
    return {k: jnp.asarray(v if k in parts else np.ones_like(v)) for k, v in g.items()}


def _forward(spec, g, theta, W, u, steps: int = 25):
    n, nu = theta.shape
    rows, cols = jnp.arange(n)[:, None], jnp.arange(nu)[None, :]
    drive = jnp.sum(g["GF"][rows, cols, _sign(theta), _sign(u)[None, :]] * theta * u[None, :], 1)
    dt = spec.T / steps

    def f(z):
        return drive - spec.alpha * g["fa"][jnp.arange(n), _sign(z)] * z * jnp.abs(z)

    def rk4(z, _):
        k1 = f(z)
        k2 = f(z + dt / 2 * k1)
        k3 = f(z + dt / 2 * k2)
        k4 = f(z + dt * k3)
        return z + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4), None

    z, _ = jax.lax.scan(rk4, jnp.zeros(n), None, length=steps)
    w = W[0]
    o = jnp.sum(g["GR"][jnp.arange(n), _sign(w), _sign(z)] * w * z)
    so = _sign(o)
    return z, (2.0 - g["fc"][so] / g["fq"][so]) * o / g["fO"][so]


def _step(spec, g, p, x, y, decay):
    theta, W = p
    n, nu = theta.shape
    u = jnp.concatenate([x, jnp.ones(1)])
    z, yhat = _forward(spec, g, theta, W, u)
    e = yhat - y[0]
    se = _sign(e)
    int_e = e / g["fE"][se]
    a = g["GA"][jnp.arange(n), _sign(W[0]), se] * W[0] * int_e
    int_a = a / g["fA"][jnp.arange(n), _sign(a)]
    rows, cols = jnp.arange(n)[:, None], jnp.arange(nu)[None, :]
    eta = spec.learning_rate
    d_theta = -eta * spec.T * g["GU"][rows, cols, _sign(int_a)[:, None], _sign(u)[None, :]] \
        * int_a[:, None] * u[None, :]
    d_W = -eta * g["GW"][jnp.arange(n), se, _sign(z)] * int_e * z
    keep = jnp.exp(-decay)
    return (keep * theta + d_theta, keep * W + d_W[None, :]), 0.5 * e * e


def train(spec, gains, p0, X, Y, decay=0.0):
    """Online SGD over the stacked samples ``X (N, d)``; returns the final ``(Θ, W)``."""
    def body(p, xy):
        return _step(spec, gains, p, xy[0], xy[1], decay)
    return jax.lax.scan(body, p0, (X, Y))[0]


def run(sigma: float, seeds, parts=PARTS, *, w_gain="sign", a_gain="sign", decay=0.0, hidden=None,
        epochs=None):
    """Test accuracy (the emulated imperfect forward pass on the 40 × 40 grid) per seed."""
    task = get_task("xor")
    spec = task.model_spec if hidden is None else dataclasses.replace(task.model_spec,
                                                                      hidden=hidden)
    epochs = epochs or task.epochs
    out = []
    train_jit = jax.jit(lambda g, p, X, Y: train(spec, g, p, X, Y, decay))
    for s in seeds:
        ds, p = task.make_data(s), task.init_params(s, spec=spec)
        order = np.concatenate([np.asarray(epoch_order(s, e, ds.X_train.shape[0]))
                                for e in range(epochs)])
        g = draw_gains(spec.n, spec.n_u, sigma, s, parts, w_gain, a_gain)
        th, W = train_jit(g, (jnp.asarray(p.theta), jnp.asarray(p.W)),
                          jnp.asarray(ds.X_train[order]), jnp.asarray(ds.Y_train[order]))
        _, yh = jax.vmap(lambda x: _forward(spec, g, th, W, jnp.concatenate([x, jnp.ones(1)])))(
            jnp.asarray(ds.X_test))
        ok = np.isfinite(np.asarray(yh)).all()
        acc = float(np.mean((np.asarray(yh) > 0.5) == (ds.Y_test[:, 0] > 0.5))) if ok else 0.5
        out.append(acc)
    return np.asarray(out)


CASES = [
    ("perfect (σ = 0)", 0.0, {}),
    ("all gains", 0.2, {}),
    ("forward-pass gains only", 0.2, {"parts": FORWARD}),
    ("update gains only", 0.2, {"parts": UPDATE}),
    ("ΔW gains GW only", 0.2, {"parts": ("GW",)}),
    ("ΔΘ path gains (GA, fA, GU) only", 0.2, {"parts": ("GA", "fA", "GU")}),
    ("error-clock gain fE only (shared by all weights)", 0.2, {"parts": ("fE",)}),
    ("all gains, parameter decay 1e-3 per step", 0.2, {"decay": 1e-3}),
    ("all gains, parameter decay 3e-3 per step", 0.2, {"decay": 3e-3}),
    ("σ = 0, parameter decay 3e-3 per step", 0.0, {"decay": 3e-3}),
    ("all gains, hidden n = 8", 0.2, {"hidden": 8}),
    ("all gains, ΔW gain per z sign only (routed)", 0.2, {"w_gain": "z"}),
    ("all gains, ΔW gain per weight only (routed by e and z)", 0.2, {"w_gain": "weight"}),
    ("all gains, ΔW per weight, adjoint gain per W sign only", 0.2,
     {"w_gain": "weight", "a_gain": "w"}),
    ("ΔW per weight, readout ŷ = O (no lag stage Q: no fc, fq)", 0.2,
     {"w_gain": "weight", "parts": tuple(p for p in PARTS if p not in ("fc", "fq"))}),
    ("σ = 0.1, all gains", 0.1, {}),
    ("σ = 0.1, ΔW gain per z sign only (routed)", 0.1, {"w_gain": "z"}),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--replicates", type=int, default=10)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    seeds = range(args.replicates)
    cases = CASES[:2] if args.quick else CASES
    print("| emulated XOR, 100 epochs | σ | mean test accuracy (%) | per instance |")
    print("|---|---|---|---|")
    for label, sigma, kw in cases:
        acc = 100 * run(sigma, seeds, **kw)
        print(f"| {label} | {sigma:g} | {acc.mean():.1f} | {' '.join(f'{a:.0f}' for a in acc)} |",
              flush=True)


if __name__ == "__main__":
    main()
