"""``horseshoe demo``: the whole pipeline against the built-in sandbox, nothing to configure.

Fake X and Zendesk run on local ports; horseshoe's web app and worker run on a fresh SQLite file; the
integration is installed the way Zendesk does it (admin UI form flow); customers write (several
languages, threads, follow-ups to our replies, direct messages); simulated agents answer tickets
through channelback. With ``exit_when_done`` the run ends with a summary whose ``duplicates`` and
``lost`` are counted from what the fakes actually hold, not from horseshoe's own bookkeeping.
"""

from __future__ import annotations

import json
import logging
import random
import secrets
import shutil
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rich.console import Console

from plugin.config import Settings
from plugin.outbox.satisfaction import QUESTION
from plugin.runtime import Runtime, build_runtime, warm_up
from plugin.store.triage import TriageRepository
from plugin.web import create_app
from plugin.worker.loop import Worker
from sandbox.demo import conversations, flows, showcase
from sandbox.demo import script as demo_script
from sandbox.demo.audit import audit, reply_ref
from sandbox.demo.day import SimulatedDay, customers_rate, solve_some
from sandbox.demo.networks import DemoNetwork, start_networks
from sandbox.demo.service import service_figures
from sandbox.salesforce.org import RunningOrg, start_org
from sandbox.server import RunningServer, serve_in_thread
from sandbox.x import create_app as create_x
from sandbox.zendesk import create_app as create_zendesk
from sandbox.zendesk.driver import ZendeskDriver
from sandbox.zendesk.models import ZendeskState

SUBDOMAIN = "acme"
BRAND = "acme_support"
AGENT_SHARE = 0.55  # share of tickets the simulated agents answer
console = Console(stderr=True)


class _Deferred:
    """A WSGI app whose inner app is set after the server knows its port (public_url needs it)."""

    def __init__(self) -> None:
        self.app: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.app(environ, start_response)


@dataclass
class World:
    data_dir: str
    runtime: Runtime
    web: RunningServer
    x_app: Any
    x_server: RunningServer
    zd_state: ZendeskState
    zd_app: Any
    zd_server: RunningServer
    driver: ZendeskDriver
    worker: Worker
    brand_id: str
    networks: list[DemoNetwork] = field(default_factory=list)
    salesforce: RunningOrg | None = None
    injected: dict[str, str] = field(default_factory=dict)  # x external id -> kind
    last_post: dict[str, str] = field(default_factory=dict)  # customer -> their latest public post id
    posts_by: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # customer -> post ids
    answered: set[int] = field(default_factory=set)
    answered_networks: set[str] = field(default_factory=set)
    replied: set[str] = field(default_factory=set)  # "network:id" of the posts Zendesk agents answered
    salesforce_answers: set[str] = field(default_factory=set)  # "network:id" answered from Salesforce
    day: SimulatedDay = field(default_factory=SimulatedDay)  # X's clock: the traffic spans a day
    rated: set[str] = field(default_factory=set)  # X DM ids of satisfaction questions answered
    reserved: set[str] = field(default_factory=set)  # "network:id" the scripted conversations handle
    conversations: conversations.Conversations | None = None

    @property
    def subdomain(self) -> str:
        return SUBDOMAIN

    @property
    def brand_handle(self) -> str:
        return BRAND

    def stop(self) -> None:
        self.worker.stop()
        if self.conversations is not None:
            self.conversations.stop()
        for server in (self.web, self.x_server, self.zd_server):
            server.stop()
        for network in self.networks:
            network.stop()
        if self.salesforce is not None:
            self.salesforce.stop()
        self.runtime.db.dispose()


X_PAID_TIER = 1_000_000  # requests per 15 minutes on every endpoint the demo uses


