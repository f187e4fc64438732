"""A runtime with two installed tenants (acme, globex), each with one channel instance and one X
account, and a Flask test client: the attacks in this package are made against it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient

from plugin.runtime import Runtime, build_runtime
from plugin.web import create_app
from plugin.zendesk.instances import with_instance
from plugin.zendesk.tokens import InstanceMetadata, issue_metadata
from tests.conftest import fast_settings

ZENDESK = "http://127.0.0.1:9"  # the configured Zendesk: nothing listens, so "confirm" fails fast
RETURN_URL = f"{ZENDESK}/zendesk/channels/integration_service_instances/editor_finalizer"


@dataclass
class Tenant:
    key: str
    id: int
    account_id: int
    metadata: str


@dataclass
class Stack:
    rt: Runtime
    client: FlaskClient
    acme: Tenant
    globex: Tenant


def install(rt: Runtime, key: str, external_id: str) -> Tenant:
    tenant_id = rt.store.ensure_tenant(key)
    rt.store.set_sink_connection(tenant_id, "zendesk", with_instance(None, key, f"push-{key}", f"tok-{key}", ZENDESK))
    account_id = rt.store.upsert_account(
        tenant_id, "x", external_id, {"user_access_token": f"secret-{key}"}, handle=key, api_base=ZENDESK
    )
    meta = InstanceMetadata(tenant=key, account_ids=(account_id,), name=key, instance=f"push-{key}")
    return Tenant(key, tenant_id, account_id, issue_metadata(rt.box, meta))


@pytest.fixture
def stack(tmp_path: object) -> Iterator[Stack]:
    # The operator's by-hand form is on: the attacks on it are tested here (admins get guided flows).
    rt = build_runtime(fast_settings(str(tmp_path), zendesk_api_base=ZENDESK, manual_account_form=True))
    acme = install(rt, "acme", "1001")
    globex = install(rt, "globex", "2002")
    yield Stack(rt, create_app(rt).test_client(), acme, globex)
    rt.db.dispose()


def flow_of(html: str) -> str:
    match = re.search(r'name="flow" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)
