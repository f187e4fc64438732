"""Agents' outbound SocialPosts found through Change Data Capture over CometD, polling as the fallback.

Everything goes through the fake over real HTTPS: the worker's listener (plugin/worker/streams.py)
speaks Bayeux to ``/cometd/<version>``, the fake publishes ``SocialPostChangeEvent`` when a record
changes, and the SOQL queries the horseshoe side makes are counted by the fake.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests

from plugin.cli.doctor import run_doctor
from plugin.pipeline import inbound as pipeline
from plugin.runtime import Runtime
from plugin.store.db import utcnow
from plugin.store.streams import ReplyStreamRow
from plugin.web import create_app
from plugin.worker.loop import Worker
from plugin.worker.streams import ReplyStreams
from sandbox.salesforce import sandbox_session
from tests.support.netplugin import TestNetPlugin, make_mention

from .conftest import SfEnv

TOKEN = "metrics-token-for-the-test"
# Leases long enough that a loaded machine's late heartbeat never hands a stream to nobody mid-test.
pytestmark = pytest.mark.settings(lease_seconds=5, metrics_token=TOKEN)
QUERY = "GET /services/data/v<version>/query"
LONG_POLL = 0.3  # the fake holds each /meta/connect this long (110 s in Salesforce)


def _wait_for(check: Callable[[], Any], what: str, limit: float = 15.0) -> Any:
    """Bounded wait for something another thread does (the bound is a safety net, never asserted)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _streaming(sfenv: SfEnv, *, cdc: bool = True, org_id: str | None = None) -> None:
    body = {"org_id": org_id or sfenv.org.id, "entities": ["SocialPost"] if cdc else [], "connect_timeout": LONG_POLL}
    answer = requests.post(f"{sfenv.base}/_sandbox/streaming", json=body, verify=sfenv.cert, timeout=10)
    assert answer.status_code == 200


def _stream(rt: Runtime, tenant_id: int) -> ReplyStreamRow:
    row = rt.store.reply_streams.of(tenant_id, "salesforce")
    assert row is not None
    return row


def _inbound(rt: Runtime, account_id: int, sfenv: SfEnv, external_id: str) -> dict[str, Any]:
    found = rt.store.account(account_id)
    assert found is not None
    pipeline.ingest(rt, found[0], [make_mention(external_id, author="u1")])
    Worker(rt).run_once()
    return next(p for p in sfenv.records("SocialPost") if p["ExternalPostId"] == external_id)


def _agent_reply(admin: Any, inbound: dict[str, Any], text: str) -> str:
    return str(admin.SocialPost.create({
        "Name": "Reply", "Content": text, "IsOutbound": True, "Status": "Pending", "Provider": inbound["Provider"],
        "ReplyToId": inbound["Id"], "ParentId": inbound["ParentId"], "MessageType": "Reply",
    })["id"])  # fmt: skip


def _health(rt: Runtime, tenant_id: int) -> tuple[dict[str, Any], list[str]]:
    """The stream as /healthz (for the metrics token holder) and ``horseshoe doctor`` show it."""
    detail = create_app(rt).test_client().get("/healthz", headers={"Authorization": f"Bearer {TOKEN}"}).get_json()
    [facts] = [s for s in detail["reply_streams"] if s["tenant_id"] == tenant_id]
    lines: list[str] = []
    run_doctor(rt.settings, echo=lines.append)
    return facts, [line for line in lines if "agent replies:" in line]


def _next_poll(rt: Runtime, tenant_id: int) -> datetime:
    row = next(c for c in rt.store.tenants.connections() if c.tenant_id == tenant_id)
    assert row.next_reply_poll_at is not None
    return row.next_reply_poll_at


@pytest.fixture
def listeners(rt: Runtime) -> Iterator[Callable[[str], tuple[ReplyStreams, threading.Event]]]:
    started: list[ReplyStreams] = []

    def start(owner: str) -> tuple[ReplyStreams, threading.Event]:
        nudged = threading.Event()
        streams = ReplyStreams(rt, owner, nudge=nudged.set)
        started.append(streams)
        streams.start_due()
        return streams, nudged

    yield start
    for streams in started:
        streams.stop()


@pytest.fixture
def polled(rt: Runtime, tenant: tuple[int, int], sfenv: SfEnv) -> tuple[int, int]:
    """The tenant, its connection polled every 10 s when not streaming (the shipped default)."""
    rt.store.set_sink_connection(tenant[0], "salesforce", sfenv.config(reply_poll_seconds=10))
    return tenant