def build_world(
    data_dir: str,
    port: int,
    seed: int,
    database_url: str = "",
    *,
    every_network: bool = False,
    salesforce: bool = False,
    lease_seconds: float = 30.0,
) -> World:
    x_app = create_x()
    x_state = x_app.state
    brand = x_state.add_user(BRAND, name="Acme Support")
    for endpoint in (
        "GET /2/users/:id/mentions",
        "GET /2/dm_events",
        "POST /2/tweets",
        "POST /2/dm_conversations/with/:participant_id/messages",
        "GET /2/users/:id",
    ):
        x_state.set_limit(endpoint, X_PAID_TIER)  # a paid tier: the demo polls every half second
    for username, name, _lang in demo_script.CUSTOMERS:
        x_state.add_user(username, name=name)
    x_server = serve_in_thread(x_app)

    zd_state = ZendeskState()
    zd_state.create_account(SUBDOMAIN, admin_name="Ada Admin", admin_email="ada@acme.example")
    for name in ("Agent Lee", "Agent Kim", "Agent Novak"):
        zd_state.add_user(SUBDOMAIN, name, email=f"{name.split()[1].lower()}@acme.example", role="agent")
    zd_app = create_zendesk(state=zd_state)
    zd_server = serve_in_thread(zd_app)

    deferred = _Deferred()
    web = serve_in_thread(deferred, port=port)
    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        public_url=web.url,
        zendesk_api_base=zd_server.url,
        # Every fake runs on this machine: the operator allows its address (plugin/egress.py).
        allowed_private_hosts="127.0.0.1,localhost",
        backoff_base_seconds=0.2,
        backoff_cap_seconds=2.0,
        worker_idle_seconds=0.05,
        lease_seconds=lease_seconds,
        resolution_poll_seconds=1.0,  # solved tickets show on the dashboard within a second
        secret_key=secrets.token_urlsafe(48),  # the demo's data lives only as long as its directory
    )
    runtime = build_runtime(settings)
    warm_up(runtime)  # as `horseshoe serve` does, before its web server is handed the app
    deferred.app = create_app(runtime)

    networks: list[DemoNetwork] = []
    tenant = runtime.store.ensure_tenant(SUBDOMAIN)
    if every_network:
        # Accounts on the other networks are connected (guided flows) before the Zendesk install, so its
        # admin UI offers them.
        networks = start_networks(runtime, web.url, tenant)
    driver = ZendeskDriver(zd_state, zd_server.url, f"{web.url}/zendesk/manifest.json", SUBDOMAIN)
    # The documented way to authorize a first install: the operator creates a one-time code
    # (`horseshoe tenants invite acme`) and the Zendesk admin enters it in the admin UI.
    install_code = runtime.store.trust.invite(SUBDOMAIN)
    # The brand's X account is connected as an admin would: through the guided flow (OAuth 2.0 with
    # PKCE, Account Activity webhook), before the install, so the admin UI offers it ticked.
    flows.connect_x(runtime, web.url, tenant, x_state, x_server.url, brand.id)
    driver.install(admin_choices={"install_code": install_code, "name": "Acme social"})
    tenant_id = runtime.store.tenant_id(SUBDOMAIN)
    assert tenant_id is not None
    flows.zendesk_rest_access(runtime, zd_state, SUBDOMAIN, tenant_id)
    for account in runtime.store.accounts(tenant_id):
        if account.network == "x":
            # Fast polling for the demo; backfill so nothing written before the first poll is skipped.
            # The account's tier is the fake's: its rate budget paces to that, not X's published default.
            demo_settings = {"poll_interval_seconds": 0.5, "backfill": True, "requests_per_window": X_PAID_TIER}
            runtime.store.update_account_settings(account.id, demo_settings)
    for account in runtime.store.accounts(tenant_id):
        # The demo's brand asks for satisfaction ratings (off by default for a real account).
        runtime.store.update_account_settings(account.id, {**account.settings, "satisfaction": True})
    org = None
    if salesforce:
        org = start_org("Acme")
        flows.connect_salesforce(runtime, web.url, tenant_id, org)
    worker = Worker(runtime, owner="demo-worker")
    # One pass now: every connector records where "now" is before any customer writes.
    worker.poll_due(limit=100)
    return World(
        data_dir=data_dir,
        runtime=runtime,
        web=web,
        x_app=x_app,
        x_server=x_server,
        zd_state=zd_state,
        zd_app=zd_app,
        zd_server=zd_server,
        driver=driver,
        worker=worker,
        brand_id=brand.id,
        networks=networks,
        salesforce=org,
    )


def enable_faults(world: World, seed: int) -> None:
    """Realistic trouble: X and Zendesk answer some requests with 429 (Retry-After) or 503."""
    world.x_app.plan.configure(rate_429=0.02, rate_5xx=0.03, retry_after=1, seed=seed)
    world.zd_app.plan.configure(rate_429=0.03, rate_5xx=0.03, retry_after=1, seed=seed + 1)


