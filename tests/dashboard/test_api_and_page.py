"""``/api/metrics`` and the dashboard page: authenticated, tenant-scoped, and showing the same figures."""

from __future__ import annotations

import re
from typing import Any

import pytest

from plugin.zendesk.tokens import issue_metadata
from tests.dashboard.conftest import Loaded
from tests.security.conftest import RETURN_URL, flow_of

RANGE = {"since": "2020-01-06T00:00:00Z", "until": "2020-01-07T00:00:00Z"}


def _api(loaded: Loaded, metadata: str, **args: Any) -> Any:
    return loaded.client.get("/api/metrics", query_string=args, headers={"Authorization": f"Bearer {metadata}"})


def _page_figures(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-figure="([a-z_0-9]+)">([^<]*)<', html))


def _expected_cards(totals: dict[str, Any]) -> dict[str, str]:
    def num(value: Any, unit: str = "") -> str:
        return "—" if value is None else f"{value}{unit}"

    cards = {
        "mentions": str(totals["mentions"]),
        "first_response_mean": num(totals["first_response"]["mean_minutes"], " min"),
        "unanswered": str(totals["unanswered"]),
        "resolution_rate": num(totals["resolution_rate"], " %"),
        "backlog": str(totals["backlog"]["open"]),
        "sps": num(totals["sps"]),
        "csat": num(totals["csat"]["score"], " %"),
    }
    cards.update({f"sla_{s['threshold_minutes']}": num(s["share"], " %") for s in totals["sla"]})
    return cards


@pytest.mark.parametrize("extra", [{}, {"network": "x"}, {"network": "mastodon"}, {"account": "mastodon"}])
def test_the_page_shows_what_the_api_returns(loaded: Loaded, extra: dict[str, str]) -> None:
    args = RANGE | extra
    if args.get("account") == "mastodon":
        args["account"] = str(loaded.accounts["mastodon"])
    answer = _api(loaded, loaded.acme.metadata, **args)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    data = answer.get_json()
    page = loaded.client.post("/dashboard/", data={"metadata": loaded.acme.metadata, **args})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert _page_figures(html) == _expected_cards(data["totals"])
    assert data["totals"]["mentions"] == {"": 6, "x": 5, "mastodon": 1}[extra.get("network", "")] or extra
    # every hour with mentions is a table row with the API's numbers
    rows = re.findall(r"<tr><td>(\d{4}-[^<]+)</td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>", html)
    expected = [(s["start"], str(s["mentions"]), str(s["answered"]), str(s["resolved"]))
                for s in data["series"] if s["mentions"]]  # fmt: skip
    assert rows == expected
    # the charts are inline SVG, drawn without any script or remote resource
    assert html.count("<svg") == 9 and "<script" not in html and "kozea.github.io" not in html


def test_admin_ui_opens_the_dashboard_in_its_trusted_session(loaded: Loaded) -> None:
    admin = loaded.client.post(
        "/zendesk/admin", data={"subdomain": "acme", "return_url": RETURN_URL, "metadata": loaded.acme.metadata}
    )
    html = admin.get_data(as_text=True)
    assert 'action="/dashboard/"' in html
    page = loaded.client.post("/dashboard/", data={"flow": flow_of(html), **RANGE})
    assert page.status_code == 200
    assert _page_figures(page.get_data(as_text=True))["mentions"] == "6"
    assert "frame-ancestors" in page.headers["Content-Security-Policy"]


def test_api_refuses_strangers_and_other_tenants(loaded: Loaded) -> None:
    assert loaded.client.get("/api/metrics").status_code == 401
    assert loaded.client.get("/api/metrics", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    # globex's own metadata sees globex's (empty) figures, never acme's
    theirs = _api(loaded, loaded.globex.metadata, **RANGE).get_json()
    assert theirs["totals"]["mentions"] == 0
    # nor can it name acme's account
    foreign = _api(loaded, loaded.globex.metadata, account=str(loaded.accounts["mastodon"]), **RANGE)
    assert foreign.status_code == 404 and "no such brand account" in foreign.get_json()["reason"]


def test_instance_metadata_of_a_tenant_without_admin_level_is_refused(loaded: Loaded) -> None:
    from plugin.zendesk.tokens import InstanceMetadata

    untrusted = issue_metadata(loaded.rt.box, InstanceMetadata(tenant="acme", account_ids=(), name="x", trusted=False))
    assert _api(loaded, untrusted, **RANGE).status_code == 403


@pytest.mark.parametrize(
    ("args", "reason"),
    [({"period": "forever"}, "period must be one of"), ({"network": "<script>"}, "network must be one of"),
     ({"since": "x" * 100}, "longer than 64")],
)  # fmt: skip
def test_bad_filters_are_400_with_the_reason(loaded: Loaded, args: dict[str, str], reason: str) -> None:
    answer = _api(loaded, loaded.acme.metadata, **args)
    assert answer.status_code == 400 and reason in answer.get_json()["reason"]
    page = loaded.client.post("/dashboard/", data={"metadata": loaded.acme.metadata, **args})
    assert page.status_code == 400
