""" "Needs attention": credentials a network or CRM refused stop that work and tell an admin, once.

An ``AuthError`` (expired or revoked token, a permission withdrawn) cannot be fixed by retrying: the
worker flags the account (or the tenant's CRM connection), pauses its polls, deliveries and replies,
and the configured admin contact (``admin_webhook_url``) gets one notice per flag, written to the
notices outbox first and delivered at least once with an idempotency key (``plugin/notices.py``). Saving new
credentials (reconnecting the account, updating the CRM connection) clears the flag and the work
resumes (``Store.upsert_account`` / ``Store.set_sink_connection``).

A token that will expire and cannot be renewed without the admin (``token_expiring``, from
``plugin/expiry.py``) is flagged ahead as a warning that does not pause anything: the admin is told
once, in time to reconnect; if they do not, the network's refusal at expiry pauses the account (a
pausing flag replaces the warning, and the admin is told again, since the work has now stopped).

``plain_error`` turns any failure into the sentence an admin reads in ``doctor`` and the admin page.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from plugin import notices
from plugin.errors import AuthError, FatalError, OutcomeUnknown, RateLimited, RetriableError
from plugin.store.health import account_target, expiry_words, sink_target

if TYPE_CHECKING:
    from plugin.runtime import Runtime
    from plugin.store.repo import AccountRow

log = logging.getLogger(__name__)
EVENT = "needs_attention"


def plain_error(exc: BaseException, what: str = "the network") -> str:
    """What went wrong, for an admin rather than a developer."""
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, AuthError):
        return f"{what} refused the credentials (token expired, revoked or missing a permission): {detail}"
    if isinstance(exc, RateLimited):
        wait = f"; trying again after {exc.retry_after:.0f} s" if exc.retry_after else ""
        return f"{what} is limiting how often we may call it{wait}: {detail}"
    if isinstance(exc, RetriableError):
        return f"{what} did not answer properly (temporary; retried automatically): {detail}"
    if isinstance(exc, FatalError):
        return f"{what} refused the request: {detail}"
    if isinstance(exc, OutcomeUnknown):
        return f"the connection to {what} broke and the outcome is unknown: {detail}"
    return f"unexpected {type(exc).__name__} (a bug in the connector or sink; see the log): {detail}"


def drain_notices(runtime: Runtime, timeout: float) -> bool:
    """Deliver the due notices now (tests, shutdown). True when nothing is left to send."""
    return notices.drain(runtime, timeout)


def _notify(runtime: Runtime, target: str, payload: dict[str, object]) -> None:
    """Write the flag's notice to the notices outbox (``plugin/notices.py`` delivers it at least once).

    Its idempotency key names the flag (target and since), so telling again while the same flag stands
    writes nothing, and a new flag after a reconnect is a new notice."""
    url = runtime.settings.admin_webhook_url
    if not url:
        log.warning("%s needs attention and no admin_webhook_url is configured: %s", target, payload["reason"])
        return
    flagged = runtime.store.health.attention_of(target)
    if flagged is None:
        return  # cleared meanwhile: nothing to tell
    since = flagged.since.isoformat()
    runtime.store.notices.enqueue(
        f"{EVENT}:{target}:{since}",
        tenant_id=flagged.tenant_id,
        kind=EVENT,
        target=target,
        url=url,
        subject=f"horseshoe: {payload['what']} needs attention",
        payload={"event": EVENT, "target": target, **payload, "since": since},
    )


def _account_facts(runtime: Runtime, account: AccountRow) -> dict[str, Any]:
    """What a notice says of the account it is about."""
    name = account.handle or account.external_id
    return {
        "what": f"{account.network} account {name}",
        "tenant": runtime.store.tenant_key(account.tenant_id),
        "network": account.network,
        "account": name,
        "account_id": account.id,
    }


def account_refused(runtime: Runtime, account_id: int, exc: AuthError, doing: str) -> None:
    """The network refused ``account_id``'s credentials while ``doing`` (poll, reply): pause and tell."""
    found = runtime.store.account(account_id)
    if found is None:
        return
    account = found[0]
    reason = plain_error(exc, account.network)
    target = account_target(account_id)
    if runtime.store.health.flag(target, account.tenant_id, reason, account_id=account_id):
        log.warning("account %s (%s) needs attention after a failed %s: %s", account_id, account.network, doing, reason)
    _notify(
        runtime,
        target,
        {
            **_account_facts(runtime, account),
            "during": doing,
            "reason": reason,
            "fix": "reconnect the account (new credentials) in the admin page; its work resumes then",
        },
    )


def sink_refused(runtime: Runtime, tenant_id: int, sink: str, exc: AuthError) -> None:
    """A CRM refused the tenant's connection credentials: deliveries to it wait for an admin."""
    reason = plain_error(exc, sink)
    target = sink_target(sink, tenant_id)
    if runtime.store.health.flag(target, tenant_id, reason, sink=sink):
        log.warning("%s connection of tenant %s needs attention: %s", sink, tenant_id, reason)
    tenant = runtime.store.tenant_key(tenant_id)
    _notify(
        runtime,
        target,
        {
            "what": f"the {sink} connection of {tenant}",
            "tenant": tenant,
            "sink": sink,
            "reason": reason,
            "fix": f"update the {sink} credentials; deliveries resume then",
        },
    )


def token_expiring(runtime: Runtime, account_id: int, expires_at: datetime, now: datetime | None = None) -> None:
    """``account_id``'s token expires at ``expires_at`` and horseshoe cannot renew it: warn the admin
    once, ahead of time, without pausing the account (it works until the network refuses it). The
    reason names the date, not "in N days", so the stored sentence stays true as days pass."""
    found = runtime.store.account(account_id)
    if found is None:
        return
    account = found[0]
    when = expires_at.strftime("%Y-%m-%d %H:%M UTC")
    reason = (
        f"the {account.network} token expires on {when} and cannot be renewed without you: connect the account "
        "again before then (it keeps working until then)"
        if expiry_words(expires_at, now) != "expired"
        else f"the {account.network} token expired on {when} and cannot be renewed without you: connect the "
        "account again (its work pauses as soon as the network refuses the token)"
    )
    target = account_target(account_id)
    if runtime.store.health.flag(target, account.tenant_id, reason, account_id=account_id, pauses=False):
        log.warning("account %s (%s): %s", account_id, account.network, reason)
    _notify(
        runtime,
        target,
        {
            **_account_facts(runtime, account),
            "during": "token check",
            "reason": reason,
            "expires_at": expires_at.isoformat(),
            "pauses": False,
            "fix": f"connect the account again (new credentials) in the admin page before {when}",
        },
    )
