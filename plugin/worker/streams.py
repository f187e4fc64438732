"""Listen to CRMs' change streams of agents' replies, so a reply is found at once instead of by a
poll every 10 seconds per org (issue 14).

For every enabled CRM connection whose sink offers a stream (``Sink.open_reply_stream``, e.g.
Salesforce Change Data Capture over CometD) one listener runs, in one worker only: the stream's row is
claimed under a lease (renewed by a heartbeat while the long polls run) and another worker takes over
when this one dies, resuming from the stored position. An event makes the connection's agent-reply
poll due now and nudges the worker loop; the poll's query stays the source of truth, so an event
missed costs a delay, never a reply. With the stream healthy, the poll only runs as a safety net
(``reply_poll_seconds_streaming``, default 300 s, plugin.outbox.crm); while the CRM denies the
stream or it keeps failing, the connection is in ``polling`` mode, polled at its normal interval, and
the stream is tried again later (``stream_retry_seconds`` after a refusal, a growing back-off after errors).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from plugin.errors import AuthError, FatalError, RetriableError
from plugin.heartbeat import Heartbeat
from plugin.retry import RetryPolicy
from plugin.runtime import Runtime
from plugin.sink import ReplyStream, Sink, SinkConnection
from plugin.store.streams import ReplyStreamRow

log = logging.getLogger(__name__)
DENIED_RETRY_SECONDS = 900.0  # the org does not offer the stream: look again in 15 minutes
CHECK_EVERY_SECONDS = 5.0  # how often the worker loop looks for streams to take over
QUICK_RECONNECTS = 3  # errors in a row answered by reconnecting at once before falling back to polling


def streams_replies(sink: Sink) -> bool:
    return type(sink).open_reply_stream is not Sink.open_reply_stream


def stream_facts(row: ReplyStreamRow) -> dict[str, Any]:
    """A stream's mode for health (``/healthz``, ``horseshoe doctor``): ``streaming`` only while a
    listener holds it, else ``polling`` with the reason."""
    when = lambda value: value.isoformat() if value is not None else None  # noqa: E731
    return {
        "tenant_id": row.tenant_id, "sink": row.sink, "mode": "streaming" if row.live else "polling",
        "detail": row.detail, "wakeups": row.events, "position": row.position,
        "last_event_at": when(row.last_event_at), "healthy_at": when(row.healthy_at),
        "next_attempt_at": None if row.live else when(row.next_attempt_at),
    }  # fmt: skip


def stream_summary(row: ReplyStreamRow) -> str:
    facts = stream_facts(row)
    if facts["mode"] == "streaming":
        return f"streaming ({row.detail}), {row.events} wake-up(s), polled every few minutes as a safety net"
    retry = f"; stream tried again at {facts['next_attempt_at']}" if facts["next_attempt_at"] else ""
    return f"polling ({row.detail or 'no stream yet'}){retry}"


class ReplyStreams:
    """The listeners of one worker. ``start_due`` takes over streams nobody listens to; ``stop`` ends them."""

    def __init__(self, runtime: Runtime, owner: str, nudge: Callable[[], None] | None = None):
        self.runtime = runtime
        self.owner = owner
        self.nudge = nudge or (lambda: None)
        self._stop = threading.Event()
        self._threads: dict[int, threading.Thread] = {}
        self._streams: dict[int, ReplyStream] = {}
        self._last_check = float("-inf")

    @property
    def lease(self) -> float:
        return self.runtime.settings.lease_seconds

    def listening(self) -> set[int]:
        return {i for i, th in self._threads.items() if th.is_alive()}

    def maybe_start(self) -> None:
        """``start_due`` at most every few seconds (called from every worker tick)."""
        now = time.monotonic()
        if now - self._last_check >= CHECK_EVERY_SECONDS:
            self._last_check = now
            self.start_due()

    def start_due(self) -> list[int]:
        """Claim and start the streams of connections nobody listens to; returns the stream ids started."""
        runtime, repo = self.runtime, self.runtime.store.reply_streams
        wanted: list[int] = []
        for row in runtime.store.tenants.connections(enabled_only=True):
            sink = runtime.registry.sinks.get(row.sink)
            if sink is not None and streams_replies(sink):
                wanted.append(repo.ensure(row.tenant_id, row.sink))
        busy = self.listening()
        claimed = repo.claim(self.owner, [i for i in wanted if i not in busy], self.lease)
        for stream_id in claimed:
            thread = threading.Thread(target=self._run, args=(stream_id,), name=f"{self.owner}:stream:{stream_id}",
                                      daemon=True)  # fmt: skip
            self._threads[stream_id] = thread
            thread.start()
        return claimed

    def stop(self, timeout: float = 2.0) -> None:
        """Stop listening and give the streams back at once (another worker resumes them)."""
        self._stop.set()
        for stream_id in list(self._threads):
            self.runtime.store.reply_streams.release(stream_id, self.owner)
        for stream in list(self._streams.values()):
            stream.close()  # a /meta/disconnect also ends the long poll in flight
        for thread in list(self._threads.values()):
            thread.join(timeout)  # a thread still waiting is a daemon, and its writes are fenced

    # -- one listener ------------------------------------------------------------------------------
    def _run(self, stream_id: int) -> None:
        repo = self.runtime.store.reply_streams
        renew = lambda held: repo.renew(self.owner, held, self.lease)  # noqa: E731
        try:
            with Heartbeat(renew, [stream_id], self.lease, f"{self.owner}:stream:{stream_id}") as beat:
                self._listen(stream_id, beat)
        except Exception:  # a sink bug must not kill the worker; polling goes on meanwhile
            log.exception("reply stream %s failed unexpectedly", stream_id)
            self._fall_back(stream_id, None, "unexpected error in the stream listener", 300.0)
        finally:
            stream = self._streams.pop(stream_id, None)
            if stream is not None:
                stream.close()

    def _connection(self, row: ReplyStreamRow) -> tuple[SinkConnection, Sink] | None:
        store = self.runtime.store
        config = store.sink_connection(row.tenant_id, row.sink)
        sink = self.runtime.registry.sinks.get(row.sink)
        if config is None or sink is None:
            return None
        return SinkConnection(row.tenant_id, store.tenant_key(row.tenant_id), row.sink, config), sink

    def _listen(self, stream_id: int, beat: Heartbeat) -> None:
        repo = self.runtime.store.reply_streams
        row = repo.get(stream_id)
        found = self._connection(row) if row is not None else None
        if row is None or found is None:
            if row is not None:
                self._fall_back(stream_id, row, "the CRM connection is disabled", DENIED_RETRY_SECONDS)
            return
        connection, sink = found
        retry = float(connection.config.get("stream_retry_seconds", DENIED_RETRY_SECONDS))
        failures = row.failures
        try:
            stream = sink.open_reply_stream(connection, row.position)
            if stream is None:
                self._fall_back(stream_id, row, "streaming is switched off for this connection", retry)
                return
            self._streams[stream_id] = stream
            detail = stream.start() or row.sink
        except (AuthError, FatalError) as exc:
            self._fall_back(stream_id, row, f"stream denied, polling: {exc}", retry)
            return
        except RetriableError as exc:
            self._fall_back(stream_id, row, f"stream unavailable, polling: {exc}", self._backoff(failures + 1))
            return
        if not repo.healthy(stream_id, self.owner, f"streaming {detail}"):
            return
        position = row.position
        errors_in_a_row = 0
        while not self._stop.is_set() and beat.held([stream_id]):
            try:
                batch = stream.next_batch()
            except RetriableError as exc:
                # A dropped connection or "403::Unknown client" is answered by reconnecting (a new
                # handshake, resuming from the position); errors that persist mean trouble: poll
                # meanwhile and try the stream again after a back-off.
                errors_in_a_row += 1
                log.info("reply stream %s/%s: %s", connection.tenant_key, connection.sink, exc)
                if errors_in_a_row >= QUICK_RECONNECTS:
                    self._fall_back(stream_id, row, f"stream erroring, polling: {exc}", self._backoff(failures + 1))
                    return
                self._stop.wait(min(self._backoff(errors_in_a_row - 1), 5.0))
                continue
            except (AuthError, FatalError) as exc:
                self._fall_back(stream_id, row, f"stream denied, polling: {exc}", retry)
                return
            errors_in_a_row = 0
            if self._stop.is_set():
                return
            if batch.events:
                # Wake first, position second: a crash in between replays the event (one extra poll).
                self.runtime.store.tenants.wake_reply_poll(connection.tenant_id, connection.sink)
                self.nudge()
            if batch.events or batch.position != position:
                if not repo.advanced(stream_id, self.owner, batch.position, batch.events):
                    return  # another worker holds the stream now
                position = batch.position
            if not repo.healthy(stream_id, self.owner, f"streaming {batch.detail or detail}"):
                return

    def _backoff(self, failures: int) -> float:
        return RetryPolicy.from_settings(self.runtime.settings).delay(failures)

    def _fall_back(self, stream_id: int, row: ReplyStreamRow | None, detail: str, retry_in: float) -> None:
        log.warning("reply stream %s: %s (retry in %.0f s)", stream_id, detail, retry_in)
        self.runtime.store.reply_streams.fell_back(stream_id, self.owner, detail[:2000], retry_in)
        if row is not None:
            # The poll may have been stretched to the safety net: the normal interval resumes now.
            self.runtime.store.tenants.wake_reply_poll(row.tenant_id, row.sink)
            self.nudge()
