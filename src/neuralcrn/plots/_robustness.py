"""Plots of a robustness study (:mod:`neuralcrn.studies`): the metric against each swept axis."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._common import plt, save_figure

__all__ = ["plot_robustness"]

_LABELS = {"volume": ("omega.png", "Ω (molecules per unit concentration)"),
           "rate_noise": ("rate_noise.png", "σ of the rate-constant error k·exp(σ·N(0,1))"),
           "leak": ("leak.png", "leak λ (fraction of the catalysed rate)"),
           "wash_residual": ("wash.png", "wash residual w (fraction surviving the wash)")}


def _errorbar(ax, x, stats, scale, **kw):
    m = np.array([s["mean"] for s in stats]) * scale
    lo = np.array([s["lo95"] if s["lo95"] is not None else s["mean"] for s in stats]) * scale
    hi = np.array([s["hi95"] if s["hi95"] is not None else s["mean"] for s in stats]) * scale
    ax.errorbar(x, m, yerr=[m - lo, hi - m], capsize=3, **kw)


def _curve(summary, axis):
    base = summary["baseline"]
    others = [a for a in ("rate_noise", "leak", "wash_residual") if a != axis]
    pts = [p for p in summary["points"] if "test" in p and all(p[a] == base[a] for a in others)]
    if axis == "volume":
        return sorted((p for p in pts if p["volume"] is not None
                       and p["rate_noise"] == base["rate_noise"]), key=lambda p: p["volume"])
    return sorted((p for p in pts if p["volume"] is None), key=lambda p: p[axis])


def plot_robustness(summary: dict, out_dir, title: str = "") -> list[str]:
    """One PNG per swept axis (``omega.png`` on a log Ω axis with the ODE result as a line and
    its 95 % interval as a band, ``rate_noise.png``, ``leak.png``, ``wash.png``): the mean and 95 %
    interval over replicates of the headline metric (the chemical forward pass), the 90 %
    breaking level and chance for accuracy. Only axes with ≥ 2 values (Ω: ≥ 1) are drawn.
    Returns the file names written."""
    metric = summary["metric"]
    scale = 100.0 if metric == "accuracy" else 1.0
    written = []
    for axis, (name, xlabel) in _LABELS.items():
        pts = _curve(summary, axis)
        if len(pts) < (1 if axis == "volume" else 2):
            continue
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        x = np.array([p[axis] for p in pts], dtype=float)
        _errorbar(ax, x, [p["test"] for p in pts], scale, marker="o",
                  label="chemical forward pass (mean, 95 % interval)")
        if axis == "volume":
            sto = [p for p in pts if "stochastic_test" in p]
            if sto:
                _errorbar(ax, np.array([p["volume"] for p in sto]),
                          [p["stochastic_test"] for p in sto], scale, marker="s", ls="--",
                          label="forward pass at Ω")
            ode = summary.get("ode")
            if ode is not None:
                ax.axhline(ode["mean"] * scale, color="k", lw=1.2, label="ODE chemistry")
                if ode["lo95"] is not None:
                    ax.axhspan(ode["lo95"] * scale, ode["hi95"] * scale, color="k", alpha=0.08)
            ax.set_xscale("log")
        if metric == "accuracy":
            ax.axhline(90.0, color="tab:red", ls="--", lw=1, label="90 % (breaking level)")
            if summary.get("chance") is not None:
                ax.axhline(summary["chance"] * 100, color="gray", ls=":", lw=1, label="chance")
            ax.set_ylabel("test accuracy (%)")
        else:
            ax.set_yscale("log")
            ax.set_ylabel("test ½MSE")
        brk = summary.get("breaking", {}).get(axis)
        if brk and brk.get("bound") == "interpolated":
            ax.axvline(brk["value"], color="tab:red", lw=0.8, alpha=0.6)
        ax.set_xlabel(xlabel)
        task = (summary.get("study") or {}).get("task", "")
        ax.set_title(title or f"{task}: robustness, mean and 95 % interval over replicates",
                     fontsize=10)
        ax.legend(fontsize=8)
        fig.tight_layout()
        save_figure(fig, Path(out_dir) / name)
        written.append(name)
    return written
