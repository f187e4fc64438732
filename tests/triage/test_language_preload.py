"""The processes that triage load lingua's models at start-up, not on their first short post.

Lazily, the first short post of a process loads the high-accuracy models while holding the GIL (about
2-3 s of CPU): every webhook request and worker lane of that process stalls. At start-up the detectors
of every tenant's languages are built, with their models loaded, before the process takes traffic;
the runtimes tests build do not pay for it.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from plugin.runtime import build_runtime
from plugin.triage import language
from plugin.triage.rules import RulesFile
from tests.conftest import fast_settings

# Small sets keep the one real load of this test process cheap; a tenant's own set must load too.
RULES = """\
version: 1
defaults:
  languages: [en, de, fr]
tenants:
  kyiv:
    languages: [en, uk, ru]
  solo:
    languages: [en]
"""
DEFAULT_SET = ("en", "de", "fr")
TENANT_SET = ("en", "uk", "ru")
EVERY_TENANTS = ("de", "en", "fr", "ru", "uk")  # what start-up loads: lingua shares models between detectors
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def rules_path(tmp_path: Path) -> Iterator[str]:
    path = tmp_path / "triage.yaml"
    path.write_text(RULES, encoding="utf-8")
    language.forget()  # whatever an earlier test built: each test must show its entry point builds them
    yield str(path)
    language.forget()


def test_every_tenants_languages_are_preloaded_and_serve_their_detectors(rules_path: str) -> None:
    assert RulesFile(rules_path).languages() == EVERY_TENANTS
    assert not language.loaded(EVERY_TENANTS)
    language.preload(RulesFile(rules_path).languages())
    assert language.loaded(EVERY_TENANTS)
    # Each tenant's own detector (built on its first post over models already loaded) answers.
    assert language.detect("Vielen Dank, das hat sehr geholfen", DEFAULT_SET, 3) == "de"
    assert language.detect("Дякую вам за допомогу сьогодні", TENANT_SET, 3) == "uk"


def test_one_language_is_nothing_to_preload(rules_path: str) -> None:
    language.preload(("en",))  # "solo" alone: never detected (``detect`` uses the network's tag)
    assert not language.loaded(("en",))


def test_building_a_runtime_does_not_load_them(rules_path: str, tmp_path: Path) -> None:
    rt = build_runtime(fast_settings(str(tmp_path), triage_rules=rules_path))
    try:
        assert not language.loaded(EVERY_TENANTS)
    finally:
        rt.db.dispose()


def test_a_serve_process_loads_them_before_it_gets_its_app(
    rules_path: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from plugin.web.server import HorseshoeServer

    settings = fast_settings(str(tmp_path), triage_rules=rules_path)
    build_runtime(settings).db.dispose()  # what `serve` does in gunicorn's master
    server = HorseshoeServer(settings, host="127.0.0.1", port=0, workers=1, threads=1, with_worker=False)
    with caplog.at_level(logging.INFO, logger="plugin.runtime"):
        app = server.load()  # what each gunicorn worker runs before it accepts a connection
    assert app is not None
    assert language.loaded(EVERY_TENANTS)
    # Through ``warm_up``, like the other entry points: the operator sees how long the load took.
    assert any("language models for de, en, fr, ru, uk" in r.getMessage() for r in caplog.records)


def test_a_celery_pool_child_loads_them_with_its_runtime(rules_path: str, tmp_path: Path) -> None:
    from plugin.worker import scaleout

    settings = fast_settings(str(tmp_path), triage_rules=rules_path)
    build_runtime(settings).db.dispose()
    rt = scaleout._default_runtime(settings)
    try:
        assert language.loaded(EVERY_TENANTS)
    finally:
        rt.db.dispose()


def test_a_celery_pool_child_builds_its_runtime_as_it_starts(rules_path: str, tmp_path: Path) -> None:
    from celery import current_app
    from celery.signals import worker_process_init

    from plugin.worker import scaleout

    # No broker is reached: the app only needs a URL to exist, and the signal is sent here by hand.
    settings = fast_settings(str(tmp_path), triage_rules=rules_path, broker_url="redis://127.0.0.1:9/0")
    build_runtime(settings).db.dispose()  # what `horseshoe worker` does before the pool forks
    app = scaleout.make_celery(settings)
    previous = current_app._get_current_object()
    app.set_current()  # what Celery's prefork child does before it sends worker_process_init
    try:
        worker_process_init.send(sender="celery@test")  # a pool child starting, before its first task
        assert language.loaded(EVERY_TENANTS)
        assert app.conf.worker_proc_alive_timeout >= 30  # Celery would kill a child still loading at 4 s
    finally:
        previous.set_current()
        assert isinstance(app, scaleout.HorseshoeCelery)
        app.runtime().db.dispose()
        scaleout.release(settings)


def test_horseshoe_worker_loads_them_before_its_first_pass(rules_path: str, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HORSESHOE_TRIAGE_RULES": rules_path}
    command = [sys.executable, "-m", "plugin.cli", "-v", "--data-dir", str(tmp_path), "worker"]
    proc = subprocess.Popen(command, env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if "language models for" in line:
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=120)  # a guard against a hang, not a measurement
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    loaded = [line for line in lines if "language models for" in line]
    assert loaded, "".join(lines[-20:])
    assert "de, en, fr, ru, uk" in loaded[0]
