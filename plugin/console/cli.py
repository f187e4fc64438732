"""``horseshoe admin`` (console users), ``horseshoe deliveries`` and ``horseshoe replies`` (failures).

Whoever runs these has the server's configuration, so they need no login (README, "Security
model"); failure actions are recorded as done by ``cli:<operating-system user>`` with the reason given.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Sequence
from typing import Any

import click

from plugin.config import load_settings
from plugin.console import passwords
from plugin.console.auth import OPERATOR, TENANT_ADMIN
from plugin.console.failures import DELIVERY_ACTIONS, REPLY_ACTIONS, Action, check_why
from plugin.store.admins import NameTaken
from plugin.store.failures import NotFound, WrongState


def _runtime(ctx: click.Context) -> Any:
    from plugin.runtime import build_runtime

    return build_runtime(load_settings(**(ctx.find_root().obj or {})))


def _admin_or_fail(rt: Any, name: str) -> Any:
    admin = rt.store.admins.by_name(name)
    if admin is None:
        raise click.BadParameter(f"no admin named {name!r} (see `horseshoe admin list`)", param_hint="NAME")
    return admin


@click.group()
def admin() -> None:
    """Admin users of the standalone console (operators and tenant admins)."""


@admin.command("create")
@click.argument("name")
@click.option("--tenant", default=None, help="Make an admin of this tenant (Zendesk subdomain / Salesforce org id)")
@click.option("--operator", "operator", is_flag=True, help="Make an operator (every tenant)")
@click.option("--new-tenant", is_flag=True, help="Create the tenant if missing (e.g. a Salesforce-only company)")
@click.pass_context
def create(ctx: click.Context, name: str, tenant: str | None, operator: bool, new_tenant: bool) -> None:
    """Create admin NAME and print a one-time password (they choose their own at first login)."""
    if operator == (tenant is not None):
        raise click.UsageError("give exactly one of --operator or --tenant TENANT")
    name = name.strip()
    if not name or len(name) > 255 or any(ch.isspace() for ch in name):
        raise click.BadParameter("an admin name is 1-255 characters without spaces", param_hint="NAME")
    rt = _runtime(ctx)
    if tenant is not None and rt.store.tenant_id(tenant) is None:
        if not new_tenant:
            known = ", ".join(sorted(row.key for row in rt.store.tenants.all())) or "none"
            raise click.BadParameter(f"no tenant {tenant!r} (known: {known}); add --new-tenant to create it")
        rt.store.ensure_tenant(tenant)
        rt.store.events.record(rt.store.tenant_id(tenant), "console:tenant_created", {"tenant": tenant, "by": _cli()})
    password = passwords.one_time_password()
    try:
        hashed = passwords.hash_password(rt.settings, password)
        rt.store.admins.create(name, hashed, OPERATOR if operator else TENANT_ADMIN, tenant, must_change=True)
    except NameTaken as exc:
        raise click.ClickException(str(exc)) from None
    rt.store.events.record(None, "console:admin_created", {"admin": name, "tenant": tenant, "by": _cli()})
    click.echo(f"admin {name} ({'operator' if operator else 'admin of ' + str(tenant)}) created")
    click.echo(f"one-time password: {password}")


@admin.command("list")
@click.pass_context
def list_admins(ctx: click.Context) -> None:
    """Every admin with role, tenant and state."""
    for row in _runtime(ctx).store.admins.all():
        scope = "every tenant" if row.role == OPERATOR else f"tenant {row.tenant_key}"
        state = "disabled" if row.disabled else ("must change password" if row.must_change_password else "active")
        click.echo(f"{row.name:<24} {row.role:<9} {scope:<28} {state}")


@admin.command("disable")
@click.argument("name")
@click.pass_context
def disable(ctx: click.Context, name: str) -> None:
    """Disable NAME and end their sessions at once."""
    rt = _runtime(ctx)
    rt.store.admins.set_disabled(_admin_or_fail(rt, name).id, True)
    rt.store.events.record(None, "console:admin_disabled", {"admin": name, "by": _cli()})
    click.echo(f"admin {name} disabled; their sessions are ended")


@admin.command("enable")
@click.argument("name")
@click.pass_context
def enable(ctx: click.Context, name: str) -> None:
    """Enable NAME again."""
    rt = _runtime(ctx)
    rt.store.admins.set_disabled(_admin_or_fail(rt, name).id, False)
    rt.store.events.record(None, "console:admin_enabled", {"admin": name, "by": _cli()})
    click.echo(f"admin {name} enabled")


@admin.command("reset-password")
@click.argument("name")
@click.pass_context
def reset_password(ctx: click.Context, name: str) -> None:
    """Give NAME a new one-time password (their sessions end)."""
    rt = _runtime(ctx)
    password = passwords.one_time_password()
    hashed = passwords.hash_password(rt.settings, password)
    rt.store.admins.set_password(_admin_or_fail(rt, name).id, hashed, must_change=True)
    rt.store.events.record(None, "console:password_reset", {"admin": name, "by": _cli()})
    click.echo(f"one-time password: {password}")


def _cli() -> str:
    return f"cli:{getpass.getuser()}"


def _scope(rt: Any, tenant: str | None) -> Sequence[int] | None:
    if tenant is None:
        return None
    tenant_id = rt.store.tenant_id(tenant)
    if tenant_id is None:
        raise click.BadParameter(f"no tenant {tenant!r}", param_hint="--tenant")
    return [tenant_id]


def _act(ctx: click.Context, actions: dict[str, Action], name: str, ids: tuple[int, ...], why: str) -> None:
    try:
        reason = check_why(why)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--why") from None
    rt = _runtime(ctx)
    problems = 0
    for row_id in ids:
        try:
            actions[name].run(rt.store, row_id, None, _cli(), reason)
        except (NotFound, WrongState) as exc:
            click.echo(f"{row_id}: {exc}", err=True)
            problems += 1
            continue
        click.echo(f"{row_id}: {actions[name].done}")
    if problems:
        ctx.exit(1)


def _print_rows(rows: list[Any], as_json: bool, line: Any) -> None:
    for row in rows:
        if as_json:
            click.echo(json.dumps({k: str(v) if v is not None else None for k, v in row.__dict__.items()}))
        else:
            click.echo(line(row))


@click.group()
def deliveries() -> None:
    """Deliveries to the CRMs that failed: list, retry, discard (audited)."""


@deliveries.command("failed")
@click.option("--tenant", default=None, help="Only this tenant")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line")
@click.pass_context
def failed(ctx: click.Context, tenant: str | None, as_json: bool) -> None:
    """List failed deliveries with the reason each failed."""
    rt = _runtime(ctx)
    _print_rows(
        rt.store.failures.failed_deliveries(_scope(rt, tenant)), as_json,
        lambda d: f"{d.id:>6}  {d.tenant:<16} {d.sink:<10} {d.network}:{d.external_id}  "
                  f"{d.attempts} attempts  {d.reason}",
    )  # fmt: skip


@click.group()
def replies() -> None:
    """Agents' replies whose outcome is unknown: list, retry, mark-sent, discard (audited)."""


