from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from connectors.mastodon import MastodonConnector
from plugin.connector import AccountContext
from sandbox.faults import FaultPlan
from sandbox.mastodon import create_app
from sandbox.mastodon.models import MastodonState
from sandbox.server import RunningServer, serve_in_thread

BRAND_TOKEN = "brand-token-sandbox"


@dataclass
class Instance:
    app: Any
    state: MastodonState
    plan: FaultPlan
    server: RunningServer
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


@pytest.fixture(scope="module")
def _server() -> Iterator[tuple[Any, RunningServer]]:
    app = create_app()
    server = serve_in_thread(app)
    yield app, server
    server.stop()


@pytest.fixture
def instance(_server: tuple[Any, RunningServer]) -> Instance:
    app, server = _server
    state: MastodonState = app.state
    state.reset()
    app.plan.configure(rate_429=0.0, rate_5xx=0.0, rate_timeout=0.0, scripted=[], paths=(), seed=0)
    state.max_characters = 500
    state.rate_limit = 300
    brand = state.add_account("brand", display_name="Brand Support", token=BRAND_TOKEN)
    customer = state.add_account("ann", domain="remote.example", display_name="Ann")
    return Instance(app=app, state=state, plan=app.plan, server=server, brand=brand, customer=customer)


@pytest.fixture
def connector() -> MastodonConnector:
    return MastodonConnector()
