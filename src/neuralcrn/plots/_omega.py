"""Plots of the Ω (molecule-number) studies of stochastic training."""

from __future__ import annotations

import numpy as np

from ._common import plt, save_figure

__all__ = ["plot_omega_study"]


def plot_omega_study(summary: dict, path, title: str | None = None) -> None:
    """Metric against Ω (log axis) from :func:`neuralcrn.training._omega_study.summarize_study`:
    mean and 95 % interval per method and evaluation — solid: the trained circuit's forward
    pass at Ω (the study's headline), dashed: the ODE forward pass of the learned counts — the
    ODE-trained result as a line (its interval as a band), the chance level. Writes a PNG
    atomically."""
    fig, ax = plt.subplots(figsize=(6.8, 4.4))
    metric, rows, ode = summary["metric"], summary["rows"], summary["ode"]
    scale = 100.0 if metric == "accuracy" else 1.0
    kinds = sorted({r.get("kinetics", summary["kinetics"]) for r in rows},
                   key=lambda k: ("ssa", "tau-leap", "cle").index(k))
    head = summary.get("headline", "test_stochastic_forward")
    for kin, mk in zip(kinds, "o^s"):
        for key, label, color in ((head, "forward pass at Ω", "C0"),
                                  (summary["split"], "ODE forward of the learned counts", "C1")):
            r = [x for x in rows if key in x and x.get("kinetics", kin) == kin]
            if not r:
                continue
            om = np.array([x["volume"] for x in r])
            m = np.array([x[key]["mean"] for x in r]) * scale
            lo = np.array([x[key]["lo95"] if x[key]["lo95"] is not None else x[key]["mean"]
                           for x in r]) * scale
            hi = np.array([x[key]["hi95"] if x[key]["hi95"] is not None else x[key]["mean"]
                           for x in r]) * scale
            ax.errorbar(om, m, yerr=[m - lo, hi - m], marker=mk, capsize=3, color=color,
                        ls="-" if key == head else "--", alpha=1.0 if key == head else 0.6,
                        label=f"{kin}: {label}")
            if key == head:  # seeds per point, and how many diverged (counted as chance)
                for x, y, row in zip(om, m, r):
                    note = f"n={row['n']}" + (f", {row['diverged']} diverged"
                                              if row.get("diverged") else "")
                    ax.annotate(note, (x, y), textcoords="offset points", xytext=(4, 6),
                                fontsize=7, color="0.3")
    ax.axhline(ode["mean"] * scale, color="k", lw=1.2, label="trained in ODE chemistry")
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
    ep = summary.get("epochs") or []
    n = len(summary["ode"].get("values") or [])
    ax.set_title(title or f"{summary['task']}: trained at Ω ({summary['kinetics']}"
                          + (f", {ep[0]} epochs" if len(ep) == 1 else "")
                          + f"), mean and 95 % interval over seeds (ODE: {n})", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)
