"""Attacks on the guided connect pages (``/connect``), for ``test_routes.ATTACKS``.

The pages trust only a connect grant signed by this server for one tenant and actor; the OAuth
callback only a signed, single-use state bound to the browser that started it.
"""

from __future__ import annotations

from datetime import timedelta

from plugin import trust
from plugin.connect.flow import seal
from plugin.connect.grant import ConnectGrant, mint_connect_grant
from plugin.connectflow import FoundAccount
from plugin.secrets import SecretBox
from tests.security.conftest import Stack

FOREIGN_BOX = SecretBox("another-servers-key")


def _forged_grant(tenant_id: int, tenant: str) -> str:
    return FOREIGN_BOX.sign({"kind": "connect-grant", "tid": tenant_id, "t": tenant, "a": "x", "g": 0, "exp": 2**40})


def _refused_without_grant(stack: Stack, path: str, **form: str) -> None:
    for grant in ("", _forged_grant(stack.globex.id, "globex"), "not.a-token"):
        answer = stack.client.post(path, data={**form, "grant": grant})
        assert answer.status_code in (401, 403), (path, answer.status_code)
        assert b"globex" not in answer.data and b"2002" not in answer.data


def networks(stack: Stack) -> None:
    _refused_without_grant(stack, "/connect/")
    grant = mint_connect_grant(stack.rt, stack.acme.id, "zendesk-admin:acme")
    page = stack.client.post("/connect/", data={"grant": grant})
    assert page.status_code == 200 and b"acme" in page.data and b"globex" not in page.data
    # Revoking the tenant (uninstall, operator) ends every grant issued before.
    trust.revoke(stack.rt, "acme", "test")
    assert stack.client.post("/connect/", data={"grant": grant}).status_code == 403


def start(stack: Stack) -> None:
    _refused_without_grant(stack, "/connect/telegram", action="begin")
    grant = mint_connect_grant(stack.rt, stack.acme.id, "zendesk-admin:acme", seconds=-1)
    assert stack.client.post("/connect/telegram", data={"grant": grant}).status_code == 403  # expired


def callback(stack: Stack) -> None:
    forged = FOREIGN_BOX.sign({"kind": "connect-state", "n": "nonce", "exp": 2**40})
    assert stack.client.get("/connect/callback", query_string={"state": forged, "code": "c"}).status_code == 403
    assert stack.client.get("/connect/callback", query_string={"code": "c"}).status_code == 401
    # A genuine state for globex's admin, presented from a browser without its binding cookie.
    stack.rt.store.connect_states.create(
        "n-globex", stack.globex.id, "admin", "cookie-globex", "mastodon", {}, timedelta(minutes=5)
    )
    state = stack.rt.box.sign({"kind": "connect-state", "n": "n-globex", "exp": 2**40})
    answer = stack.client.get("/connect/callback", query_string={"state": state, "code": "c"})
    assert answer.status_code == 403 and b"another browser" in answer.data


def save(stack: Stack) -> None:
    _refused_without_grant(stack, "/connect/save", sealed="x", pick="0")
    acme = ConnectGrant(stack.acme.id, "acme", "zendesk-admin:acme", 2**40)
    globex = ConnectGrant(stack.globex.id, "globex", "zendesk-admin:globex", 2**40)
    theirs = FoundAccount("9009", "g", "G", {"user_access_token": "t"}, network="x")
    sealed_for_globex = seal(stack.rt, globex, "x", [theirs])
    grant = mint_connect_grant(stack.rt, stack.acme.id, "zendesk-admin:acme")
    answer = stack.client.post("/connect/save", data={"grant": grant, "sealed": sealed_for_globex, "pick": "0"})
    assert answer.status_code == 403
    # globex's X account found again under acme (acme signed in as it elsewhere): never moved silently.
    stolen = FoundAccount("2002", "globex", "Globex", {"user_access_token": "attacker"}, network="x")
    sealed = seal(stack.rt, acme, "x", [stolen])
    page = stack.client.post("/connect/save", data={"grant": grant, "sealed": sealed, "pick": "0"})
    assert page.status_code == 200 and b"another horseshoe tenant" in page.data
    assert stack.rt.store.brand_accounts.owners("x", "2002") == [stack.globex.id]
    found = stack.rt.store.account(stack.globex.account_id)
    assert found is not None and found[1].credentials["user_access_token"] == "secret-globex"


def activate(stack: Stack) -> None:
    _refused_without_grant(stack, "/connect/activate", account_id=str(stack.globex.account_id))
    grant = mint_connect_grant(stack.rt, stack.acme.id, "zendesk-admin:acme")
    answer = stack.client.post("/connect/activate", data={"grant": grant, "account_id": str(stack.globex.account_id)})
    assert answer.status_code == 404 and b"2002" not in answer.data


ATTACKS = {
    "connect.networks": networks,
    "connect.start": start,
    "connect.callback": callback,
    "connect.save": save,
    "connect.activate": activate,
}
