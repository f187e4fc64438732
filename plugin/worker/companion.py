"""``horseshoe serve``'s worker: a process of its own beside the web processes, kept alive by gunicorn's master.

The in-process worker used to run as threads of each web process: routing, one delivery lane per CRM,
the upkeep lane and the announcer shared one interpreter lock with the request threads. At 100
mentions a second that one lock, not the two cores, was the limit (issue 11, BENCHMARKS.md "The
worker in its own process"): a thread holding SQLite's write turn waited for the interpreter between
two statements while every other writer queued behind it, and webhooks waited behind triage.

Now the master starts one worker process (``WorkerProcess``): ``python -m plugin.worker.companion``,
a fresh interpreter given the master's settings as JSON on its standard input (never in its
environment or command line: they hold the secret key). Webhooks ring it across the process boundary
(``plugin.pipeline.doorbell.Relay``), so a stored mention is routed at once, as before. The database
stays the source of truth: the worker claims under the same leases, so a worker process killed at
any instant loses nothing, and the master starts another one (sooner after a long healthy run, later
after a quick crash, so a worker that cannot start does not spin).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from plugin.config import Settings
from plugin.runtime import build_runtime, warm_up
from plugin.worker.loop import Worker

log = logging.getLogger(__name__)

# A worker that lived this long was healthy: the next restart comes after FIRST_RESTART_SECONDS.
HEALTHY_SECONDS = 60.0
FIRST_RESTART_SECONDS = 1.0
LAST_RESTART_SECONDS = 30.0
STOP_SECONDS = 30.0  # a delivery in flight finishes (its lanes' join) before the worker is killed
QUICK_STOP_SECONDS = 2.0  # SIGINT / SIGQUIT: the server stops now
# Added to the worker's nice value. When the cores are busy, the kernel gives a web process about
# three times the worker's share of a core (weights 1024 : 335): a network waits for each webhook's
# answer, while routing and delivery only move a moment later. In a storm of webhooks on 2 cores this
# took p99 at 16 clients from 126-150 ms to 110-115 ms and the ratio to hello-world from 0.25-0.30
# to 0.34-0.36, with webhook -> CRM at 100/s unchanged (BENCHMARKS.md "The worker in its own process").
NICENESS = 5
ORPHAN_CHECK_SECONDS = 1.0


def run_worker(settings: Settings, parent: int) -> None:
    """The worker process's whole life: build a runtime, warm up, run until SIGTERM / SIGINT, or until
    ``parent`` (the master's pid) is no longer its parent."""
    os.nice(NICENESS)
    runtime = build_runtime(settings, upgrade=False)  # the master upgraded the schema once
    worker = Worker(runtime)

    def stop(_signum: int, _frame: Any) -> None:
        worker.stop()  # the loop ends its pass; the lanes finish their calls in flight

    # SIGINT too: Ctrl-C in a terminal reaches the whole process group, and the master stops it anyway.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    _stop_when_orphaned(parent, worker.stop)
    warm_up(runtime)
    try:
        worker.run_forever()
    finally:
        runtime.db.dispose()


def _stop_when_orphaned(parent: int, stop: Callable[[], None]) -> None:
    """A master killed outright (SIGKILL, the OOM killer) cannot stop its worker: the worker notices
    that its parent changed, as gunicorn's web processes do, and stops, instead of running on beside
    the next server's worker. The master's pid comes from the master: one that died while this process
    was still starting would otherwise be missed (its adoptive parent taken for the real one)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(ORPHAN_CHECK_SECONDS)
        log.warning("worker process %s: its server (pid %s) is gone; stopping", os.getpid(), parent)
        stop()

    threading.Thread(target=watch, name="horseshoe-worker-parent", daemon=True).start()


class WorkerProcess:
    """One worker process, started, watched and stopped by its owner (gunicorn's master)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.starts = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._exited: int | None = None  # pidfd: readable once the process has exited (Linux)
        self._started_at = 0.0
        self._restart_after = FIRST_RESTART_SECONDS
        self._down_since: float | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        envelope = {"settings": dataclasses.asdict(self.settings), "parent": os.getpid(),
                    "log_level": logging.getLogger().getEffectiveLevel()}  # fmt: skip
        process = subprocess.Popen([sys.executable, "-m", "plugin.worker.companion"], stdin=subprocess.PIPE)
        self._process, self._started_at, self._down_since = process, time.monotonic(), None
        self.starts += 1
        self._close_pidfd()
        # gunicorn's master reaps every child that exits (``waitpid(-1)``), this one included, after which
        # ``Popen.poll`` cannot tell it from a live one (or, its pid reused, from another process). A
        # pidfd follows this process, reaped or not; without one (a kernel before 5.3, a seccomp
        # profile that refuses it) ``poll`` is the fallback: a reaped child reads as exited.
        if hasattr(os, "pidfd_open"):
            try:
                self._exited = os.pidfd_open(process.pid)
            except OSError:
                self._exited = None
        assert process.stdin is not None
        try:
            with process.stdin:
                process.stdin.write(json.dumps(envelope).encode())
        except BrokenPipeError:
            pass  # it died before reading them: ``keep`` sees it gone and starts another

    def alive(self) -> bool:
        if self._process is None:
            return False
        if self._exited is not None:
            return not select.select([self._exited], [], [], 0)[0]
        return self._process.poll() is None

    def keep(self) -> None:
        """Called from the master's loop (about once a second, and at once when a child exits):
        start the worker again if it is gone and its back-off has passed."""
        if self._process is None or self.alive():
            return
        now = time.monotonic()
        if self._down_since is None:
            self._process.poll()  # its exit status, if the master has not reaped it: no zombie left
            self._down_since = now
            lived = now - self._started_at
            if lived >= HEALTHY_SECONDS:
                self._restart_after = FIRST_RESTART_SECONDS
            log.warning("worker process %s exited after %.0f s; starting another in %.0f s",
                        self._process.pid, lived, self._restart_after)  # fmt: skip
        if now - self._down_since < self._restart_after:
            return
        self._restart_after = min(LAST_RESTART_SECONDS, self._restart_after * 2)
        try:
            self.start()
        except OSError:  # no process to start now (out of memory or pids): the master goes on, tries later
            log.exception("could not start the worker process; trying again in %.0f s", self._restart_after)
            self._down_since = now

    def ask_to_stop(self) -> None:
        """SIGTERM: the worker ends its pass and lets its lanes finish their calls in flight."""
        if self._process is not None and self.alive():
            self._process.terminate()

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """Ask it to stop, wait up to ``timeout`` seconds, then kill it (its leases run out)."""
        self.ask_to_stop()
        deadline = time.monotonic() + timeout
        while self._process is not None and self.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if self._process is not None and self.alive():
            log.warning("worker process %s did not stop in %.0f s; killed", self._process.pid, timeout)
            self._process.kill()
        if self._process is not None:
            try:
                self._process.wait(5.0)
            except (subprocess.TimeoutExpired, ChildProcessError):
                pass  # reaped by gunicorn's master already, or gone with the kill
        self._process = None
        self._close_pidfd()

    def _close_pidfd(self) -> None:
        if self._exited is not None:
            os.close(self._exited)
            self._exited = None


def main() -> None:
    """``python -m plugin.worker.companion``: the settings, the master's pid and its log level come as
    JSON on standard input."""
    envelope = json.loads(sys.stdin.read())
    logging.basicConfig(level=int(envelope["log_level"]), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_worker(Settings(**envelope["settings"]), parent=int(envelope["parent"]))


if __name__ == "__main__":
    main()
