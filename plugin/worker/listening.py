"""Listening per account: posts that name the brand without tagging it, found through the network's
search (``Connector.listen``), within the account's search budget.

It runs in the account's poll turn, under the same lease, so two workers never search for one account
at once. Each ``listen`` call is exactly one network request, and the next one is scheduled
``3600 / listen_calls_per_hour`` seconds later: the budget holds however often the account is polled.
What a search returns is marked ``extra.listening`` and stored like any mention; triage's engage filter
then keeps only the posts meant for the brand (other meanings of the word and spam are kept, counted
and never ticketed), and delivered ones carry the ``listening`` tag so agents know the customer did not
address them.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from plugin.connector import AccountContext, Connector, listen_terms
from plugin.errors import BadInput, FatalError, RetriableError
from plugin.models import Mention
from plugin.pipeline import inbound as pipeline
from plugin.runtime import Runtime
from plugin.store.accounts import AccountRow, PollCursorRow
from plugin.store.db import utcnow

log = logging.getLogger(__name__)
LISTENING = "listening"
FAILED_LISTEN_SECONDS = 900.0  # a search the network refuses (no access, bad terms): look again later


def listens(connector: Connector) -> bool:
    return type(connector).listen is not Connector.listen


def marked(mention: Mention) -> Mention:
    return mention.model_copy(update={"extra": {**mention.extra, LISTENING: True}})


def listen_if_due(
    runtime: Runtime, account: AccountRow, context: AccountContext, connector: Connector, state: PollCursorRow
) -> int:
    """One search call when the account listens and its budget allows; returns mentions stored."""
    terms = listen_terms(account.settings)
    now = utcnow()
    if not terms or not listens(connector) or (state.next_listen_at is not None and state.next_listen_at > now):
        return 0
    per_hour = max(1, int(account.settings.get("listen_calls_per_hour") or 12))
    spacing = timedelta(seconds=3600.0 / per_hour)
    accounts = runtime.store.brand_accounts
    try:
        page = connector.listen(context, terms, state.listen_cursor)
    except RetriableError as exc:
        # The call was spent all the same: the next one waits for the budget and the server's Retry-After.
        wait = max(spacing.total_seconds(), exc.retry_after or 0.0)
        log.warning("listening on %s/%s: %s", account.network, account.external_id, exc)
        accounts.save_listening(account.id, state.listen_cursor, now + timedelta(seconds=wait))
        return 0
    except (FatalError, BadInput) as exc:
        # BadInput: an answer the connector cannot read; the poll turn it rides on must not fail with it.
        log.warning("listening on %s/%s refused: %s", account.network, account.external_id, exc)
        # Shown where the admin looks (admin page, doctor, console): e.g. Instagram's 30 hashtags a week
        # used up, or VK without a search token. Not a failed poll: the account keeps working.
        runtime.store.health.failed(account.id, f"listening: {exc}")
        wait = max(spacing.total_seconds(), FAILED_LISTEN_SECONDS)
        accounts.save_listening(account.id, state.listen_cursor, now + timedelta(seconds=wait))
        return 0
    # Stored first, position second: a crash in between searches the same page again (deduplicated).
    result = pipeline.ingest(runtime, account, [marked(m) for m in page.mentions])
    accounts.save_listening(account.id, page.cursor, now + spacing)
    return len(result.new)

