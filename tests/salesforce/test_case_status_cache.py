"""The reopen status is asked of the org once an hour, not per Case (mutation testing, issue 12): a
renamed default takes effect after the cache expires, a configured ``reopen_status`` always wins,
and an org without usable CaseStatus rows reopens with the standard "New"."""

from __future__ import annotations

import time

import pytest

from plugin.salesforce import casestatus
from plugin.salesforce.sink import SalesforceSink
from sandbox.salesforce import casestatus as org_statuses

from .conftest import SfEnv, connection


def _later(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """The monotonic clock as seen ``seconds`` from now (still increasing for everyone else). The
    hour is written out, not read from the module: a wrong constant there must fail here."""
    real = time.monotonic
    monkeypatch.setattr(time, "monotonic", lambda: real() + seconds)


def test_the_default_is_cached_for_an_hour_and_a_configured_status_always_wins(
    sink: SalesforceSink, sfenv: SfEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = sink.api(connection(sfenv))
    assert casestatus.reopen_status(api, {}) == "New"
    with sfenv.state.lock:  # the admin renames the statuses: "Open" is the default now, not the first
        org_statuses.seed(sfenv.org, [("Waiting", False, False), ("Open", True, False), ("Done", False, True)])
    assert casestatus.reopen_status(api, {}) == "New"  # still the hour's answer
    assert casestatus.reopen_status(api, {"reopen_status": "Working"}) == "Working"
    _later(monkeypatch, 3600 - 60)
    assert casestatus.reopen_status(api, {}) == "New"
    _later(monkeypatch, 3600 + 1)
    assert casestatus.reopen_status(api, {}) == "Open"


def test_a_closed_default_or_no_statuses_at_all(
    sink: SalesforceSink, sfenv: SfEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = sink.api(connection(sfenv))
    with sfenv.state.lock:  # an odd org: the default status closes; the first open one by order is used
        org_statuses.seed(sfenv.org, [("Done", True, True), ("Triage", False, False), ("Working", False, False)])
    assert casestatus.reopen_status(api, {}) == "Triage"
    with sfenv.state.lock:  # a stripped-down org without CaseStatus rows
        org_statuses.seed(sfenv.org, [])
    _later(monkeypatch, 3600 + 1)
    assert casestatus.reopen_status(api, {}) == "New"
