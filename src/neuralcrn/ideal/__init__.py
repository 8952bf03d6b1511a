"""The ideal Neural ODE math (SPEC §2), independent of the chemistry, in JAX.

Model: u = drive(x), z(0) = u or 0, dz/dt = Θu + h − φ(z) on [0, T], ŷ = W z(T), L = ½‖ŷ − y‖².

- building blocks: :func:`drive`, :func:`initial_state`, :func:`vector_field`, :func:`phi`,
  :func:`phi_prime`, :func:`theta_mask`; parameters: :func:`init_params`, :func:`validate_params`
- forward: :func:`forward`, :func:`predict`, :func:`predict_batch`, :func:`loss`,
  :func:`loss_batch`, :func:`mean_loss`
- gradients: :func:`grad_autodiff` (autodiff through the solve, the reference),
  :func:`grad_adjoint` (explicit adjoint ODE — what the chemistry computes),
  :func:`grad_first_order` (a ≡ Wᵀe), :func:`gradient` (dispatch on ``spec.gradient``)
- training: :func:`sgd_step`, :func:`train_epoch` (online SGD, ``lax.scan``)
- :func:`reconstruction_error_study`

The spec (a frozen, hashable dataclass) and :class:`SolverOptions` are static arguments; compiled
code is keyed on the spec's structure (d, n, n_u, m, z0, theta mode) and the solver options, while
the spec's numbers (α, T, c, η, train flags), the parameters and the data are traced, so new values
do not recompile. Solver failures raise :class:`~neuralcrn.errors.SimulationError`, bad parameters
:class:`~neuralcrn.errors.SpecError`, bad x/y :class:`~neuralcrn.errors.DataError` (host-side
checks; skipped under a caller's own ``jit``/``vmap``).
"""

from .spec import ChemistryRates, ModelSpec, Params
from ._model import (drive, init_params, initial_state, phi, phi_prime, theta_mask,
                     validate_params, vector_field)
from ._solver import DEFAULT_SOLVER, SolverOptions
from ._forward import forward, loss, loss_batch, mean_loss, predict, predict_batch
from ._gradients import (grad_adjoint, grad_autodiff, grad_first_order, gradient,
                         mask_gradients, params_relative_error)
from ._train import apply_update, sgd_step, train_epoch
from ._study import reconstruction_error_study

__all__ = [
    "ChemistryRates", "ModelSpec", "Params", "SolverOptions", "DEFAULT_SOLVER",
    "drive", "initial_state", "vector_field", "phi", "phi_prime", "theta_mask",
    "init_params", "validate_params",
    "forward", "predict", "predict_batch", "loss", "loss_batch", "mean_loss",
    "grad_autodiff", "grad_adjoint", "grad_first_order", "gradient", "mask_gradients",
    "params_relative_error",
    "apply_update", "sgd_step", "train_epoch",
    "reconstruction_error_study",
]
