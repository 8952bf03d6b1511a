"""The chemistry layer: species, reactions, reaction networks, dual rails and file formats.

Plain immutable data; no simulation here (see :mod:`neuralcrn.kinetics`).
"""

from .network import Reaction, ReactionNetwork, compose, is_valid_species_name
from .dualrail import (DualRail, annihilation, catalytic_copy, catalytic_product, rails_of,
                       decode_array)

__all__ = ["Reaction", "ReactionNetwork", "compose", "is_valid_species_name", "DualRail",
           "annihilation", "catalytic_copy", "catalytic_product", "rails_of", "decode_array"]
