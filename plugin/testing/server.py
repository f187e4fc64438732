"""Serve a WSGI app (a connector's fake) on a free localhost port in a daemon thread.

The conformance suite drives connectors over real HTTP, so every harness needs this; it lives here
rather than in ``sandbox/`` because the packaged suite must work in a distribution without the sandbox.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server


@dataclass
class RunningServer:
    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve_in_thread(app: Any) -> RunningServer:
    """Start ``app`` on 127.0.0.1 at any free port; returns at once, the server answers concurrently."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=f"fake:{server.server_port}", daemon=True)
    thread.start()
    return RunningServer(server=server, thread=thread)
