"""Network webhooks: ``/webhooks/<network>/<account public key>``.

Order matters: verify the network's signature over the raw body, then parse, then commit to the
inbox, then answer. A request that fails verification leaves no trace in the inbox.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, jsonify, request

from plugin.connector import InboundRequest
from plugin.errors import BadInput, Unauthorized
from plugin.pipeline import inbound as pipeline
from plugin.web.extension import runtime

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
    secrets = {**{k: str(v) for k, v in context.settings.items()}, **context.credentials}
    if not connector.verify_request(inbound, secrets):
        raise Unauthorized("webhook signature does not verify")
    result = connector.parse_webhook(inbound, secrets)
    stored = pipeline.ingest(rt, account, result.mentions) if result.mentions else None
    if stored and stored.new and rt.settings.broker_url:
        # Committed above; the message only wakes a Celery worker (the in-process one polls the DB).
        from plugin.worker.scaleout import wake

        wake(rt.settings)
    if result.handshake is not None:
        status, content_type, body = result.handshake
        return Response(body, status=status, content_type=content_type)
    return jsonify(
        received=len(result.mentions),
        new=len(stored.new) if stored else 0,
        duplicates=stored.duplicates if stored else 0,
    )
