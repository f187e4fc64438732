"""The Meta Graph fake adapted to the conformance suite, once per connector it serves: Facebook,
Messenger and Instagram.

The harness drives its fake only through the fake's own Python control API (inject, posted, fault
plan), never by reaching into the connector. Imported on demand by ``sandbox.networks.BUILTIN``.
"""

from __future__ import annotations

import json
from typing import Any

from connectors.facebook import FacebookConnector
from connectors.instagram import InstagramConnector
from connectors.messenger import MessengerConnector
from plugin.connector import AccountContext, Connector, InboundRequest
from sandbox.faults import FaultPlan
from sandbox.meta import DEFAULT_APP_SECRET, DEFAULT_IG_ID, DEFAULT_PAGE_ID, DEFAULT_TOKEN, MetaState
from sandbox.meta import create_app as meta_app
from sandbox.meta.exceptions import invalid_param
from sandbox.meta.models import sign as meta_sign
from sandbox.networks.harness import FailureKind, Harness, Posted, json_request, with_headers

META_VERIFY = "verify-me"
META_CUSTOMER = "2001"
# The same customer on Instagram: Meta scopes ids per platform (an IGSID is not the person's PSID), so
# one Graph fake serving a Page's Messenger and Instagram accounts keeps two conversations apart.
IG_CUSTOMER = "4001"


class MetaHarness(Harness):
    """Facebook, Messenger and Instagram share one Graph fake; each harness runs its own copy."""

    connector_class: type[Connector]
    # The kinds of the fake's ``posted`` records this connector publishes (messages: see ``_owns``).
    own_kinds: frozenset[str] = frozenset()

    def __init__(self, shared: MetaHarness | None = None) -> None:
        """``shared``: another Meta harness whose fake this one uses too. One Graph API serves a Page's
        Facebook, Messenger and Instagram accounts, so one Facebook Login connects all three (the demo)."""
        super().__init__()
        self.shared = shared

    def create_app(self) -> Any:
        self.state = MetaState(require_proof=True)
        return meta_app(self.state, FaultPlan(seed=7))

    def start(self) -> None:
        if self.shared is None:
            super().start()
            return
        self.app, self.state, self.poisoned = self.shared.app, self.shared.state, self.shared.poisoned

    def stop(self) -> None:
        if self.shared is None:
            super().stop()

    @property
    def url(self) -> str:
        return self.shared.url if self.shared is not None else super().url

    def reset_state(self) -> None:
        if self.shared is None:  # a shared fake is seeded (Page, customer) by its owner
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
        return IG_CUSTOMER if self.network == "instagram" else META_CUSTOMER

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
            if not self._owns(item):
                continue  # published by another connector on the same fake
            private = item["kind"] not in ("comment", "ig_reply", "ig_comment")
            text = item.get("text") or item.get("message") or ""
            parent = item.get("parent_id") or item.get("in_reply_to")
            media = int(bool(item.get("attachment_url") or item.get("attachment")))
            found.append(Posted(item.get("id"), text, parent, private, media))
        return found

    def _owns(self, item: dict[str, Any]) -> bool:
        if item["kind"] != "message":
            return item["kind"] in self.own_kinds
        if item.get("platform") == "instagram":
            return self.network == "instagram"
        # On Messenger's platform, a private reply to a comment (recipient: comment_id) is Facebook's.
        to_comment = "id" not in (item.get("recipient") or {})
        return self.network == ("facebook" if to_comment else "messenger")


class FacebookHarness(MetaHarness):
    network = "facebook"
    connector_class = FacebookConnector
    own_kinds = frozenset({"comment"})
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

    def inject_poison(self, text: str) -> str | None:
        # The comment with a ``created_time`` Graph never sends.
        comment_id = self.inject_public(text)
        self.poison({"id": comment_id}, {"created_time": "not a time"})
        return comment_id

    def delete_public(self, external_id: str) -> Any:
        """The customer removes their comment: the ``page`` webhook body (feed change, ``verb: remove``)."""
        self.state.delete(external_id)
        bodies = [json.dumps(b) for b in self.state.pending_webhooks()]
        return json.loads([b for b in bodies if '"remove"' in b and external_id in b][-1])

    def _top(self, comment_id: str | None) -> str | None:
        """Replying to a reply attaches to its top-level comment (Graph comments nest two levels)."""
        while comment_id is not None and self.state.comments[comment_id].parent_id:
            comment_id = self.state.comments[comment_id].parent_id
        return comment_id


class MessengerHarness(MetaHarness):
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

    def inject_poison(self, text: str) -> str | None:
        # The message with a ``created_time`` Graph never sends.
        mid = self.inject_private(text)
        assert mid is not None
        self.poison({"id": mid}, {"created_time": "not a time"})
        return mid


class InstagramHarness(MetaHarness):
    network = "instagram"
    connector_class = InstagramConnector
    own_kinds = frozenset({"ig_comment", "ig_reply"})
    fixture_files = (
        ("instagram/comment.json", None),
        ("instagram/comment_reply.json", None),
        ("instagram/message.json", None),
    )
    # GET /{ig-user-id}/conversations is not part of this connector's poll: IG DMs arrive by webhook.
    dm_delivery = "webhook"

    def reset_state(self) -> None:
        super().reset_state()
        self.state.add_person(IG_CUSTOMER, "Ann Customer", username="ann.customer")
        self.media_id = self.state.inject_ig_media(DEFAULT_IG_ID, "Our launch!")

    def inject_public(self, text: str, reply_to: str | None = None) -> str:
        return self.state.inject_ig_comment(self.media_id, IG_CUSTOMER, text, parent_id=self._top(reply_to))

    def inject_poison(self, text: str) -> str | None:
        # The comment with a ``timestamp`` Graph never sends.
        comment_id = self.inject_public(text)
        self.poison({"id": comment_id}, {"timestamp": "not a time"})
        return comment_id

    def _top(self, comment_id: str | None) -> str | None:
        """Replying to a reply attaches to its top-level comment (IG comments nest two levels)."""
        while comment_id is not None and self.state.ig_comments[comment_id].parent_id:
            comment_id = self.state.ig_comments[comment_id].parent_id
        return comment_id

    def inject_private(self, text: str) -> str | None:
        return self.state.inject_message(DEFAULT_PAGE_ID, IG_CUSTOMER, text, platform="instagram")

    def delete_public(self, external_id: str) -> Any:
        self.state.delete(external_id)
        return None  # Instagram sends no webhook for a removed comment
