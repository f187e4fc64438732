"""CRM calls per mention for identity resolution: horseshoe's batched resolver against a naive one.

Both run in this process against the same fakes (Zendesk and Salesforce; each fake's requests are
counted at its own edge, logins included), over the same mentions: 10,000 from 3,000 authors
(``--quick``: 1,000 from 300). One author in 20 writes an email address in a private message; half
of those are customers both CRMs already have. Mentions arrive in chunks of 200 and are routed
through ``pipeline.route`` (both sinks connected), so the figure includes look-ups, links and the
per-batch queries. The naive resolver makes one look-up per mention and CRM (the author's email if
they wrote one, else the network identity), as integrations without batching do.
"""

from __future__ import annotations

import random
import tempfile
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from rich.console import Console
from rich.table import Table

from plugin.config import Settings
from plugin.identity.scoring import extract_contacts
from plugin.models import Author, Kind, Mention, Visibility
from plugin.pipeline import inbound as pipeline
from plugin.runtime import Runtime, build_runtime
from sandbox.salesforce.org import RunningOrg, start_org
from sandbox.server import RunningServer, serve_in_thread
from sandbox.zendesk import create_app as create_zendesk
from sandbox.zendesk.models import ZendeskState

SUBDOMAIN = "bench"
CHUNK = 200


class Counted:
    """WSGI wrapper counting the API requests a fake answers (its /_sandbox control calls excluded)."""

    def __init__(self, app: Callable[..., Any]):
        self.app = app
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not str(environ.get("PATH_INFO", "")).startswith("/_sandbox"):
            with self._lock:
                self.count += 1
        result: Iterable[bytes] = self.app(environ, start_response)
        return result


def reveals(i: int) -> bool:
    return i % 20 == 0


def known(i: int) -> bool:
    return i % 40 == 0


def mentions(total: int, authors: int, seed: int = 0) -> list[Mention]:
    rng = random.Random(seed)
    order = list(range(authors)) + [rng.randrange(authors) for _ in range(total - authors)]
    rng.shuffle(order)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    seen: set[int] = set()
    batch = []
    for n, i in enumerate(order):
        first = i not in seen
        seen.add(i)
        private = first and reveals(i)
        batch.append(
            Mention(
                network="x", external_id=f"p{n}", thread_id=f"p{n}",
                kind=Kind.DIRECT if private else Kind.POST,
                visibility=Visibility.PRIVATE if private else Visibility.PUBLIC,
                author=Author(external_id=f"a{i}", handle=f"h{i}", name=f"Person {i}"),
                text=f"my email is a{i}@example.org" if private else f"post {n} @brand",
                created_at=start + timedelta(seconds=n), account="brand",
            )
        )  # fmt: skip
    return batch


class Fakes:
    def __init__(self, authors: int):
        self.zd_state = ZendeskState()
        self.zd_state.create_account(SUBDOMAIN, admin_name="Ada Admin", admin_email="ada@bench.example")
        api = self.zd_state.add_user(SUBDOMAIN, "Api", email="api@bench.example", role="admin")
        self.zd_token = self.zd_state.issue_api_token(SUBDOMAIN, api.id)
        self.zd = Counted(create_zendesk(state=self.zd_state))
        self.zd_server: RunningServer = serve_in_thread(self.zd)
        self.org: RunningOrg = start_org("bench")
        sf = self.org.client()
        for i in range(authors):
            if known(i):
                self.zd_state.add_user(SUBDOMAIN, f"Person {i}", email=f"a{i}@example.org")
                sf.Contact.create({"LastName": f"Person {i}", "Email": f"a{i}@example.org"})

    def calls(self) -> int:
        return self.zd.count + self.org.calls()

    def zendesk_config(self) -> dict[str, Any]:
        return {"subdomain": SUBDOMAIN, "api_base": self.zd_server.url, "api_email": "api@bench.example",
                "api_token": self.zd_token}  # fmt: skip

    def stop(self) -> None:
        self.zd_server.stop()
        self.org.stop()


