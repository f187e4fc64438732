"""The conformance suite: checks every connector, built-in or third-party, must pass.

Subclass ``ConnectorConformance`` in a test module and list harness classes (or factories) in
``harnesses``; the pytest plugin (``plugin.testing.pytest_plugin``, loaded through the ``pytest11``
entry point) starts one fake per harness and class and resets it before every check. Every check drives
the real connector against its fake over real HTTP; the host side (inbox, outbox) is the real pipeline
on SQLite in the test's temporary directory.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest

from plugin.cli.doctor import run_doctor
from plugin.config import Settings
from plugin.connectflow import ConnectFlow
from plugin.connector import AccountContext, Connector, ConnectorModel
from plugin.errors import AuthError, FatalError, RateLimited, RetriableError
from plugin.models import Mention, Reply, Visibility
from plugin.outbox import replies as outbox
from plugin.pipeline import inbound as pipeline
from plugin.pipeline import quarantine
from plugin.plugins import get_plugin_manager
from plugin.runtime import Runtime, build_runtime
from plugin.store.db import utcnow
from plugin.store.repo import AccountRow
from plugin.testing.harness import Harness, Posted
from plugin.web.app import create_app
from plugin.worker.loop import Worker

_keys = itertools.count(1)


def skip_unless(harness: Harness, check: str) -> None:
    if check in harness.skips:
        pytest.skip(f"{harness.network}: {harness.skips[check]}")


def drain(
    connector: Connector, account: AccountContext, cursor: str | None, max_calls: int = 50
) -> tuple[list[Mention], str | None]:
    """Poll until the connector has nothing more right now; all mentions and the final cursor."""
    found: list[Mention] = []
    for _ in range(max_calls):
        page = connector.poll(account, cursor)
        found.extend(page.mentions)
        cursor = page.cursor
        if not page.more:
            return found, cursor
    raise AssertionError("poll never said it was done")


def baseline(harness: Harness, connector: Connector) -> str | None:
    """The cursor a host holds after its first poll of a quiet account."""
    return drain(connector, harness.account(), None)[1]


def one(mentions: list[Mention], external_id: str) -> Mention:
    hits = [m for m in mentions if m.external_id == external_id]
    assert len(hits) == 1, f"expected {external_id!r} once in {[m.external_id for m in mentions]}"
    return hits[0]


def receive(harness: Harness, cursor: str | None, external_id: str, *, private: bool = False) -> Mention:
    """The mention for an injected item, the way the network delivers it (poll, or webhook for DMs
    on networks that only push them)."""
    connector = harness.connector()
    if private and harness.dm_delivery == "webhook":
        request = harness.signed_webhook(external_id)
        assert request is not None
        secrets = harness.webhook_secrets()
        assert connector.verify_request(request, secrets)
        return one(connector.parse_webhook(request, secrets).mentions, external_id)
    return one(drain(connector, harness.account(), cursor)[0], external_id)


def any_is_private(harness: Harness) -> bool:
    return "public" in harness.skips  # what Harness.inject_any falls back to


def reply_to(mention: Mention, text: str, visibility: Visibility = Visibility.PUBLIC) -> Reply:
    return Reply(
        network=mention.network,
        account=mention.account,
        text=text,
        in_reply_to=mention.external_id,
        thread_id=mention.thread_id,
        recipient_id=mention.author.external_id,
        visibility=visibility,
        idempotency_key=f"conformance-{mention.network}-{next(_keys)}",
    )


def find_posted(harness: Harness, text: str) -> Posted:
    # Networks may prefix the addressee (Mastodon, Bluesky add "@handle "), so match on containment.
    hits = [p for p in harness.posted() if text in p.text]
    assert len(hits) == 1, f"expected one post {text!r} on the fake, saw {harness.posted()}"
    return hits[0]


def host_settings(data_dir: Path) -> Settings:
    """Settings for the suite's host: its own SQLite file, a fixed key, retries fast enough for a test."""
    return Settings(
        data_dir=str(data_dir),
        secret_key="conformance-secret-key-not-for-production",
        backoff_base_seconds=0.01,
        backoff_cap_seconds=0.05,
        worker_idle_seconds=0.05,
        public_url="http://127.0.0.1:9",
        # The connector's fake runs on this machine: exempt from the egress rule the documented way.
        allowed_private_hosts="127.0.0.1,localhost",
    )


