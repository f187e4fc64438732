from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from connectors.bluesky import BlueskyConnector
from plugin.connector import AccountContext
from sandbox.bluesky.models import DEFAULT_ACCESS_TTL, BlueskyState
from sandbox.runner import RunningFake
from tests.support.fakes import OnFake, fake_fixture, quiet

BRAND_HANDLE = "brand.bsky.sandbox"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"


@dataclass
class Pds(OnFake):
    brand: dict[str, Any]
    customer: dict[str, Any]

    def account(self, password: str = APP_PASSWORD, **settings: Any) -> AccountContext:
        return AccountContext(
            network="bluesky",
            external_id=self.brand["did"],
            handle=BRAND_HANDLE,
            credentials={"identifier": BRAND_HANDLE, "app_password": password},
            settings=settings,
            api_base=self.server.url,
        )


_server = fake_fixture("bluesky", scope="module")


@pytest.fixture
def pds(_server: RunningFake) -> Pds:
    quiet(_server, seed=0)
    state: BlueskyState = _server.state
    state.access_ttl = DEFAULT_ACCESS_TTL
    state.rate_limit = 3000
    brand = state.add_actor(BRAND_HANDLE, display_name="Brand", password=APP_PASSWORD)
    customer = state.add_actor("ann.bsky.sandbox", display_name="Ann Émile")
    return Pds(_server, brand=brand, customer=customer)


@pytest.fixture
def connector() -> BlueskyConnector:
    return BlueskyConnector()
