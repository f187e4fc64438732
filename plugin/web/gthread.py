"""gunicorn's threaded worker, counting each request in ``TRAFFIC`` from its own event loop.

Counted inside the WSGI app, a request is in flight only while a pool thread runs the app. Under a
storm of webhooks most of a request's time is elsewhere: the thread pool's queue, and the loop's
method queue that hands a finished connection back to the poller, both waiting for the interpreter
lock while the background threads hold it (BENCHMARKS.md, Ingest, "Third round": 0 to 3 requests in the
app at once per process, so the burst test rarely fired on a slower machine). Here a request counts
from the moment the loop hands the connection to the pool (``enqueue_req``: a new connection, a
kept-alive one that became readable, or one with the next request already read ahead) until the loop
has taken it back (``finish_request``), so the queued ones are in flight too.
"""

from __future__ import annotations

from typing import Any

from gunicorn.workers.gthread import ThreadWorker

from plugin.traffic import TRAFFIC


class CountingThreadWorker(ThreadWorker):
    def enqueue_req(self, conn: Any) -> None:
        TRAFFIC.arrived()
        try:
            super().enqueue_req(conn)
        except BaseException:
            TRAFFIC.done()  # never reached the pool: no finish_request will count it out
            raise

    def finish_request(self, conn: Any, fs: Any) -> None:
        # Exactly one per enqueue_req: the pool future's done callback defers it to this loop.
        try:
            super().finish_request(conn, fs)
        finally:
            TRAFFIC.done()
