"""The one object that holds a running horseshoe together: settings, store, plugins."""

from __future__ import annotations

import logging
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

    def notify(self, hook_name: str, **kwargs: Any) -> None:
        """Call an observer hook; one failing observer must not stop the pipeline or the others."""
        caller = getattr(self.pm.hook, hook_name)
        for impl in caller.get_hookimpls():
            try:
                impl.function(**{k: kwargs[k] for k in impl.argnames})
            except Exception:
                log.exception("observer %s in plugin %s failed", hook_name, impl.plugin_name)


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
