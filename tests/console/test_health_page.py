"""The console's health page (issue 15): each account and CRM connection the admin reaches, its state
in the words the Zendesk admin page and doctor use, last success, last error, token expiry, and a way
to reconnect where an admin is needed; another tenant's rows are never shown."""

from __future__ import annotations

import re
from datetime import timedelta

from plugin import attention
from plugin.errors import AuthError, RetriableError
from plugin.store.db import utcnow
from tests.console.support import login, make_admin
from tests.security.conftest import Stack


def _row(page: str, attribute: str) -> str:
    """The table row whose opening tag carries ``attribute`` (e.g. ``data-account="3"``)."""
    match = re.search(rf"<tr {attribute}[^>]*>(.*?)</tr>", page, re.S)
    assert match, attribute
    return match.group(0)


def _globex_in_trouble(stack: Stack) -> None:
    attention.account_refused(stack.rt, stack.globex.account_id, AuthError("globex-token-revoked"), "poll")
    stack.rt.store.health.sink_failed(stack.globex.id, "zendesk", "globex-zendesk-down")


def test_a_refused_account_needs_attention_with_a_reconnect_button(stack: Stack) -> None:
    rt = stack.rt
    rt.store.health.poll_succeeded(stack.acme.account_id)
    attention.account_refused(rt, stack.acme.account_id, AuthError("X GET /2/users/:id/mentions 401"), "poll")
    rt.store.health.failed(stack.acme.account_id, "x refused the credentials: 401")
    _globex_in_trouble(stack)
    make_admin(rt, "ada", tenant="acme")
    login(stack.client, "ada")
    answer = stack.client.get("/console/health")
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    row = _row(page, f'data-account="{stack.acme.account_id}"')
    assert 'data-state="attention"' in row and ">Needs attention<" in row and ">paused<" in row
    assert "x refused the credentials (token expired, revoked or missing a permission)" in row
    assert "its polls and replies are paused until it is connected again" in row
    assert f"<code>{stack.acme.account_id}</code>" in row  # the id horseshoe backfill takes
    assert "poll " + utcnow().strftime("%Y-%m-%d") in row and "webhook never" in row
    # "Connect it again": the guided connect flow, with a grant for acme.
    assert 'action="/connect/"' in row and 'name="grant"' in row and "Connect it again" in row
    assert 'id="attention-total"><strong>1</strong>' in page
    # Tenant isolation: globex's account, its reason and its CRM's error are nowhere.
    assert "globex" not in page and f'data-account="{stack.globex.account_id}"' not in page


def test_a_warning_ahead_of_expiry_and_crm_connections(stack: Stack) -> None:
    rt = stack.rt
    expires = utcnow() + timedelta(days=5, hours=1)
    rt.store.health.token_expiry(stack.acme.account_id, expires)
    attention.token_expiring(rt, stack.acme.account_id, expires)
    rt.store.health.sink_succeeded(stack.acme.id, "zendesk")
    rt.store.health.sink_failed(stack.acme.id, "zendesk", attention.plain_error(RetriableError("HTTP 503"), "zendesk"))
    rt.store.set_sink_connection(stack.acme.id, "salesforce", {"auth": "oauth", "instance_url": "https://acme.example"})
    rt.store.health.sink_succeeded(stack.acme.id, "salesforce", utcnow() + timedelta(minutes=90))
    attention.sink_refused(rt, stack.acme.id, "salesforce", AuthError("INVALID_SESSION_ID: refresh token revoked"))
    make_admin(rt, "ada", tenant="acme")
    login(stack.client, "ada")
    page = stack.client.get("/console/health").get_data(as_text=True)
    account = _row(page, f'data-account="{stack.acme.account_id}"')
    assert ">Needs attention soon<" in account and ">paused<" not in account
    assert "cannot be renewed without you" in account and "expires in 5 days" in account
    assert "Connect it again" in account
    zendesk = _row(page, 'data-sink="zendesk"')
    assert ">Failing<" in zendesk
    assert "zendesk did not answer properly (temporary; retried automatically): HTTP 503" in zendesk
    assert "Connect zendesk again" not in zendesk  # Zendesk sends fresh credentials itself
    salesforce = _row(page, 'data-sink="salesforce"')
    assert ">Needs attention<" in salesforce and ">paused<" in salesforce
    assert "salesforce refused the credentials" in salesforce and "deliveries to it are paused" in salesforce
    assert "Connect salesforce again" in salesforce and 'action="/connect/"' in salesforce
    assert "expires in 1 hour" in salesforce and "renewed automatically" in salesforce
    # The most urgent first: the paused Salesforce org before the failing Zendesk instance.
    assert page.index('data-sink="salesforce"') < page.index('data-sink="zendesk"')
    assert 'id="attention-total"><strong>2</strong>' in page


def test_the_home_counts_what_needs_attention_and_links_the_page(stack: Stack) -> None:
    attention.account_refused(stack.rt, stack.acme.account_id, AuthError("401"), "poll")
    _globex_in_trouble(stack)
    make_admin(stack.rt, "ada", tenant="acme")
    login(stack.client, "ada")
    home = stack.client.get("/console/").get_data(as_text=True)
    assert re.search(r'id="attention-count">1<', home)
    assert 'href="/console/health"' in home and ">Needs attention</a>" in home
    assert "globex" not in home


def test_an_operator_sees_every_tenant(stack: Stack) -> None:
    attention.account_refused(stack.rt, stack.acme.account_id, AuthError("401"), "poll")
    _globex_in_trouble(stack)
    make_admin(stack.rt, "root")
    login(stack.client, "root")
    page = stack.client.get("/console/health").get_data(as_text=True)
    for tenant in (stack.acme, stack.globex):
        assert 'data-state="attention"' in _row(page, f'data-account="{tenant.account_id}"')
    globex_crm = _row(page, f'data-sink="zendesk" data-tenant="{stack.globex.id}"')
    assert ">Failing<" in globex_crm and "globex-zendesk-down" in globex_crm
    assert 'id="attention-total"><strong>2</strong>' in page
    assert re.search(r'id="attention-count">2<', stack.client.get("/console/").get_data(as_text=True))


def test_a_refused_crm_without_a_connection_row_is_still_shown(stack: Stack) -> None:
    """Refused credentials of a CRM whose connection row is gone: listed, paused, with the reconnect
    button (the Zendesk admin page lists them under "Needs a look" in the same words)."""
    attention.sink_refused(stack.rt, stack.acme.id, "salesforce", AuthError("refresh token revoked"))
    attention.sink_refused(stack.rt, stack.globex.id, "salesforce", AuthError("globex-org-refused"))
    make_admin(stack.rt, "ada", tenant="acme")
    login(stack.client, "ada")
    page = stack.client.get("/console/health").get_data(as_text=True)
    row = _row(page, f'data-sink="salesforce" data-tenant="{stack.acme.id}"')
    assert ">Needs attention<" in row and "salesforce: salesforce refused the credentials" in row
    assert "refresh token revoked" in row and "Connect salesforce again" in row and "none left" in row
    assert "globex" not in page and f'data-tenant="{stack.globex.id}"' not in page


def test_strangers_are_sent_to_the_login_or_refused(stack: Stack) -> None:
    _globex_in_trouble(stack)
    page = stack.client.get("/console/health", headers={"Accept": "text/html"})
    assert page.status_code == 302 and "/console/login" in page.headers["Location"]
    api = stack.client.get("/console/health", headers={"Accept": "application/json"})
    assert api.status_code == 401 and b"globex" not in api.data
