"""A test that needs a real service (broker, browser, PostgreSQL) it cannot find.

On a laptop it is skipped with the reason; in CI (``CI`` set, as ``.ci/run`` runs, with every
service provided) a missing service is a failure, never a quiet pass on a stand-in.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def missing(reason: str) -> NoReturn:
    if in_ci():
        pytest.fail(f"CI must provide this: {reason}", pytrace=False)
    pytest.skip(reason)
