"""The ``horseshoe`` command line: core commands here, more from plugins (``horseshoe_register_commands``)."""

from plugin.cli.main import main

__all__ = ["main"]
