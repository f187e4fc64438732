"""URL map of the X fake: the v2 paths the connector uses, then the ``/_sandbox`` control surface.

Each API rule's endpoint is ``"<rate-limit key>|<handler name>"``; the rate-limit key is the documented
endpoint name (``GET /2/users/:id/mentions``) under which X counts requests.
"""

from __future__ import annotations

from werkzeug.routing import Map, Rule

API_RULES = [
    ("/2/users/me", "GET", "GET /2/users/me", "me"),
    ("/2/users/by/username/<username>", "GET", "GET /2/users/by/username/:username", "user_by_username"),
    ("/2/users/<id>/mentions", "GET", "GET /2/users/:id/mentions", "mentions"),
    ("/2/users/<id>", "GET", "GET /2/users/:id", "user"),
    ("/2/tweets", "POST", "POST /2/tweets", "create_tweet"),
    ("/2/media/upload", "POST", "POST /2/media/upload", "upload_media"),
    ("/2/tweets/search/recent", "GET", "GET /2/tweets/search/recent", "search_recent"),
    ("/2/tweets/<id>", "GET", "GET /2/tweets/:id", "tweet"),
    ("/2/dm_events", "GET", "GET /2/dm_events", "dm_events"),
    (
        "/2/dm_conversations/with/<participant_id>/messages",
        "POST",
        "POST /2/dm_conversations/with/:participant_id/messages",
        "send_dm",
    ),
]

CONTROL_RULES = [
    ("/_sandbox/users", "GET", "list_users"),
    ("/_sandbox/users", "POST", "add_user"),
    ("/_sandbox/app_tokens", "POST", "add_app_token"),
    ("/_sandbox/mentions", "POST", "inject_mention"),
    ("/_sandbox/dms", "POST", "inject_dm"),
    ("/_sandbox/posted", "GET", "posted"),
    ("/_sandbox/limits", "POST", "set_limit"),
    ("/_sandbox/requests", "GET", "requests_seen"),
]


def url_map() -> Map:
    rules = [Rule(path, methods=[method], endpoint=f"api|{key}|{handler}") for path, method, key, handler in API_RULES]
    rules += [Rule(path, methods=[method], endpoint=f"control|{handler}") for path, method, handler in CONTROL_RULES]
    return Map(rules, strict_slashes=False)
