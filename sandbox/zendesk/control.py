"""The fake Zendesk's own ``/_sandbox`` routes: accounts, users with credentials, tickets, instances.

Reset, faults, latency and the request budget are the common controls of ``sandbox.base``.
"""

from __future__ import annotations

from typing import Any

from flask import request
from werkzeug.wrappers import Response

from .exceptions import BadRequest, RecordNotFound
from .models import User, ZendeskAccount, ZendeskState
from .serializers import user_json
from .wire import base_url as _base
from .wire import json_body as _json


class ControlResponses:
    """Mixin of ``ZendeskResponses``: test and demo set-up over HTTP."""

    state: ZendeskState

    def sandbox_create_account(self) -> Response:
        body = request.get_json(silent=True) or {}
        subdomain = body.get("subdomain")
        if not isinstance(subdomain, str) or not subdomain:
            raise BadRequest("subdomain is required")
        try:
            account = self.state.create_account(
                subdomain, admin_name=body.get("admin_name", "Admin"), admin_email=body.get("admin_email")
            )
        except ValueError as exc:
            raise BadRequest(str(exc)) from exc
        admin = next(iter(account.users.values()))
        return _json(self._credentials(account, admin), status=201)

    def _credentials(self, account: ZendeskAccount, user: User) -> dict[str, Any]:
        return {
            "subdomain": account.subdomain,
            "user": user_json(_base(), user),
            "api_token": self.state.issue_api_token(account.subdomain, user.id),
            "oauth_token": self.state.issue_oauth_token(account.subdomain, user.id),
        }

    def sandbox_create_user(self, subdomain: str) -> Response:
        body = request.get_json(silent=True) or {}
        try:
            account = self.state.account(subdomain)
            user = self.state.add_user(
                subdomain,
                str(body.get("name") or "Agent"),
                email=body.get("email"),
                role=str(body.get("role") or "agent"),
            )
        except KeyError:
            raise RecordNotFound("unknown account") from None
        except ValueError as exc:
            raise BadRequest(str(exc)) from exc
        return _json(self._credentials(account, user), status=201)

    def sandbox_tickets(self, subdomain: str) -> Response:
        try:
            return _json({"tickets": self.state.tickets_with_comments(subdomain)})
        except KeyError:
            raise RecordNotFound("unknown account") from None

    def sandbox_ticket_status(self, subdomain: str, ticket_id: int) -> Response:
        body = request.get_json(silent=True) or {}
        try:
            ticket = self.state.set_ticket_status(subdomain, ticket_id, str(body.get("status")))
        except KeyError:
            raise RecordNotFound() from None
        except ValueError as exc:
            raise BadRequest(str(exc)) from exc
        return _json({"id": ticket.id, "status": ticket.status})

    def sandbox_instances(self, subdomain: str) -> Response:
        try:
            account = self.state.account(subdomain)
        except KeyError:
            raise RecordNotFound("unknown account") from None
        with self.state.lock:
            items = [
                {
                    "id": i.id,
                    "instance_push_id": i.instance_push_id,
                    "name": i.name,
                    "integration_id": i.integration_id,
                    "integration_name": i.integration_name,
                    "manifest_url": i.manifest_url,
                    "active": i.active,
                    "metadata_needs_update": i.metadata_needs_update,
                }
                for i in account.instances.values()
            ]
        return _json({"instances": items})
