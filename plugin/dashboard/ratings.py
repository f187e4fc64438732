"""Satisfaction answers: a customer's reply with a 1-5 rating to the question asked when their ticket
was solved (``plugin/outbox/satisfaction.py`` asks). The answer is recorded on the conversation, on
the Zendesk ticket (tag ``csat_<n>`` and an internal note) and, when negative (1-2), the ticket is
reopened for an agent to follow up. The rating message itself becomes no ticket (triage skips it)."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from plugin.errors import AuthError, RetriableError
from plugin.models import Mention, Visibility
from plugin.runtime import Runtime
from plugin.store.db import utcnow
from plugin.store.service import FactRow
from plugin.zendesk.rest import rate_ticket

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


def awaited(runtime: Runtime, tenant_id: int, mention: Mention) -> tuple[FactRow, int] | None:
    """The surveyed conversation this private message rates, and its rating."""
    if mention.visibility != Visibility.PRIVATE:
        return None
    rating = parse_rating(mention.text)
    if rating is None:
        return None
    fact = runtime.store.service.survey_of(
        tenant_id, mention.network, mention.author.external_id, utcnow() - ANSWER_WINDOW
    )
    return None if fact is None else (fact, rating)


def record(runtime: Runtime, tenant_id: int, mention: Mention) -> str | None:
    """Record the rating once; write it to the conversation's Zendesk ticket. Returns what was done."""
    found = awaited(runtime, tenant_id, mention)
    if found is None:
        return None
    fact, rating = found
    if not runtime.store.service.record_csat(fact.id, "answered", rating=rating):
        return None  # answered already: the first answer counts
    negative = rating in NEGATIVE
    note = f"Customer satisfaction: {rating}/5 (answered on {mention.network})." + (
        " Negative rating: please follow up with the customer." if negative else ""
    )
    tickets = runtime.store.service.tickets_of(fact.id)
    done = [f"rated {rating}"]
    config = runtime.store.sink_connection(tenant_id, "zendesk")
    if "zendesk" in tickets and config is not None:
        try:
            if rate_ticket(config, tickets["zendesk"], rating, note, reopen=negative):
                done.append(f"zendesk ticket {tickets['zendesk']} tagged" + (" and reopened" if negative else ""))
        except (AuthError, RetriableError) as exc:
            log.warning("could not record the rating on Zendesk ticket %s: %s", tickets["zendesk"], exc)
    runtime.store.events.record(tenant_id, "satisfaction_answered",
                                {"fact": fact.id, "rating": rating, "tickets": tickets, "done": done})  # fmt: skip
    return ", ".join(done)
