"""What triage reads once per routing pass instead of once per mention (issue 11).

``Triager.label`` asks the store, per mention, whether its author has an open case and, for a reply,
whether it echoes or loops on one of ours. Within a pass (``plugin.context.current_pass``) one
``PassHistory`` per tenant answers those for every mention of the pass, each question read with one
query the first time a mention needs it: the open case for every author of the pass, the thread rows
and our sent replies for every reply of the pass on a network. The answers are the per-mention
queries' (``TriageRepository.history``): nothing of the pass is routed before a group commit, and
after one (``RoutingPass.epoch``) the pass's reads are made again. Outside a pass, or for a mention
that is not the pass's, the per-mention queries run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from plugin.context import current_pass
from plugin.models import Mention
from plugin.store.db import utcnow
from plugin.store.triage import AuthorHistory, OpenCases, ReplyContext, TriageRepository


@dataclass
class PassHistory:
    repository: TriageRepository
    tenant_id: int
    mentions: tuple[Mention, ...]
    now: datetime = field(default_factory=utcnow)  # the per-mention queries' "now", once for the pass
    _open: dict[float, OpenCases] = field(default_factory=dict)  # by open_days
    _replies: dict[tuple[str, float], ReplyContext] = field(default_factory=dict)  # by network, loop minutes
    _ids: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        # The host hands triage the pass's own objects: a set of their ids answers "is this one of
        # the pass's?" without comparing every field of 200 mentions per call.
        self._ids = frozenset(id(m) for m in self.mentions)

    @classmethod
    def for_mention(cls, repository: TriageRepository, tenant_id: int, mention: Mention) -> PassHistory | None:
        """The current pass's history reads for this tenant when ``mention`` is one of the pass's;
        else None (the caller asks the store for this mention alone)."""
        scope = current_pass()
        if scope is None:
            return None
        # Keyed by the epoch: after a group commit routed some mentions, their authors' open cases are
        # read again (the pass's later mentions see them, as they would one by one).
        memo_key = ("triage-history", id(repository), tenant_id, scope.epoch)
        found = scope.memo.get(memo_key)
        if not isinstance(found, PassHistory):
            found = cls(repository, tenant_id, scope.mentions.get(tenant_id, ()))
            scope.memo[memo_key] = found
        return found if id(mention) in found._ids else None

    def history(
        self, mention: Mention, *, open_days: float, loop_minutes: float, loop_repeats: int, want_open_case: bool
    ) -> AuthorHistory:
        """``TriageRepository.history``'s answer for a mention of the pass."""
        network, author = mention.network, mention.author.external_id
        our_account = author in self.repository.our_account_ids(self.tenant_id, network)
        has_open = want_open_case and self._open_cases(open_days).has_other(network, author, mention.external_id)
        if mention.parent_id is None:
            # Echoes and loops answer something of ours: a post that answers nothing is neither.
            return AuthorHistory(our_account, has_open, False, False)
        repeated, echo = self._reply_context(network, loop_minutes).answer(mention, loop_minutes, loop_repeats)
        return AuthorHistory(our_account, has_open, repeated, echo)

    def _open_cases(self, open_days: float) -> OpenCases:
        found = self._open.get(open_days)
        if found is None:
            keys = {(m.network, m.author.external_id) for m in self.mentions}
            since = self.now - timedelta(days=open_days)
            found = self._open[open_days] = self.repository.open_cases(self.tenant_id, keys, since)
        return found

    def _reply_context(self, network: str, loop_minutes: float) -> ReplyContext:
        found = self._replies.get((network, loop_minutes))
        if found is None:
            replies = [m for m in self.mentions if m.network == network and m.parent_id is not None]
            found = self.repository.reply_context(self.tenant_id, network, replies, loop_minutes, self.now)
            self._replies[(network, loop_minutes)] = found
        return found
