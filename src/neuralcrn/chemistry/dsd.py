"""Export to the CRN syntax of Visual DSD / Microsoft's crn-engine (export only).

::

    directive simulation {final=1.0; points=101}
    directive parameters [
      k1 = 0.15;
    ]
    init A 1.0 |
    init constant S 2.0 |
    2A ->{k1} A |
    ...

Every species gets an ``init`` line (``init constant`` for a constant species), every reaction
``lhs ->{k_i} rhs`` with its rate constant in ``directive parameters``; an empty side is left
blank (``A ->{k1}``). crn-engine's deterministic mass action is ours — k·Π[Xᵢ]^νᵢ without 1/νᵢ!
(its ``Reaction.conversion_factor`` Π νᵢ! is applied only when it converts rates to stochastic
propensities) — so the rate constants are written unchanged.
"""

from __future__ import annotations

import os
from pathlib import Path

from .network import ReactionNetwork
from ._tool_formats import check_names, num, unique_names

__all__ = ["to_dsd", "write_dsd", "DSD_RESERVED"]

DSD_RESERVED = frozenset("init constant directive event".split())
"""Words that cannot be species names in the crn-engine syntax."""


def _side(side) -> str:
    return " + ".join(s if n == 1 else f"{n}{s}" for s, n in side)


def to_dsd(network: ReactionNetwork, *, t_end: float = 1.0, points: int = 101) -> str:
    """crn-engine / Visual DSD CRN text for ``network``; the simulation directive runs to
    ``t_end`` with ``points`` output points. Raises :class:`~neuralcrn.errors.NetworkError` for a
    species named like a keyword of the syntax."""
    if not isinstance(network, ReactionNetwork):
        raise TypeError(f"to_dsd expects a ReactionNetwork, got {type(network).__name__}")
    check_names(network, DSD_RESERVED, "the crn-engine / Visual DSD syntax")
    ks = unique_names("k", network.n_reactions, network.species)
    title = network.name.replace("\n", " ") if network.name else "reaction network"
    out = [f"// Visual DSD / crn-engine CRN written by neuralcrn ({title}): "
           f"{network.n_species} species, {network.n_reactions} reactions",
           "// mass action k*prod([X]^n), no 1/n! (the same convention as neuralcrn)",
           f"directive simulation {{final={num(t_end)}; points={int(points)}}}",
           "directive parameters ["]
    out += [f"  {k} = {num(r.rate_constant)};" for k, r in zip(ks, network.reactions)]
    out.append("]")
    items = [f"init {'constant ' if s in network.constant else ''}{s} {num(v)}"
             for s, v in zip(network.species, network.initial)]
    items += [f"{_side(r.reactants)} ->{{{k}}} {_side(r.products)}".strip()
              for k, r in zip(ks, network.reactions)]
    out += [item + (" |" if i + 1 < len(items) else "") for i, item in enumerate(items)]
    return "\n".join(out) + "\n"


def write_dsd(network: ReactionNetwork, path: str | os.PathLike, **kw) -> Path:
    """Write :func:`to_dsd` to ``path`` atomically; returns the path."""
    from ._atomic import write_text_atomic
    return write_text_atomic(path, to_dsd(network, **kw))
