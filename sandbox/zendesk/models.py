"""State of the fake Zendesk: accounts (by subdomain), users, identities, tickets, comments and
Channel Framework integration instances, plus the import rules for external resources.

Channel Framework semantics implemented (developer.zendesk.com, "Push Content to Support" and "Pull
requests" / "Conversation threads"):

* no ``parent_id`` and no known ``thread_id`` -> a new ticket;
* ``parent_id`` naming an imported resource -> a comment on that resource's ticket; an unknown
  parent -> status ``could_not_locate_parent_external_resource`` with the parent id as description;
* ``thread_id`` shared with an earlier resource -> a comment on that thread's ticket (the first
  resource of a thread starts the ticket);
* a closed ticket is never reopened: the resource starts a follow-up ticket
  (event ``comment_on_follow_up_ticket``);
* an ``external_id`` already imported for the instance -> ``already_imported``;
* a resource breaking the schema/limits -> ``processing_error`` with a description, and the rest of
  the request -> ``halted`` ("not processed because processing of previous resources failed").

The author becomes (or is found as) an end-user through an ``any_channel`` identity keyed on the
integration (manifest id) and ``author.external_id``.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import validation

ROLES = ("end-user", "agent", "admin")
IDENTITY_TYPES = (
    "email",
    "twitter",
    "facebook",
    "google",
    "phone_number",
    "agent_forwarding",
    "any_channel",
    "foreign",
    "sdk",
    "messaging",
)
TICKET_STATUSES = ("new", "open", "pending", "hold", "solved", "closed")


def zendesk_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class User:
    id: int
    name: str
    role: str = "end-user"
    email: str | None = None
    phone: str | None = None
    external_id: str | None = None
    locale: str = "en-US"
    photo_url: str | None = None
    details: str = ""
    notes: str = ""
    tags: list[str] = field(default_factory=list)
    verified: bool = False
    active: bool = True
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    merged_into: int | None = None


@dataclass
class Identity:
    id: int
    user_id: int
    type: str
    value: str
    verified: bool = False
    primary: bool = False
    # any_channel identities belong to one integration (the manifest id).
    subtype_name: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class Comment:
    id: int
    ticket_id: int
    author_id: int
    body: str
    html_body: str | None = None
    public: bool = True
    external_id: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    attachments: list[str] = field(default_factory=list)
    # Agent comments sent through channelback: {"status": "pending"|"sent"|"failed", "http_status",
    # "body", "request_unique_identifier", "attempts", "error"}; None for inbound comments.
    channelback: dict[str, Any] | None = None


@dataclass
class Ticket:
    id: int
    subject: str
    requester_id: int
    submitter_id: int
    status: str = "new"
    integration_instance_id: int | None = None
    thread_id: str | None = None
    allow_channelback: bool = True
    followup_source_id: int | None = None
    custom_fields: dict[str, Any] = field(default_factory=dict)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    comment_ids: list[int] = field(default_factory=list)


@dataclass
class IntegrationInstance:
    id: int
    instance_push_id: str
    zendesk_access_token: str = field(repr=False)
    integration_id: str  # the manifest "id"
    integration_name: str  # the manifest "name"
    manifest_url: str
    manifest: dict[str, Any] = field(repr=False, default_factory=dict)
    name: str = ""  # the instance name the admin UI posted to return_url
    metadata: str = field(default="", repr=False)
    state: str = field(default="", repr=False)
    active: bool = False  # becomes True once the admin UI posts to return_url
    metadata_needs_update: bool = False
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class ImportResult:
    external_resource_id: str
    code: str
    description: str | None = None
    ticket_id: int | None = None
    comment_id: int | None = None
    event_type: str | None = None  # comment_on_new_ticket | comment_on_existing_ticket | ...
    # For a follow-up: the closed ticket addressed (source) and the new ticket (ticket_id).
    source_ticket_id: int | None = None
    follow_up_ticket_id: int | None = None

    def as_push_result(self) -> dict[str, Any]:
        """The documented push ``result object``: {external_resource_id, status: {code, description?}}."""
        status: dict[str, Any] = {"code": self.code}
        if self.description is not None:
            status["description"] = self.description
        return {"external_resource_id": self.external_resource_id, "status": status}


class ZendeskAccount:
    """One Zendesk account (subdomain). Mutated only under ``ZendeskState.lock``."""

    def __init__(self, subdomain: str):
        self.subdomain = subdomain
        self.users: dict[int, User] = {}
        self.identities: dict[int, Identity] = {}
        self.tickets: dict[int, Ticket] = {}
        self.comments: dict[int, Comment] = {}
        self.instances: dict[int, IntegrationInstance] = {}
        # (instance id, external_id) -> (ticket id, comment id)
        self.external_index: dict[tuple[int, str], tuple[int, int]] = {}
        # (instance id, thread_id) -> ticket id
        self.thread_index: dict[tuple[int, str], int] = {}
        # Credentials: API tokens by (email, token) and OAuth bearer tokens -> user id.
        self.api_tokens: dict[str, int] = {}
        self.oauth_tokens: dict[str, int] = {}
        # Event callbacks Zendesk owes the integration, per instance id (sent by the driver).
        self.pending_events: dict[int, list[dict[str, Any]]] = {}


Clock = Callable[[], datetime]


class ZendeskState:
    """All fake Zendesk accounts. Thread-safe: every public method takes ``lock``."""

    def __init__(self, clock: Clock | None = None):
        self.lock = threading.RLock()
        self.clock: Clock = clock or (lambda: datetime.now(UTC))
        self.accounts: dict[str, ZendeskAccount] = {}
        self._next_id = 1000
        # instance_push_id -> (subdomain, instance) between opening the admin UI and its return post.
        self._pending_installs: dict[str, tuple[str, IntegrationInstance]] = {}

    # ------------------------------------------------------------------ basics
    def reset(self) -> None:
        with self.lock:
            self.accounts.clear()
            self._pending_installs.clear()
            self._next_id = 1000

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def create_account(
        self, subdomain: str, *, admin_name: str = "Admin", admin_email: str | None = None
    ) -> ZendeskAccount:
        with self.lock:
            if subdomain in self.accounts:
                raise ValueError(f"account {subdomain!r} exists")
            account = ZendeskAccount(subdomain)
            self.accounts[subdomain] = account
            self.add_user(subdomain, admin_name, email=admin_email or f"admin@{subdomain}.example", role="admin")
            return account

    def account(self, subdomain: str) -> ZendeskAccount:
        with self.lock:
            try:
                return self.accounts[subdomain]
            except KeyError:
                raise KeyError(f"no account {subdomain!r}") from None

    # ------------------------------------------------------------------ users
    def add_user(
        self,
        subdomain: str,
        name: str,
        *,
        email: str | None = None,
        role: str = "end-user",
        phone: str | None = None,
        external_id: str | None = None,
        verified: bool = False,
        locale: str = "en-US",
        photo_url: str | None = None,
    ) -> User:
        """Create a user; an email or phone becomes a primary identity, as the Users API does."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        with self.lock:
            account = self.account(subdomain)
            now = self.clock()
            user = User(
                id=self._id(),
                name=name,
                role=role,
                email=email,
                phone=phone,
                external_id=external_id,
                verified=verified,
                locale=locale,
                photo_url=photo_url,
                created_at=now,
                updated_at=now,
            )
            account.users[user.id] = user
            if email:
                self.add_identity(subdomain, user.id, "email", email, verified=verified)
            if phone:
                self.add_identity(subdomain, user.id, "phone_number", phone, verified=verified)
            return user

    def add_identity(
        self,
        subdomain: str,
        user_id: int,
        type_: str,
        value: str,
        *,
        verified: bool = False,
        subtype_name: str | None = None,
    ) -> Identity:
        if type_ not in IDENTITY_TYPES:
            raise ValueError(f"unknown identity type {type_!r}")
        with self.lock:
            account = self.account(subdomain)
            user = account.users[user_id]
            primary = not any(i.user_id == user_id and i.type == type_ for i in account.identities.values())
            now = self.clock()
            identity = Identity(
                id=self._id(),
                user_id=user_id,
                type=type_,
                value=value,
                verified=verified,
                primary=primary,
                subtype_name=subtype_name,
                created_at=now,
                updated_at=now,
            )
            account.identities[identity.id] = identity
            if type_ == "email" and user.email is None:
                user.email = value
            if type_ == "phone_number" and user.phone is None:
                user.phone = value
            return identity

    def remove_identity(self, subdomain: str, user_id: int, identity_id: int) -> None:
        """Users API "Delete Identity". The user's email/phone field follows its remaining identities."""
        with self.lock:
            account = self.account(subdomain)
            identity = account.identities.get(identity_id)
            if identity is None or identity.user_id != user_id:
                raise KeyError(identity_id)
            del account.identities[identity_id]
            user = account.users[user_id]
            for type_, attr in (("email", "email"), ("phone_number", "phone")):
                if identity.type == type_ and getattr(user, attr) == identity.value:
                    rest = [i for i in account.identities.values() if i.user_id == user_id and i.type == type_]
                    setattr(user, attr, rest[0].value if rest else None)

    def identities_of(self, subdomain: str, user_id: int) -> list[Identity]:
        with self.lock:
            account = self.account(subdomain)
            return sorted((i for i in account.identities.values() if i.user_id == user_id), key=lambda i: i.id)

    def find_identity(self, subdomain: str, type_: str, value: str, subtype_name: str | None = None) -> Identity | None:
        with self.lock:
            for identity in self.account(subdomain).identities.values():
                if identity.type != type_ or identity.subtype_name != subtype_name:
                    continue
                if identity.value.lower() == value.lower() if type_ == "email" else identity.value == value:
                    return identity
            return None

    def issue_api_token(self, subdomain: str, user_id: int) -> str:
        """An API token for Basic ``{email}/token:{token}``."""
        with self.lock:
            token = secrets.token_hex(20)
            self.account(subdomain).api_tokens[token] = user_id
            return token

    def issue_oauth_token(self, subdomain: str, user_id: int) -> str:
        """An OAuth access token for ``Authorization: Bearer``."""
        with self.lock:
            token = secrets.token_hex(32)
            self.account(subdomain).oauth_tokens[token] = user_id
            return token

    def merge_users(self, subdomain: str, source_id: int, target_id: int) -> User:
        """Merge end-user ``source_id`` into end-user ``target_id`` (Users API "Merge End Users").

        Identities, requested tickets and authored comments move to the target; the source is
        deleted (``active: false``). Raises ``ValueError`` with the reason when not allowed.
        """
        with self.lock:
            account = self.account(subdomain)
            source = account.users.get(source_id)
            target = account.users.get(target_id)
            if source is None or not source.active or target is None or not target.active:
                raise KeyError("user not found")
            if source_id == target_id:
                raise ValueError("A user cannot be merged into itself")
            if source.role != "end-user" or target.role != "end-user":
                raise ValueError("Only end users can be merged")
            for identity in account.identities.values():
                if identity.user_id == source_id:
                    identity.user_id = target_id
                    identity.primary = not any(
                        i.user_id == target_id and i.type == identity.type and i.primary and i.id != identity.id
                        for i in account.identities.values()
                    )
            for ticket in account.tickets.values():
                if ticket.requester_id == source_id:
                    ticket.requester_id = target_id
                if ticket.submitter_id == source_id:
                    ticket.submitter_id = target_id
            for comment in account.comments.values():
                if comment.author_id == source_id:
                    comment.author_id = target_id
            target.email = target.email or source.email
            target.phone = target.phone or source.phone
            target.tags = sorted(set(target.tags) | set(source.tags))
            source.active = False
            source.merged_into = target_id
            source.email = None
            source.phone = None
            now = self.clock()
            source.updated_at = target.updated_at = now
            return target

    # ------------------------------------------------------------------ tickets
    def add_agent_comment(
        self, subdomain: str, ticket_id: int, author_id: int, body: str, *, public: bool = True
    ) -> Comment:
        with self.lock:
            account = self.account(subdomain)
            ticket = account.tickets[ticket_id]
            comment = self._new_comment(account, ticket, author_id, body, public=public)
            if ticket.status == "new":
                ticket.status = "open"
            return comment

    def _new_comment(
        self,
        account: ZendeskAccount,
        ticket: Ticket,
        author_id: int,
        body: str,
        *,
        public: bool = True,
        html_body: str | None = None,
        external_id: str | None = None,
        created_at: datetime | None = None,
        attachments: list[str] | None = None,
    ) -> Comment:
        comment = Comment(
            id=self._id(),
            ticket_id=ticket.id,
            author_id=author_id,
            body=body,
            html_body=html_body,
            public=public,
            external_id=external_id,
            created_at=created_at or self.clock(),
            attachments=list(attachments or []),
        )
        account.comments[comment.id] = comment
        ticket.comment_ids.append(comment.id)
        ticket.updated_at = self.clock()
        return comment

    def set_ticket_status(self, subdomain: str, ticket_id: int, status: str) -> Ticket:
        if status not in TICKET_STATUSES:
            raise ValueError(f"unknown status {status!r}")
        with self.lock:
            ticket = self.account(subdomain).tickets[ticket_id]
            ticket.status = status
            ticket.updated_at = self.clock()
            return ticket

    def tickets_with_comments(self, subdomain: str) -> list[dict[str, Any]]:
        """Control-surface view: every ticket with its comments, oldest first."""
        with self.lock:
            account = self.account(subdomain)
            out = []
            for ticket in sorted(account.tickets.values(), key=lambda t: t.id):
                comments = [account.comments[c] for c in ticket.comment_ids]
                out.append(
                    {
                        "id": ticket.id,
                        "subject": ticket.subject,
                        "status": ticket.status,
                        "requester_id": ticket.requester_id,
                        "thread_id": ticket.thread_id,
                        "followup_source_id": ticket.followup_source_id,
                        "integration_instance_id": ticket.integration_instance_id,
                        "comments": [
                            {
                                "id": c.id,
                                "author_id": c.author_id,
                                "body": c.body,
                                "public": c.public,
                                "external_id": c.external_id,
                                "created_at": zendesk_time(c.created_at),
                                "channelback": dict(c.channelback) if c.channelback else None,
                            }
                            for c in comments
                        ],
                    }
                )
            return out

    # ------------------------------------------------------------------ integration instances
    def begin_install(self, subdomain: str, manifest_url: str, manifest: dict[str, Any]) -> IntegrationInstance:
        """Zendesk mints ``instance_push_id`` and (with ``push_client_id``) an access token before it
        opens the admin UI; the instance becomes real when the UI posts to the return URL."""
        validation.validate_manifest(manifest)
        with self.lock:
            self.account(subdomain)
            instance = IntegrationInstance(
                id=self._id(),
                instance_push_id=secrets.token_hex(16),
                zendesk_access_token=secrets.token_hex(32) if manifest.get("push_client_id") else "",
                integration_id=str(manifest["id"]),
                integration_name=str(manifest["name"]),
                manifest_url=manifest_url,
                manifest=manifest,
                created_at=self.clock(),
            )
            self._pending_installs[instance.instance_push_id] = (subdomain, instance)
            return instance

    def finish_install(self, instance_push_id: str, name: str, metadata: str, state: str | None) -> IntegrationInstance:
        """What the return URL does with the admin UI's post: store name/metadata/state."""
        if not isinstance(name, str) or not name.strip():
            raise validation.PayloadInvalid("name is required")
        if len(name) > validation.MAX_INSTANCE_NAME:
            raise validation.PayloadInvalid("name is too long (maximum is 255 characters)")
        validation.validate_metadata_state(metadata, state)
        with self.lock:
            pending = self._pending_installs.pop(instance_push_id, None)
            if pending is not None:
                subdomain, instance = pending
                account = self.account(subdomain)
                account.instances[instance.id] = instance
                event_type = "create_integration_instance"
            else:
                found = self.find_instance(instance_push_id)
                if found is None:
                    raise KeyError("unknown instance_push_id")
                account, instance = found
                event_type = "activate_integration_instance" if not instance.active else ""
            instance.name = name
            instance.metadata = metadata
            if state is not None:
                instance.state = state
            instance.active = True
            instance.metadata_needs_update = False
            if event_type:
                self._queue_event(account, instance, event_type, {"metadata": instance.metadata})
            return instance

    def find_instance(self, instance_push_id: str) -> tuple[ZendeskAccount, IntegrationInstance] | None:
        with self.lock:
            for account in self.accounts.values():
                for instance in account.instances.values():
                    if instance.instance_push_id == instance_push_id:
                        return account, instance
            return None

    def instance_for_token(self, token: str) -> tuple[ZendeskAccount, IntegrationInstance] | None:
        with self.lock:
            for account in self.accounts.values():
                for instance in account.instances.values():
                    if instance.zendesk_access_token and secrets.compare_digest(instance.zendesk_access_token, token):
                        return account, instance
            return None

    def deactivate_instance(self, instance_push_id: str) -> IntegrationInstance:
        with self.lock:
            found = self.find_instance(instance_push_id)
            if found is None:
                raise KeyError("unknown instance_push_id")
            account, instance = found
            instance.active = False
            self._queue_event(
                account,
                instance,
                "deactivate_integration_instance",
                {"metadata": instance.metadata, "deactivated_by": "api"},
            )
            return instance

    # ------------------------------------------------------------------ events
    def _queue_event(
        self,
        account: ZendeskAccount,
        instance: IntegrationInstance,
        type_id: str,
        data: dict[str, Any],
        error: str | None = None,
    ) -> None:
        account.pending_events.setdefault(instance.id, []).append(
            self.make_event(account.subdomain, instance, type_id, data, error)
        )

    def make_event(
        self,
        subdomain: str,
        instance: IntegrationInstance,
        type_id: str,
        data: dict[str, Any],
        error: str | None = None,
    ) -> dict[str, Any]:
        """One callback event in the documented format (event_callback_base.json)."""
        event: dict[str, Any] = {
            "type_id": type_id,
            "timestamp": zendesk_time(self.clock()),
            "subdomain": subdomain,
            "integration_name": instance.integration_name,
            "integration_id": instance.integration_id,
            "data": data,
        }
        if error is not None:
            event["error"] = error
        return event

    def take_events(self, instance_push_id: str) -> list[dict[str, Any]]:
        with self.lock:
            found = self.find_instance(instance_push_id)
            if found is None:
                return []
            account, instance = found
            return account.pending_events.pop(instance.id, [])

    def queue_event(self, instance_push_id: str, type_id: str, data: dict[str, Any], error: str | None = None) -> None:
        with self.lock:
            found = self.find_instance(instance_push_id)
            if found is None:
                raise KeyError("unknown instance_push_id")
            self._queue_event(found[0], found[1], type_id, data, error)

    # ------------------------------------------------------------------ import (push and pull)
    def import_resources(
        self, instance_push_id: str, resources: list[Any], request_id: str | None = None
    ) -> list[ImportResult]:
        """Import external resources for an instance, one result per resource, in order."""
        with self.lock:
            found = self.find_instance(instance_push_id)
            if found is None:
                raise KeyError("unknown instance_push_id")
            account, instance = found
            results: list[ImportResult] = []
            failed = False
            for resource in resources:
                external_id = resource.get("external_id") if isinstance(resource, dict) else None
                rid = external_id if isinstance(external_id, str) else ""
                if failed:
                    results.append(ImportResult(rid, "halted"))
                    continue
                try:
                    validation.validate_external_resource(resource)
                except validation.PayloadInvalid as exc:
                    results.append(ImportResult(rid, "processing_error", str(exc)))
                    failed = True
                    continue
                results.append(self._import_one(account, instance, resource))
            resource_events = [
                {
                    k: v
                    for k, v in {
                        "type_id": r.event_type,
                        "external_id": r.external_resource_id,
                        "ticket_id": r.source_ticket_id or r.ticket_id,
                        "comment_id": r.comment_id,
                        "follow_up_ticket_id": r.follow_up_ticket_id,
                    }.items()
                    if v is not None
                }
                for r in results
                if r.code == "success"
            ]
            if resource_events:
                self._queue_event(
                    account,
                    instance,
                    "resources_created_from_external_ids",
                    {"request_id": request_id or "", "resource_events": resource_events},
                )
            return results

    def _import_one(
        self, account: ZendeskAccount, instance: IntegrationInstance, resource: dict[str, Any]
    ) -> ImportResult:
        external_id: str = resource["external_id"]
        existing = account.external_index.get((instance.id, external_id))
        if existing is not None:
            return ImportResult(external_id, "already_imported", ticket_id=existing[0], comment_id=existing[1])
        parent_id = resource.get("parent_id")
        thread_id = resource.get("thread_id")
        ticket: Ticket | None = None
        if parent_id is not None:
            parent = account.external_index.get((instance.id, parent_id))
            if parent is None:
                return ImportResult(external_id, "could_not_locate_parent_external_resource", parent_id)
            ticket = account.tickets[parent[0]]
        elif thread_id is not None:
            thread_ticket = account.thread_index.get((instance.id, thread_id))
            ticket = account.tickets[thread_ticket] if thread_ticket is not None else None
        author = self._author_user(account, instance, resource["author"])
        created_at = validation.parse_timestamp(resource["created_at"])
        event_type = "comment_on_existing_ticket"
        if ticket is not None and ticket.status == "closed":
            ticket = self._new_ticket(
                account, instance, resource, author, followup_source_id=ticket.id, thread_id=ticket.thread_id
            )
            event_type = "comment_on_follow_up_ticket"
        elif ticket is None:
            ticket = self._new_ticket(account, instance, resource, author, thread_id=thread_id)
            event_type = "comment_on_new_ticket"
        elif ticket.status in ("pending", "solved", "hold"):
            # A customer answer reopens the ticket.
            ticket.status = "open"
        comment = self._new_comment(
            account,
            ticket,
            author.id,
            resource["message"],
            public=not resource.get("internal_note", False),
            html_body=resource.get("html_message"),
            external_id=external_id,
            created_at=created_at,
            attachments=resource.get("file_urls"),
        )
        if resource.get("allow_channelback") is False:
            ticket.allow_channelback = False
        account.external_index[(instance.id, external_id)] = (ticket.id, comment.id)
        if ticket.thread_id is not None:
            account.thread_index[(instance.id, ticket.thread_id)] = ticket.id
        followup = ticket.followup_source_id if event_type == "comment_on_follow_up_ticket" else None
        return ImportResult(
            external_id,
            "success",
            ticket_id=ticket.id,
            comment_id=comment.id,
            event_type=event_type,
            source_ticket_id=followup,
            follow_up_ticket_id=ticket.id if followup else None,
        )

    def _new_ticket(
        self,
        account: ZendeskAccount,
        instance: IntegrationInstance,
        resource: dict[str, Any],
        author: User,
        *,
        thread_id: str | None,
        followup_source_id: int | None = None,
    ) -> Ticket:
        fields = {str(f["id"]): f["value"] for f in resource.get("fields", [])}
        message: str = resource["message"]
        # A "subject" entry in fields sets the subject; otherwise the message's first line stands in.
        first_line = message.strip().splitlines()[0] if message.strip() else ""
        subject = str(fields.pop("subject", "") or first_line[:80])
        now = self.clock()
        ticket = Ticket(
            id=self._id(),
            subject=subject,
            requester_id=author.id,
            submitter_id=author.id,
            integration_instance_id=instance.id,
            thread_id=thread_id,
            followup_source_id=followup_source_id,
            custom_fields=fields,
            created_at=now,
            updated_at=now,
        )
        account.tickets[ticket.id] = ticket
        return ticket

    def _author_user(self, account: ZendeskAccount, instance: IntegrationInstance, author: dict[str, Any]) -> User:
        value = author["external_id"]
        for identity in account.identities.values():
            if (
                identity.type == "any_channel"
                and identity.subtype_name == instance.integration_id
                and identity.value == value
            ):
                return account.users[identity.user_id]
        user = self.add_user(
            account.subdomain,
            author.get("name") or value,
            locale=author.get("locale", "en-US"),
            photo_url=author.get("image_url"),
        )
        self.add_identity(
            account.subdomain,
            user.id,
            "any_channel",
            value,
            verified=True,
            subtype_name=instance.integration_id,
        )
        return user

    # ------------------------------------------------------------------ channelback bookkeeping
    def channelback_target(self, subdomain: str, ticket_id: int) -> dict[str, Any]:
        """What Zendesk sends in a channelback for a ticket: parent_id (latest external resource),
        thread_id, recipient_id (requester's any_channel id) and the instance."""
        with self.lock:
            account = self.account(subdomain)
            ticket = account.tickets[ticket_id]
            if ticket.integration_instance_id is None:
                raise ValueError("ticket did not come from a channel integration")
            instance = account.instances[ticket.integration_instance_id]
            parent_id = None
            for comment_id in reversed(ticket.comment_ids):
                comment = account.comments[comment_id]
                if comment.external_id is not None:
                    parent_id = comment.external_id
                    break
            recipient = None
            for identity in account.identities.values():
                if (
                    identity.user_id == ticket.requester_id
                    and identity.type == "any_channel"
                    and identity.subtype_name == instance.integration_id
                ):
                    recipient = identity.value
                    break
            return {
                "instance": instance,
                "ticket": ticket,
                "parent_id": parent_id,
                "recipient_id": recipient,
                "thread_id": ticket.thread_id,
            }

    def record_channelback(
        self,
        subdomain: str,
        comment_id: int,
        *,
        http_status: int | None,
        body: str,
        payload: dict[str, Any] | None,
        error: str | None,
    ) -> Comment:
        """Store a channelback outcome; a valid 2xx answer ties the returned external_id to the comment."""
        with self.lock:
            account = self.account(subdomain)
            comment = account.comments[comment_id]
            ticket = account.tickets[comment.ticket_id]
            assert comment.channelback is not None
            comment.channelback.update({"http_status": http_status, "body": body, "error": error})
            comment.channelback["attempts"] = comment.channelback.get("attempts", 0) + 1
            if payload is None or error is not None:
                comment.channelback["status"] = "failed"
                return comment
            instance = account.instances[ticket.integration_instance_id or 0]
            comment.channelback["status"] = "sent"
            comment.external_id = payload["external_id"]
            account.external_index[(instance.id, comment.external_id)] = (ticket.id, comment.id)
            if payload.get("allow_channelback") is False:
                ticket.allow_channelback = False
            if payload.get("metadata_needs_update"):
                instance.metadata_needs_update = True
            if isinstance(payload.get("metadata"), str):
                instance.metadata = payload["metadata"]
            self._queue_event(
                account,
                instance,
                "resources_created_from_external_ids",
                {
                    "request_id": comment.channelback.get("request_unique_identifier", ""),
                    "resource_events": [
                        {
                            "type_id": "external_id_associated_with_channelback",
                            "external_id": comment.external_id,
                            "comment_id": comment.id,
                            "ticket_id": ticket.id,
                        }
                    ],
                },
            )
            return comment

    def start_channelback(
        self,
        subdomain: str,
        ticket_id: int,
        author_id: int,
        body: str,
        request_unique_identifier: str,
        file_urls: list[str] | None = None,
    ) -> Comment:
        """Create the agent's public comment (pending channelback), or return the comment that already
        carries this request_unique_identifier (a retry)."""
        with self.lock:
            account = self.account(subdomain)
            for comment in account.comments.values():
                if (
                    comment.channelback is not None
                    and comment.channelback.get("request_unique_identifier") == request_unique_identifier
                ):
                    return comment
            ticket = account.tickets[ticket_id]
            if not ticket.allow_channelback:
                raise ValueError("channelback is not allowed on this ticket")
            author = account.users[author_id]
            if author.role == "end-user":
                raise ValueError("only agents reply through channelback")
            comment = self._new_comment(account, ticket, author_id, body, public=True, attachments=file_urls)
            comment.channelback = {
                "status": "pending",
                "request_unique_identifier": request_unique_identifier,
                "attempts": 0,
            }
            if ticket.status == "new":
                ticket.status = "open"
            return comment

    def update_instance(
        self,
        instance_push_id: str,
        *,
        state: str | None = None,
        metadata: str | None = None,
        metadata_needs_update: bool | None = None,
    ) -> IntegrationInstance:
        validation.validate_metadata_state(metadata, state)
        with self.lock:
            found = self.find_instance(instance_push_id)
            if found is None:
                raise KeyError("unknown instance_push_id")
            instance = found[1]
            if state is not None:
                instance.state = state
            if metadata is not None:
                instance.metadata = metadata
            if metadata_needs_update is not None:
                instance.metadata_needs_update = metadata_needs_update
            return instance
