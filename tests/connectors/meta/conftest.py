"""A running Meta Graph fake and account contexts for the three Meta connectors."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from plugin.connector import AccountContext, InboundRequest
from sandbox.faults import FaultPlan
from sandbox.meta import DEFAULT_APP_SECRET, DEFAULT_IG_ID, DEFAULT_PAGE_ID, DEFAULT_TOKEN, MetaState
from sandbox.runner import RunningFake
from tests.support.fakes import OnFake, fake_fixture, quiet

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
VERIFY = "verify-me"


def fixture(network: str, name: str) -> Any:
    return json.loads((FIXTURES / network / name).read_text())


def secrets(**extra: str) -> dict[str, str]:
    return {"app_secret": DEFAULT_APP_SECRET, "verify_token": VERIFY, **extra}


def post_request(body: bytes, signature: str | None) -> InboundRequest:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return InboundRequest(method="POST", path="/webhooks/meta/x", headers=headers, body=body)


@dataclass
class Meta(OnFake):
    def account(self, network: str, **settings: Any) -> AccountContext:
        external = DEFAULT_IG_ID if network == "instagram" else DEFAULT_PAGE_ID
        return AccountContext(
            network=network,
            external_id=external,
            credentials={
                "page_access_token": DEFAULT_TOKEN,
                "app_secret": DEFAULT_APP_SECRET,
                "verify_token": VERIFY,
                "page_id": DEFAULT_PAGE_ID,
                "ig_user_id": DEFAULT_IG_ID,
            },
            settings={"timeout_seconds": 1.0, **settings},
            api_base=self.server.url,
        )


_meta_server = fake_fixture(
    "meta", scope="session", state=MetaState(require_proof=True), plan=FaultPlan(seed=7, timeout_seconds=1.5)
)


@pytest.fixture()
def meta(_meta_server: RunningFake) -> Meta:
    """The shared fake, reset to one Page (with its IG account) and no faults for each test."""
    quiet(_meta_server, timeout_seconds=1.5, seed=7)
    _meta_server.state.add_page()
    return Meta(_meta_server)
