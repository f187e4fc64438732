"""The service-metrics plugin: turns what horseshoe sees into facts, and mounts the dashboard.

- ``horseshoe_reply_sent``: an agent's reply was published -> first response of its conversation;
- ``horseshoe_crm_event`` (Zendesk ``resources_created_from_external_ids``) and
  ``horseshoe_delivered_batch`` (Salesforce SocialPosts): which ticket/case each mention landed in,
  so a solve can be attributed;
- the solves themselves are read by the worker (``plugin/worker/resolutions.py``).

A default plugin like any other: a third party can replace it, or add its own figures beside it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from flask import Blueprint

from plugin.context import current_tenant
from plugin.dashboard import ratings
from plugin.dashboard.views import bp
from plugin.models import Labels, Mention, PostResult, Reply
from plugin.outbox import satisfaction
from plugin.plugins import hookimpl
from plugin.sink import Delivered
from plugin.store.db import utcnow
from plugin.zendesk.resources import split_namespaced

if TYPE_CHECKING:
    from plugin.runtime import Runtime

log = logging.getLogger(__name__)
ZENDESK_LINK_EVENTS = ("comment_on_new_ticket", "comment_on_existing_ticket", "comment_on_follow_up_ticket")


class DashboardPlugin:
    def __init__(self) -> None:
        self.runtime: Runtime | None = None

    def _tenant_id(self, tenant: str) -> int | None:
        return None if self.runtime is None else self.runtime.store.tenant_id(tenant)

    @hookimpl
    def horseshoe_startup(self, runtime: Runtime) -> None:
        self.runtime = runtime

    @hookimpl
    def horseshoe_register_routes(self) -> list[Blueprint]:
        return [bp]

    @hookimpl
    def horseshoe_reply_sent(self, reply: Reply, result: PostResult, tenant: str) -> None:
        tenant_id = self._tenant_id(tenant)
        if tenant_id is None or self.runtime is None:
            return
        if reply.idempotency_key.startswith(satisfaction.KEY_PREFIX):
            self._asked(tenant_id, reply.idempotency_key)
            return
        answered = self.runtime.store.service.record_reply(
            tenant_id, reply.network, reply.in_reply_to, reply.thread_id, utcnow()
        )
        log.debug("reply %s answered %d conversation(s)", result.external_id, answered)

    def _asked(self, tenant_id: int, key: str) -> None:
        """The satisfaction question was published: the solved conversation of its ticket is asked."""
        assert self.runtime is not None
        _tenant, sink, ticket = key[len(satisfaction.KEY_PREFIX) :].split(":", 2)
        solved = [f for f in self.runtime.store.service.facts_for_ticket(tenant_id, sink, ticket) if f.solved_at]
        if solved:
            self.runtime.store.service.record_csat(max(solved, key=lambda f: f.created_at).id, "asked")

    @hookimpl
    def horseshoe_mention_stored(self, mention: Mention, mention_id: int, tenant: str) -> None:
        if not ratings.could_be_answer(mention):
            return  # most messages: no database read on the webhook path
        tenant_id = self._tenant_id(tenant)
        if tenant_id is not None and self.runtime is not None:
            done = ratings.record(self.runtime, tenant_id, mention)
            if done:
                log.info("satisfaction answer from %s: %s", mention.network, done)

    @hookimpl
    def horseshoe_triage(self, mention: Mention) -> Labels | None:
        """A satisfaction answer is recorded on the solved ticket; it does not become a ticket itself."""
        tenant = current_tenant()
        if tenant is None or self.runtime is None or ratings.parse_rating(mention.text) is None:
            return None
        if (
            self.runtime.store.service.survey_of(
                tenant.id, mention.network, mention.author.external_id, utcnow() - ratings.ANSWER_WINDOW
            )
            is None
            or mention.visibility != "private"
        ):
            return None
        return Labels(engage=False, skip_reason="satisfaction_rating")  # type: ignore[call-arg]

    @hookimpl
    def horseshoe_delivered_batch(self, deliveries: list[Delivered], sink: str, tenant: str) -> None:
        # A Salesforce mention becomes a SocialPost on a Case: the post id is what the Case status
        # query starts from. (Zendesk tells the ticket id in its resource event callback instead.)
        # One write for the whole CRM call: it runs on the delivery thread, before its next batch.
        if sink != "salesforce" or self.runtime is None:
            return
        links = [
            (d.outcome.remote_id, d.mention.network, d.mention.external_id)
            for d in deliveries
            if d.outcome.status == "delivered" and d.outcome.remote_id
        ]
        tenant_id = self._tenant_id(tenant) if links else None
        if tenant_id is not None:
            self.runtime.store.service.link_tickets(tenant_id, "salesforce", links)

    @hookimpl
    def horseshoe_crm_event(self, sink: str, tenant: str, event: dict[str, Any]) -> str | None:
        if sink != "zendesk" or event.get("type_id") != "resources_created_from_external_ids":
            return None
        tenant_id = self._tenant_id(tenant)
        data = event.get("data")
        if tenant_id is None or self.runtime is None or not isinstance(data, dict):
            return None
        links = []
        for item in data.get("resource_events") or []:
            if not isinstance(item, dict) or item.get("type_id") not in ZENDESK_LINK_EVENTS:
                continue
            try:
                network, external_id = split_namespaced(str(item.get("external_id") or ""))
            except ValueError:
                continue
            if str(item.get("ticket_id") or "").isdigit():
                links.append((str(item["ticket_id"]), network, external_id))
        # Unsigned callback: a link is only ever added to this tenant's own mentions, never moved.
        linked = self.runtime.store.service.link_tickets(tenant_id, "zendesk", links)
        return f"linked {linked} mention(s) to their tickets"
