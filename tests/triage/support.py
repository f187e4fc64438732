"""A runtime with the built-in triage, a test network and a recording CRM sink, on a rules file the
test owns (a copy of mappings/triage.yaml it may edit)."""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pluggy
import yaml

from plugin.models import Mention
from plugin.pipeline import inbound as pipeline
from plugin.plugins import get_plugin_manager
from plugin.runtime import Runtime, build_runtime
from plugin.sink import DeliveryItem, DeliveryOutcome, Sink, SinkConnection
from plugin.triage.rules import DEFAULT_PATH
from plugin.worker.loop import Worker
from tests.conftest import fast_settings
from tests.support.netplugin import TestNetPlugin

hookimpl = pluggy.HookimplMarker("horseshoe")


class RecordingSink(Sink):
    name = "recorder"

    def __init__(self) -> None:
        self.items: list[DeliveryItem] = []
        self.lock = threading.Lock()

    def deliver(self, connection: SinkConnection, items: list[DeliveryItem]) -> list[DeliveryOutcome]:
        with self.lock:
            self.items += items
        return [DeliveryOutcome(i.delivery_id, "delivered", remote_id=f"R{i.delivery_id}") for i in items]


class SinkPlugin:
    def __init__(self) -> None:
        self.sink = RecordingSink()

    @hookimpl
    def horseshoe_register_sinks(self) -> list[Sink]:
        return [self.sink]


@dataclass
class World:
    runtime: Runtime
    sink: RecordingSink
    rules_path: Path
    tenant_id: int
    account_id: int

    def edit_rules(self, tenant_override: dict[str, Any]) -> None:
        _write_override(self.rules_path, tenant_override)

    def ingest(self, *mentions: Mention) -> list[int]:
        account = self.runtime.store.account(self.account_id)[0]  # type: ignore[index]
        return pipeline.ingest(self.runtime, account, list(mentions)).new

    def run(self, rounds: int = 5) -> None:
        worker = Worker(self.runtime, owner="triage-test")
        for _ in range(rounds):
            worker.run_once()

    def labels(self, mention_id: int) -> dict[str, Any]:
        from sqlalchemy import select

        from plugin.store import tables as t

        with self.runtime.db.begin() as conn:
            query = select(t.mentions.c.labels, t.mentions.c.status).where(t.mentions.c.id == mention_id)
            row = conn.execute(query).one()
        return dict(row.labels or {}) | {"_status": row.status}


def make_world(tmp_path: Path, tenant_override: dict[str, Any] | None = None) -> World:
    rules_path = tmp_path / "triage.yaml"
    shutil.copy(DEFAULT_PATH, rules_path)
    if tenant_override is not None:  # before start-up: the plugins read the file when they start
        _write_override(rules_path, tenant_override)
    sinks = SinkPlugin()
    pm = get_plugin_manager(extra_plugins=[("recorder", sinks), ("testnet", TestNetPlugin())])
    settings = fast_settings(str(tmp_path), "", triage_rules=str(rules_path), backoff_base_seconds=0.05)
    runtime = build_runtime(settings, pm=pm)
    tenant_id = runtime.store.ensure_tenant("acme")
    account_id = runtime.store.upsert_account(tenant_id, "testnet", "brand", {})
    runtime.store.set_sink_connection(tenant_id, "recorder", {})
    return World(runtime, sinks.sink, rules_path, tenant_id, account_id)


def _write_override(path: Path, tenant_override: dict[str, Any]) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["tenants"] = {"acme": tenant_override}
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
