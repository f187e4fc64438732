"""Triage's queries: what the store knows around a mention (open case, bot loop, echo of our reply,
our own account), triage events (security escalations, praise routed) and the labelled mentions the
Social Promoter Score is computed from. All of triage's SQL lives here.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.exc import SQLAlchemyError

from plugin.models import Mention
from plugin.store import tables as t
from plugin.store.db import Database, as_utc, utcnow

_NOISE = re.compile(r"@\w+|https?://\S+|\s+")
ECHO_WINDOW = timedelta(days=1)
ACCOUNTS_TTL = 60.0  # seconds a tenant's list of brand accounts is reused
RECENT_LIMIT = 20  # rows compared in Python per look-up: enough for a loop, bounded for a busy author


def comparable(text: str) -> str:
    """Text as compared for loops and echoes: no handles or links, case and spacing ignored."""
    return _NOISE.sub(" ", unicodedata.normalize("NFKC", text)).casefold().strip()


class RecordFailed(RuntimeError):
    """An event row could not be written (the caller may retry)."""


@dataclass(frozen=True)
class AuthorHistory:
    our_account: bool
    has_open_case: bool
    repeated_recently: bool
    echo_of_our_reply: bool


def _open_case_query() -> Any:
    """Has the author another mention routed since ``since``? Built once: asked for nearly every
    mention triaged, and building the statement (and its cache key) cost more than running it."""
    m = t.mentions.c
    return select(
        select(m.id)
        .where(
            m.tenant_id == bindparam("tenant_id"),
            m.network == bindparam("network"),
            m.author_external_id == bindparam("author"),
            m.external_id != bindparam("external_id"),
            m.status == "routed",
            m.received_at >= bindparam("since", type_=m.received_at.type),
        )
        .exists()
    )


_OPEN_CASE = _open_case_query()


def _open_cases_query() -> Any:
    """The open-case question for every author of a routing pass at once: per author, how many
    mentions were routed since ``since`` and the least and greatest of their ids, so a busy author
    costs one row, not one per mention (see ``OpenCases``). Built once, like ``_OPEN_CASE``."""
    m = t.mentions.c
    return (
        select(m.network, m.author_external_id, func.min(m.external_id), func.max(m.external_id))
        .where(
            m.tenant_id == bindparam("tenant_id"),
            m.network.in_(bindparam("networks", expanding=True)),
            m.author_external_id.in_(bindparam("authors", expanding=True)),
            m.status == "routed",
            m.received_at >= bindparam("since", type_=m.received_at.type),
        )
        .group_by(m.network, m.author_external_id)
    )


_OPEN_CASES = _open_cases_query()


@dataclass(frozen=True)
class OpenCases:
    """Per (network, author): the least and greatest external id of their routed mentions since the
    window's start. Another one than ``external_id`` exists unless both are that id: the answer of
    ``_OPEN_CASE`` for any mention of theirs, from one row per author."""

    bounds: dict[tuple[str, str], tuple[str, str]]

    def has_other(self, network: str, author: str, external_id: str) -> bool:
        found = self.bounds.get((network, author))
        return found is not None and not (found[0] == found[1] == external_id)


@dataclass(frozen=True)
class ThreadRow:
    id: int
    external_id: str
    author: str
    thread_id: str | None
    received_at: datetime | None
    text: str  # comparable()


@dataclass(frozen=True)
class ReplyContext:
    """What the echo and loop questions read, for a set of replies (mentions with a parent) on one
    network: their own rows, the rows of their authors' threads since the earliest loop window, and
    our recent sent replies. ``answer`` gives each the answer ``TriageRepository.history`` gives."""

    now: datetime
    own: dict[str, tuple[int, datetime | None]]  # external id -> (row id, received at)
    rows: list[ThreadRow]  # newest first
    replies: list[tuple[str, str | None]]  # (comparable text, external id) of our sent replies, newest first

    def answer(self, mention: Mention, loop_minutes: float, loop_repeats: int) -> tuple[bool, bool]:
        """(repeated_recently, echo_of_our_reply), as ``history``'s queries would find them."""
        own = self.own.get(mention.external_id)
        until = (own[1] if own is not None else None) or self.now
        thread, since = mention.thread_id or mention.external_id, until - timedelta(minutes=loop_minutes)
        recent = [
            r.text
            for r in self.rows
            if r.author == mention.author.external_id
            and r.external_id != mention.external_id
            and r.thread_id == thread
            and (own is None or r.id < own[0])
            and r.received_at is not None
            and r.received_at >= since
        ][:RECENT_LIMIT]
        return loop_and_echo(mention, recent, self.replies, loop_repeats)


