"""The plugin manager: built-ins registered as default plugins, third parties found by entry points.

Nothing registers itself on import. ``get_plugin_manager()`` builds a fresh manager each call so tests
and the CLI can choose exactly which plugins take part. The host calls hooks only through ``Hooks``,
a typed facade (one method per hook), so a renamed hook or a wrong argument is a type error, not a
silent no-op.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Any

import pluggy

from plugin import hookspecs
from plugin.connector import Connector
from plugin.models import Labels, Match, Mention, PostResult, Reply, SocialProfile
from plugin.sink import Delivered, DeliveryOutcome, Sink

if TYPE_CHECKING:
    import click
    from flask import Blueprint

    from plugin.runtime import Runtime

log = logging.getLogger(__name__)

hookimpl = pluggy.HookimplMarker(hookspecs.PROJECT)

ENTRY_POINT_GROUPS = ("horseshoe.connectors", "horseshoe.sinks", "horseshoe.plugins")

# name -> module, or "module:Class" for a plugin that keeps state per plugin manager (instantiated
# with no arguments; it gets the runtime from ``horseshoe_startup``). Names match the entry points in
# pyproject.toml so an installed copy is not loaded twice (pluggy skips an entry point whose name is
# already registered).
DEFAULT_PLUGINS: dict[str, str] = {
    "x": "connectors.x",
    "facebook": "connectors.facebook",
    "messenger": "connectors.messenger",
    "instagram": "connectors.instagram",
    "telegram": "connectors.telegram",
    "vk": "connectors.vk",
    "mastodon": "connectors.mastodon",
    "bluesky": "connectors.bluesky",
    "zendesk": "plugin.zendesk.plugin",
    "salesforce": "plugin.salesforce.sink",
    "triage": "plugin.triage.basic:TriagePlugin",
    "triage_escalation": "plugin.triage.escalation:EscalationPlugin",
    "triage_praise": "plugin.triage.praise:PraisePlugin",
    "identity": "plugin.identity.plugin:IdentityPlugin",
    "identity_ui": "plugin.identity.ui",
    "connect": "plugin.connect.plugin",
    "console": "plugin.console.plugin",
    "dashboard": "plugin.dashboard.plugin:DashboardPlugin",
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
        self._collect("connector", pm.hook.horseshoe_register_connectors, self.connectors, dists)
        self._collect("sink", pm.hook.horseshoe_register_sinks, self.sinks, dists)

    def _collect(self, kind: str, caller: Any, into: dict[str, Any], dists: dict[int, str]) -> None:
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
    for name, target in DEFAULT_PLUGINS.items():
        pm.register(load_default(target), name=name)
    for name, plugin in extra_plugins or []:
        pm.register(plugin, name=name)
    if load_entry_points:
        for group in ENTRY_POINT_GROUPS:
            pm.load_setuptools_entrypoints(group)
    pm.check_pending()
    return pm


def load_default(target: str) -> Any:
    """``"pkg.module"`` registers the module; ``"pkg.module:Class"`` registers a fresh instance."""
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr)() if attr else module


class Hooks:
    """The typed facade over every hook (as tox 4 does): the host never names a hook by string.

    Plugins are third-party code talking to CRMs and networks: an implementation that raises is
    logged and skipped, so a broken or unreachable one stops neither routing, delivery nor the
    other plugins. The registration hooks (connectors, sinks) are the exception: a broken
    registration is a start-up error (``Registry``).
    """

    def __init__(self, pm: pluggy.PluginManager):
        self.pm = pm

    def _each(self, caller: Any, kwargs: dict[str, Any]) -> Iterator[Any]:
        for impl in reversed(caller.get_hookimpls()):  # pluggy calls the last registered first
            try:
                yield impl.function(**{k: kwargs[k] for k in impl.argnames})
            except Exception:
                log.exception("hook %s in plugin %s failed", caller.name, impl.plugin_name)

    def _all(self, caller: Any, **kwargs: Any) -> list[Any]:
        return [r for r in self._each(caller, kwargs) if r is not None]

    def _first(self, caller: Any, **kwargs: Any) -> Any:
        return next((r for r in self._each(caller, kwargs) if r is not None), None)

    def triage(self, mention: Mention) -> list[Labels]:
        """Every triage plugin's labels, in call order (``plugin.triage.merge_labels`` merges them)."""
        return self._all(self.pm.hook.horseshoe_triage, mention=mention)

    def resolve_identity(self, profile: SocialProfile, sink: str) -> Match | None:
        """First non-None verdict; a failing resolver falls through to the next (ultimately the built-in)."""
        result: Match | None = self._first(self.pm.hook.horseshoe_resolve_identity, profile=profile, sink=sink)
        return result

    def mention_stored(self, mention: Mention, mention_id: int, tenant: str) -> None:
        self._all(self.pm.hook.horseshoe_mention_stored, mention=mention, mention_id=mention_id, tenant=tenant)

    def delivered(self, mention: Mention, outcome: DeliveryOutcome, sink: str, tenant: str) -> None:
        self._all(self.pm.hook.horseshoe_delivered, mention=mention, outcome=outcome, sink=sink, tenant=tenant)

    def delivered_batch(self, deliveries: list[Delivered], sink: str, tenant: str) -> None:
        if deliveries:
            self._all(self.pm.hook.horseshoe_delivered_batch, deliveries=deliveries, sink=sink, tenant=tenant)

    def reply_sent(self, reply: Reply, result: PostResult, tenant: str) -> None:
        self._all(self.pm.hook.horseshoe_reply_sent, reply=reply, result=result, tenant=tenant)

    def crm_event(self, sink: str, tenant: str, event: dict[str, Any]) -> list[str]:
        """What each plugin did with a CRM callback (empty when nobody handled it)."""
        return [str(r) for r in self._all(self.pm.hook.horseshoe_crm_event, sink=sink, tenant=tenant, event=event)]

    def startup(self, runtime: Runtime) -> None:
        self._all(self.pm.hook.horseshoe_startup, runtime=runtime)

    def routes(self) -> list[Blueprint]:
        """Blueprints from every plugin, in registration order."""
        found: list[Blueprint] = []
        for blueprints in self._all(self.pm.hook.horseshoe_register_routes):
            found.extend(blueprints)
        return found

    def register_commands(self, cli: click.Group) -> None:
        self._all(self.pm.hook.horseshoe_register_commands, cli=cli)

    def implementations(self, hook_name: str) -> list[Callable[..., Any]]:
        """The functions implementing one hook (for ``horseshoe connectors`` and tests)."""
        return [impl.function for impl in getattr(self.pm.hook, hook_name).get_hookimpls()]


def entry_point_names(group: str) -> list[str]:
    return sorted(ep.name for ep in metadata.entry_points(group=group))
