"""Replies longer than a network allows: a numbered thread ("1/3 …") or a refusal naming the limit.

Part of the plugin API (connectors import it): pure functions, no host dependencies.

At-most-once for a thread. The outbox posts a reply at most once (``sending`` is committed before the
call; ``OutcomeUnknown`` is never retried), but a thread is several network calls under one reply. If
part 2 fails after part 1 was published, a plain retry of the reply would publish part 1 again. So
``post_thread`` enforces one rule:

* a failure before anything was published keeps its own class (a ``RetriableError`` is retried: no
  part exists yet, so nothing can be doubled);
* a failure after at least one part was published is retried only when the connector declares its
  parts *resumable*: it can recognise a part it already published (Bluesky: the brand's own recent
  records answering the previous part with the same text) and returns that part instead of posting it
  again. Otherwise (X, Mastodon, whose servers would take the same text twice) the failure becomes
  ``OutcomeUnknown`` naming the parts already published, so no automatic retry can repeat them and
  the agent sees exactly where the thread stopped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from plugin.errors import FatalError, HorseshoeError, OutcomeUnknown
from plugin.models import PostResult

# A thread longer than this is refused: ten posts in a row is a wall of text nobody reads on a
# timeline, and an agent should shorten it or move to a private conversation.
MAX_PARTS = 10
_TOKENS = re.compile(r"\S+|\s+")


def numbered(index: int, total: int, text: str) -> str:
    return f"{index}/{total} {text}"


def split_numbered(
    text: str, limit: int, measure: Callable[[str], int] = len, *, max_parts: int = MAX_PARTS, what: str = "characters"
) -> list[str]:
    """``text`` as it fits the network: unchanged when within ``limit`` (as ``measure`` counts it),
    else numbered parts split between words, each within ``limit`` including its "i/n " prefix.
    Raises ``FatalError(code="too_long")`` naming the limit when even ``max_parts`` parts are not enough."""
    if measure(text) <= limit:
        return [text]
    # The prefix is measured at its widest ("10/10 ") so renumbering never pushes a part over.
    widest = numbered(max_parts, max_parts, "")
    room = limit - measure(widest)
    if room < 20:
        raise FatalError(f"reply is {measure(text)} {what}; the limit is {limit}", code="too_long")
    parts = _pack(text, lambda s: measure(widest + s) <= limit, max_parts)
    if parts is None:
        raise FatalError(
            f"reply is {measure(text)} {what}; the limit is {limit} per post and a thread of at most "
            f"{max_parts} posts does not hold it: shorten it or answer privately",
            code="too_long",
        )
    return [numbered(i, len(parts), part) for i, part in enumerate(parts, start=1)]


def refuse_if_too_long(text: str, limit: int, measure: Callable[[str], int] = len, *, network: str,
                       what: str = "characters") -> None:  # fmt: skip
    """For networks (or paths) without threads: refuse a too-long reply with the limit named."""
    length = measure(text)
    if length > limit:
        raise FatalError(
            f"reply is {length} {what}; {network} allows {limit} and has no reply threads on this path",
            code="too_long",
        )


def _pack(text: str, fits: Callable[[str], bool], max_parts: int) -> list[str] | None:
    parts: list[str] = []
    current = ""
    for token in _TOKENS.findall(text.strip()):
        candidate = current + token
        if fits(candidate.strip()):
            current = candidate
            continue
        if current.strip():
            parts.append(current.strip())
        current = token.lstrip() if token.isspace() else token
        while current and not fits(current):  # one word longer than a post: cut it where it fits
            cut = _longest_fitting(current, fits)
            parts.append(current[:cut])
            current = current[cut:]
        if len(parts) > max_parts:
            return None
    if current.strip():
        parts.append(current.strip())
    return parts if len(parts) <= max_parts else None


def _longest_fitting(word: str, fits: Callable[[str], bool]) -> int:
    low, high = 1, len(word)
    while low < high:
        middle = (low + high + 1) // 2
        if fits(word[:middle]):
            low = middle
        else:
            high = middle - 1
    return low


@dataclass(frozen=True)
class ThreadPart:
    index: int  # 1-based
    total: int
    text: str
    in_reply_to: str  # the answered post for part 1, the previous part after that


def post_thread(
    parts: list[str], in_reply_to: str, post: Callable[[ThreadPart], PostResult], *, resumable: bool
) -> PostResult:
    """Publish ``parts`` in order, each answering the previous one; the result is the first part's id
    (the reply proper, which the CRM links to) with every part's id in ``parts``."""
    posted: list[PostResult] = []
    target = in_reply_to
    for index, text in enumerate(parts, start=1):
        try:
            result = post(ThreadPart(index, len(parts), text, target))
        except HorseshoeError as exc:
            if not posted or resumable:
                raise
            done = ", ".join(p.external_id for p in posted)
            raise OutcomeUnknown(
                f"thread stopped after part {len(posted)} of {len(parts)} (published: {done}); "
                f"part {index} failed: {exc}. Not retried automatically, so no part is posted twice: "
                "post the rest by hand"
            ) from exc
        posted.append(result)
        target = result.external_id
    first = posted[0]
    return PostResult(external_id=first.external_id, url=first.url, parts=[p.external_id for p in posted])
