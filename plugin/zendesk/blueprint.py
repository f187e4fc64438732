"""The one blueprint every Zendesk-facing route hangs on (mounted at ``/zendesk``)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("zendesk", __name__, template_folder="templates", url_prefix="/zendesk")
