"""Finding 6, across processes: the /zendesk/events byte budget per tenant holds however many server
processes answer (``horseshoe serve`` runs several gunicorn workers), because it lives in the store."""

from __future__ import annotations

import json

from plugin.runtime import build_runtime
from plugin.store.budgets import CallbackBudgetRepository
from plugin.web import create_app
from plugin.zendesk import budget
from tests.conftest import fast_settings
from tests.security.conftest import ZENDESK, install

LIMIT = 4000


def _body(n: int) -> bytes:
    events = [{"type_id": "resource_link_created", "subdomain": "acme", "pad": "p" * 200, "n": n}]
    return json.dumps({"events": events}).encode()


def test_two_app_instances_share_one_byte_budget(tmp_path: object, any_database_url: str) -> None:
    settings = fast_settings(
        str(tmp_path), any_database_url, zendesk_api_base=ZENDESK, events_max_bytes_per_tenant=LIMIT
    )
    first, second = build_runtime(settings), build_runtime(settings)  # two processes, one database
    try:
        install(first, "acme", "1001")
        clients = [create_app(first).test_client(), create_app(second).test_client()]
        accepted = refused = 0
        size = len(_body(0))
        for n in range(2 * LIMIT // size + 4):  # enough to pass the limit twice over
            answer = clients[n % 2].post("/zendesk/events", data=_body(n), content_type="application/json")
            if answer.status_code == 200:
                accepted += 1
            else:
                assert answer.status_code == 429, answer.get_data(as_text=True)
                assert answer.headers["Retry-After"] == "60"
                assert "event budget for acme used up" in answer.get_json()["reason"]
                refused += 1
        # Per-process budgets would have accepted about twice the limit, half through each app.
        assert accepted == LIMIT // size
        assert refused > 0
        tenant_id = first.store.tenant_id("acme")
        assert second.store.events.count(tenant_id, "zendesk:resource_link_created") == accepted
    finally:
        first.db.dispose()
        second.db.dispose()


def test_budget_windows_and_keys_are_separate(tmp_path: object) -> None:
    rt = build_runtime(fast_settings(str(tmp_path)))
    try:
        budgets: CallbackBudgetRepository = rt.store.callback_budgets
        assert budget.spend(budgets, "acme", 600, 1000, now=120.0)
        assert not budget.spend(budgets, "acme", 600, 1000, now=150.0)  # same minute: would pass 1000
        assert budget.spend(budgets, "globex", 600, 1000, now=150.0)  # another tenant's own budget
        assert budget.spend(budgets, "acme", 400, 1000, now=179.0)  # exactly the limit still fits
        assert budget.spend(budgets, "acme", 600, 1000, now=180.0)  # the next minute starts afresh
        assert not budget.spend(budgets, "acme", 1001, 1000, now=600.0)  # larger than a whole window
    finally:
        rt.db.dispose()
