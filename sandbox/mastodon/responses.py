"""Handlers of the fake Mastodon REST API and of its ``/_sandbox`` control surface.

Each handler takes the state, the request and the URL arguments and returns a Response or raises a
``MastodonError``. Authentication, rate limiting and error rendering happen once in ``urls.py``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from sandbox.base import json_response as base_json_response

from . import media
from .exceptions import JSON_TYPE, NotFound, Unprocessable
from .models import VISIBILITIES, MastodonState


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return base_json_response(data, status, headers, JSON_TYPE)


def _params(request: Request) -> dict[str, Any]:
    """Form, JSON or query parameters, as Mastodon accepts all three for POST."""
    if request.is_json:
        body = request.get_json(silent=True)
        return body if isinstance(body, dict) else {}
    merged: dict[str, Any] = {k: v for k, v in request.args.items()}
    merged.update({k: v for k, v in request.form.items()})
    return merged


# ---- instance ------------------------------------------------------------------------------------


def instance_v1(state: MastodonState, request: Request, viewer: str | None) -> Response:
    return json_response(
        {
            "uri": state.domain,
            "title": "Sandbox Mastodon",
            "short_description": "A faithful fake for tests",
            "description": "",
            "email": f"admin@{state.domain}",
            "version": state.version,
            "urls": {"streaming_api": f"wss://{state.domain}"},
            "stats": {
                "user_count": len(state.accounts),
                "status_count": len(state.statuses),
                "domain_count": 1,
            },
            "languages": ["en"],
            "registrations": False,
            "approval_required": False,
            "invites_enabled": False,
            "configuration": {
                "statuses": {
                    "max_characters": state.max_characters,
                    "max_media_attachments": 4,
                    "characters_reserved_per_url": 23,
                }
            },
            "contact_account": None,
            "rules": [],
        }
    )


def instance_v2(state: MastodonState, request: Request, viewer: str | None) -> Response:
    return json_response(
        {
            "domain": state.domain,
            "title": "Sandbox Mastodon",
            "version": state.version,
            "source_url": "https://github.com/mastodon/mastodon",
            "description": "A faithful fake for tests",
            "usage": {"users": {"active_month": len(state.accounts)}},
            "thumbnail": {"url": f"https://{state.domain}/thumb.png"},
            "languages": ["en"],
            "configuration": {
                "urls": {"streaming": f"wss://{state.domain}"},
                "accounts": {"max_featured_tags": 10},
                "statuses": {
                    "max_characters": state.max_characters,
                    "max_media_attachments": 4,
                    "characters_reserved_per_url": 23,
                },
                "translation": {"enabled": False},
            },
            "registrations": {"enabled": False, "approval_required": False, "message": None},
            "api_versions": {"mastodon": 2},
            "contact": {"email": f"admin@{state.domain}", "account": None},
            "rules": [],
        }
    )


# ---- accounts ------------------------------------------------------------------------------------


def verify_credentials(state: MastodonState, request: Request, viewer: str | None) -> Response:
    assert viewer is not None
    return json_response(state.accounts[viewer])


def get_account(state: MastodonState, request: Request, viewer: str | None, account_id: str) -> Response:
    with state.lock:
        account = state.accounts.get(account_id)
        if account is None:
            raise NotFound()
        return json_response(dict(account))


# ---- notifications ------------------------------------------------------------------------------


def _link_header(request: Request, items: list[dict[str, Any]]) -> str | None:
    """Next (older) and prev (newer) links, keeping the filters, as Mastodon's Link header does."""
    if not items:
        return None
    base = request.base_url
    keep = [(k, v) for k, values in request.args.lists() for v in values if k not in ("max_id", "min_id", "since_id")]
    older = urlencode([*keep, ("max_id", items[-1]["id"])])
    newer = urlencode([*keep, ("min_id", items[0]["id"])])
    return f'<{base}?{older}>; rel="next", <{base}?{newer}>; rel="prev"'


def list_notifications(state: MastodonState, request: Request, viewer: str | None) -> Response:
    assert viewer is not None
    try:
        limit = int(request.args.get("limit", "40"))
    except ValueError:
        limit = 40
    limit = max(1, min(limit, 80))  # docs: default 40, max 80 (since 4.1.0)
    items = state.list_notifications(
        viewer,
        types=request.args.getlist("types[]") or request.args.getlist("types"),
        exclude_types=request.args.getlist("exclude_types[]") or request.args.getlist("exclude_types"),
        from_account=request.args.get("account_id"),
        max_id=request.args.get("max_id"),
        since_id=request.args.get("since_id"),
        min_id=request.args.get("min_id"),
        limit=limit,
    )
    link = _link_header(request, items)
    return json_response(items, headers={"Link": link} if link else None)


