"""Every hook horseshoe calls. Names and signatures are a public contract for third-party plugins.

Implement them with ``@hookimpl`` (``from plugin.plugins import hookimpl``) in a module or class and
expose it through one of the entry-point groups ``horseshoe.connectors``, ``horseshoe.sinks`` or
``horseshoe.plugins`` (anything else: triage, observers, routes, commands). The host calls hooks only
through the typed facade ``plugin.plugins.Hooks``, never by string name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click
    from flask import Blueprint

    from plugin.connector import Connector
    from plugin.models import Labels, Match, Mention, PostResult, Reply, SocialProfile
    from plugin.runtime import Runtime
    from plugin.sink import Delivered, DeliveryOutcome, Sink

PROJECT = "horseshoe"
hookspec = pluggy.HookspecMarker(PROJECT)


@hookspec
def horseshoe_register_connectors() -> list[Connector]:
    """Called once when the plugin manager starts. Return the connectors this plugin provides.

    Each connector's ``name`` is the network key used everywhere (``x``, ``facebook``...); a name
    registered twice is an error reported at start-up, never a silent override. Besides the hooks,
    the host calls connector methods (``plugin/connector.py``); ``refresh_credentials`` is how a
    connector renews a short-lived token without the admin (the host stores the result encrypted).
    """
    raise NotImplementedError


@hookspec
def horseshoe_register_sinks() -> list[Sink]:
    """Called once when the plugin manager starts. Return the CRM sinks this plugin provides."""
    raise NotImplementedError


@hookspec
def horseshoe_triage(mention: Mention) -> Labels | None:
    """Called for every new mention after it is stored, before delivery. All implementations run.
    ``plugin.context.current_tenant()`` names the tenant.

    Return labels for what this plugin knows (or None). Results merge in call order: a later
    non-empty field does not overwrite an earlier one, list fields are united. ``engage=False`` from
    any plugin means the mention is kept but not turned into a ticket.
    """


@hookspec(firstresult=True)
def horseshoe_resolve_identity(profile: SocialProfile, sink: str) -> Match | None:
    """Called before delivering a mention's author to ``sink``. The first non-None result wins.

    Return the CRM record the profile belongs to, with confidence and evidence, or None when this
    plugin has no opinion. The built-in resolver is registered ``trylast``. The tenant the mention
    belongs to is ``plugin.context.current_tenant()``; never match across tenants. Called outside
    any database transaction, so an implementation may query its CRM and write its own rows.
    """


@hookspec
def horseshoe_mention_stored(mention: Mention, mention_id: int, tenant: str) -> None:
    """Observer: called once per new mention right after it is committed to the inbox.

    Never called for a duplicate. Exceptions are logged and do not stop the pipeline. For webhooks
    it runs on the serving process's announcer thread, just after the commit, so a slow observer
    never delays the network's 2xx (``plugin/pipeline/announce.py``).
    """


@hookspec
def horseshoe_delivered(mention: Mention, outcome: DeliveryOutcome, sink: str, tenant: str) -> None:
    """Observer: called once per mention after its delivery to ``sink`` reaches a final state
    (delivered or failed), on the thread that delivered it, after ``horseshoe_delivered_batch``.

    An observer that writes to a database or calls a service should prefer the batch hook: this one
    costs its work once per mention on the delivery path (one CRM call carries up to 200).
    """


@hookspec
def horseshoe_delivered_batch(deliveries: list[Delivered], sink: str, tenant: str) -> None:
    """Observer: called once per CRM call with every mention of it whose delivery to ``sink`` reached a
    final state (``Delivered``: the mention and its outcome, delivered or failed), in the call's order.

    The same events as ``horseshoe_delivered`` (which is still called for each of them), grouped so
    that an observer does its reads and writes once per batch: one transaction for 200 mentions
    instead of 200 on the delivery thread. Implement one of the two for a given effect, not both.
    Never called with an empty list. Exceptions are logged and do not stop delivery.
    """


@hookspec
def horseshoe_reply_sent(reply: Reply, result: PostResult, tenant: str) -> None:
    """Observer: called once after an agent's reply was posted to the network."""


@hookspec
def horseshoe_crm_event(sink: str, tenant: str, event: dict[str, Any]) -> str | None:
    """Observer: called for each event callback a CRM sent (e.g. Zendesk ``destroy_user_identity``),
    after the host recorded it. Such callbacks are often unsigned: confirm with the CRM before acting.

    Return a short description of what was done (logged), or None when the event is not yours.
    """


@hookspec
def horseshoe_startup(runtime: Runtime) -> None:
    """Called once when a runtime (settings, store, plugins) is ready, before any request or tick.

    Plugins that need the store or settings keep a reference here. Exceptions are logged and skipped.
    """


@hookspec
def horseshoe_register_routes() -> list[Blueprint]:
    """Called once by ``create_app()``. Return Flask blueprints to mount; each carries its own
    ``url_prefix``. Views reach the runtime with ``plugin.web.extension.runtime()``.
    """
    raise NotImplementedError


@hookspec
def horseshoe_register_commands(cli: click.Group) -> None:
    """Called once when the ``horseshoe`` command line is built. Add commands or groups to ``cli``."""
