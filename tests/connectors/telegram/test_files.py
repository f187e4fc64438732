"""Telegram attachments: stored as file_id references, fetched with getFile from the fake, the bot token
never in a stored URL, an error message or a log line."""

from __future__ import annotations

import logging

import pytest

from connectors.telegram import TelegramConnector
from plugin.connector import AccountContext
from plugin.errors import FatalError
from sandbox.server import RunningServer
from sandbox.telegram import TelegramSandbox

from .conftest import BOT_ID, BOT_TOKEN, load

PNG = b"\x89PNG\r\n\x1a\n" + b"crushed box" * 50


def test_photo_document_and_voice_become_file_references() -> None:
    [photo] = TelegramConnector().parse_payload(load("private_photo.json"), BOT_ID)
    assert [(a.url, a.type) for a in photo.attachments] == [("horseshoe-file:AgACAgQAAxkBAAIBlarge", "image")]


def test_files_are_fetched_with_get_file_and_the_token_stays_out(
    sandbox: tuple[TelegramSandbox, RunningServer],
    account: AccountContext,
    connector: TelegramConnector,
    caplog: pytest.LogCaptureFixture,
) -> None:
    state = sandbox[0].state
    state.add_user(1001, "Ann", "annlee", "Lee")
    state.user_sends_file(1001, "photo", PNG, caption="look at this")
    state.user_sends_file(1001, "document", b"%PDF-1.4 invoice", file_name="invoice.pdf", mime_type="application/pdf")
    state.user_sends_file(1001, "voice", b"OggS voice")
    caplog.set_level(logging.DEBUG)
    mentions = connector.poll(account, None).mentions
    assert [m.attachments[0].type for m in mentions] == ["image", "document", "voice"]
    assert mentions[0].text == "look at this"
    for mention in mentions:
        assert BOT_TOKEN not in mention.model_dump_json()
        assert mention.attachments[0].url.startswith("horseshoe-file:")

    photo = connector.open_attachment(account, mentions[0].attachments[0].url.removeprefix("horseshoe-file:"))
    assert photo.body == PNG and photo.content_type == "image/jpeg" and photo.filename.endswith(".jpg")
    pdf = connector.open_attachment(account, mentions[1].attachments[0].url.removeprefix("horseshoe-file:"))
    assert pdf.body == b"%PDF-1.4 invoice" and pdf.content_type == "application/pdf"
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("werkzeug")]  # not the fake's log
    assert ours and not any(BOT_TOKEN in line for line in ours)


def test_a_file_telegram_will_not_serve_is_fatal_with_its_reason_and_no_token(
    sandbox: tuple[TelegramSandbox, RunningServer], account: AccountContext, connector: TelegramConnector
) -> None:
    state = sandbox[0].state
    state.add_user(1001, "Ann")
    update = state.user_sends_file(1001, "document", b"x", file_name="huge.zip", size=21 * 1024 * 1024)
    huge = update["message"]["document"]["file_id"]
    with pytest.raises(FatalError) as too_big:
        connector.open_attachment(account, huge)
    assert "too big" in str(too_big.value) and BOT_TOKEN not in str(too_big.value)
    with pytest.raises(FatalError) as unknown:
        connector.open_attachment(account, "no-such-file")
    assert "invalid file_id" in str(unknown.value) and BOT_TOKEN not in str(unknown.value)
