"""``horseshoe doctor``: what an admin must fix, said plainly."""

from __future__ import annotations

from collections.abc import Callable

from plugin.config import Settings
from plugin.plugins import Registry, get_plugin_manager
from plugin.runtime import build_runtime
from plugin.sink import SinkConnection


def run_doctor(settings: Settings, echo: Callable[[str], None] = print) -> list[str]:
    problems: list[str] = []
    echo(f"database: {settings.resolved_database_url.split('@')[-1]}")
    try:
        registry = Registry(get_plugin_manager())
    except ValueError as exc:
        echo(f"  plugins: PROBLEM {exc}")
        return [str(exc)]
    echo(
        f"plugins: {len(registry.connectors)} connectors ({', '.join(sorted(registry.connectors))}), "
        f"{len(registry.sinks)} sinks ({', '.join(sorted(registry.sinks))})"
    )
    try:
        runtime = build_runtime(settings)
    except Exception as exc:  # noqa: BLE001 - doctor reports any start-up failure instead of crashing
        echo(f"  database: PROBLEM {exc.__class__.__name__}: {exc}")
        return [str(exc)]
    echo("  database: reachable, schema up to date")
    tenants = runtime.store.tenants.all()
    connections = runtime.store.tenants.connections(enabled_only=False)
    if not tenants:
        echo("tenants: none yet (install the Zendesk integration or add a Salesforce org)")
    for tenant in tenants:
        echo(f"tenant {tenant.key}:")
        for row in [c for c in connections if c.tenant_id == tenant.id]:
            if not row.enabled:
                problems.append(f"{tenant.key}/{row.sink}: disabled ({row.last_error})")
                echo(f"  {row.sink}: DISABLED {row.last_error}")
                continue
            sink = registry.sinks.get(row.sink)
            if sink is None:
                problems.append(f"{tenant.key}/{row.sink}: no sink plugin installed")
                echo(f"  {row.sink}: PROBLEM no plugin provides this sink")
                continue
            config = runtime.store.tenants.config_of(row)
            found = sink.check(SinkConnection(tenant.id, tenant.key, row.sink, config))
            problems.extend(f"{tenant.key}/{p}" for p in found)
            echo(f"  {row.sink}: " + ("ok" if not found else "PROBLEM " + "; ".join(found)))
        for account in runtime.store.accounts(tenant.id):
            status = "ok" if account.network in registry.connectors else "PROBLEM connector not installed"
            if status != "ok":
                problems.append(f"{tenant.key}/{account.network}:{account.external_id}: connector not installed")
            echo(f"  account {account.network}:{account.handle or account.external_id}: {status}")
    counts = runtime.store.counts()
    echo("queue: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    echo("no problems found" if not problems else f"{len(problems)} problem(s) found")
    return problems
