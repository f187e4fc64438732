"""The OAuth state of the guided connect flows: signed, single-use, expiring, bound to the browser.

Driven against the Mastodon fake (app registration and OAuth on the admin's server): horseshoe's pages
through Flask's test client (which keeps the binding cookie, as a browser does), the fake's consent page
with requests, as the admin's browser would submit it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from typing import Any

import pytest
from flask.testing import FlaskClient

from plugin.connect.grant import mint_connect_grant
from plugin.runtime import Runtime, build_runtime
from plugin.testing import RunningServer, serve_in_thread
from plugin.web import create_app
from sandbox import mastodon
from tests.conftest import fast_settings
from tests.support.consent import authorize_url, query_of, redirect_of


@dataclass
class Setup:
    rt: Runtime
    client: FlaskClient
    fake: Any
    server: RunningServer
    grant: str
    brand: dict[str, str]


@pytest.fixture
def setup(tmp_path: object) -> Iterator[Setup]:
    rt = build_runtime(fast_settings(str(tmp_path), public_url="https://horseshoe.example"))
    tenant_id = rt.store.ensure_tenant("acme")
    fake = mastodon.create_app()
    server = serve_in_thread(fake)
    brand = fake.state.add_account("acme", display_name="Acme")
    grant = mint_connect_grant(rt, tenant_id, "admin:ada")
    yield Setup(rt, create_app(rt).test_client(), fake, server, grant, brand)
    server.stop()
    rt.db.dispose()


def _authorize_url(s: Setup, client: FlaskClient | None = None) -> str:
    return authorize_url(client or s.client, "mastodon", {"grant": s.grant, "start.api_base": s.server.url})


def _approve(s: Setup, url: str, decision: str = "approve") -> dict[str, str]:
    """The admin approves on the server's consent page; returns the query of the redirect to horseshoe."""
    location = redirect_of(url, s.brand["id"], decision)
    assert location.startswith("https://horseshoe.example/connect/callback?")  # only our own callback
    return query_of(location)


def test_the_state_works_once(setup: Setup) -> None:
    back = _approve(setup, _authorize_url(setup))
    first = setup.client.get("/connect/callback", query_string=back)
    assert first.status_code == 200 and b"Acme" in first.data
    replay = setup.client.get("/connect/callback", query_string=back)
    assert replay.status_code == 403 and b"already used" in replay.data


def test_the_state_is_bound_to_the_browser_that_started(setup: Setup) -> None:
    back = _approve(setup, _authorize_url(setup))
    other_browser = create_app(setup.rt).test_client()
    answer = other_browser.get("/connect/callback", query_string=back)
    assert answer.status_code == 403 and b"another browser" in answer.data
    # The rightful browser can still finish: the refusal did not use the state up.
    assert setup.client.get("/connect/callback", query_string=back).status_code == 200


def test_an_expired_state_is_refused(setup: Setup) -> None:
    url = _authorize_url(setup)
    back = _approve(setup, url)
    claims = setup.rt.box.verify(back["state"])
    expired = setup.rt.box.sign({**claims, "exp": 1})
    answer = setup.client.get("/connect/callback", query_string={**back, "state": expired})
    assert answer.status_code == 403 and b"expired" in answer.data


def test_a_denial_at_the_network_is_explained_and_stores_nothing(setup: Setup) -> None:
    back = _approve(setup, _authorize_url(setup), decision="deny")
    answer = setup.client.get("/connect/callback", query_string=back)
    assert answer.status_code == 400 and b"did not authorize horseshoe" in answer.data
    assert setup.rt.store.accounts() == []


def test_the_redirect_uri_ignores_the_request_host(setup: Setup) -> None:
    url = _authorize_url(setup, setup.client)
    spoofed = create_app(setup.rt).test_client()
    page = spoofed.post(
        "/connect/mastodon",
        data={"grant": setup.grant, "action": "begin", "start.api_base": setup.server.url},
        headers={"Host": "evil.example"},
    )
    match = re.search(r'id="authorize" href="([^"]+)"', page.get_data(as_text=True))
    assert match and "evil.example" not in unescape(match.group(1))
    assert "redirect_uri=https%3A%2F%2Fhorseshoe.example%2Fconnect%2Fcallback" in url


def test_a_bad_server_is_reported_next_to_its_field(setup: Setup) -> None:
    for value, message in (
        ("http://10.0.0.1", b"must use https"),
        ("https://127.0.0.1.nip.io.invalid", b"cannot resolve"),
        ("", b"this field is required"),
    ):
        page = setup.client.post(
            "/connect/mastodon", data={"grant": setup.grant, "action": "begin", "start.api_base": value}
        )
        assert page.status_code == 400 and message in page.data, (value, page.data[-600:])
        assert b'class="field invalid"' in page.data


def test_picking_nothing_is_refused_with_a_reason(setup: Setup) -> None:
    back = _approve(setup, _authorize_url(setup))
    page = setup.client.get("/connect/callback", query_string=back).get_data(as_text=True)
    sealed = re.search(r'name="sealed" value="([^"]+)"', page)
    grant = re.search(r'name="grant" value="([^"]+)"', page)
    assert sealed and grant
    answer = setup.client.post("/connect/save", data={"grant": grant.group(1), "sealed": sealed.group(1)})
    assert answer.status_code == 400 and b"tick at least one account" in answer.data
    assert setup.rt.store.accounts() == []
    bad = setup.client.post("/connect/save", data={"grant": grant.group(1), "sealed": sealed.group(1), "pick": "7"})
    assert bad.status_code == 400 and setup.rt.store.accounts() == []


def test_revoking_the_tenant_ends_a_sign_in_under_way(setup: Setup) -> None:
    from plugin import trust

    back = _approve(setup, _authorize_url(setup))
    trust.revoke(setup.rt, "acme", "uninstalled while the admin was signing in")
    answer = setup.client.get("/connect/callback", query_string=back)
    assert answer.status_code == 403 and b"revoked" in answer.data
    assert setup.rt.store.accounts() == []
