"""MastodonConnector against the sandbox instance, through Mastodon.py over real HTTP."""

from __future__ import annotations

import pytest

from connectors import mastodon as mastodon_module
from connectors.mastodon import MastodonConnector
from plugin.connector import AccountContext
from plugin.errors import AuthError, FatalError, OriginalDeleted, OutcomeUnknown, RateLimited, RetriableError
from plugin.models import Kind, Reply, Visibility

from .conftest import Instance


def drain(
    connector: MastodonConnector, account: AccountContext, cursor: str | None
) -> tuple[list[str], str | None, int]:
    ids: list[str] = []
    calls = 0
    while True:
        page = connector.poll(account, cursor)
        calls += 1
        ids.extend(m.external_id for m in page.mentions)
        cursor = page.cursor
        if not page.more:
            return ids, cursor, calls


def test_hook_registers_the_connector() -> None:
    (connector,) = mastodon_module.horseshoe_register_connectors()
    assert connector.name == "mastodon"
    assert connector.verify_request(object(), {}) is False  # poll-only network


def test_pagination_walks_forward_and_resumes_after_restart(instance: Instance, connector: MastodonConnector) -> None:
    account = instance.account(page_size=3)
    first = connector.poll(account, None)
    assert first.mentions == [] and first.cursor == "0"
    injected = [
        instance.state.inject_mention(instance.brand["id"], instance.customer["id"], f"problem {i}")["status"]["id"]
        for i in range(7)
    ]
    page = connector.poll(account, first.cursor)
    assert [m.external_id for m in page.mentions] == injected[:3] and page.more
    # A crash before the host stored the new cursor: the same cursor yields the same page again.
    again = connector.poll(account, first.cursor)
    assert [m.external_id for m in again.mentions] == injected[:3]
    ids, cursor, calls = drain(connector, account, page.cursor)
    assert ids == injected[3:] and calls == 2
    # A new process (new connector object) resumes from the stored cursor: only new items.
    later = [
        instance.state.inject_mention(instance.brand["id"], instance.customer["id"], f"more {i}")["status"]["id"]
        for i in range(2)
    ]
    ids, _, _ = drain(MastodonConnector(), account, cursor)
    assert ids == later


def test_first_poll_takes_newest_page_only(instance: Instance, connector: MastodonConnector) -> None:
    for i in range(5):
        instance.state.inject_mention(instance.brand["id"], instance.customer["id"], f"old {i}")
    page = connector.poll(instance.account(page_size=2), None)
    assert len(page.mentions) == 2 and not page.more
    assert page.mentions[0].external_id < page.mentions[1].external_id  # oldest first


def test_mention_mapping(instance: Instance, connector: MastodonConnector) -> None:
    instance.state.inject_mention(
        instance.brand["id"], instance.customer["id"], "card charged twice", visibility="direct"
    )
    (m,) = connector.poll(instance.account(), "0").mentions
    assert m.visibility is Visibility.PRIVATE and m.kind is Kind.DIRECT
    assert m.author.external_id == instance.customer["id"]
    assert m.author.handle == "ann@remote.example"
    assert m.text == "@brand card charged twice"
    assert m.account == instance.brand["id"]


def test_reply_keeps_visibility_mentions_author_and_threads(instance: Instance, connector: MastodonConnector) -> None:
    account = instance.account()
    for visibility in ("direct", "unlisted", "public"):
        n = instance.state.inject_mention(instance.brand["id"], instance.customer["id"], "help", visibility=visibility)
        result = connector.post_reply(
            account,
            Reply(
                network="mastodon",
                account=instance.brand["id"],
                text="We are on it",
                in_reply_to=n["status"]["id"],
                idempotency_key=f"reply-{visibility}",
            ),
        )
        posted = instance.state.render_status(result.external_id)
        assert posted["in_reply_to_id"] == n["status"]["id"]
        assert posted["visibility"] == visibility
        assert posted["content"].count("@<span>ann</span>") == 1
        assert posted["mentions"][0]["id"] == instance.customer["id"]


def test_reply_to_reply_resolves_thread_root(instance: Instance, connector: MastodonConnector) -> None:
    account = instance.account()
    root = instance.state.inject_mention(instance.brand["id"], instance.customer["id"], "first")["status"]["id"]
    ours = connector.post_reply(
        account,
        Reply(
            network="mastodon",
            account=instance.brand["id"],
            text="@ann@remote.example hi",
            in_reply_to=root,
            idempotency_key="r1",
        ),
    )
    follow = instance.state.inject_mention(
        instance.brand["id"], instance.customer["id"], "still broken", in_reply_to_id=ours.external_id
    )["status"]["id"]
    mentions = {m.external_id: m for m in connector.poll(account, "0").mentions}
    assert mentions[root].thread_id == root
    assert mentions[follow].parent_id == ours.external_id
    assert mentions[follow].thread_id == root and mentions[follow].kind is Kind.REPLY


def test_reply_is_idempotent(instance: Instance, connector: MastodonConnector) -> None:
    n = instance.state.inject_mention(instance.brand["id"], instance.customer["id"], "hello")
    reply = Reply(
        network="mastodon",
        account=instance.brand["id"],
        text="Hi!",
        in_reply_to=n["status"]["id"],
        idempotency_key="outbox-77",
    )
    first = connector.post_reply(instance.account(), reply)
    second = connector.post_reply(instance.account(), reply)
    assert first == second
    assert len(instance.state.posted_by(instance.brand["id"])) == 1


