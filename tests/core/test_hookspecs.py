"""Every hook is documented, and a plugin implementing all of them sees each one called."""

from __future__ import annotations

import inspect
from collections import Counter
from typing import Any

import click
import pluggy
from click.testing import CliRunner
from flask import Blueprint, jsonify

from plugin import hookspecs
from plugin.context import current_tenant
from plugin.models import Labels, Match, Mention, Reply, SocialProfile
from plugin.outbox import replies as outbox
from plugin.pipeline import inbound as pipeline
from plugin.plugins import Hooks, Registry, get_plugin_manager
from plugin.runtime import Runtime, build_runtime
from plugin.sink import Delivered, DeliveryItem, DeliveryOutcome, Sink, SinkConnection
from plugin.web import create_app
from plugin.worker.loop import Worker
from tests.conftest import fast_settings
from tests.support.netplugin import TestNetPlugin, make_mention

hookimpl = pluggy.HookimplMarker("horseshoe")
HOOKS = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("horseshoe_")]


class RecordingSink(Sink):
    name = "recorder"

    def __init__(self) -> None:
        self.received: list[str] = []

    def deliver(self, connection: SinkConnection, items: list[DeliveryItem]) -> list[DeliveryOutcome]:
        self.received += [i.mention.external_id for i in items]
        return [DeliveryOutcome(i.delivery_id, "delivered", remote_id=f"R{i.delivery_id}") for i in items]


class EveryHook:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.sink = RecordingSink()

    @hookimpl
    def horseshoe_register_connectors(self) -> list[Any]:
        self.calls["horseshoe_register_connectors"] += 1
        return []

    @hookimpl
    def horseshoe_register_sinks(self) -> list[Sink]:
        self.calls["horseshoe_register_sinks"] += 1
        return [self.sink]

    @hookimpl
    def horseshoe_triage(self, mention: Mention) -> Labels:
        self.calls["horseshoe_triage"] += 1
        return Labels(intent="question", tags=["seen-by-plugin"])

    @hookimpl
    def horseshoe_resolve_identity(self, profile: SocialProfile, sink: str) -> Match:
        self.calls["horseshoe_resolve_identity"] += 1
        tenant = current_tenant()
        assert tenant is not None and tenant.key == "acme"  # the host says whose mention this is
        return Match(sink=sink, record_id="42", confidence=0.9, evidence=["test"])

    @hookimpl
    def horseshoe_mention_stored(self, mention: Mention, mention_id: int, tenant: str) -> None:
        self.calls["horseshoe_mention_stored"] += 1

    @hookimpl
    def horseshoe_delivered(self, mention: Mention, outcome: DeliveryOutcome, sink: str, tenant: str) -> None:
        self.calls["horseshoe_delivered"] += 1

    @hookimpl
    def horseshoe_delivered_batch(self, deliveries: list[Delivered], sink: str, tenant: str) -> None:
        self.calls["horseshoe_delivered_batch"] += 1
        assert (sink, tenant) == ("recorder", "acme")
        assert [(d.mention.external_id, d.outcome.status) for d in deliveries] == [("1", "delivered")]

    @hookimpl
    def horseshoe_reply_sent(self, reply: Reply, result: Any, tenant: str) -> None:
        self.calls["horseshoe_reply_sent"] += 1
        raise RuntimeError("a failing observer must not break the pipeline")

    @hookimpl
    def horseshoe_startup(self, runtime: Runtime) -> None:
        self.calls["horseshoe_startup"] += 1
        self.runtime = runtime

    @hookimpl
    def horseshoe_crm_event(self, sink: str, tenant: str, event: dict[str, Any]) -> str:
        self.calls["horseshoe_crm_event"] += 1
        assert (sink, tenant, event["type_id"]) == ("zendesk", "acme", "deactivate_integration_instance")
        return "noted"

    @hookimpl
    def horseshoe_register_routes(self) -> list[Blueprint]:
        self.calls["horseshoe_register_routes"] += 1
        bp = Blueprint("every", __name__, url_prefix="/every")
        bp.add_url_rule("/ping", "ping", lambda: jsonify(pong=True))
        return [bp]

    @hookimpl
    def horseshoe_register_commands(self, cli: click.Group) -> None:
        self.calls["horseshoe_register_commands"] += 1

        @cli.command()
        def every() -> None:
            click.echo("every hook")


