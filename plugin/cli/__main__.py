"""``python -m plugin.cli``: the same command line as ``horseshoe``."""

from plugin.cli import main

main()
