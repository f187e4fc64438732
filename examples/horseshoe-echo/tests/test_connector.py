"""Echo-specific behaviour the conformance suite does not cover: settings and credential validation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from echo_harness import EchoHarness
from horseshoe_echo import EchoConnector, EchoCredentials, EchoSettings
from pydantic import ValidationError

from plugin.connector import AccountContext
from plugin.errors import AuthError


@pytest.fixture
def harness() -> Iterator[EchoHarness]:
    harness = EchoHarness()
    harness.start()
    harness.reset()
    yield harness
    harness.stop()


def test_direct_messages_can_be_left_out(harness: EchoHarness) -> None:
    public, private = harness.inject_public("hello"), harness.inject_private("psst")
    base = harness.account()
    account = AccountContext(
        network="echo", external_id="b1", credentials=base.credentials, api_base=base.api_base,
        settings={"include_direct_messages": False},
    )
    page = EchoConnector().poll(account, None)
    assert [m.external_id for m in page.mentions] == [public]
    assert page.cursor == private  # skipped, not re-read on the next poll


def test_missing_token_is_an_auth_error(harness: EchoHarness) -> None:
    account = AccountContext(network="echo", external_id="b1", credentials={}, api_base=harness.url)
    with pytest.raises(AuthError):
        EchoConnector().poll(account, None)


def test_models_refuse_unknown_keys_and_bad_values() -> None:
    with pytest.raises(ValidationError):
        EchoCredentials.model_validate({"token": "t", "tokn": "typo"})
    with pytest.raises(ValidationError):
        EchoSettings.model_validate({"page_size": 0})
    assert "t0ken" not in repr(EchoCredentials.model_validate({"token": "t0ken"}))
