"""Zendesk's event callbacks (``POST /zendesk/events``, unsigned by Zendesk's design): what is refused,
recorded, ignored and counted, the per-tenant byte budget, the hand-over to plugins, and an uninstall
acted on only once the Zendesk fake confirms it. Written for the survivors of ``python -m bench
mutants --module zendesk.views`` (issue 12)."""

from __future__ import annotations

from typing import Any

import pluggy
import pytest
from flask.testing import FlaskClient

from plugin.runtime import Runtime
from plugin.store.health import sink_target
from plugin.web import create_app
from plugin.zendesk.tokens import InstanceMetadata, issue_metadata
from sandbox.faults import FaultPlan
from sandbox.runner import RunningFake
from sandbox.zendesk.models import IntegrationInstance
from tests.sandbox_zendesk.conftest import MANIFEST, SUBDOMAIN, Env, seed
from tests.support.fakes import fake_fixture

DESTROY = {"type_id": "destroy_integration_instance", "subdomain": SUBDOMAIN}

_zendesk_server = fake_fixture("zendesk", scope="module", plan=FaultPlan(seed=7))


@pytest.fixture
def zd(_zendesk_server: RunningFake) -> Env:
    return seed(_zendesk_server)


def _instance(zd: Env, name: str) -> IntegrationInstance:
    pending = zd.state.begin_install(SUBDOMAIN, "https://integration.example/manifest.json", MANIFEST)
    return zd.state.finish_install(pending.instance_push_id, name, "{}", None)


