"""Cross-tenant and unauthenticated attempts on every route of the app.

The routes are enumerated from Flask's URL map: a new route without an entry in ``ATTACKS`` (or in
``PUBLIC``, with the reason it needs no trust) fails ``test_every_route_is_attacked``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from plugin.secrets import SecretBox
from plugin.web import create_app
from plugin.web.attachments import file_url
from plugin.zendesk.tokens import InstanceMetadata, issue_metadata
from tests.console.support import failed_delivery, login, make_admin, uncertain_reply
from tests.security import connect_attacks
from tests.security.conftest import RETURN_URL, Stack
from tests.security.support import store_mention

FOREIGN_BOX = SecretBox("another-servers-key")


def _foreign_metadata(tenant: str) -> str:
    return issue_metadata(FOREIGN_BOX, InstanceMetadata(tenant=tenant, account_ids=(1, 2), name="x"))


def _pull(stack: Stack) -> None:
    store_mention(stack, stack.globex, "5001", "https://x.com/g/5001")
    for metadata in (None, _foreign_metadata("globex")):
        assert stack.client.post("/zendesk/pull", data={"metadata": metadata or ""}).status_code in (400, 401, 403)
    # acme's own metadata never returns globex's mention.
    page = stack.client.post("/zendesk/pull", data={"metadata": stack.acme.metadata})
    assert page.status_code == 200 and "5001" not in page.get_data(as_text=True)


def _channelback(stack: Stack) -> None:
    store_mention(stack, stack.globex, "5002", "https://x.com/g/5002")
    form = {"message": "hello", "parent_id": "x:5002", "request_unique_identifier": "cb-1"}
    assert stack.client.post("/zendesk/channelback", data={**form, "metadata": stack.acme.metadata}).status_code in (
        403,
        404,
    )
    assert stack.client.post("/zendesk/channelback", data=form).status_code in (400, 401)
    assert stack.rt.store.outbox.find_posted(stack.globex.id, "x", "5002") is None


def _clickthrough(stack: Stack) -> None:
    store_mention(stack, stack.globex, "5003", "https://x.com/g/5003")
    query = {"metadata": stack.acme.metadata, "external_id": "x:5003"}
    assert stack.client.get("/zendesk/clickthrough", query_string=query).status_code == 404
    assert stack.client.get("/zendesk/clickthrough", query_string={"external_id": "x:5003"}).status_code == 401


def _admin_start(stack: Stack) -> None:
    # acme's metadata presented for globex; globex with no vouching at all.
    answer = stack.client.post(
        "/zendesk/admin", data={"subdomain": "globex", "return_url": RETURN_URL, "metadata": stack.acme.metadata}
    )
    assert answer.status_code == 403
    page = stack.client.post("/zendesk/admin", data={"subdomain": "globex", "return_url": RETURN_URL})
    assert "2002" not in page.get_data(as_text=True)


def _admin_save(stack: Stack) -> None:
    forged = FOREIGN_BOX.sign({"kind": "zd-admin", "t": "globex", "tr": True, "exp": 2**40, "g": 0, "r": RETURN_URL})
    assert stack.client.post("/zendesk/admin/save", data={"flow": forged}).status_code == 403
    assert stack.client.post("/zendesk/admin/save", data={}).status_code == 400


def _events(stack: Stack) -> None:
    # Unsigned by Zendesk's design: an uninstall claim for globex is only acted on once Zendesk confirms.
    body = {"events": [{"type_id": "destroy_integration_instance", "subdomain": "globex"}]}
    assert stack.client.post("/zendesk/events", json=body).status_code == 200
    assert stack.rt.store.sink_connection(stack.globex.id, "zendesk") is not None


def _identity(path: str, method: str) -> Callable[[Stack], None]:
    def attack(stack: Stack) -> None:
        for headers in ({}, {"Authorization": f"Bearer {_foreign_metadata('globex')}"}):
            answer = stack.client.open(path, method=method, headers=headers, json={"by": "x"})
            assert answer.status_code in (401, 403), (path, answer.status_code)
        from plugin import trust

        trust.revoke(stack.rt, "acme", "test")
        revoked = {"Authorization": f"Bearer {stack.acme.metadata}"}
        assert stack.client.open(path, method=method, headers=revoked, json={"by": "x"}).status_code == 403

    return attack


def _identity_page(stack: Stack) -> None:
    assert stack.client.post("/identity/", data={"metadata": _foreign_metadata("globex")}).status_code == 403
    assert stack.client.post("/identity/", data={}).status_code in (400, 401)


def _dashboard_page(stack: Stack) -> None:
    store_mention(stack, stack.globex, "5004", "https://x.com/g/5004")
    assert stack.client.post("/dashboard/", data={"metadata": _foreign_metadata("globex")}).status_code == 403
    assert stack.client.post("/dashboard/", data={}).status_code == 401
    forged = FOREIGN_BOX.sign({"kind": "zd-admin", "t": "globex", "tr": True, "exp": 2**40, "g": 0, "r": RETURN_URL})
    assert stack.client.post("/dashboard/", data={"flow": forged}).status_code in (401, 403)
    # acme's own metadata shows acme, whatever account id of globex's it names
    own = stack.client.post("/dashboard/", data={"metadata": stack.acme.metadata, "account": stack.globex.account_id})
    assert own.status_code == 404 and b"globex" not in own.data


def _api_metrics(stack: Stack) -> None:
    for headers in ({}, {"Authorization": f"Bearer {_foreign_metadata('globex')}"}):
        assert stack.client.get("/api/metrics", headers=headers).status_code in (401, 403)
    mine = stack.client.get("/api/metrics", headers={"Authorization": f"Bearer {stack.acme.metadata}"})
    assert mine.status_code == 200 and b"globex" not in mine.data
    other = stack.client.get(
        "/api/metrics", query_string={"account": stack.globex.account_id},
        headers={"Authorization": f"Bearer {stack.acme.metadata}"},
    )  # fmt: skip
    assert other.status_code == 404


def _attachments(stack: Stack) -> None:
    link = file_url(FOREIGN_BOX, "http://h", stack.globex.id, "x", "2002", "horseshoe-file:abc")
    token = link.rsplit("/", 1)[1]
    assert stack.client.get(f"/attachments/{token}").status_code == 403
    # A genuine link names its tenant and account: it cannot be pointed at another tenant's account.
    own = file_url(stack.rt.box, "http://h", stack.acme.id, "x", "2002", "horseshoe-file:abc").rsplit("/", 1)[1]
    assert stack.client.get(f"/attachments/{own}").status_code == 404


def _webhooks(stack: Stack) -> None:
    found = stack.rt.store.account(stack.globex.account_id)
    assert found is not None
    answer = stack.client.post(f"/webhooks/x/{found[0].public_key}", data=b'{"for_user_id": "2002"}')
    assert answer.status_code == 401
    assert stack.client.post("/webhooks/x/not-a-key", data=b"{}").status_code == 404


def _app_webhooks(stack: Stack) -> None:
    """An app's one callback URL: unknown tenant or app is 404; a body signed with another tenant's
    app secret, or not at all, stores nothing (401)."""
    secret = {"page_access_token": "t", "app_secret": "globex-app-secret", "verify_token": "v", "app_id": "5550001"}
    stack.rt.store.upsert_account(stack.globex.id, "facebook", "7770001", secret, handle="globex-page")
    body = b'{"object": "page", "entry": [{"id": "7770001", "time": 1, "changes": []}]}'
    assert stack.client.post("/webhooks/app/acme/5550001", data=body).status_code == 404  # not acme's app
    assert stack.client.post("/webhooks/app/nobody/5550001", data=body).status_code == 404
    forged = {"X-Hub-Signature-256": "sha256=" + "0" * 64}
    assert stack.client.post("/webhooks/app/globex/5550001", data=body, headers=forged).status_code == 401
    assert stack.client.get("/webhooks/app/globex/5550001", query_string={"hub.mode": "subscribe",
                            "hub.verify_token": "guess", "hub.challenge": "1"}).status_code == 401  # fmt: skip
    assert stack.rt.store.counts()["mentions"] == 0


def _metrics(stack: Stack) -> None:
    # Open unless metrics_token is set (tested in test_findings); it names no tenant.
    assert b"globex" not in stack.client.get("/metrics").data


def _console_stranger(stack: Stack, path: str, method: str) -> None:
    """No session: a browser is sent to the login page, anything else gets 401; nothing is shown."""
    for accept in ("text/html", "application/json"):
        answer = stack.client.open(path, method=method, headers={"Accept": accept}, data={"why": "x"})
        assert answer.status_code in (302, 401, 403), (path, answer.status_code)
        assert b"globex" not in answer.data and b"acme" not in answer.data
        if answer.status_code == 302:
            assert "/console/login" in answer.headers["Location"]


def _console_page(path: str) -> Callable[[Stack], None]:
    """Strangers are refused; acme's tenant admin sees nothing of globex."""

    def attack(stack: Stack) -> None:
        _console_stranger(stack, path, "GET")
        failed_delivery(stack.rt, stack.globex.id, stack.globex.account_id, "9001")
        uncertain_reply(stack.rt, stack.globex.id, stack.globex.account_id, "k-globex-secret")
        make_admin(stack.rt, "acme-admin", tenant="acme")
        login(stack.client, "acme-admin")
        page = stack.client.get(path)
        assert page.status_code == 200, page.status_code
        text = page.get_data(as_text=True)
        assert "globex" not in text and "9001" not in text and "k-globex-secret" not in text
        if path.startswith("/identity/"):
            assert stack.client.get(path, query_string={"tenant": "globex"}).status_code == 404

    return attack


