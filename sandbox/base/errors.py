"""The error-response helper every fake answers with; the error *shape* stays each service's own.

``FakeError`` carries an HTTP status and headers; a service's error class says only what its body looks
like (``body``) and, where the service documents one, its content type.
"""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Response

JSON = "application/json"


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None, content_type: str = JSON
) -> Response:
    return Response(json.dumps(body), status=status, headers=headers or {}, content_type=content_type)


class FakeError(Exception):
    """An error a handler raises and the fake answers with. Subclasses implement ``body``."""

    status = 400
    content_type = JSON

    def __init__(self, message: str = "", *, status: int | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.headers = headers or {}

    def body(self) -> Any:
        raise NotImplementedError

    def response(self) -> Response:
        return json_response(self.body(), self.status, self.headers, self.content_type)
