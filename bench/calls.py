"""CRM API calls per mention: horseshoe's batched sink against a one-call-per-object integration,
then identity resolution's calls against a one-look-up-per-mention resolver (bench/identity.py).

Both run in this process against the same fake Salesforce org (the fake counts every request it
answers, logins included), delivering the same mentions: 1,000 from 300 authors (``--quick``: 200
from 60). The naive integration is written here the way such integrations usually are: for every
mention it looks up the post, the persona and the persona's latest post, then creates what is
missing one record at a time, through the same simple-salesforce client library.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from rich.console import Console
from rich.table import Table

from plugin.models import Author, Labels, Mention
from plugin.salesforce.sink import SalesforceSink
from plugin.sink import DeliveryItem, SinkConnection
from sandbox.salesforce.org import RunningOrg, start_org


def mentions(total: int, authors: int, seed: int = 7) -> list[Mention]:
    rng = random.Random(seed)
    people = [f"a{i}" for i in range(authors)]
    order = people + [rng.choice(people) for _ in range(total - authors)]
    start = datetime(2026, 11, 1, tzinfo=UTC)
    return [
        Mention(
            network="x",
            external_id=f"p{n}",
            thread_id=f"p{n}",
            author=Author(external_id=a, handle=f"h{a}", name=f"Person {a}"),
            text=f"post {n}",
            created_at=start + timedelta(seconds=n),
            account="brand",
        )
        for n, a in enumerate(order)
    ]


def horseshoe_calls(org: RunningOrg, batch: list[Mention]) -> int:
    sink = SalesforceSink()
    connection = SinkConnection(tenant_id=1, tenant_key="bench", sink="salesforce", config=org.sink_config())
    ids = count(1)
    before = org.calls()
    delivered = 0
    for start in range(0, len(batch), sink.max_batch):
        items = [DeliveryItem(next(ids), m, Labels()) for m in batch[start : start + sink.max_batch]]
        delivered += sum(o.status == "delivered" for o in sink.deliver(connection, items))
    assert delivered == len(batch), f"only {delivered} of {len(batch)} delivered"
    return org.calls() - before


def naive_calls(org: RunningOrg, batch: list[Mention]) -> int:
    before = org.calls()
    sf = org.client()
    for m in batch:
        if sf.query(f"SELECT Id FROM SocialPost WHERE ExternalPostId = '{m.external_id}'")["records"]:
            continue
        found = sf.query(f"SELECT Id, ParentId FROM SocialPersona WHERE ExternalId = '{m.author.external_id}'")
        if found["records"]:
            persona, contact = found["records"][0]["Id"], found["records"][0]["ParentId"]
        else:
            contact = sf.Contact.create({"LastName": m.author.name or m.author.external_id})["id"]
            persona = sf.SocialPersona.create(
                {
                    "Name": m.author.handle,
                    "ParentId": contact,
                    "Provider": "Twitter",
                    "ExternalId": m.author.external_id,
                }
            )["id"]
        latest = sf.query(
            f"SELECT Id, ParentId FROM SocialPost WHERE PersonaId = '{persona}' ORDER BY Posted DESC LIMIT 1"
        )["records"]
        case_id = None
        if latest and latest[0]["ParentId"]:
            case = sf.Case.get(latest[0]["ParentId"])
            case_id = case["Id"] if not case.get("IsClosed") else None
        if case_id is None:
            case_id = sf.Case.create({"Subject": m.text[:80], "Origin": "Twitter", "ContactId": contact})["id"]
        sf.SocialPost.create(
            {
                "Name": m.text[:80],
                "Content": m.text,
                "ExternalPostId": m.external_id,
                "Provider": "Twitter",
                "PersonaId": persona,
                "WhoId": contact,
                "ParentId": case_id,
                "MessageType": "Tweet",
                "Posted": m.created_at.isoformat(),
            }
        )
    return org.calls() - before


def run(quick: bool = False) -> dict[str, Any]:
    total, authors = (200, 60) if quick else (1000, 300)
    batch = mentions(total, authors)
    org = start_org("horseshoe")
    try:
        ours = horseshoe_calls(org, batch)
        records = {name: len(org.records(name)) for name in ("SocialPost", "SocialPersona", "Contact", "Case")}
    finally:
        org.stop()
    naive_org = start_org("naive")
    try:
        baseline = naive_calls(naive_org, batch)
    finally:
        naive_org.stop()
    table = Table(title=f"Salesforce API calls for {total} mentions from {authors} authors")
    for column in ("integration", "calls", "calls/mention"):
        table.add_column(column)
    table.add_row("horseshoe (batched)", str(ours), f"{ours / total:.3f}")
    table.add_row("one call per object", str(baseline), f"{baseline / total:.3f}")
    Console().print(table)
    Console().print(f"records written by horseshoe: {records}")
    # Identity resolution's calls (issue 5's figure) in the same run, beside its own naive baseline.
    from bench import identity

    resolved = identity.run(quick=quick)
    return {
        "identity_mentions": resolved["mentions"],
        "identity_authors": resolved["authors"],
        "identity_crm_calls_per_mention": resolved["crm_calls_per_mention"],
        "identity_baseline_per_mention": resolved["baseline_per_mention"],
        "identity_ratio": round(resolved["baseline"] / max(1, resolved["crm_calls"]), 1),
        "mentions": total,
        "authors": authors,
        "salesforce_calls": ours,
        "salesforce_calls_per_mention": round(ours / total, 4),
        "baseline": baseline,
        "baseline_per_mention": round(baseline / total, 4),
        "ratio": round(baseline / ours, 1),
    }
