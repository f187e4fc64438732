"""The Mastodon fake adapted to the connector conformance suite (and the demo).

The harness drives its fake only through the fake's own Python control API (inject, posted, fault
plan), never by reaching into the connector. Imported on demand by ``sandbox.networks.BUILTIN``.
"""

from __future__ import annotations

from typing import Any

from connectors.mastodon import MastodonConnector
from plugin.connector import AccountContext, Connector
from sandbox.mastodon import create_app as mastodon_app
from sandbox.networks.harness import Harness, Posted

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

    def delete_public(self, external_id: str) -> Any:
        return self.app.state.delete_status(external_id)

    def inject_poison(self, text: str) -> str | None:
        # The status with a ``created_at`` that is no date (the API documents ISO 8601); Mastodon.py
        # drops what it cannot parse, so the connector finds the field missing.
        status_id = self.inject_public(text)
        self.poison({"id": status_id}, {"created_at": "not a date"})
        return status_id

    def posted(self) -> list[Posted]:
        return [
            Posted(
                str(s["id"]),
                s.get("text") or s["content"],
                s.get("in_reply_to_id"),
                s["visibility"] == "direct",
                len(s.get("media_attachments") or ()),
            )
            for s in self.app.state.posted_by(self.brand["id"])
        ]
