"""horseshoe's packaged conformance suite, run against the echo connector and its fake."""

from echo_harness import EchoHarness

from plugin.testing import ConnectorConformance


class TestEchoConformance(ConnectorConformance):
    harnesses = [EchoHarness]
