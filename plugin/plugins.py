"""The plugin manager: built-ins registered as default plugins, third parties found by entry points.

Nothing registers itself on import. ``get_plugin_manager()`` builds a fresh manager each call so tests
and the CLI can choose exactly which plugins take part.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import pluggy

from . import hookspecs
from .connector import Connector
from .sink import Sink

log = logging.getLogger(__name__)

hookimpl = pluggy.HookimplMarker(hookspecs.PROJECT)

ENTRY_POINT_GROUPS = ("horseshoe.connectors", "horseshoe.sinks")

# name -> module. Names match the entry points in pyproject.toml so an installed copy is not loaded
# twice (pluggy skips an entry point whose name is already registered).
DEFAULT_PLUGINS: dict[str, str] = {
    "x": "connectors.x",
    "facebook": "connectors.facebook",
    "messenger": "connectors.messenger",
    "instagram": "connectors.instagram",
    "telegram": "connectors.telegram",
    "vk": "connectors.vk",
    "mastodon": "connectors.mastodon",
    "bluesky": "connectors.bluesky",
    "zendesk": "plugin.sinks.zendesk",
    "salesforce": "plugin.sinks.salesforce",
    "triage": "plugin.triage.basic",
}

BUILTIN_DISTRIBUTION = "horseshoe (built-in)"


@dataclass(frozen=True)
class Registered:
    name: str
    display_name: str
    kind: str  # connector | sink
    plugin: str
    distribution: str


class DuplicateName(ValueError):
    pass


class Registry:
    """Connectors and sinks collected from every registered plugin, by name."""

    def __init__(self, pm: pluggy.PluginManager):
        self.pm = pm
        self.connectors: dict[str, Connector] = {}
        self.sinks: dict[str, Sink] = {}
        self.entries: list[Registered] = []
        dists = {id(plugin): dist.project_name for plugin, dist in pm.list_plugin_distinfo()}
        self._collect("connector", "horseshoe_register_connectors", self.connectors, dists)
        self._collect("sink", "horseshoe_register_sinks", self.sinks, dists)

    def _collect(self, kind: str, hook_name: str, into: dict[str, Any], dists: dict[int, str]) -> None:
        caller = getattr(self.pm.hook, hook_name)
        for impl in caller.get_hookimpls():
            plugin_name = self.pm.get_name(impl.plugin) or repr(impl.plugin)
            for item in impl.function() or []:
                if not item.name:
                    raise ValueError(f"{kind} from plugin {plugin_name!r} has no name")
                if item.name in into:
                    raise DuplicateName(f"{kind} {item.name!r} registered twice (second by {plugin_name!r})")
                into[item.name] = item
                self.entries.append(
                    Registered(
                        name=item.name,
                        display_name=item.display_name or item.name,
                        kind=kind,
                        plugin=plugin_name,
                        distribution=dists.get(id(impl.plugin), BUILTIN_DISTRIBUTION),
                    )
                )

    def connector(self, name: str) -> Connector:
        try:
            return self.connectors[name]
        except KeyError:
            raise KeyError(f"no connector named {name!r}; known: {sorted(self.connectors)}") from None

    def sink(self, name: str) -> Sink:
        try:
            return self.sinks[name]
        except KeyError:
            raise KeyError(f"no sink named {name!r}; known: {sorted(self.sinks)}") from None


def get_plugin_manager(
    *, load_entry_points: bool = True, extra_plugins: list[tuple[str, Any]] | None = None
) -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for name, module_name in DEFAULT_PLUGINS.items():
        pm.register(importlib.import_module(module_name), name=name)
    for name, plugin in extra_plugins or []:
        pm.register(plugin, name=name)
    if load_entry_points:
        for group in ENTRY_POINT_GROUPS:
            pm.load_setuptools_entrypoints(group)
    pm.check_pending()
    return pm


def entry_point_names(group: str) -> list[str]:
    return sorted(ep.name for ep in metadata.entry_points(group=group))
