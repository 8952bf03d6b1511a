"""The root ``neuralcrn`` click group; subcommands register themselves on it."""
import click

COLD_COMMANDS = frozenset({"bench"})
"""Subcommands that run without the persistent compilation cache (their compile timings are
meant cold)."""


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="neuralcrn")
@click.pass_context
def main(ctx):
    """neuralcrn: design, simulate and train Neural CRNs (chemical reaction networks that
    implement and train Neural ODEs by mass-action kinetics).

    Compiled programs are kept in ~/.cache/neuralcrn/jax for later runs (bit-identical results,
    seconds less compilation); NEURALCRN_COMPILATION_CACHE=DIR moves the folder, =off switches
    the cache off."""
    if ctx.invoked_subcommand not in COLD_COMMANDS:
        from .._compilation_cache import enable_compilation_cache

        enable_compilation_cache()
