"""Routing of the fake Mastodon instance: REST API under /api, control surface under /_sandbox."""

from __future__ import annotations

from collections.abc import Callable

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from sandbox.base import FakeApp

from . import media, oauth, responses
from .exceptions import MastodonError, NotFound, TooManyRequests, Unauthorized
from .models import MastodonState

# endpoint -> (handler, auth) where auth is "required", "optional" or "none".
API: dict[str, tuple[Callable[..., Response], str]] = {
    "instance_v1": (responses.instance_v1, "none"),
    "instance_v2": (responses.instance_v2, "none"),
    "verify_credentials": (responses.verify_credentials, "required"),
    "get_account": (responses.get_account, "optional"),
    "list_notifications": (responses.list_notifications, "required"),
    "tag_timeline": (responses.tag_timeline, "optional"),
    "get_notification": (responses.get_notification, "required"),
    "post_status": (responses.post_status, "required"),
    "upload_media": (media.upload_media, "required"),
    "get_status": (responses.get_status, "optional"),
    "status_context": (responses.status_context, "optional"),
    "create_app": (oauth.create_app, "none"),
    "oauth_authorize": (oauth.authorize, "none"),
    "oauth_token": (oauth.token, "none"),
}

SANDBOX: dict[str, Callable[..., Response]] = {
    "sandbox_accounts": responses.sandbox_accounts,
    "sandbox_mentions": responses.sandbox_mentions,
    "sandbox_edit": responses.sandbox_edit,
    "sandbox_posted": responses.sandbox_posted,
    "sandbox_settings": responses.sandbox_settings,
}

url_map = Map(
    [
        Rule("/api/v1/instance", endpoint="instance_v1", methods=["GET"], strict_slashes=False),
        Rule("/api/v2/instance", endpoint="instance_v2", methods=["GET"], strict_slashes=False),
        Rule("/api/v1/accounts/verify_credentials", endpoint="verify_credentials", methods=["GET"]),
        Rule("/api/v1/accounts/<account_id>", endpoint="get_account", methods=["GET"]),
        Rule("/api/v1/notifications", endpoint="list_notifications", methods=["GET"]),
        Rule("/api/v1/timelines/tag/<hashtag>", endpoint="tag_timeline", methods=["GET"]),
        Rule("/api/v1/notifications/<notification_id>", endpoint="get_notification", methods=["GET"]),
        Rule("/api/v1/statuses", endpoint="post_status", methods=["POST"]),
        Rule("/api/v2/media", endpoint="upload_media", methods=["POST"]),
        Rule("/api/v1/statuses/<status_id>", endpoint="get_status", methods=["GET"]),
        Rule("/api/v1/statuses/<status_id>/context", endpoint="status_context", methods=["GET"]),
        Rule("/api/v1/apps", endpoint="create_app", methods=["POST"]),
        Rule("/oauth/authorize", endpoint="oauth_authorize", methods=["GET", "POST"]),
        Rule("/oauth/token", endpoint="oauth_token", methods=["POST"]),
        Rule("/_sandbox/accounts", endpoint="sandbox_accounts", methods=["POST"]),
        Rule("/_sandbox/mentions", endpoint="sandbox_mentions", methods=["POST"]),
        Rule("/_sandbox/edits", endpoint="sandbox_edit", methods=["POST"]),
        Rule("/_sandbox/accounts/<account_id>/statuses", endpoint="sandbox_posted", methods=["GET"]),
        Rule("/_sandbox/settings", endpoint="sandbox_settings", methods=["POST"]),
    ],
    strict_slashes=False,
)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[len("Bearer ") :].strip() or None
    return None


class MastodonApp(FakeApp[MastodonState]):
    """The WSGI application: authenticate, rate-limit, dispatch, render errors the Mastodon way."""

    def dispatch(self, request: Request) -> Response:
        adapter = url_map.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except HTTPException as exc:
            if request.path.startswith("/api/"):
                return (
                    NotFound("Not Found").response()
                    if exc.code == 404
                    else MastodonError(str(exc.description), status=exc.code or 400).response()
                )
            return Response(str(exc.description), status=exc.code or 404)
        endpoint = str(endpoint)
        if endpoint in SANDBOX:
            return SANDBOX[endpoint](self.state, request, **args)
        handler, auth = API[endpoint]
        rate_headers: dict[str, str] = {}
        try:
            token = _bearer(request)
            viewer = self.state.account_for_token(token) if token else None
            if token and viewer is None:
                raise Unauthorized()
            if auth == "required" and viewer is None:
                raise Unauthorized()
            allowed, rate_headers = self.state.consume_rate(viewer or f"ip:{request.remote_addr}")
            if not allowed:
                raise TooManyRequests(rate_headers)
            with self.state.lock:
                self.state.requests_seen.append((request.method, request.path))
            response = handler(self.state, request, viewer, **args)
        except MastodonError as exc:
            response = exc.response()
        for key, value in rate_headers.items():
            response.headers.setdefault(key, value)
        return response