def _console_action(path: str) -> Callable[[Stack], None]:
    """Strangers and requests without the CSRF token are refused; acme's admin cannot touch globex's rows."""

    def attack(stack: Stack) -> None:
        delivery = failed_delivery(stack.rt, stack.globex.id, stack.globex.account_id, "9002")
        reply = uncertain_reply(stack.rt, stack.globex.id, stack.globex.account_id, "k-9002")
        target = path.format(delivery=delivery, reply=reply)
        _console_stranger(stack, target, "POST")
        make_admin(stack.rt, "acme-admin", tenant="acme")
        token = login(stack.client, "acme-admin")
        assert stack.client.post(target, data={"why": "x", "tenant": "globex"}).status_code == 403  # no CSRF token
        answer = stack.client.post(target, data={"csrf_token": token, "why": "x", "tenant": "globex"})
        assert answer.status_code == 404, answer.status_code
        assert [d.id for d in stack.rt.store.failures.failed_deliveries(None)] == [delivery]
        assert [r.id for r in stack.rt.store.failures.uncertain_replies(None)] == [reply]

    return attack


def _console_quarantine(path: str, method: str) -> Callable[[Stack], None]:
    """Strangers and posts without the CSRF token are refused; acme's admin neither sees nor touches
    globex's quarantined item (404, as for one that does not exist)."""

    def attack(stack: Stack) -> None:
        from plugin.connector import Quarantined

        [item] = stack.rt.store.quarantine.add(
            stack.globex.id, stack.globex.account_id, "testnet", "poll",
            [Quarantined("data[0]", "KeyError: 'id'", {"data": [{"text": "globex-secret-item"}]})],
        )  # fmt: skip
        target = path.format(item=item)
        _console_stranger(stack, target, method)
        make_admin(stack.rt, "acme-admin", tenant="acme")
        token = login(stack.client, "acme-admin")
        if method == "GET":
            page = stack.client.get(target).get_data(as_text=True)
            assert "globex-secret-item" not in page and "KeyError" not in page
            return
        assert stack.client.post(target, data={"why": "x"}).status_code == 403  # no CSRF token
        answer = stack.client.post(target, data={"csrf_token": token, "why": "not ours"})
        assert answer.status_code == 404, answer.status_code
        row = stack.rt.store.quarantine.get(item)
        assert row is not None and row.status == "quarantined" and row.attempts == 0

    return attack


