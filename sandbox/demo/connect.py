"""The demo connects its accounts the way an admin would: through horseshoe's guided connect flows.

One small driver walks any network's flow, headlessly, against the demo's own fakes, over HTTP with a
cookie-keeping session (as the admin's browser does: the OAuth state is bound to a cookie): the start
form with what the admin types (``Flow.start``), the network's own consent page where the flow has
OAuth (approved as ``Flow.consent_user``), the list of accounts found (``Flow.pick``), and the page
saying what was stored and registered. horseshoe stores every account itself, audited as connected
"via connect_flow"; nothing is inserted by hand. What each network needs typed lives in
``sandbox/demo/flows.py``.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from html import unescape

import requests

from plugin.connect.grant import mint_connect_grant
from plugin.runtime import Runtime

ACTOR = "demo:operator"
TIMEOUT = 30


class ConnectFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class Flow:
    """One run of a guided flow: the network whose flow it is and what the admin enters and picks."""

    network: str
    start: Mapping[str, str]  # the start form's fields (without the ``start.`` prefix)
    consent_user: str | None = None  # who signs in on the network's consent page (OAuth flows)
    pick: Callable[[str], bool] = lambda label: True  # which found accounts to tick, by their label's text
    verify: str | bool = True  # the CA bundle of a fake served over TLS with its own certificate


@dataclass(frozen=True)
class Connected:
    """One account the flow stored (a CRM connection has no ``account_id``)."""

    network: str
    account_id: int | None
    webhook_url: str | None = None
    notes: list[str] = field(default_factory=list)


def allow_api_bases(runtime: Runtime, bases: Mapping[str, str]) -> None:
    """The operator points the flows at the fakes (``connect_api_bases``), as for a staging network."""
    extra = [f"{network}={url}" for network, url in bases.items()]
    joined = ",".join(b for b in (runtime.settings.connect_api_bases, *extra) if b)
    runtime.settings = replace(runtime.settings, connect_api_bases=joined)


def connect(runtime: Runtime, web_url: str, tenant_id: int, flow: Flow) -> list[Connected]:
    """Walk ``flow`` from the start form to the done page; the accounts it stored."""
    with _browser_unlogged():
        return _walk(runtime, web_url, tenant_id, flow)


class _OtherThreads(logging.Filter):
    """Drops the records of the thread that created it (the browser's), keeps every other thread's."""

    def __init__(self) -> None:
        super().__init__()
        self.browser = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread != self.browser


@contextmanager
def _browser_unlogged() -> Iterator[None]:
    """The admin's browser is no part of horseshoe: the URLs it opens (an authorize URL carries the app's
    client id) stay out of the process's debug log, as a real browser's would. horseshoe's own requests
    (its web server's thread) are logged as ever."""
    pool = logging.getLogger("urllib3.connectionpool")
    only_others = _OtherThreads()
    pool.addFilter(only_others)
    try:
        yield
    finally:
        pool.removeFilter(only_others)


def _walk(runtime: Runtime, web_url: str, tenant_id: int, flow: Flow) -> list[Connected]:
    browser = requests.Session()
    grant = mint_connect_grant(runtime, tenant_id, ACTOR)  # what the Zendesk admin page hands the flow
    form = {"grant": grant, "action": "begin", **{f"start.{k}": v for k, v in flow.start.items()}}
    page = _ok(browser.post(f"{web_url}/connect/{flow.network}", data=form, timeout=TIMEOUT), flow, "start")
    authorize = re.search(r'id="authorize" href="([^"]+)"', page)
    if authorize is not None:
        page = _consent(browser, unescape(authorize.group(1)), flow)
    picks = [index for index, label in _accounts(page) if flow.pick(label)]
    if not picks:
        raise ConnectFailed(f"{flow.network}: the flow found no account to pick: {page[-600:]}")
    saved = {"grant": _value(page, "grant"), "sealed": _value(page, "sealed"), "pick": picks}
    done = _ok(browser.post(f"{web_url}/connect/save", data=saved, timeout=TIMEOUT), flow, "save")
    return _done(done, flow)


def _consent(browser: requests.Session, url: str, flow: Flow) -> str:
    """The network's consent page: approve as ``consent_user``; the network redirects back to the pick page."""
    page = _ok(browser.get(url, timeout=TIMEOUT, verify=flow.verify), flow, "consent")
    hidden = {unescape(k): unescape(v) for k, v in re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', page)}
    users = re.findall(r'<option value="([^"]*)"', page)
    user = flow.consent_user or (unescape(users[0]) if users else "")
    answer = {**hidden, "decision": "approve", "sandbox_user": user}
    back = browser.post(url, data=answer, timeout=TIMEOUT, verify=flow.verify, allow_redirects=False)
    location = back.headers.get("Location")
    if back.status_code not in (302, 303) or not location:
        raise ConnectFailed(f"{flow.network}: the consent page did not send us back: {back.text[-400:]}")
    return _ok(browser.get(location, timeout=TIMEOUT), flow, "callback")


def _ok(response: requests.Response, flow: Flow, step: str) -> str:
    if response.status_code != 200:
        errors = re.findall(r'class="(?:field-error|error)"[^>]*>([^<]+)<', response.text)
        raise ConnectFailed(f"{flow.network} {step}: HTTP {response.status_code}: {errors or response.text[-400:]}")
    return response.text


def _value(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', html)
    if found is None:
        raise ConnectFailed(f"the connect page has no {name!r} field: {html[-400:]}")
    return unescape(found.group(1))


def _accounts(html: str) -> list[tuple[str, str]]:
    """The pick page's checkboxes: (value, the label's text)."""
    labels = re.findall(r'<label class="account"><input type="checkbox" name="pick" value="(\d+)"[^>]*>(.*?)</label>',
                        html, re.S)  # fmt: skip
    return [(value, unescape(re.sub(r"<[^>]+>|\s+", " ", text)).strip()) for value, text in labels]


def _done(html: str, flow: Flow) -> list[Connected]:
    """The done page, one section per account: refused ones fail the demo, the rest are returned."""
    found: list[Connected] = []
    sections = re.findall(r'<section class="card" data-network="([^"]+)" data-account-id="([^"]*)">(.*?)</section>',
                          html, re.S)  # fmt: skip
    for network, account_id, body in sections:
        problems = re.findall(r'role="alert">([^<]+)<', body)
        if problems:
            raise ConnectFailed(f"{flow.network}: {network} not connected: {unescape(problems[0]).strip()}")
        hook = re.search(r'data-copy="webhook_url">([^<]+)<', body)
        notes = [unescape(n).strip() for n in re.findall(r'role="status">([^<]+)<', body)]
        webhook_url = unescape(hook.group(1)) if hook else None
        found.append(Connected(network, int(account_id) if account_id else None, webhook_url, notes))
    if not found:
        raise ConnectFailed(f"{flow.network}: the flow connected nothing: {html[-400:]}")
    return found
