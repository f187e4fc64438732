"""Satisfaction asked in the same channel: when a ticket/case is solved, the customer is asked for a
1-5 rating in the private conversation they used, once per solved ticket (README, "Satisfaction").

Per brand account, off by default (account setting ``satisfaction: true``). The question goes through
the outbox like an agent's reply (posted at most once: its idempotency key names the tenant, the CRM
and the ticket, so a ticket solved again is not asked again). Asked only where the network lets a
brand write privately now; otherwise the conversation is marked ``skipped`` with the reason:

- a public conversation: a rating request in a public thread is noise for everyone else;
- Messenger / Instagram: only inside the 24-hour window after the customer's last message;
- X: only in a DM conversation the customer opened (DMs to someone who never wrote are refused);
- Telegram, VK, Mastodon (direct): the chat the customer wrote in; Bluesky: when chat is enabled;
- Facebook (comments only) and any network whose connector cannot send private messages: never;
- a third-party network: when its connector implements ``send_private``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from plugin.connector import Connector
from plugin.models import Reply, Visibility
from plugin.outbox import replies as outbox
from plugin.runtime import Runtime
from plugin.store.db import utcnow
from plugin.store.service import FactRow

log = logging.getLogger(__name__)
SOURCE = outbox.SATISFACTION
KEY_PREFIX = "horseshoe-csat:"  # the dashboard plugin does not count these as agents' responses
SETTING = "satisfaction"
# Facebook's "private replies" answer one comment, once: not a conversation a survey may start.
NO_SURVEY = {"facebook": "Facebook private replies answer one comment once; a survey cannot start a conversation"}
WINDOWED = {"messenger": timedelta(hours=24), "instagram": timedelta(hours=24)}
QUESTION = (
    "Thanks for contacting us! How satisfied are you with the help you received? "
    "Please answer with a number from 1 (very unsatisfied) to 5 (very satisfied)."
)


def enabled(settings: dict[str, Any]) -> bool:
    value = settings.get(SETTING, False)
    return value is True or str(value).lower() in ("1", "true", "yes", "on")


def never_asked_on(runtime: Runtime, network: str) -> str | None:
    """Why a survey can never be sent on ``network``; None when its connector can message privately."""
    if network in NO_SURVEY:
        return NO_SURVEY[network]
    connector = runtime.registry.connectors.get(network)
    if connector is None or type(connector).send_private is Connector.send_private:
        return f"{network} has no private messages a brand can start"
    return None


def why_not(runtime: Runtime, fact: FactRow, mention: dict[str, Any], settings: dict[str, Any]) -> str | None:
    """None when the question may be sent now, else the reason it is skipped."""
    network = fact.network
    never = never_asked_on(runtime, network)
    if never is not None:
        return never
    if mention.get("visibility") != Visibility.PRIVATE:
        return "public conversation: the rating is asked only in a private one"
    if network == "bluesky" and not settings.get("chat_enabled", False):
        return "Bluesky chat is not enabled for this account"
    window = WINDOWED.get(network)
    if window is not None:
        last = runtime.store.service.last_message_at(fact.tenant_id, network, fact.author_external_id)
        if last is None or utcnow() - last > window:
            return f"outside {network}'s {int(window.total_seconds() // 3600)}-hour messaging window"
    return None


def ask(runtime: Runtime, sink: str, facts: Sequence[FactRow]) -> int:
    """Ask once per solved ticket (its latest conversation). Returns how many questions were queued."""
    latest: dict[tuple[int, str], FactRow] = {}
    for fact in facts:
        for_ticket = runtime.store.service.tickets_of(fact.id).get(sink)
        if for_ticket is None:
            continue
        key = (fact.tenant_id, for_ticket)
        if key not in latest or fact.created_at > latest[key].created_at:
            latest[key] = fact
    queued = 0
    for (tenant_id, ticket), fact in latest.items():
        found = runtime.store.account(fact.account_id) if fact.account_id else None
        if found is None or not enabled(found[0].settings):
            continue
        account = found[0]
        mention = runtime.store.service.mention_payload(fact)
        reason = why_not(runtime, fact, mention, account.settings)
        if reason is not None:
            runtime.store.service.record_csat(fact.id, "skipped", reason=reason)
            log.info("satisfaction not asked on %s ticket %s: %s", sink, ticket, reason)
            continue
        tenant_key = runtime.store.tenant_key(tenant_id)
        reply = Reply(
            network=fact.network,
            account=account.external_id,
            text=QUESTION,
            in_reply_to=str(mention.get("external_id") or ""),
            thread_id=mention.get("thread_id"),
            recipient_id=fact.author_external_id,
            visibility=Visibility.PRIVATE,
            idempotency_key=f"{KEY_PREFIX}{tenant_key}:{sink}:{ticket}",
        )
        state = outbox.enqueue(runtime, tenant_id, account.id, reply, SOURCE, remote_id=f"{fact.id}")
        queued += int(not state.status.final)
    return queued
