"""The target of ``bench fuzz``: horseshoe's web app on a fresh SQLite file with one tenant and a
brand account on every network's fake, genuine signed webhooks to mutate, and the signing rules to
sign a mutated body again (the signed variant reaches the parser; the unsigned one must be refused)."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask

from connectors.x.webhook import sign as x_sign
from plugin.config import Settings
from plugin.connector import InboundRequest
from plugin.runtime import Runtime, build_runtime
from plugin.web import create_app
from plugin.zendesk.tokens import InstanceMetadata, issue_metadata
from sandbox.networks import BUILTIN, Harness

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
TENANT = "acme"
UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing listens, calls fail at once


@dataclass
class Seed:
    """A genuine webhook request for ``network`` and the secrets that sign it."""

    network: str
    request: InboundRequest
    secrets: dict[str, str]

    def body_json(self) -> Any:
        return json.loads(self.request.body)

    def signed(self, body: bytes) -> dict[str, str]:
        """The seed's headers, with the signature recomputed over ``body`` where the network signs bodies."""
        headers = dict(self.request.headers)
        if "X-Hub-Signature-256" in headers:
            digest = hmac.new(self.secrets["app_secret"].encode(), body, hashlib.sha256).hexdigest()
            headers["X-Hub-Signature-256"] = f"sha256={digest}"
        if "x-twitter-webhooks-signature" in headers:
            headers["x-twitter-webhooks-signature"] = x_sign(self.secrets["consumer_secret"], body)
        return headers  # Telegram's secret header and VK's secret in the body do not depend on the body


@dataclass
class FuzzWorld:
    runtime: Runtime
    app: Flask
    harnesses: list[Harness]
    public_keys: dict[str, str]  # network -> our account's webhook key
    metadata: str  # Zendesk metadata horseshoe signed for this tenant (the "signed" variant)
    seeds: list[Seed] = field(default_factory=list)
    payloads: dict[str, list[Any]] = field(default_factory=dict)  # network -> documented API payloads

    def stop(self) -> None:
        for harness in self.harnesses:
            harness.stop()
        self.runtime.db.dispose()


def build(data_dir: str) -> FuzzWorld:
    settings = Settings(
        data_dir=data_dir,
        secret_key=secrets.token_urlsafe(48),
        public_url="http://127.0.0.1:8000",
        zendesk_api_base=UNREACHABLE,
        allowed_private_hosts="127.0.0.1,localhost",  # the fakes run here (plugin/egress.py)
    )
    runtime = build_runtime(settings)
    tenant_id = runtime.store.ensure_tenant(TENANT)
    harnesses: list[Harness] = []
    keys: dict[str, str] = {}
    account_ids: list[int] = []
    seeds: list[Seed] = []
    for name, kind in BUILTIN.items():
        harness = kind()
        harness.start()
        harness.reset()
        harnesses.append(harness)
        context = harness.account()
        account_id = runtime.store.upsert_account(
            tenant_id,
            name,
            context.external_id,
            dict(context.credentials),
            handle=context.handle or name,
            settings=dict(context.settings),
            api_base=context.api_base,
        )
        found = runtime.store.account(account_id)
        assert found is not None
        keys[name] = found[0].public_key
        account_ids.append(account_id)
        seed = _seed(harness)
        if seed is not None:
            seeds.append(Seed(name, seed, harness.webhook_secrets()))
    metadata = issue_metadata(runtime.box, InstanceMetadata(TENANT, tuple(account_ids), "fuzz"))
    payloads = {name: _payloads(name) for name in BUILTIN}
    return FuzzWorld(runtime, create_app(runtime), harnesses, keys, metadata, seeds, payloads)


def _seed(harness: Harness) -> InboundRequest | None:
    external_id = harness.inject_any("my order 1234 never arrived")
    return harness.signed_webhook(external_id)


def _payloads(network: str) -> list[Any]:
    """The documented payloads kept as fixtures (poll pages, webhook bodies), minus error answers."""
    folder = FIXTURES / network
    found = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        if not path.name.startswith("error"):
            found.append(json.loads(path.read_text(encoding="utf-8")))
    return found
