"""One test per numbered finding of issue 10, each performing the attack as described.

Each failed on the main branch before the trust model (checked once with this file against main).
"""

from __future__ import annotations

import json

import pytest

from plugin.models import Reply, Visibility
from plugin.outbox import replies as outbox
from plugin.zendesk.tokens import InstanceMetadata, issue_metadata
from tests.security.conftest import RETURN_URL, Stack, flow_of

FORGED = {"instance_push_id": "invented-push", "zendesk_access_token": "invented-token"}


def _admin(stack: Stack, subdomain: str, **extra: str) -> object:
    data = {"subdomain": subdomain, "return_url": RETURN_URL, **extra}
    return stack.client.post("/zendesk/admin", data=data)


def test_finding_1_untrusted_admin_flow_cannot_overwrite_an_account(stack: Stack) -> None:
    """An untrusted flow (invented push id and token) 'connects a new account' with the network id of
    the victim's account: the victim's credentials, api_base and instance must stay as they were."""
    before = stack.rt.store.account(stack.acme.account_id)
    assert before is not None
    page = _admin(stack, "acme", **FORGED)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "1001" not in html and 'name="account"' not in html  # nothing of acme is shown
    attempt = stack.client.post(
        "/zendesk/admin/save",
        data={
            "flow": flow_of(html),
            "new_network": "x",
            "new_external_id": "1001",
            "new_api_base": "https://attacker.example",
            "credentials.x.user_access_token": "attacker",
            "shown.x": "1",
        },
    )
    assert attempt.status_code == 403
    after = stack.rt.store.account(stack.acme.account_id)
    assert after is not None
    assert after[1].credentials == before[1].credentials and after[0].api_base == before[0].api_base
    assert stack.rt.store.sink_connection(stack.acme.id, "zendesk") == stack.rt.store.sink_connection(
        stack.acme.id, "zendesk"
    )
    # Even a trusted flow replaces an existing account only explicitly (and it is audited).
    code = stack.rt.store.trust.invite("acme")
    trusted = _admin(stack, "acme", install_code=code)
    refused = stack.client.post(
        "/zendesk/admin/save",
        data={
            "flow": flow_of(trusted.get_data(as_text=True)),
            "new_network": "x",
            "new_external_id": "1001",
            "credentials.x.user_access_token": "other",
            "shown.x": "1",
        },
    )
    assert refused.status_code == 409
    moved = stack.client.post(
        "/zendesk/admin/save",
        data={
            "flow": flow_of(trusted.get_data(as_text=True)),
            "new_network": "x",
            "new_external_id": "2002",  # globex's account
            "credentials.x.user_access_token": "other",
            "shown.x": "1",
        },
    )
    assert moved.status_code == 409
    assert stack.rt.store.account(stack.globex.account_id)[0].tenant_id == stack.globex.id  # type: ignore[index]


def test_finding_1_pull_and_channelback_need_trusted_metadata(stack: Stack) -> None:
    """Metadata of a flow nobody vouched for (``tr`` false, what main issued to untrusted flows)."""
    untrusted = issue_metadata(
        stack.rt.box, InstanceMetadata(tenant="acme", account_ids=(stack.acme.account_id,), name="x", trusted=False)
    )
    assert stack.client.post("/zendesk/pull", data={"metadata": untrusted}).status_code == 403
    answer = stack.client.post(
        "/zendesk/channelback",
        data={"metadata": untrusted, "message": "hi", "parent_id": "x:1", "request_unique_identifier": "u1"},
    )
    assert answer.status_code == 403


@pytest.mark.parametrize("case", ["salesforce_only", "uninstalled"])
def test_finding_2_no_trust_for_a_tenant_without_zendesk(stack: Stack, case: str) -> None:
    rt = stack.rt
    if case == "salesforce_only":
        tenant_id = rt.store.ensure_tenant("initech")
        rt.store.set_sink_connection(tenant_id, "salesforce", {"auth": "session"})
        rt.store.upsert_account(tenant_id, "x", "3003", {"user_access_token": "initech-secret"}, handle="initech")
        subdomain = "initech"
    else:
        rt.store.disable_sink_connection(stack.acme.id, "zendesk", "uninstalled")
        subdomain = "acme"
    page = _admin(stack, subdomain)
    html = page.get_data(as_text=True)
    assert 'name="account"' not in html and "install code" in html.lower()
    assert "api_token" not in html


def test_finding_3_first_install_needs_a_code_and_old_metadata_is_revoked(stack: Stack) -> None:
    rt = stack.rt
    page = _admin(stack, "newco", **FORGED)
    assert page.status_code == 200
    assert rt.store.tenant_id("newco") is None  # no tenant row before trust
    save = stack.client.post(
        "/zendesk/admin/save", data={"flow": flow_of(page.get_data(as_text=True)), "new_network": "x"}
    )
    assert save.status_code == 403 and rt.store.tenant_id("newco") is None
    # A wrong code does not help either; the operator's code does, once.
    wrong = stack.client.post(
        "/zendesk/admin/save", data={"flow": flow_of(page.get_data(as_text=True)), "install_code": "guess"}
    )
    assert wrong.status_code == 403
    code = rt.store.trust.invite("newco")
    assert _admin(stack, "newco", install_code=code).status_code == 200
    assert _admin(stack, "newco", install_code=code).status_code == 403  # single use
    # Signed metadata is revoked by an uninstall: a squatter's earlier metadata stops working.
    assert stack.client.post("/zendesk/pull", data={"metadata": stack.acme.metadata}).status_code == 200
    from plugin import trust

    trust.revoke(rt, "acme", "test: uninstall")
    assert stack.client.post("/zendesk/pull", data={"metadata": stack.acme.metadata}).status_code == 403


