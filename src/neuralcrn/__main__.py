"""``python -m neuralcrn``: the ``neuralcrn`` command."""

from .cli import main

if __name__ == "__main__":
    main(prog_name="neuralcrn")
