"""The ``horseshoe`` command."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import click

from plugin.cli import trust as trust_cli
from plugin.cli.quarantine import quarantine as quarantine_group
from plugin.config import load_settings
from plugin.connector import quarantine_scope
from plugin.errors import BadInput
from plugin.triage.cli import triage as triage_group


def _settings(ctx: click.Context) -> Any:
    return load_settings(**ctx.obj)


@click.group()
@click.option("--data-dir", default=None, help="Where the SQLite file and generated key live (default: .)")
@click.option("--database-url", default=None, help="Overrides HORSESHOE_DATABASE_URL")
@click.option("-v", "--verbose", is_flag=True, help="Log at DEBUG level")
@click.pass_context
def main(ctx: click.Context, data_dir: str | None, database_url: str | None, verbose: bool) -> None:
    """horseshoe: social mentions into Zendesk and Salesforce, agent replies back to the network."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    ctx.obj = {"data_dir": data_dir, "database_url": database_url}


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--workers", default=2, show_default=True, help="Web server processes")
@click.option("--threads", default=8, show_default=True, help="Request threads per process")
@click.option("--with-worker/--no-worker", default=True, show_default=True, help="Run a worker process too")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int, threads: int, with_worker: bool) -> None:
    """Serve the Zendesk Channel Framework endpoints and network webhooks (gunicorn)."""
    from dataclasses import replace

    from plugin.config import DEFAULT_PUBLIC_URL
    from plugin.web.server import serve as run_server

    settings = _settings(ctx)
    if settings.public_url == DEFAULT_PUBLIC_URL:
        # Not configured: the manifest's URLs point at where this server really listens.
        shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        settings = replace(settings, public_url=f"http://{shown}:{port}")
        if shown != host:
            click.echo("warning: set HORSESHOE_PUBLIC_URL to the address Zendesk and the networks reach", err=True)
    click.echo(f"horseshoe on http://{host}:{port}  manifest: {settings.public_url}/zendesk/manifest.json")
    run_server(settings, host=host, port=port, workers=workers, threads=threads, with_worker=with_worker)


@main.command()
@click.option("--once", is_flag=True, help="Run one pass and exit")
@click.option("--concurrency", default=2, show_default=True, help="Celery pool size (with HORSESHOE_BROKER_URL)")
@click.pass_context
def worker(ctx: click.Context, once: bool, concurrency: int) -> None:
    """Run a worker: poll networks, route, deliver, send replies (a Celery worker when a broker is set)."""
    from plugin.runtime import build_runtime, warm_up
    from plugin.worker.loop import Worker

    settings = _settings(ctx)
    if settings.broker_url and not once:
        from plugin.worker.scaleout import run_worker

        sys.exit(run_worker(settings, concurrency=concurrency, loglevel=settings.log_level))
    runtime = build_runtime(settings)
    if not once:  # one pass may triage nothing; its first post loads what it needs
        warm_up(runtime)
    w = Worker(runtime)
    if once:
        tick = w.run_once()
        click.echo(json.dumps({k: v for k, v in tick.__dict__.items()}))
        return
    try:
        w.run_forever()
    except KeyboardInterrupt:
        w.stop()


@main.command()
def connectors() -> None:
    """List registered connectors and sinks with the distribution that provides each."""
    from plugin.plugins import Registry, get_plugin_manager

    registry = Registry(get_plugin_manager())
    for entry in sorted(registry.entries, key=lambda e: (e.kind, e.name)):
        click.echo(f"{entry.kind:<10} {entry.name:<12} {entry.display_name:<32} {entry.distribution}")


@main.command()
@click.argument("network")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--account", default=None, help="Our brand account id (when the payload does not say)")
def parse(network: str, file: Any, account: str | None) -> None:
    """Normalize a raw network payload (JSON) to mention JSON lines; say on stderr what was skipped and why.

    Accepts every shape the connector consumes: webhook bodies and the poll responses alike."""
    from plugin.plugins import Registry, get_plugin_manager

    registry = Registry(get_plugin_manager())
    try:
        connector = registry.connector(network)
    except KeyError as exc:
        raise click.BadParameter(str(exc.args[0]), param_hint="NETWORK") from None
    try:
        payload = json.load(file)
    except ValueError as exc:
        raise click.ClickException(f"{file.name}: not valid JSON: {exc}") from None
    try:
        # As the worker reads a page: an unreadable item is reported, the others still come out.
        with quarantine_scope() as unreadable:
            result = connector.explain_payload(payload, account)
    except BadInput as exc:
        raise click.ClickException(f"{file.name}: {exc}") from None
    for item in unreadable:
        click.echo(f"unreadable {item.where}: {item.error}", err=True)
    for mention in result.mentions:
        click.echo(json.dumps(mention.normal_form(), ensure_ascii=False))
    # Why a valid payload gave less than it seemed to hold: on stderr, so stdout stays JSON lines.
    for skipped in result.skipped:
        click.echo(f"skipped {skipped.where}: {skipped.reason}", err=True)
    if not result.mentions and not result.skipped and not unreadable:
        click.echo(f"{file.name}: no mentions, and {network} gave no reason for skipping anything", err=True)
    if unreadable:
        raise click.ClickException(f"{file.name}: {len(unreadable)} item(s) could not be read (see above)")


main.add_command(triage_group, name="triage")
main.add_command(trust_cli.tenants)
main.add_command(trust_cli.keys)
main.add_command(trust_cli.accounts)
main.add_command(quarantine_group)


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply all migrations (safe to run repeatedly)."""
    from plugin.store.db import Database

    settings = load_settings(**ctx.parent.obj if ctx.parent else {})
    Database(settings.resolved_database_url).upgrade()
    click.echo("database is at the newest schema")


@main.command()
@click.pass_context
def doctor(ctx: click.Context) -> None:
    """Check configuration, database, plugins and every tenant's CRM connections."""
    from plugin.cli.doctor import run_doctor

    problems = run_doctor(_settings(ctx), echo=click.echo)
    if problems:
        sys.exit(1)


@main.command()
@click.argument("account_id", type=int)
@click.option("--pages", default=10, show_default=True, help="Maximum pages to fetch")
@click.pass_context
def backfill(ctx: click.Context, account_id: int, pages: int) -> None:
    """Poll one account page by page now (e.g. after an outage), with a progress bar."""
    from plugin.worker.backfill import run_backfill

    run_backfill(_settings(ctx), account_id, pages)


def _plugin_commands() -> None:
    """Commands from plugins (``horseshoe_register_commands``): identity, the sandbox's demo, third parties."""
    from plugin.plugins import Hooks, get_plugin_manager

    Hooks(get_plugin_manager()).register_commands(main)


_plugin_commands()

if __name__ == "__main__":  # pragma: no cover
    main()
