"""The X fake adapted to the connector conformance suite (and the demo): brand, customer, webhooks.

The harness drives its fake only through the fake's own Python control API (inject, posted, fault
plan), never by reaching into the connector. Imported on demand by ``sandbox.networks.BUILTIN``.
"""

from __future__ import annotations

from typing import Any

from connectors.x import XConnector
from plugin.connector import AccountContext, Connector, InboundRequest
from sandbox.faults import FaultPlan
from sandbox.networks.harness import Harness, Posted, json_request, with_headers
from sandbox.x import create_app as x_app
from sandbox.x.models import XState

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

    def delete_public(self, external_id: str) -> Any:
        return self.state.delete_post(external_id)

    def inject_poison(self, text: str) -> str | None:
        # What broke a whole page in issue 12: item 55 with ``lang`` as a list.
        tweet_id = self.inject_public(text)
        self.poison({"id": tweet_id}, {"lang": ["en", "fr"]})
        return tweet_id

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
                media = len(item.get("media_ids") or ())
                found.append(Posted(item["id"], item["sent_text"], item["in_reply_to_tweet_id"], False, media))
        return found
