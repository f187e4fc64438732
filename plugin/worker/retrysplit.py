"""Split on retry: a delivery that failed goes back to its CRM in a smaller batch each time.

A CRM batch (a Salesforce one makes about ten calls: look-ups, Contacts, personas, Cases, posts)
fails as a whole when any of its calls fails, and counts an attempt for every delivery in it. Big
batches make more calls (look-ups are chunked by id count) and carry every item's trouble, so under
flaky service a large batch rarely gets through and its items collect attempts for failures that were
not theirs. Halving the batch with each failed attempt of its items bounds that: after
``split_depth(max_batch)`` failures a delivery goes alone and from then on fails only for its own
calls; fresh work still goes in full batches. Order is kept (a CRM outage drains oldest first).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

from plugin.sink import DeliveryItem


def split_depth(max_batch: int) -> int:
    """Failed attempts after which a delivery is retried alone: ``ceil(log2(max_batch))``."""
    return max(0, math.ceil(math.log2(max(1, max_batch))))


def retry_size(max_batch: int, attempts: int) -> int:
    """The largest batch for a delivery that already failed ``attempts`` times: ``max_batch`` halved
    per failure (rounded up), never below one."""
    size = max(1, max_batch)
    for _ in range(min(max(0, attempts), split_depth(size))):
        size = (size + 1) // 2
    return size


def retry_batches(items: Sequence[DeliveryItem], max_batch: int) -> Iterator[list[DeliveryItem]]:
    """``items`` in order, in consecutive batches no bigger than the smallest ``retry_size`` of their
    members."""
    batch: list[DeliveryItem] = []
    limit = max(1, max_batch)
    for item in items:
        size = retry_size(max_batch, item.attempts)
        if batch and len(batch) + 1 > min(limit, size):
            yield batch
            batch, limit = [], max(1, max_batch)
        batch.append(item)
        limit = min(limit, size)
    if batch:
        yield batch
