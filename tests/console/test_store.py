"""The console's repositories on SQLite and PostgreSQL: sessions, login failures, one winner per action."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from plugin.runtime import Runtime
from plugin.store.failures import NotFound, WrongState
from plugin.store.statuses import ReplyStatus
from tests.console.support import failed_delivery, make_admin, uncertain_reply
from tests.security.conftest import install


def test_sessions_and_login_failures(runtime_any: Runtime) -> None:
    admins = runtime_any.store.admins
    make_admin(runtime_any, "ada")
    make_admin(runtime_any, "kim", tenant="acme")
    ada = admins.by_name("ada")
    assert ada is not None and [a.name for a in admins.all()] == ["ada", "kim"]
    admins.open_session(ada.id, "h" * 64, "csrf", timedelta(hours=1))
    found = admins.session("h" * 64)
    assert found is not None and found.admin.name == "ada" and found.csrf_token == "csrf"
    admins.set_disabled(ada.id, True)
    assert admins.session("h" * 64) is None
    window = timedelta(minutes=15)
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.2"):
        admins.record_failure("ada", address, window)
    admins.record_failure("mallory", "10.0.0.2", window)
    assert admins.recent_failures("ada", "10.0.0.9", window) == 3  # by name
    assert admins.recent_failures("nobody", "10.0.0.2", window) == 3  # by address
    admins.clear_failures("ada", window)
    assert admins.recent_failures("ada", "10.0.0.1", window) == 0


def test_only_one_of_two_simultaneous_actions_wins(runtime_any: Runtime) -> None:
    rt = runtime_any
    acme = install(rt, "acme", "1001")
    reply = uncertain_reply(rt, acme.id, acme.account_id, "race")
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def act(action: str) -> None:
        barrier.wait()
        try:
            if action == "sent":
                rt.store.failures.mark_reply_sent(reply, [acme.id], "admin:a", "seen")
            else:
                rt.store.failures.retry_reply(reply, [acme.id], "admin:b", "not seen")
            outcomes.append(action)
        except WrongState:
            outcomes.append("refused")

    threads = [threading.Thread(target=act, args=(a,)) for a in ("sent", "retry")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("refused") == 1
    final = rt.store.outbox.get(reply).status
    assert final == (ReplyStatus.SENT if "sent" in outcomes else ReplyStatus.PENDING)
    assert len(rt.store.failures.recent_actions(None)) == 1  # the loser wrote no audit row


def test_scope_hides_other_tenants_rows(runtime_any: Runtime) -> None:
    rt = runtime_any
    acme, globex = install(rt, "acme", "1001"), install(rt, "globex", "2002")
    theirs = failed_delivery(rt, globex.id, globex.account_id, "9")
    assert rt.store.failures.failed_deliveries([acme.id]) == []
    assert [d.id for d in rt.store.failures.failed_deliveries(None)] == [theirs]
    with pytest.raises(NotFound):
        rt.store.failures.discard_delivery(theirs, [acme.id], "admin:a", "x")
    assert [d.id for d in rt.store.failures.failed_deliveries([globex.id])] == [theirs]
