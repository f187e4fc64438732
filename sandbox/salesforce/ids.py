"""Salesforce record Ids: 3-char key prefix + 12-char body = 15 chars, plus a 3-char case-safe suffix.

The 18-char form's suffix encodes, for each 5-char chunk of the 15-char Id, which characters are upper
case (bit i set when chunk[i] is A-Z), mapped through ``A-Z0-5``. The REST API always returns 18-char
Ids and accepts either form.
"""

from __future__ import annotations

import re
import string

_SUFFIX_ALPHABET = string.ascii_uppercase + "012345"
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_ID_RE = re.compile(r"^[a-zA-Z0-9]{15}([a-zA-Z0-5]{3})?$")
# Two characters standing in for the instance/pod part of a real Id; fixed so Ids are deterministic.
_POD = "5g"


def case_safe_suffix(id15: str) -> str:
    out = []
    for start in (0, 5, 10):
        bits = 0
        for i, ch in enumerate(id15[start : start + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        out.append(_SUFFIX_ALPHABET[bits])
    return "".join(out)


def make_id(prefix: str, number: int) -> str:
    """Deterministic 18-char Id for the ``number``-th record with this key prefix."""
    body = ""
    n = number
    while n:
        n, r = divmod(n, 62)
        body = _BASE62[r] + body
    body = body.rjust(10, "0")
    if len(body) > 10:
        raise ValueError("record number out of range")
    id15 = prefix + _POD + body
    return id15 + case_safe_suffix(id15)


def normalize(value: str) -> str | None:
    """Return the 18-char form of a 15- or 18-char Id, or None when ``value`` is not Id-shaped."""
    if not isinstance(value, str) or not _ID_RE.match(value):
        return None
    id15 = value[:15]
    return id15 + case_safe_suffix(id15)


def key_prefix(value: str) -> str:
    return value[:3]
