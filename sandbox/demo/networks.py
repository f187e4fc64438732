"""The demo's other networks: every built-in connector's fake, one brand account and a customer each.

X carries the demo's main, many-customer traffic (plugin/demo.py); these add a few mentions on every
other network so an agent reply goes back to each. Every brand account is connected through its guided
flow (sandbox/demo/flows.py), as an admin would. Meta networks are also fed by signed webhooks at the
app's one callback URL the flow showed, so the webhook path runs beside polling (the inbox keeps one copy
of whatever arrives both ways); Telegram, whose flow registers horseshoe's webhook, pushes every update.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import requests

from plugin.connector import InboundRequest
from plugin.runtime import Runtime
from sandbox.demo.connect import connect
from sandbox.demo.flows import DEMO_SETTINGS, META, network_flows
from sandbox.meta.harness import MetaHarness
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
    webhook_url: str | None = None  # where the network sends this account's webhooks (the flow showed it)
    injected: list[str] = field(default_factory=list)
    # Webhooks horseshoe did not accept yet; the network sends them again later, as Meta does.
    undelivered: list[InboundRequest] = field(default_factory=list)

    def inject(self, index: int, *, retry_later: bool = False) -> tuple[str, bool]:
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
                self._post(request)
            elif request is not None and not self._try_post(request):
                self.undelivered.append(request)
        self.push()
        return external_id, private

    def push(self) -> None:
        """What the network sends on its own: Telegram POSTs pending updates to the registered webhook
        (one that is refused stays queued at Telegram and goes first next time)."""
        if self.name == "telegram":
            self.harness.app.state.deliver_webhook()

    @property
    def waiting(self) -> int:
        """Items the network still has to deliver to horseshoe."""
        queued = len(self.harness.app.state.updates) if self.name == "telegram" else 0
        return len(self.undelivered) + queued

    def redeliver(self) -> int:
        """Send the webhooks horseshoe refused again; returns how many are still undelivered."""
        waiting, self.undelivered = self.undelivered, []
        for request in waiting:
            if not self._try_post(request):
                self.undelivered.append(request)
        self.push()
        return self.waiting

    def _try_post(self, request: InboundRequest) -> bool:
        try:
            self._post(request)
        except requests.RequestException:
            return False  # refused or unreachable: the caller keeps it for the next round
        return True

    def _post(self, request: InboundRequest) -> None:
        assert self.webhook_url, f"{self.name}: its connect flow showed no webhook URL"
        response = requests.post(self.webhook_url, data=request.body, headers=dict(request.headers), timeout=10)
        response.raise_for_status()

    def stop(self) -> None:
        self.harness.stop()


def start_networks(runtime: Runtime, web_url: str, tenant_id: int) -> list[DemoNetwork]:
    """Run every other network's fake and connect the brand's account on each through its guided flow."""
    harnesses: dict[str, Harness] = {}
    for name in OTHER_NETWORKS:
        kind, owner = BUILTIN[name], harnesses.get(META[0])
        # Facebook, Messenger and Instagram share one Graph fake: one Facebook Login finds all three.
        harness = kind(owner) if issubclass(kind, MetaHarness) and isinstance(owner, MetaHarness) else kind()
        harness.start()
        harness.reset()
        harnesses[name] = harness
    connected = {c.network: c for flow in network_flows(runtime, web_url, harnesses)
                 for c in connect(runtime, web_url, tenant_id, flow)}  # fmt: skip
    networks = []
    for name, harness in harnesses.items():
        account = connected[name]
        assert account.account_id is not None
        found = runtime.store.account(account.account_id)
        assert found is not None
        # The admin's changes in the account's settings form: fast polling for the demo, and the rest.
        runtime.store.update_account_settings(
            account.account_id, {**found[0].settings, "poll_interval_seconds": 0.5, **DEMO_SETTINGS.get(name, {})}
        )
        networks.append(DemoNetwork(name, harness, account.account_id, account.webhook_url))
    return networks
