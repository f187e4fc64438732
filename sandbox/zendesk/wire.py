"""How the fake Zendesk writes its answers: JSON in UTF-8, with absolute URLs built from the request host."""

from __future__ import annotations

from typing import Any

from flask import request
from werkzeug.wrappers import Response

from sandbox.base import json_response

JSON_TYPE = "application/json; charset=utf-8"


def json_body(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return json_response(body, status, headers, JSON_TYPE)


def empty(status: int = 200) -> Response:
    return Response("", status=status, content_type=JSON_TYPE)


def base_url() -> str:
    """Scheme and host the client used: resource ``url`` fields point back at the fake it talks to."""
    return request.host_url.rstrip("/")
