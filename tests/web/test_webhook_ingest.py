"""The webhook ingest path (issue 11): a signed body with N entries is verified, parsed and stored in
exactly ONE write transaction (every mention, every quarantined entry, the sibling accounts' parts and
the health mark together), duplicates are still refused by the inbox's unique key, and the account
look-up is cached per process without ever serving a changed credential: two app instances on one
database, an admin changes or deletes the account through one, the very next request through the
other sees it.

Transactions are counted with a SQLAlchemy ``begin`` event on the engine, never timed."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Connection, delete, event, func, select
from sqlalchemy.exc import OperationalError

from connectors.meta import sign_body
from plugin.plugins import get_plugin_manager
from plugin.runtime import Runtime, build_runtime
from plugin.store import tables as t
from plugin.store.db import READ
from plugin.web import create_app
from tests.conftest import fast_settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PAGE = "1234567890"
SECRET = "app-secret-one"
NEW_SECRET = "app-secret-two"
MESSAGES = 12


def _runtime(tmp_path: Path, url: str = "") -> Runtime:
    return build_runtime(fast_settings(str(tmp_path), url), pm=get_plugin_manager(load_entry_points=False))


@pytest.fixture
def rt(tmp_path: Path, any_database_url: str) -> Iterator[Runtime]:
    runtime = _runtime(tmp_path, any_database_url)
    yield runtime
    runtime.db.dispose()


class Transactions:
    """Every transaction begun on ``runtime``'s engine (reads included), by kind, and the statements
    of this thread that read the accounts table."""

    def __init__(self, runtime: Runtime):
        self.writes = 0
        self.reads = 0
        self.account_reads = 0
        self.thread = threading.get_ident()
        event.listen(runtime.db.engine, "begin", self._begin)
        event.listen(runtime.db.engine, "before_cursor_execute", self._statement)

    def _begin(self, conn: Connection) -> None:
        if conn.get_execution_options().get(READ):
            self.reads += 1
        else:
            self.writes += 1

    def _statement(self, _conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        # Only the request's own thread (the test client's): observers run on the announcer thread.
        if "FROM accounts" in statement and threading.get_ident() == self.thread:
            self.account_reads += 1

    def reset(self) -> None:
        self.writes = self.reads = self.account_reads = 0


def _credentials(secret: str = SECRET) -> dict[str, str]:
    return {"page_access_token": "EAAB", "app_secret": secret, "verify_token": "v", "page_id": PAGE}


def _account(rt: Runtime, network: str, secret: str = SECRET) -> str:
    tenant = rt.store.ensure_tenant("acme")
    found = rt.store.account(rt.store.upsert_account(tenant, network, PAGE, _credentials(secret)))
    assert found is not None
    return found[0].public_key


def _messages(count: int, prefix: str = "m") -> list[dict[str, Any]]:
    template = json.loads((FIXTURES / "messenger" / "message_text.json").read_text())["entry"][0]
    entries = []
    for n in range(count):
        entry = copy.deepcopy(template)
        entry["messaging"][0]["message"]["mid"] = f"mid.{prefix}{n}"
        entries.append(entry)
    return entries


def _body(entries: list[dict[str, Any]]) -> bytes:
    return json.dumps({"object": "page", "entry": entries}).encode()


def _post(client: FlaskClient, network: str, key: str, body: bytes, secret: str = SECRET) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign_body(secret, body)}
    response = client.post(f"/webhooks/{network}/{key}", data=body, headers=headers)
    return response.status_code, response.get_json(silent=True)


def _count(rt: Runtime, table: Any) -> int:
    with rt.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_webhook_with_many_entries_is_one_write_transaction(rt: Runtime) -> None:
    key = _account(rt, "messenger")
    client = create_app(rt).test_client()
    counted = Transactions(rt)

    status, answer = _post(client, "messenger", key, _body(_messages(MESSAGES)))

    assert status == 200 and answer == {"received": MESSAGES, "new": MESSAGES, "duplicates": 0}
    assert counted.writes == 1  # all twelve mentions and the account's health mark
    assert _count(rt, t.mentions) == MESSAGES
    # Once cached, the account is not read again (its generation is checked inside the write).
    counted.reset()
    status, answer = _post(client, "messenger", key, _body(_messages(MESSAGES, prefix="second")))
    assert status == 200 and answer["new"] == MESSAGES
    assert (counted.writes, counted.account_reads) == (1, 0)


def test_sibling_accounts_and_quarantined_entries_share_the_one_transaction(rt: Runtime) -> None:
    """Meta batches a Page's feed changes (Facebook) and messages (Messenger) in one body: both accounts'
    mentions, and the feed change nobody can read, commit together."""
    key = _account(rt, "facebook")
    _account(rt, "messenger")
    feed = json.loads((FIXTURES / "facebook" / "feed_comment_add.json").read_text())
    good = feed["entry"][0]["changes"][0]
    bad = copy.deepcopy(good)
    bad["value"]["comment_id"], bad["value"]["created_time"] = "444444444_222222222", "not a time"
    feed["entry"][0]["changes"] = [good, bad]
    client = create_app(rt).test_client()
    counted = Transactions(rt)

    status, answer = _post(client, "facebook", key, _body(feed["entry"] + _messages(3)))

    assert status == 200 and answer == {"received": 4, "new": 4, "duplicates": 0, "quarantined": 1}
    assert counted.writes == 1
    with rt.db.read() as conn:
        networks = sorted(r.network for r in conn.execute(select(t.mentions.c.network)))
    assert networks == ["facebook", "messenger", "messenger", "messenger"]
    assert _count(rt, t.quarantine) == 1


def test_duplicates_are_still_refused_by_the_unique_key(rt: Runtime) -> None:
    key = _account(rt, "messenger")
    client = create_app(rt).test_client()
    entries = _messages(5)

    assert _post(client, "messenger", key, _body(entries))[1] == {"received": 5, "new": 5, "duplicates": 0}
    # Delivered again, and within one body the same message twice (a retried batch): stored once.
    again = entries + _messages(2, prefix="fresh") + [entries[0]]
    assert _post(client, "messenger", key, _body(again))[1] == {"received": 8, "new": 2, "duplicates": 6}
    assert _count(rt, t.mentions) == 7


def test_an_edit_after_its_message_in_the_same_body_applies_in_order(rt: Runtime) -> None:
    key = _account(rt, "messenger")
    client = create_app(rt).test_client()
    edit = json.loads((FIXTURES / "messenger" / "message_edit.json").read_text())["entry"][0]
    original = _messages(1)[0]
    original["messaging"][0]["message"]["mid"] = edit["messaging"][0]["message_edit"]["mid"]
    counted = Transactions(rt)

    status, answer = _post(client, "messenger", key, _body([original, edit]))

    assert status == 200 and answer["new"] == 1
    assert counted.writes == 1
    tenant = rt.store.tenant_id("acme")
    stored = rt.store.inbox.find(tenant, "messenger", original["messaging"][0]["message"]["mid"])
    assert stored is not None and stored.payload["text"] == edit["messaging"][0]["message_edit"]["text"]
    assert stored.payload["extra"]["history"][0]["text"] == original["messaging"][0]["message"]["text"]


@pytest.fixture
def two_instances(tmp_path: Path, any_database_url: str) -> Iterator[tuple[Runtime, Runtime]]:
    """Two server processes' runtimes on one database (each with its own account cache)."""
    admin, server = _runtime(tmp_path, any_database_url), _runtime(tmp_path, any_database_url)
    yield admin, server
    admin.db.dispose()
    server.db.dispose()


