from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.telegram import TelegramConnector
from plugin.connector import AccountContext
from sandbox.faults import FaultPlan
from sandbox.runner import RunningFake
from sandbox.server import RunningServer
from sandbox.telegram import TelegramSandbox
from tests.support.fakes import ManualClock, fake_service, quiet

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "telegram"
BOT_TOKEN = "123456789:AAEsandbox-telegram-token"
BOT_ID = "123456789"
SECRET = "s3cr3t_Webhook-token"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def _running() -> Iterator[tuple[RunningFake, ManualClock]]:
    # One server per module (stopping a werkzeug server costs ~0.5 s); state is reset per test.
    clock = ManualClock(1000.0)
    options = {"bot_token": BOT_TOKEN, "bot_username": "horseshoe_bot", "clock": clock}
    with fake_service("telegram", plan=FaultPlan(seed=7), **options) as fake:
        yield fake, clock


@pytest.fixture
def sandbox(_running: tuple[RunningFake, ManualClock]) -> tuple[TelegramSandbox, RunningServer]:
    fake, _clock = _running
    quiet(fake)
    return fake.app, fake.server


@pytest.fixture
def clock(_running: tuple[RunningFake, ManualClock]) -> ManualClock:
    return _running[1]


@pytest.fixture
def plan(sandbox: tuple[TelegramSandbox, RunningServer]) -> FaultPlan:
    return sandbox[0].plan


@pytest.fixture
def account(sandbox: tuple[TelegramSandbox, RunningServer]) -> AccountContext:
    return AccountContext(
        network="telegram",
        external_id=BOT_ID,
        handle="horseshoe_bot",
        credentials={"bot_token": BOT_TOKEN, "webhook_secret": SECRET},
        settings={"bot_username": "horseshoe_bot", "poll_timeout": 0},
        api_base=sandbox[1].url,
    )


@pytest.fixture
def connector(clock: ManualClock) -> TelegramConnector:
    return TelegramConnector(clock=clock)
