"""A guided OAuth connect flow walked as the admin's browser would, against a network's fake: the
start form posted, the "authorize" link followed to the fake's consent page, the decision sent, and
the query of the redirect back to horseshoe returned. Shared by the connect tests."""

from __future__ import annotations

import re
from collections.abc import Mapping
from html import unescape
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from flask.testing import FlaskClient


def authorize_url(client: FlaskClient, network: str, form: Mapping[str, Any]) -> str:
    """Post the flow's start form; the consent URL the page's "authorize" link points at."""
    page = client.post(f"/connect/{network}", data={"action": "begin", **form})
    assert page.status_code == 200, page.data[-600:]
    match = re.search(r'id="authorize" href="([^"]+)"', page.get_data(as_text=True))
    assert match
    return unescape(match.group(1))


def redirect_of(url: str, user: Any, decision: str = "approve") -> str:
    """``user`` decides on the fake's consent page at ``url``; the Location it sends the browser to."""
    query = dict(parse_qsl(urlsplit(url).query))
    answer = requests.post(
        url.split("?")[0], data={**query, "decision": decision, "sandbox_user": user}, allow_redirects=False
    )
    location: str = answer.headers["Location"]
    return location


def query_of(location: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(location).query))
