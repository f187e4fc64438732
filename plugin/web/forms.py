"""Strict reading of form and JSON input: every problem becomes a 400 with a reason, never a 500."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import request

from plugin.errors import BadInput

MAX_JSON_DEPTH = 32  # nothing we accept nests deeper; deeper input is an attack on the parser
_SURROGATE = re.compile("[\ud800-\udfff]")


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
    if _SURROGATE.search(value):
        raise BadInput(f"field {name!r} is not valid text (lone surrogate)")
    return value


def check_json(value: Any, depth: int = 0) -> None:
    """Refuse what a database or a later ``json.dumps`` would choke on: deep nesting and lone
    surrogates (``"\\ud800"`` parses in Python but cannot be stored as UTF-8)."""
    if depth > MAX_JSON_DEPTH:
        raise BadInput(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, str):
        if _SURROGATE.search(value):
            raise BadInput("JSON string holds a lone surrogate (not valid Unicode)")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_json(key, depth + 1)
            check_json(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            check_json(item, depth + 1)


def parse_json(raw: bytes) -> Any:
    try:
        body = json.loads(raw)
    except RecursionError:
        raise BadInput(f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadInput(f"body must be valid JSON: {exc}") from None
    check_json(body)
    return body


def json_body() -> Any:
    return parse_json(request.get_data(cache=True))
