"""``python -m worldflux.cli``: the ``worldflux`` command without its console script."""

from worldflux.cli import main

main(prog_name="worldflux")
