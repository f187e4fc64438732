"""``FakeApp``: the inner WSGI app of a fake that routes with werkzeug itself (no Flask): one request in,
one response out, through ``dispatch``. ``FakeService`` wraps it with the common controls."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any, Generic

from werkzeug.wrappers import Request, Response

from .service import StateT


class FakeApp(ABC, Generic[StateT]):
    def __init__(self, state: StateT):
        self.state = state

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        return self.dispatch(Request(environ))(environ, start_response)

    @abstractmethod
    def dispatch(self, request: Request) -> Response:
        """Route ``request`` and answer it in the service's own shapes."""
