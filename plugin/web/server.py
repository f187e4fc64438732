"""``horseshoe serve``: horseshoe behind a production WSGI server (gunicorn, threaded workers).

Each gunicorn worker process builds its own runtime after the fork (database engines and threads
must not cross a fork). Without a broker, gunicorn's master also keeps one worker process beside
them (``plugin.worker.companion``): routing and delivery no longer share an interpreter lock with the
request threads.
The access log never holds a query string's values (they carry verify tokens and signed metadata),
nor the token of an attachment link (the path is the credential there).
"""

from __future__ import annotations

import os
import sys
from typing import Any
from urllib.parse import parse_qsl

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.glogging import Logger

from plugin.config import Settings
from plugin.runtime import build_runtime, warm_up
from plugin.web.app import create_app
from plugin.web.gthread import CountingThreadWorker
from plugin.worker.companion import QUICK_STOP_SECONDS, STOP_SECONDS, WorkerProcess

# Remote address, request line (query values redacted), status, bytes, milliseconds.
ACCESS_LOG_FORMAT = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
REDACTED = "[redacted]"
# Paths whose last part is a bearer credential: whoever has an attachment link can open the file.
SECRET_PATH_PREFIXES = ("/attachments/",)


def redact_query(query: str) -> str:
    """``a=1&hub.verify_token=s3cret`` -> ``a=[redacted]&hub.verify_token=[redacted]``: names stay
    readable for debugging, no value reaches the log."""
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    if not pairs:
        return REDACTED
    return "&".join(f"{name}={REDACTED}" for name, _ in pairs)


def redact_path(path: str) -> str:
    """``/attachments/<signed token>`` -> ``/attachments/[redacted]``; other paths unchanged."""
    for prefix in SECRET_PATH_PREFIXES:
        if path.startswith(prefix) and len(path) > len(prefix):
            return prefix + REDACTED
    return path


class RedactingLogger(Logger):
    """gunicorn's logger with the query string's values removed from every access-log atom."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        query = redact_query(environ.get("QUERY_STRING", ""))
        path = redact_path(environ.get("PATH_INFO", ""))
        atoms["q"] = query
        atoms["U"] = path
        target = f"{path}?{query}" if query else path
        atoms["r"] = f"{environ.get('REQUEST_METHOD')} {target} {environ.get('SERVER_PROTOCOL')}"
        # Request headers (Authorization, signatures) are never formatted; drop them to be sure.
        return {k: v for k, v in atoms.items() if not (k.startswith("{") and k.endswith("}i"))}


class HorseshoeArbiter(Arbiter):
    """gunicorn's master, which also keeps ``serve``'s worker process running (none with a broker:
    Celery's workers are started on their own, ``horseshoe worker``)."""

    def __init__(self, app: HorseshoeServer, worker: WorkerProcess | None):
        self.worker = worker
        super().__init__(app)

    def start(self) -> None:
        super().start()
        if self.worker is not None:
            self.worker.start()

    def manage_workers(self) -> None:
        super().manage_workers()
        if self.worker is not None:
            self.worker.keep()

    def stop(self, graceful: bool = True) -> None:
        # The worker process and the web processes wind down together, not one after the other. A
        # quick stop (SIGINT, SIGQUIT) does not wait for the worker's calls in flight either: what it
        # had claimed is taken up again when its leases run out.
        if self.worker is not None:
            self.worker.ask_to_stop()
        super().stop(graceful)
        if self.worker is not None:
            self.worker.stop(STOP_SECONDS if graceful else QUICK_STOP_SECONDS)


class HorseshoeServer(BaseApplication):
    def __init__(
        self, settings: Settings, *, host: str, port: int, workers: int, threads: int, with_worker: bool
    ) -> None:
        self.settings = settings
        self.bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.workers = workers
        self.threads = threads
        self.with_worker = with_worker
        super().__init__()

    def load_config(self) -> None:
        self.cfg.set("bind", [self.bind])
        self.cfg.set("workers", self.workers)
        self.cfg.set("threads", self.threads)
        # gthread, counting each request from its own loop for the background's give-way (plugin.traffic).
        self.cfg.set("worker_class", CountingThreadWorker)
        self.cfg.set("accesslog", "-")
        self.cfg.set("access_log_format", ACCESS_LOG_FORMAT)
        self.cfg.set("logger_class", RedactingLogger)
        self.cfg.set("timeout", 60)
        self.cfg.set("graceful_timeout", 10)
        self.cfg.set("proc_name", "horseshoe")
        self.cfg.set("forwarded_allow_ips", os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"))

    def load(self) -> Flask:
        runtime = build_runtime(self.settings, upgrade=False)  # the master upgraded the schema once
        # This process triages (the observers of stored mentions): its language models are loaded now,
        # before it takes a request, not by the first short post in the middle of traffic.
        warm_up(runtime)
        return create_app(runtime)

    def run(self) -> None:
        """gunicorn's ``BaseApplication.run`` with horseshoe's master."""
        worker = WorkerProcess(self.settings) if self.with_worker and not self.settings.broker_url else None
        try:
            HorseshoeArbiter(self, worker).run()
        except RuntimeError as exc:
            sys.stderr.write(f"\nError: {exc}\n\n")
            sys.stderr.flush()
            sys.exit(1)


def serve(settings: Settings, *, host: str, port: int, workers: int, threads: int, with_worker: bool) -> None:
    """Upgrade the schema once, then run gunicorn in the foreground until stopped."""
    build_runtime(settings).db.dispose()
    HorseshoeServer(settings, host=host, port=port, workers=workers, threads=threads, with_worker=with_worker).run()
