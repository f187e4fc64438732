"""How a blueprint reaches the running horseshoe: Flask's ``init_app`` pattern, no module globals.

``create_app`` calls ``init_app(app, runtime)``; views call ``runtime()`` inside a request.
"""

from __future__ import annotations

from flask import Flask, current_app

from plugin.runtime import Runtime

EXTENSION = "horseshoe"


def init_app(app: Flask, rt: Runtime) -> None:
    app.extensions[EXTENSION] = rt
    app.config["MAX_CONTENT_LENGTH"] = rt.settings.max_body_bytes


def runtime() -> Runtime:
    """The runtime of the app handling the current request."""
    value: Runtime = current_app.extensions[EXTENSION]
    return value
