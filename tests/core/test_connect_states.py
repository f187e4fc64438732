"""The connect flows' OAuth states in the store, on SQLite and PostgreSQL: claimed once, only by the
browser that started, only before they expire (plugin/store/connect.py)."""

from __future__ import annotations

from datetime import timedelta

from plugin.runtime import Runtime


def test_a_state_is_claimed_once_by_its_browser(rt: Runtime) -> None:
    tenant = rt.store.ensure_tenant("acme")
    states = rt.store.connect_states
    states.create("n1", tenant, "admin:ada", "cookie-1", "mastodon", {"verifier": "v"}, timedelta(minutes=5))
    assert states.consume("n1", "another-browser") is None  # refused, and not used up by the refusal
    found = states.consume("n1", "cookie-1")
    assert found is not None and (found.tenant_id, found.actor, found.network) == (tenant, "admin:ada", "mastodon")
    assert found.carry == {"verifier": "v"}
    assert states.consume("n1", "cookie-1") is None  # a replay


def test_an_expired_state_is_refused(rt: Runtime) -> None:
    tenant = rt.store.ensure_tenant("acme")
    rt.store.connect_states.create("n2", tenant, "a", "c", "x", {}, timedelta(seconds=-1))
    assert rt.store.connect_states.consume("n2", "c") is None


def test_the_carry_is_encrypted_at_rest(rt: Runtime) -> None:
    from sqlalchemy import select

    from plugin.store.connect import connect_states

    tenant = rt.store.ensure_tenant("acme")
    rt.store.connect_states.create("n3", tenant, "a", "c", "x", {"app_secret": "s3cr3t-value"}, timedelta(minutes=1))
    with rt.db.read() as conn:
        row = conn.execute(select(connect_states)).one()
    assert "s3cr3t-value" not in row.carry_enc and "n3" not in row.nonce_hash
