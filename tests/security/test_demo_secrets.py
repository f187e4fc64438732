"""The demo at debug level: no configured secret may appear in its log or in the raw database file.

Secrets are collected from the demo's own configuration (account credentials, CRM connection
configs, the secret key); the search itself decrypts nothing: it reads the SQLite file's bytes (and
its write-ahead log) and the captured log text.
"""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path
from typing import Any

import pytest

from plugin.runtime import build_runtime
from sandbox.demo import run as demo

NAMES: dict[str, str] = {}
SECRET_KEYS = re.compile(r"token|secret|password|session|private_key|app_password|api_key|key$", re.IGNORECASE)


def _secrets(value: Any, key: str = "") -> set[str]:
    """Values under secret-sounding keys (an account's numeric page id or a handle is no secret)."""
    if isinstance(value, dict):
        return {s for k, v in value.items() for s in _secrets(v, str(k))}
    if isinstance(value, list):
        return {s for v in value for s in _secrets(v, key)}
    if isinstance(value, str) and SECRET_KEYS.search(key) and len(value) >= 6:
        NAMES[value] = key
        return {value}
    return set()


def test_demo_logs_and_database_hold_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    worlds: list[demo.World] = []
    original = demo.build_world

    def keep(*args: Any, **kwargs: Any) -> demo.World:
        world = original(*args, **kwargs)
        worlds.append(world)
        return world

    monkeypatch.setattr(demo, "build_world", keep)
    monkeypatch.setattr(demo.tempfile, "mkdtemp", lambda prefix="": str(tmp_path))
    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        summary = demo.run_demo(mentions=16, exit_when_done=True, faults=False, port=0, seed=5, keep_data=True)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    assert summary["lost"] == 0 and summary["duplicates"] == 0
    settings = worlds[0].runtime.settings
    rt = build_runtime(settings)
    names: dict[str, str] = {settings.secret_key: "secret_key"}
    secrets = {settings.secret_key}
    for account in rt.store.accounts():
        found = rt.store.account(account.id)
        assert found is not None
        secrets |= _secrets(dict(found[1].credentials))
    for connection in rt.store.tenants.connections(enabled_only=False):
        secrets |= _secrets(rt.store.tenants.config_of(connection))
    rt.db.dispose()
    names.update(NAMES)
    log_text = captured.getvalue()
    assert len(log_text) > 1000  # debug logging really ran
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("horseshoe.db*"))
    assert raw
    leaks = sorted(
        f"{'log' if s in log_text else 'db'}: {s[:4]}… ({names[s]})"
        for s in secrets
        if s in log_text or s.encode() in raw
    )
    assert len(secrets) >= 10
    assert not leaks, leaks
