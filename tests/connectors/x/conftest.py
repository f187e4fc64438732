"""A live X fake on a localhost port, a brand account on it and a connector pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from connectors.x import XConnector
from plugin.connector import AccountContext
from sandbox.faults import FaultPlan
from sandbox.server import RunningServer, serve_in_thread
from sandbox.x import XSandboxApp, XState, create_app

APP_TOKEN = "app-only-bearer"
BRAND_TOKEN = "brand-user-token"
OAUTH1 = {
    "consumer_key": "ck-horseshoe",
    "consumer_secret": "cs-horseshoe-secret",
    "access_token": "at-acme",
    "access_token_secret": "ats-acme-secret",
}


@dataclass
class XSandbox:
    app: XSandboxApp
    server: RunningServer
    brand_id: str
    alice_id: str
    bob_id: str

    @property
    def state(self) -> XState:
        return self.app.state

    @property
    def plan(self) -> FaultPlan:
        return self.app.plan

    def account(self, **overrides: object) -> AccountContext:
        credentials = overrides.pop("credentials", {"bearer_token": APP_TOKEN, "user_access_token": BRAND_TOKEN})
        settings = overrides.pop("settings", {"backfill": True})
        return AccountContext(
            network="x",
            external_id=self.brand_id,
            handle="acme",
            credentials=credentials,  # type: ignore[arg-type]
            settings=settings,  # type: ignore[arg-type]
            api_base=self.server.url,
        )


@pytest.fixture(scope="module")
def _served() -> Iterator[tuple[XSandboxApp, RunningServer]]:
    # One server per module (stopping one costs the serve_forever poll interval); state is reset per test.
    app = create_app(plan=FaultPlan(seed=7))
    server = serve_in_thread(app)
    try:
        yield app, server
    finally:
        server.stop()


@pytest.fixture
def sandbox(_served: tuple[XSandboxApp, RunningServer]) -> XSandbox:
    app, server = _served
    app.state.reset(keep_users=False)
    app.plan.configure(scripted=[], rate_429=0.0, rate_5xx=0.0, rate_timeout=0.0, paths=(), retry_after=1, seed=7)
    brand = app.state.add_user("acme", name="Acme Support", token=BRAND_TOKEN)
    app.state.add_app_token(APP_TOKEN)
    app.state.add_oauth1(
        "acme", OAUTH1["consumer_key"], OAUTH1["consumer_secret"], OAUTH1["access_token"], OAUTH1["access_token_secret"]
    )
    alice = app.state.add_user("alice", name="Alice A.")
    bob = app.state.add_user("bob", name="Bob B.")
    return XSandbox(app=app, server=server, brand_id=brand.id, alice_id=alice.id, bob_id=bob.id)


@pytest.fixture
def connector() -> XConnector:
    return XConnector()
