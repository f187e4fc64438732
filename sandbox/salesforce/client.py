"""Point a real ``requests`` session (and so simple-salesforce) at the fake.

simple-salesforce sends logins to ``https://{domain}.salesforce.com/...`` (SOAP ``login`` and the OAuth
token endpoint) and everything after that to the instance URL the login returned. ``SandboxAdapter``
is a requests transport adapter that sends the ``*.salesforce.com`` login hosts to the sandbox instead;
the login answer then names the sandbox itself as the instance, so later calls go there directly.

Why the adapter also pins ``verify``: requests lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` override
``session.verify`` whenever a call passes no ``verify`` of its own (simple-salesforce never does), so a
plain ``session.verify = cert_path`` silently stops working on machines with those variables set.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter


class SandboxAdapter(HTTPAdapter):
    """Send every request to ``base_url`` (scheme, host, port; path and query kept), trusting ``cert_path``."""

    def __init__(self, base_url: str, cert_path: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        target = urlsplit(base_url)
        self._scheme, self._netloc = target.scheme, target.netloc
        self._cert_path = cert_path

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        parts = urlsplit(request.url or "")
        request.url = urlunsplit((self._scheme, self._netloc, parts.path, parts.query, parts.fragment))
        if self._cert_path:
            kwargs["verify"] = self._cert_path
        return super().send(request, *args, **kwargs)


def sandbox_session(base_url: str, cert_path: str | None = None,
                    login_domains: tuple[str, ...] = ("login", "test")) -> requests.Session:  # fmt: skip
    """A session whose Salesforce login hosts and the sandbox itself are reached with its certificate."""
    session = requests.Session()
    adapter = SandboxAdapter(base_url, cert_path)
    for domain in login_domains:
        session.mount(f"https://{domain}.salesforce.com", adapter)
    session.mount(base_url.rstrip("/"), adapter)
    if cert_path:
        session.verify = cert_path
    return session
