"""Operator commands of the trust model: install codes, revocation, key rotation, moving accounts.

These are the "an admin of horseshoe authorized it" path of README's Security model: whoever runs
them has the server's configuration (database and secret key), so they need no further login.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import click

from plugin import trust
from plugin.config import load_settings
from plugin.errors import BadInput
from plugin.secrets import LEGACY_KID


def _runtime(ctx: click.Context) -> Any:
    from plugin.runtime import build_runtime

    return build_runtime(load_settings(**(ctx.find_root().obj or {})))


@click.group()
def tenants() -> None:
    """Authorize Zendesk accounts (install codes) and revoke their tokens."""


@tenants.command("invite")
@click.argument("subdomain")
@click.option("--hours", type=float, default=None, help="How long the code is valid (default: install_code_hours)")
@click.pass_context
def invite(ctx: click.Context, subdomain: str, hours: float | None) -> None:
    """Print a one-time install code for SUBDOMAIN; its admin enters it in the integration's admin UI."""
    try:
        trust.check_subdomain(subdomain)
    except BadInput as exc:
        raise click.BadParameter(str(exc), param_hint="SUBDOMAIN") from None
    rt = _runtime(ctx)
    code = rt.store.trust.invite(subdomain, hours if hours is not None else rt.settings.install_code_hours)
    rt.store.events.record(rt.store.tenant_id(subdomain), "trust:invited", {"tenant": subdomain})
    click.echo(code)


@tenants.command("revoke")
@click.argument("subdomain")
@click.pass_context
def revoke(ctx: click.Context, subdomain: str) -> None:
    """Invalidate every metadata, state and admin session issued for SUBDOMAIN (reinstall to recover)."""
    rt = _runtime(ctx)
    generation = trust.revoke(rt, subdomain, "operator: horseshoe tenants revoke")
    click.echo(f"{subdomain}: tokens before generation {generation} are revoked")


@click.group()
def keys() -> None:
    """Signing keys for the tokens horseshoe hands out."""


@keys.command("rotate")
@click.option("--grace-hours", type=float, default=None, help="How long old keys still verify (default: setting)")
@click.option(
    "--revoke",
    is_flag=True,
    help="Retire every older key now (after a leak): metadata, admin sessions and attachment links they "
    "signed stop verifying (running servers notice within 30 seconds)",
)
@click.pass_context
def rotate(ctx: click.Context, grace_hours: float | None, revoke: bool) -> None:
    """Sign with a new key from now on; tokens signed with older keys verify for the grace period."""
    if revoke and grace_hours not in (None, 0):
        raise click.UsageError("--revoke retires the old keys now; it takes no --grace-hours")
    rt = _runtime(ctx)
    hours = 0.0 if revoke else grace_hours if grace_hours is not None else rt.settings.key_grace_hours
    kid = rt.store.trust.rotate_keys(timedelta(hours=hours), LEGACY_KID)
    rt.store.events.record(None, "trust:keys_rotated", {"kid": kid, "grace_hours": hours})
    if revoke:
        click.echo(f"signing with key {kid}; every older key is retired and its tokens no longer verify")
    else:
        click.echo(f"signing with key {kid}; older keys verify for {hours:g} more hours")


@click.group(invoke_without_command=True)
@click.option("--tenant", default=None, help="Only this tenant's accounts")
@click.pass_context
def accounts(ctx: click.Context, tenant: str | None) -> None:
    """Brand accounts with their ids (for `horseshoe backfill ID`); an account belongs to one tenant."""
    if ctx.invoked_subcommand is not None:
        return
    rt = _runtime(ctx)
    keys = {row.id: row.key for row in rt.store.tenants.all()}
    tenant_id = None
    if tenant is not None:
        tenant_id = rt.store.tenant_id(tenant)
        if tenant_id is None:
            raise click.BadParameter(f"no tenant {tenant!r}", param_hint="--tenant")
    rows = rt.store.accounts(tenant_id)
    if not rows:
        click.echo("no accounts connected yet")
    for row in rows:
        state = "enabled" if row.enabled else "disabled"
        click.echo(f"{row.id:>6}  {keys.get(row.tenant_id, '?'):<16} {row.network:<10} {row.handle or '-':<28} "
                   f"{row.external_id:<24} {state}")  # fmt: skip


@accounts.command("move")
@click.argument("account_id", type=int)
@click.argument("subdomain")
@click.pass_context
def move(ctx: click.Context, account_id: int, subdomain: str) -> None:
    """Give ACCOUNT_ID to the installed tenant SUBDOMAIN (audited on both tenants)."""
    rt = _runtime(ctx)
    found = rt.store.account(account_id)
    target = rt.store.tenant_id(subdomain)
    if found is None or target is None:
        raise click.BadParameter("no such account, or SUBDOMAIN is not installed")
    source = found[0].tenant_id
    rt.store.brand_accounts.move(account_id, target)
    detail = {"account_id": account_id, "from": rt.store.tenant_key(source), "to": subdomain, "via": "operator"}
    for tenant_id in {source, target}:
        rt.store.events.record(tenant_id, "account:moved", detail)
    click.echo(f"account {account_id} now belongs to {subdomain}")