def test_agent_reply_arrives_through_the_stream_without_a_polling_loop(
    rt: Runtime, polled: tuple[int, int], sfenv: SfEnv, testnet: TestNetPlugin, listeners: Any
) -> None:
    tenant_id, account_id = polled
    inbound = _inbound(rt, account_id, sfenv, "m1")
    _streaming(sfenv)
    _streams, nudged = listeners("w1")
    _wait_for(lambda: _stream(rt, tenant_id).mode == "streaming", "the stream to be healthy")
    # The first subscription has no position: the stream asks for one poll to cover what came before.
    _wait_for(nudged.is_set, "the stream's first wake-up")
    worker = Worker(rt)
    worker.run_once()
    # With the stream live, the next poll is only the safety net (5 minutes, not 10 seconds).
    assert _next_poll(rt, tenant_id) > utcnow() + timedelta(seconds=200)
    queries = sfenv.state.calls[QUERY]
    for _ in range(20):
        worker.run_once()
    assert sfenv.state.calls[QUERY] == queries, "no SOQL polling while the stream is healthy"

    nudged.clear()
    reply_id = _agent_reply(sfenv.admin(), inbound, "Sorry! We are on it.")
    assert _wait_for(nudged.is_set, "the stream to report the new outbound post")
    worker.run_once()
    [posted] = testnet.connector.posted
    assert posted.idempotency_key.endswith(reply_id) and posted.text == "Sorry! We are on it."
    assert next(p for p in sfenv.records("SocialPost") if p["Id"] == reply_id)["Status"] == "Sent"
    row = _stream(rt, tenant_id)
    assert row.mode == "streaming" and row.live and row.position is not None and row.events >= 1
    facts, said = _health(rt, tenant_id)
    assert (facts["mode"], facts["detail"]) == ("streaming", "streaming /data/SocialPostChangeEvent")
    assert said == [f"    agent replies: streaming (streaming /data/SocialPostChangeEvent), {row.events} wake-up(s), "
                    "polled every few minutes as a safety net"]  # fmt: skip


def test_a_restarted_listener_resumes_from_the_stored_replay_id(
    rt: Runtime, polled: tuple[int, int], sfenv: SfEnv, testnet: TestNetPlugin, listeners: Any
) -> None:
    tenant_id, account_id = polled
    inbound = _inbound(rt, account_id, sfenv, "m1")
    _streaming(sfenv)
    first, nudged = listeners("w1")
    _wait_for(lambda: _stream(rt, tenant_id).mode == "streaming", "the stream to be healthy")
    Worker(rt).run_once()
    nudged.clear()
    _agent_reply(sfenv.admin(), inbound, "first")
    _wait_for(nudged.is_set, "the first event")
    Worker(rt).run_once()
    stored = _wait_for(lambda: _stream(rt, tenant_id).position, "the replayId to be stored")
    first.stop()  # the worker restarts; meanwhile an agent answers again
    assert _stream(rt, tenant_id).mode == "polling"
    _agent_reply(sfenv.admin(), inbound, "while nobody listened")
    Worker(rt).run_once()
    assert [p.text for p in testnet.connector.posted] == ["first"], "the safety-net poll is not due yet"

    _second, nudged_again = listeners("w2")
    _wait_for(nudged_again.is_set, "the missed event, replayed after the stored replayId")
    Worker(rt).run_once()
    assert [p.text for p in testnet.connector.posted] == ["first", "while nobody listened"]
    assert int(_stream(rt, tenant_id).position or 0) > int(stored)


def test_an_org_without_change_data_capture_falls_back_to_polling(
    rt: Runtime, polled: tuple[int, int], sfenv: SfEnv, testnet: TestNetPlugin, listeners: Any
) -> None:
    tenant_id, account_id = polled
    inbound = _inbound(rt, account_id, sfenv, "m1")
    _streaming(sfenv, cdc=False)  # Social Post not selected on Setup > Change Data Capture
    listeners("w1")
    row = _wait_for(lambda: (r := _stream(rt, tenant_id)).failures and r, "the subscribe to be refused")
    assert row.mode == "polling" and not row.live
    assert "does not exist" in (row.detail or "") and "/data/SocialPostChangeEvent" in (row.detail or "")
    assert row.next_attempt_at is not None and row.next_attempt_at > utcnow() + timedelta(minutes=10)
    facts, said = _health(rt, tenant_id)
    assert facts["mode"] == "polling" and "does not exist" in facts["detail"] and facts["next_attempt_at"]
    assert len(said) == 1 and said[0].startswith("    agent replies: polling (stream denied, polling: ")
    worker = Worker(rt)
    worker.run_once()
    assert _next_poll(rt, tenant_id) <= utcnow() + timedelta(seconds=11), "polled at its normal interval"
    rt.store.tenants.wake_reply_poll(tenant_id, "salesforce")  # the 10 s have passed
    _agent_reply(sfenv.admin(), inbound, "found by polling")
    worker.run_once()
    assert [p.text for p in testnet.connector.posted] == ["found by polling"]


