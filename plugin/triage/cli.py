"""``horseshoe triage``: label JSON lines, evaluate against a labelled export, chart the SPS.

``horseshoe triage FILE`` (no sub-command) labels: JSON lines ``{text, lang?, author?: {handle,
followers, verified}, network?, to_handle?}`` in, one JSON line ``{language, intent, sentiment, pii,
priority, engage}`` out. Follower counts and badges are accepted and ignored: influence buys nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import click
from pydantic import ValidationError

from plugin.models import Author, Mention
from plugin.plugins import Hooks, get_plugin_manager
from plugin.triage import merge_labels
from plugin.triage.evaluate import Case, report, table

FIELDS = ("language", "intent", "sentiment", "pii", "priority", "engage")


def _mention(item: Any, number: int, use_lang: bool = True) -> Mention:
    if not isinstance(item, dict) or not isinstance(item.get("text"), str):
        raise ValueError("each line needs a JSON object with a string 'text'")
    author = item.get("author") or "anonymous"
    if isinstance(author, dict):
        handle = str(author.get("handle") or author.get("id") or "anonymous")
    else:
        handle = str(author)
    return Mention(
        network=str(item.get("network") or "unknown"),
        external_id=f"line-{number}",
        author=Author(external_id=handle, handle=handle),
        text=item["text"],
        lang=item.get("lang") if use_lang else None,
        created_at=datetime.now(UTC),
        account=str(item.get("to_handle") or "brand"),
    )


def triage_lines(lines: Iterable[str]) -> Iterator[str]:
    hooks = Hooks(get_plugin_manager())
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            mention = _mention(json.loads(line), number)
        except (ValueError, ValidationError) as exc:
            yield json.dumps({"line": number, "error": str(exc).splitlines()[0]})
            continue
        labels = merge_labels(hooks.triage(mention)).model_dump()
        yield json.dumps({name: labels.get(name) for name in FIELDS}, ensure_ascii=False)


def evaluate_lines(lines: Iterable[str]) -> dict[str, Any]:
    """Triage every labelled line ``{text, intent, lang?, sentiment?}``; the language label is the truth
    to check, so it is not given to triage as the network's hint."""
    hooks = Hooks(get_plugin_manager())
    cases = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            mention = _mention(item, number, use_lang=False)
            if not isinstance(item.get("intent"), str):
                raise ValueError("each line needs a string 'intent'")
        except (ValueError, ValidationError) as exc:
            raise click.ClickException(f"line {number}: {str(exc).splitlines()[0]}") from None
        labels = merge_labels(hooks.triage(mention))
        cases.append(
            Case(
                item["text"],
                item["intent"],
                item.get("lang"),
                item.get("sentiment"),
                labels.intent,
                labels.language,
                labels.sentiment,
            )
        )
    if not cases:
        raise click.ClickException("no labelled lines to evaluate")
    return report(cases)


class _LabelByDefault(click.Group):
    """``horseshoe triage FILE`` stays the labelling command; named sub-commands come first."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["label", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_LabelByDefault, invoke_without_command=False)
def triage() -> None:
    """Label mentions: `triage FILE`, `triage eval FILE`, `triage sps`."""


@triage.command("label")
@click.argument("file", type=click.File("r", encoding="utf-8"))
def label(file: Any) -> None:
    """Label JSON lines {text, lang?, author?, network?, to_handle?}: one JSON line of labels each."""
    for line in triage_lines(file):
        click.echo(line)


@triage.command("eval")
@click.argument("file", type=click.File("r", encoding="utf-8"))
def evaluate(file: Any) -> None:
    """Per-intent precision/recall and a confusion matrix for labelled JSON lines {text, intent, lang?,
    sentiment?}; ends with one JSON line of the figures."""
    result = evaluate_lines(file)
    click.echo(table(result))
    click.echo(json.dumps({k: v for k, v in result.items() if k not in ("per_intent", "confusion")}))


@triage.command("sps")
@click.option("--tenant", default=None, help="Tenant key (Zendesk subdomain / Salesforce org id); default all")
@click.option("--days", default=30, show_default=True, type=click.IntRange(1, 3660))
@click.option("--period", default="day", show_default=True, type=click.Choice(["day", "week", "month"]))
@click.pass_context
def sps(ctx: click.Context, tenant: str | None, days: int, period: str) -> None:
    """Social Promoter Score per period from the stored labels: one JSON line per period."""
    from plugin.config import load_settings
    from plugin.store.db import Database
    from plugin.store.triage import TriageRepository
    from plugin.triage.praise import social_promoter_score

    settings = load_settings(**(ctx.find_root().obj or {}))  # --data-dir / --database-url of `horseshoe`
    db = Database(settings.resolved_database_url)
    try:
        db.upgrade()
        repository = TriageRepository(db)
        tenant_id = None
        if tenant is not None:
            from plugin.secrets import SecretBox
            from plugin.store.repo import Store

            tenant_id = Store(db, SecretBox(settings.secret_key)).tenant_id(tenant)
            if tenant_id is None:
                raise click.ClickException(f"no tenant {tenant!r}")
        since = datetime.now(UTC) - timedelta(days=days)
        for row in social_promoter_score(repository, tenant_id, since, period):
            click.echo(json.dumps(row))
    finally:
        db.dispose()
