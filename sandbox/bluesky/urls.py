"""Routing of the fake Bluesky service: XRPC methods under /xrpc/<nsid>, control under /_sandbox."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from sandbox.base import FakeApp

from . import blobs, responses
from .exceptions import (
    AuthenticationRequired,
    ExpiredToken,
    InvalidRequest,
    InvalidToken,
    MethodNotImplemented,
    RateLimitExceeded,
    XrpcError,
)
from .models import CHAT_PROXY, BlueskyState

# nsid -> (handler, HTTP method, auth): "none", "access", "refresh", "optional"; chat methods need the proxy.
XRPC: dict[str, tuple[Callable[..., Any], str, str]] = {
    "com.atproto.identity.resolveHandle": (responses.resolve_handle, "GET", "none"),
    "com.atproto.server.describeServer": (responses.describe_server, "GET", "none"),
    "com.atproto.server.createSession": (responses.create_session, "POST", "none"),
    "com.atproto.server.refreshSession": (responses.refresh_session, "POST", "refresh"),
    "com.atproto.server.getSession": (responses.get_session, "GET", "access"),
    "app.bsky.actor.getProfile": (responses.get_profile, "GET", "optional"),
    "app.bsky.notification.listNotifications": (responses.list_notifications, "GET", "access"),
    "app.bsky.feed.getPostThread": (responses.get_post_thread, "GET", "optional"),
    "app.bsky.feed.getPosts": (responses.get_posts, "GET", "optional"),
    "app.bsky.feed.searchPosts": (responses.search_posts, "GET", "optional"),
    "com.atproto.repo.createRecord": (responses.create_record, "POST", "access"),
    "com.atproto.repo.listRecords": (responses.list_records, "GET", "none"),
    "com.atproto.repo.uploadBlob": (blobs.upload_blob, "POST", "access"),
    "chat.bsky.convo.getConvoForMembers": (responses.get_convo_for_members, "GET", "access"),
    "chat.bsky.convo.sendMessage": (responses.send_message, "POST", "access"),
    "chat.bsky.convo.listConvos": (responses.list_convos, "GET", "access"),
    "chat.bsky.convo.getMessages": (responses.get_messages, "GET", "access"),
}

SANDBOX: dict[str, Callable[..., Response]] = {
    "actors": responses.sandbox_actors,
    "posts": responses.sandbox_posts,
    "posted": responses.sandbox_posted,
    "messages": responses.sandbox_messages,
    "expire": responses.sandbox_expire,
    "settings": responses.sandbox_settings,
}

url_map = Map(
    [
        Rule("/xrpc/<nsid>", endpoint="xrpc", methods=["GET", "POST"]),
        Rule("/_sandbox/actors", endpoint="actors", methods=["POST"]),
        Rule("/_sandbox/posts", endpoint="posts", methods=["POST"]),
        Rule("/_sandbox/actors/<did>/posts", endpoint="posted", methods=["GET"]),
        Rule("/_sandbox/actors/<did>/messages", endpoint="messages", methods=["GET"]),
        Rule("/_sandbox/expire", endpoint="expire", methods=["POST"]),
        Rule("/_sandbox/settings", endpoint="settings", methods=["POST"]),
    ]
)


class BlueskyApp(FakeApp[BlueskyState]):
    """The WSGI app: session checks, chat proxy, rate-limit headers, XRPC error rendering."""

    def dispatch(self, request: Request) -> Response:
        try:
            endpoint, args = url_map.bind_to_environ(request.environ).match()
        except HTTPException as exc:
            return Response(str(exc.description), status=exc.code or 404)
        if endpoint != "xrpc":
            return SANDBOX[str(endpoint)](self.state, request, **args)
        nsid = str(args["nsid"])
        headers: dict[str, str] = {}
        try:
            if nsid not in XRPC:
                raise MethodNotImplemented()
            handler, method, auth = XRPC[nsid]
            if request.method != method:
                raise InvalidRequest(f"Incorrect HTTP method ({request.method}) expected {method}")
            caller = self._authenticate(request, auth)
            if nsid.startswith("chat.bsky.") and request.headers.get("atproto-proxy") != CHAT_PROXY:
                raise MethodNotImplemented()  # the PDS itself does not serve chat; the proxy does
            if nsid.startswith("chat.bsky.") and caller and not self.state.actors[caller].get("chatAccess", True):
                raise InvalidToken("Bad token scope")  # an app password without direct-message access
            allowed, headers = self.state.consume_rate(caller or f"ip:{request.remote_addr}")
            if not allowed:
                raise RateLimitExceeded(headers)
            with self.state.lock:
                self.state.calls.append(nsid)
            response = responses.json_response(handler(self.state, request, caller))
        except XrpcError as exc:
            response = exc.response()
        for key, value in headers.items():
            response.headers.setdefault(key, value)
        return response

    def _authenticate(self, request: Request, auth: str) -> str | None:
        header = request.headers.get("Authorization", "")
        token = header[len("Bearer ") :].strip() if header.startswith("Bearer ") else ""
        if auth == "none" or (auth == "optional" and not token):
            return None
        if not token:
            raise AuthenticationRequired("Authentication Required")
        with self.state.lock:
            if token in self.state.expired_tokens:
                raise ExpiredToken()
            if auth == "refresh":
                if token not in self.state.refresh_tokens:
                    raise InvalidToken()
                return self.state.refresh_tokens[token]
            if token in self.state.refresh_tokens:
                raise InvalidToken("Bad token scope")
            did = self.state.access_tokens.get(token)
            if did is None:
                raise InvalidToken()
            return did
