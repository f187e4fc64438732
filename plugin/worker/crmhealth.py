"""Each CRM connection's health as the worker sees it (issue 15): the last batch the CRM accepted,
the last error in plain words, and the session expiry the sink reports (``store/health.py``,
``sink_health``), for doctor, ``/healthz``, ``/metrics`` and the admin page.

``recorded`` wraps one ``Sink.deliver`` call. The write is informational: when the database refuses
it, that is logged and the delivery's outcome stands. A failed write must never turn a batch the CRM
accepted into a retry (which would send it twice).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from plugin.attention import plain_error
from plugin.sink import Sink, SinkConnection

if TYPE_CHECKING:
    from plugin.runtime import Runtime

log = logging.getLogger(__name__)


@contextmanager
def recorded(runtime: Runtime, sink: Sink, connection: SinkConnection) -> Iterator[None]:
    """Around ``sink.deliver``: a failure is recorded and propagates; a success is recorded."""
    health, tenant_id, name = runtime.store.health, connection.tenant_id, connection.sink
    try:
        yield
    except Exception as exc:
        said = plain_error(exc, name)
        _safely(lambda: health.sink_failed(tenant_id, name, said))
        raise
    # The CRM accepted the batch (its items may still each fail): the connection works.
    _safely(lambda: health.sink_succeeded(tenant_id, name, sink.token_expires_at(connection)))


def _safely(write: Callable[[], None]) -> None:
    try:
        write()
    except Exception:  # health is informational: the delivery's outcome stands
        log.exception("could not record the CRM connection's health")