def test_every_hook_has_a_docstring_and_types() -> None:
    assert len(HOOKS) == 12
    for name in HOOKS:
        fn = getattr(hookspecs, name)
        assert fn.__doc__ and len(fn.__doc__.strip()) > 40, name
        assert "return" in inspect.signature(fn).return_annotation or fn.__annotations__.get("return"), name


def test_every_hook_is_exercised(tmp_path: Any) -> None:
    plugin = EveryHook()
    testnet = TestNetPlugin()
    pm = get_plugin_manager(extra_plugins=[("every", plugin), ("testnet", testnet)])
    rt = build_runtime(fast_settings(str(tmp_path)), pm=pm)
    tenant_id = rt.store.ensure_tenant("acme")
    account_id = rt.store.upsert_account(tenant_id, "testnet", "brand", {})
    rt.store.set_sink_connection(tenant_id, "recorder", {})
    pipeline.ingest(rt, rt.store.account(account_id)[0], [make_mention("1")])  # type: ignore[index]
    Worker(rt).run_once()
    state = outbox.enqueue(
        rt,
        tenant_id,
        account_id,
        Reply(network="testnet", account="brand", text="hi", in_reply_to="1", idempotency_key="k"),
        "test",
    )
    assert outbox.attempt(rt, state.id, "w").status == "sent"
    client = create_app(rt).test_client()
    assert client.get("/every/ping").get_json() == {"pong": True}
    event = {"type_id": "deactivate_integration_instance", "subdomain": "acme"}
    assert client.post("/zendesk/events", json={"events": [event]}).status_code == 200
    group = click.Group("horseshoe")
    rt.hooks.register_commands(group)
    assert CliRunner().invoke(group, ["every"]).output == "every hook\n"
    assert plugin.runtime is rt
    assert plugin.sink.received == ["1"]
    assert set(plugin.calls) == set(HOOKS), set(HOOKS) - set(plugin.calls)
    with rt.db.begin() as conn:
        from sqlalchemy import select

        from plugin.store import tables as t

        labels = conn.execute(select(t.mentions.c.labels)).scalar_one()
        match = conn.execute(select(t.deliveries.c.match)).scalar_one()
    assert labels["intent"] == "question" and "seen-by-plugin" in labels["tags"]
    assert match["record_id"] == "42"


def test_the_typed_facade_has_one_method_per_hook() -> None:
    """The host calls hooks only through ``Hooks``: a new hookspec needs its typed method."""
    import plugin as host_package

    facade = {name for name in vars(Hooks) if not name.startswith("_")}
    registration = {"horseshoe_register_connectors", "horseshoe_register_sinks"}  # read by Registry
    for hook in set(HOOKS) - registration:
        short = hook.removeprefix("horseshoe_").removeprefix("register_")
        assert short in facade or hook.removeprefix("horseshoe_") in facade, hook
    # ... and nothing in the host names a hook by string any more.
    from pathlib import Path

    root = Path(host_package.__file__).parent
    for path in root.rglob("*.py"):
        if path.name in ("hookspecs.py", "plugins.py"):
            continue
        text = path.read_text(encoding="utf-8")
        for hook in HOOKS:
            assert f'"{hook}"' not in text, f"{path} names hook {hook} by string"


def test_a_name_registered_twice_is_refused() -> None:
    class Twin:
        @hookimpl
        def horseshoe_register_sinks(self) -> list[Sink]:
            return [RecordingSink(), RecordingSink()]

    pm = get_plugin_manager(extra_plugins=[("twin", Twin())])
    try:
        Registry(pm)
    except ValueError as exc:
        assert "registered twice" in str(exc)
    else:
        raise AssertionError("duplicate sink name was accepted")
