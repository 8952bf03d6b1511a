"""Shared pieces of the writers for other tools' formats (Catalyst.jl, BioNetGen, Visual DSD).

Rate-law conventions
--------------------
neuralcrn's mass action has **no** 1/ν! factor: ``ν₁X₁ + … →{k} …`` fires at k·Π[Xᵢ]^νᵢ
(:mod:`neuralcrn.chemistry.network`). Catalyst.jl (``combinatoric_ratelaws = true``, its default)
and BioNetGen (the symmetry factor of identical reactants) fire the same reaction at
k′·Π[Xᵢ]^νᵢ/νᵢ!. So a writer for those tools multiplies the rate constant by the *combinatoric
factor* Π νᵢ! (:func:`combinatoric_factor`): ``2A →{k} B`` is written with 2k, ``3Z →{α} 2Z`` with
6α, and every reaction with distinct reactants is unchanged. Visual DSD / crn-engine uses our
convention for deterministic simulation (its ``Reaction.conversion_factor`` Π νᵢ! is applied only
when it converts to stochastic propensities), so its rate constants are written as they are.
"""

from __future__ import annotations

import math

from ..errors import NetworkError
from .network import Reaction, ReactionNetwork

__all__ = ["combinatoric_factor", "num", "unique_names", "check_names"]


def combinatoric_factor(reaction: Reaction, skip: frozenset[str] = frozenset()) -> int:
    """Π νᵢ! over the reactants of ``reaction`` (species in ``skip`` left out).

    Multiply a neuralcrn rate constant by this factor to get the rate constant of a tool whose
    mass action divides by νᵢ! (Catalyst.jl, BioNetGen): both then give the same ODE.
    """
    return math.prod(math.factorial(n) for s, n in reaction.reactants if s not in skip)


def num(x: float) -> str:
    """A float as the shortest text that reads back as the same double (``repr``)."""
    return repr(float(x))


def unique_names(base: str, count: int, taken) -> list[str]:
    """``base1 … base{count}``, each followed by ``_`` until it is not in ``taken``."""
    taken = set(taken)
    out = []
    for i in range(1, count + 1):
        name = f"{base}{i}"
        while name in taken:
            name += "_"
        taken.add(name)
        out.append(name)
    return out


def check_names(network: ReactionNetwork, reserved: frozenset[str], tool: str) -> None:
    """Raise :class:`NetworkError` naming the first species that is a reserved word of ``tool``."""
    for s in network.species:
        if s in reserved:
            raise NetworkError(f"species {s!r} is a reserved word in {tool}; rename it "
                               f"(ReactionNetwork.rename) before exporting")
