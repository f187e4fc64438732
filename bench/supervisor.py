"""The chaos monkey: SIGKILL a random horseshoe process at random moments, restart it, repeat."""

from __future__ import annotations

import logging
import random
import threading
import time

from bench.procs import Fleet

log = logging.getLogger(__name__)


class Supervisor:
    """Kills ``kills`` times, one process at a time, with gaps drawn around ``mean_gap`` seconds.

    A killed process stays down for a short random moment (webhooks and channelbacks sent meanwhile
    meet a closed port, as they would in production), then is started again.
    """

    def __init__(self, fleet: Fleet, kills: int, mean_gap: float, seed: int) -> None:
        self.fleet = fleet
        self.wanted = kills
        self.mean_gap = mean_gap
        self.rng = random.Random(seed)
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.victims: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-supervisor", daemon=True)

    def start(self) -> None:
        if self.wanted <= 0:
            self.done.set()
            return
        self._thread.start()

    def _run(self) -> None:
        try:
            while len(self.victims) < self.wanted and not self._stop.is_set():
                if self._stop.wait(self.rng.uniform(0.3, 1.7) * self.mean_gap):
                    break
                proc = self.rng.choice(self.fleet.procs)
                proc.kill()
                self.victims.append(proc.name)
                log.info("killed %s (%d/%d)", proc.name, len(self.victims), self.wanted)
                time.sleep(self.rng.uniform(0.0, 0.5))
                proc.start()
        except BaseException as exc:  # reported by the bench: a fleet that cannot restart fails the run
            self.error = exc
        finally:
            self.done.set()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=120)
