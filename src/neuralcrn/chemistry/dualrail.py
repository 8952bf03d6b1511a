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

__all__ = ["DualRail", "Operand", "Targets", "annihilation", "catalytic_product",
           "catalytic_copy", "transfer", "signed_transfer", "rails_of", "PLUS", "MINUS"]

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


Targets = Union[Operand, Sequence[tuple[Operand, int]]]
"""One target operand (receives the term with sign +1), or ``[(operand, sign), ...]``: every
listed operand receives the term times its sign (±1). A target listed twice receives it twice."""


def _target_list(target: Targets, sign: int) -> list[tuple[Operand, int]]:
    if sign not in (1, -1):
        raise NetworkError(f"sign must be +1 or -1, got {sign!r}")
    if isinstance(target, (DualRail, str)):
        return [(target, sign)]
    out = []
    for item in target:
        try:
            t, s = item
        except (TypeError, ValueError):
            raise NetworkError(f"a target list holds (operand, sign) pairs, got {item!r}") from None
        if s not in (1, -1):
            raise NetworkError(f"the sign of target {t!r} must be +1 or -1, got {s!r}")
        out.append((t, sign * s))
    return out


def _catalytic_targets(target: Targets, sign: int) -> list[tuple[Operand, int]]:
    targets = _target_list(target, sign)
    if not targets:
        raise NetworkError("a catalytic motif needs at least one target")
    return targets


def _target_rail(target: Operand, sign: int) -> str:
    if isinstance(target, DualRail):
        return target.rail(sign)
    if not isinstance(target, str):
        raise NetworkError(f"target must be a DualRail or a species name, got {target!r}")
    if sign < 0:
        raise NetworkError(f"target {target!r} is single-rail but receives a negative term; "
                           "make it a DualRail")
    return target


def catalytic_product(a: Operand, b: Operand, target: Targets, rate_constant: float = 1.0, *,
                      sign: int = 1) -> list[Reaction]:
    """Reactions that add ``σ · k · a · b`` to every target while leaving ``a`` and ``b`` unchanged.

    For every rail pair (A^s, B^t): ``A^s + B^t ->{k} A^s + B^t + Σ_T T^{σ_T·sign·s·t}`` (4 reactions
    for two dual rails, 2 when one operand is a plain non-negative species, 1 when both are). Under
    mass action, d[T]/dt (signed) = σ_T · sign · k · a · b exactly, whatever the rails hold (SPEC §3,
    "drive" term): the four terms sum to k([A⁺] − [A⁻])([B⁺] − [B⁻]).

    ``target`` is one operand or a non-empty list of ``(operand, σ)`` pairs (see
    :data:`Targets`). ``a`` and ``b`` must be different species (the square of one value is a
    different motif).

    Raises :class:`NetworkError` for a bad sign, no target, the same species twice, or a negative
    term into a single-rail target.
    """
    return _rail_pairs("catalytic_product", a, b, target, rate_constant, sign, keep_a=True)


def _rail_pairs(motif: str, a: Operand, b: Operand, target: Targets, rate_constant: float,
                sign: int, keep_a: bool) -> list[Reaction]:
    """``A^s + B^t -> [A^s] + B^t + Σ_T T^{σ_T·sign·s·t}`` for every rail pair (A kept with
    ``keep_a``, else consumed)."""
    targets = _catalytic_targets(target, sign)
    out = []
    for sa, ta in rails_of(a):
        for sb, tb in rails_of(b):
            if sa == sb:
                raise NetworkError(f"{motif} needs two different operands, got {sa!r} twice")
            kept = [sa, sb] if keep_a else [sb]
            out.append(Reaction([sa, sb], kept + [_target_rail(t, s * ta * tb)
                                                  for t, s in targets], rate_constant))
    return out


def catalytic_copy(a: Operand, target: Targets, rate_constant: float = 1.0, *,
                   sign: int = 1) -> list[Reaction]:
    """Reactions that add ``σ · k · a`` to every target, ``a`` unchanged:
    ``A^s ->{k} A^s + Σ_T T^{σ_T·sign·s}`` (unimolecular; one per rail of ``a``). ``target`` as in
    :func:`catalytic_product`."""
    targets = _catalytic_targets(target, sign)
    return [Reaction([sa], [sa] + [_target_rail(t, s * ta) for t, s in targets], rate_constant)
            for sa, ta in rails_of(a)]


def transfer(a: Operand, target: Targets, rate_constant: float = 1.0, *,
             sign: int = 1) -> list[Reaction]:
    """Reactions that *move* ``a`` into the targets: ``A^s ->{k} Σ_T T^{σ_T·sign·s}`` (one per rail).

    The signed value of ``a`` decays like e^{−kt}, and each target gains σ_T · sign · a(0) ·
    (1 − e^{−kt}) in total. An empty target list is first-order decay ``A^s → ∅``; a target
    listed twice receives two copies (``O^s → 2E^s``).
    """
    targets = _target_list(target, sign)
    return [Reaction([sa], [_target_rail(t, s * ta) for t, s in targets], rate_constant)
            for sa, ta in rails_of(a)]


def signed_transfer(a: Operand, router: Operand, target: Targets, rate_constant: float = 1.0, *,
                    sign: int = 1) -> list[Reaction]:
    """Reactions that *move* ``a`` into the targets with the sign of ``router`` (unchanged):
    ``A^s + B^t ->{k} B^t + Σ_T T^{σ_T·sign·s·t}`` (one per rail pair).

    The rails of ``a`` are consumed at rate k·([B⁺] + [B⁻]) and split between the two signs in
    the proportion [B⁺] : [B⁻], so when it has run to completion with ``router`` constant each
    target has gained σ_T · sign · a(0) · b/([B⁺] + [B⁻]) — sign(b) · a(0) for a single-rail b —
    *whatever k is*: a rate-constant error changes how fast, not how much, is moved. Bimolecular.

    Raises :class:`NetworkError` for a bad sign, no target, the same species twice, or a negative
    term into a single-rail target.
    """
    return _rail_pairs("signed_transfer", a, router, target, rate_constant, sign, keep_a=False)


def decode_array(rail: DualRail, species: Sequence[str], x: np.ndarray) -> np.ndarray:
    """Signed values ``x[..., plus] − x[..., minus]`` from a state array with the given species order."""
    idx = {s: i for i, s in enumerate(species)}
    x = np.asarray(x)
    return x[..., idx[rail.plus]] - x[..., idx[rail.minus]]