class Recorder:
    """A plugin that sees every CRM callback handed over (``horseshoe_crm_event``)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []

    @pluggy.HookimplMarker("horseshoe")
    def horseshoe_crm_event(self, sink: str, tenant: str, event: dict[str, Any]) -> str | None:
        self.seen.append((sink, tenant, str(event.get("type_id"))))
        return "seen"


def _client(rt: Runtime) -> FlaskClient:
    rt.store.ensure_tenant(SUBDOMAIN)
    return create_app(rt).test_client()


def test_malformed_bodies_and_events_are_refused(rt: Runtime) -> None:
    client = _client(rt)
    assert client.post("/zendesk/events", json=[]).status_code == 400
    assert client.post("/zendesk/events", json={"events": {}}).status_code == 400
    assert client.post("/zendesk/events", json={"events": [5]}).status_code == 400
    assert client.post("/zendesk/events", json={"events": [{"subdomain": SUBDOMAIN}]}).status_code == 400
    tenant_id = rt.store.tenant_id(SUBDOMAIN)
    assert rt.store.events.count(tenant_id, "zendesk:None") == 0


@pytest.mark.settings(events_max_per_request=3)
def test_at_most_the_configured_number_of_events_per_request(rt: Runtime) -> None:
    client = _client(rt)
    event = {"type_id": "something_else", "subdomain": SUBDOMAIN}
    too_many = client.post("/zendesk/events", json={"events": [event] * 4})
    assert too_many.status_code == 413
    assert client.post("/zendesk/events", json={"events": [event] * 3}).status_code == 200


def test_events_of_tenants_are_recorded_and_handed_to_plugins_the_rest_ignored(rt: Runtime) -> None:
    client = _client(rt)
    recorder = Recorder()
    rt.pm.register(recorder, name="recorder")
    events = [
        {"type_id": "resources_created_from_external_ids", "subdomain": SUBDOMAIN},
        {"type_id": "resources_created_from_external_ids", "subdomain": 5},
        {"type_id": "resources_created_from_external_ids", "subdomain": "Not A Subdomain!"},
        {"type_id": "resources_created_from_external_ids", "subdomain": "nobody-here"},
        {"type_id": "resources_created_from_external_ids", "subdomain": ["acme"]},
        {"type_id": "destroy_user_identity", "subdomain": SUBDOMAIN},
    ]
    answer = client.post("/zendesk/events", json={"events": events})
    assert answer.status_code == 200
    assert answer.get_json() == {"received": 2, "ignored": 4}
    tenant_id = rt.store.tenant_id(SUBDOMAIN)
    assert rt.store.events.count(tenant_id, "zendesk:resources_created_from_external_ids") == 1
    assert rt.store.events.count(tenant_id, "zendesk:destroy_user_identity") == 1
    assert rt.store.tenant_id("nobody-here") is None  # never a tenant row for a stranger
    assert recorder.seen == [
        ("zendesk", SUBDOMAIN, "resources_created_from_external_ids"),
        ("zendesk", SUBDOMAIN, "destroy_user_identity"),
    ]


@pytest.mark.settings(events_max_bytes_per_tenant=400)
def test_a_tenants_byte_budget_answers_429_with_retry_after(rt: Runtime) -> None:
    client = _client(rt)
    body = {"events": [{"type_id": "x", "subdomain": SUBDOMAIN, "pad": "p" * 250}]}
    assert client.post("/zendesk/events", json=body).status_code == 200
    refused = client.post("/zendesk/events", json=body)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "60"
    assert refused.get_json()["error"] == "rate_limited"
    assert rt.store.events.count(rt.store.tenant_id(SUBDOMAIN), "zendesk:x") == 1


def _connected(rt: Runtime, zd: Env, *found: IntegrationInstance) -> int:
    tenant_id = rt.store.ensure_tenant(SUBDOMAIN)
    instances = {i.instance_push_id: {"token": i.zendesk_access_token, "accounts": []} for i in found}
    rt.store.set_sink_connection(
        tenant_id, "zendesk", {"subdomain": SUBDOMAIN, "api_base": zd.url, "instances": instances}
    )
    return tenant_id


def test_an_uninstall_is_acted_on_only_for_instances_zendesk_no_longer_accepts(rt: Runtime, zd: Env) -> None:
    first, second = _instance(zd, "one"), _instance(zd, "two")
    tenant_id = _connected(rt, zd, first, second)
    client = create_app(rt).test_client()
    metadata = issue_metadata(rt.box, InstanceMetadata(tenant=SUBDOMAIN, account_ids=(), name="n"))
    # A forged uninstall, and another event while an instance is gone: nothing changes.
    assert client.post("/zendesk/events", json={"events": [DESTROY]}).status_code == 200
    zd.state.deactivate_instance(first.instance_push_id)
    other = {"type_id": "resources_created_from_external_ids", "subdomain": SUBDOMAIN}
    assert client.post("/zendesk/events", json={"events": [other]}).status_code == 200
    config = rt.store.sink_connection(tenant_id, "zendesk")
    assert config is not None and set(config["instances"]) == {first.instance_push_id, second.instance_push_id}
    # One instance removed: only it is forgotten.
    assert client.post("/zendesk/events", json={"events": [DESTROY]}).status_code == 200
    config = rt.store.sink_connection(tenant_id, "zendesk")
    assert config is not None and set(config["instances"]) == {second.instance_push_id}
    assert config["instances"][second.instance_push_id]["token"] == second.zendesk_access_token
    # Zendesk unreachable: the instance is kept, the next event decides.
    zd.state.deactivate_instance(second.instance_push_id)
    zd.plan.configure(scripted=[503])
    assert client.post("/zendesk/events", json={"events": [DESTROY]}).status_code == 200
    assert rt.store.sink_connection(tenant_id, "zendesk") is not None
    assert client.post("/zendesk/pull", data={"metadata": metadata}).status_code == 200
    # The last one gone: the connection is disabled and every metadata issued for the tenant dies.
    assert client.post("/zendesk/events", json={"events": [DESTROY]}).status_code == 200
    assert rt.store.sink_connection(tenant_id, "zendesk") is None
    [row] = [c for c in rt.store.tenants.connections(enabled_only=False) if c.tenant_id == tenant_id]
    assert (row.enabled, row.last_error) == (False, "integration instance removed in Zendesk")
    assert client.post("/zendesk/pull", data={"metadata": metadata}).status_code in (401, 403)


def test_a_forged_uninstall_leaves_the_connections_state_alone(rt: Runtime, zd: Env) -> None:
    tenant_id = _connected(rt, zd, _instance(zd, "one"))
    target = sink_target("zendesk", tenant_id)
    rt.store.health.flag(target, tenant_id, "Zendesk refused the push token")
    client = create_app(rt).test_client()
    assert client.post("/zendesk/events", json={"events": [DESTROY]}).status_code == 200
    # Every instance still alive: the stored connection is not rewritten, so its trouble stays flagged.
    attention = rt.store.health.attention_of(target)
    assert attention is not None


def test_an_uninstall_without_a_connection_changes_nothing(rt: Runtime) -> None:
    client = _client(rt)
    answer = client.post("/zendesk/events", json={"events": [DESTROY]})
    assert answer.status_code == 200 and answer.get_json() == {"received": 1, "ignored": 0}
