"""Every built-in connector declares the credentials and settings it reads, and what the sandbox
harnesses and the demo connect with validates against them; a mistyped key is refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from plugin.connector import AccountContext, Connector, NoCredentials, NoSettings
from plugin.plugins import get_plugin_manager
from sandbox.networks import BUILTIN

NETWORKS = ("x", "facebook", "messenger", "instagram", "mastodon", "bluesky", "telegram", "vk")
# The demo adds this to every account's settings (plugin/demo.py, plugin/demo_networks.py); the host's
# worker reads it.
DEMO_POLL = {"poll_interval_seconds": 0.5}


def _connectors() -> dict[str, Connector]:
    pm = get_plugin_manager()
    return {c.name: c for found in pm.hook.horseshoe_register_connectors() for c in found}


@pytest.fixture(scope="module")
def connectors() -> dict[str, Connector]:
    return _connectors()


@pytest.fixture(scope="module")
def harness_accounts() -> Iterator[dict[str, AccountContext]]:
    accounts: dict[str, AccountContext] = {}
    harnesses = []
    try:
        for name in NETWORKS:
            harness = BUILTIN[name]()
            harnesses.append(harness)
            harness.start()
            harness.reset()
            accounts[name] = harness.account()
        yield accounts
    finally:
        for harness in harnesses:
            harness.stop()


@pytest.mark.parametrize("network", NETWORKS)
def test_every_builtin_connector_declares_its_models(connectors: dict[str, Connector], network: str) -> None:
    connector = connectors[network]
    assert connector.credentials_model is not NoCredentials
    assert connector.settings_model is not NoSettings
    for model in (connector.credentials_model, connector.settings_model):
        for field_name, info in model.model_fields.items():
            assert info.title and info.description, f"{network} {model.__name__}.{field_name} needs title+description"
    for field_name, info in connector.credentials_model.model_fields.items():
        if any(word in field_name for word in ("secret", "password", "token")) and field_name != "consumer_key":
            assert SecretStr in _types(info.annotation), f"{network} credential {field_name} must be a SecretStr"


def _types(annotation: Any) -> set[Any]:
    args = getattr(annotation, "__args__", None)
    return set(args) if args else {annotation}


@pytest.mark.parametrize("network", NETWORKS)
def test_harness_and_demo_accounts_validate(
    connectors: dict[str, Connector], harness_accounts: dict[str, AccountContext], network: str
) -> None:
    connector, account = connectors[network], harness_accounts[network]
    credentials = connector.credentials_model.model_validate(dict(account.credentials))
    connector.settings_model.model_validate(dict(account.settings))
    # The demo connects the other networks with the harness account plus a fast poll interval.
    connector.settings_model.model_validate({**account.settings, **DEMO_POLL})
    # Secrets never show in a repr (the admin UI and logs may print a model).
    for field_name in type(credentials).model_fields:
        value = getattr(credentials, field_name)
        if isinstance(value, SecretStr):
            assert value.get_secret_value() not in repr(credentials)


def test_demo_x_account_validates(connectors: dict[str, Connector]) -> None:
    x = connectors["x"]
    # plugin/demo.py connects X through the Zendesk admin form with a user token, then speeds polling up.
    x.credentials_model.model_validate({"user_access_token": "token-acme"})
    x.settings_model.model_validate({"poll_interval_seconds": 0.5, "backfill": True})


@pytest.mark.parametrize("network", NETWORKS)
def test_a_wrong_key_is_refused(
    connectors: dict[str, Connector], harness_accounts: dict[str, AccountContext], network: str
) -> None:
    connector, account = connectors[network], harness_accounts[network]
    with pytest.raises(ValidationError, match="extra"):
        connector.credentials_model.model_validate({**account.credentials, "acess_token": "typo"})
    with pytest.raises(ValidationError, match="extra"):
        connector.settings_model.model_validate({**account.settings, "pol_interval_seconds": 1})
