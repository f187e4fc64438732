"""``horseshoe identity ...``: suggestions, agent decisions, undo and the right to be forgotten."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from plugin.config import load_settings
from plugin.identity.adapter import NotReversible


def _plugin(ctx: click.Context) -> Any:
    from plugin.identity.plugin import IdentityPlugin
    from plugin.runtime import build_runtime

    runtime = build_runtime(load_settings(**(ctx.find_root().obj or {})))
    plugin = runtime.pm.get_plugin("identity")
    if not isinstance(plugin, IdentityPlugin):
        raise click.ClickException("the built-in identity plugin is not registered")
    return plugin


def _tenant_ids(plugin: Any, tenant: str | None) -> list[int]:
    store = plugin.runtime.store
    if tenant is None:
        return [row.id for row in store.tenants.all()]
    tenant_id = store.tenant_id(tenant)
    if tenant_id is None:
        raise click.ClickException(f"no tenant {tenant!r}")
    return [int(tenant_id)]


def _echo(value: Any) -> None:
    click.echo(json.dumps(value, default=str, indent=2, sort_keys=True))


@click.group()
def identity() -> None:
    """Identity resolution: suggestions for agents, undo, right to be forgotten."""


@identity.command()
@click.option("--tenant", default=None, help="Tenant key (Zendesk subdomain / Salesforce org id); default: all")
@click.pass_context
def suggestions(ctx: click.Context, tenant: str | None) -> None:
    """List open suggestions (id, profile, proposed record, confidence, evidence)."""
    plugin = _plugin(ctx)
    rows = [row for tid in _tenant_ids(plugin, tenant) for row in plugin.suggestions(tid)]
    _echo([
        {k: getattr(row, k) for k in ("id", "tenant_id", "sink", "network", "author_external_id", "record_id",
                             "confidence", "evidence", "candidates")}
        for row in rows
    ])  # fmt: skip


def _decide(ctx: click.Context, link_id: int, accept: bool, by: str, record: str | None) -> None:
    plugin = _plugin(ctx)
    try:
        row = plugin.decide_suggestion(link_id, accept, by, record_id=record)
    except (LookupError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    _echo({k: getattr(row, k) for k in ("id", "status", "record_id", "network", "author_external_id")})


@identity.command()
@click.argument("suggestion_id", type=int)
@click.option("--by", required=True, help="Who decides (the agent), recorded in the audit log")
@click.option("--record", default=None, help="Link to this candidate instead of the proposed record")
@click.pass_context
def accept(ctx: click.Context, suggestion_id: int, by: str, record: str | None) -> None:
    """Accept a suggestion: link (Salesforce: re-parent; Zendesk: add identity and merge)."""
    _decide(ctx, suggestion_id, True, by, record)


@identity.command()
@click.argument("suggestion_id", type=int)
@click.option("--by", required=True, help="Who decides (the agent), recorded in the audit log")
@click.pass_context
def reject(ctx: click.Context, suggestion_id: int, by: str) -> None:
    """Reject a suggestion: the profile is never linked to it automatically."""
    _decide(ctx, suggestion_id, False, by, None)


@identity.command()
@click.argument("audit_id", type=int)
@click.option("--by", default="cli", show_default=True, help="Who undoes, recorded in the audit log")
@click.pass_context
def undo(ctx: click.Context, audit_id: int, by: str) -> None:
    """Undo a link (Salesforce: restore the persona's previous parent). Zendesk merges cannot be undone."""
    plugin = _plugin(ctx)
    try:
        _echo(plugin.undo(audit_id, by))
    except NotReversible as exc:
        click.echo(f"not reversible: {exc}", err=True)
        sys.exit(2)
    except (LookupError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None


@identity.command()
@click.argument("network")
@click.argument("author_id")
@click.option("--tenant", default=None, help="Tenant key; default: every tenant")
@click.option("--by", default="cli", show_default=True, help="Who asked, recorded in the audit log")
@click.pass_context
def forget(ctx: click.Context, network: str, author_id: str, tenant: str | None, by: str) -> None:
    """Right to be forgotten: remove our stored profile data and links for NETWORK AUTHOR_ID."""
    plugin = _plugin(ctx)
    done = {
        str(tid): plugin.forget(tid, network, author_id, by, "delete request (right to be forgotten)")
        for tid in _tenant_ids(plugin, tenant)
    }
    _echo(done)
