"""The per-CRM identity adapter contract: Zendesk in ``identity_zendesk.py``, Salesforce (SocialPersona
re-parenting, SOQL ``IN`` look-ups) in ``identity_salesforce.py``.

Adapters are built per tenant connection and per batch: ``lookup`` must batch its CRM calls (one query
for many keys) and may cache within its own lifetime; the service builds a fresh adapter per batch.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from plugin.identity.scoring import Candidate
from plugin.models import SocialProfile


@dataclass(frozen=True)
class LookupKeys:
    """Everything to search for in one batch. The adapter returns candidates for all of it at once."""

    record_ids: frozenset[str] = frozenset()  # records we already link to (re-validated)
    emails: frozenset[str] = frozenset()
    phones: frozenset[str] = frozenset()
    # (network, author id) of the profiles being resolved: CRMs that store social profiles on records
    # (Salesforce SocialPersona) find the records already carrying them in the same batch.
    profiles: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True)
class LinkResult:
    """What ``link`` did in the CRM, for the audit (and for ``undo``)."""

    actions: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class MergeResult:
    merged: list[str]  # record ids merged into the target
    snapshots: list[dict[str, Any]]  # taken BEFORE each merge
    reversible: bool


class NotReversible(Exception):
    """The CRM cannot undo this action (Zendesk merges)."""


class IdentityAdapter(ABC):
    sink: str = ""
    # Whether a merge can be undone in this CRM. Zendesk: no. Salesforce re-parenting: yes.
    merge_reversible: bool = False

    @abstractmethod
    def lookup(self, keys: LookupKeys) -> list[Candidate]:
        """Candidates for every key, in as few CRM calls as the API allows."""

    @abstractmethod
    def link(self, profile: SocialProfile, record_id: str) -> LinkResult:
        """Attach the social profile to the record so that future mentions land there (idempotent)."""

    @abstractmethod
    def duplicates_of(self, profiles: Iterable[SocialProfile], target_ids: Mapping[str, str]) -> dict[str, list[str]]:
        """Records the CRM created on its own for these profiles (key ``network:external_id``), other than
        the target ``target_ids[key]``; batched."""

    @abstractmethod
    def merge(self, source_id: str, target_id: str) -> MergeResult:
        """Merge ``source_id`` into ``target_id``; snapshot first. Only called for auto links above the
        high threshold or accepted suggestions."""

    @abstractmethod
    def undo(self, action: Mapping[str, Any]) -> dict[str, Any]:
        """Reverse one recorded action (from ``LinkResult.actions``); raise ``NotReversible`` if the CRM
        cannot."""

    def calls(self) -> int:
        """CRM requests made so far (for throughput figures)."""
        return 0