def test_unknown_client_and_a_dropped_connection_rehandshake(
    rt: Runtime, polled: tuple[int, int], sfenv: SfEnv, testnet: TestNetPlugin, listeners: Any
) -> None:
    tenant_id, account_id = polled
    inbound = _inbound(rt, account_id, sfenv, "m1")
    _streaming(sfenv)
    _streams, nudged = listeners("w1")
    _wait_for(lambda: _stream(rt, tenant_id).mode == "streaming", "the stream to be healthy")
    Worker(rt).run_once()
    feed = sfenv.state.changes
    assert feed.handshakes == 1
    # The server forgets the client (a restart): its long poll answers "403::Unknown client".
    answer = requests.post(f"{sfenv.base}/_sandbox/streaming", json={"org_id": sfenv.org.id, "drop_clients": True},
                           verify=sfenv.cert, timeout=10)  # fmt: skip
    assert answer.json()["dropped"] == 1
    _wait_for(lambda: feed.handshakes == 2 and any(c.connects for c in feed.clients.values()), "a new handshake")
    # Then the connection itself is reset under the next long poll.
    sfenv.app.plan.configure(paths=["/cometd"], scripted=["reset"])
    _wait_for(lambda: feed.handshakes == 3 and feed.clients, "a handshake after the reset")
    nudged.clear()
    _agent_reply(sfenv.admin(), inbound, "after two reconnects")
    _wait_for(nudged.is_set, "the event on the new subscription")
    Worker(rt).run_once()
    assert [p.text for p in testnet.connector.posted] == ["after two reconnects"]
    assert _stream(rt, tenant_id).mode == "streaming"


def test_an_invalidated_session_logs_in_again(
    rt: Runtime, polled: tuple[int, int], sfenv: SfEnv, testnet: TestNetPlugin, listeners: Any
) -> None:
    tenant_id, account_id = polled
    inbound = _inbound(rt, account_id, sfenv, "m1")
    _streaming(sfenv)
    _streams, nudged = listeners("w1")
    _wait_for(lambda: _stream(rt, tenant_id).mode == "streaming", "the stream to be healthy")
    Worker(rt).run_once()
    sfenv.state.expire_sessions(org_id=sfenv.org.id)  # "401::Authentication invalid" on the next connect
    _wait_for(lambda: sfenv.state.changes.handshakes == 2 and sfenv.state.changes.clients, "a new login and handshake")
    nudged.clear()
    _agent_reply(sfenv.admin(), inbound, "after the new login")
    _wait_for(nudged.is_set, "the event after the new login")
    Worker(rt).run_once()
    assert [p.text for p in testnet.connector.posted] == ["after the new login"]


def test_tenants_never_receive_each_others_events(
    rt: Runtime, polled: tuple[int, int], sfenv: SfEnv, testnet: TestNetPlugin, listeners: Any
) -> None:
    acme, account_id = polled
    other_org = sfenv.state.create_org("Globex Org")
    sfenv.state.create_user("integration@globex.example", "globex-pass", "GLOBEXTOKEN", org_id=other_org.id)
    globex = rt.store.ensure_tenant("globex")
    rt.store.set_sink_connection(globex, "salesforce", sfenv.config(
        username="integration@globex.example", password="globex-pass", security_token="GLOBEXTOKEN",
        reply_poll_seconds=10,
    ))  # fmt: skip
    inbound = _inbound(rt, account_id, sfenv, "m1")
    _streaming(sfenv)
    _streaming(sfenv, org_id=other_org.id)
    listeners("w1")
    for tenant_id in (acme, globex):
        # Healthy, and past the one wake-up every stream starts with (no position yet).
        _wait_for(lambda t=tenant_id: (r := _stream(rt, t)).mode == "streaming" and r.events, "both streams")
    before = _stream(rt, globex)
    _agent_reply(sfenv.admin(), inbound, "for acme only")
    _wait_for(lambda: _stream(rt, acme).position, "acme's event")
    # Globex's listener has had its own long polls answered since, with nothing of acme's in them.
    polls = [c.connects for c in sfenv.state.changes.clients.values() if c.org_id == other_org.id]
    _wait_for(lambda: [c.connects for c in sfenv.state.changes.clients.values()
                       if c.org_id == other_org.id] > polls, "globex's next long poll")  # fmt: skip
    after = _stream(rt, globex)
    assert (after.position, after.events) == (before.position, before.events)


def test_the_fake_refuses_a_handshake_without_a_session_and_a_connect_without_the_cookie(sfenv: SfEnv) -> None:
    url = f"{sfenv.base}/cometd/62.0"
    session = sandbox_session(sfenv.base, sfenv.cert)
    hello = [{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}]
    [denied] = session.post(url, json=hello, timeout=10).json()
    assert (denied["successful"], denied["error"]) == (False, "403::Handshake denied")
    assert denied["ext"]["sfdc"]["failureReason"] == "401::Request requires authentication"
    token = sfenv.state.open_session(sfenv.user).token
    [shook] = session.post(url, json=hello, headers={"Authorization": f"OAuth {token}"}, timeout=10).json()
    assert shook["successful"] and shook["ext"]["replay"] is True
    connect = [{"channel": "/meta/connect", "clientId": shook["clientId"], "connectionType": "long-polling"}]
    bare = requests.Session()
    bare.verify, bare.trust_env = sfenv.cert, False
    [refused] = bare.post(url, json=connect, headers={"Authorization": f"OAuth {token}"}, timeout=10).json()
    assert "BAYEUX_BROWSER" in refused["error"]
    assert session.post(f"{sfenv.base}/cometd/x", json=hello, timeout=10).status_code == 400
