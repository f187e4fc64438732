"""Network webhooks: ``/webhooks/<network>/<account public key>``.

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
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, jsonify, request

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
from plugin.web.extension import runtime

if TYPE_CHECKING:
    from plugin.runtime import Runtime
    from plugin.store.repo import AccountRow

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__)


@bp.route("/<network>/<public_key>", methods=["GET", "POST"])
def receive(network: str, public_key: str) -> Any:
    rt = runtime()
    if network not in rt.registry.connectors:
        raise BadInput(f"unknown network {network!r}", status=404)
    found = rt.store.account_by_public_key(network, public_key)
    if found is None:
        raise BadInput("unknown webhook address", status=404)
    account, context = found
    connector = rt.registry.connector(network)
    inbound = InboundRequest(
        method=request.method,
        path=request.path,
        headers={k: v for k, v in request.headers.items()},
        body=request.get_data(cache=True),
        query={k: v for k, v in request.args.items()},
    )
    # Connectors see the account's settings (bot username, group id...) beside its credentials.
    if not connector.verify_request(inbound, webhook_secrets(context)):
        raise Unauthorized("webhook signature does not verify")
    result, held = _receive(connector, inbound, context)
    received, new, duplicates = _ingest(rt, account, result.mentions)
    quarantined = quarantine.store(rt, account, "webhook", held)
    rt.store.health.webhook_succeeded(account.id)
    if result.handshake is None:
        # A handshake (subscription GET) belongs to the addressed account alone; events fan out.
        for sibling, sibling_context, sibling_connector in _siblings(rt, account, context, connector):
            if not sibling_connector.verify_request(inbound, webhook_secrets(sibling_context)):
                # Signatures are checked per account: a sibling with another app secret is not trusted.
                log.warning("webhook for account %s does not verify for sibling account %s", account.id, sibling.id)
                continue
            part, sibling_held = _receive(sibling_connector, inbound, sibling_context)
            counts = _ingest(rt, sibling, part.mentions)
            quarantined += quarantine.store(rt, sibling, "webhook", sibling_held)
            rt.store.health.webhook_succeeded(sibling.id)
            received, new, duplicates = received + counts[0], new + counts[1], duplicates + counts[2]
    if new and rt.settings.broker_url:
        # Committed above; the message only wakes a Celery worker (the in-process one polls the DB).
        from plugin.worker.scaleout import wake

        wake(rt.settings)
    if result.handshake is not None:
        status, content_type, body = result.handshake
        return Response(body, status=status, content_type=content_type)
    # Everything above is committed (mentions and quarantined entries alike): only now the 2xx.
    answer = {"received": received, "new": new, "duplicates": duplicates}
    if quarantined:
        answer["quarantined"] = quarantined
    return jsonify(answer)


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


def _ingest(rt: Runtime, account: AccountRow, mentions: list[Mention]) -> tuple[int, int, int]:
    """(received, new, duplicates) after committing ``mentions`` for ``account``."""
    if not mentions:
        return 0, 0, 0
    stored = pipeline.ingest(rt, account, mentions)
    return len(mentions), len(stored.new), stored.duplicates


def _siblings(
    rt: Runtime, account: AccountRow, context: AccountContext, connector: Connector
) -> Iterator[tuple[AccountRow, AccountContext, Connector]]:
    """The tenant's enabled accounts on ``connector.webhook_siblings`` networks with the same webhook key."""
    key = connector.webhook_key(context)
    if key is None or not connector.webhook_siblings:
        return
    for row in rt.store.accounts(account.tenant_id):
        if row.id == account.id or not row.enabled or row.network not in connector.webhook_siblings:
            continue
        if row.network not in rt.registry.connectors:
            continue
        found = rt.store.account(row.id)
        if found is None:
            continue  # removed between the two reads
        sibling_connector = rt.registry.connector(row.network)
        if sibling_connector.webhook_key(found[1]) == key:
            yield found[0], found[1], sibling_connector
