"""``horseshoe serve`` runs a production server (gunicorn): the manifest names the real port, every
response carries the security headers, and the access log never holds a query string's values."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from plugin.web.server import redact_query


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_redact_query_keeps_names_and_drops_values() -> None:
    assert redact_query("") == ""
    assert redact_query("hub.mode=subscribe&hub.verify_token=s3cret") == (
        "hub.mode=[redacted]&hub.verify_token=[redacted]"
    )
    assert "s3cret" not in redact_query("metadata=s3cret.sig&x")


def test_serve_is_gunicorn_with_the_real_manifest_url_headers_and_a_clean_access_log(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "HORSESHOE_DATA_DIR": str(tmp_path), "HORSESHOE_SECRET_KEY": "k" * 40}
    env.pop("HORSESHOE_PUBLIC_URL", None)
    log = (tmp_path / "serve.log").open("w")
    command = [sys.executable, "-m", "plugin.cli", "serve", "--port", str(port), "--workers", "1", "--no-worker"]
    process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        # Startup imports the whole host; on a loaded 2-core machine that can take a while, so the
        # wait is generous and ends early only when the process has died (whose log is then shown).
        # The master listens before its worker has loaded the app and triage's language models
        # (plugin.runtime.warm_up): until then a request is accepted but not answered.
        for _ in range(1200):
            try:
                health = requests.get(f"{base}/healthz", timeout=2)
                break
            except (requests.ConnectionError, requests.ReadTimeout):
                assert process.poll() is None, (tmp_path / "serve.log").read_text()
                time.sleep(0.1)
        else:
            raise AssertionError("server did not come up")
        assert health.status_code == 200
        assert health.headers["X-Content-Type-Options"] == "nosniff"
        assert health.headers["Referrer-Policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in health.headers["Content-Security-Policy"]
        manifest = requests.get(f"{base}/zendesk/manifest.json", timeout=5).json()
        assert manifest["urls"]["pull_url"].startswith(f"{base}/")
        requests.get(f"{base}/webhooks/x/nokey", params={"hub.verify_token": "TOPSECRET-1"}, timeout=5)
        requests.get(f"{base}/zendesk/clickthrough", params={"metadata": "TOPSECRET-2"}, timeout=5)
        requests.get(f"{base}/attachments/TOPSECRET-3.link", timeout=5)  # a link's path is its credential
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
    output = (tmp_path / "serve.log").read_text()
    assert "gunicorn" in output.lower() or "Booting worker" in output, output
    assert "/webhooks/x/nokey?hub.verify_token=[redacted]" in output, output
    assert "TOPSECRET" not in output
    assert '"GET /attachments/[redacted] HTTP/1.1" 401' in output, output
    assert f"manifest: http://127.0.0.1:{port}/zendesk/manifest.json" in output
