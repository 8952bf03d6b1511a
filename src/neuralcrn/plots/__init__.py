"""Plots (matplotlib, headless Agg backend). Every function writes a PNG file atomically."""

from ._common import save_figure
from ._omega import plot_omega_study
from ._robustness import plot_robustness
from ._trajectory import plot_trajectory
from ._clock import plot_clock, plot_cycles
from ._training import (plot_decision_regions, plot_loss_curves, plot_parameter_trajectories,
                        plot_predicted_vs_target)

__all__ = ["save_figure", "plot_trajectory", "plot_loss_curves", "plot_decision_regions",
           "plot_predicted_vs_target", "plot_parameter_trajectories", "plot_omega_study",
           "plot_robustness",
           "plot_clock", "plot_cycles"]
