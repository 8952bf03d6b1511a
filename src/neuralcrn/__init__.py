"""neuralcrn: design, simulate and train Neural CRNs.

Layers (lower never import higher):

- ``neuralcrn.chemistry`` — species, reactions, reaction networks, dual rails, text/SBML/Antimony formats
- ``neuralcrn.kinetics``  — mass-action ODE (JAX + diffrax) and stochastic simulation
- ``neuralcrn.ideal``     — the Neural ODE math (forward, adjoint, gradients) in JAX
- ``neuralcrn.compiler``  — Neural CRN compiler: model spec → reaction modules + species map
- ``neuralcrn.training``  — training loops (chemical and ideal)
- ``neuralcrn.tasks``     — the paper's tasks and data sets
- ``neuralcrn.plots``     — matplotlib figures
- ``neuralcrn.cli``       — the ``neuralcrn`` command

Importing neuralcrn enables JAX float64 (``jax_enable_x64``). ``enable_compilation_cache()`` keeps
compiled programs on disk for later processes (the ``neuralcrn`` command does it by default).
"""

import jax as _jax

_jax.config.update("jax_enable_x64", True)

from .errors import NeuralCRNError  # noqa: E402
from .chemistry import Reaction, ReactionNetwork, DualRail, compose  # noqa: E402
from ._compilation_cache import enable_compilation_cache  # noqa: E402

__version__ = "0.1.0"

__all__ = ["Reaction", "ReactionNetwork", "DualRail", "compose", "NeuralCRNError",
           "enable_compilation_cache", "__version__"]
