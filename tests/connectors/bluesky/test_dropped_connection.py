"""A connection dropped before any answer is a transient failure of a poll: ``RetriableError``.

Found by ``bench faults``: the atproto SDK lets httpx's ``RemoteProtocolError`` ("Server disconnected
without sending a response") escape untranslated, so the worker took it for a connector bug and paused
the account's polling for 15 minutes. The connector now routes httpx's transport errors through the
shared sent/not-sent rule too."""

from __future__ import annotations

import pytest

from plugin.errors import RetriableError
from sandbox.networks import BUILTIN


@pytest.mark.parametrize("when", ["login", "poll"])
def test_a_dropped_connection_during_a_poll_is_retriable(when: str) -> None:
    harness = BUILTIN["bluesky"]()
    harness.start()
    try:
        harness.reset()
        connector, account = harness.connector(), harness.account()
        cursor = None
        if when == "poll":
            cursor = connector.poll(account, None).cursor  # logged in; the next call is the poll itself
        harness.plan.configure(scripted=["reset"])
        with pytest.raises(RetriableError):
            connector.poll(account, cursor)
    finally:
        harness.stop()
