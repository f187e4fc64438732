"""Start fakes on real localhost ports: one (``start_fake``, for tests and the demo) or all of them
(``horseshoe sandbox`` through ``run_all``)."""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass, field
from typing import Any

from .base import FakeService, ServiceSettings
from .faults import FaultPlan
from .server import RunningServer, serve_in_thread

# name -> module with create_app(state=None, plan=None, settings=None, ...); order fixes the port assignment.
FAKES = ("zendesk", "salesforce", "x", "meta", "mastodon", "bluesky", "telegram", "vk")
# simple-salesforce insists on https: these are served with a local self-signed certificate.
TLS_FAKES = frozenset({"salesforce"})
# The CRMs: ``--crm-latency`` / ``--measure`` pace these (their calls are what a delivery waits on).
CRM_FAKES = frozenset({"zendesk", "salesforce"})


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
    host: str, first_port: int, settings: ServiceSettings | None = None, own: dict[str, ServiceSettings] | None = None
) -> dict[str, tuple[Any, RunningServer]]:
    """Every fake; ``settings`` for all of them, ``own`` for the fakes it names instead."""
    started: dict[str, tuple[Any, RunningServer]] = {}
    for offset, name in enumerate(FAKES):
        port = first_port + offset if first_port else 0  # 0: any free port for each fake
        # Each fake gets its own copy: the settings change at run time through /_sandbox/latency etc.
        chosen = (own or {}).get(name, settings)
        fake = start_fake(name, host, port, ServiceSettings(**vars(chosen)) if chosen is not None else None)
        started[name] = (fake.app, fake.server)
    return started


@dataclass(frozen=True)
class Pacing:
    """How slow and how stingy the sandbox is: ``latency`` seconds per API call of every fake,
    ``crm_latency`` for Zendesk and Salesforce (None: ``latency``), ``rate_limit`` API calls per
    ``rate_window`` seconds for every fake, and ``limits`` {fake: (calls, window seconds)} for some."""

    latency: float = 0.0
    crm_latency: float | None = None
    rate_limit: int | None = None
    rate_window: float = 60.0
    limits: dict[str, tuple[int, float]] = field(default_factory=dict)

    def settings_for(self, name: str) -> ServiceSettings:
        latency = self.crm_latency if name in CRM_FAKES and self.crm_latency is not None else self.latency
        limit, window = self.limits.get(name, (self.rate_limit, self.rate_window))
        return ServiceSettings(latency=latency, rate_limit=limit, rate_window=window)


def parse_limit(text: str) -> tuple[str, tuple[int, float]]:
    """``"zendesk=700/60"`` -> ``("zendesk", (700, 60.0))``: 700 API calls per 60 seconds (``/60`` may be
    left out). ValueError with the reason otherwise."""
    name, sep, budget = text.partition("=")
    if not sep or name not in FAKES:
        raise ValueError(f"{text!r}: expected FAKE=CALLS[/SECONDS] with FAKE one of {', '.join(FAKES)}")
    calls, _slash, window = budget.partition("/")
    try:
        requests, seconds = int(calls), float(window or 60.0)
    except ValueError:
        raise ValueError(f"{text!r}: CALLS must be a whole number and SECONDS a number") from None
    if requests < 0 or seconds <= 0:
        raise ValueError(f"{text!r}: CALLS cannot be negative and SECONDS must be more than 0")
    return name, (requests, seconds)


def run_all(host: str, first_port: int, pacing: Pacing | None = None) -> None:
    """Every fake until Ctrl-C, paced by ``pacing`` (a slow or stingy service; default: neither)."""
    pacing = pacing or Pacing()
    started = start_all(host, first_port, own={name: pacing.settings_for(name) for name in FAKES})
    for name, (_app, server) in started.items():
        scheme = "https" if name in TLS_FAKES else "http"
        paced = pacing.settings_for(name)
        limit = f", {paced.rate_limit} calls/{paced.rate_window:g}s" if paced.rate_limit is not None else ""
        pace = f"{paced.latency * 1000:g} ms/call{limit}"
        print(f"{name:<11} {scheme}://{host}:{server.port}   ({pace}; control: /_sandbox/...)")
    print("sandbox running; Ctrl-C to stop")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        for _app, server in started.values():
            server.stop()
