"""``create_app()`` factory: one blueprint per concern, the runtime attached as an extension."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, jsonify
from werkzeug.exceptions import HTTPException

from ..errors import BadInput
from ..runtime import Runtime, build_runtime

log = logging.getLogger(__name__)


def runtime() -> Runtime:
    """The runtime of the app handling the current request."""
    value: Runtime = current_app.extensions["horseshoe"]
    return value


def create_app(rt: Runtime | None = None, **config: Any) -> Flask:
    app = Flask(__name__)
    rt = rt or build_runtime()
    app.extensions["horseshoe"] = rt
    app.config["MAX_CONTENT_LENGTH"] = rt.settings.max_body_bytes
    app.config.update(config)

    from .health import bp as health_bp
    from .identity import bp as identity_bp
    from .webhooks import bp as webhooks_bp
    from .zendesk import bp as zendesk_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(zendesk_bp, url_prefix="/zendesk")
    app.register_blueprint(webhooks_bp, url_prefix="/webhooks")
    app.register_blueprint(identity_bp, url_prefix="/identity")

    @app.errorhandler(BadInput)
    def bad_input(exc: BadInput) -> Any:
        return jsonify(error=type(exc).__name__, reason=str(exc)), exc.status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        # Werkzeug's own 4xx (413 body too large, 405, 404) as JSON with a reason, like ours.
        return jsonify(error=exc.name, reason=exc.description), exc.code

    return app
