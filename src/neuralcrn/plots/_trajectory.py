"""Concentration trajectories of a simulated reaction network."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._common import plt, save_figure

__all__ = ["plot_trajectory"]


def plot_trajectory(times: np.ndarray, concentrations: np.ndarray, species: Sequence[str], path,
                    *, title: str = "", max_legend: int = 20):
    """Plot concentration vs time of every species and write a PNG.

    Parameters
    ----------
    times: shape ``(P,)``, time units.
    concentrations: shape ``(P, S)`` (or ``(runs, P, S)`` for stochastic runs: each run drawn thin,
        the mean thick), concentration units.
    species: the S species names (legend labels).
    path: PNG file to write.
    """
    c = np.asarray(concentrations)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, s in enumerate(species):
        col = colors[i % len(colors)]
        if c.ndim == 3:
            for run in c[:, :, i]:
                ax.plot(times, run, color=col, lw=0.5, alpha=0.3)
            ax.plot(times, c[:, :, i].mean(axis=0), color=col, lw=2,
                    label=s if i < max_legend else None)
        else:
            ax.plot(times, c[:, i], color=col, lw=1.8, label=s if i < max_legend else None)
    ax.set_xlabel("time")
    ax.set_ylabel("concentration")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if len(species) <= max_legend:
        ax.legend(fontsize=8, loc="best", ncol=2 if len(species) > 8 else 1)
    else:
        ax.legend(fontsize=7, loc="best", title=f"first {max_legend} of {len(species)}", ncol=2)
    return save_figure(fig, path)
