"""A notification the atproto SDK would reject fails only itself (issue 12).

The SDK's ``listNotifications`` Response model validates a page at once: one notification whose author
handle is a number made the whole page a ``ModelError`` (FatalError ``bad_response``), so every later
mention of the account stalled behind it. The connector reads the page as sent and validates each
notification on its own: the bad one is quarantined with its raw payload, the others arrive."""

from __future__ import annotations

from typing import Any

from plugin.connector import quarantine_scope
from sandbox.networks import BUILTIN


def _poll_all(connector: Any, account: Any, cursor: str | None) -> tuple[list[str], list[Any], str | None]:
    found: list[str] = []
    with quarantine_scope() as held:
        for _ in range(10):
            page = connector.poll(account, cursor)
            found += [m.external_id for m in page.mentions]
            cursor = page.cursor
            if not page.more:
                break
    return found, held, cursor


def test_a_notification_the_sdk_rejects_is_quarantined_and_the_page_flows() -> None:
    harness = BUILTIN["bluesky"]()
    harness.start()
    try:
        harness.reset()
        connector, account = harness.connector(), harness.account()
        _, _, cursor = _poll_all(connector, account, None)  # the first poll starts "now"
        before = harness.inject_public("good, before")
        bad = harness.inject_public("its author handle is a number")
        after = harness.inject_public("good, after")
        author = {"did": harness.customer_id, "handle": 12345}  # the lexicon says string (handle)
        harness.poison({"uri": bad}, {"author": author})
        found, held, cursor = _poll_all(connector, account, cursor)
        assert before in found and after in found and bad not in found
        [kept] = held
        assert kept.payload["notifications"][0]["uri"] == bad and kept.payload["notifications"][0]["author"] == author
        assert "handle" in kept.error
        # The cursor moved past it: the next poll neither stalls nor brings it again.
        again, held_again, _ = _poll_all(connector, account, cursor)
        assert again == [] and held_again == []
    finally:
        harness.stop()
