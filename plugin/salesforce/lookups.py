"""The look-ups an inbound batch starts with, all independent of one another, so they share Composite
calls (``SalesforceApi.queries``: five SOQL queries to a call; a batch from one network needs two).

* the batch's posts and the posts they answer: one IN query on ExternalPostId, plus one on R6PostId
  when the batch has networks sharing Provider "Other" (their raw ids can collide), plus our own
  published replies there (they carry only the network's ExternalPostId; the post they answer,
  ReplyTo.R6PostId, names their network);
* the authors' SocialPersonas: by ExternalId, and for "Other" networks by R6SourceId ("network:id"),
  plus the unscoped "Other" personas (raw ExternalId only) an author of the batch may adopt.

Each query asks for what the batch could need; the answers are then read for the items that need
them (personas only matter for posts not stored yet), so what is found is exactly what the one-by-one
look-ups found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from plugin.salesforce import records as rec
from plugin.salesforce.api import SalesforceApi

if TYPE_CHECKING:
    from plugin.salesforce.inbound import Key, _Item

_POSTS = "SELECT Id, ExternalPostId, R6PostId, Provider, ParentId, PersonaId, IsOutbound, Recipient FROM SocialPost"
POSTS = _POSTS + " WHERE ExternalPostId IN ({values}) ORDER BY CreatedDate ASC"
OTHER_POSTS = _POSTS + " WHERE Provider = 'Other' AND R6PostId IN ({values}) ORDER BY CreatedDate ASC"
OUR_OTHER_POSTS = (
    "SELECT Id, ExternalPostId, Provider, ParentId, PersonaId, IsOutbound, Recipient, ReplyTo.R6PostId "
    "FROM SocialPost WHERE Provider = 'Other' AND IsOutbound = true AND ExternalPostId IN ({values})"
)
PERSONAS = (
    "SELECT Id, ParentId, Provider, ExternalId FROM SocialPersona WHERE ExternalId IN ({values}) "
    "ORDER BY CreatedDate ASC"
)
# "Other" personas are told apart by R6SourceId ("network:id"): the raw ExternalId of a Mastodon account
# and of a Bluesky account could be the same string.
OTHER_PERSONAS = (
    "SELECT Id, ParentId, Provider, R6SourceId FROM SocialPersona WHERE Provider = 'Other' "
    "AND R6SourceId IN ({values}) ORDER BY CreatedDate ASC"
)
UNSCOPED_PERSONAS = (
    "SELECT Id, ParentId, ExternalId, MediaProvider FROM SocialPersona WHERE Provider = 'Other' "
    "AND R6SourceId = null AND ExternalId IN ({values}) ORDER BY CreatedDate ASC"
)


@dataclass
class Found:
    posts: dict[Key, dict[str, Any]] = field(default_factory=dict)
    personas: dict[Key, dict[str, Any]] = field(default_factory=dict)
    unscoped: list[dict[str, Any]] = field(default_factory=list)  # "Other" personas without R6SourceId

    @classmethod
    def look_up(cls, api: SalesforceApi, work: list[_Item]) -> Found:
        wanted = [w.key for w in work]
        wanted += [rec.post_key(w.item.mention.network, w.item.mention.parent_id)
                   for w in work if w.item.mention.parent_id]  # fmt: skip
        other_parents = sorted({w.item.mention.parent_id for w in work
                                if w.item.mention.parent_id and w.key[0] == "Other"})  # fmt: skip
        jobs = {
            "posts": (POSTS, [v for p, v in wanted if p != "Other" and v]),
            "other_posts": (OTHER_POSTS, [v for p, v in wanted if p == "Other" and v]),
            "our_other_posts": (OUR_OTHER_POSTS, other_parents),
            "personas": (PERSONAS, [w.persona_key[1] for w in work if w.persona_key[0] != "Other"]),
            "other_personas": (OTHER_PERSONAS, [w.persona_key[1] for w in work if w.persona_key[0] == "Other"]),
            "unscoped": (UNSCOPED_PERSONAS,
                         [w.item.mention.author.external_id for w in work if w.persona_key[0] == "Other"]),
        }  # fmt: skip
        asked = [name for name, (_, values) in jobs.items() if values]
        answers = dict(zip(asked, api.queries([jobs[name] for name in asked]), strict=True))
        found = cls(unscoped=answers.get("unscoped", []))
        for row in answers.get("posts", []):
            if row.get("Provider") != "Other":
                found.posts.setdefault((str(row.get("Provider") or ""), str(row["ExternalPostId"])), row)
        for row in answers.get("other_posts", []):
            found.posts.setdefault(("Other", str(row["R6PostId"])), row)
        found._our_other_posts(work, answers.get("our_other_posts", []))
        for row in answers.get("personas", []):
            if row.get("Provider") != "Other":
                found.personas.setdefault((str(row.get("Provider") or ""), str(row.get("ExternalId"))), row)
        for row in answers.get("other_personas", []):
            found.personas.setdefault(("Other", str(row.get("R6SourceId"))), row)
        return found

    def _our_other_posts(self, work: list[_Item], rows: list[dict[str, Any]]) -> None:
        """Our own published replies on "Other" networks carry only the network's ExternalPostId (the
        publisher learns no more); the post they answer (ReplyTo.R6PostId) names their network."""
        parents = {
            (w.item.mention.network, w.item.mention.parent_id) for w in work
            if w.item.mention.parent_id and w.key[0] == "Other"
            and rec.post_key(w.item.mention.network, w.item.mention.parent_id) not in self.posts
        }  # fmt: skip
        for row in rows:
            external_id = str(row["ExternalPostId"])
            reply_to = row.get("ReplyTo") or {}
            network = str(reply_to.get("R6PostId") or "").partition(":")[0]
            if not network:
                # An outbound post that answers nothing (a campaign post made in Salesforce): its
                # network is known only when a single network in this batch answers that id.
                named = [n for n, parent in parents if parent == external_id]
                network = named[0] if len(named) == 1 else ""
            if (network, external_id) in parents:
                self.posts.setdefault(rec.post_key(network, external_id), row)
