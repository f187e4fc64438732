"""The module is its own pluggy plugin."""

from __future__ import annotations

import pluggy

import connectors.x as x_module
from plugin import hookspecs


def test_module_registers_the_connector():
    pm = pluggy.PluginManager("horseshoe")
    pm.add_hookspecs(hookspecs)
    pm.register(x_module)
    [[connector]] = pm.hook.horseshoe_register_connectors()
    assert connector.name == "x" and connector.display_name == "X"
    limits = connector.limits()
    assert (limits.max_text_length, limits.window_seconds, limits.page_size) == (280, 900, 100)