def tag_timeline(state: MastodonState, request: Request, viewer: str | None, hashtag: str) -> Response:
    try:
        limit = int(request.args.get("limit", "20"))
    except ValueError:
        limit = 20
    limit = max(1, min(limit, 40))  # docs: default 20, max 40
    items = state.tag_timeline(hashtag, since_id=request.args.get("since_id"), limit=limit)
    return json_response(items)


def get_notification(state: MastodonState, request: Request, viewer: str | None, notification_id: str) -> Response:
    assert viewer is not None
    found = state.find_notification(viewer, notification_id)
    if found is None:
        raise NotFound()
    return json_response(found)


# ---- statuses ------------------------------------------------------------------------------------


def post_status(state: MastodonState, request: Request, viewer: str | None) -> Response:
    assert viewer is not None
    params = _params(request)
    text = str(params.get("status") or "")
    if not text.strip():
        raise Unprocessable("Validation failed: Text can't be blank")
    if len(text) > state.max_characters:
        raise Unprocessable(f"Validation failed: Text character limit of {state.max_characters} exceeded")
    visibility = params.get("visibility") or "public"
    if visibility not in VISIBILITIES:
        raise Unprocessable("Validation failed: Visibility is not included in the list")
    media_ids = media.requested_ids(request, params)
    media.claim(state, media_ids, viewer)
    in_reply_to_id = params.get("in_reply_to_id") or None
    if in_reply_to_id is not None:
        in_reply_to_id = str(in_reply_to_id)
        if not state.visible_to(in_reply_to_id, viewer):
            raise NotFound()
    status, _created = state.create_status(
        viewer,
        text,
        visibility=visibility,
        in_reply_to_id=in_reply_to_id,
        language=params.get("language") or None,
        idempotency_key=request.headers.get("Idempotency-Key"),
    )
    if _created and media_ids:
        media.attach(state, status["id"], media_ids)
        status = state.render_status(status["id"])
    return json_response(status)


def get_status(state: MastodonState, request: Request, viewer: str | None, status_id: str) -> Response:
    with state.lock:
        if not state.visible_to(status_id, viewer):
            raise NotFound()
        return json_response(state.render_status(status_id))


def status_context(state: MastodonState, request: Request, viewer: str | None, status_id: str) -> Response:
    with state.lock:
        if not state.visible_to(status_id, viewer):
            raise NotFound()
        context = state.context(status_id)
        context["ancestors"] = [s for s in context["ancestors"] if state.visible_to(s["id"], viewer)]
        context["descendants"] = [s for s in context["descendants"] if state.visible_to(s["id"], viewer)]
        return json_response(context)


# ---- /_sandbox control surface ------------------------------------------------------------------


def sandbox_accounts(state: MastodonState, request: Request) -> Response:
    body = request.get_json(force=True, silent=True) or {}
    if not isinstance(body, dict) or not body.get("username"):
        return json_response({"error": "username is required"}, status=400)
    account = state.add_account(
        str(body["username"]),
        display_name=body.get("display_name"),
        domain=body.get("domain"),
        token=body.get("token"),
        note=str(body.get("note") or ""),
    )
    return json_response(account, status=201)


def sandbox_mentions(state: MastodonState, request: Request) -> Response:
    body = request.get_json(force=True, silent=True) or {}
    try:
        notification = state.inject_mention(
            str(body["to"]),
            str(body["from"]),
            body.get("text"),
            visibility=str(body.get("visibility") or "public"),
            in_reply_to_id=body.get("in_reply_to_id"),
            language=body.get("language", "en"),
        )
    except (KeyError, TypeError) as exc:
        return json_response({"error": f"bad injection: {exc}"}, status=400)
    return json_response(notification, status=201)


def sandbox_edit(state: MastodonState, request: Request) -> Response:
    body = request.get_json(force=True, silent=True) or {}
    try:
        notification = state.edit_status(str(body["status_id"]), str(body["text"]))
    except (KeyError, TypeError) as exc:
        return json_response({"error": f"bad edit: {exc}"}, status=400)
    return json_response(notification)


def sandbox_posted(state: MastodonState, request: Request, account_id: str) -> Response:
    return json_response(state.posted_by(account_id))


def sandbox_settings(state: MastodonState, request: Request) -> Response:
    body = request.get_json(force=True, silent=True) or {}
    return json_response(state.update_settings(body, ("max_characters", "rate_limit", "rate_window")))