def test_finding_3_metadata_of_a_removed_instance_is_refused(stack: Stack) -> None:
    rt = stack.rt
    config = rt.store.sink_connection(stack.acme.id, "zendesk")
    assert config is not None
    rt.store.set_sink_connection(stack.acme.id, "zendesk", {**config, "instances": {}})
    assert stack.client.post("/zendesk/pull", data={"metadata": stack.acme.metadata}).status_code == 403


@pytest.mark.parametrize("subdomain", ["evil.example/#", "127.0.0.1:5432/#", "Acme", "-acme", "a" * 64, "acme\n"])
def test_finding_4_subdomain_is_validated(stack: Stack, subdomain: str) -> None:
    response = stack.client.post(
        "/zendesk/admin", data={"subdomain": subdomain, "return_url": "https://evil.example/#.zendesk.com"}
    )
    assert response.status_code == 400
    assert stack.rt.store.tenant_id(subdomain) is None


def test_finding_4_return_url_and_framing_only_the_tenants_zendesk(stack: Stack) -> None:
    bad = stack.client.post("/zendesk/admin", data={"subdomain": "acme", "return_url": "https://evil.example/x"})
    assert bad.status_code == 403
    page = _admin(stack, "acme")
    csp = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' http://127.0.0.1:9;" in csp and "*.zendesk.com" not in csp


def test_finding_4_api_base_must_be_public_https_on_a_self_hosted_network(stack: Stack) -> None:
    from plugin.errors import BadInput

    code = stack.rt.store.trust.invite("acme")
    flow = flow_of(_admin(stack, "acme", install_code=code).get_data(as_text=True))
    refused = [
        ("x", "https://x-proxy.example"),  # X runs on its own servers only
        ("mastodon", "http://10.0.0.5"),
        ("mastodon", "https://169.254.169.254"),
        ("mastodon", "https://localhost:6379"),
    ]
    for network, api_base in refused:
        answer = stack.client.post(
            "/zendesk/admin/save",
            data={"flow": flow, "new_network": network, "new_external_id": "9", "new_api_base": api_base},
        )
        assert answer.status_code == 400, (network, api_base)
    from plugin import egress

    with pytest.raises(BadInput):
        egress.check_url("https://10.1.2.3/x", frozenset())
    assert egress.check_url("http://127.0.0.1:9/x", {"127.0.0.1"}) == "http://127.0.0.1:9/x"


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "https://evil.example/x",
        "//evil.example",
        "data:text/html,x",
        "https://x.com.evil.example/x",
        "https://x.com@evil.example/x",
        # Browsers read a backslash as a slash: the host is evil.example, though urlsplit sees "...x.com".
        "https://evil.example\\.x.com/x",
        "https://evil.example%2f.x.com/x",
        "https://x.com\t.evil.example/x",
    ],
)
def test_finding_4_clickthrough_only_to_the_mentions_network(stack: Stack, url: str) -> None:
    from tests.security.support import store_mention

    store_mention(stack, stack.acme, "777", url)
    response = stack.client.get(
        "/zendesk/clickthrough", query_string={"metadata": stack.acme.metadata, "external_id": "x:777"}
    )
    assert response.status_code == 404
    store_mention(stack, stack.acme, "778", "https://x.com/acme/status/778")
    ok = stack.client.get(
        "/zendesk/clickthrough", query_string={"metadata": stack.acme.metadata, "external_id": "x:778"}
    )
    assert ok.status_code == 302 and ok.headers["Location"] == "https://x.com/acme/status/778"


OBFUSCATED = [
    "write to jane.doe at example dot com",
    "write to jane.doe\uff20example.com",  # full-width at sign
    "call 555.123.4567",
    "call 030/1234567",
    "call 555\u00a0123\u00a04567",
    "card 4111.1111.1111.1111",
    "IBAN DE89370400440532013000",
]


@pytest.mark.parametrize("text", OBFUSCATED)
def test_finding_5_pii_guard_in_the_outbox(stack: Stack, text: str) -> None:
    """The guard is in the outbox: every reply path passes it (here: a Salesforce-sourced reply)."""
    reply = Reply(
        network="x", account="1001", text=text, in_reply_to="1", visibility=Visibility.PUBLIC,
        idempotency_key=f"salesforce:acme:{abs(hash(text))}",
    )  # fmt: skip
    state = outbox.enqueue(stack.rt, stack.acme.id, stack.acme.account_id, reply, source="salesforce")
    result = outbox.attempt(stack.rt, state.id, owner="test")
    assert result.status == "failed"
    assert result.error and "private message" in result.error


