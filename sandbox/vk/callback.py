"""The Callback API side of the fake VK: it POSTs the community's events to the integration's server.

``confirm_callback()`` sends the ``confirmation`` request and expects the confirmation string back; an
event is done only when the server answers HTTP 200 with body ``ok``, otherwise it is resent on the next
delivery with the same ``event_id`` (VK gives up after ``callback_max_attempts``).
"""

from __future__ import annotations

import threading
from typing import Any

import requests


class CallbackSender:
    """Mixin of ``VKState``: the callback server's settings and the sender's queue live in the state."""

    lock: threading.RLock
    group_id: int
    secret: str
    confirmation_code: str
    callback_max_attempts: int
    callback_url: str | None
    callback_confirmed: bool
    callback_queue: list[dict[str, Any]]
    callback_log: list[dict[str, Any]]
    callback_dropped: list[dict[str, Any]]

    def set_callback_server(self, url: str) -> None:
        with self.lock:
            self.callback_url = url
            self.callback_confirmed = False

    def confirm_callback(self, timeout: float = 10.0) -> bool:
        """Send ``{"type": "confirmation"}`` and check the answer equals the confirmation code."""
        if not self.callback_url:
            raise ValueError("set_callback_server() first")
        body = {"type": "confirmation", "group_id": self.group_id, "secret": self.secret}
        resp = requests.post(self.callback_url, json=body, timeout=timeout)
        ok = resp.status_code == 200 and resp.text.strip() == self.confirmation_code
        with self.lock:
            self.callback_confirmed = ok
            self.callback_log.append({"type": "confirmation", "status": resp.status_code, "ok": ok})
        return ok

    def deliver_callbacks(self, limit: int | None = None, timeout: float = 10.0) -> int:
        """POST queued events; returns how many were acknowledged with ``ok``."""
        if not (self.callback_url and self.callback_confirmed):
            return 0
        delivered = 0
        with self.lock:
            batch = list(self.callback_queue if limit is None else self.callback_queue[:limit])
        for item in batch:
            payload = {**item["event"], "secret": self.secret}
            try:
                resp = requests.post(self.callback_url, json=payload, timeout=timeout)
                status, text = resp.status_code, resp.text
            except requests.RequestException as exc:
                status, text = None, type(exc).__name__
            acked = status == 200 and text == "ok"
            with self.lock:
                item["attempts"] += 1
                self.callback_log.append({"event_id": item["event"]["event_id"], "status": status, "ok": acked})
                if acked:
                    self.callback_queue.remove(item)
                    delivered += 1
                elif item["attempts"] >= self.callback_max_attempts:
                    self.callback_queue.remove(item)
                    self.callback_dropped.append(item["event"])
        return delivered