def inject(world: World, step: demo_script.Step, rng: random.Random) -> None:
    x_state = world.x_app.state
    username, _name, lang = step.customer
    kind = step.kind
    if kind == "follow_up":
        target = _follow_up_target(world, username, rng)
        if target is None:
            kind = "new"
        else:
            post = x_state.inject_mention(username, step.text, in_reply_to=target, lang=lang, to_user=BRAND)
            _remember_post(world, username, post["id"], "follow_up")
            return
    if kind == "dm":
        event = x_state.inject_dm(username, BRAND, step.text)
        world.injected[f"x:{event['id']}"] = "dm"
        return
    post = x_state.inject_mention(username, step.text, lang=lang, to_user=BRAND)
    _remember_post(world, username, post["id"], "new")


def _remember_post(world: World, username: str, post_id: str, kind: str) -> None:
    world.injected[f"x:{post_id}"] = kind
    world.last_post[username] = post_id
    world.posts_by[username].add(post_id)


def inject_other(world: World, index: int, *, retry_later: bool = False) -> None:
    """The next item on the other networks, round robin (``retry_later``: see ``DemoNetwork.inject``)."""
    network = world.networks[index % len(world.networks)]
    external_id, private = network.inject(index // len(world.networks), retry_later=retry_later)
    world.injected[f"{network.name}:{external_id}"] = "dm" if private else "new"


def _follow_up_target(world: World, username: str, rng: random.Random) -> str | None:
    """Half the time answer our reply (if we replied), else the customer's own latest post."""
    theirs = world.posts_by[username]
    ours_to_them = [
        p
        for p in world.x_app.state.posted_by(world.brand_id)
        if p.get("kind") == "post" and p.get("in_reply_to_tweet_id") in theirs
    ]
    if ours_to_them and rng.random() < 0.5:
        return str(ours_to_them[-1]["id"])
    return world.last_post.get(username)


def _inbound_ids(ticket: dict[str, Any]) -> list[str]:
    return [c["external_id"] for c in ticket["comments"] if c.get("external_id") and not c.get("channelback")]


def agents_work(world: World, *, retry_unreachable: bool = False, patience: int = 6) -> None:
    """Simulated Zendesk agents: answer a share of new tickets and at least one per network, and
    retry a failed channelback the way an agent presses "retry", up to ``patience`` attempts
    (``retry_unreachable``: also when horseshoe could not be reached at all, as in the chaos
    benchmark where it is killed at random)."""
    answered_networks = {n for n in world.answered_networks}
    retry_on = {503, None} if retry_unreachable else {503}
    for ticket in world.zd_state.tickets_with_comments(SUBDOMAIN):
        for comment in ticket["comments"]:
            channelback = comment.get("channelback")
            if channelback and channelback.get("status") == "failed" and channelback.get("http_status") in retry_on:
                if int(channelback.get("attempts", 1)) < patience:
                    world.driver.retry_channelback(comment["id"])
        inbound = _inbound_ids(ticket)
        if ticket["id"] in world.answered or not inbound:
            continue
        world.answered.add(ticket["id"])
        last = inbound[-1]
        network = last.split(":", 1)[0]
        if last in world.salesforce_answers or last in world.reserved:
            continue  # a Salesforce agent took this one, or a scripted conversation will
        first_of_network = network not in answered_networks
        if not first_of_network and random.Random(ticket["id"] * 7919).random() > AGENT_SHARE:
            continue
        private = world.injected.get(last) == "dm"
        with world.zd_state.lock:
            name = world.zd_state.account(SUBDOMAIN).users[ticket["requester_id"]].name
        text = demo_script.agent_text(_lang_of(ticket), private, name, ticket["id"])
        files = conversations.attach_to(world, network, private, first_of_network, ticket["id"])
        outcome = world.driver.agent_reply(ticket["id"], text, file_urls=files or None)
        if outcome.channelback and outcome.channelback.get("status") == "sent":
            world.replied.add(last)
            answered_networks.add(network)
            world.answered_networks.add(network)


def salesforce_agents_work(world: World, wanted: int = 3) -> None:
    """Agents working in Salesforce answer a few posts nobody answered in Zendesk: they create an
    outbound SocialPost (Status Pending) replying to the customer's post, as the console does."""
    org = world.salesforce
    if org is None or len(world.salesforce_answers) >= wanted:
        return
    sf = org.client()
    rows = sf.query(
        "SELECT Id, R6PostId, ParentId, Provider, Handle FROM SocialPost "
        "WHERE IsOutbound = false AND MessageType != 'Direct' ORDER BY Posted ASC LIMIT 50"
    )["records"]
    for row in rows:
        key = row.get("R6PostId")
        if not key or key in world.salesforce_answers or key in world.replied or world.injected.get(key) == "dm":
            continue
        sf.SocialPost.create(
            {
                "Name": "Reply from Salesforce",
                # The reference makes each answer unique, so the audit can tell a reply posted twice.
                "Content": f"Thanks {row.get('Handle') or ''}! Our team has it in case {row['ParentId']}. "
                + reply_ref(f"sf-{row['Id']}"),
                "IsOutbound": True,
                "Status": "Pending",
                "ReplyToId": row["Id"],
                "ParentId": row["ParentId"],
                "Provider": row["Provider"],
                "MessageType": "Reply",
            }
        )
        world.salesforce_answers.add(key)
        if len(world.salesforce_answers) >= wanted:
            return


def _lang_of(ticket: dict[str, Any]) -> str | None:
    body = ticket["comments"][0]["body"] if ticket["comments"] else ""
    for lang, openers in demo_script.OPENERS.items():
        if any(opener.split("#")[0].split("{")[0][:12] in body for opener in openers):
            return lang
    return "en"


def pending_work(world: World) -> int:
    counts = world.runtime.store.counts()
    # Satisfaction answers are mentions too (stored, never ticketed); so are horseshoe's notes and
    # listening noise, which are no injected customer item.
    expected = len(world.injected) + len(world.rated)
    extra = world.conversations.extra_rows if world.conversations is not None else 0
    stored = counts["mentions"] - extra
    waiting = (expected - stored) + counts["mentions_pending"] + counts["deliveries_pending"]
    waiting += world.conversations.pending if world.conversations is not None else 0
    waiting += sum(network.waiting for network in world.networks)
    waiting += counts["replies_pending"]
    if world.salesforce is not None:
        waiting += sum(
            1
            for post in world.salesforce.records("SocialPost")
            if post.get("IsOutbound") and post.get("Status") == "Pending"
        )
    return waiting


def zendesk_inbound(world: World) -> tuple[list[dict[str, Any]], list[str]]:
    """Every ticket and the external ids of every inbound comment on them (repeats kept)."""
    tickets = world.zd_state.tickets_with_comments(SUBDOMAIN)
    return tickets, [i for t in tickets for i in _inbound_ids(t)]


def summary(world: World, started: float) -> dict[str, Any]:
    tickets, inbound = zendesk_inbound(world)
    comments = [c for t in tickets for c in t["comments"]]
    counts = world.runtime.store.counts()
    found = audit(world, inbound)
    extra = world.conversations.extra_rows if world.conversations is not None else 0
    result: dict[str, Any] = {
        "mentions": counts["mentions"] - extra,  # customers' items (notes and listening noise aside)
        "tickets": len(tickets),
        "comments": len(comments),
        "replies_sent": counts["replies_sent"],
        # Counted from the fakes: an item imported twice, or one agent reply posted twice.
        "duplicates": found.duplicates + found.double_replies,
        "lost": len(found.lost),
        "accounts": flows.audit(world.runtime, world.runtime.store.ensure_tenant(SUBDOMAIN)),  # how each came
    }
    if world.salesforce is not None:
        posts = world.salesforce.records("SocialPost")
        result.update(
            sf_posts=sum(1 for p in posts if not p.get("IsOutbound")),
            sf_cases=len(world.salesforce.records("Case")),
            sf_contacts=len(world.salesforce.records("Contact")),
            sf_replies_sent=sum(1 for p in posts if p.get("IsOutbound") and p.get("Status") == "Sent"),
        )
    networks: dict[str, dict[str, int]] = defaultdict(lambda: {"mentions": 0, "replies": 0})
    for key in world.injected:
        networks[key.split(":", 1)[0]]["mentions"] += 1
    networks["x"]["replies"] = len(world.x_app.state.posted_by(world.brand_id))
    for network in world.networks:
        networks[network.name]["replies"] = len(network.harness.posted())
    result["networks"] = dict(networks)
    # Triage: what the mentions were about, what was kept out of the queue and why, what was escalated.
    for name in ("triage_escalation", "triage_praise"):  # their event rows are written in the background
        notifier = getattr(world.runtime.pm.get_plugin(name), "notifier", None)
        if notifier is not None:
            notifier.drain(timeout=10)
    triage = TriageRepository(world.runtime.db)
    since = datetime(1970, 1, 1, tzinfo=UTC)
    # horseshoe's own notes are not customers' mentions: no intent, not triaged.
    labelled = [lb for _, lb in triage.labelled(None, since) if "horseshoe_note" not in (lb.get("tags") or [])]
    result["intents"] = dict(sorted(Counter(str(lb.get("intent") or "none") for lb in labelled).items()))
    result["skipped"] = dict(Counter(str(lb["skip_reason"]) for lb in labelled if lb.get("skip_reason")))
    result["security_escalations"] = len(triage.events("security_escalation"))
    result.update(service_figures(world.runtime, SUBDOMAIN))
    if world.conversations is not None:
        result.update(conversations.figures(world))
    result.update(
        replies_failed=counts["replies_failed"],
        deliveries_failed=counts["deliveries_failed"],
        faults_injected={"x": dict(world.x_app.plan.injected), "zendesk": dict(world.zd_app.plan.injected)},
        seconds=round(time.monotonic() - started, 1),
    )
    return result


def run_demo(
    *, mentions: int, exit_when_done: bool, faults: bool, port: int, seed: int, keep_data: bool
) -> dict[str, Any]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    data_dir = tempfile.mkdtemp(prefix="horseshoe-demo-")
    started = time.monotonic()
    world = build_world(data_dir, port, seed, every_network=True, salesforce=True)
    rng = random.Random(seed)
    try:
        console.print(f"[bold]horseshoe demo[/bold]  data: {data_dir}")
        console.print(f"  horseshoe        {world.web.url}  (manifest: {world.web.url}/zendesk/manifest.json)")
        console.print(f"  fake Zendesk     {world.zd_server.url}/_sandbox/accounts/{SUBDOMAIN}/tickets")
        if world.salesforce is not None:
            console.print(f"  fake Salesforce  {world.salesforce.base}/_sandbox/records/SocialPost")
        console.print(f"  fake X           {world.x_server.url}/_sandbox/posted?user={BRAND}")
        for network in world.networks:
            console.print(f"  fake {network.name:<11} {network.harness.url}")
        if faults:
            enable_faults(world, seed)
        world.x_app.state.clock = world.day.clock
        world.worker.start_thread()
        # Mentions spread over every network; X's share carries the scripted threads, follow-ups and
        # DMs. Past a few dozen, whole conversations join in (listening, a handoff, deletions).
        extras = conversations.CUSTOMER_ITEMS if mentions >= 24 else 0
        shared = mentions - extras
        others = shared * len(world.networks) // (len(world.networks) + 1) if shared >= len(world.networks) else 0
        steps = demo_script.plan(shared - others, seed)
        every = max(1, len(steps) // max(1, others)) if others else 0
        other_index = 0
        with console.status("streaming mentions") as status:
            for index, step in enumerate(steps, 1):
                world.day.at(index / len(steps))
                inject(world, step, rng)
                if others and index % every == 0 and other_index < others:
                    inject_other(world, other_index, retry_later=True)
                    other_index += 1
                if index % 5 == 0:
                    time.sleep(0.05)
                    agents_work(world)
                    status.update(f"streamed {index}/{len(steps)} mentions")
            while other_index < others:
                inject_other(world, other_index, retry_later=True)
                other_index += 1
            world.day.finish()
            if extras:
                world.conversations = conversations.begin(world)
            deadline = time.monotonic() + 90 + mentions * 0.3
            quiet_rounds = 0
            rounds = 0
            while time.monotonic() < deadline:
                if world.conversations is not None:
                    conversations.step(world, world.conversations)
                for network in world.networks:
                    network.redeliver()  # a webhook refused or timed out is sent again, as Meta does
                agents_work(world)
                salesforce_agents_work(world)
                # Zendesk's event callbacks (which ticket each resource landed in), as it sends them.
                world.driver.flush_events()
                solve_some(world.zd_state, SUBDOMAIN, world.answered)
                customers_rate(world.x_app.state, world.brand_id, BRAND, QUESTION, world.rated)
                if rounds % 40 == 0:
                    world.driver.pull()  # Zendesk's own pull every ~2 minutes: the fallback path
                remaining = pending_work(world)
                status.update(f"waiting for {remaining} items in flight")
                quiet_rounds = quiet_rounds + 1 if remaining == 0 else 0
                if quiet_rounds >= 8:
                    break
                time.sleep(0.25)
                rounds += 1
        world.driver.pull()
        world.driver.flush_events()
        result = summary(world, started)
        if not exit_when_done:
            console.print_json(json.dumps(result))
            showcase.print_pages(console, world, showcase.stage(world))
            console.print("demo traffic done; servers keep running — Ctrl-C to stop")
            try:
                while True:
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
        return result
    finally:
        world.stop()
        if not keep_data:
            shutil.rmtree(data_dir, ignore_errors=True)
