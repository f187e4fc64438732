"""Liveness and a summary an operator (or the demo) can read."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from .app import runtime

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Any:
    return jsonify(status="ok", counts=runtime().store.counts())
