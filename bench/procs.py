"""horseshoe as real processes for the chaos and faults benchmarks: start, SIGKILL, restart, stop.

Each process runs in its own session (process group), so a kill takes gunicorn's master and its
workers down together, as a crashed container or an OOM-killed host would; only processes started
here are ever signalled, by their group id.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

READY_SECONDS = 60.0  # a process that is not up by then is a failure of the run, not a wait
STOP_SECONDS = 10.0


class ProcessFailed(RuntimeError):
    """A horseshoe process did not come up (its log says why)."""


@dataclass
class Proc:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    ready_url: str | None = None  # serve: GET this until it answers
    popen: subprocess.Popen[bytes] | None = None
    starts: int = 0
    kills: int = 0

    def start(self) -> None:
        env = {**os.environ, **self.env}
        with self.log_path.open("ab") as log:
            log.write(f"\n--- start {self.starts + 1} ---\n".encode())
            log.flush()
            self.popen = subprocess.Popen(
                self.argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.starts += 1
        if self.ready_url:
            self._wait_ready(self.ready_url)

    def _wait_ready(self, url: str) -> None:
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if self.popen is not None and self.popen.poll() is not None:
                raise ProcessFailed(f"{self.name} exited with {self.popen.returncode}; see {self.log_path}")
            try:
                if requests.get(url, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass  # not listening yet
            time.sleep(0.1)
        raise ProcessFailed(f"{self.name} not ready after {READY_SECONDS:.0f}s; see {self.log_path}")

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group at once: no shutdown handler runs, nothing is flushed."""
        if self.popen is None:
            return
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # already gone (it crashed on its own: its log says so)
        self.popen.wait(timeout=STOP_SECONDS)
        self.kills += 1
        self._reap_group()

    def stop(self) -> None:
        """A polite stop at the end of a run (SIGTERM, then SIGKILL after a grace period)."""
        if self.popen is None:
            return
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)
            self.popen.wait(timeout=STOP_SECONDS)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=STOP_SECONDS)
        self._reap_group()

    def _reap_group(self) -> None:
        # gunicorn's workers share the group; wait until none of them still holds the port.
        assert self.popen is not None
        deadline = time.monotonic() + STOP_SECONDS
        while time.monotonic() < deadline:
            try:
                os.killpg(self.popen.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)


def horseshoe_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "plugin.cli", *args]


@dataclass
class Fleet:
    """``horseshoe serve`` (web only) and ``workers`` ``horseshoe worker`` processes on one database."""

    env: dict[str, str]
    port: int
    workers: int
    log_dir: Path
    procs: list[Proc] = field(default_factory=list)

    def __post_init__(self) -> None:
        serve = horseshoe_argv(
            "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1", "--threads", "8", "--no-worker"
        )
        self.procs.append(
            Proc("serve", serve, self.env, self.log_dir / "serve.log", f"http://127.0.0.1:{self.port}/healthz")
        )
        for n in range(self.workers):
            self.procs.append(Proc(f"worker{n}", horseshoe_argv("worker"), self.env, self.log_dir / f"worker{n}.log"))

    def start(self) -> None:
        for proc in self.procs:
            proc.start()

    def stop(self) -> None:
        for proc in self.procs:
            proc.stop()

    @property
    def kills(self) -> int:
        return sum(p.kills for p in self.procs)
