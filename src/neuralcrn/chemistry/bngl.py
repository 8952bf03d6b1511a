"""Export to BioNetGen: a BNGL model (export only).

Every species becomes a molecule type without components (``A()``) and a seed species with its
initial concentration (``$A()`` for a constant species: BioNetGen then holds it fixed); every
reaction a rule ``R_i: A() + B() -> A() + B() + C() k_i`` with its rate constant in the
``parameters`` block; every species an observable of the same name. The file ends with
``simulate({method=>"ode", ...})``.

**Rate-law conversion.** BioNetGen applies the symmetry factor 1/νᵢ! to νᵢ identical reactants
(``A() + A() -> B() k`` fires at k·A²/2 in its ODE); ours does not. Each ``k_i`` is therefore our
rate constant times Π νᵢ! (:func:`~neuralcrn.chemistry._tool_formats.combinatoric_factor`), with
a comment giving our k wherever the factor is not 1. The compartment is implicit (volume 1), so
BioNetGen's amounts are our concentrations.
"""

from __future__ import annotations

import os
from pathlib import Path

from .network import ReactionNetwork
from ._tool_formats import combinatoric_factor, num, unique_names

__all__ = ["to_bngl", "write_bngl"]


def _side(side) -> str:
    terms = [f"{s}()" for s, n in side for _ in range(n)]
    return " + ".join(terms) if terms else "0"


def to_bngl(network: ReactionNetwork, *, t_end: float = 1.0, n_steps: int = 100) -> str:
    """BNGL text for ``network``; the closing ``simulate`` action runs the ODE to ``t_end`` with
    ``n_steps`` output intervals (see the module docstring for the conversion)."""
    if not isinstance(network, ReactionNetwork):
        raise TypeError(f"to_bngl expects a ReactionNetwork, got {type(network).__name__}")
    ks = unique_names("k", network.n_reactions, network.species)
    title = network.name.replace("\n", " ") if network.name else "reaction network"
    out = [f"# BioNetGen model written by neuralcrn ({title}): {network.n_species} species, "
           f"{network.n_reactions} reactions",
           "# BioNetGen divides a rate by n! for n identical reactants; neuralcrn does not.",
           "# Each k_i below is neuralcrn's rate constant times prod(n!), so the ODE is the same.",
           "begin model", "begin parameters"]
    for k, r in zip(ks, network.reactions):
        f = combinatoric_factor(r)
        out.append(f"  {k} {num(r.rate_constant * f)}"
                   + (f"  # neuralcrn k = {num(r.rate_constant)} (x {f} for 1/n!)" if f != 1
                      else ""))
    out += ["end parameters", "begin molecule types"]
    out += [f"  {s}()" for s in network.species]
    out += ["end molecule types", "begin seed species"]
    for s, v in zip(network.species, network.initial):
        out.append(f"  {'$' if s in network.constant else ''}{s}() {num(v)}")
    out += ["end seed species", "begin observables"]
    out += [f"  Molecules {s} {s}()" for s in network.species]
    out += ["end observables", "begin reaction rules"]
    for i, (k, r) in enumerate(zip(ks, network.reactions), start=1):
        out.append(f"  R{i}: {_side(r.reactants)} -> {_side(r.products)} {k}")
    out += ["end reaction rules", "end model", "",
            f'simulate({{method=>"ode",t_end=>{num(t_end)},n_steps=>{int(n_steps)},'
            f'atol=>1e-12,rtol=>1e-10}})']
    return "\n".join(out) + "\n"


def write_bngl(network: ReactionNetwork, path: str | os.PathLike, **kw) -> Path:
    """Write :func:`to_bngl` to ``path`` atomically; returns the path."""
    from ._atomic import write_text_atomic
    return write_text_atomic(path, to_bngl(network, **kw))