def test_a_changed_secret_takes_effect_on_the_next_request_in_another_instance(
    two_instances: tuple[Runtime, Runtime],
) -> None:
    admin, server = two_instances
    key = _account(admin, "messenger")
    client = create_app(server).test_client()
    assert _post(client, "messenger", key, _body(_messages(1, "a")))[0] == 200  # cached with the old secret

    _account(admin, "messenger", secret=NEW_SECRET)  # the admin saves new credentials

    status, _ = _post(client, "messenger", key, _body(_messages(1, "b")), secret=SECRET)
    assert status == 401, "a webhook signed with the replaced secret was accepted"
    status, answer = _post(client, "messenger", key, _body(_messages(1, "c")), secret=NEW_SECRET)
    assert status == 200 and answer["new"] == 1
    tenant = admin.store.tenant_id("acme")
    assert admin.store.inbox.find(tenant, "messenger", "mid.b0") is None


def test_a_deleted_account_is_gone_on_the_next_request_in_another_instance(
    two_instances: tuple[Runtime, Runtime],
) -> None:
    admin, server = two_instances
    key = _account(admin, "messenger")
    client = create_app(server).test_client()
    assert _post(client, "messenger", key, _body(_messages(1, "a")))[0] == 200

    with admin.db.write() as conn:  # whatever deletes it (an admin tool, a tenant removed), by SQL
        conn.execute(delete(t.accounts).where(t.accounts.c.public_key == key))

    status, answer = _post(client, "messenger", key, _body(_messages(1, "b")))
    assert status == 404, answer
    assert _count(admin, t.mentions) == 1


