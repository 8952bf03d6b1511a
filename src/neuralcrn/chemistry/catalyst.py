"""Export to Catalyst.jl: Julia source with a ``@reaction_network`` (export only).

The written file defines ``rn`` (the network, one line ``k_i, lhs --> rhs`` per reaction), ``u0``
(every species' initial concentration) and ``ps`` (every rate constant ``k_i``), ready for
``ODEProblem(rn, u0, tspan, ps)``.

**Rate-law conversion.** Catalyst's mass action divides by νᵢ! for a reactant with stoichiometry
νᵢ (``combinatoric_ratelaws = true``, its default); ours does not. Each ``k_i`` is therefore our
rate constant times Π νᵢ! (:func:`~neuralcrn.chemistry._tool_formats.combinatoric_factor`):
``2A →{k} B`` becomes ``k_i = 2k`` (Catalyst: 2k·A²/2 = k·A², our ODE), ``3Z →{α} 2Z`` becomes 6α.
A line comment gives our k wherever the factor is not 1.

Constant species (``const`` in the text format) become Catalyst *parameters* in the rate
expression (``k_i*S, A --> B`` for ``S + A → S + B``), with their value in ``ps``: their
concentration never changes, and a parameter is not divided by a factorial.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .network import ReactionNetwork
from ._tool_formats import check_names, combinatoric_factor, num, unique_names

__all__ = ["to_catalyst", "write_catalyst", "JULIA_RESERVED"]

JULIA_RESERVED = frozenset(
    "baremodule begin break catch const continue do else elseif end export false finally for "
    "function global if import let local macro module quote return struct true try using while "
    "abstract mutable primitive type where in isa outer t im pi Inf NaN nothing missing "
    "Catalyst rn u0 ps".split())
"""Names a species cannot have in the written Julia source (keywords, Catalyst's time ``t``,
constants, and the variables the file defines)."""


def _side(side, skip) -> str:
    terms = [s if n == 1 else f"{n}{s}" for s, n in side if s not in skip]
    return " + ".join(terms) if terms else "0"


def to_catalyst(network: ReactionNetwork, *, name: str | None = None) -> str:
    """Catalyst.jl source for ``network`` (see the module docstring for the conversion).

    ``name`` is the reaction system's name (default: the network's name when it is a Julia
    identifier, else ``neuralcrn``). Raises :class:`~neuralcrn.errors.NetworkError` for a species
    named like a Julia keyword or Catalyst's time variable ``t``.
    """
    if not isinstance(network, ReactionNetwork):
        raise TypeError(f"to_catalyst expects a ReactionNetwork, got {type(network).__name__}")
    check_names(network, JULIA_RESERVED, "Catalyst.jl / Julia")
    if name is None:
        name = network.name if re.fullmatch(r"[A-Za-z_]\w*", network.name or "") \
            and network.name not in JULIA_RESERVED else "neuralcrn"
    const = network.constant
    ks = unique_names("k", network.n_reactions, network.species)
    init = network.initial_concentrations
    lines = [f"# Catalyst.jl model written by neuralcrn: {network.n_species} species, "
             f"{network.n_reactions} reactions",
             "# Catalyst divides mass-action rates by n! for a reactant with stoichiometry n; "
             "neuralcrn does not.",
             "# Each k_i below is neuralcrn's rate constant times prod(n!), so the ODE is the same.",
             "using Catalyst", "", f"rn = @reaction_network {name} begin"]
    values = []
    for k, r in zip(ks, network.reactions):
        f = combinatoric_factor(r, const)
        values.append((k, r.rate_constant * f))
        lhs, rhs = _side(r.reactants, const), _side(r.products, const)
        if lhs == rhs == "0":
            lines.append(f"    # {k}: {r} changes only constant species; omitted")
            continue
        rate = "*".join([k] + [s if n == 1 else f"{s}^{n}" for s, n in r.reactants if s in const])
        note = f"  # neuralcrn k = {num(r.rate_constant)} (x {f} for 1/n!)" if f != 1 else ""
        lines.append(f"    {rate}, {lhs} --> {rhs}{note}")
    lines.append("end")
    lines.append("")
    lines.append("u0 = [" + ", ".join(f":{s} => {num(init[s])}" for s in network.species
                                      if s not in const) + "]")
    lines.append("ps = [" + ", ".join([f":{k} => {num(v)}" for k, v in values]
                                      + [f":{s} => {num(init[s])}" for s in network.species
                                         if s in const]) + "]")
    lines += ["", "# using OrdinaryDiffEq",
              "# sol = solve(ODEProblem(rn, u0, (0.0, 1.0), ps), Rodas5P(); "
              "abstol = 1e-12, reltol = 1e-10)"]
    return "\n".join(lines) + "\n"


def write_catalyst(network: ReactionNetwork, path: str | os.PathLike, **kw) -> Path:
    """Write :func:`to_catalyst` to ``path`` atomically; returns the path."""
    from ._atomic import write_text_atomic
    return write_text_atomic(path, to_catalyst(network, **kw))
