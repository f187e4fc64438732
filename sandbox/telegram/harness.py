"""The Telegram Bot API fake adapted to the connector conformance suite (and the demo).

The harness drives its fake only through the fake's own Python control API (inject, posted, fault
plan), never by reaching into the connector. Imported on demand by ``sandbox.networks.BUILTIN``.
"""

from __future__ import annotations

import copy
from typing import Any

from connectors.telegram import TelegramConnector
from plugin.connector import AccountContext, Connector, InboundRequest
from sandbox.faults import FaultPlan
from sandbox.networks.harness import Harness, Posted, json_request, with_headers
from sandbox.telegram import create_app as telegram_app

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

    def delete_public(self, external_id: str) -> Any:
        chat, message_id = external_id.split(":")
        self.app.state.user_deletes(int(chat), int(message_id))
        return None  # Telegram tells bots nothing about deletions

    def inject_poison(self, text: str) -> str | None:
        # The message with ``date`` as words: the Bot API documents Unix time (Integer).
        external_id = self.inject_any(text)
        self.poison({"message_id": int(external_id.split(":")[1])}, {"date": "yesterday"})
        return external_id

    def signed_webhook(self, external_id: str) -> InboundRequest | None:
        # What the Bot API POSTs to a webhook: the Update, with the secret_token registered by
        # setWebhook (a guided connection chose its own), else the one this harness's account has.
        [update] = [u for u in self.app.state.updates if self._id(u) == external_id]
        secret = (self.app.state.webhook or {}).get("secret_token") or TG_SECRET
        return json_request(copy.deepcopy(update), {"X-Telegram-Bot-Api-Secret-Token": secret})

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
                    sent.get("text", sent.get("caption", "")),  # a photo carries its text as caption
                    f"{chat}:{parent['message_id']}" if parent else None,
                    sent["chat"]["type"] == "private",
                    1 if sent.get("photo") else 0,  # one photo, however many sizes it is offered in
                )
            )
        return found
