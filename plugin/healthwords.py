"""Health in plain words: one account's or CRM connection's state, its badge and what it means.

``HealthRepository.accounts()`` and ``.sinks()`` (``plugin/store/health.py``) say what happened; this
module is the one place that turns that into what an admin reads: the Zendesk admin page, the
standalone console's health page and ``horseshoe doctor`` all take their states and sentences from
here, so the three never disagree on when an account is "failing" or what "needs attention" means.
Where to click to fix it differs per page (each says it next to the state).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from plugin.store.health import AccountHealth, Attention, SinkHealth


def when(value: datetime | None, *, seconds: bool = False) -> str:
    """A UTC time as pages show it ("2026-12-01 04:05 UTC"), "never" for None."""
    if value is None:
        return "never"
    return value.strftime("%Y-%m-%d %H:%M:%SZ" if seconds else "%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class State:
    """What a page shows for one account or CRM connection.

    ``key``: a stable name for tests and CSS ("healthy", "failing", "attention", "warning", "stuck",
    "quarantined", "disabled", "idle"); ``label``: the badge; ``tone``: its colour ("ok", "warn",
    "attention", "muted"); ``detail``: the sentence under it (empty when the badge says it all);
    ``paused``: its work waits for an admin; ``needs_admin``: an admin has something to do."""

    key: str
    label: str
    tone: str
    detail: str
    paused: bool = False
    needs_admin: bool = False


def _failing(error_at: datetime | None, *successes: datetime | None) -> bool:
    """The last error is newer than the last success (or nothing ever succeeded)."""
    latest = max((s for s in successes if s is not None), default=None)
    return error_at is not None and (latest is None or error_at > latest)


def account_state(h: AccountHealth) -> State:
    """The one state of an account, the most urgent first."""
    if not h.enabled:
        return State("disabled", "Disabled", "muted", "horseshoe neither polls it nor posts its replies.")
    if h.needs_attention and h.attention_pauses:
        return State("attention", "Needs attention", "attention",
                     f"{h.needs_attention} — its polls and replies are paused until it is connected again.",
                     paused=True, needs_admin=True)  # fmt: skip
    if h.needs_attention:
        # The warning's reason already says when and what to do (plugin/attention.py's token_expiring).
        return State("warning", "Needs attention soon", "warn", h.needs_attention, needs_admin=True)
    if h.stuck:
        return State("stuck", "Stuck", "warn", f"{h.poll_failures} polls failed in a row: {h.last_error}",
                     needs_admin=True)  # fmt: skip
    if _failing(h.last_error_at, h.last_poll_ok_at, h.last_webhook_ok_at):
        return State("failing", "Failing", "warn", f"The last attempt failed (retried automatically): {h.last_error}")
    if h.quarantined:
        return State("quarantined", f"{h.quarantined} quarantined", "warn",
                     f"{h.quarantined} item(s) could not be read; retry or discard them on the Quarantine page.",
                     needs_admin=True)  # fmt: skip
    if h.last_poll_ok_at or h.last_webhook_ok_at:
        return State("healthy", "Healthy", "ok", "")
    return State("idle", "No poll yet", "muted", "Nothing received or polled yet.")


def sink_state(c: SinkHealth) -> State:
    """The one state of a tenant's CRM connection (Zendesk instance, Salesforce org)."""
    if not c.enabled:
        return State("disabled", "Disabled", "warn", c.disabled_reason or "Deliveries to it are off.",
                     needs_admin=True)  # fmt: skip
    if c.needs_attention and c.attention_pauses:
        return State("attention", "Needs attention", "attention",
                     f"{c.needs_attention} — deliveries to it are paused until its credentials are updated "
                     "(connect it again).", paused=True, needs_admin=True)  # fmt: skip
    if c.needs_attention:
        return State("warning", "Needs attention soon", "warn", c.needs_attention, needs_admin=True)
    if _failing(c.last_error_at, c.last_ok_at):
        return State("failing", "Failing", "warn", f"The last batch failed: {c.last_error}")
    if c.last_ok_at:
        return State("healthy", "Healthy", "ok", "")
    return State("idle", "No delivery yet", "muted", "Nothing delivered to it yet.")


def attention_state(a: Attention) -> State:
    """Refused credentials of a CRM whose connection row is gone (removed after the refusal)."""
    return State("attention", "Needs attention", "attention",
                 f"{a.sink}: {a.reason} — deliveries to it are paused until its credentials are updated.",
                 paused=True, needs_admin=True)  # fmt: skip


def account_problems(health: AccountHealth, installed: bool = True) -> list[str]:
    """What an admin must fix about one account, in plain words (empty = nothing): ``horseshoe doctor``."""
    found: list[str] = []
    if not installed:
        found.append("connector not installed")
    if health.needs_attention:
        paused = "" if health.attention_pauses else " (still working)"
        found.append(f"needs attention{paused} since {when(health.attention_since, seconds=True)}: "
                     f"{health.needs_attention}")  # fmt: skip
    if health.stuck:
        found.append(
            f"stuck: {health.poll_failures} polls failed in a row, cursor unmoved since "
            f"{when(health.last_poll_ok_at, seconds=True)} ({health.last_error})"
        )
    if health.quarantined:
        found.append(
            f"{health.quarantined} item(s) quarantined (horseshoe quarantine list --account {health.account_id})"
        )
    return found


def account_facts(health: AccountHealth) -> str:
    """The account's vital signs on one line (``horseshoe doctor``)."""
    facts = [
        f"last poll {when(health.last_poll_ok_at, seconds=True)}",
        f"last webhook {when(health.last_webhook_ok_at, seconds=True)}",
        f"undelivered {health.undelivered}"
        + (f" (oldest {when(health.oldest_undelivered_at, seconds=True)})" if health.oldest_undelivered_at else ""),
        f"quarantined {health.quarantined}",
    ]
    if health.token_expires_at is not None:
        facts.append(f"token {health.token_expiry()} ({when(health.token_expires_at, seconds=True)})")
    if health.last_error:
        facts.append(f"last error {when(health.last_error_at, seconds=True)}: {health.last_error}")
    return ", ".join(facts)


def sink_facts(health: SinkHealth) -> str:
    """A CRM connection's vital signs on one line (``horseshoe doctor``)."""
    facts = [f"last delivery {when(health.last_ok_at, seconds=True)}"]
    if health.token_expires_at is not None:
        facts.append(
            f"session {health.token_expiry()} ({when(health.token_expires_at, seconds=True)}, renewed automatically)"
        )
    if health.last_error:
        facts.append(f"last error {when(health.last_error_at, seconds=True)}: {health.last_error}")
    return ", ".join(facts)
