"""Graph API handlers of the Meta fake: node reads, edges with cursor pagination, comments, Send API.

Behaviour follows Meta's docs: ``fields`` selection (with nested ``{}`` and ``.limit(n)``), cursor
pagination (``paging.cursors.before/after`` plus ``paging.next`` only while more remain), usage
headers on every answer, the Graph error object, the Send API's 24 h / HUMAN_AGENT 7 day windows and
private replies (once per comment, within 7 days).
"""

from __future__ import annotations

import base64
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from . import hashtags
from .exceptions import (
    GraphError,
    already_replied,
    bad_proof,
    invalid_param,
    invalid_token,
    missing_object,
    outside_window,
    person_unavailable,
)
from .login import token_error
from .mentions import MENTIONED_COMMENT_FIELDS, MENTIONED_MEDIA_FIELDS
from .models import Comment, Conversation, IgComment, Media, MetaState, Page, Post, graph_time, now, sign

FieldSpec = dict[str, tuple[dict[str, str], "FieldSpec | None"]]

# --------------------------------------------------------------------------------------------
# fields=... parsing and rendering
# --------------------------------------------------------------------------------------------


def _split_top(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        if char in "{(":
            depth += 1
        elif char in "})":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if current:
        parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def parse_fields(text: str | None) -> FieldSpec | None:
    """``id,from{id,name},messages.limit(5){id}`` -> {name: (modifiers, nested spec)}."""
    if not text:
        return None
    spec: FieldSpec = {}
    for part in _split_top(text):
        nested: FieldSpec | None = None
        if part.endswith("}") and "{" in part:
            brace = part.index("{")
            nested = parse_fields(part[brace + 1 : -1])
            part = part[:brace]
        name, *mods = part.split(".")
        modifiers: dict[str, str] = {}
        for mod in mods:
            if "(" in mod and mod.endswith(")"):
                key, value = mod[:-1].split("(", 1)
                modifiers[key] = value
        spec[name] = (modifiers, nested)
    return spec


def select(full: dict[str, Any], known: set[str], spec: FieldSpec | None, default: list[str]) -> dict[str, Any]:
    wanted = spec or {name: ({}, None) for name in default}
    out: dict[str, Any] = {}
    for name, (modifiers, nested) in wanted.items():
        if name not in known:
            raise invalid_param(f"Tried accessing nonexisting field ({name})")
        if name not in full:
            continue
        value = full[name]
        if isinstance(value, dict) and isinstance(value.get("data"), list):
            items = value["data"]
            if "limit" in modifiers and modifiers["limit"].isdigit():
                items = items[: int(modifiers["limit"])]
            value = {"data": [_pick(item, nested) for item in items]}
        elif isinstance(value, dict) and nested:
            value = _pick(value, nested)
        out[name] = value
    out.setdefault("id", full.get("id"))
    return out


def _pick(item: Any, nested: FieldSpec | None) -> Any:
    if not isinstance(item, dict) or not nested:
        return item
    return {k: _pick(item[k], sub) for k, (_m, sub) in nested.items() if k in item}


# --------------------------------------------------------------------------------------------
# cursor pagination
# --------------------------------------------------------------------------------------------


def _cursor(index: int) -> str:
    return base64.urlsafe_b64encode(f"idx:{index}".encode()).decode().rstrip("=")


def _index(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode()).decode()
        if not text.startswith("idx:"):
            raise ValueError(text)
        return int(text[4:])
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid_param("Invalid cursor") from exc


def paginate(request: Request, items: list[dict[str, Any]], default_limit: int = 25) -> dict[str, Any]:
    raw_limit = request.args.get("limit", str(default_limit))
    if not raw_limit.isdigit() or int(raw_limit) < 1:
        raise invalid_param("Param limit must be a positive integer")
    limit = min(int(raw_limit), 100)
    start = _index(request.args["after"]) + 1 if request.args.get("after") else 0
    page = items[start : start + limit]
    body: dict[str, Any] = {"data": page}
    if page:
        paging: dict[str, Any] = {"cursors": {"before": _cursor(start), "after": _cursor(start + len(page) - 1)}}
        if start + limit < len(items):
            query = {k: v for k, v in request.args.items() if k != "after"}
            query["after"] = paging["cursors"]["after"]
            paging["next"] = f"{request.base_url}?{urlencode(query)}"
        body["paging"] = paging
    return body


def _since(request: Request) -> datetime | None:
    raw = request.args.get("since")
    if not raw:
        return None
    if raw.isdigit():
        return datetime.fromtimestamp(int(raw), tz=UTC)
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise invalid_param("Invalid since") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# --------------------------------------------------------------------------------------------
# node renderers
# --------------------------------------------------------------------------------------------

POST_FIELDS = {"id", "message", "from", "created_time", "updated_time", "permalink_url", "comments"}
COMMENT_FIELDS = {
    "id",
    "message",
    "from",
    "created_time",
    "parent",
    "permalink_url",
    "can_reply_privately",
    "attachment",
    "comment_count",
    "is_hidden",
}
MEDIA_FIELDS = {"id", "caption", "timestamp", "permalink", "comments_count", "username", "media_type"}
IG_COMMENT_FIELDS = {"id", "text", "timestamp", "from", "username", "parent_id", "replies", "media"}
CONVERSATION_FIELDS = {"id", "updated_time", "link", "participants", "messages", "message_count"}
MESSAGE_FIELDS = {"id", "message", "from", "to", "created_time", "attachments"}
PERSON_FIELDS = {"id", "name", "first_name", "last_name", "profile_pic", "username", "link", "picture"}


class Renderer:
    def __init__(self, state: MetaState) -> None:
        self.state = state

    def post(self, post: Post) -> dict[str, Any]:
        return {
            "id": post.id,
            "message": post.message,
            "from": self.state._author(post.author_id),
            "created_time": graph_time(post.created),
            "updated_time": graph_time(post.updated),
            "permalink_url": f"https://www.facebook.com/{post.id}",
        }

    def comment(self, comment: Comment) -> dict[str, Any]:
        full: dict[str, Any] = {
            "id": comment.id,
            "message": comment.message,
            "from": self.state._author(comment.author_id),
            "created_time": graph_time(comment.created),
            "permalink_url": f"https://www.facebook.com/{comment.post_id}?comment_id={comment.id}",
            "can_reply_privately": not comment.private_reply_used and comment.author_id not in self.state.pages,
            "comment_count": len(comment.replies),
            "is_hidden": False,
        }
        if comment.parent_id:
            full["parent"] = {"id": comment.parent_id}
        return full

    def media(self, media: Media) -> dict[str, Any]:
        page = self.state.page_for_ig(media.ig_id)
        return {
            "id": media.id,
            "caption": media.caption,
            "timestamp": graph_time(media.created),
            "permalink": f"https://www.instagram.com/p/{media.id}/",
            "comments_count": len(media.comments),
            "username": page.ig_username,
            "media_type": "IMAGE",
        }

    def ig_comment(self, comment: IgComment, *, with_replies: bool = True) -> dict[str, Any]:
        author = self.state._ig_author(comment.author_id)
        full: dict[str, Any] = {
            "id": comment.id,
            "text": comment.text,
            "timestamp": graph_time(comment.created),
            "from": author,
            "username": author["username"],
            "media": {"id": comment.media_id},
        }
        if comment.parent_id:
            full["parent_id"] = comment.parent_id
        if with_replies:
            replies = [self.ig_comment(self.state.ig_comments[r], with_replies=False) for r in comment.replies]
            full["replies"] = {"data": replies}
        return full

    def message(self, conversation: Conversation, index: int) -> dict[str, Any]:
        message = conversation.messages[index]

        def party(pid: str) -> dict[str, Any]:
            if conversation.platform == "instagram":
                return self.state._ig_author(pid)
            return self.state._author(pid)

        return {
            "id": message.mid,
            "message": "" if message.deleted else message.text,
            "from": party(message.from_id),
            "to": {"data": [party(message.to_id)]},
            "created_time": graph_time(message.created),
        }

    def conversation(self, conversation: Conversation) -> dict[str, Any]:
        count = len(conversation.messages)
        page = self.state.pages[conversation.page_id]
        own = page.id if conversation.platform == "messenger" else str(page.ig_id)
        people = [conversation.user_id, own]
        return {
            "id": conversation.id,
            "updated_time": graph_time(conversation.updated),
            "link": f"/{conversation.page_id}/inbox/{conversation.id}",
            "message_count": count,
            "participants": {"data": [self.state._author(p) for p in people]},
            "messages": {"data": [self.message(conversation, i) for i in reversed(range(count))]},
        }


# --------------------------------------------------------------------------------------------
# the API surface
# --------------------------------------------------------------------------------------------


class GraphApi:
    def __init__(self, state: MetaState) -> None:
        self.state = state
        self.render = Renderer(state)

    # -- request plumbing ----------------------------------------------------------------------

    def _body(self, request: Request) -> dict[str, Any]:
        if request.method != "POST":
            return {}
        if request.is_json:
            data = request.get_json(silent=True)
            if not isinstance(data, dict):
                raise invalid_param("Invalid JSON body")
            return data
        form: dict[str, Any] = {}
        for key, value in request.form.items():
            if key in ("recipient", "message") and value.startswith("{"):
                try:
                    form[key] = json.loads(value)
                except ValueError as exc:
                    raise invalid_param(f"param {key} must be JSON") from exc
            else:
                form[key] = value
        return form

    def _page(self, request: Request, body: dict[str, Any]) -> Page:
        auth = request.headers.get("Authorization", "")
        token = ""
        if auth.startswith(("Bearer ", "OAuth ")):
            token = auth.split(" ", 1)[1].strip()
        token = token or request.args.get("access_token", "") or str(body.get("access_token") or "")
        page = self.state.page_for_token(token) if token else None
        if page is None:
            raise invalid_token()
        refused = token_error(self.state.login, token)  # invalidated, or expired with its user token
        if refused is not None:
            raise refused
        proof = request.args.get("appsecret_proof") or body.get("appsecret_proof")
        if proof or self.state.require_proof:
            expected = hmac.new(self.state.app_secret.encode(), token.encode(), "sha256").hexdigest()
            if not isinstance(proof, str) or not hmac.compare_digest(proof, expected):
                raise bad_proof()
        return page

    def _usage_headers(self, page: Page) -> dict[str, str]:
        pct = min(100, self.state.calls.get(page.id, 0))
        usage = {"call_count": pct, "total_cputime": pct // 2, "total_time": pct // 2}
        buc = {page.id: [{"type": "pages", **usage, "estimated_time_to_regain_access": 0}]}
        return {"X-App-Usage": json.dumps(usage), "X-Business-Use-Case-Usage": json.dumps(buc)}

    def handle(self, request: Request, parts: list[str]) -> Response:
        page: Page | None = None
        try:
            body = self._body(request)
            page = self._page(request, body)
            with self.state.lock:
                self.state.count_call(page.id)
                if self.state.scripted_errors:
                    raise self.state.scripted_errors.pop(0)
                throttle = self.state.throttle
                if throttle is not None and throttle.remaining > 0:
                    throttle.remaining -= 1
                    usage = {
                        "type": "pages",
                        "call_count": 100,
                        "total_cputime": 30,
                        "total_time": 30,
                        "estimated_time_to_regain_access": throttle.minutes,
                    }
                    raise GraphError(
                        "(#80001) There have been too many calls to this Page account. Wait a bit and try again.",
                        code=throttle.code,
                        headers={"X-Business-Use-Case-Usage": json.dumps({page.id: [usage]})},
                    )
                result = self.route(request, page, parts, body)
            return Response(json.dumps(result), content_type="application/json", headers=self._usage_headers(page))
        except GraphError as error:
            if page is not None:
                error.headers = {**self._usage_headers(page), **error.headers}
            return error.response()

    def route(self, request: Request, page: Page, parts: list[str], body: dict[str, Any]) -> Any:
        method = request.method
        node = parts[0]
        edge = parts[1] if len(parts) > 1 else None
        handler: Callable[[], Any] | None = None
        if edge is None and method == "GET":
            handler = lambda: self.get_node(request, node)  # noqa: E731
        elif method == "GET" and edge in ("recent_media", "recently_searched_hashtags"):
            handler = lambda: self.get_hashtag_edge(request, page, node, edge)  # noqa: E731
        elif method == "GET" and edge in ("feed", "posts", "comments", "replies", "conversations", "messages", "media"):
            handler = lambda: self.get_edge(request, page, node, edge)  # noqa: E731
        elif method == "POST" and edge in ("comments", "replies"):
            handler = lambda: self.post_comment(page, node, edge, body)  # noqa: E731
        elif method == "POST" and edge == "messages":
            handler = lambda: self.send_message(page, node, body)  # noqa: E731
        if handler is None or len(parts) > 2:
            raise missing_object("/".join(parts), method.lower())
        return handler()

    # -- reads ---------------------------------------------------------------------------------

    def get_node(self, request: Request, node: str) -> Any:
        spec = parse_fields(request.args.get("fields"))
        state = self.state
        if node == "ig_hashtag_search":
            return hashtags.search(state, request.args)
        if spec and ("mentioned_comment" in spec or "mentioned_media" in spec):
            return self.get_mentioned(node, spec)
        if node in state.posts:
            return select(self.render.post(state.posts[node]), POST_FIELDS, spec, ["created_time", "message", "id"])
        if node in state.comments and not state.comments[node].deleted:
            return select(
                self.render.comment(state.comments[node]),
                COMMENT_FIELDS,
                spec,
                ["created_time", "from", "message", "id"],
            )
        if node in state.media:
            return select(self.render.media(state.media[node]), MEDIA_FIELDS, spec, ["id"])
        if node in state.ig_comments and not state.ig_comments[node].deleted:
            return select(
                self.render.ig_comment(state.ig_comments[node]), IG_COMMENT_FIELDS, spec, ["id", "text", "timestamp"]
            )
        if node in state.people:
            person = state.people[node]
            first, _, last = person.name.partition(" ")
            full = {
                "id": person.id,
                "name": person.name,
                "first_name": first,
                "last_name": last,
                "username": person.username,
                "profile_pic": f"https://sandbox.invalid/pic/{person.id}.jpg",
            }
            return select(full, PERSON_FIELDS, spec, ["id", "name"])
        raise missing_object(node)

    def get_hashtag_edge(self, request: Request, page: Page, node: str, edge: str) -> Any:
        """Instagram Hashtag Search (hashtags.py)."""
        if edge == "recently_searched_hashtags":
            if node != page.ig_id:
                raise missing_object(f"{node}/{edge}")
            return paginate(request, hashtags.recently_searched(self.state, node))
        spec = parse_fields(request.args.get("fields"))
        rows = hashtags.recent_media(self.state, node, request.args)
        return paginate(request, [select(r, hashtags.RECENT_FIELDS, spec, ["id"]) for r in rows])

    def get_mentioned(self, ig_id: str, spec: FieldSpec) -> Any:
        """``/{ig-user-id}?fields=mentioned_comment.comment_id(X){...}`` / ``mentioned_media.media_id(X){...}``."""
        out: dict[str, Any] = {"id": ig_id}
        for name, (modifiers, nested) in spec.items():
            comment = name == "mentioned_comment"
            key, known = ("comment_id", MENTIONED_COMMENT_FIELDS) if comment else ("media_id", MENTIONED_MEDIA_FIELDS)
            if name not in ("mentioned_comment", "mentioned_media") or key not in modifiers:
                raise invalid_param(f"Tried accessing nonexisting field ({name})")
            found = self.state.mentioned(ig_id, modifiers[key])
            if found is None:
                raise missing_object(modifiers[key])
            out[name] = select(found, known, nested, ["id", "text", "timestamp"] if key == "comment_id" else ["id"])
        return out

    def get_edge(self, request: Request, page: Page, node: str, edge: str) -> Any:
        spec = parse_fields(request.args.get("fields"))
        state = self.state
        since = _since(request)
        if edge in ("feed", "posts") and node == page.id:
            posts = sorted(
                (p for p in state.posts.values() if p.page_id == page.id), key=lambda p: p.created, reverse=True
            )
            if edge == "posts":
                posts = [p for p in posts if p.author_id == page.id]
            if since:
                posts = [p for p in posts if p.created >= since]
            rows = [select(self.render.post(p), POST_FIELDS, spec, ["created_time", "message", "id"]) for p in posts]
            return paginate(request, rows)
        if edge == "comments" and (node in state.posts or node in state.comments):
            return paginate(request, self._fb_comments(request, node, since, spec))
        if edge == "comments" and node in state.media:
            comments = [state.ig_comments[c] for c in state.media[node].comments]
            rows = [
                select(self.render.ig_comment(c), IG_COMMENT_FIELDS, spec, ["id", "text", "timestamp"])
                for c in comments
            ]
            return paginate(request, rows)
        if edge == "replies" and node in state.ig_comments:
            replies = [state.ig_comments[r] for r in state.ig_comments[node].replies]
            rows = [
                select(
                    self.render.ig_comment(c, with_replies=False), IG_COMMENT_FIELDS, spec, ["id", "text", "timestamp"]
                )
                for c in replies
            ]
            return paginate(request, rows)
        if edge == "media" and node == page.ig_id:
            media = sorted((m for m in state.media.values() if m.ig_id == node), key=lambda m: m.created, reverse=True)
            return paginate(request, [select(self.render.media(m), MEDIA_FIELDS, spec, ["id"]) for m in media])
        if edge == "conversations" and node == page.id:
            platform = request.args.get("platform", "messenger")
            if platform not in ("messenger", "instagram"):
                raise invalid_param("platform must be one of {messenger, instagram}")
            user_id = request.args.get("user_id")
            conversations = [
                c
                for c in state.conversations.values()
                if c.page_id == page.id and c.platform == platform and (user_id is None or c.user_id == user_id)
            ]
            conversations.sort(key=lambda c: c.updated, reverse=True)
            rows = [
                select(self.render.conversation(c), CONVERSATION_FIELDS, spec, ["id", "updated_time"])
                for c in conversations
            ]
            return paginate(request, rows)
        if edge == "messages" and node in state.conversations:
            conversation = state.conversations[node]
            rows = [
                select(self.render.message(conversation, i), MESSAGE_FIELDS, spec, ["id", "created_time"])
                for i in reversed(range(len(conversation.messages)))
            ]
            return paginate(request, rows)
        raise missing_object(f"{node}/{edge}")

    def _fb_comments(self, request: Request, node: str, since: datetime | None, spec: FieldSpec | None) -> list[Any]:
        state = self.state
        top = state.posts[node].comments if node in state.posts else state.comments[node].replies
        ids: list[str] = []
        for comment_id in top:
            ids.append(comment_id)
            if request.args.get("filter") == "stream" and node in state.posts:
                ids.extend(state.comments[comment_id].replies)
        comments = [state.comments[c] for c in ids if not state.comments[c].deleted]
        comments.sort(key=lambda c: c.created, reverse=request.args.get("order") == "reverse_chronological")
        if since:
            comments = [c for c in comments if c.created >= since]
        return [
            select(self.render.comment(c), COMMENT_FIELDS, spec, ["created_time", "from", "message", "id"])
            for c in comments
        ]

    # -- writes --------------------------------------------------------------------------------

    def post_comment(self, page: Page, node: str, edge: str, body: dict[str, Any]) -> Any:
        text = body.get("message")
        # Facebook comments take a photo by URL (``attachment_url``, Graph "Comments" reference) with or
        # without text; Instagram comments and replies take text only.
        photo = body.get("attachment_url")
        if photo is not None and not (isinstance(photo, str) and photo.startswith(("http://", "https://"))):
            raise invalid_param("param attachment_url must be a URL")
        if (not isinstance(text, str) or not text) and not photo:
            raise invalid_param("param message must be a non-empty string")
        text = text if isinstance(text, str) else ""
        state = self.state
        if photo and not (edge == "comments" and (node in state.posts or node in state.comments)):
            raise invalid_param("param attachment_url is not supported on this edge")
        if edge == "comments" and node in state.posts:
            return {"id": self._page_comment(page, node, None, text, photo)}
        if edge == "comments" and node in state.comments and not state.comments[node].deleted:
            parent = state.comments[node]
            top = parent.parent_id or parent.id  # Facebook threads are one level deep
            return {"id": self._page_comment(page, parent.post_id, top, text, photo)}
        if edge == "comments" and node in state.media:
            comment_id = state.inject_ig_comment(node, str(page.ig_id), text)
            state.record("ig_comment", page.id, id=comment_id, media_id=node, text=text)
            return {"id": comment_id}
        if edge == "replies" and node in state.ig_comments and not state.ig_comments[node].deleted:
            parent_ig = state.ig_comments[node]
            top_ig = parent_ig.parent_id or parent_ig.id
            comment_id = state.inject_ig_comment(parent_ig.media_id, str(page.ig_id), text, parent_id=top_ig)
            state.record("ig_reply", page.id, id=comment_id, in_reply_to=node, text=text)
            return {"id": comment_id}
        raise missing_object(node, "post")

    def _page_comment(self, page: Page, post_id: str, parent_id: str | None, text: str, photo: Any = None) -> str:
        if len(text) > 8000:
            raise invalid_param("Comment text too long")
        comment_id = self.state.inject_comment(post_id, page.id, text, parent_id=parent_id)
        self.state.record("comment", page.id, id=comment_id, post_id=post_id, parent_id=parent_id, text=text,
                          attachment_url=photo)  # fmt: skip
        return comment_id

    def send_message(self, page: Page, node: str, body: dict[str, Any]) -> Any:
        if node not in (page.id, "me"):
            raise missing_object(node, "post")
        recipient = body.get("recipient")
        message = body.get("message")
        if not isinstance(recipient, dict) or not isinstance(message, dict):
            raise invalid_param("param recipient and message are required")
        text = message.get("text")
        attachment = message.get("attachment")
        if not (isinstance(text, str) and text) and not isinstance(attachment, dict):
            raise invalid_param("message must have text or attachment")
        if isinstance(text, str) and text and attachment is not None:
            # Send API: a message is either text or one attachment (Send API reference, "message").
            raise invalid_param("param message must have only one of text or attachment")
        if isinstance(attachment, dict):
            payload = attachment.get("payload") or {}
            url = payload.get("url") if isinstance(payload, dict) else None
            if attachment.get("type") not in ("image", "audio", "video", "file") or not (
                isinstance(url, str) and url.startswith(("http://", "https://"))
            ):
                raise invalid_param("param message[attachment] needs a type and payload.url")
        if isinstance(text, str) and len(text) > 2000:
            raise invalid_param("Length of param message[text] must be less than or equal to 2000")
        state = self.state
        messaging_type = body.get("messaging_type")
        if messaging_type not in ("RESPONSE", "UPDATE", "MESSAGE_TAG"):
            raise invalid_param("param messaging_type must be RESPONSE, UPDATE or MESSAGE_TAG")
        if "comment_id" in recipient or "post_id" in recipient:
            target = str(recipient.get("comment_id") or recipient.get("post_id"))
            platform, user_id = self._private_reply_target(page, target)
        elif "id" in recipient:
            user_id = str(recipient["id"])
            platform = self._platform_of(page, user_id)
            self._check_window(page, platform, user_id, messaging_type, body.get("tag"))
        else:
            raise invalid_param("param recipient must have id or comment_id")
        if user_id in state.people and state.people[user_id].deactivated:
            raise person_unavailable()
        own = page.id if platform == "messenger" else str(page.ig_id)
        mid = f"m_{state._next():06d}"
        from .models import Message  # local: keeps the import list short at the top

        conversation = state._conversation(page.id, platform, user_id)
        sent = Message(mid, own, user_id, text if isinstance(text, str) else "", now())
        conversation.messages.append(sent)
        state.messages[mid] = (conversation.id, sent)
        state.record(
            "message",
            page.id,
            id=mid,
            platform=platform,
            recipient=recipient,
            messaging_type=messaging_type,
            tag=body.get("tag"),
            text=sent.text,
            attachment=attachment,
        )
        state._queue_messaging(
            platform,
            own,
            {
                "sender": {"id": own},
                "recipient": {"id": user_id},
                "timestamp": int(sent.created.timestamp() * 1000),
                "message": {"mid": mid, "is_echo": True, "text": sent.text},
            },
        )
        return {"recipient_id": user_id, "message_id": mid}

    def _platform_of(self, page: Page, user_id: str) -> str:
        for conversation in self.state.conversations.values():
            if conversation.page_id == page.id and conversation.user_id == user_id:
                return conversation.platform
        raise GraphError("(#100) No matching user found", code=100, subcode=2018001)

    def _check_window(self, page: Page, platform: str, user_id: str, messaging_type: Any, tag: Any) -> None:
        conversation = self.state._conversation(page.id, platform, user_id)
        inbound = [m.created for m in conversation.messages if m.from_id == user_id]
        if not inbound:
            raise outside_window()
        age = now() - max(inbound)
        if messaging_type == "MESSAGE_TAG":
            if tag != "HUMAN_AGENT":
                raise invalid_param("this sandbox supports only the HUMAN_AGENT tag")
            if age > timedelta(days=7):
                raise outside_window()
        elif age > timedelta(hours=24):
            raise outside_window()

    def _private_reply_target(self, page: Page, target: str) -> tuple[str, str]:
        state = self.state
        if target in state.comments and not state.comments[target].deleted:
            comment = state.comments[target]
            if comment.private_reply_used:
                raise already_replied()
            if now() - comment.created > timedelta(days=7):
                raise outside_window()
            comment.private_reply_used = True
            return "messenger", comment.author_id
        if target in state.posts:
            post = state.posts[target]
            if now() - post.created > timedelta(days=7):
                raise outside_window()
            return "messenger", post.author_id
        if target in state.ig_comments and not state.ig_comments[target].deleted:
            ig_comment = state.ig_comments[target]
            if now() - ig_comment.created > timedelta(days=7):
                raise outside_window()
            if any(p.get("recipient") == {"comment_id": target} for p in state.posted):
                raise already_replied()
            return "instagram", ig_comment.author_id
        raise missing_object(target)


def signature_for(state: MetaState, body: bytes) -> str:
    """What Meta would put in X-Hub-Signature-256 for ``body`` (exposed for the control surface)."""
    return sign(state.app_secret, body)
