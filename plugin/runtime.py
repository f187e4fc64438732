"""The one object that holds a running horseshoe together: settings, store, plugins."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import pluggy

from plugin import egress
from plugin.config import Settings, load_settings
from plugin.plugins import Hooks, Registry, get_plugin_manager
from plugin.secrets import SecretBox
from plugin.store.db import Database
from plugin.store.repo import Store
from plugin.triage.language import preload
from plugin.triage.rules import RulesFile

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    box: SecretBox
    store: Store
    pm: pluggy.PluginManager
    registry: Registry

    hooks: Hooks = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.hooks = Hooks(self.pm)


def build_runtime(
    settings: Settings | None = None,
    *,
    upgrade: bool = True,
    pm: pluggy.PluginManager | None = None,
) -> Runtime:
    settings = settings or load_settings()
    # Where this process may connect (plugin/egress.py): the operator's exemptions, for every client.
    egress.configure(egress.Policy(egress.allowed_hosts(settings.allowed_private_hosts)))
    db = Database(settings.resolved_database_url)
    if upgrade:
        db.upgrade()
    box = SecretBox(settings.secret_key)
    pm = pm or get_plugin_manager()
    store = Store(db, box)
    if upgrade:  # the keys table exists only once migrated
        box.use_keys(store.trust.signing_keys)
    rt = Runtime(settings=settings, db=db, box=box, store=store, pm=pm, registry=Registry(pm))
    rt.hooks.startup(rt)
    return rt


def warm_up(runtime: Runtime) -> None:
    """Load now what the first mentions would otherwise load mid-traffic: triage's language models.

    Called by the processes that triage (``horseshoe worker``, its Celery pool children, each
    ``horseshoe serve`` worker in ``HorseshoeServer.load``, the demo) before they take traffic;
    lazily, the first short post would hold the GIL for about 2-3 s and stall every request thread and
    worker lane of the process. Not in ``build_runtime``: tests and one-shot commands build many
    runtimes and need not pay for it.
    """
    started = time.monotonic()
    languages = RulesFile(runtime.settings.triage_rules or None).languages()
    preload(languages)
    log.info("language models for %s loaded in %.1fs", ", ".join(languages), time.monotonic() - started)
