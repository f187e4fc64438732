"""POST /api/v2/any_channel/push over real HTTP: per-resource statuses, auth errors, limits, threading."""

from __future__ import annotations

from typing import Any

import requests

from sandbox.zendesk.models import IntegrationInstance

from .conftest import MANIFEST, SUBDOMAIN, Env, Schemas, resource


def push(
    zd: Env,
    instance: IntegrationInstance,
    resources: list[Any],
    *,
    token: str | None = None,
    push_id: str | None = None,
    schemas: Schemas | None = None,
) -> requests.Response:
    body = {
        "instance_push_id": push_id or instance.instance_push_id,
        "request_id": "req-1",
        "external_resources": resources,
    }
    if schemas is not None:
        schemas.check("push_parameters.json", body)
    return requests.post(
        f"{zd.url}/api/v2/any_channel/push.json",
        json=body,
        headers={"Authorization": f"Bearer {token or instance.zendesk_access_token}"},
        timeout=5,
    )


def codes(response: requests.Response) -> list[str]:
    return [r["status"]["code"] for r in response.json()["results"]]


def test_new_resource_creates_ticket_in_documented_result_format(
    zd: Env, instance: IntegrationInstance, schemas: Schemas
) -> None:
    response = push(zd, instance, [resource("m-1", "My order is late")], schemas=schemas)
    assert response.status_code == 200
    assert response.json() == {"results": [{"external_resource_id": "m-1", "status": {"code": "success"}}]}
    [ticket] = zd.state.tickets_with_comments(SUBDOMAIN)
    assert ticket["subject"] == "My order is late"
    assert ticket["comments"][0]["external_id"] == "m-1"
    assert ticket["comments"][0]["public"] is True


def test_parent_id_threads_into_the_same_ticket_and_unknown_parent_is_reported(
    zd: Env, instance: IntegrationInstance, schemas: Schemas
) -> None:
    resources = [
        resource("p-1", "first"),
        resource("p-2", "reply", parent_id="p-1"),
        resource("p-3", "orphan", parent_id="nope"),
    ]
    response = push(zd, instance, resources, schemas=schemas)
    results = response.json()["results"]
    assert [r["external_resource_id"] for r in results] == ["p-1", "p-2", "p-3"]
    assert codes(response) == ["success", "success", "could_not_locate_parent_external_resource"]
    # Docs: "The unrecognized parent ID is returned in the description of the status".
    assert results[2]["status"]["description"] == "nope"
    [ticket] = zd.state.tickets_with_comments(SUBDOMAIN)
    assert [c["external_id"] for c in ticket["comments"]] == ["p-1", "p-2"]


def test_thread_id_keeps_conversation_in_one_ticket(zd: Env, instance: IntegrationInstance) -> None:
    push(zd, instance, [resource("t-1", "dm one", thread_id="conv-9")])
    push(zd, instance, [resource("t-2", "dm two", thread_id="conv-9"), resource("t-3", "other", thread_id="x")])
    tickets = zd.state.tickets_with_comments(SUBDOMAIN)
    assert [[c["external_id"] for c in t["comments"]] for t in tickets] == [["t-1", "t-2"], ["t-3"]]
    assert tickets[0]["thread_id"] == "conv-9"


def test_already_imported_and_same_author_same_user(zd: Env, instance: IntegrationInstance) -> None:
    push(zd, instance, [resource("a-1", author="42")])
    response = push(zd, instance, [resource("a-1", author="42"), resource("a-2", author="42")])
    assert codes(response) == ["already_imported", "success"]
    tickets = zd.state.tickets_with_comments(SUBDOMAIN)
    assert len({t["requester_id"] for t in tickets}) == 1
    requester = tickets[0]["requester_id"]
    [identity] = zd.state.identities_of(SUBDOMAIN, requester)
    assert (identity.type, identity.value, identity.subtype_name) == ("any_channel", "42", MANIFEST["id"])


def test_processing_error_halts_the_rest(zd: Env, instance: IntegrationInstance, schemas: Schemas) -> None:
    bad = resource("b-2", message="")
    assert schemas.errors("external_resource.json", bad)  # the schema agrees it is invalid
    response = push(zd, instance, [resource("b-1"), bad, resource("b-3")])
    results = response.json()["results"]
    assert codes(response) == ["success", "processing_error", "halted"]
    assert "message" in results[1]["status"]["description"]
    assert "description" not in results[2]["status"]


def test_resource_level_limits(zd: Env, instance: IntegrationInstance) -> None:
    cases = [
        resource("l-1", message="x" * 65536),
        resource("l-2", file_urls=[f"https://cdn.example/{i}.png" for i in range(11)]),
        resource("l-3", parent_id="p", thread_id="t"),
        resource("l 4 "),
        resource("l-5", created_at="yesterday"),
        {"external_id": "l-6", "message": "no author", "created_at": "2024-05-01T10:00:00Z"},
    ]
    for case in cases:
        response = push(zd, instance, [case])
        assert codes(response) == ["processing_error"], case["external_id"]
    assert zd.state.tickets_with_comments(SUBDOMAIN) == []


