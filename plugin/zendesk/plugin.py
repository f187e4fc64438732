"""Zendesk as a horseshoe plugin: the push sink and the Channel Framework routes, registered by hooks
exactly as a third-party CRM would be."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy
from flask import Blueprint

from plugin.sink import Sink
from plugin.web.attachments import file_links
from plugin.zendesk import admin, views  # noqa: F401  (each adds its routes to the one blueprint)
from plugin.zendesk.blueprint import bp
from plugin.zendesk.push import ZendeskSink

if TYPE_CHECKING:
    from plugin.runtime import Runtime

hookimpl = pluggy.HookimplMarker("horseshoe")


@hookimpl
def horseshoe_register_sinks() -> list[Sink]:
    return [ZendeskSink()]


@hookimpl
def horseshoe_register_routes() -> list[Blueprint]:
    return [bp]


@hookimpl
def horseshoe_startup(runtime: Runtime) -> None:
    """Files stored as ``horseshoe-file:`` references reach Zendesk as signed links to this host;
    horseshoe's notes find the ticket of their conversation (internal notes, plugin/zendesk/notes.py)."""
    sink = runtime.registry.sinks.get("zendesk")
    if isinstance(sink, ZendeskSink):
        sink.file_links = file_links(runtime)
        links = runtime.store.ticket_links
        sink.ticket_of = lambda tenant, network, thread, about: links.ticket_of_thread(
            tenant, "zendesk", network, thread, about
        )
