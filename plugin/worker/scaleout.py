"""Celery scale-out: ``horseshoe worker`` on Redis or RabbitMQ (``HORSESHOE_BROKER_URL``).

The database is the source of truth and every step is claimed under a lease (see ``plugin.worker.loop``), so
the broker carries no data at all: a message only says "there may be work, look now". That shapes
every choice here:

* One task, ``horseshoe.work``, with no arguments. It runs ``Worker.run_once()`` until a pass finds
  nothing to do (bounded; if still busy at the bound it wakes a successor instead of holding a pool
  slot forever). A lost, duplicated or expired message is harmless: the next one sees the same rows.
* ``acks_late`` + prefetch 1: a worker killed mid-task leaves its message unacknowledged for another
  worker, and its leased rows become free again when the lease expires.
* No result backend, JSON serializer (the task has no arguments, nothing else is ever needed).
* ``wake(settings)`` is what the web process calls after it commits new mentions. It only sets a flag;
  a per-process sender thread publishes at most one message per ``WAKE_INTERVAL`` (leading edge right
  away, one trailing message for everything that arrived meanwhile), so a burst of webhooks costs a
  handful of messages, the request never waits on the broker, and no wake is lost.
* Polls must happen without any webhook, and Celery beat would be one more process to run and keep
  single. Instead every Celery worker carries a bootstep (:class:`_TickerStep`) that starts a small
  thread sending ``horseshoe.work`` every ``worker_idle_seconds``. It starts and stops with the worker
  (``horseshoe worker``, ``celery worker`` or an embedded test worker alike), needs nothing else, and
  N workers simply mean N ticks per interval, each cheap when idle. Ticks expire so a stalled
  cluster does not pile them up.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from typing import Any

from celery import Celery, bootsteps
from celery import current_app as current_celery_app
from celery.signals import worker_process_init
from kombu.exceptions import KombuError

from plugin.config import Settings
from plugin.runtime import Runtime, build_runtime, warm_up
from plugin.worker.loop import Worker

log = logging.getLogger(__name__)

TASK_NAME = "horseshoe.work"
DEFAULT_QUEUE = "horseshoe"
WAKE_INTERVAL = 0.2  # seconds: at most one wake message per process in this window
MAX_PASSES = 25  # run_once passes per task before handing on to a fresh task
MESSAGE_EXPIRES = 60.0  # a wake or tick older than this is pointless: newer ones exist
# How long a prefork child may take to start before Celery kills it (Celery's default: 4 s). A child
# builds its runtime and loads the language models at start (``_build_in_pool_child``): about 2-3 s of
# CPU alone, more with the other children starting beside it on a loaded machine.
POOL_CHILD_START_SECONDS = 60.0
POOL_CHILD_INIT = "horseshoe.pool-child-runtime"  # the one worker_process_init receiver of this process

RuntimeFactory = Callable[[Settings], Runtime]


def _default_runtime(settings: Settings) -> Runtime:
    # ``horseshoe worker`` upgrades the schema once in the parent; pool children must not race on it.
    runtime = build_runtime(settings, upgrade=False)
    warm_up(runtime)  # before this child's first task triages, not during it
    return runtime


class HorseshoeCelery(Celery):
    """A Celery app that knows the horseshoe settings it serves and builds one Runtime per process."""

    def __init__(self, settings: Settings, queue: str, runtime_factory: RuntimeFactory) -> None:
        super().__init__("horseshoe", broker=settings.broker_url, set_as_current=False)
        self.horseshoe_settings = settings
        self.horseshoe_queue = queue
        self._runtime_factory = runtime_factory
        self._runtime: Runtime | None = None
        self._runtime_pid = 0
        self._runtime_lock = threading.Lock()
        self.waker = Waker(self)

    def runtime(self) -> Runtime:
        """The process's Runtime, built on first use (after a prefork fork, never inherited)."""
        with self._runtime_lock:
            if self._runtime is None or self._runtime_pid != os.getpid():
                self._runtime = self._runtime_factory(self.horseshoe_settings)
                self._runtime_pid = os.getpid()
            return self._runtime

    def send_work(self) -> None:
        """Publish one ``horseshoe.work`` message (raises kombu errors: callers decide)."""
        self.send_task(TASK_NAME, expires=MESSAGE_EXPIRES)


def _build_in_pool_child(**_: Any) -> None:
    """A prefork child builds its runtime (and loads the language models) as it starts, before it takes
    a task: lazily, its first task waited 2-3 s for them. Celery made the worker's app current in this
    child before sending the signal; any other app's worker is none of horseshoe's business."""
    app = current_celery_app._get_current_object()
    if isinstance(app, HorseshoeCelery):
        app.runtime()


class Waker:
    """Coalesces wake requests: a background thread publishes at most one per ``WAKE_INTERVAL``."""

    def __init__(self, app: HorseshoeCelery, interval: float = WAKE_INTERVAL) -> None:
        self._app = app
        self._interval = interval
        self._pending = threading.Event()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self.sent = 0  # messages published by this process (observability, tests)

    def wake(self) -> None:
        self._ensure_thread()
        self._pending.set()

    def _ensure_thread(self) -> None:
        with self._lock:
            # A forked web worker (gunicorn, prefork) inherits the object but not the thread.
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._closed.clear()
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="horseshoe-waker", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._closed.is_set():
            self._pending.wait()
            if self._closed.is_set():
                return
            self._pending.clear()
            try:
                self._app.send_work()
                self.sent += 1
            except (KombuError, OSError) as exc:
                # The mentions are committed; the workers' own ticks will find them.
                log.warning("could not wake workers through the broker (%s); their ticks will pick it up", exc)
            self._closed.wait(self._interval)

    def close(self) -> None:
        self._closed.set()
        self._pending.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout=5)


