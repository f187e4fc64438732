"""``create_app()`` factory: the core blueprints (health, webhooks) and every plugin's routes.

The runtime is attached with ``plugin.web.extension.init_app`` (Flask's extension pattern); Zendesk,
identity and any third-party plugin contribute blueprints through ``horseshoe_register_routes``.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from plugin.errors import BadInput
from plugin.runtime import Runtime, build_runtime
from plugin.web import attachments, extension, health, webhooks

log = logging.getLogger(__name__)


# Every response: no MIME sniffing, no referrer leaking tokens in URLs to other sites. Views that
# are framed by Zendesk or render a page set their own Content-Security-Policy; everything else is
# data that no page may embed or execute.
DEFAULT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def security_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if "Content-Security-Policy" not in response.headers:
        response.headers["Content-Security-Policy"] = DEFAULT_CSP
    return response


class RowId(IntegerConverter):
    """``<row_id:name>``: a database row id. A number past the 64-bit range is no row (404), instead of
    reaching the database and overflowing its integer type (a 500)."""

    def __init__(self, url_map: Any) -> None:
        super().__init__(url_map, min=1, max=2**63 - 1)


def create_app(rt: Runtime | None = None, **config: Any) -> Flask:
    app = Flask(__name__)
    app.url_map.converters["row_id"] = RowId  # before any blueprint adds its rules
    rt = rt or build_runtime()
    extension.init_app(app, rt)
    app.config.update(config)

    app.register_blueprint(health.bp)
    app.register_blueprint(webhooks.bp, url_prefix="/webhooks")
    app.register_blueprint(attachments.bp)
    for blueprint in rt.hooks.routes():
        app.register_blueprint(blueprint)

    app.after_request(security_headers)

    @app.errorhandler(BadInput)
    def bad_input(exc: BadInput) -> Any:
        return jsonify(error=type(exc).__name__, reason=str(exc)), exc.status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        # Werkzeug's own 4xx (413 body too large, 405, 404) as JSON with a reason, like ours.
        return jsonify(error=exc.name, reason=exc.description), exc.code

    return app