@replies.command("uncertain")
@click.option("--tenant", default=None, help="Only this tenant")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line")
@click.pass_context
def uncertain(ctx: click.Context, tenant: str | None, as_json: bool) -> None:
    """List uncertain replies (maybe posted, never re-posted by horseshoe on its own)."""
    rt = _runtime(ctx)
    _print_rows(
        rt.store.failures.uncertain_replies(_scope(rt, tenant)), as_json,
        lambda r: f"{r.id:>6}  {r.tenant:<16} {r.network:<10} answering {r.in_reply_to or '-'}  {r.reason}\n"
                  f"        {r.text}",
    )  # fmt: skip


def _action_command(group: click.Group, actions: dict[str, Action], name: str, help_text: str) -> None:
    """``horseshoe <group> <name> ID... --why TEXT``: one audited action on the listed rows."""

    @group.command(name, help=help_text)
    @click.argument("ids", nargs=-1, type=int, required=True)
    @click.option("--why", required=True, help="Why (recorded with who did it)")
    @click.pass_context
    def command(ctx: click.Context, ids: tuple[int, ...], why: str) -> None:
        _act(ctx, actions, name, ids, why)


for _name, _action in DELIVERY_ACTIONS.items():
    _help = f"{_action.label} failed deliveries (ids from `deliveries failed`)."
    _action_command(deliveries, DELIVERY_ACTIONS, _name, _help)
for _name, _action in REPLY_ACTIONS.items():
    _help = f"{_action.label} (ids from `replies uncertain`; check the network)."
    _action_command(replies, REPLY_ACTIONS, _name, _help)
