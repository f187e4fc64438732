"""Agents' outbound SocialPosts: found by polling, their fate written back.

Salesforce retired Social Studio (2024-11-18), which used to publish outbound SocialPosts. An agent's
reply is a SocialPost with IsOutbound = true, ReplyToId = the post answered and Status = the pending
value (mappings/salesforce.yaml ``status.pending``; approval statuses such as ApprovalPending are not
touched until an approver sets it to pending). We poll on SystemModstamp (it moves on every change,
including an approval), hand the replies to the host's outbox (idempotency key = the SocialPost Id)
and afterwards set Status to sent + ExternalPostId + PostUrl, or failed + StatusMessage, in one
sObject Collections PATCH.

The network of the answered post comes from its R6PostId ("network:external_id", written by the
inbound side); the brand account answering is its Recipient; the customer is its persona's ExternalId.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from plugin.models import Attachment, Visibility
from plugin.salesforce import records as rec
from plugin.salesforce.api import RETRIABLE_CODES, SalesforceApi, record_error, soql_quote
from plugin.salesforce.inbound import parse_sf_datetime
from plugin.sink import AgentReply, ReplyBatch, ReplyReport

log = logging.getLogger(__name__)

PAGE = 200
STATUS_MESSAGE_MAX = 1000  # SocialPost.StatusMessage length
POST_URL_MAX = 1024
REPLY_FIELDS = (
    "Id, Content, MessageType, Provider, Status, SystemModstamp, ReplyToId, ReplyTo.ExternalPostId, "
    "ReplyTo.Provider, ReplyTo.Recipient, ReplyTo.R6PostId, ReplyTo.ResponseContextExternalId, "
    "ReplyTo.MessageType, ReplyTo.IsOutbound, ReplyTo.Persona.ExternalId, AttachmentUrl, AttachmentType"
)


def _soql_datetime(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _network_of(reply_to: Mapping[str, Any]) -> str | None:
    key = str(reply_to.get("R6PostId") or "")
    network, sep, rest = key.partition(":")
    if sep and network and rest:
        return network
    candidates = rec.networks_of(str(reply_to.get("Provider") or ""))
    return candidates[0] if len(candidates) == 1 else None


def _persona_id(persona: Any) -> str | None:
    if isinstance(persona, Mapping) and persona.get("ExternalId"):
        return str(persona["ExternalId"])
    return None


def _attachments(row: Mapping[str, Any]) -> tuple[Attachment, ...]:
    """The social data model gives an outbound SocialPost one attachment: AttachmentUrl, typed by the
    AttachmentType picklist (IMAGE, VIDEO, LINK, ...). A LINK is part of the text, not a file to upload."""
    url = str(row.get("AttachmentUrl") or "").strip()
    kind = str(row.get("AttachmentType") or "IMAGE").lower()
    if not url or kind == "link":
        return ()
    return (Attachment(url=url, type=kind),)


def to_agent_reply(row: Mapping[str, Any]) -> AgentReply | str:
    """The reply to post, or the reason it cannot be posted."""
    reply_to = row.get("ReplyTo")
    if not isinstance(reply_to, Mapping):
        return "the outbound post has no ReplyTo post, so horseshoe does not know where to publish it"
    if reply_to.get("IsOutbound"):
        return "answering an outbound post is not supported; reply to the customer's post"
    network = _network_of(reply_to)
    account = reply_to.get("Recipient")
    external_id = reply_to.get("ExternalPostId")
    if not network or not account or not external_id:
        return "the ReplyTo post was not received through horseshoe (no R6PostId/Recipient/ExternalPostId)"
    text = str(row.get("Content") or "").strip()
    if not text:
        return "the outbound post has no Content"
    private_types = set(rec.mapping()["private_message_types"])
    private = row.get("MessageType") in private_types or reply_to.get("MessageType") in private_types
    persona = reply_to.get("Persona")
    return AgentReply(
        remote_id=str(row["Id"]),
        network=network,
        account_external_id=str(account),
        text=text,
        in_reply_to=str(external_id),
        thread_id=str(reply_to.get("ResponseContextExternalId") or "") or None,
        recipient_id=_persona_id(persona),
        visibility=Visibility.PRIVATE if private else Visibility.PUBLIC,
        attachments=_attachments(row),
    )


def fetch(api: SalesforceApi, config: Mapping[str, Any], watermark: str | None) -> ReplyBatch:
    pending = rec.status_value("pending", config)
    where = f"IsOutbound = true AND Status = {soql_quote(pending)}"
    since = parse_sf_datetime(watermark) if watermark else None
    if since is not None:
        # ">=" at second precision: a record sharing the watermark's second is seen again, and the
        # outbox's idempotency key (the SocialPost Id) makes that harmless; ">" could skip one.
        where += f" AND SystemModstamp >= {_soql_datetime(since)}"
    # Every value in the query is quoted by soql_quote or formatted by us: no injection.
    soql = f"SELECT {REPLY_FIELDS} FROM SocialPost WHERE {where} ORDER BY SystemModstamp ASC, Id ASC LIMIT {PAGE}"  # noqa: S608
    rows = api.query(soql)
    replies: list[AgentReply] = []
    unpostable: list[ReplyReport] = []
    newest = since
    for row in rows:
        stamp = parse_sf_datetime(row.get("SystemModstamp"))
        if stamp is not None and (newest is None or stamp > newest):
            newest = stamp
        found = to_agent_reply(row)
        if isinstance(found, str):
            unpostable.append(ReplyReport(remote_id=str(row["Id"]), status="failed", error=found))
        else:
            replies.append(found)
    if unpostable:
        # Told at once, so nothing an agent wrote stays pending forever.
        report(api, config, unpostable)
    return ReplyBatch(replies=replies, watermark=_soql_datetime(newest) if newest else watermark)


def report(api: SalesforceApi, config: Mapping[str, Any], reports: list[ReplyReport]) -> list[str]:
    """One collections PATCH; returns the ids whose record now shows the final state (or never can)."""
    if not reports:
        return []
    now = _soql_datetime(datetime.now(UTC))
    bodies: list[dict[str, Any]] = []
    for r in reports:
        body: dict[str, Any] = {"attributes": {"type": "SocialPost"}, "Id": r.remote_id}
        if r.status == "sent":
            body.update(Status=rec.status_value("sent", config), Posted=now, StatusMessage=None)
            if r.external_id:
                body["ExternalPostId"] = r.external_id[:255]
            if r.url:
                body["PostUrl"] = r.url[:POST_URL_MAX]
        else:
            body.update(
                Status=rec.status_value("failed", config),
                StatusMessage=(r.error or "failed")[:STATUS_MESSAGE_MAX],
            )
        bodies.append(body)
    done: list[str] = []
    for r, result in zip(reports, api.collection("PATCH", bodies), strict=True):
        if result.get("success"):
            done.append(r.remote_id)
            continue
        code, text = record_error(result)
        if code in RETRIABLE_CODES:
            log.warning("salesforce could not record reply %s yet: %s", r.remote_id, text)
        else:
            # A deleted or otherwise refused record will never take the status: stop reporting it.
            log.error("salesforce refused the status of reply %s: %s", r.remote_id, text)
            done.append(r.remote_id)
    return done
