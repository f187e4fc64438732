from __future__ import annotations

from tests.core.conftest import rt, tenant, testnet  # noqa: F401  (shared fixtures)
