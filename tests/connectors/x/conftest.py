"""A live X fake on a localhost port, a brand account on it and a connector pointed at it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from connectors.x import XConnector
from plugin.connector import AccountContext
from sandbox.faults import FaultPlan
from sandbox.runner import RunningFake
from tests.support.fakes import OnFake, fake_fixture, quiet

APP_TOKEN = "app-only-bearer"
BRAND_TOKEN = "brand-user-token"
OAUTH1 = {
    "consumer_key": "ck-horseshoe",
    "consumer_secret": "cs-horseshoe-secret",
    "access_token": "at-acme",
    "access_token_secret": "ats-acme-secret",
}


@dataclass
class XSandbox(OnFake):
    brand_id: str
    alice_id: str
    bob_id: str

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


# One server per module (stopping one costs the serve_forever poll interval); state is reset per test.
_served = fake_fixture("x", scope="module", plan=FaultPlan(seed=7))


@pytest.fixture
def sandbox(_served: RunningFake) -> XSandbox:
    app = _served.app
    quiet(_served, state={"keep_users": False}, seed=7)
    brand = app.state.add_user("acme", name="Acme Support", token=BRAND_TOKEN)
    app.state.add_app_token(APP_TOKEN)
    app.state.add_oauth1(
        "acme", OAUTH1["consumer_key"], OAUTH1["consumer_secret"], OAUTH1["access_token"], OAUTH1["access_token_secret"]
    )
    alice = app.state.add_user("alice", name="Alice A.")
    bob = app.state.add_user("bob", name="Bob B.")
    return XSandbox(_served, brand_id=brand.id, alice_id=alice.id, bob_id=bob.id)


@pytest.fixture
def connector() -> XConnector:
    return XConnector()
