"""Graph field readers: a signed body that is not shaped as Meta documents is BadInput, never a crash.

The webhook models (``models.py``) check the envelope; these read the values inside, naming the path
at fault (``entry[0].changes[1].value.from.id``) so a 400 says what was wrong.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from plugin.connector import AccountContext
from plugin.errors import AuthError, BadInput
from plugin.models import Mention


def as_dict(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadInput(f"{where}: expected an object")
    return value


def as_list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadInput(f"{where}: expected an array")
    return value


# Graph ids are short numeric strings ("17841405822304914", "1234567890_444444444"); horseshoe keeps
# an author's id in at most 255 characters (plugin.models.Author), so a longer one is refused here.
MAX_ID = 255


def id_str(value: Any, where: str) -> str:
    """Graph ids arrive as strings (sometimes numbers in old payloads); anything else is bad input."""
    if isinstance(value, bool) or value is None:
        raise BadInput(f"{where}: missing id")
    if isinstance(value, int) and value.bit_length() > 4 * MAX_ID:
        raise BadInput(f"{where}: a number of {value.bit_length()} bits is no Graph id")  # str() may refuse it
    text = str(value) if isinstance(value, int) else value if isinstance(value, str) and value.strip() else None
    if text is None:
        raise BadInput(f"{where}: expected an id string")
    if len(text) > MAX_ID:
        # Found by bench fuzz (seed 22): a 301-digit comment author id reached Author() and escaped
        # parse_payload as a raw pydantic ValidationError.
        raise BadInput(f"{where}: an id of {len(text)} characters is no Graph id")
    return text


def opt_str(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadInput(f"{where}: expected a string")
    return value


def to_datetime(value: Any, where: str) -> datetime:
    """Graph times: unix seconds (feed webhooks), unix ms (messaging), or ISO ``2024-01-01T12:00:00+0000``."""
    if isinstance(value, bool):
        raise BadInput(f"{where}: bad time")
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise BadInput(f"{where}: bad time")
        try:
            # Inside the try: a huge integer overflows already when made a float (found by bench fuzz).
            seconds = value / 1000.0 if value > 100_000_000_000 else float(value)
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise BadInput(f"{where}: time out of range") from exc
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return to_datetime(int(text), where)
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            try:
                parsed = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z")
            except ValueError as exc:
                raise BadInput(f"{where}: unparseable time {value!r}") from exc
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise BadInput(f"{where}: missing time")


def graph_time(value: datetime) -> str:
    """Graph's own time format, e.g. ``2024-05-01T10:00:00+0000``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def build_mention(**fields: Any) -> Mention:
    """Construct a Mention; a value the model rejects (e.g. a 600-char id) is bad input, not a crash."""
    try:
        return Mention(**fields)
    except ValidationError as exc:
        raise BadInput(f"cannot normalize event: {exc.errors()[0].get('msg', 'invalid')}") from exc


def now_utc() -> datetime:
    return datetime.now(tz=UTC)


def credential(account: AccountContext, key: str, default: str | None = None) -> str:
    value = account.credentials.get(key) or default
    if not value:
        raise AuthError(f"{account.network}: credential {key!r} is missing", code="config")
    return value
