"""poll(): cursor pagination through the Graph fake, resumable from any returned cursor."""

from __future__ import annotations

from datetime import timedelta

from connectors.facebook import FacebookConnector
from connectors.instagram import InstagramConnector
from connectors.messenger import MessengerConnector
from connectors.meta import now_utc
from plugin.connector import Connector, PollPage
from plugin.models import Mention
from sandbox.meta import DEFAULT_IG_ID, DEFAULT_PAGE_ID

from .conftest import Meta


def drain(connector: Connector, account, cursor: str | None, max_calls: int = 200) -> tuple[list[Mention], str]:
    found: list[Mention] = []
    for _ in range(max_calls):
        page: PollPage = connector.poll(account, cursor)
        found.extend(page.mentions)
        assert page.cursor is not None
        cursor = page.cursor
        if not page.more:
            return found, cursor
    raise AssertionError("poll never finished")


def test_facebook_fresh_cursor_starts_now(meta: Meta) -> None:
    account = meta.account("facebook")
    page = FacebookConnector().poll(account, None)
    assert page.mentions == [] and page.cursor and not page.more


def test_facebook_poll_paginates_posts_and_comments_and_resumes(meta: Meta) -> None:
    state = meta.state
    start = now_utc() - timedelta(hours=2)
    own_post = state.inject_post(DEFAULT_PAGE_ID, DEFAULT_PAGE_ID, "Our launch!", start + timedelta(minutes=1))
    visitor = state.inject_post(DEFAULT_PAGE_ID, "2001", "Visitor complaint", start + timedelta(minutes=2))
    comment_ids = [
        state.inject_comment(own_post, f"30{i:02d}", f"comment {i}", created_at=start + timedelta(minutes=3 + i))
        for i in range(7)
    ]
    reply = state.inject_comment(
        own_post, "3100", "a reply", parent_id=comment_ids[0], created_at=start + timedelta(minutes=20)
    )
    state.inject_comment(
        own_post, DEFAULT_PAGE_ID, "our answer", parent_id=comment_ids[0], created_at=start + timedelta(minutes=21)
    )
    account = meta.account("facebook", page_size=3, backfill_since=(start - timedelta(minutes=1)).isoformat())
    connector = FacebookConnector()

    # First step by step: several pages, each call returning a resumable cursor.
    first = connector.poll(account, None)
    assert first.more
    mentions, cursor = drain(connector, account, first.cursor)
    mentions = first.mentions + mentions
    ids = {m.external_id for m in mentions}
    assert visitor in ids and reply in ids and set(comment_ids) <= ids
    assert own_post not in ids  # the Page's own post is not a mention
    assert all(m.author.external_id != DEFAULT_PAGE_ID for m in mentions)
    by_id = {m.external_id: m for m in mentions}
    assert by_id[reply].kind == "reply" and by_id[reply].parent_id == comment_ids[0]
    assert by_id[comment_ids[3]].thread_id == own_post and by_id[comment_ids[3]].parent_id == own_post

    # Resume from the finished cursor: only what is new (plus the boundary item, deduped by the inbox).
    newer = state.inject_comment(visitor, "4000", "later comment")
    again, _ = drain(connector, account, cursor)
    again_ids = {m.external_id for m in again}
    assert newer in again_ids
    assert not (again_ids - {newer, reply}) & set(comment_ids)


def test_facebook_poll_resumes_mid_sweep_after_restart(meta: Meta) -> None:
    state = meta.state
    start = now_utc() - timedelta(hours=1)
    post = state.inject_post(DEFAULT_PAGE_ID, DEFAULT_PAGE_ID, "post", start)
    made = [
        state.inject_comment(post, f"50{i}", f"c{i}", created_at=start + timedelta(minutes=i + 1)) for i in range(5)
    ]
    account = meta.account("facebook", page_size=2, backfill_since=(start - timedelta(minutes=1)).isoformat())
    connector = FacebookConnector()
    step1 = connector.poll(account, None)  # feed page
    step2 = connector.poll(account, step1.cursor)  # first comments page
    # A "restarted" process continues from step2's cursor only.
    rest, _ = drain(connector, account, step2.cursor)
    seen = [m.external_id for m in step1.mentions + step2.mentions + rest]
    assert sorted(set(seen)) == sorted(made)


def test_messenger_poll_reads_conversations(meta: Meta) -> None:
    state = meta.state
    start = now_utc() - timedelta(hours=3)
    mids = [
        state.inject_message(DEFAULT_PAGE_ID, f"60{i}", f"hello {i}", start + timedelta(minutes=i)) for i in range(4)
    ]
    account = meta.account("messenger", page_size=2, backfill_hours=4)
    found, cursor = drain(MessengerConnector(), account, None)
    assert {m.external_id for m in found} == set(mids)
    assert all(m.kind == "direct" and m.visibility == "private" and m.thread_id == m.author.external_id for m in found)
    fresh = state.inject_message(DEFAULT_PAGE_ID, "601", "one more")
    again, _ = drain(MessengerConnector(), account, cursor)
    assert fresh in {m.external_id for m in again}


def test_instagram_poll_reads_media_comments_and_replies(meta: Meta) -> None:
    state = meta.state
    start = now_utc() - timedelta(hours=1)
    media = state.inject_ig_media(DEFAULT_IG_ID, "new drop", start)
    top = state.inject_ig_comment(media, "7001", "love it", created_at=start + timedelta(minutes=1))
    sub = state.inject_ig_comment(media, "7002", "me too", parent_id=top, created_at=start + timedelta(minutes=2))
    state.inject_ig_comment(media, DEFAULT_IG_ID, "thanks!", parent_id=top, created_at=start + timedelta(minutes=3))
    account = meta.account("instagram", page_size=1, backfill_hours=2)
    found, _ = drain(InstagramConnector(), account, None)
    by_id = {m.external_id: m for m in found}
    assert set(by_id) == {top, sub}
    assert by_id[sub].parent_id == top and by_id[sub].kind == "reply" and by_id[top].thread_id == media
