"""Influence buys nothing: the same words from 10 or 10,000,000 followers, verified or not, get the
same priority, the same queue and the same CRM fields."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from plugin.models import Author, Labels, Mention
from plugin.salesforce import records
from plugin.triage.cli import triage_lines
from plugin.zendesk.resources import external_resource
from tests.triage.support import make_world

TEXTS = [
    "@acme_support my order #88213 still hasn't arrived, two weeks now. fix this",
    "someone hacked my account and changed the email, I can't log in",
    "thank you Sarah, best support ever",
]
CREATED = datetime.now(UTC) - timedelta(minutes=5)
AUDIENCES = list(itertools.product([10, 10_000_000], [False, True]))
# Fields that name the author or the post itself, which differ between two people by definition.
IDENTITY = {
    "external_id",
    "author",
    "Name",
    "Handle",
    "ExternalPostId",
    "R6PostId",
    "ResponseContextExternalId",
    "PostUrl",
    "thread_id",
    "Subject",
    "Description",
}


def _mention(index: int, text: str, followers: int, verified: bool) -> Mention:
    handle = f"user{index}"
    return Mention(
        network="testnet",
        external_id=f"m{index}",
        author=Author(external_id=f"a{index}", handle=handle, name="Pat Doe"),
        text=text,
        created_at=CREATED,
        url=f"https://testnet.example/m{index}",
        account="brand",
        # What a connector may pass along from the network; triage must not read it.
        extra={"followers": followers, "verified": verified, "public_metrics": {"followers_count": followers}},
    )


def _without_identity(data: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in data.items() if k not in IDENTITY}
    if "display_info" in kept:
        kept["display_info"] = [
            {k: v for k, v in info["data"].items() if k not in ("url", "handle", "profile_url")}
            for info in kept["display_info"]
        ]
    return kept


@pytest.mark.parametrize("text", TEXTS)
def test_same_words_same_priority_queue_and_fields(tmp_path: Path, text: str) -> None:
    world = make_world(
        tmp_path,
        {
            "security": {"zendesk_group_id": "360001", "salesforce_queue_id": "00G000000000001"},
            "employees": [{"id": "sarah", "names": ["Sarah"], "email": "sarah@acme.example"}],
        },
    )
    mentions = [_mention(n, text, followers, verified) for n, (followers, verified) in enumerate(AUDIENCES)]
    ids = world.ingest(*mentions)
    world.run()
    labels = [world.labels(i) for i in ids]
    for other in labels[1:]:
        assert other == labels[0]
    assert labels[0]["_status"] == "routed"
    resources, cases, posts = [], [], []
    for mention, stored in zip(mentions, labels, strict=True):
        label = Labels(**{k: v for k, v in stored.items() if not k.startswith("_")})
        resource = external_resource(mention, label, use_parent=False)
        resources.append(_without_identity(resource | {"fields": None}) | {"tags": _tags(resource)})
        cases.append(_without_identity(records.case_fields(mention, label, {})))
        posts.append(_without_identity(records.post_fields(mention, label)))
    for r in resources:
        assert r == resources[0]
    assert all(c == cases[0] for c in cases)
    assert all(p == posts[0] for p in posts)
    if "hacked" in text:
        assert labels[0]["priority"] == "urgent" and labels[0]["zendesk_group_id"] == "360001"
        assert cases[0]["Priority"] == "High" and cases[0]["OwnerId"] == "00G000000000001"
        assert "security_escalation" in resources[0]["tags"]


def _tags(resource: dict[str, Any]) -> list[str]:
    return next(f["value"] for f in resource["fields"] if f["id"] == "tags")


def test_the_command_ignores_followers_and_badges() -> None:
    lines = [
        json.dumps({"text": TEXTS[0], "author": {"handle": f"u{n}", "followers": followers, "verified": verified}})
        for n, (followers, verified) in enumerate(AUDIENCES)
    ]
    out = list(triage_lines(lines))
    assert len(out) == 4 and len(set(out)) == 1, out
