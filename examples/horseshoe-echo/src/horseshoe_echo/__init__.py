"""horseshoe-echo: a third-party horseshoe connector for the "echo" network.

horseshoe loads this module through the ``horseshoe.connectors`` entry point (pyproject.toml) and calls
the hook below; nothing here runs on import.
"""

from __future__ import annotations

import pluggy

from horseshoe_echo.connector import EchoConnector, EchoCredentials, EchoSettings, sign
from plugin.connector import Connector

# A plugin marks its hooks with horseshoe's project name ("horseshoe"); plugin.plugins.hookimpl is the
# same marker, imported from the host.
hookimpl = pluggy.HookimplMarker("horseshoe")

__all__ = ["EchoConnector", "EchoCredentials", "EchoSettings", "horseshoe_register_connectors", "sign"]


@hookimpl
def horseshoe_register_connectors() -> list[Connector]:
    return [EchoConnector()]
