"""Figures of a chemical clock and of an autonomous Neural CRN running on it."""

from __future__ import annotations

import numpy as np

from ._common import plt, save_figure

__all__ = ["plot_clock", "plot_cycles"]


def _windows(ax, times, clock: dict, alpha=0.12):
    """Shade each phase's window (where its signal is the largest) in the phase's colour."""
    names = list(clock)
    sig = np.stack([np.asarray(clock[n]) for n in names], axis=1)
    owner = np.argmax(sig, axis=1)
    edges = np.flatnonzero(np.diff(owner)) + 1
    bounds = np.concatenate([[0], edges, [len(times) - 1]])
    for a, b in zip(bounds[:-1], bounds[1:]):
        ax.axvspan(times[a], times[b], color=f"C{owner[a]}", alpha=alpha, lw=0)


def plot_clock(times, signals: dict, gates: dict, path, *, period: float | None = None,
               title: str = ""):
    """The clock's phase signals (top) and gate species (bottom) against time.

    times: ``(P,)``; signals, gates: ``{phase: (P,) concentration}`` (gates may omit phases).
    The background shows each phase's window.
    """
    t = np.asarray(times)
    fig, axes = plt.subplots(2, 1, figsize=(10, 5.5), sharex=True)
    names = list(signals)
    for k, ax in enumerate(axes):
        _windows(ax, t, signals)
        data = signals if k == 0 else gates
        for n in data:
            ax.plot(t, data[n], color=f"C{names.index(n)}", lw=1.6, label=n)
        ax.grid(alpha=0.3)
        ax.set_ylabel("signal K (conc.)" if k == 0 else "gate G ≈ K²/M (conc.)")
        ax.legend(fontsize=8, ncol=len(names), loc="upper right")
    axes[1].set_xlabel("time" + (f" (period {period:.4g})" if period else ""))
    axes[0].set_title("phase signals (kill–recruit oscillator)", fontsize=10)
    axes[1].set_title("gate species (catalyse the gated transfers)", fontsize=10)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def plot_cycles(times, series: dict, path, *, period: float | None = None,
                clock: dict | None = None, title: str = ""):
    """A few clock periods of an autonomous circuit: one panel per group of signed values
    (``series``: ``{label: (P,)}``), the clock's windows shaded behind (``clock``: signals)."""
    t = np.asarray(times)
    labels = list(series)
    groups = [labels[i:i + 3] for i in range(0, len(labels), 3)]
    fig, axes = plt.subplots(len(groups), 1, figsize=(10, 2.2 * len(groups) + 0.6), sharex=True)
    axes = np.atleast_1d(axes)
    for ax, group in zip(axes, groups):
        if clock is not None:
            _windows(ax, t, clock, alpha=0.08)
        for k, lab in enumerate(group):
            ax.plot(t, series[lab], color=f"C{k}", lw=1.4, label=lab)
        ax.axhline(0, color="k", lw=0.5)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper right")
    if period:
        for ax in axes:
            for k in range(int(t[-1] / period) + 1):
                ax.axvline(k * period, color="k", lw=0.6, ls=":")
    axes[-1].set_xlabel("time (dotted: doses)")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)
