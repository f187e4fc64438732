"""Keep secrets out of error messages and log lines.

Secrets travel in three places a message can echo: query strings and form bodies
(``access_token=...``, Graph's ``appsecret_proof``), the ``Authorization`` header, and URL paths
(the Telegram Bot API puts the bot token in ``/bot<token>/``). requests' exception texts contain the
URL, and urllib3 logs every request line at DEBUG, so both pass through ``redact`` before anyone sees
them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

MASK = "<redacted>"

_SECRET_FIELDS = (
    "access_token",
    "refresh_token",
    "appsecret_proof",
    "client_secret",
    "consumer_secret",
    "access_token_secret",
    "bot_token",
    "input_token",  # Graph's debug_token takes the token it inspects in the query string
    "fb_exchange_token",  # and the long-lived token exchange the short-lived one
    "password",
    "secret_token",
    "token",
)
# name=value in a query string or form body, "name": "value" in JSON, name: value in a repr.
_FIELD = re.compile(
    r"(?P<name>\b(?:" + "|".join(_SECRET_FIELDS) + r")\b[\"']?\s*[=:]\s*[\"']?)(?P<value>[^&\s\"',;}]+)",
    re.IGNORECASE,
)
_AUTHORIZATION = re.compile(r"(?P<name>\bauthorization[\"']?\s*[:=]\s*[\"']?)(?P<value>[^\"'\n]+)", re.IGNORECASE)
_BOT_PATH = re.compile(r"/bot\d+:[A-Za-z0-9_-]+")
_QUERY_KEY = re.compile(r"(?P<name>[?&]key=)(?P<value>[^&\s\"']+)")  # VK long-poll key (a bare "key" is too common)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every known secret shape, and every value in ``secrets``, masked."""
    for secret in secrets:
        if secret and len(secret) >= 4:  # masking "a" would shred the message without protecting anything
            text = text.replace(secret, MASK)
    text = _BOT_PATH.sub("/bot<token>", text)  # keeps the method readable: /bot<token>/sendMessage
    text = _AUTHORIZATION.sub(lambda m: m.group("name") + MASK, text)
    text = _QUERY_KEY.sub(lambda m: m.group("name") + MASK, text)
    return _FIELD.sub(lambda m: m.group("name") + MASK, text)


def describe(exc: BaseException, secrets: Iterable[str | None] = ()) -> str:
    """``Type: message`` of an exception, redacted: safe to put in our own error messages."""
    return redact(f"{type(exc).__name__}: {exc}", secrets)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the message and its string arguments before formatting."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


# Loggers that print request lines or signing input. Installed once, at import of plugin.http.
LOGGERS = ("urllib3.connectionpool", "requests_oauthlib", "oauthlib")


def install_log_filters() -> None:
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
