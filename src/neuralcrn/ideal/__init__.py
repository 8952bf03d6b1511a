"""The ideal Neural ODE math (SPEC §2), independent of the chemistry."""

from .spec import ChemistryRates, ModelSpec, Params

__all__ = ["ChemistryRates", "ModelSpec", "Params"]
