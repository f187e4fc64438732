"""One harness per built-in connector: each adapts that network's sandbox to the conformance suite.

Every harness drives its fake only through the fake's own Python control API (inject, posted, fault
plan), never by reaching into the connector.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from connectors.bluesky import BlueskyConnector
from connectors.facebook import FacebookConnector
from connectors.instagram import InstagramConnector
from connectors.mastodon import MastodonConnector
from connectors.messenger import MessengerConnector
from connectors.telegram import TelegramConnector
from connectors.vk import VKConnector
from connectors.x import XConnector
from plugin.connector import AccountContext, Connector, InboundRequest
from sandbox.bluesky import create_app as bluesky_app
from sandbox.faults import FaultPlan
from sandbox.mastodon import create_app as mastodon_app
from sandbox.meta import DEFAULT_APP_SECRET, DEFAULT_IG_ID, DEFAULT_PAGE_ID, DEFAULT_TOKEN, MetaState
from sandbox.meta import create_app as meta_app
from sandbox.meta.exceptions import invalid_param
from sandbox.meta.models import sign as meta_sign
from sandbox.telegram import create_app as telegram_app
from sandbox.vk import create_app as vk_app
from sandbox.x import create_app as x_app
from sandbox.x.models import XState

from .harness import FailureKind, Harness, Posted, json_request, with_headers

# ------------------------------------------------------------------------------------------------ X

X_APP_TOKEN = "app-only-bearer"
X_BRAND_TOKEN = "brand-user-token"
X_CONSUMER_SECRET = "cs-conformance-secret"


class XHarness(Harness):
    network = "x"
    fixture_files = (
        ("x/mentions_timeline.json", "2244994945"),
        ("x/tweet_reply_lookup.json", "783214"),
        ("x/dm_events.json", "1111"),
        ("x/dm_events_with_users.json", "1111"),
        ("x/aaa_tweet_create_events.json", None),
        ("x/aaa_direct_message_events.json", None),
    )

    def create_app(self) -> Any:
        return x_app(plan=FaultPlan(seed=7))

    @property
    def state(self) -> XState:
        return self.app.state

    def reset_state(self) -> None:
        self.state.reset(keep_users=False)
        self.brand_id = self.state.add_user("acme", name="Acme Support", token=X_BRAND_TOKEN).id
        self.state.add_app_token(X_APP_TOKEN)
        self.alice_id = self.state.add_user("alice", name="Alice A.").id

    def connector(self) -> Connector:
        return XConnector()

    def account(self, *, bad_credentials: bool = False) -> AccountContext:
        return AccountContext(
            network="x",
            external_id=self.brand_id,
            handle="acme",
            credentials={
                "bearer_token": "not-a-token" if bad_credentials else X_APP_TOKEN,
                "user_access_token": "not-a-token" if bad_credentials else X_BRAND_TOKEN,
                "consumer_secret": X_CONSUMER_SECRET,
            },
            settings={"backfill": False},
            api_base=self.url,
        )

    @property
    def customer_id(self) -> str:
        return self.alice_id

    def inject_public(self, text: str, reply_to: str | None = None) -> str:
        return str(self.state.inject_mention("alice", text, in_reply_to=reply_to, to_user="acme")["id"])

    def inject_private(self, text: str) -> str | None:
        return str(self.state.inject_dm("alice", "acme", text)["id"])

    def signed_webhook(self, external_id: str) -> InboundRequest | None:
        # The X fake has no Account Activity sender: deliver the documented tweet_create_events
        # envelope (tests/fixtures/x) carrying the injected post, signed as X signs it.
        from connectors.x.webhook import sign

        post = self.state.posts[external_id]
        # The documented tweet_create_events envelope (Account Activity API, "Payload examples").
        body = {
            "for_user_id": self.brand_id,
            "user_has_blocked": False,
            "tweet_create_events": [
                {
                    "created_at": "Wed Nov 25 12:00:00 +0000 2026",
                    "id": int(external_id),
                    "id_str": external_id,
                    "text": post.text,
                    "truncated": False,
                    "in_reply_to_status_id_str": None,
                    "in_reply_to_user_id_str": None,
                    "is_quote_status": False,
                    "lang": "en",
                    "user": {
                        "id": int(self.alice_id),
                        "id_str": self.alice_id,
                        "name": "Alice A.",
                        "screen_name": "alice",
                    },
                    "entities": {"hashtags": [], "urls": [], "user_mentions": [], "symbols": []},
                }
            ],
        }
        request = json_request(body, {})
        return with_headers(
            request, lambda h: h.update({"x-twitter-webhooks-signature": sign(X_CONSUMER_SECRET, request.body)})
        )

    def forged_webhooks(self, genuine: InboundRequest) -> list[InboundRequest]:
        from connectors.x.webhook import sign

        return [
            with_headers(genuine, lambda h: h.update({"x-twitter-webhooks-signature": sign("wrong", genuine.body)})),
            with_headers(genuine, lambda h: h.pop("x-twitter-webhooks-signature")),
        ]

    def posted(self) -> list[Posted]:
        found = []
        for item in self.state.posted_by(self.brand_id):
            if item["kind"] == "dm":
                found.append(Posted(item["dm_event_id"], item["text"], None, True))
            else:
                found.append(Posted(item["id"], item["sent_text"], item["in_reply_to_tweet_id"], False))
        return found


# --------------------------------------------------------------------------------------------- Meta

META_VERIFY = "verify-me"
META_CUSTOMER = "2001"


class _MetaHarness(Harness):
    """Facebook, Messenger and Instagram share one Graph fake; each harness runs its own copy."""

    connector_class: type[Connector]

    def create_app(self) -> Any:
        self.state = MetaState(require_proof=True)
        return meta_app(self.state, FaultPlan(seed=7))

    def reset_state(self) -> None:
        self.state.reset()
        self.state.add_page()
        self.state.add_person(META_CUSTOMER, "Ann Customer", username="ann.customer")
        self.state.pending_webhooks(clear=True)

    def connector(self) -> Connector:
        return self.connector_class()

    def account(self, *, bad_credentials: bool = False) -> AccountContext:
        return AccountContext(
            network=self.network,
            external_id=DEFAULT_IG_ID if self.network == "instagram" else DEFAULT_PAGE_ID,
            credentials={
                "page_access_token": "bad-token" if bad_credentials else DEFAULT_TOKEN,
                "app_secret": DEFAULT_APP_SECRET,
                "verify_token": META_VERIFY,
                "page_id": DEFAULT_PAGE_ID,
                "ig_user_id": DEFAULT_IG_ID,
            },
            settings={"timeout_seconds": 2.0},
            api_base=self.url,
        )

    @property
    def customer_id(self) -> str:
        return META_CUSTOMER

    def signed_webhook(self, external_id: str) -> InboundRequest | None:
        bodies = [b for b in self.state.pending_webhooks(clear=True) if external_id in json.dumps(b)]
        assert bodies, "the Graph fake queued no webhook for the injected item"
        request = json_request(bodies[-1], {})
        signature = meta_sign(DEFAULT_APP_SECRET, request.body)
        return with_headers(request, lambda h: h.update({"X-Hub-Signature-256": signature}))

    def forged_webhooks(self, genuine: InboundRequest) -> list[InboundRequest]:
        return [
            with_headers(genuine, lambda h: h.update({"X-Hub-Signature-256": meta_sign("wrong", genuine.body)})),
            with_headers(genuine, lambda h: h.pop("X-Hub-Signature-256")),
        ]

    def fail_next(self, kind: FailureKind) -> None:
        if kind == "5xx":
            super().fail_next(kind)
        else:  # Graph answers a bad request with its documented (#100) invalid-parameter error
            self.state.fail_next(invalid_param("Invalid parameter"))

    def follow_up_parent(self, mention_id: str, reply_id: str) -> str:
        # Graph comments nest two levels deep: an answer to our reply (itself a reply) is attached to
        # the top-level comment, so that is its parent on the network.
        return mention_id

    def posted(self) -> list[Posted]:
        found = []
        for item in self.state.posted_by_page():
            private = item["kind"] not in ("comment", "ig_reply", "ig_comment")
            text = item.get("text") or item.get("message") or ""
            parent = item.get("parent_id") or item.get("in_reply_to")
            found.append(Posted(item.get("id"), text, parent, private))
        return found


class FacebookHarness(_MetaHarness):
    network = "facebook"
    connector_class = FacebookConnector
    fixture_files = (
        ("facebook/feed_comment_add.json", None),
        ("facebook/feed_comment_reply.json", None),
        ("facebook/feed_visitor_post.json", None),
    )
    skips = {"private": "Page direct messages are the messenger connector's (Facebook only has comments)"}

    def reset_state(self) -> None:
        super().reset_state()
        self.post_id = self.state.inject_post(DEFAULT_PAGE_ID, DEFAULT_PAGE_ID, "Our launch!")
        self.state.pending_webhooks(clear=True)

    def inject_public(self, text: str, reply_to: str | None = None) -> str:
        return self.state.inject_comment(self.post_id, META_CUSTOMER, text, parent_id=self._top(reply_to))

    def _top(self, comment_id: str | None) -> str | None:
        """Replying to a reply attaches to its top-level comment (Graph comments nest two levels)."""
        while comment_id is not None and self.state.comments[comment_id].parent_id:
            comment_id = self.state.comments[comment_id].parent_id
        return comment_id


class MessengerHarness(_MetaHarness):
    network = "messenger"
    connector_class = MessengerConnector
    fixture_files = (
        ("messenger/message_text.json", None),
        ("messenger/message_attachment.json", None),
        ("messenger/message_reply_to.json", None),
    )
    skips = {
        "public": "Messenger carries only private conversations",
        "threading": "Messenger carries only private conversations (no public thread to reply into)",
    }

    def inject_public(self, text: str, reply_to: str | None = None) -> str:
        raise AssertionError("Messenger has no public mentions")

    def inject_private(self, text: str) -> str | None:
        return self.state.inject_message(DEFAULT_PAGE_ID, META_CUSTOMER, text)


class InstagramHarness(_MetaHarness):
    network = "instagram"
    connector_class = InstagramConnector
    fixture_files = (
        ("instagram/comment.json", None),
        ("instagram/comment_reply.json", None),
        ("instagram/message.json", None),
    )
    # GET /{ig-user-id}/conversations is not part of this connector's poll: IG DMs arrive by webhook.
    dm_delivery = "webhook"

    def reset_state(self) -> None:
        super().reset_state()
        self.media_id = self.state.inject_ig_media(DEFAULT_IG_ID, "Our launch!")

    def inject_public(self, text: str, reply_to: str | None = None) -> str:
        return self.state.inject_ig_comment(self.media_id, META_CUSTOMER, text, parent_id=self._top(reply_to))

    def _top(self, comment_id: str | None) -> str | None:
        """Replying to a reply attaches to its top-level comment (IG comments nest two levels)."""
        while comment_id is not None and self.state.ig_comments[comment_id].parent_id:
            comment_id = self.state.ig_comments[comment_id].parent_id
        return comment_id

    def inject_private(self, text: str) -> str | None:
        return self.state.inject_message(DEFAULT_PAGE_ID, META_CUSTOMER, text, platform="instagram")


# ----------------------------------------------------------------------------------------- Telegram

TG_TOKEN = "123456789:AAEsandbox-telegram-token"
TG_BOT_ID = "123456789"
TG_SECRET = "s3cr3t_Webhook-token"
TG_GROUP = -1001234567890
TG_CUSTOMER = 1001


class TelegramHarness(Harness):
    network = "telegram"
    fixture_files = (
        ("telegram/private_message.json", TG_BOT_ID),
        ("telegram/get_updates.json", TG_BOT_ID),
    )

    def create_app(self) -> Any:
        return telegram_app(plan=FaultPlan(seed=7), bot_token=TG_TOKEN, bot_username="horseshoe_bot")

    def reset_state(self) -> None:
        state = self.app.state
        state.reset()
        state.add_user(TG_CUSTOMER, "Ann", "annlee", "Lee")
        state.add_group(TG_GROUP, "Acme Customers", username="acme_customers")

    def connector(self) -> Connector:
        return TelegramConnector()

    def account(self, *, bad_credentials: bool = False) -> AccountContext:
        return AccountContext(
            network="telegram",
            external_id=TG_BOT_ID,
            handle="horseshoe_bot",
            credentials={
                "bot_token": "123456789:AAEwrong" if bad_credentials else TG_TOKEN,
                "webhook_secret": TG_SECRET,
            },
            settings={"bot_username": "horseshoe_bot", "poll_timeout": 0},
            api_base=self.url,
        )

    @property
    def customer_id(self) -> str:
        return str(TG_CUSTOMER)

    @staticmethod
    def _id(update: dict[str, Any]) -> str:
        message = update["message"]
        return f"{message['chat']['id']}:{message['message_id']}"

    def inject_public(self, text: str, reply_to: str | None = None) -> str:
        if reply_to is None:
            return self._id(self.app.state.user_writes_group(TG_GROUP, TG_CUSTOMER, f"@horseshoe_bot {text}"))
        chat, message_id = reply_to.split(":")
        assert int(chat) == TG_GROUP
        return self._id(self.app.state.user_writes_group(TG_GROUP, TG_CUSTOMER, text, reply_to=int(message_id)))

    def inject_private(self, text: str) -> str | None:
        return self._id(self.app.state.user_writes_private(TG_CUSTOMER, text))

    def signed_webhook(self, external_id: str) -> InboundRequest | None:
        # What the Bot API POSTs to a webhook: the Update, with the secret_token header we registered.
        [update] = [u for u in self.app.state.updates if self._id(u) == external_id]
        return json_request(copy.deepcopy(update), {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET})

    def forged_webhooks(self, genuine: InboundRequest) -> list[InboundRequest]:
        return [
            with_headers(genuine, lambda h: h.update({"X-Telegram-Bot-Api-Secret-Token": "forged"})),
            with_headers(genuine, lambda h: h.pop("X-Telegram-Bot-Api-Secret-Token")),
        ]

    def posted(self) -> list[Posted]:
        found = []
        for sent in self.app.state.sent:
            chat = sent["chat"]["id"]
            parent = sent.get("reply_to_message")
            found.append(
                Posted(
                    f"{chat}:{sent['message_id']}",
                    sent.get("text", ""),
                    f"{chat}:{parent['message_id']}" if parent else None,
                    sent["chat"]["type"] == "private",
                )
            )
        return found


# ----------------------------------------------------------------------------------------------- VK

VK_GROUP = 229000001
VK_TOKEN = "vk1.a.sandbox-community-token"
VK_SECRET = "sandbox-callback-secret"
VK_CUSTOMER = 1001


class VKHarness(Harness):
    network = "vk"
    skips = {
        "rate_limit_poll": "once connected, polling talks to the Bots Long Poll server, which VK does not "
        "rate-limit (error 6 applies to API methods; checked on replies)",
    }
    fixture_files = (
        ("vk/wall_reply_new.json", str(VK_GROUP)),
        ("vk/wall_reply_new_reply.json", str(VK_GROUP)),
        ("vk/wall_post_new_visitor.json", str(VK_GROUP)),
        ("vk/message_new.json", str(VK_GROUP)),
    )

    def create_app(self) -> Any:
        return vk_app(plan=FaultPlan(seed=11), max_long_poll=1.0)

    def reset_state(self) -> None:
        state = self.app.state
        state.reset()
        state.rps_limit = 20
        state.add_user(VK_CUSTOMER, "Ivan", "Petrov")
        self.post_id = state.community_posts("New opening hours")["object"]["id"]

    def connector(self) -> Connector:
        return VKConnector()

    def account(self, *, bad_credentials: bool = False) -> AccountContext:
        return AccountContext(
            network="vk",
            external_id=str(VK_GROUP),
            handle="horseshoe_support",
            credentials={"access_token": "vk1.a.wrong" if bad_credentials else VK_TOKEN, "secret": VK_SECRET},
            settings={"group_id": VK_GROUP, "poll_wait": 0},
            api_base=self.url,
        )

    @property
    def customer_id(self) -> str:
        return str(VK_CUSTOMER)

    def inject_public(self, text: str, reply_to: str | None = None) -> str:
        state = self.app.state
        parent = int(reply_to.split("_")[1]) if reply_to else None
        event = state.user_comments(VK_CUSTOMER, self.post_id, text, reply_to_comment=parent)
        return f"{-VK_GROUP}_{event['object']['id']}"

    def inject_private(self, text: str) -> str | None:
        message = self.app.state.user_messages(VK_CUSTOMER, text)["object"]["message"]
        return f"{message['peer_id']}_{message['conversation_message_id']}"

    def signed_webhook(self, external_id: str) -> InboundRequest | None:
        # The Callback API puts the community's secret inside the JSON body.
        event = self.app.state.events[-1]
        return json_request({**copy.deepcopy(event), "secret": VK_SECRET}, {})

    def forged_webhooks(self, genuine: InboundRequest) -> list[InboundRequest]:
        import json

        body = json.loads(genuine.body)
        wrong = json_request({**body, "secret": "forged"}, {})
        missing = json_request({k: v for k, v in body.items() if k != "secret"}, {})
        return [wrong, missing]

    def posted(self) -> list[Posted]:
        state = self.app.state
        found = []
        owner = -VK_GROUP
        for comment in state.sent_comments:
            parent = comment.get("reply_to_comment")
            found.append(
                Posted(f"{owner}_{comment['id']}", comment["text"], f"{owner}_{parent}" if parent else None, False)
            )
        for message in state.sent_messages:
            found.append(
                Posted(f"{message['peer_id']}_{message['conversation_message_id']}", message["text"], None, True)
            )
        return found

    def rate_limit_next(self, retry_after: int = 7) -> None:
        # Only API methods are rate limited (error 6); the Bots Long Poll server is not.
        self.plan.configure(scripted=[429], retry_after=retry_after, paths=("/method/",))

    def fail_next(self, kind: FailureKind) -> None:
        if kind == "5xx":
            super().fail_next(kind)
            return
        # VK answers a bad request inside its envelope (error 100, bad parameter), never as HTTP 400:
        # the wall post every comment hangs under is gone, so replying there is refused.
        self.app.state.posts.clear()


# ----------------------------------------------------------------------------------------- Mastodon

MASTODON_TOKEN = "brand-token-sandbox"


class MastodonHarness(Harness):
    network = "mastodon"
    fixture_files = (
        ("mastodon/notifications_mentions.json", None),
        ("mastodon/status_direct_remote.json", None),
    )
    skips = {"webhook": "Mastodon has no webhooks for a brand's mentions (notifications are polled)"}

    def create_app(self) -> Any:
        return mastodon_app()

    def reset_state(self) -> None:
        state = self.app.state
        state.reset()
        state.max_characters = 500
        state.rate_limit = 300
        self.brand = state.add_account("brand", display_name="Brand Support", token=MASTODON_TOKEN)
        self.customer = state.add_account("ann", domain="remote.example", display_name="Ann")

    def connector(self) -> Connector:
        return MastodonConnector()

    def account(self, *, bad_credentials: bool = False) -> AccountContext:
        return AccountContext(
            network="mastodon",
            external_id=self.brand["id"],
            handle="brand",
            credentials={"access_token": "wrong-token" if bad_credentials else MASTODON_TOKEN},
            api_base=self.url,
        )

    @property
    def customer_id(self) -> str:
        return str(self.customer["id"])

    def _inject(self, text: str, visibility: str, reply_to: str | None) -> str:
        notification = self.app.state.inject_mention(
            self.brand["id"], self.customer["id"], text, visibility=visibility, in_reply_to_id=reply_to
        )
        return str(notification["status_id"] if "status_id" in notification else notification["status"]["id"])

    def inject_public(self, text: str, reply_to: str | None = None) -> str:
        return self._inject(text, "public", reply_to)

    def inject_private(self, text: str) -> str | None:
        return self._inject(text, "direct", None)

    def posted(self) -> list[Posted]:
        return [
            Posted(str(s["id"]), s.get("text") or s["content"], s.get("in_reply_to_id"), s["visibility"] == "direct")
            for s in self.app.state.posted_by(self.brand["id"])
        ]


# ------------------------------------------------------------------------------------------ Bluesky

BSKY_HANDLE = "brand.bsky.sandbox"
BSKY_PASSWORD = "abcd-efgh-ijkl-mnop"


class BlueskyHarness(Harness):
    network = "bluesky"
    fixture_files = (("bluesky/list_notifications.json", None),)
    skips = {
        "webhook": "Bluesky has no webhooks (notifications are polled)",
        "private": "the connector reads only notifications; Bluesky chat (DMs) is not polled (send-only, opt-in)",
    }

    def create_app(self) -> Any:
        return bluesky_app()

    def reset_state(self) -> None:
        state = self.app.state
        state.reset()
        state.rate_limit = 3000
        self.brand = state.add_actor(BSKY_HANDLE, display_name="Brand", password=BSKY_PASSWORD)
        self.customer = state.add_actor("ann.bsky.sandbox", display_name="Ann Émile")

    def connector(self) -> Connector:
        return BlueskyConnector()

    def account(self, *, bad_credentials: bool = False) -> AccountContext:
        return AccountContext(
            network="bluesky",
            external_id=self.brand["did"],
            handle=BSKY_HANDLE,
            credentials={"identifier": BSKY_HANDLE, "app_password": "wrong" if bad_credentials else BSKY_PASSWORD},
            api_base=self.url,
        )

    @property
    def customer_id(self) -> str:
        return str(self.customer["did"])

    def inject_public(self, text: str, reply_to: str | None = None) -> str:
        view = self.app.state.inject_post(self.customer["did"], text, mentions=[self.brand["did"]], reply_to=reply_to)
        return str(view["uri"])

    def posted(self) -> list[Posted]:
        found = []
        for record in self.app.state.posts_by(self.brand["did"]):
            parent = record["value"].get("reply", {}).get("parent", {}).get("uri")
            found.append(Posted(record["uri"], record["value"]["text"], parent, False))
        return found


BUILTIN: dict[str, type[Harness]] = {
    "x": XHarness,
    "facebook": FacebookHarness,
    "messenger": MessengerHarness,
    "instagram": InstagramHarness,
    "telegram": TelegramHarness,
    "vk": VKHarness,
    "mastodon": MastodonHarness,
    "bluesky": BlueskyHarness,
}
