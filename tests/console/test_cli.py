"""``horseshoe admin``, ``deliveries``, ``replies`` and ``accounts`` against a real database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from plugin.cli.main import main
from plugin.config import load_settings
from plugin.runtime import Runtime, build_runtime
from plugin.store.statuses import ReplyStatus
from tests.console.support import failed_delivery, uncertain_reply
from tests.security.conftest import install

Run = Callable[..., tuple[int, str]]


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.chdir(tmp_path)
    for name in ("HORSESHOE_DATABASE_URL", "HORSESHOE_CONFIG", "HORSESHOE_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HORSESHOE_ADMIN_PASSWORD_MEMORY_KIB", "1024")
    monkeypatch.setenv("HORSESHOE_ADMIN_PASSWORD_TIME_COST", "1")

    def invoke(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), *args], catch_exceptions=False)
        return result.exit_code, result.output

    return invoke


@pytest.fixture
def rt(tmp_path: Path, run: Run) -> Runtime:
    return build_runtime(load_settings(data_dir=str(tmp_path)))


def test_admin_create_list_disable_reset(run: Run, rt: Runtime) -> None:
    code, out = run("admin", "create", "ada", "--operator")
    assert code == 0 and "one-time password: " in out
    password = out.split("one-time password: ")[1].strip()
    row = rt.store.admins.by_name("ada")
    assert row is not None and row.must_change_password and password not in row.password_hash
    code, out = run("admin", "create", "sf-admin", "--tenant", "00D000000000001")
    assert code != 0 and "--new-tenant" in out
    code, out = run("admin", "create", "sf-admin", "--tenant", "00D000000000001", "--new-tenant")
    assert code == 0 and rt.store.tenant_id("00D000000000001") is not None
    assert run("admin", "create", "ada", "--operator")[0] != 0  # names are unique
    code, out = run("admin", "list")
    assert "ada" in out and "every tenant" in out and "tenant 00D000000000001" in out
    assert run("admin", "disable", "ada")[0] == 0
    assert "disabled" in run("admin", "list")[1].splitlines()[0]
    code, out = run("admin", "reset-password", "sf-admin")
    assert code == 0 and out.startswith("one-time password: ")
    assert run("admin", "disable", "nobody")[0] != 0


def test_failed_deliveries_and_uncertain_replies_from_the_command_line(run: Run, rt: Runtime) -> None:
    acme = install(rt, "acme", "1001")
    delivery = failed_delivery(rt, acme.id, acme.account_id, "8001")
    reply = uncertain_reply(rt, acme.id, acme.account_id, "k-8001")
    code, out = run("deliveries", "failed")
    assert code == 0 and str(delivery) in out and "422 external_id has 300 characters" in out
    assert run("deliveries", "retry", str(delivery))[0] != 0  # --why is required
    code, out = run("deliveries", "retry", str(delivery), "--why", "zendesk fixed")
    assert code == 0 and "delivered again" in out
    assert run("deliveries", "failed")[1] == ""
    code, out = run("replies", "uncertain", "--json")
    assert code == 0 and f'"id": "{reply}"' in out
    code, out = run("replies", "mark-sent", str(reply), "--why", "seen on x.com")
    assert code == 0 and rt.store.outbox.get(reply).status == ReplyStatus.SENT
    code, out = run("replies", "discard", str(reply), "--why", "again")
    assert code == 1 and "not uncertain any more" in out
    actors = {a.actor for a in rt.store.failures.recent_actions(None)}
    assert len(actors) == 1 and next(iter(actors)).startswith("cli:")


def test_accounts_lists_ids_for_backfill(run: Run, rt: Runtime) -> None:
    assert run("accounts")[1].strip() == "no accounts connected yet"
    acme = install(rt, "acme", "1001")
    install(rt, "globex", "2002")
    code, out = run("accounts")
    assert code == 0 and len(out.splitlines()) == 2
    code, out = run("accounts", "--tenant", "acme")
    [line] = out.splitlines()
    assert line.split()[0] == str(acme.account_id) and "x" in line and "1001" in line
    assert run("accounts", "--tenant", "nobody")[0] != 0
