"""Run a WSGI app (a fake service, or horseshoe itself) on a real localhost port in a thread."""

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
    def port(self) -> int:
        return int(self.server.server_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve_in_thread(app: Any, host: str = "127.0.0.1", port: int = 0, *, ssl_context: Any = None) -> RunningServer:
    """Start ``app`` on ``host:port`` (0 = any free port) in a daemon thread; returns at once."""
    server = make_server(host, port, app, threaded=True, ssl_context=ssl_context)
    thread = threading.Thread(target=server.serve_forever, name=f"wsgi:{server.server_port}", daemon=True)
    thread.start()
    return RunningServer(server=server, thread=thread)
