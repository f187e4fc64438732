"""Count what went wrong from what the fakes hold, never from horseshoe's own bookkeeping.

Used by the demo's summary and by the chaos and faults benchmarks. Every agent reply carries a unique
reference (``(ref 123)`` from Zendesk agents, ``(ref sf-…)`` from Salesforce agents), so a reply posted
twice shows up as the same reference twice among the brand's posts on the networks; a reply posted
once but reported failed to the agent (killed mid-send: ``uncertain``) is not a duplicate.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.demo.run import World

REF = re.compile(r"\(ref ([A-Za-z0-9_-]+)\)")


def reply_ref(ref: str | int) -> str:
    """The marker an agent's reply text ends with; ``REF`` finds it again in what a fake holds."""
    return f"(ref {ref})"


@dataclass
class Audit:
    lost: set[str] = field(default_factory=set)  # "network:external_id" injected but in no CRM
    duplicate_comments: int = 0  # an inbound item imported into Zendesk more than once
    duplicate_posts: int = 0  # an inbound SocialPost created more than once
    duplicate_personas: int = 0  # a SocialPersona created more than once for one network identity
    double_replies: int = 0  # extra copies of one agent reply (same reference) on the networks
    brand_posts: int = 0  # everything the brand published, across networks
    refs: Counter[str] = field(default_factory=Counter)

    @property
    def duplicates(self) -> int:
        return self.duplicate_comments + self.duplicate_posts + self.duplicate_personas

    def figures(self) -> dict[str, int]:
        return {
            "lost": len(self.lost),
            "duplicates": self.duplicates,
            "double_replies": self.double_replies,
            "duplicate_comments": self.duplicate_comments,
            "duplicate_posts": self.duplicate_posts,
            "duplicate_personas": self.duplicate_personas,
        }


def extra_copies(keys: Iterable[Any]) -> int:
    """How many items are repeats of an earlier one (``[a, a, a, b]`` -> 2)."""
    counted = Counter(k for k in keys if k)
    return sum(n - 1 for n in counted.values() if n > 1)


def brand_posts(world: World) -> list[Any]:
    """What the brand published on every network's fake (X's records as dicts, the others as ``Posted``)."""
    posts: list[Any] = list(world.x_app.state.posted_by(world.brand_id))
    for network in world.networks:
        posts.extend(network.harness.posted())
    return posts


def _text_of(post: Any) -> str:
    # X keeps a record per post or DM with its published "text" (and the "sent_text" it was asked to
    # publish: the same words, not a second post); a harness's Posted has .text.
    text = post.get("text") if isinstance(post, dict) else getattr(post, "text", None)
    return text if isinstance(text, str) else json.dumps(post, ensure_ascii=False, default=str)


def audit(world: World, zendesk_inbound: list[str]) -> Audit:
    """``zendesk_inbound``: the external ids of every inbound comment on every ticket (repeats kept)."""
    result = Audit()
    imported = set(zendesk_inbound)
    result.lost = {key for key in world.injected if key not in imported}
    result.duplicate_comments = len(zendesk_inbound) - len(imported)
    if world.salesforce is not None:
        inbound = [p for p in world.salesforce.records("SocialPost") if not p.get("IsOutbound")]
        keys = [p.get("R6PostId") for p in inbound]
        in_salesforce = set(keys)
        result.lost |= {key for key in world.injected if key not in in_salesforce}
        result.duplicate_posts = extra_copies(keys)
        personas = world.salesforce.records("SocialPersona")
        result.duplicate_personas = extra_copies(
            (p.get("Provider"), p.get("ExternalId")) for p in personas if p.get("ExternalId")
        )
    posts = brand_posts(world)
    result.brand_posts = len(posts)
    for post in posts:
        result.refs.update(REF.findall(_text_of(post)))
    result.double_replies = sum(n - 1 for n in result.refs.values() if n > 1)
    return result
