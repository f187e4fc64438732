"""Handlers of the fake XRPC methods and of the ``/_sandbox`` control surface.

Each XRPC handler takes (state, request, caller DID or None) and returns JSON-able output or raises an
``XrpcError``. Session tokens, the chat proxy header and rate limits are checked in ``urls.py``.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from sandbox.base import json_response as base_json_response

from . import blobs
from .exceptions import JSON_TYPE, AuthenticationRequired, InvalidRequest, NotFound
from .models import MAX_POST_GRAPHEMES, BlueskyState, grapheme_count


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return base_json_response(data, status, headers, JSON_TYPE)


def _body(request: Request) -> dict[str, Any]:
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise InvalidRequest("Request body must be a JSON object")
    return body


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise InvalidRequest(f'Error: Params must have the property "{name}" as an integer') from exc
    if not low <= value <= high:
        raise InvalidRequest(f"Error: {name} must be between {low} and {high}")
    return value


def _actor(state: BlueskyState, value: str | None) -> str:
    if not value:
        raise InvalidRequest('Error: Params must have the property "actor"')
    if value in state.actors:
        return value
    for did, actor in state.actors.items():
        if actor["handle"] == value:
            return did
    raise InvalidRequest("Profile not found")


# ---- com.atproto.identity ----------------------------------------------------------------------------


def resolve_handle(state: BlueskyState, request: Request, caller: str | None) -> Any:
    """``com.atproto.identity.resolveHandle``: the DID a handle points at (lexicon: ``{"did"}``)."""
    handle = (request.args.get("handle") or "").lower()
    if not handle:
        raise InvalidRequest('Error: Params must have the property "handle"')
    for did, actor in state.actors.items():
        if actor["handle"].lower() == handle:
            return {"did": did}
    raise InvalidRequest("Unable to resolve handle")


# ---- com.atproto.server ----------------------------------------------------------------------------


def describe_server(state: BlueskyState, request: Request, caller: str | None) -> Any:
    return {
        "did": f"did:web:{state.host}",
        "availableUserDomains": [f".{state.host}"],
        "inviteCodeRequired": True,
        "links": {},
    }


def create_session(state: BlueskyState, request: Request, caller: str | None) -> Any:
    body = _body(request)
    session = state.open_session(str(body.get("identifier") or ""), str(body.get("password") or ""))
    if session is None:
        raise AuthenticationRequired("Invalid identifier or password")
    return session


def refresh_session(state: BlueskyState, request: Request, caller: str | None) -> Any:
    token = request.headers.get("Authorization", "")[len("Bearer ") :]
    return state.refresh(token)


def get_session(state: BlueskyState, request: Request, caller: str | None) -> Any:
    assert caller is not None
    return {"did": caller, "handle": state.actors[caller]["handle"], "active": True}


# ---- app.bsky ---------------------------------------------------------------------------------------


def get_profile(state: BlueskyState, request: Request, caller: str | None) -> Any:
    return state.profile_view(_actor(state, request.args.get("actor")), detailed=True)


def list_notifications(state: BlueskyState, request: Request, caller: str | None) -> Any:
    assert caller is not None
    if request.args.get("seenAt"):
        raise InvalidRequest("seenAt is not supported")  # lexicon: deprecated, "will cause an error"
    limit = _int(request, "limit", 50, 1, 100)
    items, cursor = state.list_notifications(
        caller, limit=limit, cursor=request.args.get("cursor"), reasons=request.args.getlist("reasons")
    )
    out: dict[str, Any] = {"notifications": items, "priority": False}
    if cursor:
        out["cursor"] = cursor
    return out


def search_posts(state: BlueskyState, request: Request, caller: str | None) -> Any:
    """``app.bsky.feed.searchPosts``: ``q`` (required; words AND-ed, a ``#tag`` matches the tag, a
    "quoted phrase" the words in order, case-insensitively), ``since`` (ISO datetime, inclusive, on
    indexedAt), ``sort=latest``, ``limit`` 1-100, ``cursor``. Output ``{posts: [postView], cursor?}``."""
    q = (request.args.get("q") or "").strip()
    if not q:
        raise InvalidRequest('Error: Params must have the property "q"')
    limit = _int(request, "limit", 25, 1, 100)
    offset = int(request.args.get("cursor") or 0) if (request.args.get("cursor") or "0").isdigit() else 0
    since = request.args.get("since") or ""
    uris = state.search(q, since)
    page = uris[offset : offset + limit]
    out: dict[str, Any] = {"posts": [state.post_view(u) for u in page], "hitsTotal": len(uris)}
    if offset + limit < len(uris):
        out["cursor"] = str(offset + limit)
    return out


def get_post_thread(state: BlueskyState, request: Request, caller: str | None) -> Any:
    uri = request.args.get("uri") or ""
    if uri not in state.records:
        raise NotFound(f"Post not found: {uri}")
    return {"thread": state.thread_view(uri, _int(request, "parentHeight", 80, 0, 1000))}


def get_posts(state: BlueskyState, request: Request, caller: str | None) -> Any:
    uris = request.args.getlist("uris")
    if len(uris) > 25:
        raise InvalidRequest("Error: uris must not have more than 25 elements")
    return {"posts": [state.post_view(u) for u in uris if u in state.records]}


# ---- com.atproto.repo -------------------------------------------------------------------------------


def create_record(state: BlueskyState, request: Request, caller: str | None) -> Any:
    assert caller is not None
    body = _body(request)
    repo = str(body.get("repo") or "")
    if repo not in (caller, state.actors[caller]["handle"]):
        raise AuthenticationRequired("Token does not grant access to this repo")  # 401 on the PDS
    collection = str(body.get("collection") or "")
    record = body.get("record")
    if not collection or not isinstance(record, dict):
        raise InvalidRequest('Input must have the properties "collection" and "record"')
    if body.get("rkey") is not None and collection == "app.bsky.feed.post":
        raise InvalidRequest("Custom rkeys for post records are not currently supported")
    if collection == "app.bsky.feed.post":
        _validate_post(record)
        blobs.validate_embed(state, record, caller, "Invalid app.bsky.feed.post record: ")
    uri, cid = state.create_record(caller, collection, record)
    return {"uri": uri, "cid": cid, "commit": {"cid": cid, "rev": state.next_tid()}, "validationStatus": "valid"}


def _validate_post(record: dict[str, Any]) -> None:
    prefix = "Invalid app.bsky.feed.post record: "
    text = record.get("text")
    if not isinstance(text, str):
        raise InvalidRequest(prefix + 'Record must have the property "text"')
    if grapheme_count(text) > MAX_POST_GRAPHEMES or len(text.encode()) > 3000:
        raise InvalidRequest(prefix + f"Record/text must not be longer than {MAX_POST_GRAPHEMES} graphemes")
    if not isinstance(record.get("createdAt"), str):
        raise InvalidRequest(prefix + 'Record must have the property "createdAt"')
    reply = record.get("reply")
    if reply is not None:
        for part in ("root", "parent"):
            ref = reply.get(part) if isinstance(reply, dict) else None
            if not isinstance(ref, dict) or not isinstance(ref.get("uri"), str) or not isinstance(ref.get("cid"), str):
                raise InvalidRequest(prefix + f'Record/reply must have the property "{part}" (strongRef)')
    encoded = text.encode()
    for facet in record.get("facets") or []:
        index = facet.get("index") or {}
        start, end = index.get("byteStart"), index.get("byteEnd")
        if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end <= len(encoded):
            raise InvalidRequest(prefix + "Record/facets/index is out of range")


def list_records(state: BlueskyState, request: Request, caller: str | None) -> Any:
    repo = _actor(state, request.args.get("repo"))
    limit = _int(request, "limit", 50, 1, 100)
    records, cursor = state.list_records(repo, request.args.get("collection") or "", limit, request.args.get("cursor"))
    out: dict[str, Any] = {"records": records}
    if cursor:
        out["cursor"] = cursor
    return out


# ---- chat.bsky.convo (through the PDS proxy) --------------------------------------------------------


def get_convo_for_members(state: BlueskyState, request: Request, caller: str | None) -> Any:
    assert caller is not None
    members = request.args.getlist("members")
    if not members or len(members) > 10:
        raise InvalidRequest('Error: Params must have the property "members"')
    for did in members:
        if did not in state.actors:
            raise InvalidRequest("Could not find member")
        if did != caller and not state.actors[did]["acceptsMessages"]:
            raise InvalidRequest("recipient has disabled incoming messages")
    convo = state.convo_for(sorted({caller, *members}))
    return {"convo": state.convo_view(convo)}


def send_message(state: BlueskyState, request: Request, caller: str | None) -> Any:
    assert caller is not None
    body = _body(request)
    message = body.get("message")
    if not isinstance(message, dict) or not isinstance(message.get("text"), str):
        raise InvalidRequest('Input must have the property "message"')
    try:
        return state.send_message(caller, str(body.get("convoId") or ""), message["text"])
    except KeyError as exc:
        raise InvalidRequest("Convo not found") from exc


def list_convos(state: BlueskyState, request: Request, caller: str | None) -> Any:
    assert caller is not None
    limit = _int(request, "limit", 50, 1, 100)
    status = request.args.get("status")
    if status not in (None, "request", "accepted"):
        raise InvalidRequest("Invalid status")
    convos, cursor = state.convo_page(caller, limit=limit, cursor=request.args.get("cursor"), status=status)
    out: dict[str, Any] = {"convos": convos}
    if cursor:
        out["cursor"] = cursor
    return out


def get_messages(state: BlueskyState, request: Request, caller: str | None) -> Any:
    assert caller is not None
    convo_id = request.args.get("convoId")
    if not convo_id:
        raise InvalidRequest('Error: Params must have the property "convoId"')
    limit = _int(request, "limit", 50, 1, 100)
    try:
        messages, cursor = state.message_page(caller, convo_id, limit=limit, cursor=request.args.get("cursor"))
    except KeyError as exc:
        raise InvalidRequest("Convo not found") from exc
    out: dict[str, Any] = {"messages": messages}
    if cursor:
        out["cursor"] = cursor
    return out


# ---- /_sandbox ---------------------------------------------------------------------------------------


def sandbox_actors(state: BlueskyState, request: Request) -> Response:
    body = request.get_json(force=True, silent=True) or {}
    if not isinstance(body, dict) or not body.get("handle"):
        return json_response({"error": "InvalidRequest", "message": "handle is required"}, status=400)
    actor = state.add_actor(
        str(body["handle"]),
        display_name=body.get("displayName"),
        password=body.get("password"),
        accepts_messages=bool(body.get("acceptsMessages", True)),
    )
    return json_response(actor, status=201)


def sandbox_posts(state: BlueskyState, request: Request) -> Response:
    body = request.get_json(force=True, silent=True) or {}
    try:
        view = state.inject_post(
            str(body["author"]),
            str(body.get("text") or ""),
            mentions=body.get("mentions"),
            reply_to=body.get("replyTo"),
            quote=body.get("quote"),
        )
    except (KeyError, TypeError) as exc:
        return json_response({"error": "InvalidRequest", "message": f"bad injection: {exc}"}, status=400)
    return json_response(view, status=201)


def sandbox_posted(state: BlueskyState, request: Request, did: str) -> Response:
    return json_response({"records": state.posts_by(did)})


def sandbox_messages(state: BlueskyState, request: Request, did: str) -> Response:
    return json_response({"messages": state.messages_to(did)})


def sandbox_expire(state: BlueskyState, request: Request) -> Response:
    body = request.get_json(force=True, silent=True) or {}
    if body.get("refresh"):
        state.expire_refresh_tokens()
    state.expire_access_tokens()
    return json_response({})


def sandbox_settings(state: BlueskyState, request: Request) -> Response:
    body = request.get_json(force=True, silent=True) or {}
    return json_response(state.update_settings(body, ("access_ttl", "rate_limit", "rate_window")))
