"""How the fake Salesforce writes JSON: its content type, and REST errors as a JSON array of error objects."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from sandbox.base import json_response

from .exceptions import SalesforceError

JSON_TYPE = "application/json;charset=UTF-8"


def json_body(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return json_response(body, status, headers, JSON_TYPE)


def errors_response(err: SalesforceError) -> Response:
    return json_body([err.rest_body()], err.status)
