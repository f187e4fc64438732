"""X (Twitter) API v2 connector: the entry point ``x = "connectors.x"`` names this package.

- ``connector``: ``XConnector`` (polling, webhooks, replies, DMs, profiles) and the pluggy hookimpl;
- ``auth``: OAuth 1.0a (requests-oauthlib) and OAuth 2.0 bearer auth, credential choice;
- ``errors``: X's problem JSON -> taxonomy; ``ratelimit``: per-token ``x-rate-limit-*`` memory;
- ``parse``: payloads -> Mention (pydantic models in ``models``); ``webhook``: CRC and signatures;
- ``length``: weighted text length as X counts it; ``config``: credential and settings models.
"""

from __future__ import annotations

from .connector import XConnector, hookimpl, horseshoe_register_connectors

__all__ = ["XConnector", "hookimpl", "horseshoe_register_connectors"]
