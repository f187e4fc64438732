"""An admin's edit to the triage rules file takes effect on the next mention: no code change, no restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugin.triage import rules as rules_module
from tests.support.netplugin import make_mention
from tests.triage.support import make_world


@pytest.fixture(autouse=True)
def _check_file_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rules_module, "CHECK_EVERY", 0.0)


def test_a_keyword_added_by_the_admin_changes_intent_priority_and_engage(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    text = "the zebra-crossing promo in your store window is gone, where did it go"
    first = world.ingest(make_mention("1", text=text))[0]
    world.run()
    before = world.labels(first)
    assert before["intent"] != "security" and before["priority"] != "urgent"

    # The admin says: for this tenant "zebra" is a security word, and #promo posts are never tickets.
    world.edit_rules({"intents": {"security": {"keywords": ["zebra"]}}, "ignore": {"keywords": ["#promo"]}})
    second = world.ingest(make_mention("2", text=text, author="u2"))[0]
    third = world.ingest(make_mention("3", text="see our #promo today", author="u3"))[0]
    world.run()
    after = world.labels(second)
    assert after["intent"] == "security" and after["priority"] == "urgent"
    assert "security_escalation" in after["tags"]
    ignored = world.labels(third)
    assert ignored["engage"] is False and ignored["skip_reason"] == "ignored_keyword"
    assert ignored["_status"] == "skipped"
    delivered = {i.mention.external_id for i in world.sink.items}
    assert delivered == {"1", "2"}  # stored and visible, but no ticket for the ignored one


def test_other_tenants_keep_the_defaults_and_a_broken_edit_keeps_the_last_good_rules(tmp_path: Path) -> None:
    world = make_world(tmp_path, {"intents": {"security": {"keywords": ["zebra"]}}})
    rules = rules_module.RulesFile(world.rules_path)
    assert rules.for_tenant("acme").forced_intent("zebra") == "security"
    assert rules.for_tenant("other").forced_intent("zebra") is None
    world.rules_path.write_text("defaults: [this is: not valid", encoding="utf-8")
    assert rules.for_tenant("acme").forced_intent("zebra") == "security"


def test_a_broken_rules_file_at_start_up_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "triage.yaml"
    path.write_text("defaults:\n  intents:\n    refunds: {keywords: [x]}\n", encoding="utf-8")
    with pytest.raises(rules_module.RulesError, match="unknown intent 'refunds'"):
        rules_module.RulesFile(path)


def test_the_languages_to_preload_are_every_tenants(tmp_path: Path) -> None:
    """``horseshoe serve`` loads these languages' models before a worker takes requests
    (plugin.triage.language.preload): a tenant's own languages are among them."""
    default = rules_module.RulesFile().for_tenant(None).languages
    path = tmp_path / "triage.yaml"
    data = rules_module.DEFAULT_PATH.read_text(encoding="utf-8")
    assert "\ntenants: {}\n" in data
    path.write_text(data.replace("\ntenants: {}\n", "\ntenants:\n  acme:\n    languages: [ja, ko]\n"), encoding="utf-8")
    assert set(rules_module.RulesFile(path).languages()) == set(default) | {"ja", "ko"}
    assert rules_module.RulesFile().languages() == tuple(sorted(default))


def test_preloading_the_models_checks_the_codes_and_detection_goes_on_as_before() -> None:
    from plugin.triage import language

    language.preload(("en",))  # one language: nothing is ever detected, nothing to load
    with pytest.raises(ValueError, match="unknown language code 'xx'"):
        language.preload(("en", "xx"))
    language.preload(("de", "en"))
    assert language.detect("guten Morgen, wie geht es dir", ("de", "en"), 3) == "de"  # short: high accuracy
    assert language.detect("my parcel has not arrived yet and nobody answers my emails", ("de", "en"), 3) == "en"
