"""``horseshoe backfill``: fetch an account's pages now, with a progress bar."""

from __future__ import annotations

from rich.progress import Progress

from plugin.config import Settings
from plugin.connector import quarantine_scope
from plugin.pipeline import inbound as pipeline
from plugin.pipeline import quarantine
from plugin.runtime import Runtime, build_runtime


def run_backfill(
    settings: Settings, account_id: int, max_pages: int, *, runtime: Runtime | None = None
) -> dict[str, int]:
    runtime = runtime or build_runtime(settings)
    found = runtime.store.account(account_id)
    if found is None:
        raise SystemExit(f"no account {account_id}")
    account, context = found
    connector = runtime.registry.connector(account.network)
    cursor = runtime.store.brand_accounts.cursor(account_id).cursor
    totals = {"pages": 0, "new": 0, "duplicates": 0, "quarantined": 0}
    with Progress() as progress:
        task = progress.add_task(f"{account.network}:{account.handle or account.external_id}", total=max_pages)
        for _ in range(max_pages):
            # As the worker polls: an unreadable item is quarantined and the page still counts.
            with quarantine_scope() as unreadable:
                page = connector.poll(context, cursor)
            result = pipeline.ingest(runtime, account, page.mentions)
            totals["quarantined"] += quarantine.store(runtime, account, "poll", unreadable)
            cursor = page.cursor
            runtime.store.brand_accounts.save_cursor(account_id, cursor)
            totals["pages"] += 1
            totals["new"] += len(result.new)
            totals["duplicates"] += result.duplicates
            progress.update(task, advance=1, description=f"{totals['new']} new")
            if not page.more:
                break
    print(
        f"backfill: {totals['pages']} pages, {totals['new']} new mentions, {totals['duplicates']} already stored, "
        f"{totals['quarantined']} quarantined"
    )
    return totals
