from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.vk import VKConnector
from plugin.connector import AccountContext
from sandbox.faults import FaultPlan
from sandbox.runner import RunningFake
from sandbox.server import RunningServer
from sandbox.vk import VKSandbox
from tests.support.fakes import ManualClock, fake_service, quiet

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "vk"
GROUP_ID = 229000001
TOKEN = "vk1.a.sandbox-community-token"
SECRET = "sandbox-callback-secret"
CONFIRMATION = "9f2c1d7a"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def _running() -> Iterator[tuple[RunningFake, ManualClock]]:
    clock = ManualClock(5000.0)
    with fake_service("vk", plan=FaultPlan(seed=11), clock=clock, max_long_poll=1.0) as fake:
        yield fake, clock


@pytest.fixture
def sandbox(_running: tuple[RunningFake, ManualClock]) -> tuple[VKSandbox, RunningServer]:
    fake, _clock = _running
    quiet(fake)
    fake.state.rps_limit = 20
    return fake.app, fake.server


@pytest.fixture
def clock(_running: tuple[RunningFake, ManualClock]) -> ManualClock:
    return _running[1]


@pytest.fixture
def plan(sandbox: tuple[VKSandbox, RunningServer]) -> FaultPlan:
    return sandbox[0].plan


@pytest.fixture
def account(sandbox: tuple[VKSandbox, RunningServer]) -> AccountContext:
    return AccountContext(
        network="vk",
        external_id=str(GROUP_ID),
        handle="horseshoe_support",
        credentials={"access_token": TOKEN, "secret": SECRET, "confirmation_code": CONFIRMATION},
        settings={"group_id": GROUP_ID, "poll_wait": 0},
        api_base=sandbox[1].url,
    )


@pytest.fixture
def connector(clock: ManualClock) -> VKConnector:
    return VKConnector(clock=clock)
