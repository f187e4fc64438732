from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from connectors.mastodon import MastodonConnector
from plugin.connector import AccountContext
from sandbox.mastodon.models import MastodonState
from sandbox.runner import RunningFake
from tests.support.fakes import OnFake, fake_fixture, quiet

BRAND_TOKEN = "brand-token-sandbox"


@dataclass
class Instance(OnFake):
    brand: dict[str, Any]
    customer: dict[str, Any]

    def account(self, **settings: Any) -> AccountContext:
        return AccountContext(
            network="mastodon",
            external_id=self.brand["id"],
            handle="brand",
            credentials={"access_token": BRAND_TOKEN},
            settings=settings,
            api_base=self.server.url,
        )


_server = fake_fixture("mastodon", scope="module")


@pytest.fixture
def instance(_server: RunningFake) -> Instance:
    quiet(_server, seed=0)
    state: MastodonState = _server.state
    state.max_characters = 500
    state.rate_limit = 300
    brand = state.add_account("brand", display_name="Brand Support", token=BRAND_TOKEN)
    customer = state.add_account("ann", domain="remote.example", display_name="Ann")
    return Instance(_server, brand=brand, customer=customer)


@pytest.fixture
def connector() -> MastodonConnector:
    return MastodonConnector()
