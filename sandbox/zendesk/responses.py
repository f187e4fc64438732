"""Request handlers of the fake Zendesk: the any_channel API, the Users/Tickets/Search subset that
zenpy uses and the admin-UI return URL (the ``/_sandbox`` routes are in control.py)."""

from __future__ import annotations

import html
import logging
from typing import Any

from flask import g, request
from werkzeug.wrappers import Response

from . import validation
from .auth import Caller, RequestLimiter, channel_caller, rest_caller
from .control import ControlResponses
from .exceptions import (
    BadRequest,
    Forbidden,
    InvalidParams,
    RecordInvalid,
    RecordNotFound,
    ZendeskError,
)
from .incremental import IncrementalResponses
from .models import IDENTITY_TYPES, ROLES, User, ZendeskAccount, ZendeskState
from .pagination import paginate
from .search import parse_query, search_type, ticket_matches, user_matches
from .serializers import comment_json, identity_json, ticket_json, user_json
from .wire import base_url as _base
from .wire import empty as _empty
from .wire import json_body as _json

log = logging.getLogger(__name__)

RETURN_PATH = "/zendesk/channels/integration_service_instances/editor_finalizer"
SEARCH_RESULT_LIMIT = 1000  # Search API: offset pagination returns at most 1,000 results
SHOW_MANY_LIMIT = 100


def _endpoint_url() -> str:
    return f"{_base()}{request.path}"


def _body_object(key: str) -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise BadRequest(f"Request body must be a JSON object with a {key!r} object")
    return body[key]


def _includes() -> set[str]:
    return {part.strip() for part in request.args.get("include", "").split(",") if part.strip()}


