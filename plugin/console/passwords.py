"""Admin passwords: argon2id. The default cost is argon2-cffi's (RFC 9106's low-memory profile:
64 MiB, 3 passes); settings may lower it only for tests (``admin_password_memory_kib``/``_time_cost``)
and a login rehashes a password whose stored parameters differ from the configured ones."""

from __future__ import annotations

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from plugin.config import Settings

MIN_LENGTH = 12


class WeakPassword(ValueError):
    pass


@functools.lru_cache(maxsize=4)
def _hasher(memory_kib: int, time_cost: int) -> tuple[PasswordHasher, str]:
    hasher = PasswordHasher(memory_cost=memory_kib, time_cost=time_cost)
    # Compared against when the admin name is unknown, so a wrong name costs as long as a wrong
    # password (the time does not tell which admin names exist).
    return hasher, hasher.hash(secrets.token_urlsafe(16))


def hasher(settings: Settings) -> tuple[PasswordHasher, str]:
    return _hasher(settings.admin_password_memory_kib, settings.admin_password_time_cost)


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_LENGTH} characters")
    if password.strip() != password:
        raise WeakPassword("a password must not start or end with whitespace")


def hash_password(settings: Settings, password: str) -> str:
    check_strength(password)
    return hasher(settings)[0].hash(password)


def verify(settings: Settings, password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; an unknown admin (``None``) is checked against a dummy hash."""
    chosen, dummy = hasher(settings)
    try:
        return chosen.verify(password_hash or dummy, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(settings: Settings, password_hash: str) -> bool:
    return hasher(settings)[0].check_needs_rehash(password_hash)


def one_time_password() -> str:
    """A random password handed out once (``horseshoe admin create``, the demo); the admin changes it."""
    return secrets.token_urlsafe(15)
