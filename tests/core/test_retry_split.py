"""Split on retry (plugin/worker/retrysplit.py): a delivery that failed goes back in a smaller batch."""

from __future__ import annotations

from datetime import UTC, datetime

from plugin.models import Author, Labels, Mention
from plugin.sink import DeliveryItem
from plugin.worker.retrysplit import retry_batches, retry_size, split_depth


def _item(delivery_id: int, attempts: int) -> DeliveryItem:
    mention = Mention(
        network="x",
        external_id=str(delivery_id),
        thread_id=str(delivery_id),
        author=Author(external_id="1"),
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        account="brand",
    )
    return DeliveryItem(delivery_id=delivery_id, mention=mention, labels=Labels(), attempts=attempts)


def test_each_failure_halves_the_batch_until_a_delivery_goes_alone() -> None:
    assert [retry_size(200, a) for a in range(10)] == [200, 100, 50, 25, 13, 7, 4, 2, 1, 1]
    assert split_depth(200) == 8 and split_depth(100) == 7 and split_depth(1) == 0
    assert retry_size(1, 5) == 1 and retry_size(100, 0) == 100


def test_fresh_work_goes_in_full_batches_and_order_is_kept() -> None:
    fresh = [_item(i, 0) for i in range(250)]
    batches = list(retry_batches(fresh, 100))
    assert [len(b) for b in batches] == [100, 100, 50]
    assert [i.delivery_id for b in batches for i in b] == list(range(250))


def test_a_batch_is_no_bigger_than_its_most_failed_member_allows() -> None:
    # 10 fresh, then 10 that failed twice (batches of 25 at most when max_batch is 100), then fresh.
    items = [_item(i, 0) for i in range(10)] + [_item(i, 2) for i in range(10, 40)] + [_item(40, 8)]
    sizes = [[i.delivery_id for i in b] for b in retry_batches(items, 100)]
    assert [len(b) for b in sizes] == [25, 15, 1]
    assert [d for batch in sizes for d in batch] == list(range(41))
