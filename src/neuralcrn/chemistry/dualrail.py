"""Dual-rail encoding of signed values and the reaction motifs built on it (SPEC §3).

A signed quantity v is held by two species ``V_p`` (plus rail) and ``V_m`` (minus rail) with
v = [V_p] − [V_m]. Fast annihilation ``V_p + V_m -> 0`` keeps one rail near zero, so a reaction that
acts on each rail separately acts on |v| with the sign of v.

An *operand* below is either a :class:`DualRail` (a signed value) or a plain species name (a value
known to be ≥ 0, i.e. a single plus rail); using plain names where a value cannot be negative (for
example non-negative inputs) saves reactions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Union

import numpy as np

from ..errors import NetworkError
from .network import Reaction, _check_name

__all__ = ["DualRail", "Operand", "annihilation", "catalytic_product", "catalytic_copy",
           "rails_of", "PLUS", "MINUS"]

PLUS = "_p"
MINUS = "_m"


@dataclass(frozen=True)
class DualRail:
    """A signed variable ``name`` held as the rail pair ``(name_p, name_m)``."""

    name: str

    def __post_init__(self):
        _check_name(self.name)

    @property
    def plus(self) -> str:
        """Species name of the plus rail."""
        return self.name + PLUS

    @property
    def minus(self) -> str:
        """Species name of the minus rail."""
        return self.name + MINUS

    @property
    def species(self) -> tuple[str, str]:
        """``(plus, minus)``."""
        return (self.plus, self.minus)

    def rail(self, sign: int) -> str:
        """Species of the rail with sign +1 or −1."""
        if sign not in (1, -1):
            raise NetworkError(f"rail sign must be +1 or -1, got {sign!r}")
        return self.plus if sign > 0 else self.minus

    def encode(self, value: float) -> dict[str, float]:
        """Concentrations that encode ``value`` with one rail at zero: ``{plus: max(v,0), minus: max(−v,0)}``."""
        v = float(value)
        return {self.plus: max(v, 0.0), self.minus: max(-v, 0.0)}

    def decode(self, concentrations: Mapping[str, float]) -> float:
        """Signed value ``[plus] − [minus]`` from a ``{species: concentration}`` mapping."""
        return float(concentrations.get(self.plus, 0.0)) - float(concentrations.get(self.minus, 0.0))

    def __str__(self) -> str:
        return self.name


Operand = Union[DualRail, str]


def rails_of(x: Operand) -> tuple[tuple[str, int], ...]:
    """``((species, sign), ...)`` of an operand: both rails of a DualRail, or the one plain species."""
    if isinstance(x, DualRail):
        return ((x.plus, 1), (x.minus, -1))
    if isinstance(x, str):
        _check_name(x)
        return ((x, 1),)
    raise NetworkError(f"operand must be a DualRail or a species name, got {x!r}")


def annihilation(v: DualRail, rate_constant: float = 100.0) -> Reaction:
    """``V_p + V_m -> 0`` at ``rate_constant`` (SPEC §3, default k_ann = 100)."""
    return Reaction([v.plus, v.minus], [], rate_constant)


def _target_rail(target: Operand, sign: int) -> str:
    if isinstance(target, DualRail):
        return target.rail(sign)
    if sign < 0:
        raise NetworkError(f"target {target!r} is single-rail but receives a negative term; "
                           "make it a DualRail")
    return target


def catalytic_product(a: Operand, b: Operand, target: Operand, rate_constant: float = 1.0, *,
                      sign: int = 1) -> list[Reaction]:
    """Reactions that add ``sign · k · a · b`` to ``target`` while leaving ``a`` and ``b`` unchanged.

    For every rail pair (A^s, B^t): ``A^s + B^t ->{k} A^s + B^t + T^{sign·s·t}`` (4 reactions for two
    dual rails, 2 when one operand is a plain non-negative species, 1 when both are). Under mass
    action, d[T]/dt (signed) = sign · k · a · b exactly (SPEC §3, "drive" term).

    ``a`` and ``b`` must be different species (the square of one value is a different motif).
    """
    if sign not in (1, -1):
        raise NetworkError(f"sign must be +1 or -1, got {sign!r}")
    out = []
    for sa, ta in rails_of(a):
        for sb, tb in rails_of(b):
            if sa == sb:
                raise NetworkError(f"catalytic_product needs two different operands, got {sa!r} twice")
            t = _target_rail(target, sign * ta * tb)
            out.append(Reaction([sa, sb], [sa, sb, t], rate_constant))
    return out


def catalytic_copy(a: Operand, target: Operand, rate_constant: float = 1.0, *,
                   sign: int = 1) -> list[Reaction]:
    """Reactions that add ``sign · k · a`` to ``target``: ``A^s ->{k} A^s + T^{sign·s}`` (unimolecular)."""
    if sign not in (1, -1):
        raise NetworkError(f"sign must be +1 or -1, got {sign!r}")
    return [Reaction([sa], [sa, _target_rail(target, sign * ta)], rate_constant)
            for sa, ta in rails_of(a)]


def decode_array(rail: DualRail, species: Sequence[str], x: np.ndarray) -> np.ndarray:
    """Signed values ``x[..., plus] − x[..., minus]`` from a state array with the given species order."""
    idx = {s: i for i, s in enumerate(species)}
    x = np.asarray(x)
    return x[..., idx[rail.plus]] - x[..., idx[rail.minus]]