def _console_health(stack: Stack) -> None:
    """The health page: strangers refused; acme's admin never sees globex's refused account or its CRM's error."""
    from plugin import attention
    from plugin.errors import AuthError

    attention.account_refused(stack.rt, stack.globex.account_id, AuthError("globex-secret-reason"), "poll")
    stack.rt.store.health.sink_failed(stack.globex.id, "zendesk", "globex-secret-crm-error")
    _console_page("/console/health")(stack)
    page = stack.client.get("/console/health").get_data(as_text=True)
    assert "globex-secret" not in page and f'data-account="{stack.globex.account_id}"' not in page
    assert f'data-account="{stack.acme.account_id}"' in page


def _console_login(stack: Stack) -> None:
    # The login form shows no tenant; a login without the form's token, or for nobody, opens nothing.
    assert b"acme" not in stack.client.get("/console/login").data
    assert stack.client.post("/console/login", data={"name": "acme-admin", "password": "x"}).status_code == 403
    assert stack.client.get_cookie("horseshoe_console") is None


def _console_logout(stack: Stack) -> None:
    _console_stranger(stack, "/console/logout", "POST")
    make_admin(stack.rt, "acme-admin", tenant="acme")
    login(stack.client, "acme-admin")
    # Another site cannot log the admin out (no CSRF token): the session survives.
    assert stack.client.post("/console/logout").status_code == 403
    assert stack.client.get("/console/").status_code == 200


def _console_dashboard(stack: Stack) -> None:
    """The console's dashboard: strangers refused, acme's admin reaches acme's and never globex's."""
    _console_stranger(stack, f"/console/dashboard/{stack.acme.id}", "GET")
    make_admin(stack.rt, "acme-admin", tenant="acme")
    token = login(stack.client, "acme-admin")
    own = stack.client.get(f"/console/dashboard/{stack.acme.id}")
    assert own.status_code == 200 and b"globex" not in own.data
    assert stack.client.get(f"/console/dashboard/{stack.globex.id}").status_code == 404
    assert stack.client.get("/console/dashboard/99999999999999999999999").status_code == 404
    # A filter post without the CSRF token is refused; with it, globex stays out of reach.
    assert stack.client.post(f"/console/dashboard/{stack.acme.id}", data={"period": "7d"}).status_code == 403
    answer = stack.client.post(f"/console/dashboard/{stack.globex.id}", data={"csrf_token": token})
    assert answer.status_code == 404


