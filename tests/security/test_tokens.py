"""Signed tokens name their key and issue time, rotate with a grace period, and die with revocation."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from plugin import trust
from plugin.cli.main import main
from plugin.errors import Unauthorized
from plugin.runtime import build_runtime
from plugin.secrets import LEGACY_KID
from tests.conftest import fast_settings
from tests.security.conftest import Stack


def test_tokens_carry_tenant_instance_issue_time_and_key(stack: Stack) -> None:
    claims = stack.rt.box.verify(stack.acme.metadata)
    assert claims["t"] == "acme" and claims["i"] == "push-acme" and isinstance(claims["iat"], int)
    assert claims["kid"] == LEGACY_KID and claims["g"] == 0


def test_rotation_keeps_old_tokens_for_the_grace_period_only(stack: Stack) -> None:
    rt = stack.rt
    old = stack.acme.metadata
    kid = rt.store.trust.rotate_keys(timedelta(hours=1), LEGACY_KID)
    rt.box.use_keys(rt.store.trust.signing_keys)  # drop the cache, as a restart (or 30 s) would
    fresh = rt.box.sign({"kind": "probe"})
    assert rt.box.verify(fresh)["kid"] == kid
    assert stack.client.post("/zendesk/pull", data={"metadata": old}).status_code == 200  # in its grace period
    rt.store.trust.rotate_keys(timedelta(seconds=0), LEGACY_KID)  # retire every older key now
    rt.box.use_keys(rt.store.trust.signing_keys)
    assert stack.client.post("/zendesk/pull", data={"metadata": old}).status_code == 403
    with pytest.raises(Unauthorized):
        rt.box.verify(fresh)


def test_uninstall_confirmed_revokes_every_token(stack: Stack) -> None:
    generation = trust.revoke(stack.rt, "acme", "test")
    assert generation == 1
    assert stack.client.post("/zendesk/pull", data={"metadata": stack.acme.metadata}).status_code == 403
    assert stack.client.post("/zendesk/pull", data={"metadata": stack.globex.metadata}).status_code == 200


def test_cli_invite_prints_a_single_use_code_and_keys_rotate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = fast_settings(str(tmp_path))
    monkeypatch.setenv("HORSESHOE_SECRET_KEY", settings.secret_key)
    runner = CliRunner()
    result = runner.invoke(main, ["--data-dir", str(tmp_path), "tenants", "invite", "acme"])
    assert result.exit_code == 0, result.output
    code = result.output.strip()
    assert len(code) >= 20
    bad = runner.invoke(main, ["--data-dir", str(tmp_path), "tenants", "invite", "evil.example/#"])
    assert bad.exit_code != 0
    rotated = runner.invoke(main, ["--data-dir", str(tmp_path), "keys", "rotate", "--grace-hours", "2"])
    assert rotated.exit_code == 0 and "signing with key" in rotated.output
    rt = build_runtime(settings)
    assert rt.store.trust.redeem("acme", code) and not rt.store.trust.redeem("acme", code)
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("horseshoe.db*"))
    assert code.encode() not in raw  # stored hashed
    rt.db.dispose()
