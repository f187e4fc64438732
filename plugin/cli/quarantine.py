"""``horseshoe quarantine``: items no connector could read, listed, shown and retried (issue 12).

``retry`` re-parses the stored item with the connector as installed now: after a fix or a parser
upgrade, what it yields goes into the inbox like any mention (deduplicated), and the item is released.
"""

from __future__ import annotations

import json
from typing import Any

import click

from plugin.config import load_settings
from plugin.errors import BadInput
from plugin.store.quarantine import QuarantineRow
from plugin.store.statuses import QuarantineStatus


def _runtime(ctx: click.Context) -> Any:
    from plugin.runtime import build_runtime

    root = ctx.find_root()
    return build_runtime(load_settings(**(root.obj or {})))


def _line(row: QuarantineRow) -> str:
    when = row.created_at.strftime("%Y-%m-%d %H:%M:%SZ")
    return (
        f"{row.id}\t{row.status}\t{row.network}\taccount {row.account_id}\t{row.source}\t{row.location}\t{when}\t"
        f"{row.error[:160]}"
    )


@click.group()
def quarantine() -> None:
    """Items a connector could not parse, kept with the error (the rest of their page flowed on)."""


@quarantine.command("list")
@click.option("--tenant", default=None, help="Only this tenant (subdomain / org key)")
@click.option("--account", "account_id", type=int, default=None, help="Only this account id")
@click.option("--all", "everything", is_flag=True, help="Released items too")
@click.option("--limit", default=100, show_default=True)
@click.pass_context
def list_items(ctx: click.Context, tenant: str | None, account_id: int | None, everything: bool, limit: int) -> None:
    """One line per item, newest first: id, status, network, account, poll|webhook, where, when, error."""
    rt = _runtime(ctx)
    tenant_id = None
    if tenant is not None:
        tenant_id = rt.store.tenant_id(tenant)
        if tenant_id is None:
            raise click.BadParameter(f"no tenant {tenant!r}", param_hint="--tenant")
    status = None if everything else QuarantineStatus.QUARANTINED
    rows = rt.store.quarantine.list(tenant_id=tenant_id, account_id=account_id, status=status, limit=limit)
    if not rows:
        click.echo("nothing quarantined", err=True)
    for row in rows:
        click.echo(_line(row))


@quarantine.command("show")
@click.argument("item_id", type=int)
@click.pass_context
def show(ctx: click.Context, item_id: int) -> None:
    """The item as JSON: where it came from, the error, and the raw payload as received."""
    row = _runtime(ctx).store.quarantine.get(item_id)
    if row is None:
        raise click.ClickException(f"no quarantined item {item_id}")
    click.echo(
        json.dumps(
            {
                "id": row.id,
                "status": row.status,
                "network": row.network,
                "account_id": row.account_id,
                "source": row.source,
                "where": row.location,
                "error": row.error,
                "attempts": row.attempts,
                "outcome": row.outcome,
                "created_at": row.created_at.isoformat(),
                "payload": row.payload,
            },
            indent=2,
            ensure_ascii=False,
        )
    )


@quarantine.command("retry")
@click.argument("item_ids", type=int, nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Every quarantined item (of --account, if given)")
@click.option("--account", "account_id", type=int, default=None)
@click.pass_context
def retry(ctx: click.Context, item_ids: tuple[int, ...], everything: bool, account_id: int | None) -> None:
    """Re-parse items with the current code; what now parses is ingested and the item released."""
    from plugin.pipeline import quarantine as host_quarantine

    if not item_ids and not everything:
        raise click.UsageError("name item ids, or --all")
    rt = _runtime(ctx)
    if everything:
        rows = rt.store.quarantine.list(account_id=account_id, limit=10_000)
    else:
        rows = []
        for item_id in item_ids:
            row = rt.store.quarantine.get(item_id)
            if row is None:
                raise click.ClickException(f"no quarantined item {item_id}")
            rows.append(row)
    still = 0
    for row in rows:
        try:
            result = host_quarantine.retry(rt, row)
        except BadInput as exc:
            still += 1
            click.echo(f"{row.id}: cannot retry: {exc}")
            continue
        still += 0 if result.released else 1
        click.echo(f"{row.id}: {'released' if result.released else 'still quarantined'}: {result.outcome}")
    if still:
        ctx.exit(1)


@quarantine.command("discard")
@click.argument("item_ids", type=int, nargs=-1, required=True)
@click.option("--why", required=True, help="Why (recorded with who did it)")
@click.pass_context
def discard(ctx: click.Context, item_ids: tuple[int, ...], why: str) -> None:
    """Give up on items for good (an item nobody will ever parse); audited with who and why."""
    import getpass

    from plugin.pipeline import quarantine as host_quarantine

    reason = " ".join(why.split())
    if not reason or len(reason) > 500:
        raise click.BadParameter("say why, in under 500 characters", param_hint="--why")
    rt = _runtime(ctx)
    refused = 0
    for item_id in item_ids:
        row = rt.store.quarantine.get(item_id)
        if row is None:
            raise click.ClickException(f"no quarantined item {item_id}")
        if host_quarantine.discard(rt, row, f"cli:{getpass.getuser()}", reason):
            click.echo(f"{item_id}: discarded")
        else:
            refused += 1
            click.echo(f"{item_id}: not discarded: it is {row.status}")
    if refused:
        ctx.exit(1)
