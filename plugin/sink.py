"""The contract every CRM sink implements (Zendesk and Salesforce built in; third parties may add one)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .models import Labels, Mention

OutcomeStatus = Literal["delivered", "retry", "failed", "wait_parent"]


@dataclass(frozen=True)
class SinkConnection:
    """A tenant's connection to one CRM, with decrypted settings (never logged)."""

    tenant_id: int
    tenant_key: str
    sink: str
    config: Mapping[str, Any] = field(repr=False)


@dataclass(frozen=True)
class DeliveryItem:
    delivery_id: int
    mention: Mention
    labels: Labels
    attempts: int = 0
    # Where the mention's parent stands in this sink: "delivered" (the CRM knows it), "pending"
    # (queued, not there yet), "failed", or None when the parent is not ours (e.g. a stranger's post).
    parent_state: str | None = None


@dataclass(frozen=True)
class DeliveryOutcome:
    """Per-item result. ``retry``/``wait_parent`` are tried again; ``failed`` needs a human."""

    delivery_id: int
    status: OutcomeStatus
    remote_id: str | None = None
    error: str | None = None
    retry_after: float | None = None


class Sink(ABC):
    name: str = ""
    display_name: str = ""
    max_batch: int = 100

    @abstractmethod
    def deliver(self, connection: SinkConnection, items: list[DeliveryItem]) -> list[DeliveryOutcome]:
        """Deliver a batch; return exactly one outcome per item (any order).

        Raising ``RetriableError`` retries the whole batch; ``AuthError`` fails it for an admin.
        """

    def check(self, connection: SinkConnection) -> list[str]:
        """Problems an admin must fix (for ``horseshoe doctor``); empty when all is well."""
        return []
