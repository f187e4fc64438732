"""A Telegram file behind a signed horseshoe link: Zendesk (or an agent) can open it, the bot token never
leaves the connector, and a link opens exactly one file of one account."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from plugin import trust
from plugin.cli.main import main
from plugin.models import Attachment, Author, Labels, Mention
from plugin.plugins import get_plugin_manager
from plugin.runtime import Runtime, build_runtime
from plugin.secrets import LEGACY_KID
from plugin.sink import DeliveryItem
from plugin.web import create_app
from plugin.web.attachments import file_links, file_url
from plugin.zendesk.push import ZendeskSink
from plugin.zendesk.resources import external_resource
from sandbox.runner import RunningFake
from tests.conftest import fast_settings
from tests.support.fakes import fake_service

TOKEN = "123456789:AAEsandbox-telegram-token"
PUBLIC = "https://horseshoe.example"


@pytest.fixture(scope="module")
def telegram() -> Iterator[RunningFake]:
    with fake_service("telegram", bot_token=TOKEN) as fake:
        yield fake


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    runtime = build_runtime(fast_settings(str(tmp_path)), pm=get_plugin_manager(load_entry_points=False))
    yield runtime
    runtime.db.dispose()


def _link(rt: Runtime, telegram: RunningFake, **kwargs: float) -> tuple[FlaskClient, str, str]:
    telegram.app.reset()
    state = telegram.app.state
    state.add_user(1001, "Ann")
    update = state.user_sends_file(1001, "photo", b"\xff\xd8jpeg bytes")
    file_id = update["message"]["photo"][-1]["file_id"]
    tenant = rt.store.ensure_tenant("acme")
    rt.store.upsert_account(tenant, "telegram", "123456789", {"bot_token": TOKEN}, api_base=telegram.server.url)
    url = file_url(rt.box, PUBLIC, tenant, "telegram", "123456789", f"horseshoe-file:{file_id}", **kwargs)
    return create_app(rt).test_client(), url, file_id


def test_a_signed_link_serves_the_file_without_the_token(rt: Runtime, telegram: RunningFake) -> None:
    client, url, file_id = _link(rt, telegram)
    assert url.startswith(f"{PUBLIC}/attachments/") and TOKEN not in url and file_id not in url.split(".")[-1]
    response = client.get(url.removeprefix(PUBLIC))
    assert response.status_code == 200 and response.data == b"\xff\xd8jpeg bytes"
    assert response.content_type == "image/jpeg" and TOKEN not in str(response.headers)


def test_tampered_and_expired_links_open_nothing(rt: Runtime, telegram: RunningFake) -> None:
    client, url, _ = _link(rt, telegram)
    body, mac = url.removeprefix(f"{PUBLIC}/attachments/").split(".")
    assert client.get(f"/attachments/{body}.{mac[:-2]}AA").status_code == 403
    _, old, _ = _link(rt, telegram, now=time.time() - 8 * 86400)
    assert client.get(old.removeprefix(PUBLIC)).status_code == 410


def test_zendesk_file_urls_use_the_link_and_never_a_bare_reference() -> None:
    mention = Mention(
        network="telegram",
        external_id="1001:5",
        author=Author(external_id="1001"),
        created_at="2024-06-01T00:00:00Z",  # type: ignore[arg-type]
        account="123456789",
        attachments=[Attachment(url="horseshoe-file:ABC", type="image"), Attachment(url="https://cdn/x.jpg")],
    )
    plain = external_resource(mention, Labels(), use_parent=False)
    assert plain["file_urls"] == ["https://cdn/x.jpg"]
    linked = external_resource(
        mention, Labels(), use_parent=False, file_url=lambda u: u.replace("horseshoe-file:", "https://h/")
    )
    assert linked["file_urls"] == ["https://h/ABC", "https://cdn/x.jpg"]


def test_the_zendesk_push_sink_hands_zendesk_the_signed_link(rt: Runtime, telegram: RunningFake) -> None:
    client, _, file_id = _link(rt, telegram)
    sink = rt.registry.sink("zendesk")
    assert isinstance(sink, ZendeskSink) and sink.file_links is not None  # bound at start-up
    mention = Mention(
        network="telegram",
        external_id="1001:9",
        author=Author(external_id="1001"),
        created_at="2024-06-01T00:00:00Z",  # type: ignore[arg-type]
        account="123456789",
        attachments=[Attachment(url=f"horseshoe-file:{file_id}", type="image")],
    )
    tenant = rt.store.tenant_id("acme")
    assert tenant is not None
    pushed = sink._with_file_links(tenant, DeliveryItem(delivery_id=1, mention=mention, labels=Labels()))
    [link] = [a.url for a in pushed.mention.attachments]
    assert link.startswith(f"{rt.settings.public_url}/attachments/")
    assert client.get(link.removeprefix(rt.settings.public_url)).data == b"\xff\xd8jpeg bytes"
    assert mention.attachments[0].url.startswith("horseshoe-file:")  # what is stored stays a reference


def _signed_link(rt: Runtime, file_id: str) -> str:
    tenant = rt.store.tenant_id("acme")
    assert tenant is not None
    return file_links(rt)(tenant, "telegram", "123456789", f"horseshoe-file:{file_id}").removeprefix(
        rt.settings.public_url
    )


def test_a_link_dies_with_the_tenants_revocation(rt: Runtime, telegram: RunningFake) -> None:
    """What a confirmed uninstall and ``horseshoe tenants revoke`` do (``trust.revoke``) kills every
    link issued before; a link issued afterwards works again (a reinstall)."""
    client, _, file_id = _link(rt, telegram)
    link = _signed_link(rt, file_id)
    assert client.get(link).status_code == 200
    trust.revoke(rt, "acme", "zendesk integration uninstalled")
    refused = client.get(link)
    assert refused.status_code == 403 and "revoked" in refused.get_json()["reason"]
    assert client.get(_signed_link(rt, file_id)).status_code == 200


def test_keys_rotate_revoke_kills_links_signed_with_older_keys(
    rt: Runtime, telegram: RunningFake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _, file_id = _link(rt, telegram)
    link = _signed_link(rt, file_id)
    assert rt.box.verify(link.rsplit("/", 1)[1])["kid"] == LEGACY_KID  # the link names its key
    monkeypatch.setenv("HORSESHOE_SECRET_KEY", rt.settings.secret_key)
    monkeypatch.setenv("HORSESHOE_ALLOWED_PRIVATE_HOSTS", rt.settings.allowed_private_hosts)  # in-process CLI
    graceful = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "keys", "rotate", "--grace-hours", "1"])
    assert graceful.exit_code == 0, graceful.output
    rt.box.use_keys(rt.store.trust.signing_keys)  # what a running server does within KEY_CACHE_SECONDS
    assert client.get(link).status_code == 200  # an ordinary rotation leaves old links their grace period
    newer = _signed_link(rt, file_id)
    revoked = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "keys", "rotate", "--revoke"])
    assert revoked.exit_code == 0, revoked.output
    rt.box.use_keys(rt.store.trust.signing_keys)
    for old in (link, newer):
        answer = client.get(old)
        assert answer.status_code == 403 and "retired" in answer.get_json()["reason"]
    assert client.get(_signed_link(rt, file_id)).status_code == 200
    both = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "keys", "rotate", "--revoke", "--grace-hours", "5"])
    assert both.exit_code != 0
