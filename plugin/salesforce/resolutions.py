"""Closed Cases, for the resolution figures: the status of the Cases behind the SocialPosts the host
still counts as open, asked in batched queries (two per 200 open conversations, whatever their count
in Salesforce), never one call per record."""

from __future__ import annotations

from datetime import UTC, datetime

from plugin.salesforce.api import SalesforceApi
from plugin.sink import Resolution, ResolutionBatch


def _when(value: object) -> datetime:
    if not isinstance(value, str) or not value:
        return datetime.now(UTC)
    text = value.replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":  # Salesforce's +0000
        text = text[:-2] + ":" + text[-2:]
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def read_closed(api: SalesforceApi, open_posts: list[str]) -> ResolutionBatch:
    """``open_posts``: SocialPost ids. Returns those whose parent Case is closed, with its ClosedDate."""
    if not open_posts:
        return ResolutionBatch(solved=[], cursor=None)
    posts = api.query_in("SELECT Id, ParentId FROM SocialPost WHERE Id IN ({values})", open_posts)
    case_of = {str(p["Id"]): str(p["ParentId"]) for p in posts if p.get("ParentId")}
    if not case_of:
        return ResolutionBatch(solved=[], cursor=None)
    cases = api.query_in(
        "SELECT Id, ClosedDate FROM Case WHERE IsClosed = true AND Id IN ({values})", list(case_of.values())
    )
    closed = {str(c["Id"]): _when(c.get("ClosedDate")) for c in cases}
    solved = [Resolution(post, closed[case]) for post, case in case_of.items() if case in closed]
    return ResolutionBatch(solved=solved, cursor=None)
