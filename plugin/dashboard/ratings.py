"""Satisfaction answers: a customer's reply with a 1-5 rating to the question asked when their ticket
was solved (``plugin/outbox/satisfaction.py`` asks). The answer is recorded on the conversation and
queued for every CRM holding it: the Zendesk ticket (tag ``csat_<n>``, an internal note; a negative
answer reopens it, or opens a follow-up of a closed ticket) and the Salesforce Case (internal comment,
optional CSAT field; a negative answer reopens a closed Case). The rating message itself becomes no
ticket (triage skips it)."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from plugin.models import Mention, Visibility
from plugin.runtime import Runtime
from plugin.store.db import utcnow
from plugin.store.service import FactRow

log = logging.getLogger(__name__)
ANSWER_WINDOW = timedelta(days=7)  # an answer later than this after the solve is a new message
NEGATIVE = (1, 2)
_RATING = re.compile(r"^\s*(?:@\S+\s+)*([1-5])\s*(?:/\s*5|(?:out\s+)?of\s+5|stars?|★|⭐)?\s*[.!]*\s*$", re.I)
_STARS = re.compile(r"^\s*([★⭐]{1,5})\s*$")


def parse_rating(text: str) -> int | None:
    """``"4"``, ``"4/5"``, ``"5 stars"``, ``"★★★"``: the rating; anything else is not an answer."""
    found = _RATING.match(text)
    if found:
        return int(found.group(1))
    stars = _STARS.match(text)
    return len(stars.group(1)) if stars else None


def could_be_answer(mention: Mention) -> bool:
    """A private message that reads as a rating: only those are looked up (``awaited``)."""
    return mention.visibility == Visibility.PRIVATE and parse_rating(mention.text) is not None


def awaited(runtime: Runtime, tenant_id: int, mention: Mention) -> tuple[FactRow, int] | None:
    """The surveyed conversation this private message rates, and its rating."""
    if not could_be_answer(mention):
        return None
    rating = parse_rating(mention.text)
    assert rating is not None
    fact = runtime.store.service.survey_of(
        tenant_id, mention.network, mention.author.external_id, utcnow() - ANSWER_WINDOW
    )
    return None if fact is None else (fact, rating)


def record(runtime: Runtime, tenant_id: int, mention: Mention) -> str | None:
    """Record the rating once on the conversation, and queue it for every CRM holding the conversation
    (plugin/worker/ratings.py writes it there, retried until done). Returns what was done."""
    found = awaited(runtime, tenant_id, mention)
    if found is None:
        return None
    fact, rating = found
    if not runtime.store.service.record_csat(fact.id, "answered", rating=rating):
        return None  # answered already: the first answer counts
    tickets = runtime.store.service.tickets_of(fact.id)
    queued = runtime.store.csat.enqueue(tenant_id, fact.id, mention.network, rating, tickets)
    runtime.store.events.record(tenant_id, "satisfaction_answered",
                                {"fact": fact.id, "rating": rating, "tickets": tickets})  # fmt: skip
    return f"rated {rating}" + (f", to be written to {', '.join(sorted(tickets))}" if queued else "")
