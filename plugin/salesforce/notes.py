"""horseshoe's notes for the agent (``plugin.pipeline.notices``) as internal Case comments.

A note names the post it is about (its ``parent_id``); that post's SocialPost (R6PostId
"network:external_id") names the Case (ParentId). The note becomes a CaseComment with IsPublished =
false (Object Reference, "CaseComment": an unpublished comment is internal, never shown to the
customer), created in one sObject Collections POST per batch. The SocialPost itself is marked Status
Deleted when the note says the customer deleted it, so list views show it too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from typing import Any

from plugin.salesforce.api import RETRIABLE_CODES, SalesforceApi, record_error
from plugin.sink import DeliveryItem, DeliveryOutcome, OutcomeStatus, all_held

log = logging.getLogger(__name__)
COMMENT_BODY_MAX = 4000  # CaseComment.CommentBody
PARENT_WAIT_SECONDS = 5.0


def _post_key(item: DeliveryItem) -> str:
    return f"{item.mention.network}:{item.mention.parent_id}"


def write(
    api: SalesforceApi, items: list[DeliveryItem], fence: Callable[[Collection[int]], set[int]] = all_held
) -> list[DeliveryOutcome]:
    """``fence``: asked right before the comments are written (the sink's ``fences_writes``); notes
    whose lease another worker took over meanwhile are left to it."""
    if not items:
        return []
    rows = api.query_in(
        "SELECT Id, ParentId, R6PostId FROM SocialPost WHERE IsOutbound = false AND R6PostId IN ({values})",
        [_post_key(i) for i in items],
    )
    posts = {str(r["R6PostId"]): r for r in rows if r.get("ParentId")}
    outcomes: list[DeliveryOutcome] = []
    ready: list[tuple[DeliveryItem, dict[str, Any]]] = []
    for item in items:
        post = posts.get(_post_key(item))
        if post is None:
            # The post it is about is not in Salesforce (yet): wait for it like a reply waits for its parent.
            waiting = "the noted post is not in Salesforce yet"
            outcomes.append(
                DeliveryOutcome(item.delivery_id, "wait_parent", error=waiting, retry_after=PARENT_WAIT_SECONDS)
            )
            continue
        ready.append((item, post))
    held = fence([item.delivery_id for item, _ in ready]) if ready else set()
    outcomes += [DeliveryOutcome.lease_lost(i.delivery_id) for i, _ in ready if i.delivery_id not in held]
    ready = [(item, post) for item, post in ready if item.delivery_id in held]
    if not ready:
        return outcomes
    comments = [
        {
            "attributes": {"type": "CaseComment"},
            "ParentId": post["ParentId"],
            "IsPublished": False,
            "CommentBody": item.mention.text[:COMMENT_BODY_MAX],
        }
        for item, post in ready
    ]
    for (item, post), result in zip(ready, api.collection("POST", comments), strict=True):
        if result.get("success"):
            outcomes.append(DeliveryOutcome(item.delivery_id, "delivered", remote_id=str(result.get("id") or "")))
            continue
        code, text = record_error(result)
        status: OutcomeStatus = "retry" if code in RETRIABLE_CODES else "failed"
        log.warning("note on case %s: %s", post["ParentId"], text)
        outcomes.append(DeliveryOutcome(item.delivery_id, status, error=f"salesforce CaseComment: {text}"))
    deleted = [
        {"attributes": {"type": "SocialPost"}, "Id": post["Id"], "Status": "Deleted"}
        for item, post in ready
        if item.mention.extra.get("notice") == "deleted"
    ]
    if deleted:
        for result in api.collection("PATCH", deleted):
            if not result.get("success"):
                # The note is what the agent needs; a status the org refuses is only logged.
                log.warning("marking a deleted SocialPost failed: %s", record_error(result)[1])
    return outcomes
