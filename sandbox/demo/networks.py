"""The demo's other networks: every built-in connector's fake, one brand account and a customer each.

X carries the demo's main, many-customer traffic (plugin/demo.py); these add a few mentions on every
other network so an agent reply goes back to each. Meta networks are also fed by signed webhooks,
so the webhook path runs beside polling (the inbox keeps one copy of whatever arrives both ways).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests

from plugin.connector import InboundRequest
from plugin.runtime import Runtime
from sandbox.networks import BUILTIN, Harness

OTHER_NETWORKS = ("facebook", "messenger", "instagram", "mastodon", "bluesky", "telegram", "vk")
WEBHOOK_NETWORKS = frozenset({"facebook", "messenger", "instagram"})
TEXTS = (
    "my order still hasn't arrived, can you help?",
    "the app crashes when I pay",
    "thanks, that fixed it!",
    "is the shop open on Sunday?",
)


@dataclass
class DemoNetwork:
    name: str
    harness: Harness
    account_id: int = 0
    public_key: str = ""
    injected: list[str] = field(default_factory=list)
    # Webhooks horseshoe did not accept yet; the network sends them again later, as Meta does.
    undelivered: list[InboundRequest] = field(default_factory=list)

    def inject(self, index: int, web_url: str, *, retry_later: bool = False) -> tuple[str, bool]:
        """One customer item: public where the network has it, every third one private.

        Returns the connector external id and whether it was private. ``retry_later``: a webhook
        horseshoe does not accept (down, 5xx) is kept for ``redeliver`` instead of raising.
        """
        text = TEXTS[index % len(TEXTS)]
        external_id: str | None = None
        private = "public" in self.harness.skips
        if index % 3 == 2 and "private" not in self.harness.skips:
            external_id = self.harness.inject_private(text)
            private = external_id is not None
        if external_id is None:
            external_id = self.harness.inject_any(text)
        self.injected.append(external_id)
        if self.name in WEBHOOK_NETWORKS or (private and self.harness.dm_delivery == "webhook"):
            # The fake hands each webhook out once: a refused one is kept as sent, and sent again.
            request = self.harness.signed_webhook(external_id)
            if request is not None and not retry_later:
                self._post(request, web_url)
            elif request is not None and not self._try_post(request, web_url):
                self.undelivered.append(request)
        return external_id, private

    def redeliver(self, web_url: str) -> int:
        """Send the webhooks horseshoe refused again; returns how many are still undelivered."""
        waiting, self.undelivered = self.undelivered, []
        for request in waiting:
            if not self._try_post(request, web_url):
                self.undelivered.append(request)
        return len(self.undelivered)

    def _try_post(self, request: InboundRequest, web_url: str) -> bool:
        try:
            self._post(request, web_url)
        except requests.RequestException:
            return False  # refused or unreachable: the caller keeps it for the next round
        return True

    def _post(self, request: InboundRequest, web_url: str) -> None:
        response = requests.post(
            f"{web_url}/webhooks/{self.name}/{self.public_key}",
            data=request.body,
            headers=dict(request.headers),
            timeout=10,
        )
        response.raise_for_status()

    def stop(self) -> None:
        self.harness.stop()


def start_networks(runtime: Runtime, tenant_id: int) -> list[DemoNetwork]:
    networks = []
    for name in OTHER_NETWORKS:
        harness = BUILTIN[name]()
        harness.start()
        harness.reset()
        context = harness.account()
        settings: dict[str, Any] = {**context.settings, "poll_interval_seconds": 0.5}
        account_id = runtime.store.upsert_account(
            tenant_id,
            name,
            context.external_id,
            dict(context.credentials),
            handle=context.handle or f"acme on {name}",
            settings=settings,
            api_base=context.api_base,
        )
        found = runtime.store.account(account_id)
        assert found is not None
        networks.append(DemoNetwork(name, harness, account_id, found[0].public_key))
    return networks
