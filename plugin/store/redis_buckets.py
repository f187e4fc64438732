"""The same token buckets in Redis, for deployments with a Redis broker: every spend is one Lua
script, which Redis runs atomically, so any number of workers on any number of hosts share a bucket
without a database round trip. Same semantics as ``rate_budgets.RateBudgetRepository`` (refill and
spend in one step, debt for a batch bigger than the bucket, corrections only ever lower the tokens).

A bucket is a hash ``<prefix><target>`` with the fields of the database row; it expires a day after
its last use (an idle target's bucket would be full again by then anyway).
"""

from __future__ import annotations

from typing import Any

import redis

from plugin.store.rate_budgets import Bucket, BucketSpec

KEEP_SECONDS = 86400 + 3600

# KEYS[1] bucket; ARGV: now, cost, capacity, per_second, limit, window. Returns {granted, wait*1e6}.
_TAKE = """
local b = redis.call('HMGET', KEYS[1], 'capacity', 'per_second', 'tokens', 'stamp')
local now, cost = tonumber(ARGV[1]), tonumber(ARGV[2])
local capacity, rate, tokens, stamp
if b[1] then
  capacity, rate, tokens, stamp = tonumber(b[1]), tonumber(b[2]), tonumber(b[3]), tonumber(b[4])
else
  capacity, rate, tokens, stamp = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[3]), now
  redis.call('HSET', KEYS[1], 'capacity', ARGV[3], 'per_second', ARGV[4], 'limit', ARGV[5], 'window', ARGV[6])
end
local elapsed = now - stamp
if elapsed < 0 then elapsed = 0 end
local have = math.min(capacity, tokens + elapsed * rate)
local need = math.min(cost, capacity) - 0.000001
if have >= need then
  local later = stamp
  if now > stamp then later = now end
  redis.call('HSET', KEYS[1], 'tokens', tostring(have - cost), 'stamp', tostring(later))
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[7]))
  return {1, 0}
end
if not b[1] then
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(stamp))
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[7]))
end
local start = 0
if stamp > now then start = stamp - now end
return {0, math.ceil((start + (need - have) / rate) * 1000000)}
"""

# KEYS[1]; ARGV: delta. Keeps the debt within one bucket.
_ADJUST = """
local b = redis.call('HMGET', KEYS[1], 'capacity', 'tokens')
if not b[1] then return 0 end
local capacity = tonumber(b[1])
local moved = tonumber(b[2]) + tonumber(ARGV[1])
if moved < -capacity then moved = -capacity end
if moved > capacity then moved = capacity end
redis.call('HSET', KEYS[1], 'tokens', tostring(moved))
return 1
"""

# KEYS[1]; ARGV: now, remaining ('' = unknown), capacity, per_second, limit, window ('' = no spec), keep.
_OBSERVE = """
local b = redis.call('HMGET', KEYS[1], 'capacity', 'per_second', 'tokens', 'stamp', 'limit', 'window')
local now = tonumber(ARGV[1])
if not b[1] then
  if ARGV[3] == '' then return 0 end
  b = {ARGV[3], ARGV[4], ARGV[3], ARGV[1], ARGV[5], ARGV[6]}
end
local capacity, rate, tokens, stamp = tonumber(b[1]), tonumber(b[2]), tonumber(b[3]), tonumber(b[4])
local limit, window = b[5], b[6]
if ARGV[3] ~= '' and (tonumber(ARGV[5]) ~= tonumber(limit) or tonumber(ARGV[6]) ~= tonumber(window)) then
  capacity, rate, limit, window = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], ARGV[6]
end
local elapsed = now - stamp
if elapsed < 0 then elapsed = 0 end
local have = math.min(capacity, tokens + elapsed * rate)
if ARGV[2] ~= '' then have = math.min(have, tonumber(ARGV[2])) end
local later = stamp
if now > stamp then later = now end
redis.call('HSET', KEYS[1], 'capacity', tostring(capacity), 'per_second', tostring(rate), 'tokens', tostring(have),
  'stamp', tostring(later), 'limit', tostring(limit), 'window', tostring(window))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[7]))
return 1
"""

# KEYS[1]; ARGV: until, capacity, per_second, limit, window, keep.
_HOLD = """
local b = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens, stamp = 0, tonumber(ARGV[1])
if b[1] then
  tokens = math.min(0, tonumber(b[1]))
  stamp = math.max(tonumber(b[2]), tonumber(ARGV[1]))
else
  redis.call('HSET', KEYS[1], 'capacity', ARGV[2], 'per_second', ARGV[3], 'limit', ARGV[4], 'window', ARGV[5])
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(stamp))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
return 1
"""


class RedisRateBudgets:
    """``RateBudgetRepository``'s interface over one Redis (``prefix`` separates deployments)."""

    def __init__(self, client: redis.Redis, prefix: str = "horseshoe:rate:"):
        self.client = client
        self.prefix = prefix
        self._take = client.register_script(_TAKE)
        self._adjust = client.register_script(_ADJUST)
        self._observe = client.register_script(_OBSERVE)
        self._hold = client.register_script(_HOLD)

    @classmethod
    def from_url(cls, url: str, prefix: str = "horseshoe:rate:") -> RedisRateBudgets:
        return cls(redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5), prefix)

    def _key(self, target: str) -> str:
        return self.prefix + target

    def state(self, target: str) -> Bucket | None:
        raw: dict[bytes, bytes] = self.client.hgetall(self._key(target))  # type: ignore[assignment]
        if not raw:
            return None
        f = {k.decode(): float(v) for k, v in raw.items()}
        return Bucket(target, f["capacity"], f["per_second"], f["tokens"], f["stamp"], f["limit"], f["window"])

    def take(self, target: str, cost: float, spec: BucketSpec, now: float) -> float:
        args = [now, cost, spec.capacity, spec.per_second, spec.limit, spec.window, KEEP_SECONDS]
        granted, wait = self._take(keys=[self._key(target)], args=_text(args))
        return 0.0 if int(granted) else max(int(wait) / 1_000_000, 1e-3)

    def adjust(self, target: str, delta: float) -> None:
        self._adjust(keys=[self._key(target)], args=_text([delta]))

    def observe(self, target: str, remaining: float | None, spec: BucketSpec | None, now: float) -> None:
        shape: list[Any] = (
            ["", "", "", ""] if spec is None else [spec.capacity, spec.per_second, spec.limit, spec.window]
        )
        args = [now, "" if remaining is None else remaining, *shape, KEEP_SECONDS]
        self._observe(keys=[self._key(target)], args=_text(args))

    def hold(self, target: str, until: float, spec: BucketSpec, now: float) -> None:
        args = [until, spec.capacity, spec.per_second, spec.limit, spec.window, KEEP_SECONDS]
        self._hold(keys=[self._key(target)], args=_text(args))


def _text(values: list[Any]) -> list[str]:
    # repr keeps every digit of a float (a Unix time with microseconds); Lua's tonumber reads it back.
    return [v if isinstance(v, str) else repr(float(v)) for v in values]
