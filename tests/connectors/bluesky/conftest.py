from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from connectors.bluesky import BlueskyConnector
from plugin.connector import AccountContext
from sandbox.bluesky import create_app
from sandbox.bluesky.models import DEFAULT_ACCESS_TTL, BlueskyState
from sandbox.faults import FaultPlan
from sandbox.server import RunningServer, serve_in_thread

BRAND_HANDLE = "brand.bsky.sandbox"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"


@dataclass
class Pds:
    app: Any
    state: BlueskyState
    plan: FaultPlan
    server: RunningServer
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


@pytest.fixture(scope="module")
def _server() -> Iterator[tuple[Any, RunningServer]]:
    app = create_app()
    server = serve_in_thread(app)
    yield app, server
    server.stop()


@pytest.fixture
def pds(_server: tuple[Any, RunningServer]) -> Pds:
    app, server = _server
    state: BlueskyState = app.state
    state.reset()
    state.access_ttl = DEFAULT_ACCESS_TTL
    state.rate_limit = 3000
    app.plan.configure(rate_429=0.0, rate_5xx=0.0, rate_timeout=0.0, scripted=[], paths=(), seed=0)
    brand = state.add_actor(BRAND_HANDLE, display_name="Brand", password=APP_PASSWORD)
    customer = state.add_actor("ann.bsky.sandbox", display_name="Ann Émile")
    return Pds(app=app, state=state, plan=app.plan, server=server, brand=brand, customer=customer)


@pytest.fixture
def connector() -> BlueskyConnector:
    return BlueskyConnector()
