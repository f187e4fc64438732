"""One way for every test to start a fake service (any of ``sandbox.runner.FAKES``).

    with fake_service("telegram", plan=FaultPlan(seed=7), bot_token=TOKEN, clock=clock) as fake:
        fake.url, fake.state, fake.plan, fake.app, fake.server
        fake.cert                      # Salesforce (served over TLS): the certificate to trust
        quiet(fake)                    # between tests sharing the server: state forgotten, no faults

``OnFake(fake)`` is the base of a conftest's environment object (``app``, ``state``, ``plan``, ``url``...).

or, when the options need nothing built per module, a ready fixture:

    _zendesk = fake_fixture("zendesk", scope="session", plan=FaultPlan(seed=7))

One server per module or session, reset per test, is the rule: stopping a werkzeug server costs the
serve_forever poll interval (about half a second).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from sandbox.base import clear_faults
from sandbox.faults import FaultPlan
from sandbox.runner import RunningFake, start_fake
from sandbox.server import RunningServer


@contextmanager
def fake_service(name: str, **options: Any) -> Iterator[RunningFake]:
    """Start ``sandbox.<name>`` on a free localhost port; ``options`` go to its ``create_app``
    (``state``, ``plan``, ``settings`` for latency/rate limit, or the fake's own keywords)."""
    fake = start_fake(name, **options)
    try:
        yield fake
    finally:
        fake.stop()


def fake_fixture(name: str, *, scope: str = "module", **options: Any) -> Callable[..., Any]:
    """A pytest fixture yielding ``fake_service(name, **options)`` for the given scope."""

    def running() -> Iterator[RunningFake]:
        with fake_service(name, **options) as fake:
            yield fake

    running.__name__ = f"running_{name}"
    return pytest.fixture(scope=scope)(running)  # type: ignore[call-overload]


def quiet(fake: RunningFake, *, state: dict[str, Any] | None = None, **faults: Any) -> None:
    """Back to a fresh fake: state reset (``state`` holds the fake's reset options, e.g. X's
    ``keep_users``), request budget refilled, every fault off (``faults`` override, e.g. ``seed=7``)."""
    fake.app.reset(**(state or {}))
    clear_faults(fake.plan, **faults)


@dataclass
class OnFake:
    """What a test sees of a running fake; a conftest's environment adds what it seeded (brand, org...)."""

    fake: RunningFake

    @property
    def app(self) -> Any:
        return self.fake.app

    @property
    def server(self) -> RunningServer:
        return self.fake.server

    @property
    def state(self) -> Any:
        return self.fake.state

    @property
    def plan(self) -> FaultPlan:
        return self.fake.plan

    @property
    def url(self) -> str:
        return self.fake.url

    @property
    def cert(self) -> str:
        """The certificate to trust (Salesforce, served over TLS)."""
        assert self.fake.cert is not None, f"{self.fake.name} is served over plain HTTP"
        return self.fake.cert


class ManualClock:
    """Time a test moves by hand, for a fake and a connector that both take a ``clock`` (pacing and
    flood limits are tested without sleeping)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