@pytest.mark.parametrize("text", OBFUSCATED)
def test_finding_5_channelback_refuses_with_a_reason(stack: Stack, text: str) -> None:
    from tests.security.support import store_mention

    store_mention(stack, stack.acme, "900", "https://x.com/c/900")
    answer = stack.client.post(
        "/zendesk/channelback",
        data={
            "metadata": stack.acme.metadata, "message": text, "parent_id": "x:900",
            "request_unique_identifier": f"u-{abs(hash(text))}",
        },
    )  # fmt: skip
    assert answer.status_code == 422
    assert "private message" in answer.get_json()["reason"]


def test_finding_6_events_are_bounded_and_hostile_json_is_400(stack: Stack) -> None:
    many = {"events": [{"type_id": "x", "subdomain": "acme"} for _ in range(2000)]}
    assert stack.client.post("/zendesk/events", json=many).status_code == 413
    deep = b'{"events": ' + b"[" * 100000 + b"]" * 100000 + b"}"
    assert stack.client.post("/zendesk/events", data=deep, content_type="application/json").status_code == 400
    surrogate = b'{"events": [{"type_id": "\\ud800"}]}'
    assert stack.client.post("/zendesk/events", data=surrogate, content_type="application/json").status_code == 400
    unknown = {"events": [{"type_id": "x", "subdomain": "nobody"}]}
    assert stack.client.post("/zendesk/events", json=unknown).status_code == 200
    assert stack.rt.store.tenant_id("nobody") is None


def test_finding_6_vk_verifies_before_it_parses(stack: Stack) -> None:
    account_id = stack.rt.store.upsert_account(
        stack.acme.id, "vk", "229000001", {"access_token": "t", "secret": "vk-secret", "confirmation_code": "c"},
        settings={"group_id": "229000001"},
    )  # fmt: skip
    found = stack.rt.store.account(account_id)
    assert found is not None
    deep = b"[" * 100000 + b"]" * 100000
    response = stack.client.post(f"/webhooks/vk/{found[0].public_key}", data=deep)
    assert response.status_code == 401
    wrong = json.dumps({"type": "message_new", "secret": "nope", "group_id": 229000001, "object": [[[[]]]]})
    assert stack.client.post(f"/webhooks/vk/{found[0].public_key}", data=wrong).status_code == 401


def test_finding_6_admin_post_creates_no_tenant_row(stack: Stack) -> None:
    before = len(stack.rt.store.tenants.all())
    for subdomain in ("umbrella", "hooli"):
        _admin(stack, subdomain, **FORGED)
    assert len(stack.rt.store.tenants.all()) == before


def test_finding_6_healthz_minimal_and_metrics_behind_a_token(tmp_path: object) -> None:
    from plugin.runtime import build_runtime
    from plugin.web import create_app
    from tests.conftest import fast_settings

    rt = build_runtime(fast_settings(str(tmp_path), metrics_token="m-token"))
    client = create_app(rt).test_client()
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert "counts" in client.get("/healthz", headers={"Authorization": "Bearer m-token"}).get_json()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer m-token"}).status_code == 200
    rt.db.dispose()


def test_healthz_tells_crm_connection_health_only_to_the_metrics_token(tmp_path: object) -> None:
    """The CRM connections' health (issue 15) names tenants' errors and sessions: an anonymous caller,
    a wrong token or another scheme learns only that the server answers."""
    from plugin.runtime import build_runtime
    from plugin.web import create_app
    from tests.conftest import fast_settings

    rt = build_runtime(fast_settings(str(tmp_path), metrics_token="m-token"))
    tenant_id = rt.store.ensure_tenant("acme")
    rt.store.set_sink_connection(tenant_id, "salesforce", {"instance_url": "https://acme.my.salesforce.com"})
    rt.store.health.sink_failed(tenant_id, "salesforce", "acme-org-secret-error")
    client = create_app(rt).test_client()
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic m-token"},
                    {"Authorization": "Bearer m-token-and-more"}):  # fmt: skip
        answer = client.get("/healthz", headers=headers)
        assert answer.get_json() == {"status": "ok"} and b"acme-org-secret-error" not in answer.data
    full = client.get("/healthz", headers={"Authorization": "Bearer m-token"}).get_json()
    assert [c["last_error"] for c in full["crm_connections"]] == ["acme-org-secret-error"]
    rt.db.dispose()


def test_finding_7_access_log_never_writes_query_values() -> None:
    """Fixed on main before this branch (gunicorn, redacting access log); kept as a regression test."""
    from plugin.web import server

    line = server.redact_query("hub.verify_token=s3cret&metadata=signed.token")
    assert "s3cret" not in line and "signed.token" not in line and "hub.verify_token" in line
    # An attachment link's path is its credential: the access log names the route, not the token.
    assert server.redact_path("/attachments/eyJwIjoiZmlsZSJ9.c2ln") == "/attachments/[redacted]"
    assert server.redact_path("/zendesk/pull") == "/zendesk/pull"
