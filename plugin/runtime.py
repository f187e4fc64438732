"""The one object that holds a running horseshoe together: settings, store, plugins."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pluggy

from .config import Settings, load_settings
from .plugins import Registry, get_plugin_manager
from .secrets import SecretBox
from .store.db import Database
from .store.repo import Store

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    box: SecretBox
    store: Store
    pm: pluggy.PluginManager
    registry: Registry

    def _each_result(self, hook_name: str, kwargs: dict[str, Any]) -> Iterator[Any]:
        """Call each implementation in pluggy's order; one that raises is logged and skipped.

        Plugins are third-party code talking to CRMs and networks: a broken or unreachable one must
        not stop routing, delivery or the other plugins.
        """
        caller = getattr(self.pm.hook, hook_name)
        for impl in reversed(caller.get_hookimpls()):  # pluggy calls the last registered first
            try:
                yield impl.function(**{k: kwargs[k] for k in impl.argnames})
            except Exception:
                log.exception("hook %s in plugin %s failed", hook_name, impl.plugin_name)

    def first_result(self, hook_name: str, **kwargs: Any) -> Any:
        """A firstresult hook where a failing plugin falls through to the next (ultimately the built-in)."""
        return next((r for r in self._each_result(hook_name, kwargs) if r is not None), None)

    def all_results(self, hook_name: str, **kwargs: Any) -> list[Any]:
        """Every implementation's non-None result, in call order."""
        return [r for r in self._each_result(hook_name, kwargs) if r is not None]

    def notify(self, hook_name: str, **kwargs: Any) -> None:
        """Call an observer hook; one failing observer must not stop the pipeline or the others."""
        for _ in self._each_result(hook_name, kwargs):
            pass


def build_runtime(
    settings: Settings | None = None,
    *,
    upgrade: bool = True,
    pm: pluggy.PluginManager | None = None,
) -> Runtime:
    settings = settings or load_settings()
    db = Database(settings.resolved_database_url)
    if upgrade:
        db.upgrade()
    box = SecretBox(settings.secret_key)
    pm = pm or get_plugin_manager()
    rt = Runtime(settings=settings, db=db, box=box, store=Store(db, box), pm=pm, registry=Registry(pm))
    if pm.get_plugin("identity") is None:
        # The built-in resolver (hookimpl ``trylast``): imported here, it needs the Runtime class.
        from .identity_plugin import IdentityPlugin

        pm.register(IdentityPlugin(rt), name="identity")
    return rt
