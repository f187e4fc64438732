"""DNS rebinding against every client that fetches a tenant-controlled URL (issue 10, "Strict inputs").

The attack: an admin saves a URL whose name answers a public address while it is checked, and
127.0.0.1 (or any private address) when horseshoe connects later. Every connection must go to the
address that was checked, with Host, SNI and certificate verification still for the URL's name.
The staged resolver and opener are in tests/support/rebinding.py.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
import requests
from werkzeug.wrappers import Request, Response

from plugin import egress
from plugin.connector import AccountContext
from plugin.errors import BadInput, FatalError
from plugin.http import HttpClient, PinnedTransport, fetch_media, pinned_session
from plugin.models import Attachment
from plugin.salesforce.connect import open_client, parse_config
from plugin.triage.notify import Notice, Notifier
from sandbox.salesforce.tls import localhost_cert
from sandbox.server import RunningServer, serve_in_thread
from tests.support.media import PNG
from tests.support.rebinding import LOOPBACK, PUBLIC, staged_policy


@dataclass
class Host:
    """A TLS server for ``localhost`` (the sandbox's certificate) that records each request's Host."""

    server: RunningServer
    cert: str
    seen: list[str] = field(default_factory=list)

    def url(self, path: str = "/", name: str = "localhost") -> str:
        return f"https://{name}:{self.server.port}{path}"


@pytest.fixture(scope="module")
def host() -> Iterator[Host]:
    cert, key = localhost_cert()
    seen: list[str] = []

    @Request.application
    def app(request: Request) -> Response:
        seen.append(request.host)
        if request.path == "/services/oauth2/token":  # a login host answering with a private instance
            body = '{"access_token": "00Dx!token", "instance_url": "https://169.254.169.254", "id": "x"}'
            return Response(body, content_type="application/json", headers={"Connection": "close"})
        return Response(PNG, content_type="image/png", headers={"Connection": "close"})

    running = serve_in_thread(app, ssl_context=(cert, key))
    try:
        yield Host(running, cert, seen)
    finally:
        running.stop()


@pytest.fixture(autouse=True)
def _fresh(host: Host) -> None:
    host.seen.clear()


def test_requests_connect_to_the_checked_address_with_tls_for_the_name(host: Host) -> None:
    policy, resolver, opener = staged_policy("localhost")  # localhost is NOT allowed here
    assert egress.check_url(host.url(), policy.allowed, resolve=policy.resolve)  # the check sees PUBLIC
    session = pinned_session(policy)
    session.verify = host.cert
    # The connection resolves the name itself, and this time the answer is 127.0.0.1: refused.
    with pytest.raises(egress.EgressRefused, match=r"127\.0\.0\.1"):
        session.get(host.url("/a.png"), timeout=5)
    assert opener.connected == [] and host.seen == []  # nothing was opened, nothing reached the server
    assert resolver.lookups == [PUBLIC, LOOPBACK]


def test_a_pinned_connection_keeps_host_sni_and_certificate_of_the_name(host: Host) -> None:
    policy, _, opener = staged_policy("localhost", "rebind.example", answers=(PUBLIC,))
    session = pinned_session(policy)
    session.verify = host.cert
    answer = session.get(host.url("/a.png"), timeout=5)
    assert answer.status_code == 200 and answer.content == PNG
    assert opener.connected == [PUBLIC]  # the socket went to the vetted address...
    assert host.seen == [f"localhost:{host.server.port}"]  # ...the request still named the host
    # The certificate is checked for the URL's name, not for the address connected to: a name the
    # certificate does not cover fails, though the socket reached the very same server.
    with pytest.raises(requests.exceptions.SSLError):
        session.get(host.url("/a.png", name="rebind.example"), timeout=5)


def test_httpx_transport_pins_the_same_way(host: Host) -> None:
    policy, _, opener = staged_policy("localhost")
    with httpx.Client(transport=PinnedTransport(policy, verify=ssl.create_default_context(cafile=host.cert))) as client:
        first = client.get(host.url("/a.png"))
        assert first.status_code == 200 and first.content == PNG
        with pytest.raises(egress.EgressRefused, match=r"127\.0\.0\.1"):
            client.get(host.url("/b.png"))  # Connection: close, so a new connection: resolved again
    assert opener.connected == [PUBLIC] and host.seen == [f"localhost:{host.server.port}"]


def test_plain_http_and_private_addresses_are_refused_at_connect() -> None:
    session = pinned_session(egress.Policy())
    with pytest.raises(egress.EgressRefused, match="only https"):
        session.get("http://example.com/", timeout=5)
    with pytest.raises(egress.EgressRefused, match="private"):
        session.get("https://127.0.0.1:9/", timeout=5)
    with pytest.raises(egress.EgressRefused, match="private"):
        session.get("https://[::ffff:169.254.169.254]/", timeout=5)


def test_media_fetch_rebinding_to_loopback_reaches_nothing(host: Host) -> None:
    policy, _, opener = staged_policy("localhost")
    egress.configure(policy)  # the process rule, as build_runtime sets it (reset after each test)
    http = HttpClient("attachments-test", session_factory=pinned_session)
    http.session(("media", f"localhost:{host.server.port}")).verify = host.cert
    first = fetch_media(Attachment(url=host.url("/photo.png")), max_bytes=10**6, network="X", http=http)
    assert first.content == PNG and opener.connected == [PUBLIC]
    with pytest.raises(FatalError, match="private") as refused:
        fetch_media(Attachment(url=host.url("/photo.png")), max_bytes=10**6, network="X", http=http)
    assert refused.value.code == "egress_refused"
    assert opener.connected == [PUBLIC] and len(host.seen) == 1


def test_default_media_client_is_pinned() -> None:
    egress.configure(egress.Policy())  # production: nothing exempt
    with pytest.raises(FatalError, match="private"):
        fetch_media(Attachment(url="https://127.0.0.1:9/photo.png"), max_bytes=10**6, network="X")


def _account(network: str, api_base: str, **credentials: str) -> AccountContext:
    return AccountContext(network=network, external_id="1", handle="brand", credentials=credentials, api_base=api_base)


def test_mastodon_api_base_rebinding_to_loopback_reaches_nothing() -> None:
    from connectors.mastodon.connector import MastodonConnector

    policy, _, opener = staged_policy("mastodon.rebind.example")
    egress.configure(policy)
    api_base = egress.check_url("https://mastodon.rebind.example", what="API base URL")  # the admin form's check
    with pytest.raises(FatalError, match="private") as refused:
        MastodonConnector().poll(_account("mastodon", api_base, access_token="t"), None)
    assert refused.value.code == "egress_refused" and opener.connected == []


def test_bluesky_pds_rebinding_to_loopback_reaches_nothing() -> None:
    from connectors.bluesky.connector import BlueskyConnector

    policy, _, opener = staged_policy("pds.rebind.example")
    egress.configure(policy)
    api_base = egress.check_url("https://pds.rebind.example", what="API base URL")
    account = _account("bluesky", api_base, identifier="brand.example", app_password="p")
    with pytest.raises(FatalError, match="private") as refused:
        BlueskyConnector().poll(account, None)
    assert refused.value.code == "egress_refused" and opener.connected == []


def test_notification_webhook_rebinding_to_loopback_reaches_nothing() -> None:
    policy, _, opener = staged_policy("hooks.rebind.example")
    egress.configure(policy)
    results: list[tuple[str, int, str | None]] = []
    notifier = Notifier(attempts=3, backoff_base=0.01, on_result=lambda n, s, a, e: results.append((s, a, e)))
    notifier.submit(Notice("webhook", "https://hooks.rebind.example/alert", "security", {"text": "breach"}))
    assert notifier.drain(10)
    notifier.stop()
    [(status, attempts, error)] = results
    assert status == "failed" and attempts == 1 and error is not None and "EgressRefused" in error
    assert opener.connected == []


def test_notification_webhook_to_a_private_address_fails_once_with_the_reason() -> None:
    """Refused when checked (before any connection): reported failed at once, the sender thread lives on."""
    egress.configure(egress.Policy())
    results: list[tuple[str, int, str | None]] = []
    notifier = Notifier(attempts=3, backoff_base=0.01, on_result=lambda n, s, a, e: results.append((s, a, e)))
    for target in ("https://169.254.169.254/latest/meta-data", "https://10.0.0.1/hook"):
        notifier.submit(Notice("webhook", target, "security", {"text": "breach"}))
    assert notifier.drain(10)
    notifier.stop()
    assert [(s, a) for s, a, _ in results] == [("failed", 1), ("failed", 1)]
    assert all(e is not None and "private" in e for _, _, e in results)


def test_salesforce_login_url_is_checked_when_read_and_pinned_when_used() -> None:
    egress.configure(egress.Policy())
    base = {"auth": "password", "username": "u", "password": "p"}
    with pytest.raises(FatalError, match=r"login_url.*private"):
        parse_config({**base, "login_url": "https://10.0.0.5"})
    with pytest.raises(FatalError, match=r"instance_url.*https"):
        parse_config({"auth": "session", "session_id": "s", "instance_url": "http://na1.example.com"})
    policy, _, opener = staged_policy("login.rebind.example")
    egress.configure(policy)
    cfg = parse_config({**base, "login_url": "https://login.rebind.example"})  # checked: PUBLIC
    with pytest.raises(FatalError, match="private"):
        open_client(cfg)  # the login connection resolves again: 127.0.0.1, refused
    assert opener.connected == []


def test_salesforce_instance_url_from_the_login_answer_is_held_to_the_rule(host: Host) -> None:
    """A login host (allowed by the operator) answers with an instance on the cloud metadata address:
    the session is not used there."""
    policy, _, opener = staged_policy(allowed=("localhost",))
    egress.configure(policy)
    cfg = parse_config({
        "auth": "password", "username": "u", "password": "p", "consumer_key": "ck", "consumer_secret": "cs",
        "login_url": host.url("").rstrip("/"), "ca_bundle": host.cert,
    })  # fmt: skip
    with pytest.raises(FatalError, match=r"instance_url from the login answer.*private"):
        open_client(cfg)
    assert host.seen == [f"localhost:{host.server.port}"]  # the login happened...
    assert "169.254.169.254" not in opener.connected  # ...the instance was never contacted


def test_check_url_reasons_are_400s() -> None:
    egress.configure(egress.Policy())
    for url in ("ftp://example.com", "https://user:pw@example.com", "https://127.0.0.1", "http://example.com"):
        with pytest.raises(BadInput) as refused:
            egress.check_url(url, what="API base URL")
        assert refused.value.status == 400 and "API base URL" in str(refused.value)
