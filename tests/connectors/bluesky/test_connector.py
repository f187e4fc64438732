"""BlueskyConnector against the sandbox through the atproto SDK's Client, over real HTTP."""

from __future__ import annotations

import json

import pytest

from connectors import bluesky as bluesky_module
from connectors.bluesky import BlueskyConnector
from plugin.connector import AccountContext
from plugin.errors import AuthError, FatalError, OriginalDeleted, OutcomeUnknown, RateLimited, RetriableError
from plugin.models import Kind, Reply, Visibility

from .conftest import Pds


def drain(connector: BlueskyConnector, account: AccountContext, cursor: str | None) -> tuple[list[str], str | None]:
    ids: list[str] = []
    while True:
        page = connector.poll(account, cursor)
        ids.extend(m.external_id for m in page.mentions)
        cursor = page.cursor
        if not page.more:
            return ids, cursor


def reply(pds: Pds, parent: str, text: str = "We are looking into it", key: str = "k1") -> Reply:
    return Reply(network="bluesky", account=pds.brand["did"], text=text, in_reply_to=parent, idempotency_key=key)


def strong(ref: dict[str, str]) -> dict[str, str]:
    """A strongRef without the optional ``$type`` the SDK adds."""
    return {"uri": ref["uri"], "cid": ref["cid"]}


def test_hook_registers_the_connector() -> None:
    (connector,) = bluesky_module.horseshoe_register_connectors()
    assert connector.name == "bluesky" and connector.verify_request(object(), {}) is False


def test_first_poll_starts_now_then_walks_pages_without_loss(pds: Pds, connector: BlueskyConnector) -> None:
    account = pds.account(page_size=3)
    old = pds.state.inject_mention(pds.brand["did"], pds.customer["did"], "before we started")["uri"]
    first = connector.poll(account, None)
    assert [m.external_id for m in first.mentions] == [old] and not first.more
    posted = [pds.state.inject_mention(pds.brand["did"], pds.customer["did"], f"issue {i}")["uri"] for i in range(8)]
    page = connector.poll(account, first.cursor)
    assert page.more and [m.external_id for m in page.mentions] == posted[-3:]
    # Crash before the cursor was stored: the previous cursor replays the same page.
    replay = connector.poll(account, first.cursor)
    assert [m.external_id for m in replay.mentions] == posted[-3:]
    # More mentions arrive in the middle of the catch-up; a new process resumes from the stored cursor.
    late = pds.state.inject_mention(pds.brand["did"], pds.customer["did"], "late")["uri"]
    rest, cursor = drain(BlueskyConnector(), account, page.cursor)
    assert sorted(rest) == sorted(posted[:-3])
    tail, cursor = drain(BlueskyConnector(), account, cursor)
    assert tail == [late]
    nothing, _ = drain(connector, account, cursor)
    assert nothing == []
    assert json.loads(cursor or "{}")["hwm"]["uris"] == [late]


def test_reasons_mapping(pds: Pds, connector: BlueskyConnector) -> None:
    account = pds.account()
    cursor = connector.poll(account, None).cursor
    ours = pds.state.inject_post(pds.brand["did"], "Our announcement")["uri"]
    q = pds.state.inject_post(pds.customer["did"], "look at this", quote=ours)["uri"]
    r = pds.state.inject_post(pds.customer["did"], "question", reply_to=ours)["uri"]
    found = {m.external_id: m for m in connector.poll(account, cursor).mentions}
    assert found[q].kind is Kind.QUOTE and found[q].thread_id == q
    assert found[r].kind is Kind.REPLY and found[r].parent_id == ours and found[r].thread_id == ours
    assert found[r].author.external_id == pds.customer["did"] and found[r].author.handle == "ann.bsky.sandbox"
    assert found[r].url == f"https://bsky.app/profile/ann.bsky.sandbox/post/{r.rsplit('/', 1)[1]}"


def test_reply_to_reply_has_root_and_parent_refs_and_facet(pds: Pds, connector: BlueskyConnector) -> None:
    account = pds.account()
    root = pds.state.inject_mention(pds.brand["did"], pds.customer["did"], "Grüße, my order 🙁")
    first = connector.post_reply(account, reply(pds, root["uri"], "Sorry! Which order?", "a"))
    follow = pds.state.inject_post(pds.customer["did"], "order 77", reply_to=first.external_id)
    second = connector.post_reply(account, reply(pds, follow["uri"], "Thanks, refunded ✅", "b"))
    records = {r["uri"]: r for r in pds.state.posts_by(pds.brand["did"])}
    value = records[second.external_id]["value"]
    assert strong(value["reply"]["root"]) == {"uri": root["uri"], "cid": root["cid"]}
    assert strong(value["reply"]["parent"]) == {"uri": follow["uri"], "cid": follow["cid"]}
    assert value["text"] == "@ann.bsky.sandbox Thanks, refunded ✅"
    (facet,) = value["facets"]
    text = value["text"].encode()
    assert text[facet["index"]["byteStart"] : facet["index"]["byteEnd"]] == b"@ann.bsky.sandbox"
    assert facet["features"][0]["did"] == pds.customer["did"]
    assert value["createdAt"].endswith("Z")
    first_value = records[first.external_id]["value"]
    expected = {"uri": root["uri"], "cid": root["cid"]}
    assert strong(first_value["reply"]["root"]) == strong(first_value["reply"]["parent"]) == expected
    assert second.url and second.url.startswith("https://bsky.app/profile/brand.bsky.sandbox/post/")


