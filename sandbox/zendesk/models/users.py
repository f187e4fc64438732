"""Users API semantics: users, identities (email, phone, any_channel...), API/OAuth tokens, merging."""

from __future__ import annotations

import secrets

from .core import StateCore
from .records import IDENTITY_TYPES, ROLES, Identity, User


class UsersState(StateCore):
    """Users and their identities in each account."""

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
            own = account.identities_by_user.get(user_id, [])
            primary = not any(account.identities[i].type == type_ for i in own)
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
            account.identity_keys.setdefault((type_, subtype_name, value), []).append(identity.id)
            account.identities_by_user.setdefault(user_id, []).append(identity.id)
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
            account.identity_keys[(identity.type, identity.subtype_name, identity.value)].remove(identity_id)
            account.identities_by_user[user_id].remove(identity_id)
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
            moved = account.identities_by_user.pop(source_id, [])
            account.identities_by_user.setdefault(target_id, []).extend(moved)
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
