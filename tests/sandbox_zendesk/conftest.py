"""Fixtures: a fresh fake Zendesk on a real localhost port per test, an account with an admin, a zenpy
client pointed at it, and the saved Channel Framework schemas."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from zenpy import Zenpy

from sandbox.faults import FaultPlan
from sandbox.runner import RunningFake
from sandbox.zendesk import ZendeskState
from sandbox.zendesk.models import IntegrationInstance, User
from tests.support.fakes import OnFake, fake_fixture, quiet

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schemas" / "zendesk"
SUBDOMAIN = "acme"
ADMIN_EMAIL = "admin@acme.example"

MANIFEST = {
    "name": "Horseshoe test",
    "id": "com.example.horseshoe-test",
    "author": "tests",
    "version": "v1",
    "push_client_id": "zd_horseshoe_test",
    "urls": {"admin_ui": "https://integration.example/admin_ui"},
}


def _load(name: str) -> Any:
    return json.loads((SCHEMA_DIR / name).read_text())


def _registry() -> Registry:
    resources = []
    for path in SCHEMA_DIR.glob("*.json"):
        try:
            contents = json.loads(path.read_text())
        except json.JSONDecodeError:
            continue  # event_callback_channelback.json is not valid JSON upstream (see SOURCE.md)
        contents = _drop_draft3_types(contents)
        resources.append((path.name, Resource.from_contents(contents, default_specification=DRAFT4)))
    return Registry().with_resources(resources)


def _drop_draft3_types(node: Any) -> Any:
    # "any"/"time" are draft-3 type names the upstream files still use; Draft 4 would reject them.
    if isinstance(node, dict):
        return {k: _drop_draft3_types(v) for k, v in node.items() if not (k == "type" and v in ("any", "time"))}
    if isinstance(node, list):
        return [_drop_draft3_types(v) for v in node]
    return node


class Schemas:
    def __init__(self) -> None:
        self.registry = _registry()

    def validator(self, name: str) -> Draft4Validator:
        schema = _drop_draft3_types(_load(name))
        return Draft4Validator(schema, registry=self.registry)

    def check(self, name: str, instance: Any) -> None:
        self.validator(name).validate(instance)

    def errors(self, name: str, instance: Any) -> list[str]:
        return [e.message for e in self.validator(name).iter_errors(instance)]


@pytest.fixture(scope="session")
def schemas() -> Schemas:
    return Schemas()


@dataclass
class Env(OnFake):
    admin: User
    api_token: str
    oauth_token: str


def seed(fake: RunningFake) -> Env:
    """Reset the fake to one account with an admin holding an API token and an OAuth token."""
    quiet(fake, seed=7)
    state: ZendeskState = fake.state
    account = state.create_account(SUBDOMAIN, admin_email=ADMIN_EMAIL)
    admin = next(iter(account.users.values()))
    return Env(
        fake,
        admin=admin,
        api_token=state.issue_api_token(SUBDOMAIN, admin.id),
        oauth_token=state.issue_oauth_token(SUBDOMAIN, admin.id),
    )


# One server for the session (shutting a werkzeug server down costs ~0.5 s); state is reset per test.
_zendesk_server = fake_fixture("zendesk", scope="session", plan=FaultPlan(seed=7))


@pytest.fixture
def zd(_zendesk_server: RunningFake) -> Env:
    return seed(_zendesk_server)


@pytest.fixture
def zenpy_client(zd: Env, monkeypatch: pytest.MonkeyPatch) -> Zenpy:
    # zenpy builds https://{subdomain}.zendesk.com URLs; these documented overrides send it to the sandbox.
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "http")
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", f"127.0.0.1:{zd.server.port}")
    return Zenpy(subdomain=SUBDOMAIN, email=ADMIN_EMAIL, token=zd.api_token)


@pytest.fixture
def instance(zd: Env) -> IntegrationInstance:
    """An installed integration instance (what the admin UI flow ends with), for push tests."""
    pending = zd.state.begin_install(SUBDOMAIN, "https://integration.example/manifest.json", MANIFEST)
    return zd.state.finish_install(pending.instance_push_id, "Brand account", '{"account": "brand"}', None)


def resource(external_id: str, message: str = "hello", author: str = "u-1", **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "external_id": external_id,
        "message": message,
        "created_at": "2024-05-01T10:00:00Z",
        "author": {"external_id": author, "name": f"Customer {author}"},
    }
    data.update(extra)
    return data
