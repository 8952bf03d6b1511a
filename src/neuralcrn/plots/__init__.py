"""Plots (matplotlib, headless Agg backend). Every function writes a PNG file atomically."""

from ._common import save_figure
from ._trajectory import plot_trajectory

__all__ = ["save_figure", "plot_trajectory"]