def test_changed_settings_reach_the_handshake_of_another_instance(two_instances: tuple[Runtime, Runtime]) -> None:
    """A subscription handshake writes nothing, so the cached verify token is checked by a read."""
    admin, server = two_instances
    key = _account(admin, "messenger")
    client = create_app(server).test_client()
    query = {"hub.mode": "subscribe", "hub.challenge": "42", "hub.verify_token": "v"}
    assert client.get(f"/webhooks/messenger/{key}", query_string=query).status_code == 200

    tenant = admin.store.ensure_tenant("acme")
    admin.store.upsert_account(tenant, "messenger", PAGE, {**_credentials(), "verify_token": "rotated"})

    assert client.get(f"/webhooks/messenger/{key}", query_string=query).status_code in (401, 403)
    rotated = {**query, "hub.verify_token": "rotated"}
    response = client.get(f"/webhooks/messenger/{key}", query_string=rotated)
    assert response.status_code == 200 and response.data == b"42"


def test_concurrent_webhooks_share_commits_and_all_are_stored(rt: Runtime) -> None:
    """Group commit: webhooks arriving while another commits are stored together, none lost, none
    doubled, and never more write transactions than webhooks."""
    key = _account(rt, "messenger")
    app = create_app(rt)
    _post(app.test_client(), "messenger", key, _body(_messages(1, "warm")))  # account cached
    counted = Transactions(rt)
    answers: list[tuple[int, Any]] = []

    def sender(n: int) -> None:
        client = app.test_client()
        for m in range(5):
            answers.append(_post(client, "messenger", key, _body(_messages(2, f"t{n}.{m}."))))

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert len(answers) == 40 and all(status == 200 and answer["new"] == 2 for status, answer in answers)
    assert _count(rt, t.mentions) == 1 + 80
    assert 1 <= counted.writes <= 40


def test_a_failed_group_commit_answers_every_waiting_webhook_503_and_stores_nothing(rt: Runtime) -> None:
    """The database refuses the COMMIT (locked past its timeout, disk I/O error): every webhook of the
    group gets a 503 with the reason and a Retry-After, none a 500, nothing is half stored, and the
    sender's retries are stored once the database is back."""
    key = _account(rt, "messenger")
    app = create_app(rt)
    _post(app.test_client(), "messenger", key, _body(_messages(1, "warm")))  # account cached

    def refuse(_conn: Connection) -> None:
        raise OperationalError("COMMIT", {}, Exception("database is locked"))

    event.listen(rt.db.engine, "commit", refuse)
    answers: list[tuple[int, Any, str | None]] = []

    def sender(n: int) -> None:
        body = _body(_messages(2, f"f{n}."))
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign_body(SECRET, body)}
        response = app.test_client().post(f"/webhooks/messenger/{key}", data=body, headers=headers)
        answers.append((response.status_code, response.get_json(silent=True), response.headers.get("Retry-After")))

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    event.remove(rt.db.engine, "commit", refuse)

    assert len(answers) == 6
    for status, answer, retry_after in answers:
        assert status == 503 and answer["error"] == "IntakeFailed"
        assert "OperationalError" in answer["reason"] and "deliver it again" in answer["reason"]
        assert retry_after is not None and int(retry_after) > 0
    assert _count(rt, t.mentions) == 1  # the warm-up's only
    # The network delivers them again: stored now, each once.
    for n in range(6):
        assert _post(app.test_client(), "messenger", key, _body(_messages(2, f"f{n}.")))[1]["new"] == 2
    assert _count(rt, t.mentions) == 1 + 12
