"""The handoff's public acknowledgement follows the customer's language (mappings/handoff.yaml): the
agent writes only "#handoff" and the private text; the public answer is the company's template in the
language triage found for the post (else the network's tag), English for anything else."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from plugin.outbox import acks
from sandbox.demo.run import BRAND, SUBDOMAIN, World, build_world
from tests.support.settle import settle

SHIPPED = yaml.safe_load(acks.DEFAULT_PATH.read_text(encoding="utf-8"))["acknowledgements"]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    w = build_world(tempfile.mkdtemp(prefix="convo-handoff-lang-"), 0, 23)
    for name in ("anke", "yuki", "zoe", "rui"):
        w.x_app.state.add_user(name, name=name.title())
    yield w
    w.stop()


def _ack_after_handoff(world: World, customer: str, text: str, lang: str, key: str) -> str:
    x = world.x_app.state
    post = x.inject_mention(customer, text, to_user=BRAND, lang=lang)
    settle(world)
    [ticket] = [
        t
        for t in world.zd_state.tickets_with_comments(SUBDOMAIN)
        if any(c.get("external_id") == f"x:{post['id']}" for c in t["comments"])
    ]
    outcome = world.driver.agent_reply(ticket["id"], "#handoff\nPlease send us your order number here.",
                                       request_unique_identifier=key)  # fmt: skip
    assert outcome.channelback and outcome.channelback["status"] == "sent", outcome.channelback
    [ack] = [p for p in x.posted_by(BRAND) if p["kind"] == "post" and p.get("in_reply_to_tweet_id") == post["id"]]
    return str(ack["sent_text"])


@pytest.mark.parametrize(
    ("customer", "text", "lang", "expected"),
    [
        ("anke", "Mir wurde die Bestellung zweimal berechnet, bitte helfen Sie mir schnell!", "de", "de"),
        ("yuki", "注文が二回請求されました。至急対応してください。", "ja", "ja"),
        ("rui", "Fui cobrado duas vezes pelo meu pedido, alguém pode me ajudar?", "pt", "pt"),
        ("zoe", "😡😡😡", "und", "en"),  # no language at all (X says "und"): the fallback, English
    ],
)
def test_the_public_acknowledgement_is_in_the_customers_language(
    world: World, customer: str, text: str, lang: str, expected: str
) -> None:
    ack = _ack_after_handoff(world, customer, text, lang, f"lang-{customer}")
    assert ack == SHIPPED[expected]


def test_the_agents_own_acknowledgement_wins(world: World) -> None:
    x = world.x_app.state
    post = x.inject_mention("anke", "Wo bleibt meine Erstattung? Es sind schon drei Wochen.", to_user=BRAND, lang="de")
    settle(world)
    [ticket] = [
        t
        for t in world.zd_state.tickets_with_comments(SUBDOMAIN)
        if any(c.get("external_id") == f"x:{post['id']}" for c in t["comments"])
    ]
    world.driver.agent_reply(ticket["id"], "#handoff Danke Anke, schau in deine DMs!\nDeine Bestellnummer bitte?",
                             request_unique_identifier="lang-own")  # fmt: skip
    [ack] = [p for p in x.posted_by(BRAND) if p["kind"] == "post" and p.get("in_reply_to_tweet_id") == post["id"]]
    assert ack["sent_text"] == "Danke Anke, schau in deine DMs!"


def test_the_shipped_templates_cover_the_promised_languages() -> None:
    templates = acks.AckTemplates().current()
    for code in ("en", "de", "fr", "es", "pt", "it", "nl", "ja"):
        assert templates.by_language[code] == SHIPPED[code]
        assert len(SHIPPED[code]) <= acks.MAX_ACK
    assert templates.for_language("pt-BR") == SHIPPED["pt"] and templates.for_language("PT_br") == SHIPPED["pt"]
    assert templates.for_language("und") == SHIPPED["en"] and templates.for_language(None) == SHIPPED["en"]
    assert templates.for_language("fi") == SHIPPED["en"]  # not in the file: the fallback
    assert acks.customer_language({"language": "fr"}, "en") == "fr"  # triage's finding before the tag
    assert acks.customer_language({}, "es-419") == "es"


def test_the_company_edits_the_templates_and_a_broken_edit_keeps_the_last_good_ones(tmp_path: Path) -> None:
    path = tmp_path / "handoff.yaml"
    path.write_text('fallback: en\nacknowledgements:\n  en: "We DMed you."\n  fi: "Lähetimme viestin."\n')
    templates = acks.AckTemplates(path)
    assert templates.acknowledgement("fi") == "Lähetimme viestin." and templates.acknowledgement("de") == "We DMed you."
    path.write_text('fallback: en\nacknowledgements:\n  en: "Check your DMs, please."\n')
    assert templates.acknowledgement("en") == "Check your DMs, please."  # read again: no restart
    path.write_text("acknowledgements: [oops\n")  # a broken edit
    assert templates.acknowledgement("en") == "Check your DMs, please."
    path.write_text('fallback: xx\nacknowledgements:\n  en: "x"\n')  # fallback without a template
    assert templates.acknowledgement("en") == "Check your DMs, please."
    with pytest.raises(ValueError, match="limit"):
        acks.parse_templates({"acknowledgements": {"en": "x" * 281}}, "t")
