"""Which tenant a hook call is made for.

Hook signatures are a stable public contract and carry no tenant, yet a resolver must never look
across tenants. The host sets this context around every per-mention hook call; plugins read it with
``current_tenant()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Tenant:
    id: int
    key: str  # Zendesk subdomain / Salesforce org id


_current: ContextVar[Tenant | None] = ContextVar("horseshoe_tenant", default=None)


def current_tenant() -> Tenant | None:
    return _current.get()


@contextmanager
def tenant_context(tenant: Tenant) -> Iterator[Tenant]:
    token = _current.set(tenant)
    try:
        yield tenant
    finally:
        _current.reset(token)
