"""The echo connector's Harness: adapts tests/echo_fake.py to horseshoe's packaged conformance suite."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import horseshoe_echo
from echo_fake import EchoApp, EchoState
from horseshoe_echo import EchoConnector, sign

from plugin.connector import AccountContext, Connector, InboundRequest
from plugin.testing import FailureKind, Harness, Posted, ScriptedFaults, json_request, with_headers

TOKEN = "echo-token"
WEBHOOK_SECRET = "echo-webhook-secret"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


class EchoHarness(Harness):
    network = "echo"
    fixture_files = ((str(FIXTURES / "mentions.json"), "b1"),)
    # The suite's host loads only horseshoe's built-ins unless told: name our plugin module.
    extra_plugins = (("horseshoe-echo", horseshoe_echo),)

    def create_app(self) -> Any:
        self.state = EchoState(token=TOKEN)
        self.faults = ScriptedFaults(EchoApp(self.state))
        return self.faults

    def reset_state(self) -> None:
        self.state.reset()

    def connector(self) -> Connector:
        return EchoConnector()

    def account(self, *, bad_credentials: bool = False) -> AccountContext:
        return AccountContext(
            network="echo",
            external_id="b1",
            handle="brand",
            credentials={"token": "wrong" if bad_credentials else TOKEN, "webhook_secret": WEBHOOK_SECRET},
            settings={"page_size": 2},  # small pages, so the suite's checks cross page boundaries
            api_base=self.url,
        )

    @property
    def customer_id(self) -> str:
        return "u7"

    def inject_public(self, text: str, reply_to: str | None = None) -> str:
        return str(self.state.add("u7", "ann", text, parent=reply_to)["id"])

    def inject_private(self, text: str) -> str | None:
        return str(self.state.add("u7", "ann", text, private=True)["id"])

    def inject_poison(self, text: str) -> str | None:
        # A created_at that is no date: the echo API documents ISO 8601.
        item_id = self.inject_public(text)
        self.poison({"id": item_id}, {"created_at": "not a date"})
        return item_id

    def signed_webhook(self, external_id: str) -> InboundRequest | None:
        [item] = [i for i in self.state.items if i["id"] == external_id]
        request = json_request({"items": [item]}, {})
        signature = sign(WEBHOOK_SECRET, request.body)
        return with_headers(request, lambda h: h.update({"X-Echo-Signature": signature}))

    def forged_webhooks(self, genuine: InboundRequest) -> list[InboundRequest]:
        forged = sign("wrong", genuine.body)
        tampered = json.loads(genuine.body)
        tampered["items"][0]["text"] = "tampered"
        return [
            with_headers(genuine, lambda h: h.update({"X-Echo-Signature": forged})),
            with_headers(genuine, lambda h: h.pop("X-Echo-Signature")),
            InboundRequest("POST", genuine.path, dict(genuine.headers), json.dumps(tampered).encode()),
        ]

    def posted(self) -> list[Posted]:
        return [Posted(p["id"], p["text"], p["parent_id"], p["private"]) for p in self.state.posted()]

    # -- faults: the echo network answers 429 with Retry-After, like ScriptedFaults' default ------------
    def clear_faults(self) -> None:
        self.faults.clear()

    def rate_limit_next(self, retry_after: int = 7) -> None:
        self.faults.schedule(429, retry_after)

    def fail_next(self, kind: FailureKind) -> None:
        self.faults.schedule(503 if kind == "5xx" else 400)