class _Ticker:
    """Sends ``horseshoe.work`` every ``worker_idle_seconds`` while its Celery worker runs."""

    def __init__(self, app: HorseshoeCelery) -> None:
        self._app = app
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="horseshoe-ticker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        interval = max(self._app.horseshoe_settings.worker_idle_seconds, 0.05)
        while not self._stop.is_set():
            try:
                self._app.send_work()  # the first one right away: a restarted worker resumes at once
            except (KombuError, OSError) as exc:
                log.warning("tick could not reach the broker: %s", exc)
            self._stop.wait(interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    terminate = stop


class _TickerStep(bootsteps.StartStopStep):
    label = "horseshoe ticker"

    def create(self, parent: Any) -> _Ticker | None:
        app = parent.app
        if not isinstance(app, HorseshoeCelery):
            return None
        self.obj = _Ticker(app)
        return self.obj


def _work(app: HorseshoeCelery) -> dict[str, int]:
    # A fresh owner per task run: two tasks in one process (threads pool) must never share leases.
    owner = f"celery-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    worker = Worker(app.runtime(), owner=owner)
    totals = {"passes": 0, "ingested": 0, "routed": 0, "delivered": 0, "replies": 0, "failed": 0}
    for _ in range(MAX_PASSES):
        tick = worker.run_once()
        totals["passes"] += 1
        for key in ("ingested", "routed", "delivered", "replies", "failed"):
            totals[key] += int(getattr(tick, key))
        for error in tick.errors:
            log.warning("%s: %s", owner, error)
        if not tick.busy:
            break
    else:
        app.waker.wake()  # still busy: let a fresh task (maybe on another worker) carry on
    return totals


_bindings: dict[Settings, HorseshoeCelery] = {}
_bindings_lock = threading.Lock()


def make_celery(
    settings: Settings,
    *,
    queue: str = DEFAULT_QUEUE,
    runtime_factory: RuntimeFactory | None = None,
) -> Celery:
    """A Celery app for ``settings.broker_url`` (``redis://`` or ``amqp://``) serving ``queue``.

    It also becomes the app :func:`wake` uses for these settings in this process, so a web app and a
    worker built from the same settings talk over the same queue.
    """
    if not settings.broker_url:
        raise ValueError("broker_url is empty: the in-process worker needs no Celery app")
    app = HorseshoeCelery(settings, queue, runtime_factory or _default_runtime)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_backend=None,
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,  # a killed pool child's message goes back to the queue
        worker_prefetch_multiplier=1,
        task_default_queue=queue,
        task_default_exchange=queue,
        task_default_routing_key=queue,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_proc_alive_timeout=POOL_CHILD_START_SECONDS,
    )

    def work() -> dict[str, int]:
        return _work(app)

    # shared=False: a shared task would be copied into every later app in this process (tests, reloads).
    app.task(name=TASK_NAME, ignore_result=True, shared=False)(work)
    app.steps["worker"].add(_TickerStep)
    # Connected here, not on import: importing this module registers nothing. One receiver per process
    # (dispatch_uid), whatever the number of apps made; it asks which app is current in the child.
    worker_process_init.connect(_build_in_pool_child, weak=False, dispatch_uid=POOL_CHILD_INIT)
    with _bindings_lock:
        old = _bindings.get(settings)
        _bindings[settings] = app
    if old is not None:
        old.waker.close()
    return app


def app_for(settings: Settings) -> HorseshoeCelery:
    """The app registered for these settings in this process (made with the default queue if none)."""
    with _bindings_lock:
        app = _bindings.get(settings)
    if app is None:
        made = make_celery(settings)
        assert isinstance(made, HorseshoeCelery)
        app = made
    return app


def wake(settings: Settings) -> None:
    """Tell the Celery workers there is work; cheap, never blocks on the broker, never raises for it."""
    if settings.broker_url:
        app_for(settings).waker.wake()


def release(settings: Settings) -> None:
    """Forget the app for these settings and stop its wake thread (tests, shutdown)."""
    with _bindings_lock:
        app = _bindings.pop(settings, None)
    if app is not None:
        app.waker.close()


def run_worker(settings: Settings, *, concurrency: int = 2, loglevel: str = "INFO") -> int:
    """Run a Celery worker (with its ticker) in the foreground until stopped; returns its exit code."""
    # Upgrade the schema once here so the pool's children can start without racing on migrations.
    build_runtime(settings).db.dispose()
    app = make_celery(settings)
    worker = app.Worker(
        concurrency=concurrency,
        loglevel=loglevel,
        hostname=f"horseshoe-{uuid.uuid4().hex[:6]}@{socket.gethostname()}",
    )
    worker.start()
    return int(worker.exitcode or 0)
