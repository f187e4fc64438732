"""One rate budget per target, shared by every worker (issue 11): the policy.

Before a call to a rate-limited service the worker asks ``acquire`` for the tokens it needs; when the
bucket cannot pay, the work is not attempted but rescheduled for the moment it can (no attempt is
counted, no 429 is earned). The call itself runs inside ``metered``, which afterwards settles the
reservation with what really happened (``plugin.http.meter``): the number of requests that went out,
and what the service's headers said about its limit. A 429 empties the bucket until its Retry-After
for everyone (``hold``), beside the existing rate pause (``store.rate_pauses``), when it says what the
bucket counts is spent (``exhausted``): not a Salesforce org's momentary 429, which the pause covers.

Targets (one bucket each, whatever tenant or worker spends from it):

- ``zendesk:<subdomain>``: Zendesk counts requests per account and minute, by plan (API reference,
  "Rate limits": Team 200, Growth and Professional 400, Enterprise 700, Enterprise Plus and the High
  Volume add-on 2,500); Channel Framework pushes count like any other request. The plan comes from the
  connection (``plan`` or ``requests_per_minute``) or ``zendesk_plan``; ``X-Rate-Limit`` /
  ``X-Rate-Limit-Remaining`` (and ``ratelimit-remaining``) on every answer correct it.
- ``salesforce:<org>``: the org's rolling 24-hour API allocation, from ``Sforce-Limit-Info:
  api-usage=used/limit`` on every REST answer (``/limits`` reports the same ``DailyApiRequests``), by
  default ``salesforce_daily_api_requests`` until the first answer says.
- ``account:<id>``: a network account, by the limit its connector declares in ``limits()``
  (``requests_per_window`` per ``window_seconds``), corrected by ``x-rate-limit-remaining`` (X),
  ``ratelimit-remaining`` (Bluesky, IETF draft) and ``X-RateLimit-Remaining`` (Mastodon). Polls and
  replies both spend from it.

The buckets live in the database (``store.rate_budgets``), or in Redis when one is configured
(``rate_budget_backend``, ``rate_budget_redis_url``, a ``redis://`` broker): see README, Configuration.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from plugin.config import Settings
from plugin.connector import Connector
from plugin.http import Meter, header, metering
from plugin.store.rate_budgets import Bucket, BucketSpec
from plugin.store.repo import Store

log = logging.getLogger(__name__)

ZENDESK_PLANS = {"team": 200, "growth": 400, "professional": 400, "enterprise": 700, "enterprise_plus": 2500,
                 "high_volume": 2500}  # fmt: skip
ZENDESK_WINDOW = 60.0
SALESFORCE_WINDOW = 86400.0
BACKENDS = ("auto", "database", "redis", "off")
_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


class BucketStore(Protocol):
    def state(self, target: str) -> Bucket | None: ...
    def take(self, target: str, cost: float, spec: BucketSpec, now: float) -> float: ...
    def adjust(self, target: str, delta: float) -> None: ...
    def observe(self, target: str, remaining: float | None, spec: BucketSpec | None, now: float) -> None: ...
    def hold(self, target: str, until: float, spec: BucketSpec, now: float) -> None: ...


@dataclass(frozen=True)
class Target:
    key: str  # the bucket's name, shared by every worker and tenant that reaches the same service
    spec: BucketSpec  # the documented limit, until the service's headers say otherwise
    kind: str  # "zendesk" | "salesforce" | "network": how its headers are read


def sink_target(settings: Settings, sink: str, config: Mapping[str, Any], tenant_key: str) -> Target | None:
    """The bucket of a CRM connection; None for a sink without a documented limit (a third party's)."""
    headroom = settings.rate_budget_headroom
    if sink == "zendesk":
        per_minute = config.get("requests_per_minute") or ZENDESK_PLANS.get(
            str(config.get("plan") or settings.zendesk_plan).lower().replace(" ", "_"), ZENDESK_PLANS["team"]
        )
        # A Zendesk that counts in another window than the minute (the sandbox's time-scaled benchmarks).
        window = float(config.get("rate_window_seconds") or ZENDESK_WINDOW)
        account = config.get("subdomain") or tenant_key
        return Target(f"zendesk:{account}", BucketSpec(float(per_minute), window, headroom), "zendesk")
    if sink == "salesforce":
        org = config.get("org_id") or config.get("instance_url") or config.get("login_url") or tenant_key
        daily = float(config.get("daily_api_requests") or settings.salesforce_daily_api_requests)
        return Target(f"salesforce:{org}", salesforce_spec(daily, headroom), "salesforce")
    return None


def salesforce_spec(daily: float, headroom: float) -> BucketSpec:
    """An org's rolling 24-hour allocation: spent as the work needs it (up to all but the headroom,
    which stays free for the org's other integrations), since every answer's ``Sforce-Limit-Info``
    caps the bucket at what is really left (``BucketSpec.burst``)."""
    return BucketSpec(daily, SALESFORCE_WINDOW, headroom, burst=1.0 - headroom)


def exhausted(target: Target | None, code: str | None) -> bool:
    """Whether a rate-limit refusal with ``code`` says ``target``'s bucket is spent, so ``hold`` applies.

    Zendesk's and a network's buckets count what their 429s count (requests per window): any 429 does.
    A Salesforce bucket is the org's rolling 24-hour allocation, which only ``DAILY_LIMIT_EXCEEDED``
    says is used up (``plugin.salesforce.api``). A momentary 429 (a burst, concurrent requests) is the
    org's rate pause alone: emptying a daily bucket for it would keep the org waiting for the daily
    refill long after the server's Retry-After (about 76 minutes for a full bucket; the next batch of a
    15,000-a-day org alone waits close to a minute), while that pause already stops every worker.
    """
    if target is None:
        return False
    return target.kind != "salesforce" or code == "DAILY_LIMIT_EXCEEDED"


def account_target(
    settings: Settings, account_id: int, connector: Connector, account_settings: Mapping[str, Any] | None = None
) -> Target | None:
    """The bucket of a network account; None when its connector declares no request limit. The
    account's ``requests_per_window`` (a paid API tier) replaces the connector's published default."""
    limits = connector.limits()
    if not limits.requests_per_window or not limits.window_seconds:
        return None
    per_window = (account_settings or {}).get("requests_per_window") or limits.requests_per_window
    spec = BucketSpec(float(per_window), float(limits.window_seconds), settings.rate_budget_headroom)
    return Target(f"account:{account_id}", spec, "network")


def observed(target: Target, headers: Mapping[str, str]) -> tuple[float | None, BucketSpec | None]:
    """What an answer's headers say: (calls remaining, the real limit as a spec), either may be None."""
    headroom = target.spec.headroom
    if target.kind == "salesforce":
        found = _USAGE.search(header(headers, "Sforce-Limit-Info") or "")
        if not found:
            return None, None
        used, limit = float(found.group(1)), float(found.group(2))
        # The allocation is rolling: keep the headroom free for other integrations of the org.
        return max(0.0, limit * (1.0 - headroom) - used), salesforce_spec(limit, headroom)
    remaining = _number(headers, "X-Rate-Limit-Remaining", "ratelimit-remaining", "X-RateLimit-Remaining")
    if target.kind == "zendesk":
        # Zendesk's X-Rate-Limit is the account's limit per minute (X's x-rate-limit-limit is per
        # endpoint and 15 minutes, so a network's answer never resizes its account's bucket).
        per_minute = _number(headers, "X-Rate-Limit", "ratelimit-limit")
        spec = BucketSpec(per_minute, target.spec.window, headroom) if per_minute else None
        return remaining, spec
    return remaining, None


def _charged(target: Target, meter: Meter) -> int:
    """The calls a service counted against ``target``. A network authenticates before it spends a
    user's limit (X, Mastodon and Bluesky count per user token): a call refused with 401 (an expired
    token, renewed and retried by ``plugin.renewal``) did not spend the account's requests."""
    return meter.calls - meter.refused if target.kind == "network" else meter.calls


def _number(headers: Mapping[str, str], *names: str) -> float | None:
    for name in names:
        raw = header(headers, name)
        if raw is None:
            continue
        try:
            return max(0.0, float(raw.strip()))
        except ValueError:
            continue  # a garbled header only removes a hint
    return None


_REDIS: dict[tuple[str, str], BucketStore] = {}
_REDIS_LOCK = threading.Lock()


def redis_url(settings: Settings) -> str:
    if settings.rate_budget_redis_url:
        return settings.rate_budget_redis_url
    return settings.broker_url if settings.broker_url.startswith(("redis://", "rediss://")) else ""


def bucket_store(settings: Settings, store: Store) -> BucketStore | None:
    """Where the buckets live: Redis when configured (auto) or required, the database otherwise; None: off."""
    backend = settings.rate_budget_backend
    if backend not in BACKENDS:
        raise ValueError(f"rate_budget_backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    if backend == "off":
        return None
    url = redis_url(settings)
    if backend == "redis" and not url:
        raise ValueError("rate_budget_backend = redis needs rate_budget_redis_url or a redis:// broker_url")
    if backend == "database" or not url:
        return store.rate_budgets
    # One deployment is one database: its buckets are named after it, so two deployments (or two
    # test runs) sharing a Redis never spend each other's budgets.
    prefix = f"horseshoe:rate:{hashlib.sha256(settings.resolved_database_url.encode()).hexdigest()[:12]}:"
    with _REDIS_LOCK:
        found = _REDIS.get((url, prefix))
        if found is None:
            from plugin.store.redis_buckets import RedisRateBudgets  # only deployments with Redis need it

            found = _REDIS[(url, prefix)] = RedisRateBudgets.from_url(url, prefix)
        return found


class Budgets:
    """The rate budgets as the worker uses them (one per runtime, cheap to build)."""

    def __init__(self, settings: Settings, store: Store, clock: Any = time.time):
        self.settings = settings
        self.buckets = bucket_store(settings, store)
        self.clock = clock

    @property
    def enabled(self) -> bool:
        return self.buckets is not None

    def acquire(self, target: Target | None, cost: float = 1.0) -> float:
        """Spend ``cost`` tokens now: 0.0 when granted (or no budget applies), else seconds to wait."""
        if self.buckets is None or target is None or cost <= 0:
            return 0.0
        return self.buckets.take(target.key, float(cost), target.spec, self.clock())

    def peek(self, target: Target | None, cost: float = 1.0) -> float:
        """Seconds until ``cost`` tokens are there, read without spending (no write lock): a worker
        asks before claiming work for a target it already knows, so an empty bucket costs one read."""
        if self.buckets is None or target is None:
            return 0.0
        bucket = self.buckets.state(target.key)
        return 0.0 if bucket is None else bucket.wait_for(cost, self.clock())

    @contextmanager
    def metered(self, target: Target | None, reserved: float = 1.0) -> Iterator[None]:
        """Run the calls paid for by ``acquire(target, reserved)``; afterwards charge what went out
        beyond the reservation (or refund what did not) and apply what the headers said."""
        if self.buckets is None or target is None:
            yield
            return
        with metering() as meter:
            try:
                yield
            finally:
                # Nothing metered: the client is not one that reports (an SDK's own transport), so the
                # reservation stands as the count; a refund would let it run unbudgeted.
                extra = float(_charged(target, meter)) - reserved
                if meter.calls and extra:
                    self.buckets.adjust(target.key, -extra)
                if meter.calls:
                    remaining, spec = observed(target, meter.headers)
                    if remaining is not None or spec is not None:
                        self.buckets.observe(target.key, remaining, spec, self.clock())

    def hold(self, target: Target | None, seconds: float) -> None:
        """The service answered 429: nobody spends from ``target`` for ``seconds``."""
        if self.buckets is None or target is None:
            return
        now = self.clock()
        self.buckets.hold(target.key, now + max(0.0, seconds), target.spec, now)
