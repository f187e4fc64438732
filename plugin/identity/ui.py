"""The identity plugin's ways in for people: the agents' page and API, and ``horseshoe identity``.

A default plugin of its own (beside ``IdentityPlugin``), so the resolver does not import its views.
"""

from __future__ import annotations

import click
import pluggy
from flask import Blueprint

from plugin.identity import identity_console  # noqa: F401  (the standalone page's routes)
from plugin.identity.cli import identity
from plugin.identity.views import bp

hookimpl = pluggy.HookimplMarker("horseshoe")


@hookimpl
def horseshoe_register_routes() -> list[Blueprint]:
    return [bp]


@hookimpl
def horseshoe_register_commands(cli: click.Group) -> None:
    cli.add_command(identity)
