"""No double post on any network: a reply whose connection drops after it was sent becomes
``uncertain`` in the outbox and is never sent again (Facebook/Messenger: tests/connectors/meta).

Each fake runs the request (the post exists) and then closes the connection without answering
(``sandbox.faults`` ``drop_after``), so the connector has sent everything and gets no answer. The shared
HTTP client (and, for the SDK-based Mastodon and Bluesky connectors, the same rule applied to their
transports) must report OutcomeUnknown.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from plugin.outbox import replies as outbox
from plugin.testing.suite import Host, baseline, receive, reply_to
from sandbox.networks import BUILTIN, Harness

# Which requests are the write (the drop must hit the post itself, not a login or a lookup before it).
WRITES: dict[str, dict[str, tuple[str, ...]]] = {
    "x": {"paths": ("/2/tweets",), "methods": ("POST",)},
    "telegram": {"methods": ("POST",)},  # only sendMessage is called after the mention is received
    "vk": {"paths": ("/method/wall.createComment",), "methods": ("POST",)},
    "instagram": {"methods": ("POST",)},
    "mastodon": {"paths": ("/api/v1/statuses",), "methods": ("POST",)},
    "bluesky": {"paths": ("/xrpc/com.atproto.repo.createRecord",), "methods": ("POST",)},
}


@pytest.fixture(scope="module", params=sorted(WRITES))
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    started = BUILTIN[request.param]()
    started.start()
    started.reset()
    try:
        yield started
    finally:
        started.plan.configure(paths=(), methods=())
        started.stop()


@pytest.fixture
def host(harness: Harness, tmp_path: Path) -> Iterator[Host]:
    made = Host(harness, tmp_path)
    yield made
    made.close()


def test_reply_dropped_after_sending_is_uncertain_and_posted_once(harness: Harness, host: Host) -> None:
    cursor = baseline(harness, harness.connector())
    mention = receive(harness, cursor, harness.inject_public("did my parcel ship?"))
    answer = reply_to(mention, "It shipped this morning!")
    state = outbox.enqueue(host.runtime, host.tenant_id, host.account_id, answer, "salesforce")
    before = len(harness.posted())
    dropped = harness.plan.injected["drop_after"]
    harness.plan.configure(scripted=["drop_after"], **WRITES[harness.network])

    result = outbox.attempt(host.runtime, state.id, "worker-1")

    assert result.status == "uncertain", result
    assert harness.plan.injected["drop_after"] == dropped + 1  # the drop really hit the write
    assert len(harness.posted()) == before + 1  # the network did post it; only the answer was lost
    assert outbox.drain(host.runtime, "worker-2") == 0
    assert outbox.attempt(host.runtime, state.id, "worker-3").status == "uncertain"
    assert len(harness.posted()) == before + 1
