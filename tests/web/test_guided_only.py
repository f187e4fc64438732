"""A network with a guided connect flow is connected through it: the Zendesk admin page no longer offers
its raw credentials form next to "Connect an account…", and a save that types them anyway is refused.
Networks without a flow keep their declared form; the operator can turn the by-hand path back on
(``manual_account_form``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from plugin.runtime import Runtime, build_runtime
from plugin.web import create_app
from tests.conftest import fast_settings
from tests.security.conftest import RETURN_URL, ZENDESK, flow_of, install
from tests.support.formnet import FormnetConnector


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Runtime, FlaskClient]]:
    rt = build_runtime(fast_settings(str(tmp_path), zendesk_api_base=ZENDESK))
    rt.registry.connectors["formnet"] = FormnetConnector()  # a third party's network without a flow
    install(rt, "acme", "1001")
    yield rt, create_app(rt).test_client()
    rt.db.dispose()


def _page(rt: Runtime, client: FlaskClient) -> str:
    code = rt.store.trust.invite("acme")
    answer = client.post("/zendesk/admin", data={"subdomain": "acme", "return_url": RETURN_URL, "install_code": code})
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def test_networks_with_a_flow_are_not_offered_by_hand(setup: tuple[Runtime, FlaskClient]) -> None:
    rt, client = setup
    html = _page(rt, client)
    assert 'id="connect-guided-open"' in html
    assert '<option value="formnet"' in html  # no flow: its declared form stays
    for network in ("x", "facebook", "instagram", "messenger", "mastodon", "bluesky", "telegram", "vk"):
        assert f'<option value="{network}"' not in html and f'data-network="{network}"' not in html


def test_typing_credentials_for_a_network_with_a_flow_is_refused(setup: tuple[Runtime, FlaskClient]) -> None:
    rt, client = setup
    html = _page(rt, client)
    before = len(rt.store.accounts())
    answer = client.post("/zendesk/admin/save", data={
        "flow": flow_of(html), "new_network": "telegram", "new_external_id": "42",
        "credentials.telegram.bot_token": "123:abc", "shown.telegram": "1",
    })  # fmt: skip
    assert answer.status_code == 400 and "guided flow" in answer.get_data(as_text=True)
    assert len(rt.store.accounts()) == before


def test_the_operator_can_turn_the_by_hand_path_on(setup: tuple[Runtime, FlaskClient]) -> None:
    rt, client = setup
    rt.settings = replace(rt.settings, manual_account_form=True)
    assert '<option value="telegram"' in _page(rt, client)
