"""horseshoe's notes for the agent (``plugin.pipeline.notices``: a deleted original, a customer who can
no longer be messaged) as Zendesk *internal* notes.

The Channel Framework push can only add comments as the external resource's author, and those are
public: the requester could read "Note from horseshoe: ..." in their email or the help center. A private
comment needs the Tickets API (``PUT /api/v2/tickets/{id}.json`` with ``comment: {body, public:
false}``), hence the tenant's REST credentials (API token or OAuth, the same ones identity resolution
uses). With them, the note goes on the ticket holding the conversation (known from Zendesk's
``resources_created_from_external_ids`` callback, ``store.ticket_links``), through zenpy's authenticated
session. Without them the note is pushed as before (public), and the admin page and ``horseshoe doctor``
say so (``public_notes_warning``).

Idempotent: a retried note (a crash after Zendesk took it) finds its own text among the ticket's
private comments and is not added twice. A closed ticket takes no update (422): the note is pushed
instead, which makes Zendesk open a follow-up ticket, as for any message on a closed conversation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import requests

from plugin.errors import AuthError, RetriableError
from plugin.sink import DeliveryItem, DeliveryOutcome
from plugin.zendesk.rest import has_rest_credentials, raise_for_refusal, zenpy_client

# (tenant id, network, thread key, external id the note is about) -> Zendesk ticket id, or None.
TicketOf = Callable[[int, str, str, str], str | None]
LINK_WAIT_SECONDS = 15.0  # Zendesk's callback naming the ticket usually follows the push within seconds
PUBLIC_NOTES_WARNING = (
    "no Zendesk REST credentials (API token or OAuth token): horseshoe's notes (a customer deleted a post, "
    "can no longer be messaged) reach tickets as PUBLIC comments through the Channel Framework, which can "
    "show them to the requester; add REST credentials to make them internal notes"
)


def public_notes_warning(config: Mapping[str, Any]) -> str | None:
    """What the admin page and ``doctor`` show when notes cannot be private, else None."""
    return None if has_rest_credentials(config) else PUBLIC_NOTES_WARNING


class NoteWriter:
    """Internal notes of one tenant's Zendesk connection (REST credentials required)."""

    def __init__(self, config: Mapping[str, Any]):
        self.client = zenpy_client(config)
        self.session = self.client.users.session
        self.base = f"https://{config['subdomain']}.zendesk.com/api/v2/tickets"

    def _already_there(self, ticket_id: int, body: str) -> bool:
        url: str | None = f"{self.base}/{ticket_id}/comments.json"
        while url:
            response = self.session.get(url, timeout=30)
            raise_for_refusal(response, "reading the ticket's comments")
            if response.status_code != 200:
                return False  # e.g. the ticket is gone: the update below says what Zendesk thinks
            data = response.json()
            comments = data.get("comments") or []
            if any(not c.get("public", True) and str(c.get("body") or "").strip() == body.strip() for c in comments):
                return True
            url = data.get("next_page")
        return False

    def add(self, ticket_id: int, body: str) -> bool:
        """The note on the ticket (once); False when Zendesk takes no update there (a closed ticket)."""
        try:
            if self._already_there(ticket_id, body):
                return True
            response = self.session.put(
                f"{self.base}/{ticket_id}.json",
                json={"ticket": {"comment": {"body": body, "public": False}}},
                timeout=30,
            )
        except (requests.RequestException, ValueError) as exc:
            raise RetriableError(f"Zendesk internal note failed: {exc}") from exc
        raise_for_refusal(response, "the internal note")
        if response.status_code in (404, 422):
            return False
        if response.status_code != 200:
            raise RetriableError(f"Zendesk internal note: HTTP {response.status_code}")
        return True


def write(
    config: Mapping[str, Any], tenant_id: int, items: list[DeliveryItem], ticket_of: TicketOf
) -> tuple[list[DeliveryOutcome], list[DeliveryItem]]:
    """Notes as internal notes: (outcomes, the items to push through the Channel Framework instead)."""
    if not items or not has_rest_credentials(config):
        return [], items
    writer = NoteWriter(config)
    outcomes: list[DeliveryOutcome] = []
    to_push: list[DeliveryItem] = []
    for item in items:
        mention = item.mention
        about = str(mention.extra.get("about") or mention.parent_id or "")
        ticket = ticket_of(tenant_id, mention.network, mention.thread_id or about, about)
        if ticket is None or not ticket.isdigit():
            waiting = "waiting for Zendesk to name this conversation's ticket (its callback) for the internal note"
            outcomes.append(DeliveryOutcome(item.delivery_id, "retry", error=waiting, retry_after=LINK_WAIT_SECONDS))
            continue
        try:
            added = writer.add(int(ticket), mention.text)
        except (RetriableError, AuthError) as exc:
            outcomes.append(DeliveryOutcome(item.delivery_id, "retry", error=str(exc),
                                            retry_after=getattr(exc, "retry_after", None)))  # fmt: skip
            continue
        if added:
            outcomes.append(DeliveryOutcome(item.delivery_id, "delivered", remote_id=f"ticket:{ticket}:note"))
        else:
            to_push.append(item)
    return outcomes, to_push