def test_reply_is_idempotent(pds: Pds, connector: BlueskyConnector) -> None:
    root = pds.state.inject_mention(pds.brand["did"], pds.customer["did"], "hello")
    first = connector.post_reply(pds.account(), reply(pds, root["uri"]))
    again = BlueskyConnector().post_reply(pds.account(), reply(pds, root["uri"]))
    assert first.external_id == again.external_id
    assert len(pds.state.posts_by(pds.brand["did"])) == 1


def test_reply_too_long_and_missing_parent(pds: Pds, connector: BlueskyConnector) -> None:
    root = pds.state.inject_mention(pds.brand["did"], pds.customer["did"], "hello")
    with pytest.raises(FatalError) as too_long:
        # 290 graphemes plus the @handle prefix would be a thread now (test_thread.py); too long even
        # for ten posts is refused.
        connector.post_reply(pds.account(), reply(pds, root["uri"], "é " * 2000))
    assert too_long.value.code == "too_long"
    missing = root["uri"].rsplit("/", 1)[0] + "/3zzzzzzzzzzzz"
    with pytest.raises(OriginalDeleted) as gone:  # a deletion: the host holds the reply for the agent
        connector.post_reply(pds.account(), reply(pds, missing))
    assert gone.value.code == "deleted"


def test_session_is_reused_and_refreshed_on_expired_token(pds: Pds, connector: BlueskyConnector) -> None:
    account = pds.account()
    connector.poll(account, None)
    connector.poll(account, None)
    assert pds.state.calls.count("com.atproto.server.createSession") == 1
    pds.state.expire_access_tokens()
    connector.poll(account, None)
    assert pds.state.calls.count("com.atproto.server.refreshSession") == 1
    assert pds.state.calls.count("com.atproto.server.createSession") == 1
    # Refresh token spent/expired as well: log in again with the app password.
    pds.state.expire_access_tokens()
    pds.state.expire_refresh_tokens()
    connector.poll(account, None)
    assert pds.state.calls.count("com.atproto.server.createSession") == 2


def test_sdk_refreshes_ahead_of_exp(pds: Pds, connector: BlueskyConnector) -> None:
    pds.state.access_ttl = 60  # inside the SDK's 15-minute early-refresh margin
    connector.poll(pds.account(), None)
    connector.poll(pds.account(), None)
    assert pds.state.calls.count("com.atproto.server.refreshSession") >= 1


def test_wrong_password_is_auth_error(pds: Pds, connector: BlueskyConnector) -> None:
    account = pds.account(password="wrong")
    with pytest.raises(AuthError):
        connector.poll(account, None)
    assert "wrong" not in repr(account)


def test_private_messages(pds: Pds, connector: BlueskyConnector) -> None:
    message = Reply(
        network="bluesky",
        account=pds.brand["did"],
        text="Please share your order number here",
        recipient_id=pds.customer["did"],
        visibility=Visibility.PRIVATE,
        idempotency_key="dm",
    )
    with pytest.raises(FatalError) as disabled:
        connector.send_private(pds.account(), message)
    assert disabled.value.code == "unsupported"
    result = connector.send_private(pds.account(chat_enabled=True), message)
    (sent,) = pds.state.messages_to(pds.customer["did"])
    assert sent["text"] == message.text and result.external_id.endswith(sent["id"])


def test_fetch_profile(pds: Pds, connector: BlueskyConnector) -> None:
    profile = connector.fetch_profile(pds.account(), pds.customer["did"])
    assert profile is not None and profile.handle == "ann.bsky.sandbox" and profile.name == "Ann Émile"
    assert connector.fetch_profile(pds.account(), "did:plc:nobody") is None


def test_rate_limit_and_server_errors(pds: Pds, connector: BlueskyConnector) -> None:
    account = pds.account()
    connector.poll(account, None)
    pds.plan.configure(scripted=[429], retry_after=9)
    with pytest.raises(RateLimited) as limited:
        connector.poll(account, None)
    assert limited.value.retry_after is not None and 1 <= limited.value.retry_after <= 9
    pds.plan.configure(scripted=[503])
    with pytest.raises(RetriableError) as unavailable:
        connector.poll(account, None)
    assert not isinstance(unavailable.value, RateLimited)
    pds.state.rate_limit = 1
    pds.state.windows.clear()
    connector.poll(account, None)
    with pytest.raises(RateLimited) as own_limit:
        connector.poll(account, None)
    assert own_limit.value.retry_after is not None and own_limit.value.retry_after > 0


def test_timeout_on_create_record_is_outcome_unknown(pds: Pds, connector: BlueskyConnector) -> None:
    root = pds.state.inject_mention(pds.brand["did"], pds.customer["did"], "hello")
    account = pds.account(timeout=0.3)
    connector.poll(account, None)  # logs in before the fault is armed
    pds.plan.configure(paths=("/xrpc/com.atproto.repo.createRecord",), rate_timeout=1.0, timeout_seconds=0.8)
    try:
        with pytest.raises(OutcomeUnknown):
            connector.post_reply(account, reply(pds, root["uri"]))
    finally:
        pds.plan.configure(paths=(), rate_timeout=0.0)


def test_unreachable_pds_is_retriable(connector: BlueskyConnector) -> None:
    account = AccountContext(
        network="bluesky",
        external_id="did:plc:x",
        credentials={"identifier": "a", "app_password": "b"},
        api_base="http://127.0.0.1:9",
    )
    with pytest.raises(RetriableError):
        connector.poll(account, None)
