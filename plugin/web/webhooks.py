"""Network webhooks: ``/webhooks/<network>/<account public key>``, and ``/webhooks/app/<tenant>/<app>``
for networks whose app has one callback URL for all its accounts (``Connector.webhook_app``: Meta).

Order matters: verify the network's signature over the raw body, then parse, then commit to the
inbox, then answer. A request that fails verification leaves no trace in the inbox.

Some networks send several connectors' events to one URL (Meta: one callback URL per app and object,
so a Page's feed changes and Messenger messages share a body). A connector names those networks in
``webhook_siblings``; after the addressed account, the same verified body is handed to the sibling
accounts of the same tenant whose ``webhook_key`` (the Page id) matches, each verified with its own
secrets and parsed by its own connector, so each connector ingests only its part, once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from flask import Blueprint, Response, current_app, jsonify, request

from plugin.connector import (
    AccountContext,
    Connector,
    InboundRequest,
    Quarantined,
    WebhookResult,
    quarantine_scope,
    webhook_secrets,
)
from plugin.errors import BadInput, FatalError, RetriableError, Unauthorized
from plugin.models import Mention
from plugin.pipeline import inbound as pipeline
from plugin.pipeline import quarantine
from plugin.pipeline.announce import Announcer
from plugin.store.account_cache import CachedAccount, StaleAccounts
from plugin.store.intake import IntakeFailed
from plugin.web.extension import runtime

if TYPE_CHECKING:
    from plugin.runtime import Runtime
    from plugin.store.repo import AccountRow

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__)


# A webhook handled with a cached account that changed meanwhile is handled again with fresh rows;
# only accounts changing this often in a row make the network deliver it again later.
ATTEMPTS = 3
ANNOUNCER = "horseshoe_announcer"  # app.extensions key of the app's ``Announcer``


@bp.errorhandler(IntakeFailed)
def intake_failed(exc: IntakeFailed) -> Any:
    """The database could not commit the webhook (nothing of it is stored): 503 with the reason and a
    Retry-After, so the network delivers it again instead of taking a 500 as final."""
    log.warning("webhook not stored, answered 503: %s", exc)
    response = jsonify(error="IntakeFailed", reason=str(exc))
    response.status_code = 503
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


@bp.route("/<network>/<public_key>", methods=["GET", "POST"])
def receive(network: str, public_key: str) -> Any:
    rt = runtime()
    if network not in rt.registry.connectors:
        raise BadInput(f"unknown network {network!r}", status=404)
    connector = rt.registry.connector(network)
    return _with_fresh_accounts(rt, lambda inbound: _handle(rt, connector, public_key, inbound))


def _with_fresh_accounts(rt: Runtime, handle: Callable[[InboundRequest], Any]) -> Any:
    """Run ``handle`` on this request with the cached accounts; when they changed meanwhile
    (``StaleAccounts``: another instance reconnected or deleted one), drop the cache and run it again,
    so no webhook is stored against an account as it was. 503 (the network delivers again) only when
    they keep changing."""
    inbound = InboundRequest(
        method=request.method,
        path=request.path,
        headers=dict(request.headers.items()),
        body=request.get_data(cache=True),
        query=dict(request.args.items()),
    )
    for _ in range(ATTEMPTS):
        try:
            return handle(inbound)
        except StaleAccounts:
            rt.store.webhook_accounts.forget()
    raise BadInput("the accounts changed while this webhook was handled: deliver it again", status=503)


def _handle(rt: Runtime, connector: Connector, public_key: str, inbound: InboundRequest) -> Any:
    """Verify, parse and store one webhook with the accounts as cached; ``StaleAccounts`` when they
    changed since (then nothing was stored and no answer given)."""
    cached = rt.store.webhook_accounts.by_public_key(connector.name, public_key)
    if cached is None:
        raise BadInput("unknown webhook address", status=404)
    try:
        # Connectors see the account's settings (bot username, group id...) beside its credentials.
        if not connector.verify_request(inbound, webhook_secrets(cached.context)):
            raise Unauthorized("webhook signature does not verify")
        result, held = _receive(connector, inbound, cached.context)
        parts = [_part(rt, cached.account, result.mentions, held)]
        if result.handshake is None:
            # A handshake (subscription GET) belongs to the addressed account alone; events fan out.
            parts += _sibling_parts(rt, cached, connector, inbound)
    except BadInput:
        # Refused with the secrets and settings as cached: refused for good only if they are current.
        rt.store.intake.check_generation(cached.generation)
        raise
    if any(p.mentions or p.held or p.webhook_ok for p in parts):
        # One write transaction for every part, checking first that the cached accounts are current.
        keys = {cached.account.tenant_id: cached.tenant_key}
        results = pipeline.ingest_parts(
            rt, parts, expect_generation=cached.generation, tenant_keys=keys, announce=_announcer(rt).submit
        )
    else:
        rt.store.intake.check_generation(cached.generation)
        results = [pipeline.IngestResult() for _ in parts]
    for done, stored in zip(parts, results, strict=True):
        quarantine.report(done.account, "webhook", done.held, len(stored.quarantined))
    new = sum(len(r.new) for r in results)
    if new and rt.settings.broker_url:
        # Committed above; the message only wakes a Celery worker (without a broker, ingest rang the
        # worker of this database: plugin/pipeline/doorbell.py).
        from plugin.worker.scaleout import wake

        wake(rt.settings)
    if result.handshake is not None:
        status, content_type, body = result.handshake
        return Response(body, status=status, content_type=content_type)
    # Everything above is committed (mentions and quarantined entries alike): only now the 2xx.
    answer = {
        "received": sum(len(p.mentions) for p in parts),
        "new": new,
        "duplicates": sum(r.duplicates for r in results),
    }
    quarantined = sum(len(r.quarantined) for r in results)
    if quarantined:
        answer["quarantined"] = quarantined
    return jsonify(answer)


def _sibling_parts(
    rt: Runtime, cached: CachedAccount, connector: Connector, inbound: InboundRequest
) -> list[pipeline.Part]:
    """The same verified body, as each sibling account's connector reads it."""
    parts = []
    for sibling, sibling_connector in _siblings(rt, cached, connector):
        if not sibling_connector.verify_request(inbound, webhook_secrets(sibling.context)):
            # Signatures are checked per account: a sibling with another app secret is not trusted.
            log.warning(
                "webhook for account %s does not verify for sibling account %s", cached.account.id, sibling.account.id
            )
            continue
        result, held = _receive(sibling_connector, inbound, sibling.context)
        parts.append(_part(rt, sibling.account, result.mentions, held))
    return parts


