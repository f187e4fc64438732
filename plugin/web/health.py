"""Liveness, a summary an operator (or the demo) can read, and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from plugin.metrics import registry_with_backlog
from plugin.web.extension import runtime

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Any:
    return jsonify(status="ok", counts=runtime().store.counts())


@bp.get("/metrics")
def metrics() -> Any:
    registry = current_app.extensions.get("horseshoe_metrics")
    if registry is None:
        registry = current_app.extensions["horseshoe_metrics"] = registry_with_backlog(runtime().store)
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
