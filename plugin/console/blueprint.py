"""The console's blueprint (``/`` and ``/console/...``), registered by the console plugin's hook."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, url_for

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
