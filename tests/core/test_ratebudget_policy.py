"""The rate budget policy (issue 11): which bucket a call spends from, what the documented limits are,
and what a service's headers say. Pure functions and settings; the buckets have their own tests."""

from __future__ import annotations

import pytest
import requests

from plugin.config import Settings
from plugin.http import record
from plugin.models import Limits
from plugin.ratebudget import Budgets, Target, account_target, bucket_store, exhausted, observed, sink_target
from plugin.runtime import Runtime
from plugin.store.rate_budgets import BucketSpec
from tests.support.netplugin import TestNetConnector

SETTINGS = Settings(secret_key="k")


def test_zendesk_is_budgeted_per_account_by_plan_until_its_headers_say() -> None:
    default = sink_target(SETTINGS, "zendesk", {"subdomain": "acme"}, "tenant-a")
    assert default is not None and default.key == "zendesk:acme" and default.spec.limit == 200  # Team
    enterprise = sink_target(SETTINGS, "zendesk", {"subdomain": "acme", "plan": "Enterprise"}, "tenant-b")
    assert enterprise is not None and (enterprise.key, enterprise.spec.limit, enterprise.spec.window) == (
        "zendesk:acme", 700, 60)  # fmt: skip
    custom = sink_target(SETTINGS, "zendesk", {"subdomain": "acme", "requests_per_minute": 2500}, "t")
    assert custom is not None and custom.spec.limit == 2500
    remaining, spec = observed(default, {"X-Rate-Limit": "700", "X-Rate-Limit-Remaining": "699"})
    assert remaining == 699 and spec == BucketSpec(700, 60, 0.05)
    assert observed(default, {"ratelimit-limit": "400", "ratelimit-remaining": "12"}) == (12, BucketSpec(400, 60, 0.05))
    assert observed(default, {"X-Rate-Limit-Remaining": "soon"}) == (None, None), "a garbled header is no hint"


def test_salesforce_is_budgeted_per_org_by_its_daily_allocation() -> None:
    target = sink_target(SETTINGS, "salesforce", {"instance_url": "https://acme.my.salesforce.com"}, "t")
    assert target is not None and target.key == "salesforce:https://acme.my.salesforce.com"
    assert (target.spec.limit, target.spec.window) == (100_000, 86_400)
    remaining, spec = observed(target, {"Sforce-Limit-Info": "api-usage=18/15000"})
    assert remaining == pytest.approx(15000 * 0.95 - 18) and spec == BucketSpec(15000, 86400, 0.05, burst=0.95)
    # A bad day's burst goes out at once, up to what the org has left (not paced over the day), and
    # the headroom stays free for the org's other integrations.
    assert spec.capacity == pytest.approx(15000 * 0.95) and target.spec.capacity == pytest.approx(95_000)
    assert sink_target(SETTINGS, "a-third-party-crm", {}, "t") is None, "no documented limit, no bucket"


def test_only_a_429_about_what_a_bucket_counts_empties_it() -> None:
    zendesk = sink_target(SETTINGS, "zendesk", {"subdomain": "acme"}, "t")
    salesforce = sink_target(SETTINGS, "salesforce", {"org_id": "00D1"}, "t")
    assert exhausted(zendesk, None) and exhausted(zendesk, "429"), "Zendesk's 429 is its per-minute limit"
    assert exhausted(salesforce, "DAILY_LIMIT_EXCEEDED"), "the org's 24-hour allocation is used up"
    # A momentary 429 (a burst, concurrent requests) says nothing of the daily allocation: the org's rate
    # pause covers it; emptying the daily bucket would keep the org waiting long after its Retry-After.
    assert not exhausted(salesforce, "REQUEST_LIMIT_EXCEEDED") and not exhausted(salesforce, None)
    assert not exhausted(None, "429"), "no bucket, nothing to hold"


def test_a_network_account_is_budgeted_by_the_limits_its_connector_declares() -> None:
    connector = TestNetConnector()
    assert account_target(SETTINGS, 7, connector) is None  # declares none
    connector.limits = lambda: Limits(max_text_length=280, requests_per_window=300, window_seconds=900)  # type: ignore[method-assign]
    target = account_target(SETTINGS, 7, connector)
    assert target == Target("account:7", BucketSpec(300, 900, 0.05), "network")
    # An account on a paid API tier says so in its settings; the window stays the network's.
    paid = account_target(SETTINGS, 7, connector, {"requests_per_window": 9000})
    assert paid == Target("account:7", BucketSpec(9000, 900, 0.05), "network")
    assert account_target(SETTINGS, 7, connector, {"requests_per_window": None}) == target
    # X, Bluesky and Mastodon report what is left; a network's limit header never resizes the bucket
    # (X's is per endpoint).
    assert observed(target, {"x-rate-limit-limit": "75", "x-rate-limit-remaining": "3"}) == (3, None)
    assert observed(target, {"ratelimit-remaining": "2999"}) == (2999, None)
    assert observed(target, {"X-RateLimit-Remaining": "0"}) == (0, None)


def test_where_the_buckets_live(runtime: Runtime) -> None:
    store = runtime.store
    assert bucket_store(Settings(secret_key="k"), store) is store.rate_budgets
    assert bucket_store(Settings(secret_key="k", rate_budget_backend="off"), store) is None
    with pytest.raises(ValueError, match="needs rate_budget_redis_url"):
        bucket_store(Settings(secret_key="k", rate_budget_backend="redis"), store)
    with pytest.raises(ValueError, match="must be one of"):
        bucket_store(Settings(secret_key="k", rate_budget_backend="memcached"), store)
    # A Redis broker puts them in Redis (named after the database: deployments never share one).
    from plugin.store.redis_buckets import RedisRateBudgets

    one = bucket_store(Settings(secret_key="k", broker_url="redis://127.0.0.1:9/0", database_url="sqlite:///a"), store)
    two = bucket_store(Settings(secret_key="k", broker_url="redis://127.0.0.1:9/0", database_url="sqlite:///b"), store)
    assert isinstance(one, RedisRateBudgets) and isinstance(two, RedisRateBudgets) and one.prefix != two.prefix
    amqp = Settings(secret_key="k", broker_url="amqp://guest@127.0.0.1//")
    assert bucket_store(amqp, store) is store.rate_budgets


def _answer(status: int) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    return response


def test_a_refused_token_is_not_charged_to_the_network_account(runtime: Runtime) -> None:
    """A network authenticates before it spends a user's limit: the 401 that made horseshoe renew the
    token (plugin.renewal) cost the account nothing; a CRM's answers are all charged as before."""
    budgets = Budgets(runtime.settings, runtime.store, clock=lambda: 1000.0)
    assert budgets.buckets is not None
    account = Target("account:7", BucketSpec(300, 900, 0.05), "network")  # a bucket of 15
    assert budgets.acquire(account) == 0.0
    with budgets.metered(account):
        record(_answer(401))  # the expired token, refused
        record(_answer(200))  # the same call after the renewal
    bucket = budgets.buckets.state(account.key)
    assert bucket is not None and bucket.tokens == pytest.approx(14)
    zendesk = Target("zendesk:acme", BucketSpec(200, 60, 0.05), "zendesk")  # a bucket of 10
    assert budgets.acquire(zendesk) == 0.0
    with budgets.metered(zendesk):
        record(_answer(401))
        record(_answer(200))
    bucket = budgets.buckets.state(zendesk.key)
    assert bucket is not None and bucket.tokens == pytest.approx(8)
