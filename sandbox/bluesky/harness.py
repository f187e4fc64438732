"""The Bluesky fake adapted to the connector conformance suite (and the demo).

The harness drives its fake only through the fake's own Python control API (inject, posted, fault
plan), never by reaching into the connector. Imported on demand by ``sandbox.networks.BUILTIN``.
"""

from __future__ import annotations

from typing import Any

from connectors.bluesky import BlueskyConnector
from plugin.connector import AccountContext, Connector
from sandbox.bluesky import create_app as bluesky_app
from sandbox.networks.harness import Harness, Posted

BSKY_HANDLE = "brand.bsky.sandbox"
BSKY_PASSWORD = "abcd-efgh-ijkl-mnop"


class BlueskyHarness(Harness):
    network = "bluesky"
    fixture_files = (("bluesky/list_notifications.json", None),)
    skips = {"webhook": "Bluesky has no webhooks (notifications and chat are polled)"}

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
            settings={"chat_enabled": True},  # direct messages are opt-in (the app password needs DM access)
            api_base=self.url,
        )

    @property
    def customer_id(self) -> str:
        return str(self.customer["did"])

    def inject_public(self, text: str, reply_to: str | None = None) -> str:
        view = self.app.state.inject_post(self.customer["did"], text, mentions=[self.brand["did"]], reply_to=reply_to)
        return str(view["uri"])

    def inject_private(self, text: str) -> str | None:
        message = self.app.state.inject_message(self.customer["did"], self.brand["did"], text)
        convo = self.app.state.convo_for(sorted({self.customer["did"], self.brand["did"]}))
        return f"{convo['id']}:{message['id']}"

    def delete_public(self, external_id: str) -> Any:
        return self.app.state.delete_record(external_id)

    def inject_poison(self, text: str) -> str | None:
        # The post's record with ``text`` as a list: the lexicon says string.
        uri = self.inject_public(text)
        record = {"$type": "app.bsky.feed.post", "text": ["not", "a", "string"], "createdAt": "2024-01-01T00:00:00Z"}
        self.poison({"uri": uri}, {"record": record})
        return uri

    def posted(self) -> list[Posted]:
        state = self.app.state
        found = []
        for record in state.posts_by(self.brand["did"]):
            parent = record["value"].get("reply", {}).get("parent", {}).get("uri")
            images = (record["value"].get("embed") or {}).get("images") or ()
            found.append(Posted(record["uri"], record["value"]["text"], parent, False, len(images)))
        with state.lock:
            for convo in state.convos.values():
                for message in convo["messages"]:
                    if message["sender"]["did"] == self.brand["did"]:
                        found.append(Posted(f"{convo['id']}:{message['id']}", message["text"], None, True))
        return found