class ZendeskResponses(IncrementalResponses, ControlResponses):
    """The API handlers; the fake's own ``/_sandbox`` routes come from ``ControlResponses``."""

    def __init__(self, state: ZendeskState, limiter: RequestLimiter | None = None):
        self.state = state
        self.limiter = limiter

    # ------------------------------------------------------------------ helpers
    def _rest(self) -> Caller:
        caller = rest_caller(self.state, request)
        if self.limiter is not None:
            g.rate_limit_headers = self.limiter.hit(caller.account.subdomain)
        if caller.user is None or caller.user.role == "end-user":
            raise Forbidden()
        return caller

    def _channel(self) -> Caller:
        caller = channel_caller(self.state, request)
        if self.limiter is not None:
            g.rate_limit_headers = self.limiter.hit(caller.account.subdomain)
        return caller

    @staticmethod
    def _user(account: ZendeskAccount, user_id: int) -> User:
        user = account.users.get(user_id)
        if user is None:
            raise RecordNotFound()
        return user

    def _users_body(self, account: ZendeskAccount, users: list[User], extra: dict[str, Any]) -> dict[str, Any]:
        base = _base()
        body: dict[str, Any] = {"users": [user_json(base, u) for u in users]}
        if "identities" in _includes():
            ids = {u.id for u in users}
            body["identities"] = [
                identity_json(base, i)
                for i in sorted(account.identities.values(), key=lambda i: i.id)
                if i.user_id in ids
            ]
        body.update(extra)
        return body

    # ------------------------------------------------------------------ any_channel
    def push(self) -> Response:
        caller = self._channel()
        assert caller.instance is not None
        body = request.get_json(silent=True)
        try:
            validation.validate_push_envelope(body)
        except validation.PayloadInvalid as exc:
            raise InvalidParams(str(exc)) from exc
        assert isinstance(body, dict)
        if body["instance_push_id"] != caller.instance.instance_push_id:
            raise Forbidden("The access token is not valid for this instance_push_id")
        if not caller.instance.active:
            raise Forbidden("The integration instance is not active")
        results = self.state.import_resources(
            body["instance_push_id"], body["external_resources"], body.get("request_id")
        )
        return _json({"results": [r.as_push_result() for r in results]})

    def validate_token(self) -> Response:
        caller = self._channel()
        assert caller.instance is not None
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("instance_push_id"), str):
            raise InvalidParams("instance_push_id is required")
        if body["instance_push_id"] != caller.instance.instance_push_id:
            raise Forbidden("The access token is not valid for this instance_push_id")
        if not caller.instance.active:
            # Deactivated (or not yet activated) instances cannot push, so their token does not validate.
            raise Forbidden("The integration instance is not active")
        return _empty()

    def report_channelback_error(self) -> Response:
        caller = self._channel()
        assert caller.instance is not None
        body = request.get_json(silent=True)
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("instance_push_id"), str)
            or not isinstance(body.get("external_id"), str)
        ):
            raise InvalidParams("instance_push_id and external_id are required")
        if body["instance_push_id"] != caller.instance.instance_push_id:
            raise Forbidden("The access token is not valid for this instance_push_id")
        with self.state.lock:
            located = caller.account.external_index.get((caller.instance.id, body["external_id"]))
            if located is None:
                raise RecordNotFound()
            comment = caller.account.comments[located[1]]
            if comment.channelback is not None:
                comment.channelback["reported_error"] = str(body.get("description", ""))
        return _empty()

    # ------------------------------------------------------------------ admin UI return URL
    def editor_finalizer(self) -> Response:
        """The ``return_url`` the admin UI posts its form to (name, metadata, state)."""
        push_id = request.args.get("instance_push_id", "")
        form = request.form
        try:
            instance = self.state.finish_install(
                push_id, form.get("name", ""), form.get("metadata", ""), form.get("state")
            )
        except validation.PayloadInvalid as exc:
            page = f"<html><body><p class='error'>{html.escape(str(exc))}</p></body></html>"
            return Response(page, status=422, content_type="text/html; charset=utf-8")
        except KeyError:
            raise RecordNotFound("unknown integration instance") from None
        page = f"<html><body><p>Integration account {html.escape(instance.name)} saved.</p></body></html>"
        return Response(page, status=200, content_type="text/html; charset=utf-8")

    # ------------------------------------------------------------------ users
    def me(self) -> Response:
        caller = self._rest()
        assert caller.user is not None
        return _json({"user": user_json(_base(), caller.user)})

    def show_user(self, user_id: int) -> Response:
        caller = self._rest()
        with self.state.lock:
            user = self._user(caller.account, user_id)
            body: dict[str, Any] = {"user": user_json(_base(), user)}
            if "identities" in _includes():
                body["identities"] = [
                    identity_json(_base(), i) for i in self.state.identities_of(caller.account.subdomain, user.id)
                ]
            return _json(body)

    def list_users(self) -> Response:
        caller = self._rest()
        roles = set(request.args.getlist("role[]") + request.args.getlist("role"))
        with self.state.lock:
            users = [
                u
                for u in sorted(caller.account.users.values(), key=lambda u: u.id)
                if u.active and (not roles or u.role in roles)
            ]
            page, extra = paginate(users, request.args, _endpoint_url())
            return _json(self._users_body(caller.account, page, extra))

    def show_many_users(self) -> Response:
        caller = self._rest()
        raw_ids = request.args.get("ids")
        raw_external = request.args.get("external_ids")
        if not raw_ids and not raw_external:
            raise BadRequest("ids or external_ids is required")
        with self.state.lock:
            if raw_ids:
                try:
                    wanted = [int(part) for part in raw_ids.split(",") if part]
                except ValueError as exc:
                    raise BadRequest("ids must be integers") from exc
                if len(wanted) > SHOW_MANY_LIMIT:
                    raise BadRequest(f"at most {SHOW_MANY_LIMIT} ids")
                users = [caller.account.users[i] for i in wanted if i in caller.account.users]
            else:
                externals = [part for part in (raw_external or "").split(",") if part]
                if len(externals) > SHOW_MANY_LIMIT:
                    raise BadRequest(f"at most {SHOW_MANY_LIMIT} external_ids")
                users = [u for u in caller.account.users.values() if u.external_id in externals]
            extra = {"next_page": None, "previous_page": None, "count": len(users)}
            return _json(self._users_body(caller.account, users, extra))

    def search_users(self) -> Response:
        caller = self._rest()
        query = request.args.get("query")
        external_id = request.args.get("external_id")
        if not query and not external_id:
            raise BadRequest("query or external_id is required")
        with self.state.lock:
            if external_id:
                users = [u for u in caller.account.users.values() if u.active and u.external_id == external_id]
            else:
                terms = parse_query(query or "")
                users = [u for u in caller.account.users.values() if user_matches(caller.account, u, terms)]
            users.sort(key=lambda u: u.id)
            page, extra = paginate(users, request.args, _endpoint_url())
            return _json(self._users_body(caller.account, page, extra))

    def search(self) -> Response:
        caller = self._rest()
        query = request.args.get("query", "")
        if not query.strip():
            raise BadRequest("query is required")
        terms = parse_query(query)
        kind = search_type(terms)
        base = _base()
        with self.state.lock:
            account = caller.account
            results: list[dict[str, Any]] = []
            if kind in (None, "user"):
                user_terms = [t for t in terms if t.key != "type"]
                for user in sorted(account.users.values(), key=lambda u: u.id):
                    if user_matches(account, user, user_terms):
                        results.append({**user_json(base, user), "result_type": "user"})
            if kind in (None, "ticket"):
                ticket_terms = [t for t in terms if t.key != "type"]
                for ticket in sorted(account.tickets.values(), key=lambda t: t.id):
                    if ticket_matches(account, ticket, ticket_terms):
                        results.append({**ticket_json(base, account, ticket), "result_type": "ticket"})
            per_page = min(int(request.args.get("per_page", 100) or 100), 100)
            page_number = int(request.args.get("page", 1) or 1)
            if (page_number - 1) * per_page >= SEARCH_RESULT_LIMIT:
                # zenpy maps this exact shape (422, error "invalid") to SearchResponseLimitExceeded.
                raise ZendeskError(
                    {
                        "error": "invalid",
                        "description": "Invalid search: Requested response size "
                        "was greater than Search Response Limits",
                    },
                    status=422,
                )
            page, extra = paginate(results[:SEARCH_RESULT_LIMIT], request.args, _endpoint_url())
            extra.setdefault("count", len(results))
            return _json({"results": page, "facets": None, **extra})

    def create_user(self) -> Response:
        caller = self._rest()
        data = _body_object("user")
        account = caller.account
        details: dict[str, list[dict[str, str]]] = {}
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            details["name"] = [{"description": "Name: cannot be blank", "error": "BlankValue"}]
        role = data.get("role", "end-user")
        if role not in ROLES:
            details["role"] = [{"description": f"Role: {role} is not valid", "error": "InvalidValue"}]
        identities: list[tuple[str, str]] = []
        if data.get("email"):
            identities.append(("email", str(data["email"])))
        for item in data.get("identities") or []:
            if isinstance(item, dict) and item.get("type") in IDENTITY_TYPES and item.get("value"):
                identities.append((str(item["type"]), str(item["value"])))
        with self.state.lock:
            self._check_identities(account, identities, details)
            external_id = data.get("external_id")
            if external_id is not None and any(u.external_id == str(external_id) for u in account.users.values()):
                details["external_id"] = [
                    {
                        "description": f"External: {external_id} has already been taken",
                        "error": "DuplicateValue",
                    }
                ]
            if details:
                raise RecordInvalid(details)
            user = self.state.add_user(
                account.subdomain,
                str(name),
                role=role,
                phone=data.get("phone"),
                external_id=str(external_id) if external_id is not None else None,
                verified=bool(data.get("verified", False)),
                locale=str(data.get("locale") or "en-US"),
            )
            for type_, value in identities:
                self.state.add_identity(account.subdomain, user.id, type_, value, verified=user.verified)
            user.tags = [str(t) for t in data.get("tags") or []]
            user.details = str(data.get("details") or "")
            user.notes = str(data.get("notes") or "")
            return _json({"user": user_json(_base(), user)}, status=201)

    def _check_identities(
        self,
        account: ZendeskAccount,
        identities: list[tuple[str, str]],
        details: dict[str, list[dict[str, str]]],
        owner: int | None = None,
        detail_key: str | None = None,
    ) -> None:
        """Add RecordInvalid details for malformed emails and values another user already has. The
        Users endpoints report an email clash under "email"; the Identities endpoint under "value"."""
        for type_, value in identities:
            if type_ == "email" and ("@" not in value or value.startswith("@") or value.endswith("@")):
                details.setdefault("email", []).append(
                    {"description": f"Email: {value} is not properly formatted", "error": "InvalidFormat"}
                )
                continue
            clash = self.state.find_identity(account.subdomain, type_, value)
            if clash is not None and clash.user_id != owner:
                key = detail_key or ("email" if type_ == "email" else "value")
                label = "Value" if key == "value" else "Email"
                details.setdefault(key, []).append(
                    {
                        "description": f"{label}: {value} is already being used by another user",
                        "error": "DuplicateValue",
                    }
                )

    def update_user(self, user_id: int) -> Response:
        caller = self._rest()
        data = _body_object("user")
        account = caller.account
        with self.state.lock:
            user = self._user(account, user_id)
            details: dict[str, list[dict[str, str]]] = {}
            if "name" in data and (not isinstance(data["name"], str) or not data["name"].strip()):
                details["name"] = [{"description": "Name: cannot be blank", "error": "BlankValue"}]
            if "role" in data and data["role"] not in ROLES:
                details["role"] = [{"description": f"Role: {data['role']} is not valid", "error": "InvalidValue"}]
            new_email = data.get("email")
            if new_email:
                self._check_identities(account, [("email", str(new_email))], details, owner=user.id)
            if details:
                raise RecordInvalid(details)
            if new_email and self.state.find_identity(account.subdomain, "email", str(new_email)) is None:
                self.state.add_identity(account.subdomain, user.id, "email", str(new_email))
                user.email = str(new_email)
            if (
                data.get("phone")
                and self.state.find_identity(account.subdomain, "phone_number", str(data["phone"])) is None
            ):
                self.state.add_identity(account.subdomain, user.id, "phone_number", str(data["phone"]))
                user.phone = str(data["phone"])
            for key in ("name", "role", "details", "notes", "locale"):
                if key in data:
                    setattr(user, key, str(data[key]))
            if "external_id" in data:
                user.external_id = None if data["external_id"] is None else str(data["external_id"])
            if "tags" in data:
                user.tags = [str(t) for t in data["tags"] or []]
            if "verified" in data:
                user.verified = bool(data["verified"])
            user.updated_at = self.state.clock()
            return _json({"user": user_json(_base(), user)})

    def list_identities(self, user_id: int) -> Response:
        caller = self._rest()
        with self.state.lock:
            self._user(caller.account, user_id)
            identities = self.state.identities_of(caller.account.subdomain, user_id)
            page, extra = paginate(identities, request.args, _endpoint_url())
            return _json({"identities": [identity_json(_base(), i) for i in page], **extra})

    def show_identity(self, user_id: int, identity_id: int) -> Response:
        caller = self._rest()
        with self.state.lock:
            identity = caller.account.identities.get(identity_id)
            if identity is None or identity.user_id != user_id:
                raise RecordNotFound()
            return _json({"identity": identity_json(_base(), identity)})

    def delete_identity(self, user_id: int, identity_id: int) -> Response:
        """Users API "Delete Identity": ``DELETE /api/v2/users/{user_id}/identities/{user_identity_id}``,
        204 No Content."""
        caller = self._rest()
        try:
            self.state.remove_identity(caller.account.subdomain, user_id, identity_id)
        except KeyError:
            raise RecordNotFound() from None
        return Response(status=204)

    def create_identity(self, user_id: int) -> Response:
        caller = self._rest()
        data = _body_object("identity")
        account = caller.account
        with self.state.lock:
            self._user(account, user_id)
            type_, value = data.get("type"), data.get("value")
            details: dict[str, list[dict[str, str]]] = {}
            if type_ not in IDENTITY_TYPES or type_ == "any_channel":
                # any_channel identities are created by the Channel Framework, not the API.
                details["type"] = [{"description": f"Type: {type_} is not valid", "error": "InvalidValue"}]
            if not isinstance(value, str) or not value.strip():
                details["value"] = [{"description": "Value: cannot be blank", "error": "BlankValue"}]
            if not details:
                self._check_identities(account, [(str(type_), str(value))], details, detail_key="value")
            if details:
                raise RecordInvalid(details)
            identity = self.state.add_identity(
                account.subdomain, user_id, str(type_), str(value), verified=bool(data.get("verified", False))
            )
            return _json({"identity": identity_json(_base(), identity)}, status=201)

    def merge_user(self, user_id: int) -> Response:
        caller = self._rest()
        data = _body_object("user")
        target_id = data.get("id")
        if not isinstance(target_id, int):
            raise BadRequest("user.id (the user to merge into) is required")
        try:
            target = self.state.merge_users(caller.account.subdomain, user_id, target_id)
        except KeyError:
            raise RecordNotFound() from None
        except ValueError as exc:
            raise RecordInvalid({"base": [{"description": str(exc), "error": "InvalidValue"}]}) from exc
        return _json({"user": user_json(_base(), target)})

    # ------------------------------------------------------------------ tickets
    def list_tickets(self) -> Response:
        caller = self._rest()
        with self.state.lock:
            account = caller.account
            tickets = sorted(account.tickets.values(), key=lambda t: t.id)
            page, extra = paginate(tickets, request.args, _endpoint_url())
            return _json({"tickets": [ticket_json(_base(), account, t) for t in page], **extra})

    def show_ticket(self, ticket_id: int) -> Response:
        caller = self._rest()
        with self.state.lock:
            ticket = caller.account.tickets.get(ticket_id)
            if ticket is None:
                raise RecordNotFound()
            return _json({"ticket": ticket_json(_base(), caller.account, ticket)})

    def ticket_comments(self, ticket_id: int) -> Response:
        caller = self._rest()
        with self.state.lock:
            account = caller.account
            ticket = account.tickets.get(ticket_id)
            if ticket is None:
                raise RecordNotFound()
            comments = [account.comments[c] for c in ticket.comment_ids]
            page, extra = paginate(comments, request.args, _endpoint_url())
            return _json({"comments": [comment_json(c) for c in page], **extra})
