"""Incremental ticket event export (``GET /api/v2/incremental/ticket_events.json``), time-based, ticket
updates (``PUT /api/v2/tickets/{id}.json``: ``additional_tags``, ``comment``, ``status``) and ticket
creation (``POST /api/v2/tickets.json``, e.g. a follow-up of a closed ticket: ``via_followup_source_id``).

As documented: ``start_time`` (Unix seconds) is required and may not be in the future; the answer
holds ``ticket_events`` changed at or after it (at most 1000), ``count``, ``end_time`` (the last
event's time: the next request's ``start_time``), ``next_page`` and ``end_of_stream``. Each event is
an audit with ``child_events``; a field change names the field as its key (``"status": "solved"``)
with ``previous_value`` and ``event_type: "Change"``. Not modelled: the one-minute exclusion window
(the fake's events are final at once) and the 10 requests/minute limit.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from flask import request
from werkzeug.wrappers import Response

from .auth import Caller
from .exceptions import BadRequest, RecordInvalid, RecordNotFound
from .models import ZendeskState
from .serializers import ticket_json
from .wire import base_url
from .wire import json_body as _json

PAGE = 1000


class IncrementalResponses:
    state: ZendeskState

    def _rest(self) -> Caller:  # provided by ZendeskResponses
        raise NotImplementedError

    def ticket_events_export(self) -> Response:
        caller = self._rest()
        raw = request.args.get("start_time", "")
        if not raw.lstrip("-").isdigit():
            raise BadRequest("start_time is required: a Unix epoch time in seconds")
        start = int(raw)
        if start > time.time() + 60:
            raise BadRequest("start_time cannot be in the future")
        with self.state.lock:
            events = [e for e in caller.account.ticket_events if e["timestamp"] >= start][:PAGE]
            body: dict[str, Any] = {"ticket_events": [dict(e) for e in events], "count": len(events)}
        end_time = events[-1]["timestamp"] if events else int(time.time())
        body["end_time"] = end_time
        body["end_of_stream"] = len(events) < PAGE
        query = {k: v for k, v in request.args.items() if k != "start_time"} | {"start_time": str(end_time)}
        body["next_page"] = f"{base_url()}/api/v2/incremental/ticket_events.json?{urlencode(query)}"
        return _json(body)

    def update_ticket(self, ticket_id: int) -> Response:
        caller = self._rest()
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("ticket"), dict):
            raise BadRequest('body must be {"ticket": {...}}')
        fields = body["ticket"]
        tags = fields.get("additional_tags") or []
        comment = fields.get("comment")
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise BadRequest("additional_tags must be a list of strings")
        if comment is not None and (not isinstance(comment, dict) or not str(comment.get("body") or "").strip()):
            raise BadRequest("comment needs a body")
        assert caller.user is not None
        try:
            ticket = self.state.update_ticket(
                caller.account.subdomain, ticket_id, caller.user.id, status=fields.get("status"),
                add_tags=tags, comment=comment,
            )  # fmt: skip
        except KeyError:
            raise RecordNotFound() from None
        except ValueError as exc:
            raise BadRequest(str(exc)) from exc
        except PermissionError as exc:
            raise RecordInvalid({"status": [{"description": str(exc), "error": "InvalidValue"}]}) from exc
        with self.state.lock:
            return _json({"ticket": ticket_json(base_url(), caller.account, ticket)})

    def create_ticket(self) -> Response:
        caller = self._rest()
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("ticket"), dict):
            raise BadRequest('body must be {"ticket": {...}}')
        fields = body["ticket"]
        comment = fields.get("comment")
        if not isinstance(comment, dict) or not str(comment.get("body") or "").strip():
            raise RecordInvalid({"comment": [{"description": "Comment: cannot be blank", "error": "BlankValue"}]})
        tags = fields.get("tags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise BadRequest("tags must be a list of strings")
        source, requester = fields.get("via_followup_source_id"), fields.get("requester_id")
        for name, value in (("via_followup_source_id", source), ("requester_id", requester)):
            if value is not None and not isinstance(value, int):
                raise BadRequest(f"{name} must be an integer")
        assert caller.user is not None
        try:
            ticket = self.state.create_ticket(
                caller.account.subdomain, caller.user.id, comment=comment, requester_id=requester,
                subject=str(fields.get("subject") or ""), tags=tags, status=fields.get("status"),
                followup_source_id=source,
            )  # fmt: skip
        except KeyError:
            raise RecordNotFound() from None
        except (ValueError, PermissionError) as exc:
            raise RecordInvalid({"base": [{"description": str(exc), "error": "InvalidValue"}]}) from exc
        with self.state.lock:
            return _json({"ticket": ticket_json(base_url(), caller.account, ticket)}, status=201)
