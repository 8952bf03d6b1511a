"""A reaction network as plain numeric arrays (the data every simulator runs on).

Nothing here depends on JAX or numba: :func:`compile_network` turns a
:class:`~neuralcrn.chemistry.ReactionNetwork` into numpy arrays once, and the ODE (``_ode``) and
stochastic (``_ssa``) machinery read them.

Shapes: S species, R reactions, q = max(1, largest molecularity), N non-zero net-stoichiometry
entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..chemistry.network import ReactionNetwork
from ..errors import NetworkError

__all__ = ["MassActionArrays", "MassActionStructure", "compile_network"]


class MassActionStructure(NamedTuple):
    """The integer structure of a mass-action network as a pytree of arrays (no rate constants).

    Pass it as an *argument* to the pure solvers in :mod:`neuralcrn.kinetics` (it may be traced:
    two networks with the same shapes share one compiled solver).

    Attributes
    ----------
    reactant_index:
        ``(R, q)`` int32. Reactant species of each reaction, repeated by stoichiometry (``2Z`` →
        ``[z, z]``), padded with ``S`` — the index of a constant 1.0 slot appended to the state.
    stoich_species, stoich_reaction:
        ``(N,)`` int32. Row (species) and column (reaction) of each non-zero net-stoichiometry entry.
    stoich_value:
        ``(N,)`` float64. The entry (products − reactants); rows of constant species are dropped.
    """

    reactant_index: np.ndarray
    stoich_species: np.ndarray
    stoich_reaction: np.ndarray
    stoich_value: np.ndarray


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class MassActionArrays:
    """Numeric form of a :class:`~neuralcrn.chemistry.ReactionNetwork` (read-only numpy arrays).

    Rate law (see :mod:`neuralcrn.chemistry.network`): reaction r fires at
    ``v_r = k_r · Π_j xpad[reactant_index[r, j]]`` with ``xpad = [x, 1.0]`` (no 1/ν! factor), and
    ``dx/dt = stoich @ v``.

    Attributes
    ----------
    species:
        Species names, the order of every state vector (length S).
    reactant_index:
        ``(R, q)`` int32, see :class:`MassActionStructure`.
    reactant_repeat:
        ``(R, q)`` int32. How many earlier slots of the same row hold the same species (``2Z`` →
        ``[0, 1]``); the stochastic propensity uses the falling factorial ``n·(n−1)···``. 0 in
        padding slots.
    stoich (property):
        ``(S, R)`` float64 dense net stoichiometry (products − reactants), built on demand from
        the triplets; rows of constant species are zero.
    stoich_species, stoich_reaction, stoich_value:
        ``(N,)`` sparse triplets of ``stoich`` (its non-zero entries, row-major order). Only the
        triplets are stored: a dense S × R matrix of a large circuit (digits: 22 737 species ×
        97 164 reactions) would take 18 GB.
    rate_constants:
        ``(R,)`` float64 rate constants (units concentration^(1−order)/time).
    initial:
        ``(S,)`` float64 initial concentrations.
    constant_mask:
        ``(S,)`` bool, True for species held constant.
    """

    species: tuple[str, ...]
    reactant_index: np.ndarray
    reactant_repeat: np.ndarray
    stoich_species: np.ndarray
    stoich_reaction: np.ndarray
    stoich_value: np.ndarray
    rate_constants: np.ndarray
    initial: np.ndarray
    constant_mask: np.ndarray

    @property
    def stoich(self) -> np.ndarray:
        """``(S, R)`` dense net stoichiometry (read-only), built from the sparse triplets."""
        out = np.zeros((self.n_species, self.n_reactions), dtype=np.float64)
        out[self.stoich_species, self.stoich_reaction] = self.stoich_value
        return _readonly(out)

    @property
    def n_species(self) -> int:
        """S, the number of species."""
        return len(self.species)

    @property
    def n_reactions(self) -> int:
        """R, the number of reactions."""
        return int(self.reactant_index.shape[0])

    @property
    def max_molecularity(self) -> int:
        """q, the padded number of reactant slots per reaction (≥ 1)."""
        return int(self.reactant_index.shape[1])

    @property
    def structure_key(self) -> tuple:
        """Hashable key of the structure (shapes + index arrays + stoichiometry, no rate constants
        or initial values): equal keys mean the same compiled structure can be reused."""
        return (self.n_species, self.reactant_index.shape, self.reactant_index.tobytes(),
                self.stoich_species.tobytes(), self.stoich_reaction.tobytes(),
                self.stoich_value.tobytes())

    def structure(self) -> MassActionStructure:
        """The integer structure as a :class:`MassActionStructure` of numpy arrays."""
        return MassActionStructure(self.reactant_index, self.stoich_species, self.stoich_reaction,
                                   self.stoich_value)

    def index(self, species: str) -> int:
        """Position of ``species`` in the state vector.

        Raises
        ------
        NetworkError
            If the species is not in the network.
        """
        try:
            return self.species.index(species)
        except ValueError:
            raise NetworkError(f"unknown species {species!r}") from None


def compile_network(network: ReactionNetwork) -> MassActionArrays:
    """Turn a network into :class:`MassActionArrays` (numpy; no JAX, no compilation).

    A network with no reactions gives ``reactant_index`` of shape ``(0, 1)`` and an ``(S, 0)``
    stoichiometry.

    Raises
    ------
    NetworkError
        If ``network`` is not a :class:`~neuralcrn.chemistry.ReactionNetwork`.
    """
    if not isinstance(network, ReactionNetwork):
        raise NetworkError(f"expected a ReactionNetwork, got {type(network).__name__}")
    species = network.species
    index = {s: i for i, s in enumerate(species)}
    S, R = len(species), network.n_reactions
    q = max(1, network.max_molecularity)
    reactant_index = np.full((R, q), S, dtype=np.int32)
    reactant_repeat = np.zeros((R, q), dtype=np.int32)
    constant_mask = np.array([s in network.constant for s in species], dtype=bool)
    rows, cols, vals = [], [], []
    for r, reaction in enumerate(network.reactions):
        j = 0
        for name, n in reaction.reactants:
            for rep in range(n):
                reactant_index[r, j] = index[name]
                reactant_repeat[r, j] = rep
                j += 1
        for name, n in reaction.net_change().items():
            i = index[name]
            if n != 0 and not constant_mask[i]:
                rows.append(i)
                cols.append(r)
                vals.append(float(n))
    rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    order = np.lexsort((cols, rows))          # row-major, as numpy.nonzero of the dense matrix
    return MassActionArrays(
        species=tuple(species),
        reactant_index=_readonly(reactant_index),
        reactant_repeat=_readonly(reactant_repeat),
        stoich_species=_readonly(rows[order].astype(np.int32)),
        stoich_reaction=_readonly(cols[order].astype(np.int32)),
        stoich_value=_readonly(np.asarray(vals, dtype=np.float64)[order]),
        rate_constants=_readonly(network.rate_constants.astype(np.float64).reshape(R)),
        initial=_readonly(np.asarray(network.initial, dtype=np.float64).reshape(S)),
        constant_mask=_readonly(constant_mask),
    )
