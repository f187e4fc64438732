"""One rate budget per target, shared by every worker (issue 11): the token buckets themselves.

Each scenario runs on SQLite, on PostgreSQL (HORSESHOE_TEST_POSTGRES_URL) and on Redis
(HORSESHOE_TEST_REDIS_URL): a backend whose URL is unset is skipped with the reason on a laptop and
fails in CI (tests/support/requires.py). Two independent store instances (two connection pools, or
two Redis clients), as two worker processes would have, spend from one bucket at once. The clock is
passed in, so the counts are exact: no test here depends on how fast the machine is.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator

import pytest

from plugin.ratebudget import BucketStore
from plugin.store.db import Database
from plugin.store.rate_budgets import BucketSpec, RateBudgetRepository
from tests.support.requires import missing

REDIS_URL = os.environ.get("HORSESHOE_TEST_REDIS_URL", "")
NOW = 1_800_000_000.0
SPEC = BucketSpec(limit=1000, window=3600, headroom=0.05)  # 50 tokens, refills 950 an hour


@pytest.fixture(params=["sqlite", "postgres", "redis"])
def two_stores(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[Callable[[], BucketStore]]:
    """A factory of independent bucket stores over ONE shared backend."""
    if request.param == "redis":
        if not REDIS_URL:
            missing("HORSESHOE_TEST_REDIS_URL is not set (CI sets it); the Redis buckets were not tested")
        from plugin.store.redis_buckets import RedisRateBudgets

        prefix = f"horseshoe-test:{uuid.uuid4().hex}:"  # parallel test processes never share a bucket
        made: list[RedisRateBudgets] = []

        def redis_store() -> BucketStore:
            found = RedisRateBudgets.from_url(REDIS_URL, prefix=prefix)
            found.client.ping()  # Redis down while its URL is set: a failure, never a skip
            made.append(found)
            return found

        yield redis_store
        for found in made:
            for key in found.client.scan_iter(f"{prefix}*"):
                found.client.delete(key)
            found.client.close()
        return
    url = f"sqlite:///{tmp_path}/buckets.db" if request.param == "sqlite" else _postgres(request)
    databases: list[Database] = []

    def db_store() -> BucketStore:
        db = Database(url)
        if not databases:
            db.upgrade()
        databases.append(db)
        return RateBudgetRepository(db)

    yield db_store
    for db in databases:
        db.dispose()


def _postgres(request: pytest.FixtureRequest) -> str:
    from tests.conftest import _reset_postgres

    url: str = request.getfixturevalue("postgres_database")
    _reset_postgres(url)
    return url


def test_two_stores_spending_at_once_never_pass_the_bucket(two_stores: Callable[[], BucketStore]) -> None:
    first, second = two_stores(), two_stores()
    granted: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def spend(store: BucketStore) -> None:
        start.wait()
        won = sum(1 for _ in range(20) if store.take("zendesk:acme", 1, SPEC, NOW) == 0.0)
        with lock:
            granted.append(won)

    threads = [threading.Thread(target=spend, args=(store,)) for store in (first, second) * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 160 tries, no time passes: exactly the bucket's 50 tokens are spent, whoever raced for them.
    assert sum(granted) == SPEC.capacity == 50
    bucket = first.state("zendesk:acme")
    assert bucket is not None and bucket.tokens == pytest.approx(0.0)


def test_a_refused_spend_says_when_the_refill_covers_it(two_stores: Callable[[], BucketStore]) -> None:
    store = two_stores()
    assert store.take("account:1", 50, SPEC, NOW) == 0.0
    wait = store.take("account:1", 2, SPEC, NOW)
    assert wait == pytest.approx(2 / SPEC.per_second)
    assert store.take("account:1", 2, SPEC, NOW + wait * 0.99) > 0.0, "not a moment early"
    assert store.take("account:1", 2, SPEC, NOW + wait) == 0.0
    # Another store sees the same bucket: nothing left.
    assert two_stores().take("account:1", 1, SPEC, NOW + wait) > 0.0


def test_a_batch_bigger_than_the_bucket_goes_out_once_full_and_leaves_a_debt(
    two_stores: Callable[[], BucketStore],
) -> None:
    store = two_stores()
    assert store.take("zendesk:big", 80, SPEC, NOW) == 0.0, "a full bucket lets any batch through"
    bucket = store.state("zendesk:big")
    assert bucket is not None and bucket.tokens == pytest.approx(-30.0)
    # The debt is paid back before anyone spends again: 31 tokens' worth of refill for one call.
    assert store.take("zendesk:big", 1, SPEC, NOW) == pytest.approx(31 / SPEC.per_second)


def test_headers_only_lower_the_tokens_and_set_the_real_limit(two_stores: Callable[[], BucketStore]) -> None:
    store = two_stores()
    assert store.take("zendesk:acme", 1, SPEC, NOW) == 0.0
    store.observe("zendesk:acme", 5, None, NOW)  # X-Rate-Limit-Remaining: 5 (someone else spends too)
    bucket = store.state("zendesk:acme")
    assert bucket is not None and bucket.tokens == pytest.approx(5.0)
    store.observe("zendesk:acme", 999, None, NOW)  # a higher figure never adds tokens
    assert store.state("zendesk:acme").tokens == pytest.approx(5.0)  # type: ignore[union-attr]
    enterprise = BucketSpec(limit=700, window=60, headroom=0.05)
    store.observe("zendesk:acme", None, enterprise, NOW)  # X-Rate-Limit: 700 (the plan, per minute)
    resized = store.state("zendesk:acme")
    assert resized is not None
    assert (resized.limit, resized.window, resized.capacity) == (700, 60, pytest.approx(35.0))
    assert resized.per_second == pytest.approx(700 * 0.95 / 60)


def test_a_429_holds_the_bucket_empty_until_its_retry_after(two_stores: Callable[[], BucketStore]) -> None:
    store, other = two_stores(), two_stores()
    store.hold("zendesk:acme", NOW + 30, SPEC, NOW)  # the first word about this target is a 429
    assert other.take("zendesk:acme", 1, SPEC, NOW + 29) == pytest.approx(1 + 1 / SPEC.per_second, rel=0.01)
    assert other.take("zendesk:acme", 1, SPEC, NOW + 30 + 1 / SPEC.per_second) == 0.0


def test_adjust_refunds_unused_and_charges_extra_calls(two_stores: Callable[[], BucketStore]) -> None:
    store = two_stores()
    assert store.take("salesforce:org", 10, SPEC, NOW) == 0.0
    store.adjust("salesforce:org", 7)  # reserved 10, 3 went out
    assert store.state("salesforce:org").tokens == pytest.approx(47.0)  # type: ignore[union-attr]
    store.adjust("salesforce:org", -500)  # far more went out than reserved: the debt is one bucket at most
    assert store.state("salesforce:org").tokens == pytest.approx(-50.0)  # type: ignore[union-attr]
