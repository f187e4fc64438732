"""The fake Salesforce's own ``/_sandbox`` routes: orgs, users, connected apps, records, sessions, limits.

Reset, faults, latency and the request budget are the common controls of ``sandbox.base``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from werkzeug.wrappers import Request, Response

from . import ids
from .exceptions import SalesforceError
from .models import DuplicateRule, SalesforceState
from .wire import errors_response as _errors
from .wire import json_body as _json


class ControlHandlers:
    """Mixin of ``Handlers``: test and demo set-up over HTTP, no session needed."""

    state: SalesforceState

    def _ctl_body(self, request: Request) -> dict[str, Any]:
        body = request.get_json(force=True, silent=True)
        return body if isinstance(body, dict) else {}

    def do_ctl_orgs(self, request: Request) -> Response:
        if request.method == "GET":
            return _json([
                {"id": o.id, "name": o.name, "api_limit": o.api_limit, "api_used": o.api_used,
                 "social_enabled": "social" in o.features}
                for o in self.state.orgs.values()
            ])  # fmt: skip
        body = self._ctl_body(request)
        org = self.state.create_org(
            body.get("name", "Sandbox Org"),
            api_limit=int(body.get("api_limit", 15000)),
            social_enabled=bool(body.get("social_enabled", True)),
        )
        return _json({"id": org.id, "name": org.name}, 201)

    def do_ctl_users(self, request: Request) -> Response:
        body = self._ctl_body(request)
        try:
            user = self.state.create_user(
                body["username"], body["password"], body.get("security_token", ""), org_id=body.get("org_id")
            )
        except KeyError as err:
            return _json({"error": f"missing or unknown {err}"}, 400)
        return _json({"id": user.id, "org_id": user.org_id, "username": user.username}, 201)

    def do_ctl_apps(self, request: Request) -> Response:
        body = self._ctl_body(request)
        try:
            pem = body.get("public_key_pem")
            app = self.state.register_app(
                body["consumer_key"], body.get("consumer_secret", ""),
                public_key_pem=pem.encode() if pem else None, org_id=body.get("org_id"),
            )  # fmt: skip
        except KeyError as err:
            return _json({"error": f"missing or unknown {err}"}, 400)
        return _json({"consumer_key": app.consumer_key, "org_id": app.org_id}, 201)

    def do_ctl_records(self, request: Request, sobject: str) -> Response:
        org_id = request.args.get("org_id")
        if request.method == "GET":
            return _json(self.state.records(sobject, org_id=org_id))
        body = self._ctl_body(request)
        org = self.state.org(body.get("org_id", org_id))
        user_id = next((u.id for u in self.state.users.values() if u.org_id == org.id), ids.make_id("005", 0))
        try:
            record_id = self.state.insert(org, sobject, body.get("fields", {}), user_id)
        except SalesforceError as err:
            return _errors(err)
        return _json({"id": record_id}, 201)

    def do_ctl_expire(self, request: Request) -> Response:
        return _json({"expired": self.state.expire_sessions(org_id=self._ctl_body(request).get("org_id"))})

    def do_ctl_session_timeout(self, request: Request) -> Response:
        """Setup > Session Settings > Timeout value: a session older than this answers 401
        ``INVALID_SESSION_ID`` (``{"seconds": 900}``; Salesforce offers 15 minutes to 24 hours)."""
        seconds = self._ctl_body(request).get("seconds")
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds <= 0:
            return _json({"error": "seconds must be a positive number"}, 400)
        with self.state.lock:
            self.state.session_ttl = timedelta(seconds=float(seconds))
        return _json({"seconds": self.state.session_ttl.total_seconds()})

    def do_ctl_limits(self, request: Request) -> Response:
        body = self._ctl_body(request)
        org = self.state.org(body.get("org_id"))
        self.state.set_api_limit(int(body.get("api_limit", org.api_limit)), used=body.get("api_used"), org_id=org.id)
        return _json({"api_limit": org.api_limit, "api_used": org.api_used})

    def do_ctl_features(self, request: Request) -> Response:
        body = self._ctl_body(request)
        self.state.set_social_enabled(bool(body.get("social", True)), org_id=body.get("org_id"))
        return _json({})

    def do_ctl_duplicate_rules(self, request: Request) -> Response:
        body = self._ctl_body(request)
        rule = DuplicateRule(body["sobject"], list(body["fields"]), body.get("name", "Sandbox_Duplicate_Rule"),
                             action=body.get("action", "alert"))  # fmt: skip
        self.state.add_duplicate_rule(rule, org_id=body.get("org_id"))
        return _json({}, 201)

    def do_ctl_streaming(self, request: Request) -> Response:
        """Setup > Change Data Capture (``entities``), Streaming API access (``streaming``), and, like a
        server restart, ``drop_clients``; ``connect_timeout`` (seconds) shortens the long poll."""
        body = self._ctl_body(request)
        org = self.state.org(body.get("org_id"))
        feed = self.state.changes
        if "entities" in body:
            feed.select_entities(org.id, [str(e) for e in body["entities"]])
        if "streaming" in body:
            feed.set_streaming(org.id, bool(body["streaming"]))
        if "connect_timeout" in body:
            feed.connect_timeout = max(0.01, float(body["connect_timeout"]))
        dropped = feed.drop_clients(org.id) if body.get("drop_clients") else 0
        return _json({"entities": sorted(feed.selected.get(org.id, ())), "dropped": dropped})

    def do_ctl_calls(self, request: Request) -> Response:
        return _json(dict(self.state.calls))
