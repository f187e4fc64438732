"""The CLI as a user runs it (click's runner, real plugin manager, a fresh data directory)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from plugin.cli.main import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
NORMAL_FIELDS = {
    "network",
    "external_id",
    "thread_id",
    "parent_id",
    "kind",
    "visibility",
    "author",
    "text",
    "created_at",
    "url",
    "lang",
    "attachments",
    "account",
}


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    for name in ("HORSESHOE_DATABASE_URL", "HORSESHOE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str]:
        result = runner.invoke(main, ["--data-dir", str(tmp_path), *args], catch_exceptions=False)
        return result.exit_code, result.output

    return invoke


def test_parse_x_mentions_timeline(run) -> None:  # type: ignore[no-untyped-def]
    code, out = run("parse", "x", str(FIXTURES / "x" / "mentions_timeline.json"))
    assert code == 0, out
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 1
    mention = lines[0]
    assert set(mention) == NORMAL_FIELDS
    assert mention["author"]["external_id"] == "1234567890"  # the stable id, not the handle
    assert mention["author"]["handle"] == "developer" and mention["author"]["name"] == "Dev Person"
    assert mention["created_at"] == "2024-01-15T10:30:00Z"
    assert mention["url"] == "https://x.com/developer/status/1301573587187331074"


def test_parse_refuses_bad_input_plainly(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    junk = tmp_path / "junk.json"
    junk.write_text("{not json")
    code, out = run("parse", "x", str(junk))
    assert code != 0 and "not valid JSON" in out
    code, out = run("parse", "nosuchnet", str(junk))
    assert code != 0 and "no connector named" in out


def test_connectors_lists_every_builtin_with_its_distribution(run) -> None:  # type: ignore[no-untyped-def]
    code, out = run("connectors")
    assert code == 0
    for name in ("x", "facebook", "messenger", "instagram", "mastodon", "bluesky", "telegram", "vk", "zendesk"):
        assert any(line.split()[1] == name for line in out.splitlines()), name
    assert "horseshoe (built-in)" in out


def test_db_upgrade_and_doctor_on_a_fresh_directory(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run("db", "upgrade")[0] == 0
    assert (tmp_path / "horseshoe.db").exists()
    code, out = run("doctor")
    assert code == 0 and "no problems found" in out


def test_triage_labels_each_line(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "in.jsonl"
    source.write_text(
        json.dumps({"text": "my card 4111 1111 1111 1111 was charged twice", "lang": "en"})
        + "\n"
        + json.dumps({"text": "I found a security vulnerability in your login"})
        + "\n"
        + "not json\n"
    )
    code, out = run("triage", str(source))
    assert code == 0
    first, second, third = (json.loads(line) for line in out.splitlines())
    assert first["pii"] == ["card_number"] and first["language"] == "en" and first["engage"] is True
    assert second["priority"] == "urgent"
    assert "error" in third


def test_sandbox_starts_every_fake_and_each_answers() -> None:
    import requests

    from sandbox.runner import FAKES, start_all

    started = start_all("127.0.0.1", 0)
    try:
        assert set(started) == set(FAKES)
        for name, (_app, server) in started.items():
            scheme = "https" if name == "salesforce" else "http"
            response = requests.get(f"{scheme}://127.0.0.1:{server.port}/no-such-path", timeout=5, verify=False)
            assert 400 <= response.status_code < 500, name  # alive, answering in its own error format
    finally:
        for _app, server in started.values():
            server.stop()


@pytest.fixture
def run_split(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Like ``run`` but keeps stdout (JSON lines) and stderr (reasons) apart."""
    monkeypatch.chdir(tmp_path)
    for name in ("HORSESHOE_DATABASE_URL", "HORSESHOE_CONFIG"):
        monkeypatch.delenv(name, raising=False)

    def invoke(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), *args], catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return invoke


def test_parse_says_why_a_valid_payload_yields_no_mention(run_split) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run_split("parse", "telegram", str(FIXTURES / "telegram" / "group_unaddressed.json"))
    assert code == 0 and out == ""
    assert "not addressed to the bot" in err and "group_messages=addressed" in err
    code, out, err = run_split("parse", "facebook", str(FIXTURES / "facebook" / "feed_reaction.json"))
    assert code == 0 and out == "" and "skipped entry[0].changes[0].value" in err


@pytest.mark.parametrize(
    ("network", "fixture", "account", "expected"),
    [
        ("messenger", "messenger/conversation_messages.json", "1234567890", 1),
        ("instagram", "instagram/mentioned_media.json", None, 1),
        ("mastodon", "mastodon/conversations.json", None, 1),
        ("x", "x/dm_events.json", None, None),
        ("messenger", "messenger/conversation_messages.json", None, None),
    ],
)
def test_parse_accepts_poll_answers_and_names_a_missing_account(  # type: ignore[no-untyped-def]
    run_split, network: str, fixture: str, account: str | None, expected: int | None
) -> None:
    args = ["parse", network, str(FIXTURES / fixture), *(["--account", account] if account else [])]
    code, out, err = run_split(*args)
    if expected is None:
        assert code != 0 and "--account" in err
    else:
        assert code == 0, err
        assert len([json.loads(line) for line in out.splitlines()]) == expected
