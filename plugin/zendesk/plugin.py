"""Zendesk as a horseshoe plugin: the push sink and the Channel Framework routes, registered by hooks
exactly as a third-party CRM would be."""

from __future__ import annotations

import pluggy
from flask import Blueprint

from plugin.sink import Sink
from plugin.zendesk import admin, views  # noqa: F401  (each adds its routes to the one blueprint)
from plugin.zendesk.blueprint import bp
from plugin.zendesk.push import ZendeskSink

hookimpl = pluggy.HookimplMarker("horseshoe")


@hookimpl
def horseshoe_register_sinks() -> list[Sink]:
    return [ZendeskSink()]


@hookimpl
def horseshoe_register_routes() -> list[Blueprint]:
    return [bp]
