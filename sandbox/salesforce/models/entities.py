"""What the fake Salesforce holds: orgs and their records, users, connected apps, sessions."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..schema import SObjectSchema

DEFAULT_API_LIMIT = 15000  # Developer Edition's daily allocation; configurable per org.
SESSION_TTL = timedelta(hours=2)  # default org session timeout


@dataclass
class User:
    id: str
    org_id: str
    username: str
    password: str = field(repr=False)
    security_token: str = field(default="", repr=False)
    email: str = ""


@dataclass
class ConnectedApp:
    org_id: str
    consumer_key: str
    consumer_secret: str = field(default="", repr=False)
    public_key_pem: bytes | None = field(default=None, repr=False)
    # Usernames pre-authorized for the JWT bearer flow (None = every user of the org).
    preauthorized: set[str] | None = None
    name: str = "horseshoe"
    callback_urls: set[str] = field(default_factory=set)  # the web server flow's allowed redirect URIs


@dataclass
class Session:
    token: str = field(repr=False)
    org_id: str
    user_id: str
    issued: datetime
    consumer_key: str | None = None
    expired: bool = False


@dataclass
class DuplicateRule:
    """Matches records of ``sobject`` whose ``fields`` all equal (case-insensitively) a new record's."""

    sobject: str
    fields: list[str]
    name: str
    # "alert": saved only with Sforce-Duplicate-Rule-Header allowSave=true; "block": never saved.
    action: str = "alert"
    error_message: str = "You're creating a duplicate record. We recommend you use an existing record instead."
    active: bool = True


@dataclass
class StoredRecord:
    sobject: str
    values: dict[str, Any]

    @property
    def deleted(self) -> bool:
        return bool(self.values.get("IsDeleted"))


@dataclass
class Checkpoint:
    """A transaction's starting point (``SalesforceState.checkpoint``)."""

    records: dict[str, tuple[StoredRecord, dict[str, Any]]]
    id_counters: Counter[str]
    case_number: int
    case_status_ids: list[str]
    events: int  # the change feed's transaction mark


@dataclass
class Org:
    id: str
    name: str
    schemas: dict[str, SObjectSchema]
    api_limit: int = DEFAULT_API_LIMIT
    api_used: int = 0
    features: set[str] = field(default_factory=lambda: {"social"})
    records: dict[str, StoredRecord] = field(default_factory=dict)
    id_counters: Counter[str] = field(default_factory=Counter)
    case_number: int = 1000
    duplicate_rules: list[DuplicateRule] = field(default_factory=list)
    # Records another transaction holds (a bulk job, a trigger running long): writing one, or a record
    # that looks one up, fails with UNABLE_TO_LOCK_ROW, one record at a time (``lock_rows``).
    locked: set[str] = field(default_factory=set)
    # The CaseStatus records' ids, in order (``casestatus.seed``; an API insert adds its own).
    case_status_ids: list[str] = field(default_factory=list)

    def visible_schemas(self) -> dict[str, SObjectSchema]:
        """Objects that exist in this org (SocialPost/SocialPersona need Social Customer Service)."""
        return {n: s for n, s in self.schemas.items() if s.feature is None or s.feature in self.features}

    def schema(self, name: str) -> SObjectSchema | None:
        for candidate_name, schema in self.visible_schemas().items():
            if candidate_name.lower() == name.lower():
                return schema
        return None

    def prefixes(self) -> dict[str, str]:
        return {s.key_prefix: s.name for s in self.visible_schemas().values()}


@dataclass
class WriteOptions:
    allow_save_duplicates: bool = False
