"""Liveness for anyone; the backlog counts and Prometheus metrics for whoever holds the metrics token.

``/healthz`` answers its status to everyone (load balancers); the counts (how busy this tenant base
is) only with ``Authorization: Bearer <metrics_token>``. ``/metrics`` needs the same token once the
operator sets ``metrics_token``; unset, it is open (a scraper on a private network).
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from plugin.errors import Unauthorized
from plugin.metrics import registry_with_backlog
from plugin.web.extension import runtime

bp = Blueprint("health", __name__)


def _bearer_ok() -> bool:
    expected = runtime().settings.metrics_token
    if not expected:
        return False
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected.encode())


@bp.get("/healthz")
def healthz() -> Any:
    if _bearer_ok():
        return jsonify(status="ok", counts=runtime().store.counts())
    return jsonify(status="ok")


@bp.get("/metrics")
def metrics() -> Any:
    if runtime().settings.metrics_token and not _bearer_ok():
        raise Unauthorized("metrics need Authorization: Bearer <metrics_token>", status=401)
    registry = current_app.extensions.get("horseshoe_metrics")
    if registry is None:
        registry = current_app.extensions["horseshoe_metrics"] = registry_with_backlog(runtime().store)
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