def test_send_private_is_a_direct_status(instance: Instance, connector: MastodonConnector) -> None:
    result = connector.send_private(
        instance.account(),
        Reply(
            network="mastodon",
            account=instance.brand["id"],
            text="Please DM your order number",
            recipient_id=instance.customer["id"],
            visibility=Visibility.PRIVATE,
            idempotency_key="dm-1",
        ),
    )
    posted = instance.state.render_status(result.external_id)
    assert posted["visibility"] == "direct"
    assert posted["content"].startswith('<p><span class="h-card"')


def test_edits_arrive_as_edited_mentions(instance: Instance, connector: MastodonConnector) -> None:
    account = instance.account(notification_types=["mention", "update"])
    n = instance.state.inject_mention(instance.brand["id"], instance.customer["id"], "typo")
    page = connector.poll(account, "0")
    instance.state.edit_status(n["status"]["id"], "@brand fixed")
    edits = connector.poll(account, page.cursor).mentions
    assert [(m.external_id, m.event, m.text) for m in edits] == [(n["status"]["id"], "edited", "@brand fixed")]


def test_fetch_profile(instance: Instance, connector: MastodonConnector) -> None:
    profile = connector.fetch_profile(instance.account(), instance.customer["id"])
    assert profile is not None and profile.handle == "ann@remote.example" and profile.name == "Ann"
    assert connector.fetch_profile(instance.account(), "999999") is None


def test_bad_token_is_auth_error(instance: Instance, connector: MastodonConnector) -> None:
    account = AccountContext(
        network="mastodon", external_id="1", credentials={"access_token": "nope"}, api_base=instance.server.url
    )
    with pytest.raises(AuthError):
        connector.poll(account, None)
    assert "nope" not in repr(account)


def test_unknown_status_and_validation_errors_are_fatal(instance: Instance, connector: MastodonConnector) -> None:
    # A status that is gone is a deletion (the host holds the reply for the agent), still fatal.
    with pytest.raises(OriginalDeleted) as missing:
        connector.post_reply(
            instance.account(),
            Reply(network="mastodon", account="x", text="hi", in_reply_to="404", idempotency_key="k"),
        )
    assert missing.value.code == "deleted" and isinstance(missing.value, FatalError)
    n = instance.state.inject_mention(instance.brand["id"], instance.customer["id"], "hello")
    with pytest.raises(FatalError) as unknown_recipient:
        connector.send_private(
            instance.account(),
            Reply(network="mastodon", account="x", text=" ", recipient_id="404", idempotency_key="k2"),
        )
    assert unknown_recipient.value.code == "not_found"
    instance.state.max_characters = 30
    with pytest.raises(FatalError) as too_long:
        MastodonConnector().post_reply(
            instance.account(),
            Reply(network="mastodon", account="x", text="x" * 40, in_reply_to=n["status"]["id"], idempotency_key="k3"),
        )
    assert too_long.value.code == "too_long"


def test_server_validation_message_is_kept(instance: Instance, connector: MastodonConnector) -> None:
    n = instance.state.inject_mention(instance.brand["id"], instance.customer["id"], "hello")
    instance.state.max_characters = 10  # the connector's cached limit (500) is stale: the server decides
    connector._max_chars[instance.server.url] = 500
    with pytest.raises(FatalError) as rejected:
        connector.post_reply(
            instance.account(),
            Reply(
                network="mastodon",
                account="x",
                text="a long answer",
                in_reply_to=n["status"]["id"],
                idempotency_key="k4",
            ),
        )
    assert rejected.value.code == "rejected" and "character limit" in str(rejected.value)


def test_rate_limit_carries_reset(instance: Instance, connector: MastodonConnector) -> None:
    instance.state.rate_limit = 1
    connector.poll(instance.account(), "0")
    with pytest.raises(RateLimited) as limited:
        connector.poll(instance.account(), "0")
    assert limited.value.retry_after is not None and 0 < limited.value.retry_after <= instance.state.rate_window + 5


def test_injected_429_and_503(instance: Instance, connector: MastodonConnector) -> None:
    instance.plan.configure(scripted=[429], retry_after=7)
    with pytest.raises(RateLimited) as limited:
        connector.poll(instance.account(), "0")
    assert limited.value.retry_after is not None and limited.value.retry_after > 1
    instance.plan.configure(scripted=[503])
    with pytest.raises(RetriableError) as unavailable:
        connector.poll(instance.account(), "0")
    assert not isinstance(unavailable.value, RateLimited)


def test_read_timeout_on_post_is_outcome_unknown(instance: Instance, connector: MastodonConnector) -> None:
    connector._max_chars[instance.server.url] = 500
    # Only POST /api/v1/statuses hangs (the account lookup before it does not).
    instance.plan.configure(paths=("/api/v1/statuses",), scripted=[], rate_timeout=1.0, timeout_seconds=0.6)
    try:
        with pytest.raises(OutcomeUnknown):
            connector.send_private(
                instance.account(timeout=0.2),
                Reply(
                    network="mastodon",
                    account="x",
                    text="hi",
                    recipient_id=instance.customer["id"],
                    idempotency_key="t1",
                ),
            )
    finally:
        instance.plan.configure(paths=(), rate_timeout=0.0)


def test_unreachable_instance_is_retriable(connector: MastodonConnector) -> None:
    account = AccountContext(
        network="mastodon", external_id="1", credentials={"access_token": "t"}, api_base="http://127.0.0.1:9"
    )
    with pytest.raises(RetriableError):
        connector.poll(account, "0")
