"""The console's blueprint (``/`` and ``/console/...``), registered by the console plugin's hook."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, make_response, redirect, render_template, request, url_for

from plugin.errors import BadInput

bp = Blueprint("console", __name__, template_folder="templates")

# Console pages are horseshoe's own: no framing, no script, forms only back to horseshoe.
CONSOLE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


@bp.after_request
def console_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONSOLE_CSP
    response.headers["Cache-Control"] = "no-store"  # pages show tenants' data: never cached
    response.headers["X-Frame-Options"] = "DENY"
    return response


@bp.get("/")
def root() -> Response:
    """``/`` leads to the console (its login page when nobody is logged in)."""
    return redirect(url_for("console.home"))  # type: ignore[return-value]


@bp.errorhandler(BadInput)
def refused(exc: BadInput) -> Any:
    """A person in a browser gets the reason on a page with a way back; a script gets the JSON the
    rest of horseshoe answers (same status either way)."""
    if not request.accept_mimetypes.accept_html or request.accept_mimetypes.best == "application/json":
        return {"error": type(exc).__name__, "reason": str(exc)}, exc.status
    return make_response(render_template("console_error.html", me=None, reason=str(exc), status=exc.status),
                         exc.status)  # fmt: skip
