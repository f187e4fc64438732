"""The conformance suite, run for every built-in connector against its sandbox."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.networks import BUILTIN, Harness

from .suite import ConnectorConformance


@pytest.fixture(scope="module", params=sorted(BUILTIN))
def _started(request: pytest.FixtureRequest) -> Iterator[Harness]:
    # One fake per network and module (starting/stopping a server costs time); reset per test.
    harness = BUILTIN[request.param]()
    harness.start()
    try:
        yield harness
    finally:
        harness.stop()


class TestBuiltinConnectors(ConnectorConformance):
    @pytest.fixture
    def harness(self, _started: Harness) -> Harness:
        _started.reset()
        return _started
