"""The HTTP client a bench sends its webhooks with: a request the server never answered is sent again.

``horseshoe serve`` (gunicorn's gthread worker) closes a keep-alive connection that stayed idle for its
``keepalive`` (2 s). If the client sends its next request on that connection just as the server closes
it, the request is lost: never read, so the server logs nothing, and the client gets
``RemoteDisconnected``/``ConnectionResetError``/``BrokenPipeError``. ``requests`` does not resend a POST
on its own (urllib3 retries only idempotent methods, and ``requests`` asks for no retries at all), so the
bench counted the mention as refused (the warm-up never looks at that count) and waited for a ticket
that could never come: 300 s for the latency bench's warm-up, about 1 run in 25 under load.

Resending is safe here because a webhook is idempotent for horseshoe: the same signed body carries the
same mention id, and the intake keeps one mention per id. urllib3 drops the broken connection and sends
the same bytes on another one.
"""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

RESENDS = 3  # a lost request is rare (a race with the server's keep-alive close); three is plenty


def webhook_session(resends: int = RESENDS) -> requests.Session:
    """A ``requests.Session`` whose requests, POST included, are sent again (at once, same body) when the
    connection failed or closed before an answer; an answer, whatever its status, is returned as is."""
    retry = Retry(
        total=resends,
        connect=resends,
        read=resends,  # the answer never came: connection closed or reset, or the read timed out
        status=0,
        other=0,
        redirect=0,
        allowed_methods=None,  # every method: the server dedupes webhooks by their mention id
        backoff_factor=0,
        raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
