"""Notifications that must go out at once but must never hold anything up: webhooks and email.

``Notifier.submit`` only queues; one background thread sends, retrying each failed notice with
exponential backoff (a failing webhook waits its turn without delaying the others). Every final
outcome is reported to ``on_result`` so it is recorded, not lost in a log.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import smtplib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote, urlsplit

import requests

from plugin import egress
from plugin.errors import BadInput
from plugin.http import pinned_session

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notice:
    channel: str  # webhook | email | record (an event row for the store, written off the hot path)
    target: str  # URL, email address, or the event kind
    subject: str
    payload: dict[str, Any] = field(hash=False)


Result = Callable[[Notice, str, int, str | None], None]  # notice, sent|failed, attempts, last error


class Notifier:
    def __init__(
        self,
        *,
        attempts: int = 6,
        backoff_base: float = 1.0,
        backoff_cap: float = 300.0,
        timeout: float = 5.0,
        smtp_url: str = "",
        smtp_from: str = "horseshoe@localhost",
        on_result: Result | None = None,
        recorder: Callable[[Notice], None] | None = None,
        allowed_hosts: frozenset[str] | None = None,
    ):
        self.attempts = attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.timeout = timeout
        self.smtp_url = smtp_url
        self.smtp_from = smtp_from
        self.on_result = on_result
        self.recorder = recorder
        # A webhook URL is an admin's: it must be https on a public address (plugin/egress.py), checked
        # again on every connection and pinned to the checked address (DNS rebinding). The host passes
        # the operator's allowed_private_hosts; None: the process's configured rule.
        self.allowed_hosts = allowed_hosts
        policy = None if allowed_hosts is None else egress.Policy(allowed_hosts)
        self._http = pinned_session(policy)
        self._heap: list[tuple[float, int, int, Notice]] = []
        self._order = itertools.count()
        self._busy = 0
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def submit(self, notice: Notice) -> None:
        if notice.channel == "email" and not self.smtp_url:
            log.warning("no smtp_url configured: email notice to %s not sent", notice.target)
            return
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic(), next(self._order), 1, notice))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="horseshoe-notify", daemon=True)
                self._thread.start()
            self._cond.notify()

    def drain(self, timeout: float) -> bool:
        """Wait until nothing is queued or being sent (tests, the demo's summary). True when idle."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._heap or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.monotonic()):
                    wait = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(wait)
                if self._stopped:
                    return
                _due, _n, attempt, notice = heapq.heappop(self._heap)
                self._busy += 1
            try:
                self._attempt(notice, attempt)
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    def _attempt(self, notice: Notice, attempt: int) -> None:
        try:
            self.send(notice)
        except (egress.EgressRefused, BadInput) as exc:  # the rule forbids this target: no retry helps
            log.error("notice to %s refused: %s", notice.target, exc)
            self._report(notice, "failed", attempt, f"{type(exc).__name__}: {exc}")
            return
        except (requests.RequestException, OSError, smtplib.SMTPException, RuntimeError) as exc:
            error = f"{type(exc).__name__}: {exc}"
            if attempt >= self.attempts:
                log.error("notice to %s failed after %d attempts: %s", notice.target, attempt, error)
                self._report(notice, "failed", attempt, error)
                return
            delay = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
            log.warning("notice to %s failed (attempt %d, next in %.1fs): %s", notice.target, attempt, delay, error)
            with self._cond:
                heapq.heappush(self._heap, (time.monotonic() + delay, next(self._order), attempt + 1, notice))
                self._cond.notify()
            return
        self._report(notice, "sent", attempt, None)

    def _report(self, notice: Notice, status: str, attempts: int, error: str | None) -> None:
        if self.on_result is None or notice.channel == "record":
            return  # a record's own outcome is only logged: recording it would need a record
        try:
            self.on_result(notice, status, attempts, error)
        except Exception:  # recording must not kill the sender thread; the failure is logged
            log.exception("recording the outcome of a notice to %s failed", notice.target)

    def send(self, notice: Notice) -> None:
        if notice.channel == "webhook":
            egress.check_url(notice.target, self.allowed_hosts, what="notification webhook")
            response = self._http.post(notice.target, json=notice.payload, timeout=self.timeout)
            if response.status_code >= 300:
                raise RuntimeError(f"webhook answered {response.status_code}")
        elif notice.channel == "email":
            self._email(notice)
        elif notice.channel == "record" and self.recorder is not None:
            self.recorder(notice)
        else:
            raise ValueError(f"unknown notice channel {notice.channel!r}")

    def _email(self, notice: Notice) -> None:
        url = urlsplit(self.smtp_url)
        message = EmailMessage()
        message["From"] = self.smtp_from
        message["To"] = notice.target
        message["Subject"] = notice.subject
        message.set_content("\n".join(f"{k}: {v}" for k, v in notice.payload.items() if v not in (None, "")))
        factory = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
        with factory(url.hostname or "localhost", url.port or 0, timeout=self.timeout) as smtp:
            if url.username:
                smtp.login(unquote(url.username), unquote(url.password or ""))
            smtp.send_message(message)