def loop_and_echo(
    mention: Mention, recent: list[str], replies: list[tuple[str, str | None]], loop_repeats: int
) -> tuple[bool, bool]:
    """(repeated_recently, echo_of_our_reply) from the author's recent thread texts and our replies
    (comparable texts): the rule of ``TriageRepository.history``."""
    text = comparable(mention.text)
    # A loop answers us: only a reply to one of our own recent replies can be one.
    repeated = (
        bool(text)
        and mention.parent_id is not None
        and any(external_id == mention.parent_id for _, external_id in replies)
        and sum(r == text for r in recent) >= loop_repeats
    )
    return repeated, bool(text) and any(r == text for r, _ in replies)


class TriageRepository:
    def __init__(self, db: Database):
        self.db = db
        self._accounts: dict[tuple[int, str], tuple[float, frozenset[str]]] = {}

    def our_account_ids(self, tenant_id: int, network: str) -> frozenset[str]:
        """The tenant's brand account ids on a network, cached for a minute (they rarely change, and
        every mention asks)."""
        key = (tenant_id, network)
        cached = self._accounts.get(key)
        if cached is not None and time.monotonic() - cached[0] < ACCOUNTS_TTL:
            return cached[1]
        a = t.accounts.c
        with self.db.read() as conn:
            ids = frozenset(
                str(v)
                for v in conn.execute(
                    select(a.external_id).where(a.tenant_id == tenant_id, a.network == network)
                ).scalars()
            )
        self._accounts[key] = (time.monotonic(), ids)
        return ids

    def history(
        self,
        tenant_id: int,
        mention: Mention,
        *,
        open_days: float,
        loop_minutes: float,
        loop_repeats: int,
        want_open_case: bool = True,
        now: datetime | None = None,
    ) -> AuthorHistory:
        """``repeated_recently``: this mention answers one of our recent replies, and the author's
        mentions in this thread stored before it, within ``loop_minutes`` before it, include the same
        text at least ``loop_repeats`` times (a bot answering our answers); people repeat "any
        update?" once or twice, not five times in minutes. "Before it" is the store's order (the row
        ids), not when triage runs: a loop's fifth answer is a loop and its first is not, whether each
        was triaged as it came or all of them later (one webhook, one transaction, one routing pass)."""
        now = now or utcnow()
        m = t.mentions.c
        same_author = (
            m.tenant_id == tenant_id,
            m.network == mention.network,
            m.author_external_id == mention.author.external_id,
            m.external_id != mention.external_id,
        )
        our_account = mention.author.external_id in self.our_account_ids(tenant_id, mention.network)
        if not want_open_case and mention.parent_id is None:
            return AuthorHistory(our_account, False, False, False)  # nothing else can matter: no query
        with self.db.read() as conn:
            has_open = False
            if want_open_case:
                found = conn.execute(
                    _OPEN_CASE,
                    {"tenant_id": tenant_id, "network": mention.network, "author": mention.author.external_id,
                     "external_id": mention.external_id, "since": now - timedelta(days=open_days)},
                )  # fmt: skip
                has_open = bool(found.scalar())
            if mention.parent_id is None:
                # Echoes and loops answer something of ours: a post that answers nothing is neither.
                return AuthorHistory(our_account, has_open, False, False)
            own = conn.execute(
                select(m.id, m.received_at).where(
                    m.tenant_id == tenant_id, m.network == mention.network, m.external_id == mention.external_id
                )
            ).first()
            # Not stored (yet): compared with everything stored, as of now.
            before = [m.id < own.id] if own is not None else []
            until = (as_utc(own.received_at) if own is not None else None) or now
            recent = conn.execute(
                select(m.payload)
                .where(
                    *same_author,
                    *before,
                    m.thread_id == (mention.thread_id or mention.external_id),
                    m.received_at >= until - timedelta(minutes=loop_minutes),
                )
                .order_by(m.id.desc())
                .limit(RECENT_LIMIT)
            ).all()
            replies = self._sent_replies(conn, tenant_id, mention.network, now)
        repeated, echo = loop_and_echo(
            mention, [comparable(str(r.payload.get("text", ""))) for r in recent], replies, loop_repeats
        )
        return AuthorHistory(our_account, has_open, repeated, echo)

    def open_cases(self, tenant_id: int, keys: Collection[tuple[str, str]], since: datetime) -> OpenCases:
        """``history``'s open-case answer for every (network, author) in ``keys``, in one query."""
        if not keys:
            return OpenCases({})
        params = {
            "tenant_id": tenant_id,
            "networks": sorted({n for n, _ in keys}),
            "authors": sorted({a for _, a in keys}),
            "since": since,
        }
        with self.db.read() as conn:
            rows = conn.execute(_OPEN_CASES, params).all()
        return OpenCases({(str(r[0]), str(r[1])): (str(r[2]), str(r[3])) for r in rows})

    def reply_context(
        self, tenant_id: int, network: str, mentions: Collection[Mention], loop_minutes: float, now: datetime
    ) -> ReplyContext:
        """What ``history`` reads for the echo and loop questions, for every reply in ``mentions``
        (all on ``network``), in one read transaction of three queries."""
        m = t.mentions.c
        with self.db.read() as conn:
            own = {
                str(r.external_id): (int(r.id), as_utc(r.received_at))
                for r in conn.execute(
                    select(m.id, m.external_id, m.received_at).where(
                        m.tenant_id == tenant_id,
                        m.network == network,
                        m.external_id.in_(sorted({x.external_id for x in mentions})),
                    )
                )
            }
            untils = [(own[x.external_id][1] if x.external_id in own else None) or now for x in mentions]
            rows = [
                ThreadRow(
                    int(r.id),
                    str(r.external_id),
                    str(r.author_external_id),
                    r.thread_id,
                    as_utc(r.received_at),
                    comparable(str(r.payload.get("text", ""))),
                )
                for r in conn.execute(
                    select(m.id, m.external_id, m.author_external_id, m.thread_id, m.received_at, m.payload)
                    .where(
                        m.tenant_id == tenant_id,
                        m.network == network,
                        m.author_external_id.in_(sorted({x.author.external_id for x in mentions})),
                        m.thread_id.in_(sorted({x.thread_id or x.external_id for x in mentions})),
                        m.received_at >= min(untils, default=now) - timedelta(minutes=loop_minutes),
                    )
                    .order_by(m.id.desc())
                )
            ]
            replies = self._sent_replies(conn, tenant_id, network, now)
        return ReplyContext(now, own, rows, replies)

    @staticmethod
    def _sent_replies(conn: Any, tenant_id: int, network: str, now: datetime) -> list[tuple[str, str | None]]:
        """(comparable text, external id) of our latest replies sent on ``network``, newest first."""
        r = t.replies.c
        found = conn.execute(
            select(r.payload, r.external_id)
            .where(
                r.tenant_id == tenant_id, r.network == network, r.status == "sent", r.updated_at >= now - ECHO_WINDOW
            )
            .order_by(r.id.desc())
            .limit(RECENT_LIMIT)
        ).all()
        return [(comparable(str(row.payload.get("text", ""))), row.external_id) for row in found]

    def sent_reply_ids(self, tenant_id: int) -> list[str]:
        """Network ids of our replies that were posted (newest first)."""
        r = t.replies.c
        query = select(r.external_id).where(r.tenant_id == tenant_id, r.status == "sent").order_by(r.id.desc())
        with self.db.read() as conn:
            return [str(v) for v in conn.execute(query).scalars() if v]

    def record(self, tenant_id: int | None, kind: str, data: dict[str, Any]) -> None:
        try:
            with self.db.begin() as conn:
                conn.execute(insert(t.events).values(tenant_id=tenant_id, kind=kind, data=data, created_at=utcnow()))
        except SQLAlchemyError as exc:
            raise RecordFailed(f"recording a {kind} event failed: {exc}") from exc

    def event_counts(self, kinds: tuple[str, ...]) -> dict[str, int]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(t.events.c.kind, func.count()).where(t.events.c.kind.in_(kinds)).group_by(t.events.c.kind)
            ).all()
        return {kind: 0 for kind in kinds} | {str(row[0]): int(row[1]) for row in rows}

    def events(self, kind: str, tenant_id: int | None = None) -> list[dict[str, Any]]:
        query = select(t.events.c.data).where(t.events.c.kind == kind).order_by(t.events.c.id)
        if tenant_id is not None:
            query = query.where(t.events.c.tenant_id == tenant_id)
        with self.db.read() as conn:
            return [dict(row.data) for row in conn.execute(query)]

    def labelled(self, tenant_id: int | None, since: datetime) -> Iterator[tuple[datetime, dict[str, Any]]]:
        """(written at, labels) of every triaged mention since ``since``; for the SPS and counts."""
        m = t.mentions.c
        query = select(m.created_at, m.labels).where(m.labels.is_not(None), m.created_at >= since).order_by(m.id)
        if tenant_id is not None:
            query = query.where(m.tenant_id == tenant_id)
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        for row in rows:
            created = as_utc(row.created_at)
            assert created is not None
            yield created, dict(row.labels or {})

    def intent_counts(self, tenant_id: int | None = None) -> dict[str, int]:
        since = datetime(1970, 1, 1, tzinfo=utcnow().tzinfo)
        return dict(Counter(str(labels.get("intent") or "none") for _, labels in self.labelled(tenant_id, since)))
