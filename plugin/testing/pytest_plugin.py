"""The pytest plugin behind the conformance suite (entry point ``pytest11: horseshoe``).

Loaded automatically wherever horseshoe is installed. It does nothing unless a test class asks for
the ``horseshoe_harness`` fixture (``ConnectorConformance`` does): then it parametrizes that class
over the class's ``harnesses`` (or, for a test function, its module's ``harnesses``), starts each
fake once per class (a server start costs time) and resets it before every test. Without a
``harnesses`` list the class cannot run, so collection fails with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

# The plugin is imported before the test modules; register the kit's own asserts for rewriting so a
# failed check explains itself the way a test's own assert does.
pytest.register_assert_rewrite("plugin.testing.suite")

from plugin.testing.harness import Harness  # noqa: E402  (after the rewrite registration, on purpose)

STARTED = "horseshoe_started_harness"


def _label(factory: Callable[[], Harness]) -> str:
    return str(getattr(factory, "network", "") or getattr(factory, "__name__", "") or repr(factory))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if STARTED not in metafunc.fixturenames:
        return
    # The test class's list, else the module's (a plain test function may ask for the fixture too).
    harnesses = list(getattr(metafunc.cls, "harnesses", None) or getattr(metafunc.module, "harnesses", None) or ())
    if not harnesses:
        where = metafunc.cls.__name__ if metafunc.cls else metafunc.module.__name__
        raise pytest.UsageError(f"{where} uses the horseshoe conformance suite but lists no harnesses")
    metafunc.parametrize(STARTED, harnesses, ids=[_label(h) for h in harnesses], indirect=True, scope="class")


@pytest.fixture(scope="class")
def horseshoe_started_harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    """One running fake per harness and test class."""
    factory: Any = request.param
    harness = factory()
    if not isinstance(harness, Harness):
        raise TypeError(f"{_label(factory)} made {type(harness).__name__}, not a plugin.testing.Harness")
    harness.start()
    try:
        yield harness
    finally:
        harness.stop()


@pytest.fixture
def horseshoe_harness(horseshoe_started_harness: Harness) -> Harness:
    """The running fake, with all traffic and faults of the previous test forgotten."""
    horseshoe_started_harness.reset()
    return horseshoe_started_harness
