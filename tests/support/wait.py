"""Waiting for something another thread (a worker lane, a server, a browser) does: one helper for all."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(check: Callable[[], T], seconds: float = 60.0, interval: float = 0.1) -> T:
    """Call ``check`` until it returns something truthy and return that; after ``seconds``, return its
    last answer (falsy), so the caller's ``assert wait_for(...), "why"`` says what did not happen.

    The bound is generous: the tests run on a loaded 2-core machine, and a condition met early ends
    the wait at once."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(interval)
    return check()
