"""The VK fake adapted to the connector conformance suite (and the demo).

The harness drives its fake only through the fake's own Python control API (inject, posted, fault
plan), never by reaching into the connector. Imported on demand by ``sandbox.networks.BUILTIN``.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from connectors.vk import VKConnector
from plugin.connector import AccountContext, Connector, InboundRequest
from sandbox.faults import FaultPlan
from sandbox.networks.harness import FailureKind, Harness, Posted, json_request
from sandbox.vk import create_app as vk_app
from sandbox.vk.search import SERVICE_TOKEN

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
            credentials={
                "access_token": "vk1.a.wrong" if bad_credentials else VK_TOKEN,
                "secret": VK_SECRET,
                "search_token": SERVICE_TOKEN,
            },
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

    def delete_public(self, external_id: str) -> Any:
        """The customer deletes their wall comment: the Callback API's ``wall_reply_delete`` body."""
        return self.app.state.user_deletes_comment(int(external_id.split("_")[1]))

    def inject_private(self, text: str) -> str | None:
        message = self.app.state.user_messages(VK_CUSTOMER, text)["object"]["message"]
        return f"{message['peer_id']}_{message['conversation_message_id']}"

    def inject_poison(self, text: str) -> str | None:
        # The wall comment with ``date`` as words: the API documents Unix time (integer).
        external_id = self.inject_public(text)
        self.poison({"id": int(external_id.split("_")[1]), "post_id": self.post_id}, {"date": "yesterday"})
        return external_id

    def signed_webhook(self, external_id: str) -> InboundRequest | None:
        # The Callback API puts the callback server's secret key inside the JSON body (the fake starts
        # with this harness's, and takes the one a guided connection registers).
        event = self.app.state.events[-1]
        return json_request({**copy.deepcopy(event), "secret": self.app.state.secret}, {})

    def forged_webhooks(self, genuine: InboundRequest) -> list[InboundRequest]:

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
                Posted(
                    f"{owner}_{comment['id']}",
                    comment["text"],
                    f"{owner}_{parent}" if parent else None,
                    False,
                    len(comment.get("attachments") or ()),
                )
            )
        for message in state.sent_messages:
            found.append(
                Posted(
                    f"{message['peer_id']}_{message['conversation_message_id']}",
                    message["text"],
                    None,
                    True,
                    len(message.get("attachments") or ()),
                )
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
