"""The Composite resource: ``POST /services/data/vXX.X/composite`` (REST API Developer Guide, "Send
Multiple Requests Using Composite", "Composite Request Body", "Composite Subrequest Result",
"allOrNone Parameters in Composite and Collections Requests").

What the fake does, each point from those pages:

* "Executes a series of REST API requests in a single call ... The entire series of requests counts as
  a single call toward your API limits": the composite is one HTTP request, so it takes the fake's
  latency, rate budget, call counter and the org's API allowance once (``Handlers.dispatch``); its
  subrequests run inside it, through the same handlers as direct calls, without being counted again.
* Supported subrequests: the sObject resources (``/sobjects/...``, rows by external id included), Query
  and QueryAll (and their next pages), and sObject Collections (API 43.0 and later). Anything else
  answers that subrequest ``NOT_FOUND``.
* "Up to 25 subrequests in a single call. Up to 5 of these subrequests can be sObject Collections or
  query operations." More than 25 answers, as Salesforce was seen answering it, one result with
  ``LIMIT_EXCEEDED`` "The request can\u2019t contain more than 25 operations." and ``referenceId`` null;
  more than 5 query/collections operations the same way (its wording is the fake's).
* References: ``@{referenceId.FieldName}`` in a later subrequest's ``url`` or ``body``; ``.`` reads a
  field of a JSON object, ``[]`` indexes a JSON collection, recursively (``@{refQuery.records[0].Id}``,
  ``@{newContacts[0].id}``). A reference that does not resolve (its subrequest failed, or the path has
  no value) leaves that subrequest unexecuted: 400 ``PROCESSING_HALTED`` "Invalid reference specified.
  No value for X found in R". referenceIds hold only letters, digits and underscores.
* ``allOrNone`` true: "the entire composite request is rolled back"; the failed subrequest keeps its
  error and "all other subrequests return the 400 HTTP status code", ``PROCESSING_HALTED`` "The
  transaction was rolled back since another operation in the same transaction failed." It also
  overrides each sObject Collections subrequest's own ``allOrNone`` (a record failing in one fails the
  whole composite). ``allOrNone`` false: "the remaining subrequests that don't depend on the failed
  subrequest are executed. Dependent subrequests aren't executed"; collections follow their own flag.
  "In either case, the top-level request returns HTTP 200".
* ``httpHeaders`` may carry any header the resource supports except Accept, Authorization and
  Content-Type ("If you do, the top-level request fails and returns an HTTP 400 response").
  ``collateSubrequests`` is accepted; the fake runs subrequests in the order given (an order collation
  may also produce when subrequests depend on each other). Results carry no Content-Length header.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from .exceptions import SalesforceError
from .urls import url_map
from .wire import errors_response, json_body

if TYPE_CHECKING:
    from .models import SalesforceState
    from .responses import Ctx

MAX_SUBREQUESTS = 25
MAX_QUERY_OR_COLLECTIONS = 5
METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")  # case-sensitive, as documented
FORBIDDEN_HEADERS = {"accept", "authorization", "content-type"}
APOSTROPHE = "\u2019"  # Salesforce's message has a typographic apostrophe
ROLLED_BACK = "The transaction was rolled back since another operation in the same transaction failed."
_REFERENCE = re.compile(r"@\{([^{}]*)\}")
_REFERENCE_ID = re.compile(r"^[A-Za-z0-9_]+$")
_STEP = re.compile(r"\.([A-Za-z0-9_]+)|\[(\d+)\]")
# Endpoints (urls.py) a subrequest may reach, and those that count toward the 5 query/collections.
_SOBJECT = {"describe_global", "sobject_root", "describe", "record", "by_external_id"}
_HEAVY = {"query", "query_more", "collections", "collections_retrieve", "collections_upsert"}
_COLLECTIONS_SINCE = 43.0


class _Unresolved(Exception):
    def __init__(self, expression: str, reference: str):
        super().__init__(f"Invalid reference specified. No value for {expression} found in {reference}")


def _limit_exceeded(message: str) -> Response:
    result = {"body": [{"errorCode": "LIMIT_EXCEEDED", "message": message}], "httpHeaders": {},
              "httpStatusCode": 400, "referenceId": None}  # fmt: skip
    return json_body({"compositeResponse": [result]})


def _result(body: Any, status: int, reference_id: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {"body": body, "httpHeaders": headers or {}, "httpStatusCode": status, "referenceId": reference_id}


def _halted(reference_id: str, message: str) -> dict[str, Any]:
    return _result([{"errorCode": "PROCESSING_HALTED", "message": message}], 400, reference_id)


def _value(expression: str, results: dict[str, Any]) -> Any:
    head = re.match(r"[A-Za-z0-9_]+", expression)
    reference = head.group(0) if head else expression
    if head is None or reference not in results:
        raise _Unresolved(expression, reference)
    value, rest = results[reference], expression[head.end() :]
    while rest:
        step = _STEP.match(rest)
        if step is None:
            raise _Unresolved(expression, reference)
        name, index = step.group(1), step.group(2)
        if name is not None and isinstance(value, dict) and name in value:
            value = value[name]
        elif index is not None and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            raise _Unresolved(expression, reference)
        rest = rest[step.end() :]
    if value is None or isinstance(value, (dict, list)):
        raise _Unresolved(expression, reference)  # only a scalar can stand in for a reference
    return value


def _substitute(node: Any, results: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        return {key: _substitute(value, results) for key, value in node.items()}
    if isinstance(node, list):
        return [_substitute(value, results) for value in node]
    if isinstance(node, str):
        whole = _REFERENCE.fullmatch(node)
        if whole:
            return _value(whole.group(1), results)
        return _REFERENCE.sub(lambda m: str(_value(m.group(1), results)), node)
    return node


def _not_found() -> SalesforceError:
    return SalesforceError("NOT_FOUND", "The requested resource does not exist", status=404)


def _bad_request(message: str) -> SalesforceError:
    return SalesforceError("INVALID_INPUT", message)


def _validated(body: Any) -> list[dict[str, Any]]:
    """The subrequests, or the top-level 400 for a request that is not well formed."""
    if not isinstance(body, dict) or not isinstance(body.get("compositeRequest"), list):
        raise SalesforceError("JSON_PARSER_ERROR", "Cannot deserialize the request body: expected compositeRequest")
    seen: set[str] = set()
    subrequests = body["compositeRequest"]
    for sub in subrequests:
        if not isinstance(sub, dict) or not isinstance(sub.get("url"), str):
            raise _bad_request("Each subrequest needs a method, a url and a referenceId")
        if sub.get("method") not in METHODS:
            raise _bad_request(f"Invalid HTTP method: {sub.get('method')}")
        reference_id = sub.get("referenceId")
        if not isinstance(reference_id, str) or not _REFERENCE_ID.match(reference_id):
            raise _bad_request(f"Invalid referenceId: {reference_id!r}: use letters, numbers and underscores")
        if reference_id in seen:
            raise _bad_request(f"Duplicate referenceId: {reference_id}")
        seen.add(reference_id)
        headers = sub.get("httpHeaders") or {}
        if not isinstance(headers, dict) or FORBIDDEN_HEADERS & {str(k).lower() for k in headers}:
            raise _bad_request("Subrequests inherit Accept, Authorization and Content-Type; do not set them")
    return subrequests


def _endpoint(url: str, method: str) -> tuple[str, dict[str, Any]] | None:
    """The handler a subrequest reaches: None for no such resource, ``("", {})`` for a resource that
    exists but not for this method."""
    path = url.partition("?")[0].rstrip("/") or "/"
    try:
        endpoint, args = url_map.bind("localhost").match(path, method=method)
    except MethodNotAllowed:
        return "", {}
    except NotFound:
        return None
    return str(endpoint), dict(args)


class CompositeHandlers:
    """Mixed into ``responses.Handlers``: runs each subrequest through the handler a direct call would reach."""

    state: SalesforceState
    versions: tuple[str, ...] = ()  # the API versions served (``responses.SUPPORTED_VERSIONS``)

    def do_composite(self, request: Request, ctx: Ctx) -> Response:
        try:
            body = json.loads(request.get_data(as_text=True) or "null")
        except ValueError as err:
            raise SalesforceError("JSON_PARSER_ERROR", f"Unexpected character in request body: {err}") from err
        subrequests = _validated(body)
        if len(subrequests) > MAX_SUBREQUESTS:
            return _limit_exceeded(f"The request can{APOSTROPHE}t contain more than {MAX_SUBREQUESTS} operations.")
        found = [_endpoint(str(s["url"]), str(s["method"])) for s in subrequests]
        if sum(1 for f in found if f and f[0] in _HEAVY) > MAX_QUERY_OR_COLLECTIONS:
            most = MAX_QUERY_OR_COLLECTIONS
            return _limit_exceeded(f"The request can{APOSTROPHE}t contain more than {most} query or sObject "
                                   "Collections operations.")  # fmt: skip
        all_or_none = bool(body.get("allOrNone", False))
        snapshot = self.state.checkpoint(ctx.org) if all_or_none else None
        results: dict[str, Any] = {}  # referenceId -> body of each subrequest that succeeded
        answers: list[dict[str, Any]] = []
        for sub in subrequests:
            answer = self._subrequest(ctx, sub, results, all_or_none)
            answers.append(answer)
            if answer["httpStatusCode"] < 400:
                results[str(sub["referenceId"])] = answer["body"]
            elif all_or_none:
                break
        if snapshot is None:
            return json_body({"compositeResponse": answers})
        if len(answers) == len(subrequests) and all(a["httpStatusCode"] < 400 for a in answers):
            self.state.commit(snapshot)
            return json_body({"compositeResponse": answers})
        self.state.restore(ctx.org, snapshot)
        failed = answers[-1]
        return json_body({"compositeResponse": [
            failed if sub["referenceId"] == failed["referenceId"] else _halted(str(sub["referenceId"]), ROLLED_BACK)
            for sub in subrequests
        ]})  # fmt: skip

    def _subrequest(self, ctx: Ctx, sub: dict[str, Any], results: dict[str, Any], all_or_none: bool) -> dict[str, Any]:
        reference_id = str(sub["referenceId"])
        try:
            url = str(_substitute(sub["url"], results))
            payload = _substitute(sub.get("body"), results)
        except _Unresolved as miss:
            return _halted(reference_id, str(miss))
        path, _, query = url.partition("?")
        found = _endpoint(url, str(sub["method"]))
        if found is not None and found[0] == "":
            error = SalesforceError("METHOD_NOT_ALLOWED", f"HTTP Method '{sub['method']}' not allowed.", status=405)
            return self._answer(errors_response(error), reference_id)
        if found is None or (found[0] not in _SOBJECT and found[0] not in _HEAVY):
            return self._answer(errors_response(_not_found()), reference_id)
        endpoint, args = found
        version = str(args.pop("version"))
        if version not in self.versions or (endpoint.startswith("collections") and float(version) < _COLLECTIONS_SINCE):
            return self._answer(errors_response(_not_found()), reference_id)
        if endpoint == "collections" and all_or_none and isinstance(payload, dict):
            payload = {**payload, "allOrNone": True}  # the composite's allOrNone overrides the collection's
        options: dict[str, Any] = {"path": path.rstrip("/") or "/", "query_string": query, "method": sub["method"],
                                   "headers": dict(sub.get("httpHeaders") or {})}  # fmt: skip
        if payload is not None:
            options["json"] = payload
        handler = getattr(self, f"do_{endpoint}")
        try:
            response = handler(Request(EnvironBuilder(**options).get_environ()), replace(ctx, version=version), **args)
        except SalesforceError as err:
            response = errors_response(err)
        answer = self._answer(response, reference_id)
        if endpoint == "collections" and all_or_none and isinstance(answer["body"], list):
            if any(isinstance(r, dict) and not r.get("success") for r in answer["body"]):
                answer["httpStatusCode"] = 400  # a record failed: under allOrNone the whole composite fails
        if answer["httpStatusCode"] == 201 and endpoint == "sobject_root" and isinstance(answer["body"], dict):
            answer["httpHeaders"] = {"Location": replace(ctx, version=version).sobject_url(
                str(args["sobject"]), str(answer["body"].get("id")))}  # fmt: skip
        return answer

    @staticmethod
    def _answer(response: Response, reference_id: str) -> dict[str, Any]:
        text = response.get_data(as_text=True)
        return _result(json.loads(text) if text else None, response.status_code, reference_id)
