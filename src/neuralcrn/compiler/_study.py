"""Accuracy, reconstruction and size studies of compiled Neural CRNs (the numbers in docs/compiler.md).

Run ``python -m neuralcrn.compiler._study`` (all tables, a few minutes on 2 cores) or call the
functions. Every number is measured: chemistry simulated with :func:`chemical_gradient` (Tsit5,
rtol 1e-10, atol 1e-12) against the ideal math of :mod:`neuralcrn.ideal` (adjoint / first-order,
rtol 1e-10).
"""

from __future__ import annotations

import time

import numpy as np

from ..ideal import (ChemistryRates, ModelSpec, grad_adjoint, grad_first_order, init_params,
                     params_relative_error)
from ._modules import compile_circuit
from ._protocol import chemical_gradient

__all__ = ["xor_spec", "accuracy_study", "annihilation_table", "counts_table",
           "feedback_reaction_count"]


def xor_spec(augment_value: float = 0.2, *, annihilation: float | None = None,
             gradient: str = "exact", nonlinearity: str = "quadratic") -> ModelSpec:
    """The paper's quadratic XOR model: d = 2, a = 1 augmentation entry c, full Θ 3×3, α = 0.15,
    T = 0.4, m = 1 (SPEC §5). ``annihilation`` overrides k_ann (default: ChemistryRates default)."""
    rates = ChemistryRates() if annihilation is None else ChemistryRates(annihilation=annihilation)
    if nonlinearity == "cubic":
        return ModelSpec(inputs=2, outputs=1, drive="augment", augment_count=1,
                         augment_value=augment_value, theta="full", nonlinearity="cubic",
                         alpha=1.0, T=0.9, gradient=gradient, rates=rates)
    return ModelSpec(inputs=2, outputs=1, drive="augment", augment_count=1,
                     augment_value=augment_value, theta="full", nonlinearity=nonlinearity,
                     alpha=0.15, T=0.4, gradient=gradient, rates=rates)


def accuracy_study(spec: ModelSpec, *, n_samples: int = 30, seed: int = 0,
                   theta_scale: float = 1.0, h_scale: float = 0.5,
                   readout: str = "ones") -> dict[str, np.ndarray]:
    """Chemical vs ideal on random parameters (Θ ~ N(0, theta_scale²), h ~ N(0, h_scale²), W as
    ``readout``) and random XOR-like samples (x ~ U(0,1)^d, y ∈ {0, 1}^m).

    Returns arrays of length ``n_samples``: ``grad_rel`` (‖G_chem − G_ideal‖₂/‖G_ideal‖₂ over all
    trained gradients), ``yhat_abs`` (max |ŷ_chem − ŷ|), ``recon_chem`` (max |z(s=T) − z(0)| of the
    chemistry; NaN for first-order), ``recon_ideal`` (the same for the ideal adjoint ODE) and
    ``seconds`` (wall time of one chemical step; the first includes compilation).
    """
    rng = np.random.default_rng(seed)
    out = {k: [] for k in ("grad_rel", "yhat_abs", "recon_chem", "recon_ideal", "seconds")}
    for s in range(n_samples):
        p = init_params(spec, seed * 10_000 + s, theta_scale, h_scale=h_scale, readout=readout)
        x = rng.uniform(0.0, 1.0, spec.inputs)
        y = np.round(rng.uniform(0.0, 1.0, spec.outputs))
        circuit = compile_circuit(spec, p)
        t = time.perf_counter()
        r = chemical_gradient(circuit, x, y)
        out["seconds"].append(time.perf_counter() - t)
        if spec.gradient == "exact":
            _, g, info = grad_adjoint(spec, p, x, y)
            out["recon_ideal"].append(float(info["recon_err_max"]))
            out["recon_chem"].append(r.reconstruction_error)
        else:
            _, g, info = grad_first_order(spec, p, x, y)
            out["recon_ideal"].append(np.nan)
            out["recon_chem"].append(np.nan)
        out["grad_rel"].append(params_relative_error(r.grads, g))
        out["yhat_abs"].append(float(np.max(np.abs(r.yhat - np.asarray(info["y_hat"])))))
    return {k: np.asarray(v, dtype=float) for k, v in out.items()}


def annihilation_table(k_values=(10.0, 100.0, 1000.0, 1e4), augment_values=(0.2, 1.0), *,
                       n_samples: int = 30, seed: int = 0, gradient: str = "exact") -> list[dict]:
    """Relative gradient error of the quadratic XOR model against k_ann (one row per (c, k_ann))."""
    rows = []
    for c in augment_values:
        for k in k_values:
            r = accuracy_study(xor_spec(c, annihilation=k, gradient=gradient),
                               n_samples=n_samples, seed=seed)
            rows.append({"c": c, "k_ann": k,
                         "grad_rel_median": float(np.median(r["grad_rel"])),
                         "grad_rel_p90": float(np.quantile(r["grad_rel"], 0.9)),
                         "grad_rel_max": float(np.max(r["grad_rel"])),
                         "yhat_abs_max": float(np.max(r["yhat_abs"])),
                         "recon_chem_max": float(np.nanmax(r["recon_chem"]))
                         if gradient == "exact" else float("nan"),
                         "recon_ideal_max": float(np.nanmax(r["recon_ideal"]))
                         if gradient == "exact" else float("nan"),
                         "seconds_per_step": float(np.median(r["seconds"][1:]))})
    return rows


def counts_table(dims=(2, 4, 8, 16, 32, 64), *, hidden="d", gradient: str = "first-order",
                 nonlinearity: str = "quadratic") -> list[dict]:
    """Species / reaction counts of the compiled circuit for drive "bias" (u = (x, 1), z(0) = 0, full
    Θ ∈ R^{n×(d+1)}, m = 1, h and W trained) for each d; ``hidden`` = ``"d"`` (n = d) or an int."""
    rows = []
    for d in dims:
        n = d if hidden == "d" else int(hidden)
        spec = ModelSpec(inputs=d, outputs=1, drive="bias", hidden=n, z0="zero", theta="full",
                         nonlinearity=nonlinearity, alpha=0.15, T=0.4, gradient=gradient)
        c = compile_circuit(spec)
        n_params = n * (d + 1) + n + n
        row = {"d": d, "n": n, "params": n_params, "species": c.network.n_species,
               "reactions": c.network.n_reactions}
        for name, net in c.modules:
            row[name] = net.n_reactions
        rows.append(row)
    return rows


def feedback_reaction_count(spec: ModelSpec) -> int:
    """Number of reactions of the feedback module of ``spec``."""
    return compile_circuit(spec).module("feedback").n_reactions


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def _markdown(rows: list[dict]) -> str:
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for r in rows:
        lines.append("| " + " | ".join(_fmt(r[k]) for k in keys) + " |")
    return "\n".join(lines)


def main() -> None:  # pragma: no cover - documentation run
    print("## quadratic XOR, exact gradient: error vs k_ann (30 samples each)")
    print(_markdown(annihilation_table()))
    print("\n## quadratic XOR, first-order gradient: error vs k_ann (30 samples each)")
    print(_markdown(annihilation_table(gradient="first-order")))
    print("\n## counts, drive 'bias', n = d, first-order")
    print(_markdown(counts_table()))
    print("\n## counts, drive 'bias', n = 8, first-order")
    print(_markdown(counts_table(hidden=8)))
    print("\n## counts, drive 'bias', n = d, exact")
    print(_markdown(counts_table(gradient="exact")))


if __name__ == "__main__":  # pragma: no cover
    main()
