"""RetryPolicy: one backoff for polls, deliveries and replies; each gives up by its own measure."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from plugin.config import Settings
from plugin.retry import RETRY_AFTER_CEILING, RetryPolicy

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _policy(**overrides: object) -> RetryPolicy:
    values: dict[str, object] = {"base_seconds": 2.0, "cap_seconds": 60.0, "rng": random.Random(7)}
    values.update(overrides)
    return RetryPolicy(**values)  # type: ignore[arg-type]


def test_backoff_doubles_with_half_jitter_up_to_the_cap() -> None:
    policy = _policy()
    for attempts, ceiling in [(1, 2.0), (2, 4.0), (3, 8.0), (5, 32.0), (6, 60.0), (30, 60.0)]:
        for _ in range(20):
            assert ceiling / 2 <= policy.delay(attempts) <= ceiling


def test_retry_after_is_honoured_when_longer_than_the_backoff() -> None:
    policy = _policy()
    assert policy.delay(1, retry_after=300) == 300
    assert policy.next_attempt(1, retry_after=300, now=NOW) == NOW + timedelta(seconds=300)
    assert policy.delay(6, retry_after=0.5) >= 30  # a shorter Retry-After never shortens the backoff


def test_retry_after_is_clamped_to_a_day_and_nonsense_is_ignored() -> None:
    policy = _policy()
    assert policy.delay(1, retry_after=10 * 86400) == RETRY_AFTER_CEILING == 86400
    assert policy.delay(1, retry_after=float("inf")) <= 2.0
    assert policy.delay(1, retry_after=float("nan")) <= 2.0


def test_replies_give_up_by_attempts() -> None:
    policy = _policy(max_attempts=3)
    assert not policy.gives_up(attempts=2)
    assert policy.gives_up(attempts=3)
    assert policy.give_up_reason(attempts=3) == "gave up after 3 attempts"


def test_deliveries_give_up_by_age_of_the_mention() -> None:
    policy = _policy(give_up_after=timedelta(hours=72))
    assert not policy.gives_up(first_seen=NOW - timedelta(hours=71), now=NOW)
    assert policy.gives_up(first_seen=NOW - timedelta(hours=73), now=NOW)
    # SQLite hands back naive datetimes: they are UTC, not local time.
    assert policy.gives_up(first_seen=(NOW - timedelta(hours=73)).replace(tzinfo=None), now=NOW)
    assert policy.give_up_reason() == "gave up after 72 h"
    # Age alone decides for deliveries: many attempts within the window keep going.
    assert not policy.gives_up(first_seen=NOW - timedelta(hours=1), now=NOW)


def test_without_a_measure_nothing_gives_up() -> None:
    # Polls pass neither: an account keeps being polled, its last_error tells the admin.
    assert not _policy(max_attempts=1).gives_up()


def test_built_from_settings() -> None:
    settings = Settings(backoff_base_seconds=3, backoff_cap_seconds=90, max_attempts=5, give_up_after_hours=1.5)  # type: ignore[call-arg]
    policy = RetryPolicy.from_settings(settings)
    assert (policy.base_seconds, policy.cap_seconds, policy.max_attempts) == (3, 90, 5)
    assert policy.give_up_after == timedelta(minutes=90)
    assert policy.give_up_reason() == "gave up after 1.5 h"
