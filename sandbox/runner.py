"""``horseshoe sandbox``: every fake service on its own local port, until interrupted."""

from __future__ import annotations

import importlib
import threading
from typing import Any

from .server import RunningServer, serve_in_thread

# name -> module with create_app(state=None, plan=None); order fixes the port assignment.
FAKES = ("zendesk", "salesforce", "x", "meta", "mastodon", "bluesky", "telegram", "vk")


def start_all(host: str, first_port: int) -> dict[str, tuple[Any, RunningServer]]:
    started: dict[str, tuple[Any, RunningServer]] = {}
    for offset, name in enumerate(FAKES):
        module = importlib.import_module(f"sandbox.{name}")
        app = module.create_app()
        ssl_context = None
        if name == "salesforce":
            # simple-salesforce insists on https: serve the fake with a local self-signed certificate.
            from .salesforce.tls import localhost_cert

            ssl_context = localhost_cert()
        port = first_port + offset if first_port else 0  # 0: any free port for each fake
        started[name] = (app, serve_in_thread(app, host, port, ssl_context=ssl_context))
    return started


def run_all(host: str, first_port: int) -> None:
    started = start_all(host, first_port)
    for name, (_app, server) in started.items():
        scheme = "https" if name == "salesforce" else "http"
        print(f"{name:<11} {scheme}://{host}:{server.port}   (control: /_sandbox/...)")
    print("sandbox running; Ctrl-C to stop")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        for _app, server in started.values():
            server.stop()
