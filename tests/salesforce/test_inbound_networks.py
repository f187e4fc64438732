"""Networks with their own Provider (X: "Twitter") next to those sharing "Other", and what the
batch's look-ups ask Salesforce (issue 12: written for surviving mutants of ``salesforce.inbound``).

Posts and personas of an own-Provider network are found again by ExternalPostId / ExternalId,
those of "Other" networks by R6PostId / R6SourceId ("network:id"); each batch asks only the
look-ups its networks need, each naming the ids it wants (one IN query, never a table scan).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from werkzeug.wrappers import Request

from plugin.models import Author, Mention
from plugin.salesforce.inbound import parse_sf_datetime
from plugin.salesforce.sink import SalesforceSink
from tests.support.netplugin import make_mention

from .conftest import SfEnv, connection, item
from .soql import soql_of


def _x(mention: Mention) -> Mention:
    author = Author(external_id=mention.author.external_id, handle=f"h{mention.author.external_id}")
    return mention.model_copy(update={"network": "x", "author": author})


def _post(env: SfEnv, post_id: str | None) -> dict[str, Any]:
    return next(p for p in env.records("SocialPost") if p["Id"] == post_id)


def test_an_x_post_and_author_are_found_again(sink: SalesforceSink, sfenv: SfEnv) -> None:
    [first] = sink.deliver(connection(sfenv), [item(_x(make_mention("100", author="7", text="v1")))])
    [again] = sink.deliver(connection(sfenv), [item(_x(make_mention("100", author="7", text="v2")))])
    [other] = sink.deliver(connection(sfenv), [item(_x(make_mention("101", author="7")))])
    assert [o.status for o in (first, again, other)] == ["delivered"] * 3
    assert again.remote_id == first.remote_id and other.remote_id != first.remote_id
    assert _post(sfenv, first.remote_id)["Content"] == "v2"
    [persona] = sfenv.records("SocialPersona")
    assert persona["Provider"] == "Twitter" and persona["ExternalId"] == "7"
    assert len(sfenv.records("Contact")) == 1 and len(sfenv.records("SocialPost")) == 2
    assert _post(sfenv, other.remote_id)["PersonaId"] == persona["Id"]


def test_an_x_reply_to_our_outbound_tweet_joins_its_case(sink: SalesforceSink, sfenv: SfEnv) -> None:
    admin = sfenv.admin()
    campaign = admin.Case.create({"Subject": "campaign"})["id"]
    admin.SocialPost.create({"Name": "our tweet", "IsOutbound": True, "Provider": "Twitter",
                             "ExternalPostId": "900", "ParentId": campaign, "Status": "Sent"})  # fmt: skip
    [earlier] = sink.deliver(connection(sfenv), [item(_x(make_mention("1", author="7")))])
    [reply] = sink.deliver(connection(sfenv), [item(_x(make_mention("2", author="7", parent="900", kind="reply")))])
    assert _post(sfenv, earlier.remote_id)["ParentId"] != campaign
    assert _post(sfenv, reply.remote_id)["ParentId"] == campaign


def test_our_own_tweet_coming_back_as_a_mention_stays_outbound(sink: SalesforceSink, sfenv: SfEnv) -> None:
    admin = sfenv.admin()
    campaign = admin.Case.create({"Subject": "campaign"})["id"]
    ours = admin.SocialPost.create({"Name": "our tweet", "IsOutbound": True, "Provider": "Twitter",
                                    "ExternalPostId": "900", "ParentId": campaign, "Status": "Sent"})["id"]  # fmt: skip
    [out] = sink.deliver(connection(sfenv), [item(_x(make_mention("900", author="brand")))])
    assert out.status == "delivered" and out.remote_id == ours
    post = _post(sfenv, ours)
    assert post["IsOutbound"] is True and post["Provider"] == "Twitter" and post["ExternalPostId"] == "900"


class _Queries:
    """The SOQL of every query the fake answered (``plan.after`` sees each request)."""

    def __init__(self) -> None:
        self.soql: list[str] = []

    def __call__(self, request: Request) -> None:
        self.soql += soql_of(request)

    def on(self, sobject: str) -> list[str]:
        return [q for q in self.soql if f"FROM {sobject} " in q]


@pytest.mark.parametrize(("network", "post_field"), [("x", "ExternalPostId"), ("testnet", "R6PostId")])
def test_a_batch_asks_only_the_look_ups_its_network_needs(
    sink: SalesforceSink, sfenv: SfEnv, network: str, post_field: str
) -> None:
    mention = make_mention("100", author="7")
    if network == "x":
        mention = _x(mention)
    sink.deliver(connection(sfenv), [item(mention)])
    queries = _Queries()
    sfenv.plan.configure(after=queries)
    [again] = sink.deliver(connection(sfenv), [item(mention)])
    [fresh] = sink.deliver(connection(sfenv), [item(mention.model_copy(update={"external_id": "101"}))])
    assert again.status == fresh.status == "delivered"
    # Per batch one look-up of its posts by their key, naming them, asked together with the persona
    # look-ups (one call: the answers do not depend on each other); for the new post then the
    # author's latest posts. An "Other" network's batch also asks for unscoped personas to adopt.
    post_ids = ["100", "101"] if network == "x" else ["testnet:100", "testnet:101"]
    by_key = [q for q in queries.on("SocialPost") if "PersonaId IN" not in q]
    assert len(by_key) == 2 and all(f"{post_field} IN ('{i}')" in q for q, i in zip(by_key, post_ids, strict=True)), (
        by_key
    )
    assert len(queries.on("SocialPost")) == 3, queries.on("SocialPost")
    personas = queries.on("SocialPersona")
    assert len(personas) == (2 if network == "x" else 4), personas
    assert all(("R6SourceId IN" in q) == (network == "testnet") for q in personas if "R6SourceId = null" not in q)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-01T12:00:00.000+0000", datetime(2026, 11, 1, 12, 0, tzinfo=UTC)),
        ("2026-11-01T12:00:00Z", datetime(2026, 11, 1, 12, 0, tzinfo=UTC)),
        ("2026-11-01T14:00:00+0200", datetime(2026, 11, 1, 12, 0, tzinfo=UTC)),
        ("2026-11-01T12:00:00.250Z", datetime(2026, 11, 1, 12, 0, 0, 250000, tzinfo=UTC)),
        ("yesterday", None),
        (None, None),
    ],
)
def test_salesforce_datetimes_are_read_in_each_form_the_api_writes(text: str | None, expected: datetime | None) -> None:
    assert parse_sf_datetime(text) == expected
