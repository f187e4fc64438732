"""Every endpoint answers bad input with a clear 4xx and a reason, never a 500, and stores nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugin.runtime import Runtime
from plugin.web import create_app
from plugin.zendesk.tokens import InstanceMetadata, issue_metadata


@pytest.fixture
def client(rt: Runtime) -> FlaskClient:
    return create_app(rt).test_client()


def _meta(rt: Runtime, tenant: str = "acme", accounts: tuple[int, ...] = (1,)) -> str:
    return issue_metadata(rt.box, InstanceMetadata(tenant=tenant, account_ids=accounts, name="n"))


def _assert_reasoned(response: Any, *codes: int) -> None:
    assert response.status_code in codes, (response.status_code, response.data[:300])
    body = response.get_json()
    assert body and body.get("reason"), body


def test_webhook_forged_signature_is_401_and_leaves_no_trace(
    client: FlaskClient, rt: Runtime, tenant: tuple[int, int]
) -> None:
    key = rt.store.account(tenant[1])[0].public_key  # type: ignore[index]
    body = json.dumps({"items": [{"id": "1"}]})
    response = client.post(f"/webhooks/testnet/{key}", data=body, headers={"X-Test-Secret": "wrong"})
    _assert_reasoned(response, 401)
    assert rt.store.counts()["mentions"] == 0
    ok = client.post(f"/webhooks/testnet/{key}", data=body, headers={"X-Test-Secret": "s3cret"})
    assert ok.status_code == 200 and ok.get_json()["new"] == 1
    again = client.post(f"/webhooks/testnet/{key}", data=body, headers={"X-Test-Secret": "s3cret"})
    assert again.get_json() == {"received": 1, "new": 0, "duplicates": 1}


def test_webhook_malformed_and_unknown(client: FlaskClient, rt: Runtime, tenant: tuple[int, int]) -> None:
    key = rt.store.account(tenant[1])[0].public_key  # type: ignore[index]
    _assert_reasoned(client.post(f"/webhooks/testnet/{key}", data="{nope", headers={"X-Test-Secret": "s3cret"}), 400)
    _assert_reasoned(client.post("/webhooks/testnet/unknown", data="{}"), 404)
    _assert_reasoned(client.post(f"/webhooks/nosuchnet/{key}", data="{}"), 404)


def test_oversized_body_is_413(client: FlaskClient, rt: Runtime, tenant: tuple[int, int]) -> None:
    key = rt.store.account(tenant[1])[0].public_key  # type: ignore[index]
    big = b"x" * (rt.settings.max_body_bytes + 1)
    _assert_reasoned(client.post(f"/webhooks/testnet/{key}", data=big, headers={"X-Test-Secret": "s3cret"}), 413)
    _assert_reasoned(client.post("/zendesk/pull", data={"metadata": "x" * (rt.settings.max_body_bytes + 1)}), 413)


def test_pull_and_channelback_refuse_forged_metadata(client: FlaskClient, rt: Runtime, tenant: tuple[int, int]) -> None:
    good = _meta(rt)
    forged = good.split(".")[0] + ".AAAA"
    for path in ("/zendesk/pull", "/zendesk/channelback"):
        _assert_reasoned(client.post(path, data={}), 400)  # missing metadata
        _assert_reasoned(client.post(path, data={"metadata": "garbage"}), 401)
        _assert_reasoned(
            client.post(
                path,
                data={"metadata": forged, "message": "m", "parent_id": "testnet:1", "request_unique_identifier": "r"},
            ),
            403,
        )
    other_tenant = _meta(rt, tenant="globex")
    _assert_reasoned(client.post("/zendesk/pull", data={"metadata": other_tenant}), 403)
    # A state signed for another tenant cannot be replayed.
    rt.store.ensure_tenant("globex")
    from plugin.zendesk.tokens import issue_state

    _assert_reasoned(
        client.post("/zendesk/pull", data={"metadata": good, "state": issue_state(rt.box, "globex", 5)}), 403
    )


def test_channelback_field_validation(client: FlaskClient, rt: Runtime, tenant: tuple[int, int]) -> None:
    meta = _meta(rt, accounts=(tenant[1],))
    base = {"metadata": meta, "message": "hi", "parent_id": "testnet:1", "request_unique_identifier": "r1"}
    _assert_reasoned(client.post("/zendesk/channelback", data={**base, "parent_id": "no-namespace"}), 400)
    _assert_reasoned(client.post("/zendesk/channelback", data={**base, "message": ""}), 400)
    _assert_reasoned(client.post("/zendesk/channelback", data={**base, "message": "x" * 70000}), 400)
    _assert_reasoned(client.post("/zendesk/channelback", data=base), 404)  # nothing to reply to


def test_events_validation(client: FlaskClient) -> None:
    _assert_reasoned(client.post("/zendesk/events", data="not json"), 400)
    _assert_reasoned(client.post("/zendesk/events", json={"events": "x"}), 400)
    _assert_reasoned(client.post("/zendesk/events", json={"events": [{"type_id": 5}]}), 400)
    assert client.post("/zendesk/events", json={"events": [{"type_id": "x", "subdomain": "nobody"}]}).status_code == 200


def test_admin_ui_refuses_foreign_return_url(client: FlaskClient) -> None:
    response = client.post("/zendesk/admin", data={"subdomain": "acme", "return_url": "https://evil.example/x"})
    _assert_reasoned(response, 403)
    _assert_reasoned(client.post("/zendesk/admin/save", data={"flow": "x.y"}), 401, 403)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fields=st.dictionaries(
        st.sampled_from(["metadata", "state", "message", "parent_id", "recipient_id", "request_unique_identifier"]),
        st.text(max_size=300),
    )
)
def test_fuzzed_zendesk_forms_never_500(client: FlaskClient, fields: dict[str, str]) -> None:
    for path in ("/zendesk/pull", "/zendesk/channelback", "/zendesk/admin"):
        response = client.post(path, data=fields)
        assert 400 <= response.status_code < 500, (path, response.status_code)


def test_metrics_expose_counters_and_backlog(client: FlaskClient, rt: Runtime, tenant: tuple[int, int]) -> None:
    key = rt.store.account(tenant[1])[0].public_key  # type: ignore[index]
    body = json.dumps({"items": [{"id": "m1"}]})
    for _ in range(2):
        client.post(f"/webhooks/testnet/{key}", data=body, headers={"X-Test-Secret": "s3cret"})
    text = client.get("/metrics").get_data(as_text=True)
    assert 'horseshoe_mentions_total{network="testnet",outcome="duplicate"}' in text
    assert 'horseshoe_backlog{kind="mentions_pending"} 1.0' in text
