"""The SOQL a request to the fake Salesforce asks: a Query call's ``q``, or the Query subrequests of a
Composite call (the sink sends its independent look-ups together, ``SalesforceApi.queries``)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from werkzeug.wrappers import Request


def soql_of(request: Request) -> list[str]:
    if request.method == "GET" and "q" in request.args:
        return [request.args["q"]]
    if request.method != "POST" or not request.path.rstrip("/").endswith("/composite"):
        return []
    body = json.loads(request.get_data(as_text=True) or "{}")
    asked: list[str] = []
    for sub in body.get("compositeRequest", []):
        path, _, query = str(sub.get("url", "")).partition("?")
        if sub.get("method") == "GET" and path.rstrip("/").rsplit("/", 1)[-1] in ("query", "queryAll"):
            asked += parse_qs(query).get("q", [])
    return asked
