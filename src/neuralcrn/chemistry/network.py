"""Species, reactions and reaction networks as immutable values.

Rate-law convention (used everywhere: ODE, stochastic simulation, SBML and Antimony export)
------------------------------------------------------------------------------------------
A reaction ``ν_1 X_1 + ... + ν_k X_k ->{k} products`` fires at the mass-action rate

    v = k · Π_i [X_i]^ν_i        (concentration / time)

with **no** 1/ν! factor, and every species changes as d[S]/dt = Σ_r (products_r(S) − reactants_r(S)) · v_r.
So ``2Z ->{α} Z`` gives d[Z]/dt = −α[Z]², exactly the term written in the Neural CRN papers
(Nagipogu & Reif 2025, SPEC §3); Catalyst.jl divides by ν! and would give −α[Z]²/2.

Concentrations are in arbitrary concentration units (e.g. µM), time in arbitrary time units; a rate
constant of a reaction of molecularity q has units concentration^(1−q)/time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import NetworkError

__all__ = ["Reaction", "ReactionNetwork", "compose", "is_valid_species_name"]

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

Stoichiometry = tuple[tuple[str, int], ...]
"""One side of a reaction: ``((species, count), ...)`` sorted by species name, counts ≥ 1."""


def is_valid_species_name(name: str) -> bool:
    """True if ``name`` is a valid species name: a letter or ``_`` then letters, digits or ``_``.

    This is the SBML ``SId`` rule, so every network can be exported without renaming.
    """
    return isinstance(name, str) and bool(_NAME_RE.match(name))


def _check_name(name: str) -> str:
    if not is_valid_species_name(name):
        raise NetworkError(
            f"invalid species name {name!r}: use a letter or '_' followed by letters, digits or '_'"
        )
    return name


def _normalise_side(side, what: str) -> Stoichiometry:
    """Accept a mapping ``{name: count}``, a name, or an iterable of names / ``(name, count)`` pairs."""
    counts: dict[str, int] = {}
    if side is None:
        items: Iterable = ()
    elif isinstance(side, str):
        items = () if side in ("", "0", "∅") else (side,)
    elif isinstance(side, Mapping):
        items = side.items()
    else:
        items = side
    for item in items:
        if isinstance(item, str):
            name, n = item, 1
        else:
            try:
                name, n = item
            except (TypeError, ValueError):
                raise NetworkError(f"cannot read {item!r} as a {what} (species name or (name, count))")
        _check_name(name)
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise NetworkError(f"stoichiometry of {name!r} among the {what}s must be a non-negative "
                               f"integer, got {n!r}")
        if n:
            counts[name] = counts.get(name, 0) + int(n)
    return tuple(sorted(counts.items()))


@dataclass(frozen=True, init=False)
class Reaction:
    """A mass-action reaction ``reactants ->{rate_constant} products``.

    Parameters
    ----------
    reactants, products:
        ``{species: count}``, a list of species names (repeats add up), a list of ``(name, count)``
        pairs, or ``"0"``/``"∅"``/``[]`` for nothing.
    rate_constant:
        Mass-action rate constant k ≥ 0 (finite). Units: concentration^(1−order)/time.

    Raises
    ------
    NetworkError
        For a negative or non-finite rate constant, a reaction with neither reactants nor products,
        an invalid species name or stoichiometry.

    Examples
    --------
    >>> Reaction({"A": 1, "B": 1}, ["A", "B", "C"], 1.0)   # A + B -> A + B + C (catalytic)
    >>> Reaction(["Z", "Z"], ["Z"], 0.15)                    # 2Z -> Z
    """

    reactants: Stoichiometry
    products: Stoichiometry
    rate_constant: float

    def __init__(self, reactants, products, rate_constant: float = 1.0):
        r = _normalise_side(reactants, "reactant")
        p = _normalise_side(products, "product")
        try:
            k = float(rate_constant)
        except (TypeError, ValueError):
            raise NetworkError(f"rate constant must be a number, got {rate_constant!r}")
        label = _format_side(r) + " -> " + _format_side(p)
        if not r and not p:
            raise NetworkError("empty reaction: 0 -> 0 has neither reactants nor products")
        if not math.isfinite(k):
            raise NetworkError(f"reaction {label}: rate constant must be finite, got {k!r}")
        if k < 0:
            raise NetworkError(f"reaction {label}: rate constant must be ≥ 0, got {k!r}")
        object.__setattr__(self, "reactants", r)
        object.__setattr__(self, "products", p)
        object.__setattr__(self, "rate_constant", k)

    @property
    def molecularity(self) -> int:
        """Number of reactant molecules (the reaction's order under mass action)."""
        return sum(n for _, n in self.reactants)

    @property
    def species(self) -> tuple[str, ...]:
        """Species that appear on either side, reactants first (no repeats)."""
        seen = dict.fromkeys(s for s, _ in self.reactants)
        seen.update(dict.fromkeys(s for s, _ in self.products))
        return tuple(seen)

    def net_change(self) -> dict[str, int]:
        """Net stoichiometric change ``{species: products − reactants}`` (zeros omitted)."""
        d: dict[str, int] = {}
        for s, n in self.reactants:
            d[s] = d.get(s, 0) - n
        for s, n in self.products:
            d[s] = d.get(s, 0) + n
        return {s: n for s, n in d.items() if n}

    def is_catalyst(self, species: str) -> bool:
        """True if ``species`` is consumed and produced in equal numbers (a catalyst)."""
        return dict(self.reactants).get(species, 0) > 0 and species not in self.net_change()

    def rename(self, mapping: Mapping[str, str] | Callable[[str], str]) -> "Reaction":
        """Return the reaction with species renamed (mapping or function; unmapped names kept)."""
        f = mapping if callable(mapping) else (lambda s: mapping.get(s, s))
        return Reaction([(f(s), n) for s, n in self.reactants],
                        [(f(s), n) for s, n in self.products], self.rate_constant)

    def with_rate_constant(self, k: float) -> "Reaction":
        """Same reaction with a new rate constant."""
        return Reaction(self.reactants, self.products, k)

    def __str__(self) -> str:
        return f"{_format_side(self.reactants)} ->{{{self.rate_constant!r}}} {_format_side(self.products)}"


def _format_side(side: Stoichiometry) -> str:
    if not side:
        return "0"
    return " + ".join(s if n == 1 else f"{n}{s}" for s, n in side)


@dataclass(frozen=True, init=False)
class ReactionNetwork:
    """An immutable mass-action chemical reaction network.

    The order of :attr:`species` is the order of the state vector in every simulation and export.

    Parameters
    ----------
    reactions:
        Iterable of :class:`Reaction`.
    species:
        Optional explicit species order. Must contain every species of every reaction (extra
        species that take part in no reaction are allowed). Default: order of first appearance in
        ``reactions``, then in ``initial``.
    initial:
        Initial concentrations, ``{species: value}`` (missing species start at 0), or a sequence
        aligned with ``species``. Values must be finite and ≥ 0.
    constant:
        Species held at a fixed concentration (SBML ``boundaryCondition``/``constant`` species):
        they take part in reactions but their concentration never changes.
    name:
        Optional label (used as the SBML model id).

    Raises
    ------
    NetworkError
        Duplicate species names, a reaction species missing from ``species``, an unknown species
        in ``initial`` or ``constant``, a negative or non-finite initial concentration.
    """

    reactions: tuple[Reaction, ...]
    species: tuple[str, ...]
    initial: tuple[float, ...]
    constant: frozenset[str] = field(default_factory=frozenset)
    name: str = ""

    def __init__(self, reactions: Iterable[Reaction] = (), species: Sequence[str] | None = None,
                 initial: Mapping[str, float] | Sequence[float] | None = None,
                 constant: Iterable[str] = (), name: str = ""):
        reactions = tuple(reactions)
        for i, r in enumerate(reactions):
            if not isinstance(r, Reaction):
                raise NetworkError(f"reaction #{i + 1} is not a Reaction: {r!r}")
        in_reactions = dict.fromkeys(s for r in reactions for s in r.species)
        if species is None:
            order = dict(in_reactions)
            if isinstance(initial, Mapping):
                order.update(dict.fromkeys(initial))
            order.update(dict.fromkeys(constant))
            species_t = tuple(order)
        else:
            species_t = tuple(species)
            seen: set[str] = set()
            for s in species_t:
                if s in seen:
                    raise NetworkError(f"duplicate species name {s!r}")
                seen.add(s)
            missing = [s for s in in_reactions if s not in seen]
            if missing:
                raise NetworkError(f"species {missing[0]!r} appears in a reaction but not in the "
                                   f"species list")
        for s in species_t:
            _check_name(s)
        index = {s: i for i, s in enumerate(species_t)}
        x0 = [0.0] * len(species_t)
        if initial is not None:
            if isinstance(initial, Mapping):
                items = initial.items()
            else:
                vals = list(np.asarray(initial, dtype=float).ravel())
                if len(vals) != len(species_t):
                    raise NetworkError(f"initial concentrations: got {len(vals)} values for "
                                       f"{len(species_t)} species")
                items = zip(species_t, vals)
            for s, v in items:
                if s not in index:
                    raise NetworkError(f"initial concentration given for unknown species {s!r}")
                try:
                    v = float(v)
                except (TypeError, ValueError):
                    raise NetworkError(f"initial concentration of {s!r} must be a number, got {v!r}")
                if not math.isfinite(v) or v < 0:
                    raise NetworkError(f"initial concentration of {s!r} must be finite and ≥ 0, "
                                       f"got {v!r}")
                x0[index[s]] = v
        const = frozenset(constant)
        for s in const:
            if s not in index:
                raise NetworkError(f"constant species {s!r} is not a species of the network")
        object.__setattr__(self, "reactions", reactions)
        object.__setattr__(self, "species", species_t)
        object.__setattr__(self, "initial", tuple(x0))
        object.__setattr__(self, "constant", const)
        object.__setattr__(self, "name", str(name))

    # ----------------------------------------------------------------- size
    @property
    def n_species(self) -> int:
        """Number of species."""
        return len(self.species)

    @property
    def n_reactions(self) -> int:
        """Number of reactions."""
        return len(self.reactions)

    @property
    def max_molecularity(self) -> int:
        """Largest number of reactant molecules in any reaction (0 for an empty network)."""
        return max((r.molecularity for r in self.reactions), default=0)

    def summary(self) -> dict:
        """``{"species": S, "reactions": R, "max_molecularity": q}``."""
        return {"species": self.n_species, "reactions": self.n_reactions,
                "max_molecularity": self.max_molecularity}

    # ----------------------------------------------------------------- access
    @property
    def species_index(self) -> dict[str, int]:
        """``{species: position in the state vector}``."""
        return {s: i for i, s in enumerate(self.species)}

    @property
    def initial_concentrations(self) -> dict[str, float]:
        """``{species: initial concentration}`` for every species."""
        return dict(zip(self.species, self.initial))

    @property
    def rate_constants(self) -> np.ndarray:
        """Rate constants, shape ``(n_reactions,)``, float64."""
        return np.array([r.rate_constant for r in self.reactions], dtype=float)

    # ----------------------------------------------------------------- new values
    def with_initial(self, values: Mapping[str, float] | Sequence[float], *,
                     replace: bool = False) -> "ReactionNetwork":
        """Return a copy with initial concentrations updated (or replaced if ``replace``)."""
        if isinstance(values, Mapping) and not replace:
            merged = self.initial_concentrations
            merged.update(values)
            values = merged
        return ReactionNetwork(self.reactions, self.species, values, self.constant, self.name)

    def with_rate_constants(self, k: Sequence[float]) -> "ReactionNetwork":
        """Return a copy with rate constants ``k`` (shape ``(n_reactions,)``)."""
        k = np.asarray(k, dtype=float).ravel()
        if k.shape != (self.n_reactions,):
            raise NetworkError(f"expected {self.n_reactions} rate constants, got {k.size}")
        return ReactionNetwork([r.with_rate_constant(v) for r, v in zip(self.reactions, k)],
                               self.species, self.initial, self.constant, self.name)

    def rename(self, mapping: Mapping[str, str] | Callable[[str], str]) -> "ReactionNetwork":
        """Rename species (mapping or function; unmapped names kept).

        Raises
        ------
        NetworkError
            If two species would get the same name.
        """
        f = mapping if callable(mapping) else (lambda s: mapping.get(s, s))
        new = [f(s) for s in self.species]
        if len(set(new)) != len(new):
            dup = next(s for s in new if new.count(s) > 1)
            raise NetworkError(f"renaming merges two species into {dup!r}")
        return ReactionNetwork([r.rename(f) for r in self.reactions], new, self.initial,
                               [f(s) for s in self.constant], self.name)

    def prefix(self, prefix: str, *, keep: Iterable[str] = ()) -> "ReactionNetwork":
        """Prefix every species name with ``prefix`` except those in ``keep``."""
        keep = set(keep)
        return self.rename(lambda s: s if s in keep else prefix + s)

    def compose(self, *others: "ReactionNetwork", name: str | None = None) -> "ReactionNetwork":
        """Union with other networks: shared species are identified by name.

        Species keep their first-seen order; reactions are concatenated; initial concentrations
        are merged (a species may have a non-zero initial value in at most one operand, or the same
        value in all that set it).

        Raises
        ------
        NetworkError
            Conflicting non-zero initial concentrations for the same species.
        """
        return compose(self, *others, name=name)

    def __or__(self, other: "ReactionNetwork") -> "ReactionNetwork":
        return compose(self, other)

    def select(self, keep: Callable[[Reaction], bool]) -> "ReactionNetwork":
        """Sub-network of the reactions for which ``keep(reaction)`` is true (all species kept)."""
        return ReactionNetwork([r for r in self.reactions if keep(r)], self.species, self.initial,
                               self.constant, self.name)

    def __str__(self) -> str:
        from .text import to_text
        return to_text(self)


def compose(*networks: ReactionNetwork, name: str | None = None) -> ReactionNetwork:
    """Union of reaction networks (see :meth:`ReactionNetwork.compose`)."""
    species: dict[str, None] = {}
    init: dict[str, float] = {}
    reactions: list[Reaction] = []
    constant: set[str] = set()
    for net in networks:
        if not isinstance(net, ReactionNetwork):
            raise NetworkError(f"cannot compose {type(net).__name__} with a ReactionNetwork")
        species.update(dict.fromkeys(net.species))
        reactions.extend(net.reactions)
        constant |= net.constant
        for s, v in zip(net.species, net.initial):
            if v != 0.0:
                if s in init and init[s] != v:
                    raise NetworkError(f"conflicting initial concentrations for {s!r}: "
                                       f"{init[s]!r} and {v!r}")
                init[s] = v
    if name is None:
        name = next((n.name for n in networks if n.name), "")
    return ReactionNetwork(reactions, tuple(species), init, constant, name)
