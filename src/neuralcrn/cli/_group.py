"""The root ``neuralcrn`` click group; subcommands register themselves on it."""
import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="neuralcrn")
def main():
    """neuralcrn: design, simulate and train Neural CRNs (chemical reaction networks that
    implement and train Neural ODEs by mass-action kinetics)."""
