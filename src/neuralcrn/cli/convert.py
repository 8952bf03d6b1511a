"""``neuralcrn convert``: write a reaction network in another format."""

from __future__ import annotations

import click

from ._common import fail_cleanly
from ._group import main


@main.command("convert")
@click.argument("model")
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--format", "fmt",
              type=click.Choice(["text", "sbml", "antimony", "catalyst", "bngl", "dsd"]),
              help="Output format [from OUT's extension: .crn, .xml, .ant, .jl, .bngl, .dsd].")
@fail_cleanly
def convert_cmd(model, out, fmt):
    """Read MODEL (.crn text, SBML .xml, Antimony .ant, or a bundled example name) and write it to
    OUT as our text format, SBML, Antimony, Catalyst.jl source, BioNetGen BNGL or Visual DSD /
    crn-engine syntax. Catalyst.jl and BNGL divide mass-action rates by n! for n identical
    reactants; their rate constants are multiplied by n! so every format has the same ODE."""
    from ..chemistry.io import load_network, save_network
    net = load_network(model)
    path = save_network(net, out, fmt)
    click.echo(f"wrote {path} ({net.n_species} species, {net.n_reactions} reactions)")
