"""``neuralcrn protocol``: a run's training protocol as one SBML or Antimony model."""

from __future__ import annotations

import click

from ._common import fail_cleanly
from ._group import main


@main.command("protocol")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--steps", type=int,
              help="Export the first N training steps [all: epochs × training samples].")
@click.option("--format", "fmt", type=click.Choice(["sbml", "antimony"]), default="sbml",
              show_default=True, help="SBML Level 3 with events, or Antimony.")
@click.option("--out", type=click.Path(dir_okay=False), help="Output file [stdout].")
@fail_cleanly
def protocol_cmd(run_dir, steps, fmt, out):
    """Write the training protocol of RUN_DIR (replicate 0) as one model that any SBML simulator
    (COPASI, libroadrunner/Tellurium, ...) runs: the circuit's reactions, each multiplied by an
    on/off parameter of its phase, and time-triggered events that load x and y and wash the
    transient species at the start of every step and switch the phases. The parameter species
    after each step are what chemical training computed.
    """
    from ..training import export_protocol
    text = export_protocol(run_dir, fmt, steps, out)
    if out:
        click.echo(f"wrote {out}")
    else:
        click.echo(text, nl=False)
