"""``horseshoe doctor``: what an admin must fix, said plainly."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from plugin.config import Settings
from plugin.healthwords import account_facts, account_problems, sink_facts, when
from plugin.plugins import Registry, get_plugin_manager
from plugin.runtime import build_runtime
from plugin.sink import SinkConnection
from plugin.worker.streams import stream_summary
from plugin.zendesk.notes import public_notes_warning


def _when(value: datetime | None) -> str:
    return when(value, seconds=True)


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
            stream = runtime.store.reply_streams.of(tenant.id, row.sink)
            if stream is not None:
                echo(f"    agent replies: {stream_summary(stream)}")
            notes_warning = public_notes_warning(config) if row.sink == "zendesk" else None
            if notes_warning:
                echo(f"    note: {notes_warning}")
        for crm in runtime.store.health.sinks(tenant.id):
            if crm.needs_attention:
                problems.append(f"{tenant.key}/{crm.sink}: needs attention: {crm.needs_attention}")
                echo(f"  {crm.sink}: NEEDS ATTENTION since {_when(crm.attention_since)}: {crm.needs_attention}")
            if crm.enabled:
                echo(f"    {crm.sink} connection: {sink_facts(crm)}")
        for health in runtime.store.health.accounts(tenant.id, stuck_after=settings.stuck_after_polls):
            found = account_problems(health, health.network in registry.connectors)
            name = f"{health.network}:{health.handle or health.external_id}"
            problems.extend(f"{tenant.key}/{name}: {p}" for p in found)
            echo(
                f"  account {name} (id {health.account_id}): " + ("ok" if not found else "PROBLEM " + "; ".join(found))
            )
            echo(f"    {account_facts(health)}")
        for refused in runtime.store.csat.failed(tenant.id, limit=5):
            problems.append(f"{tenant.key}/{refused.sink}: rating not written to {refused.ticket}")
            echo(f"  {refused.sink}: PROBLEM satisfaction rating {refused.rating}/5 not written to {refused.ticket}: "
                 f"{refused.last_error}")  # fmt: skip
    counts = runtime.store.counts()
    echo("queue: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    held = runtime.store.quarantine.counts_by_network()
    if held:
        echo(
            "quarantined: "
            + ", ".join(f"{network}={n}" for network, n in sorted(held.items()))
            + " (horseshoe quarantine list; retry after a fix)"
        )
    echo("no problems found" if not problems else f"{len(problems)} problem(s) found")
    return problems
