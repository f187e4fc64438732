"""The reply-stream rows (migration 0017) on SQLite and PostgreSQL: exactly one listener per CRM
connection, positions written only by the holder, a refused stream waits for its retry time."""

from __future__ import annotations

from plugin.runtime import Runtime


def test_one_listener_per_connection_and_positions_only_from_the_holder(runtime_any: Runtime) -> None:
    store = runtime_any.store
    tenant = store.ensure_tenant("acme")
    store.set_sink_connection(tenant, "salesforce", {"auth": "session"})
    repo = store.reply_streams
    stream = repo.ensure(tenant, "salesforce")
    assert repo.ensure(tenant, "salesforce") == stream  # one row per connection
    assert repo.claim("w1", [stream], 60) == [stream]
    assert repo.claim("w2", [stream], 60) == []  # held: nobody else listens
    assert repo.healthy(stream, "w1", "streaming /data/SocialPostChangeEvent")
    assert repo.advanced(stream, "w1", "41", 2)
    assert not repo.advanced(stream, "w2", "99", 1)  # not the holder: nothing written
    row = repo.of(tenant, "salesforce")
    assert row is not None and row.live and (row.position, row.events, row.mode) == ("41", 2, "streaming")

    repo.release(stream, "w1")  # the worker stops: the next one resumes from "41" at once
    assert repo.claim("w2", [stream], 60) == [stream]
    resumed = repo.get(stream)
    assert resumed is not None and resumed.position == "41" and not resumed.live  # polling until healthy


def test_a_refused_stream_polls_until_its_retry_time(runtime_any: Runtime) -> None:
    store = runtime_any.store
    tenant = store.ensure_tenant("acme")
    repo = store.reply_streams
    stream = repo.ensure(tenant, "salesforce")
    assert repo.claim("w1", [stream], 60) == [stream]
    repo.fell_back(stream, "w1", "stream denied: channel does not exist", 900)
    row = repo.get(stream)
    assert row is not None and (row.mode, row.failures, row.lease_owner) == ("polling", 1, None)
    assert repo.claim("w2", [stream], 60) == []  # not due before its retry time
    repo.fell_back(stream, "w1", "late writer", 0)  # the lease is gone: a stale listener changes nothing
    after = repo.get(stream)
    assert after is not None and after.detail == "stream denied: channel does not exist"
