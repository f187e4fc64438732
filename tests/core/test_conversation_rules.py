"""The small rules behind whole conversations: the #handoff reply, listening terms and queries."""

from __future__ import annotations

import pytest

from connectors.x.listen import query_for
from plugin.connector import listen_terms
from plugin.errors import FatalError
from plugin.outbox import handoff


def test_a_handoff_reply_splits_into_acknowledgement_and_private_message() -> None:
    found = handoff.parse("#handoff Thanks, check your DMs!\nHi, your order number please?\nThanks")
    assert found == handoff.Handoff(ack="Thanks, check your DMs!", private="Hi, your order number please?\nThanks")
    assert handoff.parse("#HANDOFF\nprivate words") == handoff.Handoff(None, "private words")
    assert handoff.parse("#handoffs are great") is None and handoff.parse("hello #handoff") is None
    with pytest.raises(FatalError, match="needs the private message"):
        handoff.parse("#handoff only an ack")


def test_child_keys_stay_within_the_column_and_distinct() -> None:
    long_key = "zendesk:acme:" + "x" * 250
    private, ack = handoff.child_key(long_key, "private"), handoff.child_key(long_key, "ack")
    assert len(private) <= 255 and len(ack) <= 255 and private != ack
    assert handoff.child_key("k", "ack") == "k:handoff-ack"


def test_listen_terms_are_trimmed_and_deduplicated_in_order() -> None:
    assert listen_terms({"listen_terms": " acme, #acmehelp,ACME,\n акме ,, "}) == ["acme", "#acmehelp", "акме"]
    assert listen_terms({}) == []


def test_the_x_query_ors_the_terms_and_names_the_limit() -> None:
    assert query_for(["acme", "#acmehelp", "acme bank"], "acme_support") == (
        '(acme OR #acmehelp OR "acme bank") -is:retweet -from:acme_support'
    )
    with pytest.raises(FatalError, match="X allows 512"):
        query_for([f"term{n}" for n in range(80)], None)
