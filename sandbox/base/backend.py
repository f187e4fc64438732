"""``FakeBackend``: what the state of every fake service has in common (moto's BaseBackend, in small).

The fakes are served by a threaded WSGI server, so each keeps all its state behind one re-entrant lock
(re-entrant because public methods call each other while holding it). Tests read the state directly;
``snapshot`` gives them a consistent copy and ``summary`` a JSON view for ``GET /_sandbox/state``.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

_SCALARS = (bool, int, float, str, type(None))
_COLLECTIONS = (dict, list, set, frozenset, tuple)
_SYNC = ("lock", "changed")  # synchronisation, not state


class FakeBackend:
    """Base of every fake's state. Subclasses call ``super().__init__()`` (dataclasses: from
    ``__post_init__``) before anything else, and implement ``reset``."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        # Long polls (Telegram getUpdates, VK a_check) wait on this; whatever gives them something to
        # return notifies it, under the lock.
        self.changed = threading.Condition(self.lock)

    def reset(self) -> None:
        """Forget all traffic and data, as a freshly started fake. Services add keyword options
        (``POST /_sandbox/reset`` passes its JSON body as keyword arguments)."""
        raise NotImplementedError

    def update_settings(self, values: dict[str, Any], names: tuple[str, ...]) -> dict[str, int]:
        """Set the integer settings ``names`` found in ``values`` (a control call's JSON body); a truthy
        ``reset_windows`` also forgets the rate-limit windows counted so far. Returns the settings."""
        with self.lock:
            for name in names:
                if name in values:
                    setattr(self, name, int(values[name]))
            windows = getattr(self, "windows", None)
            if values.get("reset_windows") and isinstance(windows, dict):
                windows.clear()
            return {name: getattr(self, name) for name in names}

    def _public(self) -> dict[str, Any]:
        return {
            name: value
            for name, value in vars(self).items()
            if not name.startswith("_") and name not in _SYNC and not callable(value)
        }

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of the public state, taken under the lock: compare before/after without racing
        the server's threads, or keep it while the fake moves on."""
        with self.lock:
            return copy.deepcopy(self._public())

    def summary(self) -> dict[str, Any]:
        """JSON-safe overview: collections by size, scalar settings by value (other objects left out)."""
        with self.lock:
            found: dict[str, Any] = {}
            for name, value in self._public().items():
                if isinstance(value, _SCALARS):
                    found[name] = value
                elif isinstance(value, _COLLECTIONS):
                    found[name] = len(value)
            return found