def _announcer(rt: Runtime) -> Announcer:
    """This app's announcer: the observers of new mentions run beside the request, not in it."""
    found = current_app.extensions.get(ANNOUNCER)
    if found is None:
        found = current_app.extensions.setdefault(ANNOUNCER, Announcer(rt))
    announcer: Announcer = found
    return announcer


def _part(rt: Runtime, account: AccountRow, mentions: list[Mention], held: list[Quarantined]) -> pipeline.Part:
    return pipeline.Part(account, mentions, held, "webhook", rt.store.health.webhook_mark_due(account.id))


def _receive(
    connector: Connector, inbound: InboundRequest, context: AccountContext
) -> tuple[WebhookResult, list[Quarantined]]:
    """``receive_webhook`` and the entries it could not read (kept, not failing the good ones); a network
    call it makes (Instagram mention lookups) that fails is answered 5xx with the reason, so the network
    delivers the webhook again (what was stored stays deduplicated)."""
    try:
        with quarantine_scope() as held:
            return connector.receive_webhook(inbound, context), held
    except RetriableError as exc:
        reason = f"{connector.name}: cannot complete this webhook now, deliver it again: {exc}"
        raise BadInput(reason, status=503) from exc
    except FatalError as exc:
        log.error("%s webhook for account %s needs an admin: %s", connector.name, context.external_id, exc)
        raise BadInput(f"{connector.name}: cannot complete this webhook: {exc}", status=502) from exc
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        # A verified body the connector cannot read: the sender gets a 400 with the reason, and the
        # operator a log line, instead of a 500 (every parser failure is the sender's to see).
        log.warning("%s webhook for account %s not understood", connector.name, context.external_id, exc_info=True)
        raise BadInput(f"{connector.name}: payload not understood: {type(exc).__name__}: {exc}"[:500]) from exc


