"""``horseshoe serve`` keeps its worker in a process of its own (plugin/worker/companion.py): the web
processes ring it across the process boundary, gunicorn's master starts another when it dies, and
stopping the server stops it too."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import requests

from plugin.config import Settings
from plugin.pipeline import doorbell
from plugin.runtime import build_runtime
from plugin.store.db import identity
from plugin.worker import companion
from sandbox.meta import DEFAULT_APP_SECRET, DEFAULT_PAGE_ID, DEFAULT_TOKEN
from tests.support.wait import wait_for

SECRET_KEY = "serve-worker-process-test-key-not-for-production"
# The worker's idle look comes only after an hour: a mention routed sooner was rung for, across processes.
IDLE = "3600"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _webhook_path(data_dir: Path) -> str:
    rt = build_runtime(Settings(data_dir=str(data_dir), secret_key=SECRET_KEY))
    try:
        tenant_id = rt.store.ensure_tenant("brand")
        credentials = {"page_access_token": DEFAULT_TOKEN, "app_secret": DEFAULT_APP_SECRET,
                       "verify_token": "verify-me", "page_id": DEFAULT_PAGE_ID}  # fmt: skip
        account_id = rt.store.upsert_account(tenant_id, "messenger", DEFAULT_PAGE_ID, credentials, handle="brand")
        found = rt.store.account(account_id)
        assert found is not None
        return f"/webhooks/messenger/{found[0].public_key}"
    finally:
        rt.db.dispose()


def _send(url: str, mid: str) -> None:
    ms = int(time.time() * 1000)
    body = json.dumps({"object": "page", "entry": [{"id": DEFAULT_PAGE_ID, "time": ms, "messaging": [{
        "sender": {"id": f"customer-{mid}"}, "recipient": {"id": DEFAULT_PAGE_ID}, "timestamp": ms,
        "message": {"mid": mid, "text": "my parcel never arrived, can you help?"}}]}]}).encode()  # fmt: skip
    signature = "sha256=" + hmac.new(DEFAULT_APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signature}
    assert requests.post(url, data=body, headers=headers, timeout=30).status_code == 200


def _status(data_dir: Path, mid: str) -> str | None:
    with sqlite3.connect(data_dir / "horseshoe.db") as db:
        row = db.execute("SELECT status FROM mentions WHERE external_id = ?", (mid,)).fetchone()
    return row[0] if row else None


def _children(pid: int) -> dict[int, str]:
    """pid -> command line of ``pid``'s live children."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # gone meanwhile
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found[int(entry.name)] = cmdline
    return found


def _worker_pids(master: int) -> set[int]:
    return {pid for pid, cmd in _children(master).items() if "plugin.worker.companion" in cmd}


def _listening(data_dir: Path) -> bool:
    """The worker's doorbell is bound (``Worker.run_forever``, after its warm-up): from now on only a
    ring makes it route before its idle look."""
    address = doorbell.address_for(identity(f"sqlite:///{data_dir / 'horseshoe.db'}"))
    assert address is not None
    return f"@{address[1:]}" in Path("/proc/net/unix").read_text()


def _nice(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"


def _serve(tmp_path: Path, log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``horseshoe serve`` with two web processes and its worker, answering on a free port."""
    port = _free_port()
    env = {**os.environ, "HORSESHOE_DATA_DIR": str(tmp_path), "HORSESHOE_SECRET_KEY": SECRET_KEY,
           "HORSESHOE_WORKER_IDLE_SECONDS": IDLE}  # fmt: skip
    env.pop("HORSESHOE_DATABASE_URL", None)
    env.pop("HORSESHOE_BROKER_URL", None)
    command = [sys.executable, "-m", "plugin.cli", "serve", "--port", str(port), "--workers", "2"]
    with log_path.open("w") as log:
        server = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert server.poll() is None, log_path.read_text()
        try:
            return requests.get(f"{base}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    if not wait_for(up, 120):
        server.kill()
        raise AssertionError(f"server did not come up: {log_path.read_text()}")
    return server, base


def test_serve_runs_its_worker_in_a_process_of_its_own_rung_restarted_and_stopped(tmp_path: Path) -> None:
    path = _webhook_path(tmp_path)
    log_path = tmp_path / "serve.log"
    server, base = _serve(tmp_path, log_path)
    first: set[int] = set()
    second: set[int] = set()
    try:
        first = wait_for(lambda: _worker_pids(server.pid), 60)
        assert len(first) == 1, f"one worker process beside the web processes: {_children(server.pid)}"
        assert wait_for(lambda: _listening(tmp_path), 120), log_path.read_text()
        web = set(_children(server.pid)) - first  # gunicorn's web processes (their title may change)
        assert len(web) == 2, _children(server.pid)
        # The webhooks come first when the cores are busy (set once the worker is up: it listens).
        assert all(_nice(pid) == _nice(server.pid) + companion.NICENESS for pid in first)
        assert all(_nice(pid) == _nice(server.pid) for pid in web)

        _send(base + path, "m-1")
        assert wait_for(lambda: _status(tmp_path, "m-1") == "routed", 60), _status(tmp_path, "m-1")

        # Killed at any instant: the master starts another, which is rung and routes like the first.
        (killed,) = first
        os.kill(killed, signal.SIGKILL)
        _send(base + path, "m-2")  # while no worker runs: its successor's first pass routes it
        second = wait_for(lambda: _worker_pids(server.pid) - first, 60)
        assert len(second) == 1, log_path.read_text()
        assert wait_for(lambda: _status(tmp_path, "m-2") == "routed", 120), _status(tmp_path, "m-2")
        assert wait_for(lambda: _listening(tmp_path), 60), "the new worker took over the doorbell"
        _send(base + path, "m-3")
        assert wait_for(lambda: _status(tmp_path, "m-3") == "routed", 60), _status(tmp_path, "m-3")
    finally:
        server.terminate()
        server.wait(timeout=60)
    assert all(_gone(pid) for pid in first | second), "stopping serve stops its worker process"
    output = log_path.read_text()
    assert f"worker process {killed} exited" in output, output
    assert "Traceback" not in output, output


def test_a_worker_whose_server_was_killed_outright_stops(tmp_path: Path) -> None:
    """SIGKILL (the OOM killer) gives the master no chance to stop its worker: the worker notices."""
    log_path = tmp_path / "serve.log"
    server, _base = _serve(tmp_path, log_path)
    orphans: set[int] = set()
    try:
        workers = wait_for(lambda: _worker_pids(server.pid), 60)
        assert workers, _children(server.pid)
        orphans = set(_children(server.pid))
        server.kill()
        server.wait(timeout=30)
        assert wait_for(lambda: all(_gone(pid) for pid in workers), 60), "the worker outlived its server"
    finally:
        for pid in orphans:
            if not _gone(pid):
                os.kill(pid, signal.SIGKILL)
    assert "is gone; stopping" in log_path.read_text()
