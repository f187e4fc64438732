"""``horseshoe sandbox`` paces the fakes for measuring (issue 11): a latency per CRM call, a request
budget per fake; a wrong option is refused with the reason, before anything starts."""

from __future__ import annotations

import pytest
import requests
from click.testing import CliRunner

from plugin.cli.main import main
from sandbox.base import MEASURING_CRM_LATENCY
from sandbox.runner import FAKES, Pacing, parse_limit, start_all


def test_a_limit_names_one_fake_and_its_budget() -> None:
    assert parse_limit("zendesk=700/60") == ("zendesk", (700, 60.0))
    assert parse_limit("salesforce=25") == ("salesforce", (25, 60.0))
    for wrong in ("zendesk", "nope=5/60", "zendesk=many/60", "zendesk=5/0", "zendesk=-1/60"):
        with pytest.raises(ValueError, match=r"FAKE=|CALLS"):
            parse_limit(wrong)


def test_measuring_paces_the_crms_only_and_limits_apply_per_fake() -> None:
    pacing = Pacing(crm_latency=MEASURING_CRM_LATENCY, limits={"zendesk": (700, 60.0)})
    assert pacing.settings_for("zendesk").latency == MEASURING_CRM_LATENCY
    assert pacing.settings_for("salesforce").latency == MEASURING_CRM_LATENCY
    assert pacing.settings_for("x").latency == 0.0
    assert (pacing.settings_for("zendesk").rate_limit, pacing.settings_for("zendesk").rate_window) == (700, 60.0)
    assert pacing.settings_for("salesforce").rate_limit is None


def test_each_started_fake_answers_with_its_own_pacing() -> None:
    pacing = Pacing(crm_latency=0.01, limits={"x": (3, 60.0)})
    started = start_all("127.0.0.1", 0, own={name: pacing.settings_for(name) for name in FAKES})
    try:

        def control(name: str, what: str) -> dict[str, object]:
            scheme = "https" if name == "salesforce" else "http"
            url = f"{scheme}://127.0.0.1:{started[name][1].port}/_sandbox/{what}"
            answer: dict[str, object] = requests.get(url, timeout=5, verify=False).json()
            return answer

        assert control("zendesk", "latency") == {"seconds": 0.01}
        assert control("salesforce", "latency") == {"seconds": 0.01}
        assert control("mastodon", "latency") == {"seconds": 0.0}
        assert control("x", "rate_limit") == {"requests": 3, "window": 60.0}
        assert control("zendesk", "rate_limit")["requests"] is None
    finally:
        for _app, server in started.values():
            server.stop()


@pytest.mark.parametrize(
    ("args", "reason"),
    [(["--limit", "nope=5/60"], "FAKE=CALLS"), (["--crm-latency", "-1"], "cannot be negative")],
)
def test_a_wrong_option_is_refused_with_the_reason(args: list[str], reason: str) -> None:
    result = CliRunner().invoke(main, ["sandbox", *args])
    assert result.exit_code == 2 and reason in result.output, result.output
