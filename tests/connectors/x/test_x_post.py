"""Replies and DMs out, through the fake, with every credential flavour."""

from __future__ import annotations

import pytest

from connectors.x.length import weighted_length
from plugin.errors import AuthError, FatalError, OutcomeUnknown
from plugin.models import Reply, Visibility
from tests.support.media import PNG

from .conftest import OAUTH1


def reply(text: str, **kw) -> Reply:
    return Reply(network="x", account="acme", text=text, idempotency_key=f"k-{text[:20]}", **kw)


def test_post_reply_in_thread(sandbox, connector):
    account = sandbox.account()
    mention = sandbox.state.inject_mention("alice", "where is my parcel?", to_user="acme")
    result = connector.post_reply(account, reply("We are on it!", in_reply_to=mention["id"]))
    assert result.url == f"https://x.com/acme/status/{result.external_id}"
    [posted] = sandbox.state.posted_by("acme")
    assert posted["kind"] == "post" and posted["id"] == result.external_id
    assert posted["in_reply_to_tweet_id"] == mention["id"]
    created = sandbox.state.posts[result.external_id]
    assert created.conversation_id == mention["id"] and created.in_reply_to_user_id == sandbox.alice_id


def test_post_reply_with_oauth1(sandbox, connector):
    account = sandbox.account(credentials=dict(OAUTH1))
    mention = sandbox.state.inject_mention("alice", "hello", to_user="acme")
    result = connector.post_reply(account, reply("Hi Alice", in_reply_to=mention["id"]))
    assert sandbox.state.posted_by(sandbox.brand_id)[0]["id"] == result.external_id


def test_forged_oauth1_signature_is_refused(sandbox, connector):
    account = sandbox.account(credentials={**OAUTH1, "consumer_secret": "wrong"})
    mention = sandbox.state.inject_mention("alice", "hello", to_user="acme")
    with pytest.raises(AuthError, match="401"):
        connector.post_reply(account, reply("Hi", in_reply_to=mention["id"]))
    assert sandbox.state.posted_by("acme") == []


def test_send_private(sandbox, connector):
    account = sandbox.account()
    result = connector.send_private(
        account, reply("Please DM your order number", recipient_id=sandbox.alice_id, visibility=Visibility.PRIVATE)
    )
    [posted] = sandbox.state.posted_by("acme")
    assert posted["kind"] == "dm" and posted["dm_event_id"] == result.external_id
    assert posted["participant_id"] == sandbox.alice_id
    assert result.url is None


def test_text_over_280_becomes_a_numbered_thread(sandbox, connector):
    account = sandbox.account()
    mention = sandbox.state.inject_mention("alice", "hello", to_user="acme")
    text = " ".join(f"step{i}" for i in range(100))  # 589 characters
    result = connector.post_reply(account, reply(text, in_reply_to=mention["id"]))
    posted = sandbox.state.posted_by("acme")
    assert [p["id"] for p in posted] == result.parts and result.external_id == result.parts[0]
    assert [p["in_reply_to_tweet_id"] for p in posted] == [mention["id"], *result.parts[:-1]]
    assert [p["sent_text"].split(" ", 1)[0] for p in posted] == ["1/3", "2/3", "3/3"]
    assert all(weighted_length(p["sent_text"]) <= 280 for p in posted)
    assert " ".join(p["sent_text"].split(" ", 1)[1] for p in posted) == text


def test_thread_parts_are_measured_by_xs_weighted_count(sandbox, connector):
    account = sandbox.account()
    mention = sandbox.state.inject_mention("alice", "hello", to_user="acme")
    text = "配送" * 200  # 400 characters that weigh 800
    connector.post_reply(account, reply(text, in_reply_to=mention["id"]))
    posted = sandbox.state.posted_by("acme")
    assert len(posted) == 3 and all(weighted_length(p["sent_text"]) <= 280 for p in posted)


def test_a_thread_stopped_after_part_one_is_not_reposted(sandbox, connector):
    account = sandbox.account()
    mention = sandbox.state.inject_mention("alice", "hello", to_user="acme")
    sandbox.plan.configure(methods=("POST",), scripted=["pass", 503])
    with pytest.raises(OutcomeUnknown, match="after part 1 of 3") as stopped:
        connector.post_reply(account, reply(" ".join(["later"] * 120), in_reply_to=mention["id"]))
    [published] = sandbox.state.posted_by("acme")
    assert published["id"] in str(stopped.value)


