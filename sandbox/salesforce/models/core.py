"""What every part of ``SalesforceState`` builds on: the lock, the clock, the orgs and who may use them
(users, connected apps, sessions), API usage, reads and query cursors."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sandbox.base import FakeBackend

from .. import casestatus, ids
from ..changes import ChangeFeed
from ..records import to_json
from ..schema import FieldDef, standard_schemas
from .entities import DEFAULT_API_LIMIT, SESSION_TTL, ConnectedApp, DuplicateRule, Org, Session, StoredRecord, User


class StateCore(FakeBackend):
    """All fake orgs. Thread-safe: one lock guards every mutation (the WSGI server is threaded)."""

    def __init__(self, clock: Callable[[], datetime] | None = None):
        super().__init__()
        self._initial_clock = clock
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.orgs: dict[str, Org] = {}
        self.users: dict[str, User] = {}  # by lower-cased username
        self.apps: dict[str, ConnectedApp] = {}  # by consumer key
        self.sessions: dict[str, Session] = {}
        self.refresh_tokens: dict[str, tuple[str, str]] = {}  # token -> (user id, consumer key)
        self.auth_codes: dict[str, dict[str, Any]] = {}  # web server flow codes (webflow.py), single-use
        self.cursors: dict[str, tuple[str, list[dict[str, Any]], int]] = {}
        self.calls: Counter[str] = Counter()
        self.session_ttl = SESSION_TTL
        self._org_seq = 0
        self._user_seq = 0
        self._cursor_seq = 0
        self.changes = ChangeFeed(lambda: self.clock())  # Change Data Capture (changes.py)

    # -- arrangement -----------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget everything (orgs, users, sessions, calls); the clock goes back to the one given at start."""
        with self.lock:
            self.__init__(self._initial_clock)  # type: ignore[misc]

    def create_org(self, name: str = "Sandbox Org", *, api_limit: int = DEFAULT_API_LIMIT,
                   social_enabled: bool = True) -> Org:  # fmt: skip
        with self.lock:
            self._org_seq += 1
            org = Org(ids.make_id("00D", self._org_seq), name, standard_schemas(), api_limit=api_limit)
            if not social_enabled:
                org.features.discard("social")
            casestatus.seed(org)
            self.orgs[org.id] = org
            return org

    def default_org(self) -> Org:
        with self.lock:
            if not self.orgs:
                return self.create_org()
            return next(iter(self.orgs.values()))

    def org(self, org_id: str | None = None) -> Org:
        if org_id is None:
            return self.default_org()
        try:
            return self.orgs[org_id]
        except KeyError:
            raise KeyError(f"no org {org_id}") from None

    def create_user(self, username: str, password: str, security_token: str = "", *,
                    org_id: str | None = None, email: str = "") -> User:  # fmt: skip
        with self.lock:
            org = self.org(org_id)
            self._user_seq += 1
            user = User(ids.make_id("005", self._user_seq), org.id, username, password, security_token,
                        email or username)  # fmt: skip
            self.users[username.lower()] = user
            org.records[user.id] = StoredRecord("User", {
                "Id": user.id, "Username": username, "Name": username, "Email": user.email,
                "IsActive": True, "IsDeleted": False, **self._stamps(user.id, created=True),
            })  # fmt: skip
            return user

    def register_app(self, consumer_key: str, consumer_secret: str = "", *, public_key_pem: bytes | None = None,
                     org_id: str | None = None, preauthorized: set[str] | None = None) -> ConnectedApp:  # fmt: skip
        with self.lock:
            app = ConnectedApp(self.org(org_id).id, consumer_key, consumer_secret, public_key_pem, preauthorized)
            self.apps[consumer_key] = app
            return app

    def issue_refresh_token(self, username: str, consumer_key: str) -> str:
        """What a user's approval in the web-server flow would leave behind (for refresh tests)."""
        with self.lock:
            user = self.users[username.lower()]
            token = "5Aep" + secrets.token_urlsafe(32)
            self.refresh_tokens[token] = (user.id, consumer_key)
            return token

    def add_field(self, sobject: str, fd: FieldDef, *, org_id: str | None = None) -> None:
        """Add a (custom) field, e.g. an External ID ``Horseshoe_Key__c`` for upserts."""
        with self.lock:
            schema = self.org(org_id).schemas[sobject]
            schema.fields[fd.name] = fd

    def set_picklist(self, sobject: str, field_name: str, values: list[str], *, restricted: bool,
                     org_id: str | None = None) -> None:  # fmt: skip
        with self.lock:
            fd = self.org(org_id).schemas[sobject].fields[field_name]
            fd.picklist = list(values)
            fd.restricted = restricted

    def add_duplicate_rule(self, rule: DuplicateRule, *, org_id: str | None = None) -> None:
        with self.lock:
            self.org(org_id).duplicate_rules.append(rule)

    def lock_rows(self, record_ids: list[str], *, org_id: str | None = None) -> None:
        """Hold these records as another transaction would until ``unlock_rows``."""
        with self.lock:
            self.org(org_id).locked.update(ids.normalize(i) or i for i in record_ids)

    def unlock_rows(self, *, org_id: str | None = None) -> None:
        with self.lock:
            self.org(org_id).locked.clear()

    def set_social_enabled(self, enabled: bool, *, org_id: str | None = None) -> None:
        with self.lock:
            features = self.org(org_id).features
            if enabled:
                features.add("social")
            else:
                features.discard("social")

    def set_api_limit(self, limit: int, *, used: int | None = None, org_id: str | None = None) -> None:
        with self.lock:
            org = self.org(org_id)
            org.api_limit = limit
            if used is not None:
                org.api_used = used

    def expire_sessions(self, *, org_id: str | None = None) -> int:
        with self.lock:
            count = 0
            for session in self.sessions.values():
                if org_id is None or session.org_id == org_id:
                    session.expired = True
                    count += 1
            return count

    # -- sessions --------------------------------------------------------------------------------
    def open_session(self, user: User, consumer_key: str | None = None) -> Session:
        with self.lock:
            # Salesforce session ids start with the org id and a "!"; the rest is opaque.
            token = f"{user.org_id[:15]}!{secrets.token_urlsafe(48)}"
            session = Session(token, user.org_id, user.id, self.clock(), consumer_key)
            self.sessions[token] = session
            return session

    def session_for(self, token: str) -> Session | None:
        with self.lock:
            session = self.sessions.get(token)
            if session is None or session.expired:
                return None
            if self.clock() - session.issued > self.session_ttl:
                session.expired = True
                return None
            return session

    def user_by_id(self, user_id: str) -> User | None:
        return next((u for u in self.users.values() if u.id == user_id), None)

    # -- API usage -------------------------------------------------------------------------------
    def count_call(self, key: str) -> None:
        with self.lock:
            self.calls[key] += 1

    def consume_api_call(self, org: Org) -> bool:
        """Count one API request against the org's daily limit; False when the limit is used up."""
        with self.lock:
            if org.api_used >= org.api_limit:
                return False
            org.api_used += 1
            return True

    # -- reads -----------------------------------------------------------------------------------
    def get_record(self, org: Org, record_id: str, *, include_deleted: bool = False) -> StoredRecord | None:
        normalized = ids.normalize(record_id)
        if normalized is None:
            return None
        rec = org.records.get(normalized)
        if rec is None or (rec.deleted and not include_deleted):
            return None
        if org.schema(rec.sobject) is None:
            return None  # the object's feature is switched off
        return rec

    def records(self, sobject: str, *, org_id: str | None = None, include_deleted: bool = False
                ) -> list[dict[str, Any]]:  # fmt: skip
        """Stored records of one object as JSON-ready dicts (for tests and the demo)."""
        with self.lock:
            org = self.org(org_id)
            return [
                {k: to_json(v) for k, v in r.values.items()}
                for r in org.records.values()
                if r.sobject == sobject and (include_deleted or not r.deleted)
            ]

    def archive(self, org_id: str, sobjects: tuple[str, ...], keep: int) -> int:
        """Drop all but the ``keep`` newest records of each of ``sobjects``; how many were dropped.

        For long benchmark runs only: every SOQL query, duplicate rule and allOrNone checkpoint of
        this fake walks the org's records, so an org holding a million SocialPosts makes each call
        cost seconds and the bench measure the fake instead of horseshoe. A bench whose authors never
        come back (``bench memory``) archives what no later call can name, as a real org's archiving
        would; nothing of horseshoe's own memory or work depends on the fake's size."""
        wanted = set(sobjects)
        with self.lock:
            org = self.org(org_id)
            by_type: dict[str, list[str]] = {name: [] for name in wanted}
            for record_id, rec in org.records.items():  # insertion order: oldest first
                if rec.sobject in wanted:
                    by_type[rec.sobject].append(record_id)
            dropped = 0
            for record_ids in by_type.values():
                for record_id in record_ids[: max(0, len(record_ids) - keep)]:
                    del org.records[record_id]
                    dropped += 1
            return dropped

    # -- system fields every write sets (users here, records in writes.py) -----------------------
    def _stamps(self, user_id: str, *, created: bool) -> dict[str, Any]:
        now = self.clock()
        stamps: dict[str, Any] = {"LastModifiedDate": now, "LastModifiedById": user_id, "SystemModstamp": now}
        if created:
            stamps.update({"CreatedDate": now, "CreatedById": user_id})
        return stamps

    # -- query cursors ---------------------------------------------------------------------------
    def store_cursor(self, org: Org, rows: list[dict[str, Any]], batch: int) -> str:
        with self.lock:
            self._cursor_seq += 1
            locator = ids.make_id("01g", self._cursor_seq)[:15]
            self.cursors[locator] = (org.id, rows, batch)
            return locator

    def cursor(self, locator: str) -> tuple[str, list[dict[str, Any]], int] | None:
        return self.cursors.get(locator)