class Host:
    """A real runtime on SQLite with our brand account connected (what the inbox and outbox need)."""

    def __init__(self, harness: Harness, data_dir: Path):
        # Only the built-ins and the harness's own plugins: what else is installed must not change the result.
        pm = get_plugin_manager(load_entry_points=False, extra_plugins=list(harness.extra_plugins))
        self.runtime: Runtime = build_runtime(host_settings(data_dir), pm=pm)
        context = harness.account()
        self.tenant_id = self.runtime.store.ensure_tenant("conformance")
        self.account_id = self.runtime.store.upsert_account(
            self.tenant_id,
            harness.network,
            context.external_id,
            dict(context.credentials),
            handle=context.handle,
            settings=dict(context.settings),
            api_base=context.api_base,
        )
        found = self.runtime.store.account(self.account_id)
        assert found is not None
        self.row: AccountRow = found[0]

    def ingest(self, mentions: list[Mention]) -> pipeline.IngestResult:
        return pipeline.ingest(self.runtime, self.row, mentions)

    def stored(self) -> int:
        return self.runtime.store.counts()["mentions"]

    def close(self) -> None:
        self.runtime.db.dispose()


class ConnectorConformance:
    """Subclass and set ``harnesses``; every check below runs against each of them.

    ``harnesses``: Harness subclasses (or factories returning a new, unstarted Harness).
    ``fixtures_dir``: where the relative paths in a harness's ``fixture_files`` are found.
    """

    harnesses: ClassVar[Sequence[Callable[[], Harness]]] = ()
    fixtures_dir: ClassVar[Path | None] = None

    @pytest.fixture
    def harness(self, horseshoe_harness: Harness) -> Harness:
        return horseshoe_harness

    @pytest.fixture
    def host(self, harness: Harness, tmp_path: Path) -> Iterator[Host]:
        host = Host(harness, tmp_path)
        yield host
        host.close()

    def load_fixture(self, name: str) -> Any:
        path = Path(name)
        if not path.is_absolute():
            if self.fixtures_dir is None:
                raise AssertionError(f"fixture {name!r} is relative: set fixtures_dir on {type(self).__name__}")
            path = Path(self.fixtures_dir) / path
        return json.loads(path.read_text(encoding="utf-8"))

    # (1) ---------------------------------------------------------------------------------------------
    def test_parse_fixtures(self, harness: Harness) -> None:
        skip_unless(harness, "parse")
        assert harness.fixture_files, "a harness must name the real-shaped fixtures of its network"
        connector = harness.connector()
        for name, account in harness.fixture_files:
            payload = self.load_fixture(name)
            mentions = connector.parse_payload(payload, account)
            assert mentions, f"{name} parsed to nothing"
            again = connector.parse_payload(self.load_fixture(name), account)
            assert [m.author.external_id for m in again] == [m.author.external_id for m in mentions], name
            for mention in mentions:
                assert mention.network == harness.network, name
                assert Mention.model_validate(mention.model_dump()) == mention
                assert mention.author.external_id and mention.author.external_id != mention.author.handle, (
                    f"{name}: author id {mention.author.external_id!r} is the handle"
                )
                assert mention.account, name

    def test_live_mentions_carry_stable_author_ids(self, harness: Harness) -> None:
        connector = harness.connector()
        cursor = baseline(harness, connector)
        first, second = harness.inject_any("first question"), harness.inject_any("second question")
        found, _ = drain(connector, harness.account(), cursor)
        for external_id in (first, second):
            mention = one(found, external_id)
            assert mention.author.external_id == harness.customer_id
            assert mention.account == harness.account().external_id

    # (2) ---------------------------------------------------------------------------------------------
    def test_forged_webhook_is_rejected(self, harness: Harness) -> None:
        skip_unless(harness, "webhook")
        connector = harness.connector()
        secrets = harness.webhook_secrets()
        item = harness.inject_any("via webhook")
        genuine = harness.signed_webhook(item)
        assert genuine is not None, "declare 'webhook' in skips for a poll-only network"
        assert connector.verify_request(genuine, secrets), "a genuine signed webhook must verify"
        assert item in [m.external_id for m in connector.parse_webhook(genuine, secrets).mentions]
        forged = harness.forged_webhooks(genuine)
        assert forged, "a webhook network must show at least one forgery"
        for request in forged:
            assert not connector.verify_request(request, secrets), f"forged request accepted: {request.headers}"

    # (3) ---------------------------------------------------------------------------------------------
    def test_redelivered_poll_page_is_stored_once(self, harness: Harness, host: Host) -> None:
        skip_unless(harness, "idempotent")
        connector = harness.connector()
        cursor = baseline(harness, connector)
        item = harness.inject_any("deliver me twice")
        page, _ = drain(connector, harness.account(), cursor)
        # The host crashed before saving the cursor: the same page arrives again, from a new process.
        again, _ = drain(harness.connector(), harness.account(), cursor)
        assert item in {m.external_id for m in again}
        first = host.ingest(page)
        second = host.ingest(again)
        assert len(first.new) == len(page) and second.new == []
        assert host.stored() == len(page)

    def test_redelivered_webhook_is_stored_once(self, harness: Harness, host: Host) -> None:
        skip_unless(harness, "webhook")
        connector = harness.connector()
        secrets = harness.webhook_secrets()
        genuine = harness.signed_webhook(harness.inject_any("webhook twice"))
        assert genuine is not None
        results = []
        for _ in range(2):
            assert connector.verify_request(genuine, secrets)
            results.append(host.ingest(connector.parse_webhook(genuine, secrets).mentions))
        assert len(results[0].new) == 1 and results[1].new == [] and results[1].duplicates == 1
        assert host.stored() == 1

    # (4) ---------------------------------------------------------------------------------------------
    def test_cursor_resumes_after_restart(self, harness: Harness, host: Host) -> None:
        skip_unless(harness, "cursor")
        account = harness.account()
        cursor = baseline(harness, harness.connector())
        early = [harness.inject_any(f"early {n}") for n in range(2)]
        seen, saved = drain(harness.connector(), account, cursor)
        assert set(early) <= {m.external_id for m in seen}
        host.ingest(seen)
        late = [harness.inject_any(f"late {n}") for n in range(3)]
        resumed, end = drain(harness.connector(), account, saved)  # a new process with the saved cursor
        ids = [m.external_id for m in resumed]
        assert set(late) <= set(ids), "items injected after the saved cursor were lost"
        assert len(ids) == len(set(ids)), f"one poll returned an item twice: {ids}"
        # At-least-once is allowed only at the boundary, and the inbox must absorb it.
        assert set(ids) - set(late) <= {m.external_id for m in seen}, "items from before the cursor came back"
        assert len(host.ingest(resumed).new) == len(late)
        tail = drain(harness.connector(), account, end)[0]
        assert {m.external_id for m in tail} <= set(ids), "a finished cursor produced unseen items"

    # (5) ---------------------------------------------------------------------------------------------
    def test_reply_threads_and_follow_up_parses(self, harness: Harness) -> None:
        skip_unless(harness, "threading")
        connector, account = harness.connector(), harness.account()
        cursor = baseline(harness, connector)
        root = harness.inject_public("my order is late")
        found, cursor = drain(connector, account, cursor)
        mention = one(found, root)
        answer = reply_to(mention, "Sorry! Checking now.")
        result = connector.post_reply(account, answer)
        posted = find_posted(harness, answer.text)
        assert not posted.private
        assert posted.in_reply_to == mention.external_id
        if posted.external_id is not None:
            assert posted.external_id == result.external_id

        follow = harness.inject_public("thanks, still waiting", reply_to=result.external_id)
        found, _ = drain(connector, account, cursor)
        follow_up = one(found, follow)
        assert follow_up.parent_id == harness.follow_up_parent(mention.external_id, result.external_id)
        assert follow_up.thread_id == mention.thread_id
        assert follow_up.author.external_id == harness.customer_id

    # (6) ---------------------------------------------------------------------------------------------
    def _answer_through_outbox(self, harness: Harness, host: Host, external_id: str, visibility: Visibility) -> Posted:
        mention = receive(harness, self._cursor, external_id, private=visibility == Visibility.PRIVATE)
        assert mention.visibility == visibility
        answer = reply_to(mention, f"answer {visibility.value} {next(_keys)}", visibility)
        state = outbox.enqueue(
            host.runtime, host.tenant_id, host.account_id, answer, "conformance", answer.idempotency_key
        )
        sent = outbox.attempt(host.runtime, state.id, "conformance")
        assert sent.status == "sent", sent.error
        posted = find_posted(harness, answer.text)
        if posted.external_id is not None:
            assert posted.external_id == sent.external_id
        return posted

    def test_public_mention_answered_publicly(self, harness: Harness, host: Host) -> None:
        skip_unless(harness, "public")
        self._cursor = baseline(harness, harness.connector())
        item = harness.inject_public("public question")
        posted = self._answer_through_outbox(harness, host, item, Visibility.PUBLIC)
        assert not posted.private and posted.in_reply_to == item

    def test_direct_message_answered_privately(self, harness: Harness, host: Host) -> None:
        skip_unless(harness, "private")
        connector = harness.connector()
        self._cursor = baseline(harness, connector)
        item = harness.inject_private("private question")
        assert item is not None, "declare 'private' in skips for a network without direct messages"
        posted = self._answer_through_outbox(harness, host, item, Visibility.PRIVATE)
        assert posted.private

    # (7) ---------------------------------------------------------------------------------------------
    def test_429_on_poll_is_rate_limited_with_retry_after(self, harness: Harness) -> None:
        skip_unless(harness, "rate_limit_poll")
        connector = harness.connector()
        cursor = baseline(harness, connector)
        harness.rate_limit_next(retry_after=7)
        with pytest.raises(RateLimited) as err:
            drain(connector, harness.account(), cursor)
        assert err.value.retry_after is not None and err.value.retry_after > 0

    def test_429_on_reply_is_rate_limited_with_retry_after(self, harness: Harness) -> None:
        skip_unless(harness, "rate_limit_reply")
        connector, account = harness.connector(), harness.account()
        cursor = baseline(harness, connector)
        mention = receive(harness, cursor, harness.inject_any("answer me later"), private=any_is_private(harness))
        harness.rate_limit_next(retry_after=7)
        send = connector.send_private if mention.visibility == Visibility.PRIVATE else connector.post_reply
        with pytest.raises(RateLimited) as err:
            send(account, reply_to(mention, "not yet", mention.visibility))
        assert err.value.retry_after is not None and err.value.retry_after > 0

    # (8) ---------------------------------------------------------------------------------------------
    def test_5xx_is_retriable(self, harness: Harness) -> None:
        skip_unless(harness, "errors")
        connector = harness.connector()
        cursor = baseline(harness, connector)
        harness.fail_next("5xx")
        with pytest.raises(RetriableError):
            drain(connector, harness.account(), cursor)

    def test_bad_request_is_fatal(self, harness: Harness) -> None:
        skip_unless(harness, "errors")
        connector, account = harness.connector(), harness.account()
        cursor = baseline(harness, connector)
        mention = receive(harness, cursor, harness.inject_any("answer me"), private=any_is_private(harness))
        harness.fail_next("fatal")
        send = connector.send_private if mention.visibility == Visibility.PRIVATE else connector.post_reply
        with pytest.raises(FatalError) as err:
            send(account, reply_to(mention, "this request is refused", mention.visibility))
        assert not isinstance(err.value, RetriableError | AuthError)
        assert not any("this request is refused" in p.text for p in harness.posted())

    def test_bad_credentials_are_auth_error(self, harness: Harness) -> None:
        skip_unless(harness, "errors")
        # A reply always needs the credentials (a poll may "start now", or ride a long-poll key, without
        # them); a new connector instance so no session from the good credentials is reused.
        cursor = baseline(harness, harness.connector())
        mention = receive(harness, cursor, harness.inject_any("who are you"), private=any_is_private(harness))
        connector = harness.connector()
        send = connector.send_private if mention.visibility == Visibility.PRIVATE else connector.post_reply
        with pytest.raises(AuthError):
            send(harness.account(bad_credentials=True), reply_to(mention, "with a wrong token", mention.visibility))

    def test_connect_flow_is_well_formed(self, harness: Harness) -> None:
        """A guided connect flow (``Connector.connect_flow``), when the connector offers one, is what the
        host's pages can run: a ``ConnectFlow`` whose start form is a ``ConnectorModel`` with a label and
        help text on every field, and that finishes an OAuth redirect when it starts one."""
        flow = harness.connector().connect_flow()
        if flow is None:
            pytest.skip(f"{harness.network}: no guided connect flow (admins type the credentials)")
        assert isinstance(flow, ConnectFlow), f"{type(flow).__name__} is not a plugin.connectflow.ConnectFlow"
        assert issubclass(flow.start_model, ConnectorModel), "start_model must derive from ConnectorModel"
        for name, info in flow.start_model.model_fields.items():
            assert info.title and info.description, f"start field {name!r} needs a title and a description"
        if flow.redirects:
            assert type(flow).complete is not ConnectFlow.complete, "a flow that redirects must implement complete()"
        assert flow.intro, "intro: one line telling the admin what happens"

    # (9) ---------------------------------------------------------------------------------------------
    def test_poison_item_is_quarantined_and_the_rest_flows(self, harness: Harness, host: Host) -> None:
        """One malformed item among good ones (issue 12): the good ones arrive, the bad one is kept in
        quarantine with the reason, the cursor moves past it, and doctor and /metrics show it."""
        skip_unless(harness, "poison")
        worker = Worker(host.runtime, owner="conformance")
        poll_until_done(worker)  # the first poll starts "now"
        before = harness.inject_any("good, before the poison")
        bad = harness.inject_poison("this one is malformed")
        assert bad is not None, "implement Harness.inject_poison, or declare 'poison' in skips with the reason"
        after = harness.inject_any("good, after the poison")
        host.runtime.store.brand_accounts.wake_polls()
        poll_until_done(worker)
        inbox = host.runtime.store.inbox
        for good in (before, after):
            assert inbox.find(host.tenant_id, harness.network, good) is not None, f"{good} was held up by the poison"
        assert inbox.find(host.tenant_id, harness.network, bad) is None, "the malformed item became a mention"
        held = host.runtime.store.quarantine.list(account_id=host.account_id)
        assert len(held) == 1, f"expected the one poisoned item in quarantine, got {held}"
        assert held[0].network == harness.network and held[0].source == "poll" and held[0].error
        # The cursor moved past it: polling on neither re-quarantines it nor stalls.
        host.runtime.store.brand_accounts.wake_polls()
        poll_until_done(worker)
        assert len(host.runtime.store.quarantine.list(account_id=host.account_id)) == 1
        assert host.runtime.store.brand_accounts.cursor(host.account_id).failures == 0
        # Retried with the same parser, it still fails and stays quarantined, with the reason.
        assert not quarantine.retry(host.runtime, held[0]).released
        lines: list[str] = []
        run_doctor(host.runtime.settings, echo=lines.append)
        assert any("1 item(s) quarantined" in line for line in lines), lines
        metrics = create_app(host.runtime).test_client().get("/metrics").get_data(as_text=True)
        assert f'horseshoe_quarantined{{network="{harness.network}"}} 1.0' in metrics


def poll_until_done(worker: Worker, max_ticks: int = 50) -> None:
    """Poll the host's account the way the worker does until it has nothing more right now.

    A poll the account's rate budget holds back (``tick.next_due``) is not "done": the worker would
    come back when the bucket refills (a fraction of a second for the networks' per-second limits),
    so this waits for that refill and polls again, as the worker's idle loop does."""
    for _ in range(max_ticks):
        tick = worker.poll_due()
        assert not tick.errors, f"a poll failed instead of isolating the bad item: {tick.errors}"
        if not tick.polled and tick.next_due is not None:
            time.sleep(max(0.0, min(5.0, (tick.next_due - utcnow()).total_seconds())))
            worker.runtime.store.brand_accounts.wake_polls()
            continue
        if not tick.polled:
            return
    raise AssertionError("poll never said it was done")