def _console_service(stack: Stack) -> None:
    """Service settings: strangers refused, no change without the CSRF token, globex out of reach."""
    _console_stranger(stack, f"/console/service/{stack.acme.id}", "GET")
    make_admin(stack.rt, "acme-admin", tenant="acme")
    token = login(stack.client, "acme-admin")
    own = stack.client.get(f"/console/service/{stack.acme.id}")
    assert own.status_code == 200 and b"globex" not in own.data
    assert stack.client.get(f"/console/service/{stack.globex.id}").status_code == 404
    change = {"service_settings": "1", "business_hours": "UTC: Mon-Fri 09:00-17:00"}
    assert stack.client.post(f"/console/service/{stack.acme.id}", data=change).status_code == 403
    answer = stack.client.post(f"/console/service/{stack.globex.id}", data={"csrf_token": token, **change})
    assert answer.status_code == 404
    assert stack.rt.store.csat.business_hours(stack.globex.id) == ""
    assert stack.rt.store.csat.business_hours(stack.acme.id) == ""


def _public(path: str) -> Callable[[Stack], None]:
    def check(stack: Stack) -> None:
        answer = stack.client.get(path)
        assert answer.status_code < 500 and b"globex" not in answer.data and b"acme" not in answer.data

    return check


ATTACKS: dict[str, Callable[[Stack], None]] = {
    "zendesk.pull": _pull,
    "zendesk.channelback": _channelback,
    "zendesk.clickthrough": _clickthrough,
    "zendesk.admin_start": _admin_start,
    "zendesk.admin_save": _admin_save,
    "zendesk.events": _events,
    "identity.page": _identity_page,
    "identity.suggestions": _identity("/identity/api/suggestions", "GET"),
    "identity.audit": _identity("/identity/api/audit", "GET"),
    "identity.decide": _identity("/identity/api/suggestions/1/accept", "POST"),
    "identity.undo": _identity("/identity/api/audit/1/undo", "POST"),
    "identity.forget": _identity("/identity/api/forget", "POST"),
    "dashboard.page": _dashboard_page,
    "dashboard.api_metrics": _api_metrics,
    "attachments.open_file": _attachments,
    "webhooks.receive": _webhooks,
    "webhooks.receive_app": _app_webhooks,
    "health.metrics": _metrics,
    **connect_attacks.ATTACKS,
    # Public by design, checked to reveal no tenant: Zendesk fetches these before any install.
    "zendesk.manifest": _public("/zendesk/manifest.json"),
    "zendesk.about": _public("/zendesk/about"),
    "zendesk.healthcheck": _public("/zendesk/healthcheck"),
    "health.healthz": _public("/healthz"),
    "static": _public("/static/nothing.css"),
    # The standalone console (plugin/console/, identity's standalone page).
    "console.root": _public("/"),
    "console.login": _console_login,
    "console.login_submit": _console_login,
    "console.logout": _console_logout,
    "console.home": _console_page("/console/"),
    "console.password": _console_page("/console/password"),
    "console.failures": _console_page("/console/failures"),
    "console.health": _console_health,
    "console.service": _console_service,
    "console.dashboard": _console_dashboard,
    "console.quarantine": _console_quarantine("/console/quarantine", "GET"),
    "console.quarantine_retry": _console_quarantine("/console/quarantine/{item}/retry", "POST"),
    "console.quarantine_discard": _console_quarantine("/console/quarantine/{item}/discard", "POST"),
    "console.delivery_action": _console_action("/console/deliveries/{delivery}/retry"),
    "console.reply_action": _console_action("/console/replies/{reply}/mark-sent"),
    "identity.console_page": _console_page("/identity/console"),
    "identity.console_decide": _console_action("/identity/console/suggestions/1/accept"),
}


def test_every_route_is_attacked(stack: Stack) -> None:
    endpoints = {rule.endpoint for rule in create_app(stack.rt).url_map.iter_rules()}
    missing = endpoints - set(ATTACKS)
    assert not missing, f"routes without a cross-tenant/unauthenticated test: {sorted(missing)}"


@pytest.mark.parametrize("endpoint", sorted(ATTACKS))
def test_route_refuses_other_tenants_and_strangers(stack: Stack, endpoint: str) -> None:
    ATTACKS[endpoint](stack)
