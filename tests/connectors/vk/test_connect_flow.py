"""The VK guided flow against the VK fake: the community found from its token, and the optional service
token listening needs (``newsfeed.search`` refuses community tokens) kept with the credentials."""

from __future__ import annotations

from typing import Any

from connectors.vk import VKConnector
from plugin.connectflow import ConnectContext
from sandbox.vk.search import SERVICE_TOKEN


def test_the_flow_keeps_the_service_token_only_when_typed(sandbox: tuple[Any, Any], connector: VKConnector) -> None:
    app, server = sandbox
    flow = connector.connect_flow()
    assert flow is not None
    typed = {"access_token": app.state.access_token, "search_token": SERVICE_TOKEN}
    (found,) = flow.begin(ConnectContext(typed, api_base=server.url))
    assert found.external_id == str(app.state.group_id) and found.credentials["search_token"] == SERVICE_TOKEN
    (without,) = flow.begin(ConnectContext({"access_token": app.state.access_token}, api_base=server.url))
    assert "search_token" not in without.credentials
    # What the flow found is what the connector's own credentials model stores.
    assert connector.credentials_model.model_validate(dict(found.credentials)).search_token is not None
