"""Admin notices are delivered at least once: written to the notices outbox before any attempt, retried
with backoff while the receiver fails, sent with an idempotency key so a repeat can be dropped, and
still sent after the process that wrote them died (the state a kill leaves is built by hand)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from plugin import attention, notices
from plugin.errors import AuthError
from plugin.plugins import get_plugin_manager
from plugin.runtime import Runtime, build_runtime
from plugin.store.health import account_target
from plugin.store.notices import NoticeStatus
from plugin.worker.loop import Worker
from tests.conftest import fast_settings


class Receiver:
    """A real local webhook: answers 503 to the first ``failures`` POSTs, then 204; keeps everything."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[tuple[int, str | None, dict[str, Any]]] = []  # status, Idempotency-Key, body
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                status = 503 if len(owner.calls) < owner.failures else 204
                owner.calls.append((status, self.headers.get("Idempotency-Key"), body))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/admin"

    @property
    def delivered(self) -> list[dict[str, Any]]:
        return [body for status, _key, body in self.calls if status == 204]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver(failures=3)
    yield found
    found.stop()


def _runtime(tmp_path: Path, receiver: Receiver) -> Runtime:
    settings = fast_settings(str(tmp_path), admin_webhook_url=receiver.url)
    return build_runtime(settings, pm=get_plugin_manager(load_entry_points=False))


def _flagged_account(rt: Runtime) -> int:
    tenant = rt.store.ensure_tenant("acme")
    account_id = rt.store.upsert_account(tenant, "x", "42", {"bearer_token": "secret-token"}, handle="acme")
    attention.account_refused(rt, account_id, AuthError("401 Unauthorized"), "poll")
    return account_id


def test_a_failing_then_recovering_receiver_gets_the_notice_once_with_its_key(
    tmp_path: Path, receiver: Receiver
) -> None:
    rt = _runtime(tmp_path, receiver)
    account_id = _flagged_account(rt)
    attention.account_refused(rt, account_id, AuthError("401 again"), "reply")  # the same flag: no second notice
    [notice] = rt.store.notices.all()
    assert notice.status == NoticeStatus.PENDING and notice.attempts == 0  # stored before any attempt
    worker = Worker(rt, owner="w1")
    deadline = time.monotonic() + 20
    while not receiver.delivered and time.monotonic() < deadline:
        worker.run_once()  # each failure waits its backoff (short in tests), then the worker tries again
        time.sleep(0.02)
    assert [status for status, _k, _b in receiver.calls] == [503, 503, 503, 204]
    keys = {key for _s, key, _b in receiver.calls}
    assert keys == {notice.key}  # the same key on every attempt, in the header and in the body
    [body] = receiver.delivered
    assert body["idempotency_key"] == notice.key and body["event"] == "needs_attention"
    assert body["account_id"] == account_id and "secret-token" not in json.dumps(body)
    [done] = rt.store.notices.all()
    assert done.status == NoticeStatus.SENT and done.attempts == 4 and done.last_error is None
    flagged = rt.store.health.attention_of(account_target(account_id))
    assert flagged is not None and flagged.notified_at is not None
    worker.run_once()
    assert len(receiver.calls) == 4  # sent is final
    rt.db.dispose()


def test_a_notice_written_by_a_process_that_died_is_sent_by_the_next(tmp_path: Path) -> None:
    receiver = Receiver(failures=0)
    try:
        first = _runtime(tmp_path, receiver)
        _flagged_account(first)
        first.db.dispose()  # killed between storing the notice and sending it
        assert receiver.calls == []
        second = _runtime(tmp_path, receiver)
        assert attention.drain_notices(second, timeout=10)
        assert len(receiver.delivered) == 1
        second.db.dispose()
    finally:
        receiver.stop()


def test_a_kill_after_the_post_sends_again_with_the_same_key(tmp_path: Path) -> None:
    receiver = Receiver(failures=0)
    try:
        rt = _runtime(tmp_path, receiver)
        _flagged_account(rt)
        # A worker claimed the notice, POSTed it, and died before recording "sent".
        [claimed] = rt.store.notices.claim_due("dead-worker", 10, lease_seconds=0.05)
        assert notices.send(rt, claimed)[0]
        time.sleep(0.1)  # its lease runs out
        assert notices.deliver_due(rt, "w2") == 1
        keys = [key for _s, key, _b in receiver.calls]
        assert len(keys) == 2 and len(set(keys)) == 1  # at least once; the receiver can drop the repeat
        assert not rt.store.notices.sent(claimed.id, "dead-worker")  # the dead one cannot record late
        rt.db.dispose()
    finally:
        receiver.stop()


def test_a_refused_url_is_retried_not_dropped(tmp_path: Path) -> None:
    settings = fast_settings(str(tmp_path), admin_webhook_url="http://10.1.2.3/hook", allowed_private_hosts="")
    rt = build_runtime(settings, pm=get_plugin_manager(load_entry_points=False))
    _flagged_account(rt)
    assert notices.deliver_due(rt, "w1") == 0
    [notice] = rt.store.notices.all()
    assert notice.status == NoticeStatus.PENDING and notice.attempts == 1
    assert notice.last_error and "https" in notice.last_error
    rt.db.dispose()
