"""A customer's satisfaction answer on the Zendesk ticket (``ZendeskSink.record_rating``).

Through the Tickets API with the tenant's REST credentials: tag ``csat_<n>`` and an internal note; a
negative answer (1-2) reopens the ticket for an agent. A closed ticket takes no update (Zendesk answers
422), so a negative answer there opens a follow-up ticket (``via_followup_source_id``: same requester,
linked to the closed one, tagged ``csat_followup``) and a positive one is kept in horseshoe's figures
only. Written at least once: the tag is idempotent, and an existing csat follow-up is found before a
second one would be created.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from plugin.errors import FatalError
from plugin.sink import Rating
from plugin.zendesk.rest import has_rest_credentials, raise_for_refusal, zenpy_client

FOLLOWUP_TAG = "csat_followup"
TIMEOUT = 30.0


def _check(response: requests.Response, what: str) -> dict[str, Any]:
    raise_for_refusal(response, what)
    status = response.status_code
    if status in (200, 201):
        body = response.json()
        return body if isinstance(body, dict) else {}
    if status == 404:
        raise FatalError(f"Zendesk {what}: the ticket does not exist (deleted?)")
    raise FatalError(f"Zendesk {what}: HTTP {status} {response.text[:200]}")


def record(config: Mapping[str, Any], rating: Rating) -> str:
    if not has_rest_credentials(config):
        raise FatalError(
            "no Zendesk REST credentials (API token or OAuth token): the rating cannot be written to the "
            "ticket; add them in the admin page"
        )
    if not rating.ticket.isdigit():
        raise FatalError(f"{rating.ticket!r} is not a Zendesk ticket id")
    ticket_id = int(rating.ticket)
    session = zenpy_client(config).users.session
    base = f"https://{config['subdomain']}.zendesk.com/api/v2"
    tag = f"csat_{rating.rating}"
    fields: dict[str, Any] = {"additional_tags": [tag], "comment": {"body": rating.note, "public": False}}
    if rating.negative:
        fields["status"] = "open"
    response = session.put(f"{base}/tickets/{ticket_id}.json", json={"ticket": fields}, timeout=TIMEOUT)
    if response.status_code != 422:
        _check(response, "ticket update")
        return f"ticket #{ticket_id} tagged {tag} with an internal note" + (", reopened" if rating.negative else "")
    ticket = _check(session.get(f"{base}/tickets/{ticket_id}.json", timeout=TIMEOUT), "ticket read").get("ticket", {})
    if ticket.get("status") != "closed":
        raise FatalError(f"Zendesk refused the ticket update: {response.text[:200]}")
    if not rating.negative:
        return f"ticket #{ticket_id} is closed (Zendesk keeps closed tickets as they are): the rating is in the figures"
    for followup in ticket.get("followup_ids") or []:
        found = _check(session.get(f"{base}/tickets/{int(followup)}.json", timeout=TIMEOUT), "ticket read")
        if FOLLOWUP_TAG in (found.get("ticket", {}).get("tags") or []):
            return f"ticket #{ticket_id} is closed: follow-up ticket #{followup} is open"
    created = _check(
        session.post(
            f"{base}/tickets.json",
            json={
                "ticket": {
                    "via_followup_source_id": ticket_id,
                    "subject": f"Negative satisfaction rating ({rating.rating}/5) on ticket #{ticket_id}",
                    "comment": {"body": rating.note, "public": False},
                    "tags": [tag, FOLLOWUP_TAG],
                }
            },
            timeout=TIMEOUT,
        ),
        "follow-up ticket",
    )
    return f"ticket #{ticket_id} is closed: follow-up ticket #{created.get('ticket', {}).get('id')} opened"
