"""A fork server for ``python -m bench mutants``: pay the third-party imports once, not per mutant.

Starting pytest costs seconds before the first test (hypothesis, SQLAlchemy, Flask, the CRM and
network client libraries); a module has a hundred mutants. This process imports those libraries
once (never ``plugin``, ``connectors``, ``sandbox`` or ``tests``: the module under test must be
loaded fresh, mutated, in each child), then for each request on stdin forks a child that runs
``pytest.main`` with the mutant hook and exits with pytest's code. The answer on stdout is one JSON
line ``{"rc", "seconds", "last"}``; ``rc`` is null when the child outlived its timeout (it and its
process group are killed).

Request (one JSON line): ``{"spec": {...HORSESHOE_MUTANT...}, "args": [...pytest args...],
"timeout": seconds}``.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import signal
import sys
import tempfile
import time
from importlib.metadata import entry_points

PRELOAD = (
    "pytest", "_pytest.python", "_pytest.fixtures", "_pytest.tmpdir", "_pytest.monkeypatch", "hypothesis",
    "hypothesis.strategies", "_hypothesis_pytestplugin", "sqlalchemy", "sqlalchemy.orm", "alembic",
    "alembic.command", "flask", "werkzeug", "requests", "httpx", "pydantic", "jinja2", "cryptography",
    "cryptography.fernet", "zenpy", "simple_salesforce", "tweepy", "mastodon", "atproto", "jsonschema", "click",
    "pluggy", "argon2", "phonenumbers", "yaml", "celery", "kombu", "redis", "psycopg", "anyio", "coverage",
)  # fmt: skip


def _preload() -> None:
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            continue  # an optional library missing here costs only its import time in each child
    # pytest's own plugins from other distributions (anyio's probes its event loops: seconds).
    for entry in entry_points(group="pytest11"):
        if not entry.value.startswith(("plugin", "connectors", "sandbox", "tests")):
            entry.load()
    try:
        from anyio._core._eventloop import get_available_backends

        get_available_backends()
    except ImportError:
        pass
    # What was loaded here is never garbage: keep it out of every child's collections (pytest runs
    # gc.collect at the end of a session, seconds over this heap) and out of copy-on-write faults.
    gc.collect()
    gc.freeze()
    assert not any(m == "plugin" or m.startswith(("plugin.", "connectors", "sandbox", "tests")) for m in sys.modules)


def _child(request: dict, output: str) -> None:
    os.setsid()
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.environ["HORSESHOE_MUTANT"] = json.dumps(request["spec"])
    code = 4
    try:
        import pytest

        code = int(pytest.main(request["args"]))
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _serve_one(request: dict) -> dict:
    with tempfile.NamedTemporaryFile(prefix="horseshoe-mutant-", suffix=".log", delete=False) as handle:
        output = handle.name
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        _child(request, output)
    deadline = started + float(request["timeout"])
    rc: int | None = None
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            rc = os.waitstatus_to_exitcode(status)
            break
        if time.monotonic() > deadline:
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            break
        time.sleep(0.05)
    try:
        os.killpg(pid, signal.SIGKILL)  # anything the tests left running
    except ProcessLookupError:
        pass
    with open(output, encoding="utf-8", errors="replace") as handle:
        lines = handle.read().strip().splitlines()
    os.unlink(output)
    return {"rc": rc, "seconds": round(time.monotonic() - started, 2), "last": lines[-1] if lines else ""}


def main() -> None:
    _preload()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(_serve_one(json.loads(line))), flush=True)


if __name__ == "__main__":
    main()