def test_text_too_long_even_for_a_thread_is_refused_naming_280(sandbox, connector):
    account = sandbox.account()
    mention = sandbox.state.inject_mention("alice", "hello", to_user="acme")
    with pytest.raises(FatalError, match="280") as err:
        connector.post_reply(account, reply("word " * 1000, in_reply_to=mention["id"]))
    assert err.value.code == "too_long"
    assert sandbox.state.posted_by("acme") == []


def test_reply_needs_a_target_and_dm_a_recipient(sandbox, connector):
    account = sandbox.account()
    with pytest.raises(FatalError, match="in_reply_to"):
        connector.post_reply(account, reply("hi"))
    with pytest.raises(FatalError, match="recipient_id"):
        connector.send_private(account, reply("hi"))


def test_dm_needs_user_context(sandbox, connector):
    account = sandbox.account(credentials={"bearer_token": "app-only-bearer"})
    with pytest.raises(AuthError, match="credentials"):
        connector.send_private(account, reply("hi", recipient_id=sandbox.alice_id))


def test_concurrent_replies_share_one_connector(sandbox, connector):
    from concurrent.futures import ThreadPoolExecutor

    account = sandbox.account()
    targets = [sandbox.state.inject_mention("alice", f"q{n}", to_user="acme")["id"] for n in range(40)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(lambda t: connector.post_reply(account, reply(f"answer to {t}", in_reply_to=t)), targets)
        )
    assert len({r.external_id for r in results}) == 40
    posted = sandbox.state.posted_by("acme")
    assert sorted(p["in_reply_to_tweet_id"] for p in posted) == sorted(targets)


def test_an_image_attachment_is_uploaded_and_attached(sandbox, connector, image_host):
    account = sandbox.account()
    mention = sandbox.state.inject_mention("alice", "hello", to_user="acme")
    result = connector.post_reply(
        account, reply("Here is the label", in_reply_to=mention["id"], attachments=[{"url": image_host("photo.png")}])
    )
    [posted] = sandbox.state.posted_by("acme")
    [media_id] = posted["media_ids"]
    upload = sandbox.state.uploads[media_id]
    assert upload["bytes"] == PNG and upload["mime"] == "image/png" and upload["category"] == "tweet_image"
    assert posted["id"] == result.external_id


def test_a_thread_carries_the_image_on_its_first_part(sandbox, connector, image_host):
    account = sandbox.account()
    mention = sandbox.state.inject_mention("alice", "hello", to_user="acme")
    text = " ".join(["more"] * 120)
    photo = [{"url": image_host("photo.png")}]
    connector.post_reply(account, reply(text, in_reply_to=mention["id"], attachments=photo))
    posted = sandbox.state.posted_by("acme")
    assert len(posted[0]["media_ids"]) == 1 and all(p["media_ids"] == [] for p in posted[1:])


@pytest.mark.parametrize(
    ("name", "code"),
    [("big.png", "attachment_too_large"), ("notes.pdf", "bad_attachment"), ("missing.png", None)],
)
def test_a_bad_attachment_publishes_nothing(sandbox, connector, image_host, name, code):
    account = sandbox.account()
    mention = sandbox.state.inject_mention("alice", "hello", to_user="acme")
    with pytest.raises(FatalError) as refused:
        connector.post_reply(account, reply("see", in_reply_to=mention["id"], attachments=[{"url": image_host(name)}]))
    if code:
        assert refused.value.code == code
    assert sandbox.state.posted_by("acme") == []


def test_a_non_http_attachment_is_refused_before_any_fetch(sandbox, connector):
    account = sandbox.account()
    mention = sandbox.state.inject_mention("alice", "hello", to_user="acme")
    with pytest.raises(FatalError, match="not an http") as refused:
        connector.post_reply(
            account, reply("x", in_reply_to=mention["id"], attachments=[{"url": "file:///etc/passwd"}])
        )
    assert refused.value.code == "bad_attachment"
