"""Strict reading of form and JSON input: every problem becomes a 400 with a reason."""

from __future__ import annotations

from typing import Any

from flask import request

from plugin.errors import BadInput


def form_field(name: str, *, required: bool = True, max_length: int = 65535) -> str | None:
    values = request.form.getlist(name)
    if len(values) > 1:
        raise BadInput(f"field {name!r} given more than once")
    value = values[0] if values else None
    if value is None or value == "":
        if required:
            raise BadInput(f"field {name!r} is required")
        return None
    if len(value) > max_length:
        raise BadInput(f"field {name!r} is longer than {max_length} characters")
    return value


def json_body() -> Any:
    body = request.get_json(silent=True, force=True)
    if body is None:
        raise BadInput("body must be valid JSON")
    return body
