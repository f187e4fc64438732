"""The fake Zendesk's Channel Framework pushes, as the tests that count them see them.

Serve ``PushRecorder(create_zendesk(...))`` instead of the fake's own app; ``statuses`` and ``sizes``
then list, in order, the answer to each push and how many external resources it carried.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

# An integration as a test installs it in the fake (``ZendeskState.begin_install``).
MANIFEST = {
    "name": "Horseshoe test",
    "id": "com.example.horseshoe-test",
    "author": "test",
    "version": "v1",
    "push_client_id": "zd_horseshoe_test",
    "urls": {"admin_ui": "https://integration.example/admin_ui"},
}
PUSH_PATH = "/any_channel/push.json"


@dataclass(frozen=True)
class Push:
    status: str  # the fake's answer: "200", "429", ...
    size: int  # external resources the push carried


class PushRecorder:
    """Wraps the fake Zendesk's WSGI app: every push it answers, with its status and its size."""

    def __init__(self, app: Callable[..., Any]):
        self.app = app
        self.pushes: list[Push] = []
        self.lock = threading.Lock()

    @property
    def statuses(self) -> list[str]:
        with self.lock:
            return [push.status for push in self.pushes]

    @property
    def sizes(self) -> list[int]:
        with self.lock:
            return [push.size for push in self.pushes]

    def clear(self) -> None:
        with self.lock:
            self.pushes.clear()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not environ.get("PATH_INFO", "").endswith(PUSH_PATH):
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        size = len(json.loads(body)["external_resources"])
        environ["wsgi.input"] = io.BytesIO(body)  # the fake reads the body again

        def recording(status: str, headers: Any, *rest: Any) -> Any:
            with self.lock:
                self.pushes.append(Push(status.split()[0], size))
            return start_response(status, headers, *rest)

        return self.app(environ, recording)
