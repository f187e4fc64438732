"""The /_sandbox control surface over HTTP, and thread safety of imports."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests

from sandbox.zendesk.models import IntegrationInstance

from .conftest import SUBDOMAIN, Env, resource


def test_control_surface(zd: Env, instance: IntegrationInstance) -> None:
    created = requests.post(f"{zd.url}/_sandbox/accounts", json={"subdomain": "globex"}, timeout=5)
    assert created.status_code == 201
    assert created.json()["user"]["role"] == "admin"
    agent = requests.post(
        f"{zd.url}/_sandbox/accounts/globex/users",
        json={"name": "Gina", "email": "gina@globex.example", "role": "agent"},
        timeout=5,
    ).json()
    me = requests.get(
        f"{zd.url}/api/v2/users/me.json", headers={"Authorization": f"Bearer {agent['oauth_token']}"}, timeout=5
    )
    assert me.json()["user"]["email"] == "gina@globex.example"

    zd.state.import_resources(instance.instance_push_id, [resource("x-1", "hello")])
    tickets = requests.get(f"{zd.url}/_sandbox/accounts/{SUBDOMAIN}/tickets", timeout=5).json()["tickets"]
    assert [c["body"] for c in tickets[0]["comments"]] == ["hello"]
    closed = requests.put(
        f"{zd.url}/_sandbox/accounts/{SUBDOMAIN}/tickets/{tickets[0]['id']}/status",
        json={"status": "closed"},
        timeout=5,
    )
    assert closed.json()["status"] == "closed"
    instances = requests.get(f"{zd.url}/_sandbox/accounts/{SUBDOMAIN}/instances", timeout=5).json()["instances"]
    assert instances[0]["instance_push_id"] == instance.instance_push_id
    assert "zendesk_access_token" not in instances[0]  # tokens never leave through the control surface

    assert requests.post(f"{zd.url}/_sandbox/reset", timeout=5).status_code == 200
    assert zd.state.accounts == {}


def test_concurrent_pushes_of_one_resource_import_it_once(zd: Env, instance: IntegrationInstance) -> None:
    def push() -> str:
        response = requests.post(
            f"{zd.url}/api/v2/any_channel/push.json",
            json={"instance_push_id": instance.instance_push_id, "external_resources": [resource("same")]},
            headers={"Authorization": f"Bearer {instance.zendesk_access_token}"},
            timeout=5,
        )
        return str(response.json()["results"][0]["status"]["code"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = sorted(pool.map(lambda _: push(), range(8)))
    assert outcomes == ["already_imported"] * 7 + ["success"]
    assert len(zd.state.tickets_with_comments(SUBDOMAIN)) == 1


def test_instance_repr_hides_secrets(instance: IntegrationInstance) -> None:
    text = repr(instance)
    assert instance.zendesk_access_token not in text
    assert instance.metadata not in text  # metadata often carries the network's credentials
