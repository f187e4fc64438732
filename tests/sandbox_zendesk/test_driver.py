"""ZendeskDriver against a throwaway Channel Framework integration (a tiny Flask app defined here):
install through a multi-step admin UI, pull, channelback (success, failure, retry), events,
clickthrough and healthcheck, all over real HTTP."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from flask import Flask, Response, redirect, request

from sandbox.server import RunningServer, serve_in_thread
from sandbox.zendesk.driver import ZendeskDriver

from .conftest import SUBDOMAIN, Env, Schemas, resource

ADMIN_FIELDS = (
    "name",
    "metadata",
    "state",
    "return_url",
    "instance_push_id",
    "zendesk_access_token",
    "subdomain",
    "locale",
)


@dataclass
class Integration:
    server: RunningServer
    seen: dict[str, list[Any]] = field(default_factory=dict)
    pull_queue: list[list[dict[str, Any]]] = field(default_factory=list)
    channelback_status: int = 200

    @property
    def manifest_url(self) -> str:
        return f"{self.server.url}/zendesk/manifest.json"


def _page(action: str, inner: str) -> str:
    return (
        f'<html><body><form method="post" action="{html.escape(action)}">{inner}<button>Next</button></form>'
        "</body></html>"
    )


def _hidden(name: str, value: str) -> str:
    return f'<input type="hidden" name="{name}" value="{html.escape(value, quote=True)}">'


def build_integration(it: Integration) -> Flask:
    app = Flask("throwaway-integration")
    for key in ("admin_ui", "step2", "pull", "channelback", "events", "clickthrough", "healthcheck"):
        it.seen[key] = []

    @app.get("/zendesk/manifest.json")
    def manifest() -> Any:
        base = request.host_url.rstrip("/")
        return {
            "name": "Throwaway",
            "id": "com.example.throwaway",
            "author": "tests",
            "version": "v1",
            "push_client_id": "zd_throwaway",
            "urls": {
                "admin_ui": f"{base}/admin",
                "pull_url": f"{base}/pull",
                "channelback_url": f"{base}/channelback",
                "clickthrough_url": f"{base}/clickthrough",
                "healthcheck_url": f"{base}/health",
                "event_callback_url": f"{base}/events",
            },
        }

    @app.post("/admin")
    def admin_ui() -> str:
        it.seen["admin_ui"].append(request.form.to_dict())
        carry = "".join(_hidden(k, request.form.get(k, "")) for k in ("return_url", "instance_push_id"))
        return _page("/admin/step2", carry + '<input type="text" name="username" value="">')

    @app.post("/admin/step2")
    def step2() -> str:
        it.seen["step2"].append(request.form.to_dict())
        carry = "".join(_hidden(k, request.form.get(k, "")) for k in ("return_url", "instance_push_id", "username"))
        choose = (
            '<select name="mode"><option value="public">Public</option>'
            '<option value="all" selected>All</option></select>'
            '<input type="checkbox" name="dms"><textarea name="signature">-- the team</textarea>'
        )
        return _page("step3", carry + choose)

    @app.post("/admin/step3")
    def step3() -> str:
        form = request.form
        metadata = json.dumps(
            {"username": form["username"], "mode": form["mode"], "dms": "dms" in form, "signature": form["signature"]}
        )
        final = _hidden("name", f"@{form['username']}") + _hidden("metadata", metadata) + _hidden("state", "{}")
        return _page(form["return_url"], final)

    @app.post("/pull")
    def pull() -> Any:
        it.seen["pull"].append(request.form.to_dict())
        batch = it.pull_queue.pop(0) if it.pull_queue else []
        return {"external_resources": batch, "state": json.dumps({"pulls": len(it.seen["pull"])})}

    @app.post("/channelback")
    def channelback() -> Any:
        it.seen["channelback"].append({k: request.form.getlist(k) for k in request.form})
        if it.channelback_status != 200:
            return Response("upstream network down", status=it.channelback_status)
        return {"external_id": f"reply-{len(it.seen['channelback'])}", "allow_channelback": True}

    @app.post("/events")
    def events() -> Any:
        it.seen["events"].append(request.get_json())
        return ""

    @app.get("/clickthrough")
    def clickthrough() -> Any:
        it.seen["clickthrough"].append(request.args.to_dict())
        return redirect(f"https://network.example/posts/{request.args['external_id']}", code=302)

    @app.get("/health")
    def health() -> Any:
        it.seen["healthcheck"].append(request.args.to_dict())
        return "ok"

    return app


@pytest.fixture
def integration() -> Iterator[Integration]:
    it = Integration(server=None)  # type: ignore[arg-type]
    it.server = serve_in_thread(build_integration(it))
    yield it
    it.server.stop()


@pytest.fixture
def driver(zd: Env, integration: Integration) -> ZendeskDriver:
    return ZendeskDriver(zd.state, zd.url, integration.manifest_url, SUBDOMAIN, requests.Session())


def test_install_walks_multi_step_admin_ui(
    zd: Env, integration: Integration, driver: ZendeskDriver, schemas: Schemas
) -> None:
    instance = driver.install({"username": "acme_support", "dms": "on"})
    [first] = integration.seen["admin_ui"]
    assert set(ADMIN_FIELDS) <= set(first)
    assert first["instance_push_id"] == instance.instance_push_id
    assert first["zendesk_access_token"] == instance.zendesk_access_token
    assert (first["subdomain"], first["locale"], first["name"], first["metadata"]) == (SUBDOMAIN, "en-US", "", "")
    assert integration.seen["step2"][0]["username"] == "acme_support"
    assert instance.active and instance.name == "@acme_support"
    assert json.loads(instance.metadata) == {
        "username": "acme_support",
        "mode": "all",
        "dms": True,
        "signature": "-- the team",
    }
    assert driver.manifest is not None
    schemas.check("manifest.json", driver.manifest)
    # The integration can now push with the token it was given.
    ok = requests.post(
        f"{zd.url}/api/v2/any_channel/validate_token.json",
        json={"instance_push_id": first["instance_push_id"]},
        headers={"Authorization": f"Bearer {first['zendesk_access_token']}"},
        timeout=5,
    )
    assert ok.status_code == 200


def test_pull_imports_and_round_trips_state(
    zd: Env, integration: Integration, driver: ZendeskDriver, schemas: Schemas
) -> None:
    driver.install({"username": "acme_support"})
    batch = [
        resource("dm-1", "hi", author="77", thread_id="conv-1"),
        resource("dm-2", "are you there?", author="77", thread_id="conv-1"),
    ]
    schemas.check("pull_payload.json", {"external_resources": batch, "state": "{}"})
    integration.pull_queue.append(batch)
    results = driver.pull()
    assert [(r.external_resource_id, r.code) for r in results] == [("dm-1", "success"), ("dm-2", "success")]
    assert integration.seen["pull"][0] == {"metadata": driver.instance.metadata, "state": "{}"}  # type: ignore[union-attr]
    integration.pull_queue.append([resource("dm-2", "are you there?", author="77", thread_id="conv-1")])
    assert [r.code for r in driver.pull()] == ["already_imported"]
    assert integration.seen["pull"][1]["state"] == json.dumps({"pulls": 1})
    [ticket] = zd.state.tickets_with_comments(SUBDOMAIN)
    assert [c["external_id"] for c in ticket["comments"]] == ["dm-1", "dm-2"]


def test_channelback_sends_documented_fields_and_threads_replies(
    zd: Env, integration: Integration, driver: ZendeskDriver
) -> None:
    instance = driver.install({"username": "acme_support"})
    integration.pull_queue.append([resource("post-1", "help!", author="77", thread_id="conv-1")])
    driver.pull()
    [ticket] = zd.state.tickets_with_comments(SUBDOMAIN)
    comment = driver.agent_reply(ticket["id"], "We are on it", request_unique_identifier="rui-1")
    [sent] = integration.seen["channelback"]
    assert sent == {
        "message": ["We are on it"],
        "parent_id": ["post-1"],
        "recipient_id": ["77"],
        "metadata": [instance.metadata],
        "request_unique_identifier": ["rui-1"],
        "thread_id": ["conv-1"],
    }
    assert comment.external_id == "reply-1"
    assert comment.channelback is not None and comment.channelback["status"] == "sent"
    # The customer's answer to the agent's reply lands in the same ticket.
    integration.pull_queue.append([resource("post-2", "thanks", author="77", parent_id="reply-1")])
    driver.pull()
    [ticket] = zd.state.tickets_with_comments(SUBDOMAIN)
    assert [c["external_id"] for c in ticket["comments"]] == ["post-1", "reply-1", "post-2"]
    driver.agent_reply(ticket["id"], "Glad to help")
    assert integration.seen["channelback"][-1]["parent_id"] == ["post-2"]


def test_failed_channelback_is_kept_and_retried_with_same_identifier(
    zd: Env, integration: Integration, driver: ZendeskDriver
) -> None:
    driver.install({"username": "acme_support"})
    integration.pull_queue.append([resource("post-1", "help!", author="77")])
    driver.pull()
    [ticket] = zd.state.tickets_with_comments(SUBDOMAIN)
    integration.channelback_status = 500
    comment = driver.agent_reply(ticket["id"], "Sorry about that", request_unique_identifier="rui-9")
    assert comment.channelback is not None
    assert (comment.channelback["status"], comment.channelback["http_status"]) == ("failed", 500)
    assert comment.channelback["body"] == "upstream network down"
    assert comment.external_id is None
    integration.channelback_status = 200
    retried = driver.retry_channelback(comment.id)
    assert retried.id == comment.id and retried.external_id == "reply-2"
    assert [c["request_unique_identifier"] for c in integration.seen["channelback"]] == [["rui-9"], ["rui-9"]]
    [ticket] = zd.state.tickets_with_comments(SUBDOMAIN)
    assert len(ticket["comments"]) == 2  # one agent comment, however many attempts


def test_events_are_posted_in_documented_format(
    zd: Env, integration: Integration, driver: ZendeskDriver, schemas: Schemas
) -> None:
    driver.install({"username": "acme_support"})
    integration.pull_queue.append([resource("post-1", "help!", author="77")])
    driver.pull()
    [ticket] = zd.state.tickets_with_comments(SUBDOMAIN)
    driver.agent_reply(ticket["id"], "On it")
    response = driver.flush_events()
    assert response is not None and response.status_code == 200
    [body] = integration.seen["events"]
    types = [e["type_id"] for e in body["events"]]
    assert types == [
        "create_integration_instance",
        "resources_created_from_external_ids",
        "pull_request",
        "resources_created_from_external_ids",
    ]
    for event in body["events"]:
        schemas.check("event_callback_base.json", event)
        assert event["subdomain"] == SUBDOMAIN and event["integration_id"] == "com.example.throwaway"
    schemas.check("event_callback_resources_created_from_external_ids.json", body["events"][1])
    schemas.check("event_callback_pull_request.json", body["events"][2])
    assert body["events"][3]["data"]["resource_events"][0]["type_id"] == "external_id_associated_with_channelback"
    assert driver.flush_events() is None
    custom = driver.send_events([driver.make_event("destroy_integration_instance", {"metadata": "{}"})])
    assert (
        custom.status_code == 200
        and integration.seen["events"][-1]["events"][0]["type_id"] == "destroy_integration_instance"
    )


def test_clickthrough_and_healthcheck(integration: Integration, driver: ZendeskDriver) -> None:
    instance = driver.install({"username": "acme_support"})
    click = driver.clickthrough("post-1")
    assert click.status_code == 302
    assert click.headers["Location"] == "https://network.example/posts/post-1"
    assert integration.seen["clickthrough"] == [
        {"external_id": "post-1", "metadata": instance.metadata, "state": instance.state}
    ]
    assert driver.healthcheck().status_code == 200
