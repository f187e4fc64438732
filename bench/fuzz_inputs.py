"""What ``bench fuzz`` throws: hypothesis strategies for hostile values, JSON documents, bodies,
headers and query strings, and structure-aware mutations of genuine payloads (every field of a
documented payload replaced, in turn, by a wrong type or a hostile value)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

# Lone surrogates: valid in a JSON string escape ("\ud800"), never valid UTF-8.
SURROGATES = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=4)
HUGE_INTS = st.sampled_from([10**20, -(10**20), 2**63, 2**64 + 1, 10**400, -(10**4000)])
FLOATS = st.floats(allow_nan=True, allow_infinity=True)
WEIRD_TEXT = st.sampled_from(
    ["", " ", "\x00", "null", "[]", "{}", "0", "-1", "1e999", "NaN", "../../etc/passwd", "%00", "%ZZ",
     "a" * 70_000, "\u202e\u0000\ufeff", "'; DROP TABLE mentions; --", "<script>x</script>", "12345678901234567890"]
)  # fmt: skip

SCALARS: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    HUGE_INTS,
    FLOATS,
    st.text(max_size=40),
    SURROGATES,
    WEIRD_TEXT,
)
JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.one_of(st.text(max_size=12), WEIRD_TEXT), inner, max_size=5)
    ),
    max_leaves=25,
)


def dumps(value: Any) -> bytes:
    """JSON as a careless or hostile client writes it: NaN and lone surrogates included."""
    return json.dumps(value, allow_nan=True, ensure_ascii=True).encode("ascii")


@st.composite
def deep_nesting(draw: st.DrawFn) -> bytes:
    depth = draw(st.sampled_from([100, 1_000, 10_000, 100_000]))
    kind = draw(st.sampled_from(["list", "dict", "mixed"]))
    if kind == "list":
        return b"[" * depth + b"]" * depth
    if kind == "dict":
        return b'{"a":' * depth + b"1" + b"}" * depth
    return b'[{"entry":' * depth + b"null" + b"}]" * depth


RAW_BODIES: st.SearchStrategy[bytes] = st.one_of(
    st.binary(max_size=200),
    st.just(b"\xed\xa0\x80"),  # a UTF-8-encoded lone surrogate: invalid UTF-8
    st.just(b'{"a": 1e999999}'),
    st.just(b'{"a": ' + b"9" * 5000 + b"}"),
    deep_nesting(),
    JSON_VALUES.map(dumps),
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every field and list item of a JSON document, as a path of keys and indexes."""
    found: list[tuple[Any, ...]] = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value[:5]):
            found.extend(paths(item, (*prefix, index)))
    return found


def replaced(document: Any, path: tuple[Any, ...], value: Any, delete: bool = False) -> Any:
    """A copy of ``document`` with the field at ``path`` set to ``value`` (or removed)."""
    copy = json.loads(json.dumps(document))
    parent = copy
    for key in path[:-1]:
        parent = parent[key]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return copy


@st.composite
def mutated(draw: st.DrawFn, seed: Any) -> Any:
    """``seed`` with one to three fields replaced by a wrong type or hostile value, or removed."""
    document = seed
    for _ in range(draw(st.integers(1, 3))):
        where = paths(document)
        if not where:
            return draw(JSON_VALUES)
        path = draw(st.sampled_from(where))
        document = replaced(document, path, draw(JSON_VALUES), delete=draw(st.booleans()))
    return document


HEADER_NAMES = (
    "Content-Type", "X-Hub-Signature-256", "X-Hub-Signature", "x-twitter-webhooks-signature",
    "X-Telegram-Bot-Api-Secret-Token", "Authorization", "X-Zendesk-Webhook-Signature", "Cookie",
    "Content-Encoding", "X-Forwarded-For", "Accept",
)  # fmt: skip
# Header values travel as latin-1: what any HTTP client can put on the wire.
HEADER_VALUES = st.one_of(
    st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=60),
    st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain", "multipart/form-data",
                     "application/json; charset=utf-16", "sha256=", "sha256=zz", "gzip", "Bearer "]),
)  # fmt: skip
HEADERS = st.dictionaries(st.sampled_from(HEADER_NAMES), HEADER_VALUES, max_size=4)

FIELD_NAMES = (
    "metadata", "state", "message", "parent_id", "recipient_id", "thread_id", "request_unique_identifier",
    "file_urls[]", "return_url", "subdomain", "locale", "instance_push_id", "zendesk_access_token", "name",
    "external_id", "events", "hub.mode", "hub.verify_token", "hub.challenge", "crc_token", "new_network",
    "new_external_id", "new_credentials", "new_api_base", "token", "sink", "record_id", "author_external_id",
    "network", "csrf_token", "accounts",
)  # fmt: skip
TEXTS = st.one_of(st.text(max_size=40), SURROGATES, WEIRD_TEXT)
FIELDS = st.dictionaries(st.sampled_from(FIELD_NAMES), TEXTS, max_size=6)


def documented(rule: str, metadata: str) -> tuple[str, dict[str, Any], bool] | None:
    """A complete, plausible request for a route, as Zendesk or an agent's page sends it: (how it
    travels: "form" | "json" | "query", its fields, whether it carries the metadata as a Bearer token).
    Mutations of it reach the code past the "field missing" checks."""
    if rule == "/zendesk/admin":
        fields = {"name": "Acme", "metadata": metadata, "state": "{}", "return_url": "https://acme.zendesk.com/x",
                  "subdomain": "acme", "locale": "en-US", "instance_push_id": "abc123",
                  "zendesk_access_token": "tok"}  # fmt: skip
        return "form", fields, False
    if rule == "/zendesk/channelback":
        fields = {"message": "hello", "parent_id": "x:1", "recipient_id": "x:2", "metadata": metadata,
                  "request_unique_identifier": "rui-1", "thread_id": "x:1"}  # fmt: skip
        return "form", fields, False
    if rule == "/zendesk/pull":
        return "form", {"metadata": metadata, "state": ""}, False
    if rule == "/zendesk/clickthrough":
        return "query", {"external_id": "x:1", "metadata": metadata}, False
    if rule == "/zendesk/events":
        event = {"type_id": "destroy_integration_instance", "subdomain": "acme", "timestamp": 1,
                 "integration_name": "horseshoe", "integration_id": "i1", "data": {"metadata": metadata}}  # fmt: skip
        return "json", {"events": [event]}, False
    if rule.startswith("/identity/api/"):
        return "json", {"sink": "zendesk", "network": "x", "author_external_id": "1", "record_id": "5"}, True
    if rule == "/identity/":
        return "form", {"metadata": metadata}, False
    return None


def as_form(fields: Any) -> dict[str, str]:
    """Form fields are strings: a mutated field of another type travels as its JSON text."""
    if not isinstance(fields, dict):
        return {"value": dumps(fields).decode()}
    return {str(k): v if isinstance(v, str) else dumps(v).decode() for k, v in fields.items()}
