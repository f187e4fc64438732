"""Liveness for anyone; the backlog counts and Prometheus metrics for whoever holds the metrics token.

``/healthz`` answers its status to everyone (load balancers); the counts (how busy this tenant base
is) only with ``Authorization: Bearer <metrics_token>``. ``/metrics`` needs the same token once the
operator sets ``metrics_token``; unset, it is open (a scraper on a private network).
"""

from __future__ import annotations

import hmac
from dataclasses import asdict
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from plugin.errors import Unauthorized
from plugin.metrics import registry_with_backlog
from plugin.store.health import AccountHealth, SinkHealth
from plugin.web.extension import runtime
from plugin.worker.streams import stream_facts

bp = Blueprint("health", __name__)


def _bearer_ok() -> bool:
    expected = runtime().settings.metrics_token
    if not expected:
        return False
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected.encode())


@bp.get("/healthz")
def healthz() -> Any:
    """Anonymous callers learn only that the server answers (issue 10); the metrics token holder gets
    the backlog and every account's health (the same read as ``horseshoe doctor``)."""
    if not _bearer_ok():
        return jsonify(status="ok")
    rt = runtime()
    accounts = rt.store.health.accounts(stuck_after=rt.settings.stuck_after_polls)
    attention = rt.store.health.attention()
    degraded = any(not a.ok for a in accounts) or bool(attention)
    return jsonify(
        status="degraded" if degraded else "ok",
        counts=rt.store.counts(),
        quarantined=rt.store.quarantine.counts_by_network(),
        accounts=[health_json(a) for a in accounts],
        # Each tenant's CRM connections: last accepted batch, last error, session expiry, attention.
        crm_connections=[health_json(c) for c in rt.store.health.sinks()],
        # Whether each CRM's agent replies arrive by change stream or by polling (and why).
        reply_streams=[stream_facts(s) for s in rt.store.reply_streams.all()],
        needs_attention=[
            {
                "target": n.target,
                "sink": n.sink,
                "account_id": n.account_id,
                "reason": n.reason,
                "since": n.since.isoformat(),
                "pauses": n.pauses,  # false: a warning ahead of a token's expiry, the work goes on
            }
            for n in attention
        ],
    )


def health_json(health: AccountHealth | SinkHealth) -> dict[str, Any]:
    """One account's or CRM connection's health as JSON (times ISO 8601 UTC, None when unknown)."""
    out: dict[str, Any] = {}
    for key, value in asdict(health).items():
        out[key] = value.isoformat() if isinstance(value, datetime) else value
    out["ok"] = health.ok
    return out


@bp.get("/metrics")
def metrics() -> Any:
    if runtime().settings.metrics_token and not _bearer_ok():
        raise Unauthorized("metrics need Authorization: Bearer <metrics_token>", status=401)
    registry = current_app.extensions.get("horseshoe_metrics")
    if registry is None:
        rt = runtime()
        registry = current_app.extensions["horseshoe_metrics"] = registry_with_backlog(
            rt.store, rt.settings.stuck_after_polls
        )
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