def horseshoe(fakes: Fakes, batch: list[Mention], data_dir: str) -> tuple[int, Runtime, int]:
    rt = build_runtime(
        Settings(
            data_dir=data_dir,
            secret_key="bench-secret-key-not-for-production",
            allowed_private_hosts="127.0.0.1,localhost",  # the fakes run here (plugin/egress.py)
        )
    )
    tenant_id = rt.store.ensure_tenant(SUBDOMAIN)
    rt.store.upsert_account(tenant_id, "x", "brand", {"user_access_token": "t"}, handle="brand")
    rt.store.set_sink_connection(tenant_id, "zendesk", fakes.zendesk_config())
    rt.store.set_sink_connection(tenant_id, "salesforce", fakes.org.sink_config())
    found = rt.store.find_account(tenant_id, "x", "brand")
    assert found is not None
    before = fakes.calls()
    for start in range(0, len(batch), CHUNK):
        pipeline.ingest(rt, found[0], batch[start : start + CHUNK])
        while pipeline.route(rt, "bench", limit=CHUNK):
            pass
    return fakes.calls() - before, rt, tenant_id


def naive(fakes: Fakes, batch: list[Mention], workers: int = 8) -> int:
    """One look-up per mention and CRM, no batching, no cache (run on a few threads to save time: the
    number of calls does not depend on it)."""
    before = fakes.calls()

    def resolve(part: list[Mention]) -> None:
        zd = requests.Session()
        zd.auth = ("api@bench.example/token", fakes.zd_token)
        sf = fakes.org.client()
        for m in part:
            emails, _ = extract_contacts(m.text)
            email = min(emails) if emails else None
            query = f'email:"{email}"' if email else f'"x:{m.author.external_id}"'
            url = f"{fakes.zd_server.url}/api/v2/search.json"
            zd.get(url, params={"query": f"type:user {query}"}, timeout=30).raise_for_status()
            if email:
                sf.query(f"SELECT Id FROM Contact WHERE Email = '{email}'")
            else:
                sf.query(f"SELECT Id, ParentId FROM SocialPersona WHERE ExternalId = '{m.author.external_id}'")

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(resolve, [batch[i::workers] for i in range(workers)]))
    return fakes.calls() - before


def identity_calls(mentions_count: int, authors: int, seed: int = 0) -> dict[str, Any]:
    batch = mentions(mentions_count, authors, seed)
    fakes = Fakes(authors)
    try:
        with tempfile.TemporaryDirectory(prefix="horseshoe-bench-") as data_dir:
            ours, rt, tenant_id = horseshoe(fakes, batch, data_dir)
            links = rt.store.identity.links(tenant_id)
            rt.db.dispose()
        baseline = naive(fakes, batch)
    finally:
        fakes.stop()
    linked = [lk for lk in links if lk.status == "linked"]
    return {
        "mentions": mentions_count,
        "authors": authors,
        "crm_calls": ours,
        "crm_calls_per_mention": round(ours / mentions_count, 4),
        "baseline": baseline,
        "baseline_per_mention": round(baseline / mentions_count, 4),
        "linked": {sink: sum(lk.sink == sink for lk in linked) for sink in ("zendesk", "salesforce")},
        "expected_links_per_crm": sum(known(i) for i in range(authors)),
    }


def run(quick: bool = False) -> dict[str, Any]:
    total, authors = (1000, 300) if quick else (10000, 3000)
    figures = identity_calls(total, authors)
    table = Table(title=f"CRM calls to resolve {total} mentions from {authors} authors (Zendesk + Salesforce)")
    for column in ("resolver", "calls", "calls/mention"):
        table.add_column(column)
    table.add_row("horseshoe (batched)", str(figures["crm_calls"]), f"{figures['crm_calls_per_mention']:.4f}")
    table.add_row("one look-up per mention", str(figures["baseline"]), f"{figures['baseline_per_mention']:.4f}")
    Console().print(table)
    return figures
