"""The packaged conformance suite (plugin.testing), run for every built-in connector against its sandbox."""

from __future__ import annotations

from plugin.testing import ConnectorConformance
from sandbox.networks import BUILTIN

from .fixtures import FIXTURES


class TestBuiltinConnectors(ConnectorConformance):
    harnesses = [BUILTIN[name] for name in sorted(BUILTIN)]
    fixtures_dir = FIXTURES
