"""The standalone console as a default plugin: its blueprint and its commands, registered by hook."""

from __future__ import annotations

import click
import pluggy
from flask import Blueprint

from plugin.console import (  # noqa: F401  (routes on bp)
    dashboard_views,
    failure_views,
    health_views,
    quarantine_views,
    service_views,
    views,
)
from plugin.console.blueprint import bp
from plugin.console.cli import admin, deliveries, replies

hookimpl = pluggy.HookimplMarker("horseshoe")


@hookimpl
def horseshoe_register_routes() -> list[Blueprint]:
    return [bp]


@hookimpl
def horseshoe_register_commands(cli: click.Group) -> None:
    for group in (admin, deliveries, replies):
        cli.add_command(group)
