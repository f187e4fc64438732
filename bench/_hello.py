"""The baseline of ``bench ingest``: a hello-world Flask app under horseshoe's own gunicorn set-up.

``HorseshoeServer`` (plugin/web/server.py) with only ``load`` replaced: the same worker class,
process and thread counts, access log and logger, so the difference to the webhook endpoint is
horseshoe's own work. Run as ``python -m bench._hello --port P --workers W --threads T``.
"""

from __future__ import annotations

import argparse
import tempfile

from flask import Flask

from plugin.config import Settings
from plugin.web.server import HorseshoeServer


def hello_app() -> Flask:
    app = Flask("hello")

    @app.post("/hello")
    @app.get("/hello")
    def hello() -> dict[str, str]:
        return {"hello": "world"}

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


class HelloServer(HorseshoeServer):
    def load(self) -> Flask:
        return hello_app()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench._hello")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--threads", type=int, required=True)
    args = parser.parse_args()
    settings = Settings(data_dir=tempfile.mkdtemp(prefix="horseshoe-hello-"))
    HelloServer(
        settings, host="127.0.0.1", port=args.port, workers=args.workers, threads=args.threads, with_worker=False
    ).run()


if __name__ == "__main__":
    main()