def test_internal_note_and_follow_up_for_closed_ticket(zd: Env, instance: IntegrationInstance) -> None:
    push(zd, instance, [resource("c-1", "please help")])
    [ticket] = zd.state.tickets_with_comments(SUBDOMAIN)
    zd.state.set_ticket_status(SUBDOMAIN, ticket["id"], "closed")
    push(
        zd,
        instance,
        [resource("c-2", "again", parent_id="c-1"), resource("c-3", "note", parent_id="c-2", internal_note=True)],
    )
    tickets = zd.state.tickets_with_comments(SUBDOMAIN)
    assert len(tickets) == 2
    follow_up = tickets[1]
    assert follow_up["followup_source_id"] == ticket["id"]
    assert [(c["external_id"], c["public"]) for c in follow_up["comments"]] == [("c-2", True), ("c-3", False)]


def test_auth_errors_use_zendesk_shapes(zd: Env, instance: IntegrationInstance) -> None:
    url = f"{zd.url}/api/v2/any_channel/push.json"
    body = {"instance_push_id": instance.instance_push_id, "external_resources": []}
    no_auth = requests.post(url, json=body, timeout=5)
    assert no_auth.status_code == 401
    assert no_auth.json() == {"error": "Couldn't authenticate you"}
    bad = requests.post(url, json=body, headers={"Authorization": "Bearer wrong"}, timeout=5)
    assert bad.status_code == 401
    assert bad.json()["error"] == "invalid_token"
    # A valid token of another instance may not push into this one.
    other = zd.state.begin_install(SUBDOMAIN, "https://other.example/manifest.json", {**MANIFEST, "id": "other"})
    other = zd.state.finish_install(other.instance_push_id, "Other", "", None)
    forbidden = push(zd, instance, [], token=other.zendesk_access_token)
    assert forbidden.status_code == 403
    assert forbidden.json()["error"] == "Forbidden"
    # The push token is scoped to any_channel: the Users API refuses it.
    users = requests.get(
        f"{zd.url}/api/v2/users/me.json",
        headers={"Authorization": f"Bearer {instance.zendesk_access_token}"},
        timeout=5,
    )
    assert users.status_code == 403


def test_request_level_limits_are_422(zd: Env, instance: IntegrationInstance, schemas: Schemas) -> None:
    too_many = [resource(f"r-{i}") for i in range(257)]
    assert schemas.errors("push_parameters.json", {"instance_push_id": "x", "external_resources": too_many})
    response = push(zd, instance, too_many)
    assert response.status_code == 422
    assert response.json()["error"] == "InvalidParams"
    missing = requests.post(
        f"{zd.url}/api/v2/any_channel/push.json",
        json={"external_resources": []},
        headers={"Authorization": f"Bearer {instance.zendesk_access_token}"},
        timeout=5,
    )
    assert missing.status_code == 422
    assert push(zd, instance, [resource(f"ok-{i}") for i in range(256)]).status_code == 200


def test_validate_token(zd: Env, instance: IntegrationInstance) -> None:
    url = f"{zd.url}/api/v2/any_channel/validate_token.json"
    ok = requests.post(
        url,
        json={"instance_push_id": instance.instance_push_id},
        headers={"Authorization": f"Bearer {instance.zendesk_access_token}"},
        timeout=5,
    )
    assert (ok.status_code, ok.text) == (200, "")
    bad = requests.post(
        url, json={"instance_push_id": instance.instance_push_id}, headers={"Authorization": "Bearer nope"}, timeout=5
    )
    assert bad.status_code == 401


def test_metadata_and_state_limit(zd: Env) -> None:
    pending = zd.state.begin_install(SUBDOMAIN, "https://integration.example/manifest.json", MANIFEST)
    page = requests.post(
        f"{zd.url}/zendesk/channels/integration_service_instances/editor_finalizer",
        params={"instance_push_id": pending.instance_push_id},
        data={"name": "n", "metadata": "m" * 5001},
        timeout=5,
    )
    assert page.status_code == 422
    assert zd.state.find_instance(pending.instance_push_id) is None


def test_resources_created_event_matches_schema(zd: Env, instance: IntegrationInstance, schemas: Schemas) -> None:
    zd.state.take_events(instance.instance_push_id)  # drop the create_integration_instance event
    push(zd, instance, [resource("e-1"), resource("e-2", parent_id="e-1")])
    [event] = zd.state.take_events(instance.instance_push_id)
    schemas.check("event_callback_resources_created_from_external_ids.json", event)
    assert [e["type_id"] for e in event["data"]["resource_events"]] == [
        "comment_on_new_ticket",
        "comment_on_existing_ticket",
    ]
    assert event["data"]["request_id"] == "req-1"


def test_injected_429_uses_zendesk_error_and_retry_after(zd: Env, instance: IntegrationInstance) -> None:
    zd.plan.configure(scripted=[429], retry_after=3)
    response = push(zd, instance, [resource("f-1")])
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert response.json()["error"] == "APIRateLimitExceeded"
    assert codes(push(zd, instance, [resource("f-1")])) == ["success"]
