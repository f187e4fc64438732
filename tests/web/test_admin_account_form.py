"""The Zendesk admin UI connects an account through a form generated from the connector's models."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from plugin.plugins import get_plugin_manager
from plugin.runtime import Runtime, build_runtime
from plugin.web import create_app
from plugin.zendesk.admin_accounts import account_form
from tests.conftest import fast_settings
from tests.support.formnet import FormnetConnector, FormnetPlugin

RETURN_URL = "https://acme.zendesk.com/zendesk/channels/integration_service_instances/editor_finalizer"


@pytest.fixture
def rt(tmp_path: object) -> Iterator[Runtime]:
    pm = get_plugin_manager(extra_plugins=[("formnet", FormnetPlugin())])
    # Every network's declared form, also of those with a guided flow: the operator's by-hand path.
    runtime = build_runtime(fast_settings(str(tmp_path), manual_account_form=True), pm=pm)
    yield runtime
    runtime.db.dispose()


@pytest.fixture
def client(rt: Runtime) -> FlaskClient:
    return create_app(rt).test_client()


def _flow(client: FlaskClient) -> tuple[str, str]:
    # A first install is authorized by the operator's one-time code (README, Security model).
    code = client.application.extensions["horseshoe"].store.trust.invite("acme")
    page = client.post("/zendesk/admin", data={"subdomain": "acme", "return_url": RETURN_URL, "install_code": code})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    match = re.search(r'name="flow" value="([^"]+)"', html)
    assert match
    return match.group(1), html


def _base(flow: str) -> dict[str, str]:
    return {"flow": flow, "new_network": "formnet", "new_external_id": "brand-1", "new_handle": "acme"}


def _field_block(html: str, input_name: str) -> str:
    """The rendered ``.field`` block that holds the input ``input_name`` (label, input, help, error)."""
    start = html.index(f'name="{input_name}"')
    begin = html.rindex('<div class="field', 0, start)
    return html[begin : html.index("</div>", start)]


def test_every_network_gets_its_fields_from_its_models(client: FlaskClient, rt: Runtime) -> None:
    _, html = _flow(client)
    for connector in rt.registry.connectors.values():
        assert f'data-network="{connector.name}"' in html
    assert 'type="password" id="f-formnet-credentials-formnet-token" name="credentials.formnet.token"' in html
    assert 'type="text" id="f-formnet-credentials-formnet-app_id"' in html
    number = 'type="number" id="f-formnet-settings-formnet-page_size" name="settings.formnet.page_size" value="50"'
    assert number in html
    assert 'min="1" max="100"' in html
    assert re.search(r'type="checkbox" id="f-formnet-settings-formnet-include_dms" name="[^"]+" checked', html)
    assert '<option value="eu" selected>eu</option>' in html
    token = _field_block(html, "credentials.formnet.token")
    assert "API token" in token and 'class="req"' in token and "Settings → API → token." in token
    assert 'class="req"' not in _field_block(html, "credentials.formnet.webhook_secret")
    # No network is left with a free-form JSON credentials field.
    assert "new_credentials" not in html and "<textarea" not in html


def test_bad_values_are_refused_next_to_their_fields_and_secrets_not_echoed(client: FlaskClient, rt: Runtime) -> None:
    flow, _ = _flow(client)
    form = {
        **_base(flow),
        "credentials.formnet.token": "tok-s3cret-never-shown",
        # app_id (required) left empty
        "settings.formnet.page_size": "500",
        "settings.formnet.region": "mars",
        "credentials.formnet.<img src=x>": "typo",
    }
    response = client.post("/zendesk/admin/save", data=form)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "tok-s3cret-never-shown" not in html
    assert "this field is required" in _field_block(html, "credentials.formnet.app_id")
    page_size = _field_block(html, "settings.formnet.page_size")
    assert "less than or equal to 100" in page_size and 'value="500"' in page_size
    assert 'aria-invalid="true"' in page_size
    assert "field-error" in _field_block(html, "settings.formnet.region")
    assert "unknown field &#39;&lt;img src=x&gt;&#39;" in html and "<img src=x>" not in html
    assert "fix the fields marked below: App id, Page size, Data region" in html
    assert rt.store.accounts() == []


def test_a_valid_form_stores_credentials_encrypted_and_settings(client: FlaskClient, rt: Runtime) -> None:
    flow, _ = _flow(client)
    fields = account_form(
        FormnetConnector(), {"token": "tok-1", "app_id": "app-9"}, {"page_size": 20, "include_dms": False}
    )
    response = client.post("/zendesk/admin/save", data={**_base(flow), **fields, "settings.formnet.region": "us"})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    [account] = rt.store.accounts()
    found = rt.store.account(account.id)
    assert found is not None
    context = found[1]
    assert dict(context.credentials) == {"token": "tok-1", "app_id": "app-9"}
    # ``satisfaction`` is AccountSettings' own checkbox (every settings_model has it): unticked, False.
    expected = {"page_size": 20, "include_dms": False, "region": "us", "languages": ["en"], "satisfaction": False}
    assert dict(context.settings) == expected
    with rt.db.engine.connect() as conn:
        raw = conn.exec_driver_sql("SELECT credentials_enc FROM accounts").scalar()
    assert "tok-1" not in str(raw)


def test_picking_a_network_reloads_its_fields_without_saving(client: FlaskClient, rt: Runtime) -> None:
    flow, _ = _flow(client)
    # include_dms (checked by default) unchecked: absent from the form, and it stays unchecked.
    typed = {"action": "pick", "shown.formnet": "1", "credentials.formnet.app_id": "kept"}
    response = client.post("/zendesk/admin/save", data={**_base(flow), **typed})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert re.search(r'<fieldset class="network-fields" data-network="formnet">', html)  # shown, enabled
    assert 'value="kept"' in _field_block(html, "credentials.formnet.app_id")
    assert " checked" not in _field_block(html, "settings.formnet.include_dms")
    assert rt.store.accounts() == []
    refused = client.post("/zendesk/admin/save", data={**_base(flow), "action": "delete"})
    assert refused.status_code == 400 and "action must be" in refused.get_json()["reason"]
