"""Plots of the Ω (molecule-number) studies of stochastic training."""

from __future__ import annotations

import numpy as np

from ._common import plt, save_figure

__all__ = ["plot_omega_study"]


def plot_omega_study(summary: dict, path, title: str | None = None) -> None:
    """Metric against Ω (log axis) from :func:`neuralcrn.training._omega_study.summarize_study`:
    mean and 95 % interval per evaluation, the ODE result as a line (its interval as a band),
    chance level for accuracy. Writes a PNG atomically."""
    fig, ax = plt.subplots(figsize=(6.8, 4.4))
    metric, rows, ode = summary["metric"], summary["rows"], summary["ode"]
    scale = 100.0 if metric == "accuracy" else 1.0
    kinds = sorted({r.get("kinetics", summary["kinetics"]) for r in rows},
                   key=lambda k: ("ssa", "tau-leap", "cle").index(k))
    for kin in kinds:
        for key, label, mk in ((summary["split"], "learned parameters", "o"),
                               ("test_stochastic_forward", "forward at Ω", "s")):
            r = [x for x in rows if key in x and x.get("kinetics", kin) == kin]
            if not r:
                continue
            om = np.array([x["volume"] for x in r])
            m = np.array([x[key]["mean"] for x in r]) * scale
            lo = np.array([x[key]["lo95"] if x[key]["lo95"] is not None else x[key]["mean"]
                           for x in r]) * scale
            hi = np.array([x[key]["hi95"] if x[key]["hi95"] is not None else x[key]["mean"]
                           for x in r]) * scale
            ax.errorbar(om, m, yerr=[m - lo, hi - m], marker=mk, capsize=3,
                        ls="-" if key == summary["split"] else "--", label=f"{kin}: {label}")
    ax.axhline(ode["mean"] * scale, color="k", lw=1.2, label="ODE chemistry")
    if ode["lo95"] is not None:
        ax.axhspan(ode["lo95"] * scale, ode["hi95"] * scale, color="k", alpha=0.08)
    chance = summary.get("chance")
    if chance is not None:
        ax.axhline(chance * scale, color="gray", ls=":", lw=1,
                   label="chance (constant predictor)")
    if metric == "accuracy":
        ax.set_ylabel("test accuracy (%)")
    else:
        ax.set_yscale("log")
        ax.set_ylabel(f"test ½MSE ({summary.get('average', 'arithmetic')} mean)")
    ax.set_xscale("log")
    ax.set_xlabel("Ω (molecules per unit concentration)")
    ax.set_title(title or f"{summary['task']}: stochastic training ({summary['kinetics']}), "
                          f"mean and 95 % interval over seeds", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)
