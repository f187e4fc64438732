"""A security mention reaches the security webhook at once, retried while the webhook fails, and its
ticket is delivered regardless."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from plugin.store.triage import TriageRepository
from tests.support.netplugin import make_mention
from tests.triage.support import make_world


class FlakyWebhook:
    """A real local HTTP server answering 500 to the first ``failures`` POSTs, then 204."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.received: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = 500 if len(owner.statuses) < owner.failures else 204
                owner.statuses.append(status)
                if status == 204:
                    owner.received.append(json.loads(body))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/security"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _escalation_plugin(world: Any) -> Any:
    return world.runtime.pm.get_plugin("triage_escalation")


def test_security_mention_notifies_with_retries_and_is_delivered_regardless(tmp_path: Path) -> None:
    hook = FlakyWebhook(failures=3)
    try:
        world = make_world(tmp_path, {"security": {"webhook_url": hook.url, "zendesk_group_id": "360001"}})
        # Addressed to another handle of the brand: still ours, still escalated.
        mention = make_mention(
            "s1", text="I found a vulnerability: your API shows other customers' addresses", account="brand_careers"
        )
        world.ingest(mention, make_mention("n1", text="what time does the store open?", author="u2"))
        world.run()
        # Delivered while the webhook was still failing: the ticket never waits for the notice.
        delivered = {i.mention.external_id: i for i in world.sink.items}
        assert set(delivered) == {"s1", "n1"}
        assert delivered["s1"].labels.priority == "urgent"
        assert (delivered["s1"].labels.model_extra or {})["zendesk_group_id"] == "360001"
        assert _escalation_plugin(world).notifier.drain(timeout=15)
        assert hook.statuses == [500, 500, 500, 204]
        (payload,) = hook.received
        assert payload["url"] == "https://testnet.example/s1" and payload["intent"] == "security"
        assert payload["event"] == "security_escalation" and payload["account"] == "brand_careers"
        repo = TriageRepository(world.runtime.db)
        (outcome,) = repo.events("triage_notification")
        assert outcome["status"] == "sent" and outcome["attempts"] == 4
        assert len(repo.events("security_escalation")) == 1
    finally:
        hook.stop()


def test_a_webhook_that_never_answers_is_given_up_and_recorded(tmp_path: Path) -> None:
    world = make_world(tmp_path, {"security": {"webhook_url": "http://127.0.0.1:9/nothing-listens"}})
    notifier = _escalation_plugin(world).notifier
    notifier.attempts, notifier.backoff_base = 2, 0.01
    world.ingest(make_mention("s1", text="my account was hacked, orders I never made"))
    started = time.monotonic()
    world.run()
    assert {i.mention.external_id for i in world.sink.items} == {"s1"}
    assert notifier.drain(timeout=15) and time.monotonic() - started < 15
    (outcome,) = TriageRepository(world.runtime.db).events("triage_notification")
    assert outcome["status"] == "failed" and outcome["attempts"] == 2 and outcome["error"]


def test_notices_never_carry_personal_data_even_from_a_private_message() -> None:
    from plugin.context import Tenant
    from plugin.models import Labels
    from plugin.triage.observer import mention_summary

    dm = make_mention("d1", visibility="private", text="hacked! my card 4111 1111 1111 1111 was used, jane@example.com")
    summary = mention_summary(dm, Labels(intent="security", pii=["card_number", "email"]), Tenant(id=1, key="acme"))
    assert "4111" not in summary["text"] and "jane@" not in summary["text"]
    assert "[card_number]" in summary["text"] and "[email]" in summary["text"]
