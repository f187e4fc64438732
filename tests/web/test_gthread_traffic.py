"""``horseshoe serve``'s gunicorn worker counts a request in flight from the moment its loop hands the
connection to the thread pool, not only while a pool thread runs the app (plugin/web/gthread.py): under
a storm most requests wait for a thread or for the loop, and the background threads must see them
(issue 11's ingest). One pool thread here: two requests that arrive while it is taken are queued, and
the one running sees all three in flight. No time is measured; the probe's own wait is only a bound."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from tests.web.test_server import _free_port

ROOT = Path(__file__).resolve().parents[2]


def test_requests_queued_for_the_pool_count_as_in_flight(tmp_path: Path) -> None:
    port, marker = _free_port(), tmp_path / "marker"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    log = (tmp_path / "probe.log").open("w")
    command = [sys.executable, "-m", "tests.support.traffic_probe", "--port", str(port), "--marker", str(marker)]
    process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(1200):  # generous: a loaded 2-core machine (see test_server)
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except (requests.ConnectionError, requests.ReadTimeout):
                assert process.poll() is None, (tmp_path / "probe.log").read_text()
            time.sleep(0.1)
        else:
            raise AssertionError("probe server did not come up")
        answers: dict[str, int] = {}

        def get(name: str, query: str) -> None:
            answers[name] = requests.get(f"{base}/probe{query}", timeout=60).json()["in_flight"]

        holder = threading.Thread(target=get, args=("holder", "?until=3"))
        holder.start()
        for _ in range(1200):  # the holder has the only pool thread once it wrote the marker
            if marker.exists():
                break
            time.sleep(0.05)
        queued = [threading.Thread(target=get, args=(f"queued{n}", "")) for n in range(2)]
        for thread in queued:
            thread.start()
        for thread in [holder, *queued]:
            thread.join(60)
        assert answers["holder"] == 3, answers  # itself and the two waiting for its thread
    finally:
        process.terminate()
        process.wait(30)
        log.close()
