"""The ``horseshoe`` command."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import click

from .config import load_settings
from .errors import BadInput


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
@click.option("--mentions", "count", default=60, show_default=True, help="How many mentions to stream")
@click.option("--exit-when-done", is_flag=True, help="Stop when all traffic is handled; print a JSON summary")
@click.option("--faults/--no-faults", default=True, show_default=True, help="Inject 429s/5xx into the sandboxes")
@click.option("--port", default=0, help="Port for horseshoe's web server (0 = any free port)")
@click.option("--seed", default=7, show_default=True)
@click.option("--keep-data", is_flag=True, help="Keep the demo database directory afterwards")
def demo(count: int, exit_when_done: bool, faults: bool, port: int, seed: int, keep_data: bool) -> None:
    """Run the whole pipeline against the built-in sandbox (no accounts or config needed)."""
    from .demo import run_demo

    summary = run_demo(
        mentions=count, exit_when_done=exit_when_done, faults=faults, port=port, seed=seed, keep_data=keep_data
    )
    if exit_when_done:
        click.echo(json.dumps(summary))
        if summary.get("lost") or summary.get("duplicates"):
            sys.exit(1)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--with-worker/--no-worker", default=True, show_default=True, help="Run the in-process worker too")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, with_worker: bool) -> None:
    """Serve the Zendesk Channel Framework endpoints and network webhooks."""
    from werkzeug.serving import run_simple

    from .runtime import build_runtime
    from .web import create_app
    from .worker import Worker

    runtime = build_runtime(_settings(ctx))
    if with_worker and not runtime.settings.broker_url:
        Worker(runtime).start_thread()
    click.echo(f"horseshoe on http://{host}:{port}  manifest: {runtime.settings.public_url}/zendesk/manifest.json")
    run_simple(host, port, create_app(runtime), threaded=True)


@main.command()
@click.option("--once", is_flag=True, help="Run one pass and exit")
@click.option("--concurrency", default=2, show_default=True, help="Celery pool size (with HORSESHOE_BROKER_URL)")
@click.pass_context
def worker(ctx: click.Context, once: bool, concurrency: int) -> None:
    """Run a worker: poll networks, route, deliver, send replies (a Celery worker when a broker is set)."""
    from .runtime import build_runtime
    from .worker import Worker

    settings = _settings(ctx)
    if settings.broker_url and not once:
        from .scaleout import run_worker

        sys.exit(run_worker(settings, concurrency=concurrency, loglevel=settings.log_level))
    w = Worker(build_runtime(settings))
    if once:
        tick = w.run_once()
        click.echo(json.dumps({k: v for k, v in tick.__dict__.items()}))
        return
    try:
        w.run_forever()
    except KeyboardInterrupt:
        w.stop()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8900, show_default=True, help="First port; each fake takes the next one")
def sandbox(host: str, port: int) -> None:
    """Run every fake service (Zendesk, X, ...) on local ports until interrupted."""
    from sandbox.runner import run_all

    run_all(host, port)


@main.command()
def connectors() -> None:
    """List registered connectors and sinks with the distribution that provides each."""
    from .plugins import Registry, get_plugin_manager

    registry = Registry(get_plugin_manager())
    for entry in sorted(registry.entries, key=lambda e: (e.kind, e.name)):
        click.echo(f"{entry.kind:<10} {entry.name:<12} {entry.display_name:<32} {entry.distribution}")


@main.command()
@click.argument("network")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--account", default=None, help="Our brand account id (when the payload does not say)")
def parse(network: str, file: Any, account: str | None) -> None:
    """Normalize a raw network payload (JSON) to mention JSON lines."""
    from .plugins import Registry, get_plugin_manager

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
        mentions = connector.parse_payload(payload, account)
    except BadInput as exc:
        raise click.ClickException(f"{file.name}: {exc}") from None
    for mention in mentions:
        click.echo(json.dumps(mention.normal_form(), ensure_ascii=False))


@main.command()
@click.argument("file", type=click.File("r", encoding="utf-8"))
def triage(file: Any) -> None:
    """Label JSON lines {text, lang?, author?, network?, to_handle?}: one JSON line of labels each."""
    from .triage.cli import triage_lines

    for line in triage_lines(file):
        click.echo(line)


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply all migrations (safe to run repeatedly)."""
    from .store.db import Database

    settings = load_settings(**ctx.parent.obj if ctx.parent else {})
    Database(settings.resolved_database_url).upgrade()
    click.echo("database is at the newest schema")


@main.command()
@click.pass_context
def doctor(ctx: click.Context) -> None:
    """Check configuration, database, plugins and every tenant's CRM connections."""
    from .doctor import run_doctor

    problems = run_doctor(_settings(ctx), echo=click.echo)
    if problems:
        sys.exit(1)


@main.command()
@click.argument("account_id", type=int)
@click.option("--pages", default=10, show_default=True, help="Maximum pages to fetch")
@click.pass_context
def backfill(ctx: click.Context, account_id: int, pages: int) -> None:
    """Poll one account page by page now (e.g. after an outage), with a progress bar."""
    from .backfill import run_backfill

    run_backfill(_settings(ctx), account_id, pages)


from .cli_identity import identity  # noqa: E402  (a command group of its own module)

main.add_command(identity)

if __name__ == "__main__":  # pragma: no cover
    main()
