"""``BUILTIN``: every built-in network's harness, by connector name. Each lives beside its fake
(``sandbox/<fake>/harness.py``); the Meta fake serves three connectors, so it has three harnesses."""

from __future__ import annotations

from sandbox.bluesky.harness import BlueskyHarness
from sandbox.mastodon.harness import MastodonHarness
from sandbox.meta.harness import FacebookHarness, InstagramHarness, MessengerHarness
from sandbox.telegram.harness import TelegramHarness
from sandbox.vk.harness import VKHarness
from sandbox.x.harness import XHarness

from .harness import Harness

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
