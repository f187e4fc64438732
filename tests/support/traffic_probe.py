"""A gunicorn server with ``horseshoe serve``'s configuration (``HorseshoeServer``: the same worker
class) and an app that reports this process's ``TRAFFIC``, for tests/web/test_gthread_traffic.py.
Run as ``python -m tests.support.traffic_probe --port P --marker FILE``.

``GET /probe?until=N`` first writes the marker file (the test then knows this request holds the only
pool thread), then waits until N requests are in flight in the process (at most 20 s) and answers how
many it saw at most; ``GET /probe`` answers at once.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from flask import Flask, request

from plugin.config import Settings
from plugin.traffic import TRAFFIC
from plugin.web.server import HorseshoeServer

WAIT_SECONDS = 20.0


def probe_app(marker: Path) -> Flask:
    app = Flask("traffic-probe")

    @app.get("/probe")
    def probe() -> dict[str, int]:
        until = int(request.args.get("until", "0"))
        seen = TRAFFIC.in_flight
        if until:
            marker.write_text("waiting")
            deadline = time.monotonic() + WAIT_SECONDS
            while seen < until and time.monotonic() < deadline:
                time.sleep(0.01)
                seen = max(seen, TRAFFIC.in_flight)
        return {"in_flight": seen}

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


class ProbeServer(HorseshoeServer):
    def __init__(self, marker: Path, **kwargs: object) -> None:
        self.marker = marker
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def load(self) -> Flask:
        return probe_app(self.marker)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.support.traffic_probe")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--marker", type=Path, required=True)
    args = parser.parse_args()
    settings = Settings(data_dir=tempfile.mkdtemp(prefix="horseshoe-probe-"))
    ProbeServer(
        args.marker, settings=settings, host="127.0.0.1", port=args.port, workers=1, threads=1, with_worker=False
    ).run()


if __name__ == "__main__":
    main()
