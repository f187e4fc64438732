"""The packaged connector conformance suite, for built-in and third-party connectors alike.

A third party writes a ``Harness`` for its connector's fake and one test class::

    from plugin.testing import ConnectorConformance

    class TestMyConnector(ConnectorConformance):
        harnesses = [MyHarness]

The pytest plugin (entry point ``pytest11: horseshoe``) runs every check against each harness.
Only plugin/ code here: the host never imports sandbox/ or tests/. The suite itself needs pytest
(extra ``horseshoe[testing]``) and is imported on first use, so ``horseshoe demo`` can run the sandbox's
harnesses where pytest is not installed.
"""

from typing import Any

from plugin.testing.faults import ScriptedFaults, json_error_answer
from plugin.testing.harness import CHECKS, FailureKind, Harness, Posted, json_request, with_headers
from plugin.testing.server import RunningServer, serve_in_thread

__all__ = [
    "CHECKS",
    "ConnectorConformance",
    "FailureKind",
    "Harness",
    "Posted",
    "RunningServer",
    "ScriptedFaults",
    "json_error_answer",
    "json_request",
    "serve_in_thread",
    "with_headers",
]


def __getattr__(name: str) -> Any:
    if name == "ConnectorConformance":
        from plugin.testing.suite import ConnectorConformance

        return ConnectorConformance
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
