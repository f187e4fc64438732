"""``#unquoted`` (plugin/outbox/unquoted.py): the agent's decision to send a held private reply anyway."""

from __future__ import annotations

import pytest

from plugin.errors import FatalError
from plugin.models import Reply, Visibility
from plugin.outbox import replies as outbox
from plugin.outbox import unquoted
from plugin.runtime import Runtime
from plugin.store.statuses import ReplyStatus
from tests.support.netplugin import TestNetPlugin


def _reply(text: str, visibility: Visibility = Visibility.PRIVATE) -> Reply:
    return Reply(network="telegram", account="1", text=text, in_reply_to="1001:7", recipient_id="1001",
                 visibility=visibility, idempotency_key="k")  # fmt: skip


@pytest.mark.parametrize(
    ("text", "body"),
    [
        ("#unquoted Yes, it left today.", "Yes, it left today."),
        ("#UNQUOTED  Yes", "Yes"),
        ("#unquoted\nYes, it left today.\nThanks!", "Yes, it left today.\nThanks!"),
        ("  #unquoted On the way\nsecond line", "On the way\nsecond line"),
        ("Yes, it left today.", None),
        ("#unquotedYes", None),  # not the marker: a hashtag that starts the same
        ("Hi\n#unquoted later", None),  # only the first line asks
    ],
)
def test_what_asks_for_an_unquoted_reply(text: str, body: str | None) -> None:
    assert unquoted.parse(text) == body


def test_the_marker_alone_is_refused_with_the_reason() -> None:
    with pytest.raises(FatalError, match="needs its text"):
        unquoted.parse("#unquoted\n  ")


def test_a_private_reply_loses_the_marker_and_the_quote_and_nothing_else() -> None:
    sent = unquoted.apply(_reply("#unquoted Yes, it left today."))
    assert (sent.text, sent.in_reply_to, sent.recipient_id, sent.visibility) == (
        "Yes, it left today.", None, "1001", Visibility.PRIVATE,
    )  # fmt: skip
    ordinary = _reply("Yes")
    assert unquoted.apply(ordinary) is ordinary


def test_a_public_reply_cannot_be_unquoted() -> None:
    with pytest.raises(FatalError, match="private conversations only") as err:
        unquoted.apply(_reply("#unquoted hello all", Visibility.PUBLIC))
    assert err.value.code == "unquoted"


def test_the_outbox_sends_an_unquoted_private_reply_without_the_quote_and_refuses_a_public_one(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    tenant_id, account_id = tenant
    private = Reply(network="testnet", account="brand", text="#unquoted Yes, it left today.", in_reply_to="7",
                    recipient_id="u1", visibility=Visibility.PRIVATE, idempotency_key="dm")  # fmt: skip
    state = outbox.enqueue(rt, tenant_id, account_id, private, "zendesk_channelback")
    sent = outbox.attempt(rt, state.id, "a")
    assert sent.status == ReplyStatus.SENT, sent.error
    [posted] = testnet.connector.posted
    assert (posted.text, posted.in_reply_to, posted.recipient_id) == ("Yes, it left today.", None, "u1")

    public = private.model_copy(update={"visibility": Visibility.PUBLIC, "idempotency_key": "public"})
    state = outbox.enqueue(rt, tenant_id, account_id, public, "zendesk_channelback")
    refused = outbox.attempt(rt, state.id, "a")
    assert refused.status == ReplyStatus.FAILED and "private conversations only" in (refused.error or "")
    row = rt.store.outbox.get(state.id)
    assert row.status == ReplyStatus.FAILED and "private conversations only" in (row.last_error or "")
    assert len(testnet.connector.posted) == 1  # nothing posted publicly