def _siblings(rt: Runtime, cached: CachedAccount, connector: Connector) -> Iterator[tuple[CachedAccount, Connector]]:
    """The tenant's enabled accounts on ``connector.webhook_siblings`` networks with the same webhook key."""
    key = connector.webhook_key(cached.context)
    if key is None or not connector.webhook_siblings:
        return
    for sibling in rt.store.webhook_accounts.tenant_accounts(cached.account.tenant_id, cached.generation):
        row = sibling.account
        if row.id == cached.account.id or not row.enabled or row.network not in connector.webhook_siblings:
            continue
        if row.network not in rt.registry.connectors:
            continue
        sibling_connector = rt.registry.connector(row.network)
        if sibling_connector.webhook_key(sibling.context) == key:
            yield sibling, sibling_connector


@bp.route("/app/<tenant_key>/<app_id>", methods=["GET", "POST"])
def receive_app(tenant_key: str, app_id: str) -> Any:
    """One callback URL for every account of one app (``Connector.webhook_app``): verified once per
    distinct secret set, then handed to each account of the app, whose connector keeps its own entries."""
    rt = runtime()
    tenant_id = rt.store.tenant_id(tenant_key)
    if tenant_id is None:
        raise BadInput("unknown webhook address", status=404)
    return _with_fresh_accounts(rt, lambda inbound: _handle_app(rt, tenant_id, tenant_key, app_id, inbound))


def _handle_app(rt: Runtime, tenant_id: int, tenant_key: str, app_id: str, inbound: InboundRequest) -> Any:
    accounts = list(_app_accounts(rt, tenant_id, app_id))
    if not accounts:
        raise BadInput("unknown webhook address", status=404)
    generation = accounts[0][0].generation
    verdicts: dict[tuple[tuple[str, str], ...], bool] = {}
    trusted = []
    for cached, connector in accounts:
        secrets = webhook_secrets(cached.context)
        key = tuple(sorted(secrets.items()))
        if key not in verdicts:  # the app's signature is checked once, not once per account
            verdicts[key] = connector.verify_request(inbound, secrets)
        if verdicts[key]:
            trusted.append((cached, connector))
    if not trusted:
        rt.store.intake.check_generation(generation)  # refused for good only with current secrets
        raise Unauthorized("webhook signature does not verify")
    parts = []
    for cached, connector in trusted:
        result, held = _receive(connector, inbound, cached.context)
        if result.handshake is not None:
            rt.store.intake.check_generation(generation)
            status, content_type, body = result.handshake  # the app's subscription check: answered once
            return Response(body, status=status, content_type=content_type)
        parts.append(_part(rt, cached.account, result.mentions, held))
    results = pipeline.ingest_parts(
        rt, parts, expect_generation=generation, tenant_keys={tenant_id: tenant_key}, announce=_announcer(rt).submit
    )
    for done, stored in zip(parts, results, strict=True):
        quarantine.report(done.account, "webhook", done.held, len(stored.quarantined))
    new = sum(len(r.new) for r in results)
    if new and rt.settings.broker_url:
        from plugin.worker.scaleout import wake

        wake(rt.settings)
    answer = {
        "received": sum(len(p.mentions) for p in parts),
        "new": new,
        "duplicates": sum(r.duplicates for r in results),
        "accounts": len(trusted),
    }
    quarantined = sum(len(r.quarantined) for r in results)
    if quarantined:
        answer["quarantined"] = quarantined
    return jsonify(answer)


def _app_accounts(rt: Runtime, tenant_id: int, app_id: str) -> Iterator[tuple[CachedAccount, Connector]]:
    for cached in rt.store.webhook_accounts.tenant_snapshot(tenant_id):
        if not cached.account.enabled or cached.account.network not in rt.registry.connectors:
            continue
        connector = rt.registry.connector(cached.account.network)
        if connector.webhook_app(cached.context) == app_id:
            yield cached, connector


def app_webhook_url(public_url: str, tenant_key: str, app_id: str) -> str:
    """The one callback URL of ``app_id``'s accounts of a tenant."""
    return f"{public_url.rstrip('/')}/webhooks/app/{quote(tenant_key, safe='')}/{quote(app_id, safe='')}"
