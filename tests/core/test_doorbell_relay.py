"""The doorbell across processes (plugin/pipeline/doorbell.py): a ring sent by one process (a web
process that stored mentions) wakes the worker of the same database listening in another."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from plugin.pipeline import doorbell
from plugin.store.db import identity

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="abstract socket names are Linux's")


def _address(url: str) -> str | None:
    """Where the workers of the database at ``url`` listen, as a runtime on it computes it."""
    return doorbell.address_for(identity(url))


def _ring_from_another_process(database_url: str) -> None:
    """What a web process does after committing new mentions: ring its database's worker."""
    code = (
        "import sys; from plugin.pipeline import doorbell; from plugin.store.db import identity; "
        "doorbell.ring(doorbell.address_for(identity(sys.argv[1])))"
    )
    subprocess.run([sys.executable, "-c", code, database_url], check=True, timeout=60)


def test_a_ring_from_another_process_wakes_the_listening_worker(tmp_path: Path) -> None:
    bell = doorbell.Doorbell()
    listener = bell.listener()
    url = f"sqlite:///{tmp_path}/horseshoe.db"
    address = _address(url)
    assert address is not None
    with doorbell.Relay(address, bell) as relay:
        assert relay.bound
        assert not listener.is_set()
        _ring_from_another_process(url)
        assert listener.wait(30), "the other process's ring did not arrive"


def test_one_database_one_name_and_another_database_another(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    relative = _address("sqlite:///data/horseshoe.db")
    absolute = _address(f"sqlite:///{tmp_path}/data/horseshoe.db")
    assert relative == absolute  # two processes started in the same directory meet
    assert _address(f"sqlite:///{tmp_path}/other.db") != absolute
    assert _address("postgresql://h/a") != _address("postgresql://h/b")
    assert _address("postgres://h/a") == _address("postgresql+psycopg://h/a")  # the URLs people paste
    # In the abstract namespace: nothing on disk to clean up, whatever the path's length.
    assert absolute is not None and absolute.startswith("\0")
    assert not any(tmp_path.rglob("*"))


def test_no_password_in_what_names_the_database() -> None:
    """Socket names are listed for every local user (/proc/net/unix): the name does not depend on a
    password, so a password cannot be searched for from it."""
    assert identity("postgresql://u:s3cret@h:5432/a") == "postgresql+psycopg://u@h:5432/a"
    assert _address("postgresql://u:s3cret@h/a") == _address("postgresql://u@h/a")


def test_no_name_where_there_is_no_abstract_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    doorbell.address_for.cache_clear()
    monkeypatch.setattr(sys, "platform", "darwin")
    try:
        assert _address("sqlite:////tmp/a.db") is None
        with doorbell.Relay(None, doorbell.Doorbell()) as relay:
            assert not relay.bound
    finally:
        doorbell.address_for.cache_clear()


def test_ringing_with_nobody_listening_is_harmless_and_still_rings_this_process(tmp_path: Path) -> None:
    listener = doorbell.BELL.listener()
    address = _address(f"sqlite:///{tmp_path}/nobody.db")
    assert address is not None
    for _ in range(3):
        doorbell.ring(address)
    assert listener.is_set()


def test_every_worker_of_the_database_hears_each_ring_up_to_the_slots(tmp_path: Path) -> None:
    bells = [doorbell.Doorbell() for _ in range(doorbell.SLOTS + 1)]
    heard = [bell.listener() for bell in bells]
    url = f"sqlite:///{tmp_path}/shared.db"
    address = _address(url)
    assert address is not None
    relays = [doorbell.Relay(address, bell) for bell in bells]
    try:
        assert [r.bound for r in relays] == [True] * doorbell.SLOTS + [False]  # one too many: idle looks
        assert sorted(r.slot for r in relays[:-1]) == list(range(doorbell.SLOTS))
        _ring_from_another_process(url)
        assert all(h.wait(30) for h in heard[:-1]), "every listening worker hears the ring"
        assert not heard[-1].is_set()
    finally:
        for relay in relays:
            relay.close()
    # Closed: a slot is free for the next worker (a restarted worker process).
    with doorbell.Relay(address, bells[-1]) as again:
        assert again.bound
        _ring_from_another_process(url)
        assert heard[-1].wait(30)


def test_many_rings_at_once_neither_block_the_sender_nor_fail() -> None:
    """A worker that does not read (busy, or stopped by a debugger): its socket's queue fills up, and
    the senders, request threads, go on without waiting."""
    bell = doorbell.Doorbell()
    address = "\0horseshoe-bell-test-full-" + str(threading.get_ident())
    relay = doorbell.Relay(address, bell)
    relay._stop.set()  # the listener stops reading after its current wait: the queue fills up
    try:
        done = threading.Event()

        def flood() -> None:
            for _ in range(5_000):
                doorbell.ring(address)
            done.set()

        threading.Thread(target=flood, daemon=True).start()
        assert done.wait(60), "a full queue blocked the sender"
    finally:
        relay.close()
