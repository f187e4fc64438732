"""Start fakes on real localhost ports: one (``start_fake``, for tests and the demo) or all of them
(``horseshoe sandbox`` through ``run_all``)."""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass
from typing import Any

from .base import FakeService, ServiceSettings
from .faults import FaultPlan
from .server import RunningServer, serve_in_thread

# name -> module with create_app(state=None, plan=None, settings=None, ...); order fixes the port assignment.
FAKES = ("zendesk", "salesforce", "x", "meta", "mastodon", "bluesky", "telegram", "vk")
# simple-salesforce insists on https: these are served with a local self-signed certificate.
TLS_FAKES = frozenset({"salesforce"})


@dataclass
class RunningFake:
    name: str
    app: FakeService[Any]
    server: RunningServer
    host: str = "127.0.0.1"
    cert: str | None = None  # the certificate a client must trust, for a fake served over TLS

    @property
    def url(self) -> str:
        scheme = "https" if self.cert else "http"
        return f"{scheme}://{self.host}:{self.server.port}"

    @property
    def state(self) -> Any:
        return self.app.state

    @property
    def plan(self) -> FaultPlan:
        return self.app.plan

    def stop(self) -> None:
        self.server.stop()


def start_fake(
    name: str, host: str = "127.0.0.1", port: int = 0, settings: ServiceSettings | None = None, **options: Any
) -> RunningFake:
    """Serve ``sandbox.<name>`` on ``host:port`` (0: any free port) in a thread; ``options`` go to its
    ``create_app`` (``state``, ``plan``, or what that fake documents)."""
    module = importlib.import_module(f"sandbox.{name}")
    app = module.create_app(settings=settings, **options)
    cert = ssl_context = None
    if name in TLS_FAKES:
        from .salesforce.tls import localhost_cert

        ssl_context = localhost_cert()
        cert = ssl_context[0]
    return RunningFake(name, app, serve_in_thread(app, host, port, ssl_context=ssl_context), host, cert)


def start_all(
    host: str, first_port: int, settings: ServiceSettings | None = None
) -> dict[str, tuple[Any, RunningServer]]:
    started: dict[str, tuple[Any, RunningServer]] = {}
    for offset, name in enumerate(FAKES):
        port = first_port + offset if first_port else 0  # 0: any free port for each fake
        # Each fake gets its own copy: the settings change at run time through /_sandbox/latency etc.
        own = ServiceSettings(**vars(settings)) if settings is not None else None
        fake = start_fake(name, host, port, own)
        started[name] = (fake.app, fake.server)
    return started


def run_all(
    host: str, first_port: int, *, latency: float = 0.0, rate_limit: int | None = None, rate_window: float = 60.0
) -> None:
    """Every fake until Ctrl-C. ``latency`` (seconds per API call) and ``rate_limit`` (API calls per
    ``rate_window`` seconds, per fake) make the sandbox behave like a slow or stingy service."""
    settings = ServiceSettings(latency=latency, rate_limit=rate_limit, rate_window=rate_window)
    started = start_all(host, first_port, settings)
    for name, (_app, server) in started.items():
        scheme = "https" if name in TLS_FAKES else "http"
        print(f"{name:<11} {scheme}://{host}:{server.port}   (control: /_sandbox/...)")
    print("sandbox running; Ctrl-C to stop")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        for _app, server in started.values():
            server.stop()
