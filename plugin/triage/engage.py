"""Engage or not: what is kept and counted but never becomes a ticket.

Our own posts (from the account itself or another brand handle) and their echoes (our reply coming
back as a mention), plain reposts, spam, bot loops (the same author repeating the same text within
minutes), empty posts, the admin's ignore lists (authors, keywords), and listening hits (found by search,
not addressed to the brand) that are mere chatter: another meaning of the brand word. The first reason that
applies is recorded on the mention's labels and tags, so skipped mentions stay visible.
"""

from __future__ import annotations

from dataclasses import dataclass

from plugin.models import Kind, Mention
from plugin.triage.rules import TenantRules

LISTENING_NOT_FOR_US = frozenset({None, "chatter", "spam"})


@dataclass(frozen=True)
class History:
    """What the store knows around this mention (all False without a store, e.g. ``horseshoe triage``)."""

    has_open_case: bool = False
    repeated_recently: bool = False
    echo_of_our_reply: bool = False
    our_account: bool = False


def skip_reason(
    mention: Mention, rules: TenantRules, folded: str, intent: str | None, spam_sure: bool, history: History
) -> str | None:
    """``spam_sure``: the spam verdict came from a rule or a confident model. A model's hunch alone
    never drops a mention: a customer's message lost as "spam" is worse than an agent closing one."""
    author = mention.author
    handle = (author.handle or "").lstrip("@").lower()
    if author.external_id == mention.account or history.our_account or (handle and handle in rules.brand_handles):
        return "own_post"
    if history.echo_of_our_reply:
        return "echo"
    if mention.kind == Kind.REPOST:
        return "repost"
    if not mention.text.strip() and not mention.attachments:
        return "empty"
    if author.external_id.lower() in rules.ignore_authors or (handle and handle in rules.ignore_authors):
        return "ignored_author"
    if rules.ignore_matcher is not None and rules.ignore_matcher.search(folded):
        return "ignored_keyword"
    if intent == "spam" and spam_sure:
        return "spam"
    if history.repeated_recently:
        return "bot_loop"
    if mention.extra.get("listening") and intent in LISTENING_NOT_FOR_US:
        # Found by search, not addressed to us: only what asks something of the brand (a complaint,
        # a question, praise, a security report) is worth an agent; chatter is another meaning of the word.
        return "listening_not_for_us"
    return None
