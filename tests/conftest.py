"""Shared fixtures: a runtime on a fresh database (SQLite always; PostgreSQL when CI gives a URL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from plugin import egress
from plugin.config import Settings
from plugin.runtime import Runtime, build_runtime
from plugin.store.db import normalize_url
from tests.support.media import image_host  # noqa: F401  (a shared fixture: attachment URLs)
from tests.support.requires import missing

POSTGRES_URL = os.environ.get("HORSESHOE_TEST_POSTGRES_URL", "")


def fast_settings(data_dir: str, database_url: str = "", **overrides: object) -> Settings:
    """Settings for tests: short backoff so retries happen within a test, fixed key."""
    values: dict[str, object] = {
        "data_dir": data_dir,
        "database_url": database_url,
        "secret_key": "test-secret-key-not-for-production",
        "backoff_base_seconds": 0.01,
        "backoff_cap_seconds": 0.05,
        "worker_idle_seconds": 0.05,
        "public_url": "http://127.0.0.1:9",
        "allowed_private_hosts": "127.0.0.1,localhost",  # the fakes run here (plugin/egress.py)
        # argon2id at a test's cost (1 MiB, one pass): the console's logins stay fast on a busy machine.
        "admin_password_memory_kib": 1024,
        "admin_password_time_cost": 1,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


SANDBOX_EGRESS = egress.Policy(egress.allowed_hosts("127.0.0.1,localhost"))


@pytest.fixture(autouse=True)
def sandbox_egress() -> Iterator[None]:
    """The fakes run on this machine: every test starts with the rule the sandbox documents (its hosts
    in ``allowed_private_hosts``), whatever rule an earlier test's runtime configured."""
    egress.configure(SANDBOX_EGRESS)
    yield
    egress.configure(SANDBOX_EGRESS)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A throwaway PostgreSQL database for this test process (xdist workers each get their own)."""
    if not POSTGRES_URL:
        missing("HORSESHOE_TEST_POSTGRES_URL is not set (CI sets it); ran on SQLite instead")
    admin = create_engine(normalize_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    name = f"horseshoe_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = normalize_url(POSTGRES_URL).rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def any_database_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    """Parametrizes a test over SQLite and (when configured) PostgreSQL."""
    if request.param == "sqlite":
        return ""
    url: str = request.getfixturevalue("postgres_database")
    _reset_postgres(url)
    return url


@pytest.fixture
def runtime(tmp_path: object) -> Iterator[Runtime]:
    rt = build_runtime(fast_settings(str(tmp_path)))
    yield rt
    rt.db.dispose()


@pytest.fixture
def runtime_any(tmp_path: object, any_database_url: str) -> Iterator[Runtime]:
    rt = build_runtime(fast_settings(str(tmp_path), any_database_url))
    yield rt
    rt.db.dispose()
