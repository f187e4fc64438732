"""Running a sandbox world's worker until the work it was given is done (the e2e tests' one helper)."""

from __future__ import annotations

import time

from plugin.store.db import utcnow
from sandbox.demo.run import World

IDLE_PASSES = 3  # passes in a row that find nothing to do
# Work held back for a rate budget's refill (the tick's ``next_due``) is work still to do, not an idle
# worker: a refill this close is waited for, as ``run_forever`` does. Longer waits (a poll's next turn,
# a CRM's Retry-After) are not the test's business, and the total waited is bounded.
REFILL_WAIT_SECONDS = 5.0
TOTAL_WAIT_SECONDS = 30.0


def settle(world: World, rounds: int = 40) -> None:
    """Run the worker until a few passes in a row find nothing to do (polls are woken first)."""
    world.worker.wake_polls()
    idle, waited = 0, 0.0
    for _ in range(rounds):
        for network in world.networks:
            network.push()  # what a network sends on its own (Telegram's webhook), as it happens
        tick = world.worker.run_once()
        if tick.busy:
            idle = 0
            continue
        wait = 0.0 if tick.next_due is None else (tick.next_due - utcnow()).total_seconds()
        if 0.0 < wait <= REFILL_WAIT_SECONDS and waited + wait <= TOTAL_WAIT_SECONDS:
            time.sleep(wait)
            waited += wait
            idle = 0
            continue
        idle += 1
        if idle >= IDLE_PASSES:
            return
    raise AssertionError("worker did not settle")
