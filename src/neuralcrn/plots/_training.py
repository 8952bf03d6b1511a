"""Figures of a training run: loss curves, decision regions, predicted vs target, parameters."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from matplotlib.colors import TwoSlopeNorm
from matplotlib.ticker import MaxNLocator

from ._common import plt, save_figure

__all__ = ["plot_loss_curves", "plot_decision_regions", "plot_predicted_vs_target",
           "plot_parameter_trajectories"]


def _band(ax, x, v, color, label, ls="-"):
    """Mean line (and min–max band when v has several rows); columns that are NaN in every row
    (epochs that were not evaluated) are skipped, not drawn as gaps."""
    v = np.atleast_2d(np.asarray(v, dtype=float))
    keep = np.any(np.isfinite(v), axis=0)
    x, v = np.asarray(x)[keep], v[:, keep]
    if x.size == 0:
        return
    mean = np.nanmean(v, axis=0)
    ax.plot(x, mean, ls, color=color, lw=2, marker="o" if x.size < 3 else None,
            label=label + (f" (mean of {v.shape[0]}, band min–max)" if v.shape[0] > 1 else ""))
    if v.shape[0] > 1:
        ax.fill_between(x, np.nanmin(v, axis=0), np.nanmax(v, axis=0), color=color, alpha=0.2,
                        lw=0)


def plot_loss_curves(epochs, train_loss, val_loss, path, *, val_accuracy=None,
                     running_loss=None, title: str = ""):
    """Training and validation ½MSE per epoch (log scale) and, for classifiers, the validation
    accuracy on a second panel.

    epochs: ``(E+1,)``; train_loss, val_loss, running_loss, val_accuracy: ``(E+1,)`` or
    ``(K, E+1)`` for K replicates (mean line and min–max band).
    """
    x = np.asarray(epochs)
    two = val_accuracy is not None
    fig, axes = plt.subplots(1, 2 if two else 1, figsize=(11 if two else 6.5, 4.2))
    ax = axes[0] if two else axes
    _band(ax, x, train_loss, "C0", "train")
    _band(ax, x, val_loss, "C1", "validation")
    if running_loss is not None:
        r = np.atleast_2d(np.asarray(running_loss, dtype=float))
        if np.any(np.isfinite(r)):
            _band(ax, x[1:], r[:, 1:], "C2", "seen during epoch", ls="--")
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("½ MSE")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=9)
    ax.set_title("loss")
    if two:
        ax2 = axes[1]
        _band(ax2, x, 100 * np.asarray(val_accuracy, dtype=float), "C3", "validation accuracy")
        ax2.set_xlabel("epoch")
        ax2.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax2.set_ylabel("accuracy (%)")
        ax2.set_ylim(0, 102)
        ax2.grid(alpha=0.3)
        ax2.legend(fontsize=9, loc="lower right")
        ax2.set_title("validation accuracy")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def plot_decision_regions(grid_axes, grid_values, grid_labels, path, *, threshold: float = 0.5,
                          X_train=None, labels_train=None, title: str = ""):
    """Decision regions of a 2-d binary classifier over its test grid, errors marked.

    grid_axes: ``(x1 values (c,), x2 values (r,))``; grid_values: ŷ on the grid ``(r, c)``;
    grid_labels: true labels on the grid ``(r, c)``. Misclassified grid points are drawn as
    red crosses; training points (optional) as small dots coloured by label.
    """
    gx, gy = (np.asarray(a, dtype=float) for a in grid_axes)
    V = np.asarray(grid_values, dtype=float)
    L = np.asarray(grid_labels)
    pred = (V > threshold).astype(int)
    wrong = pred != L
    fig, ax = plt.subplots(figsize=(6.2, 5.4))
    vmin = min(np.nanmin(V), threshold - 1e-6)
    vmax = max(np.nanmax(V), threshold + 1e-6)
    levels = np.linspace(vmin, vmax, 30)
    # white at the threshold: red = class 1 side, blue = class 0 side
    norm = TwoSlopeNorm(vcenter=threshold, vmin=vmin, vmax=vmax)
    cf = ax.contourf(gx, gy, V, levels=levels, cmap="RdBu_r", norm=norm, alpha=0.55)
    ax.contour(gx, gy, V, levels=[threshold], colors="k", linewidths=1.8)
    cb = fig.colorbar(cf, ax=ax, label="ŷ (black line: decision threshold)", format="%.3g")
    ticks = np.linspace(vmin, vmax, 5)
    ticks = ticks[np.abs(ticks - threshold) > 0.08 * (vmax - vmin)]
    cb.set_ticks(np.sort(np.append(ticks, threshold)))
    G1, G2 = np.meshgrid(gx, gy)
    if np.any(wrong):
        ax.scatter(G1[wrong], G2[wrong], marker="x", s=12, c="k", lw=0.9,
                   label=f"misclassified grid points ({int(wrong.sum())} of {wrong.size})")
    if X_train is not None and labels_train is not None:
        Xt, lt = np.asarray(X_train), np.asarray(labels_train)
        for lab, col in ((0, "#1f3fbf"), (1, "#bf1f1f")):
            sel = lt == lab
            ax.scatter(Xt[sel, 0], Xt[sel, 1], s=14, c=col, edgecolors="white", lw=0.5,
                       label=f"training samples, class {lab}")
    acc = 100.0 * (1.0 - wrong.mean())
    ax.set_title((title + "\n" if title else "") + f"grid accuracy {acc:.1f} %")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_xlim(gx.min(), gx.max())
    ax.set_ylim(gy.min(), gy.max())
    ax.set_aspect("equal")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False)
    return save_figure(fig, path)


def plot_predicted_vs_target(sets, path, *, title: str = ""):
    """Predicted vs target scatter (regression).

    sets: ``{name: (targets (N,) or (N, m), predictions same shape)}`` (e.g. validation, test);
    every output is drawn in the same panel, with the identity line.
    """
    fig, ax = plt.subplots(figsize=(5.6, 5.2))
    lo, hi = np.inf, -np.inf
    for i, (name, (Yt, Yp)) in enumerate(sets.items()):
        Yt, Yp = np.asarray(Yt, dtype=float).ravel(), np.asarray(Yp, dtype=float).ravel()
        half_mse = 0.5 * np.mean((Yp - Yt) ** 2)
        ax.scatter(Yt, Yp, s=16, alpha=0.75, color=f"C{i}",
                   label=f"{name} (½MSE {half_mse:.3g}, n={Yt.size})")
        lo, hi = min(lo, Yt.min(), Yp.min()), max(hi, Yt.max(), Yp.max())
    pad = 0.05 * (hi - lo if hi > lo else 1.0)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], "k--", lw=1, label="ŷ = y")
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_aspect("equal")
    ax.set_xlabel("target y")
    ax.set_ylabel("prediction ŷ")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title(title)
    return save_figure(fig, path)


def plot_parameter_trajectories(epochs, values, names: Sequence[str], path, *, title: str = "",
                                max_legend: int = 24):
    """Every parameter against the epoch.

    values: ``(E+1, P)`` parameter values after each epoch (row 0: initial); names: ``(P,)``.
    Θ entries are solid, h dashed, W dotted.
    """
    v = np.asarray(values, dtype=float)
    x = np.asarray(epochs)
    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    for i, name in enumerate(names):
        ls = "-" if name.startswith("theta") else ("--" if name.startswith("h") else ":")
        ax.plot(x, v[:, i], ls, lw=1.6, color=f"C{i % 10}",
                label=name if len(names) <= max_legend else None)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("value")
    ax.grid(alpha=0.3)
    hint = "Θ solid, h dashed, W dotted" + (f"; {len(names)} parameters, legend omitted"
                                             if len(names) > max_legend else "")
    ax.set_title((title + "\n" if title else "") + hint, fontsize=10)
    if len(names) <= max_legend:
        ax.legend(fontsize=7, ncol=max(1, len(names) // 12 + 1), loc="center left",
                  bbox_to_anchor=(1.01, 0.5), frameon=False)
    return save_figure(fig, path)
