"""``horseshoe identity`` as an operator runs it, against the Salesforce fake."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest
from click.testing import CliRunner

from plugin.cli.main import main
from plugin.runtime import Runtime
from tests.salesforce.conftest import SfEnv

from .sfsupport import post, run


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HORSESHOE_SECRET_KEY", "test-secret-key-not-for-production")
    monkeypatch.delenv("HORSESHOE_DATABASE_URL", raising=False)
    monkeypatch.setenv("HORSESHOE_ALLOWED_PRIVATE_HOSTS", "127.0.0.1,localhost")  # the fake org runs here
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str]:
        result = runner.invoke(main, ["--data-dir", str(tmp_path), "identity", *args], catch_exceptions=False)
        return result.exit_code, result.output

    return invoke


def test_suggestion_accept_undo_and_forget_from_the_cli(
    rt: Runtime,
    sfenv: SfEnv,
    tenant: tuple[int, int],
    cli,  # type: ignore[no-untyped-def]
) -> None:
    admin = sfenv.admin()
    first = admin.Contact.create({"LastName": "Haddad", "Phone": "+34600111222"})["id"]
    admin.Contact.create({"LastName": "Other", "Phone": "+34600111222"})
    run(rt, tenant[1], post("u7", "hello"), post("u7", "call me +34600111222", private=True))
    code, out = cli("suggestions", "--tenant", "acme")
    assert code == 0
    [suggestion] = json.loads(out)
    assert suggestion["author_external_id"] == "u7"
    code, out = cli("accept", str(suggestion["id"]), "--by", "agent:lee", "--record", first)
    assert code == 0 and json.loads(out)["status"] == "linked"
    [persona] = sfenv.records("SocialPersona")
    assert persona["ParentId"] == first
    link = next(a for a in rt.store.identity.audit_log(tenant[0]) if a.action == "link")
    code, out = cli("undo", str(link.id), "--by", "admin:kim")
    assert code == 0, out
    [persona] = sfenv.records("SocialPersona")
    assert persona["ParentId"] != first
    code, out = cli("reject", str(suggestion["id"]), "--by", "agent:lee")
    assert code == 1 and "no open suggestion" in out
    code, out = cli("forget", "testnet", "u7", "--tenant", "acme", "--by", "dpo")
    assert code == 0 and json.loads(out)[str(tenant[0])]["links"] == 1
    [row] = rt.store.identity.links(tenant[0])
    assert row.status == "forgotten" and row.profile is None and row.evidence is None
    for entry in rt.store.identity.audit_log(tenant[0]):
        assert entry.evidence == [] and "+34600111222" not in json.dumps(asdict(entry), default=str)
        assert entry.created_at is not None
