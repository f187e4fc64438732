"""The sandbox as a horseshoe plugin: ``horseshoe demo`` and ``horseshoe sandbox``.

Registered through the ``horseshoe.plugins`` entry point like any third-party plugin, so the host
never imports the sandbox.
"""

from __future__ import annotations

import json
import sys

import click
import pluggy

from sandbox.base.service import MEASURING_CRM_LATENCY

hookimpl = pluggy.HookimplMarker("horseshoe")


@hookimpl
def horseshoe_register_commands(cli: click.Group) -> None:
    @cli.command()
    @click.option("--mentions", "count", default=60, show_default=True, help="How many mentions to stream")
    @click.option("--exit-when-done", is_flag=True, help="Stop when all traffic is handled; print a JSON summary")
    @click.option("--faults/--no-faults", default=True, show_default=True, help="Inject 429s/5xx into the sandboxes")
    @click.option("--port", default=0, help="Port for horseshoe's web server (0 = any free port)")
    @click.option("--seed", default=7, show_default=True)
    @click.option("--keep-data", is_flag=True, help="Keep the demo database directory afterwards")
    def demo(count: int, exit_when_done: bool, faults: bool, port: int, seed: int, keep_data: bool) -> None:
        """Run the whole pipeline against the built-in sandbox (no accounts or config needed)."""
        from sandbox.demo.run import run_demo

        summary = run_demo(
            mentions=count, exit_when_done=exit_when_done, faults=faults, port=port, seed=seed, keep_data=keep_data
        )
        if exit_when_done:
            click.echo(json.dumps(summary))
            if summary.get("lost") or summary.get("duplicates"):
                sys.exit(1)

    @cli.command()
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=8900, show_default=True, help="First port; each fake takes the next one")
    @click.option("--latency", default=0.0, show_default=True, help="Seconds each API call of every fake takes")
    @click.option(
        "--crm-latency",
        type=float,
        default=None,
        help="Seconds per Zendesk and Salesforce call (default: --latency)",
    )
    @click.option("--measure", is_flag=True, help=f"Pace the CRMs as when measuring: {MEASURING_CRM_LATENCY}s per call")
    @click.option("--rate-limit", type=int, default=None, help="API calls each fake answers per window (then 429)")
    @click.option("--rate-window", default=60.0, show_default=True, help="Seconds of the rate-limit window")
    @click.option(
        "--limit",
        "limits",
        multiple=True,
        metavar="FAKE=CALLS[/SECONDS]",
        help="One fake's budget, e.g. zendesk=700/60",
    )
    def sandbox(
        host: str,
        port: int,
        latency: float,
        crm_latency: float | None,
        measure: bool,
        rate_limit: int | None,
        rate_window: float,
        limits: tuple[str, ...],
    ) -> None:
        """Run every fake service (Zendesk, X, ...) on local ports until interrupted."""
        from sandbox.runner import Pacing, parse_limit, run_all

        try:
            own = dict(parse_limit(text) for text in limits)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--limit") from None
        if crm_latency is None and measure:
            crm_latency = MEASURING_CRM_LATENCY
        for value, name in ((latency, "--latency"), (crm_latency or 0.0, "--crm-latency")):
            if value < 0:
                raise click.BadParameter("cannot be negative", param_hint=name)
        run_all(host, port, Pacing(latency, crm_latency, rate_limit, rate_window, own))
