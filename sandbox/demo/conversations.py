"""The demo's whole conversations: listening hits, a handoff, deletions and agents' attachments.

Played on top of the scripted stream, the way they happen on a real day: customers who name the brand
without tagging it (found by X recent search through the X account's listening terms, with one post
that only shares the word and must not become a ticket); a customer asked to move to DMs with one
``#handoff`` reply; customers deleting posts an agent has not answered (their tickets get a note, the
agent's reply is held); agents attaching an image (a label) to some replies. Everything the summary
reports is counted from what the fakes hold.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from plugin.pipeline import inbound as pipeline
from sandbox.server import RunningServer, serve_in_thread
from sandbox.vk.search import user_posts_publicly

if TYPE_CHECKING:
    from sandbox.demo.run import World

BRAND_WORD = "acme"
LISTENING_POSTS = [  # (customer, text, relevant?)
    ("tom_h", "acme lost my parcel again, two weeks and still no refund", True),
    ("olga_ivanova", "acme так и не вернули деньги за заказ, поддержка молчит", True),
    ("emma_w", "reached the acme of my career today, feeling great", False),
]
HANDOFF_CUSTOMER = "priya_k"
HANDOFF_POST = "I was charged twice for my order and nobody answers!"
HANDOFF_REPLY = "#handoff Sorry Priya! We've sent you a DM.\nHi Priya, could you send us your order number here?"
# Their customers delete a post before anyone answers (each network's own deletion event: Mastodon and
# Bluesky streams, Facebook's feed ``remove``).
DELETING_NETWORKS = ("mastodon", "bluesky", "facebook")
# Listening on VK too (newsfeed.search): a customer names the brand on their own wall, and another
# meaning of the word that triage keeps out.
VK_LISTENING_POSTS = [
    ("acme charged me twice for one order and support does not answer", True),
    ("the acme of baroque architecture is in Rome", False),
]
# Customers' items these conversations add to the stream (relevant listening posts, the handoff post,
# the posts that get deleted): part of ``--mentions``.
CUSTOMER_ITEMS = (
    sum(1 for *_, relevant in LISTENING_POSTS if relevant) + 1 + len(DELETING_NETWORKS)
    + sum(1 for _, relevant in VK_LISTENING_POSTS if relevant)
)  # fmt: skip
ATTACHING_NETWORKS = frozenset({"x", "facebook", "mastodon", "bluesky", "telegram", "vk"})


def png(width: int = 4, height: int = 4) -> bytes:
    """A small, valid PNG (the shipping label agents attach)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\x20\x60\xc0" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


@Request.application
def _files(request: Request) -> Response:
    # Where an agent's attachment lives (a Zendesk attachment URL in production).
    if request.path != "/label.png":
        return Response("not found", status=404)
    return Response(png(), content_type="image/png")


@dataclass
class Conversations:
    files: RunningServer
    handoff_post: str | None = None
    handed_off: bool = False
    deleting: dict[str, str] = field(default_factory=dict)  # network -> external id to delete
    deleted: set[str] = field(default_factory=set)
    extra_rows: int = 0  # inbox rows that are no customer item of ``world.injected`` (notes, noise)
    listening_account: int = 0
    listening_posted: bool = False
    vk_listening_account: int = 0
    vk_listening_posted: bool = False
    attached: int = 0  # agents' replies given an image so far

    @property
    def pending(self) -> int:
        """Scripted steps not taken yet (the demo waits for them)."""
        return (
            int(not self.handed_off) + len(set(self.deleting.values()) - self.deleted) + int(not self.listening_posted)
            + int(bool(self.vk_listening_account) and not self.vk_listening_posted)
        )  # fmt: skip

    @property
    def label_url(self) -> str:
        return f"{self.files.url}/label.png"

    def stop(self) -> None:
        self.files.stop()


def begin(world: World) -> Conversations:
    """Listening on, its posts, the post to hand off, and the posts that will be deleted."""
    found = Conversations(files=serve_in_thread(_files))
    x = world.x_app.state
    account = next(a for a in world.runtime.store.accounts() if a.network == "x")
    # Listening starts now; its posts come once the first search has recorded where "now" is.
    world.runtime.store.update_account_settings(
        account.id, {"listen_terms": f"{BRAND_WORD}, #{BRAND_WORD}help", "listen_calls_per_hour": 3600}
    )
    found.listening_account = account.id
    post = x.inject_mention(HANDOFF_CUSTOMER, HANDOFF_POST, to_user=world.brand_handle)
    found.handoff_post = f"x:{post['id']}"
    world.injected[found.handoff_post] = "new"
    world.reserved.add(found.handoff_post)
    for network in world.networks:
        if network.name == "vk":
            world.runtime.store.update_account_settings(
                network.account_id, {"listen_terms": BRAND_WORD, "listen_calls_per_hour": 3600}
            )
            found.vk_listening_account = network.account_id
        if network.name in DELETING_NETWORKS:
            external_id = network.harness.inject_public(f"my parcel from {network.name} is damaged, what now?")
            key = f"{network.name}:{external_id}"
            world.injected[key] = "new"
            world.reserved.add(key)  # nobody answers it before the customer deletes it
            found.deleting[network.name] = external_id
    return found


def _ticket_with(world: World, key: str) -> dict[str, Any] | None:
    for ticket in world.zd_state.tickets_with_comments(world.subdomain):
        if any(c.get("external_id") == key for c in ticket["comments"]):
            return ticket
    return None


def step(world: World, found: Conversations) -> None:
    """Act once each thing is in place: the handoff once its ticket exists, deletions likewise."""
    state = world.runtime.store.brand_accounts.cursor(found.listening_account)
    if not found.listening_posted and state.listen_cursor is not None:
        for customer, text, relevant in LISTENING_POSTS:
            post = world.x_app.state.inject_post(customer, text)
            if relevant:
                world.injected[f"x:{post['id']}"] = "listening"
            else:
                found.extra_rows += 1  # stored and counted, never a ticket
        found.listening_posted = True
    if found.vk_listening_account and not found.vk_listening_posted:
        _post_on_vk(world, found)
    if found.handoff_post and not found.handed_off:
        ticket = _ticket_with(world, found.handoff_post)
        if ticket is not None:
            world.driver.agent_reply(ticket["id"], HANDOFF_REPLY, request_unique_identifier="demo-handoff")
            found.handed_off = True
    for network in world.networks:
        external_id = found.deleting.get(network.name)
        if external_id is None or external_id in found.deleted:
            continue
        if _ticket_with(world, f"{network.name}:{external_id}") is None:
            continue
        # Zendesk's callbacks say which ticket the post is on, so the note can be an internal note there.
        world.driver.flush_events()
        event = network.harness.delete_public(external_id)
        located = world.runtime.store.account(network.account_id)
        assert located is not None
        account, context = located
        deletions = world.runtime.registry.connector(network.name).parse_payload(event, context.external_id)
        pipeline.ingest(world.runtime, account, deletions)
        found.deleted.add(external_id)
        found.extra_rows += 1  # the note on its ticket


def _post_on_vk(world: World, found: Conversations) -> None:
    """Once VK listening has recorded where "now" is: the customers' posts on their own walls."""
    if world.runtime.store.brand_accounts.cursor(found.vk_listening_account).listen_cursor is None:
        return
    network = next(n for n in world.networks if n.name == "vk")
    for text, relevant in VK_LISTENING_POSTS:
        post = user_posts_publicly(network.harness.app.state, int(network.harness.customer_id), text)
        if relevant:
            key = f"vk:wall{post['owner_id']}_{post['id']}"  # a person's wall (connectors/vk/listen.py)
            world.injected[key] = "listening"
            world.reserved.add(key)  # on the customer's wall: a community cannot comment there
        else:
            found.extra_rows += 1  # stored and counted, never a ticket
    found.vk_listening_posted = True


def attach_to(world: World, network: str, private: bool, first_of_network: bool, ticket_id: int) -> list[str]:
    """The image an agent attaches to this reply, if any: the first public reply that can take one, then
    every third, where the network takes images (the first reply of each network goes without, so every
    network is answered). The first one does not wait for a ticket number divisible by three, so a short
    demo always shows an attachment."""
    found: Conversations | None = world.conversations
    if found is None or private or first_of_network or network not in ATTACHING_NETWORKS:
        return []
    if found.attached and ticket_id % 3:
        return []
    found.attached += 1
    return [found.label_url]


def is_deletion_note(comment: dict[str, Any]) -> bool:
    """A Zendesk comment that is horseshoe's note about a deleted post (internal, or pushed as before)."""
    body = str(comment.get("body") or "")
    internal = comment.get("public") is False and body.startswith("Note from horseshoe") and "deleted" in body
    return internal or str(comment.get("external_id") or "").endswith("#deleted")


def figures(world: World) -> dict[str, int]:
    """Counted from the fakes: listening tickets, handoffs, deletion notes, brand posts with an image."""
    tickets = world.zd_state.tickets_with_comments(world.subdomain)
    comments = [c for t in tickets for c in t["comments"]]
    media = sum(len(p.get("media_ids") or ()) > 0 for p in world.x_app.state.posted_by(world.brand_id))
    media += sum(p.media > 0 for n in world.networks for p in n.harness.posted())
    return {
        "listening": sum("listening" in t.get("tags", []) for t in tickets),
        "handoffs": sum(
            str(c["body"]).startswith("#handoff") and (c.get("channelback") or {}).get("status") == "sent"
            for c in comments
        ),
        # horseshoe's notes are internal notes (REST credentials) or, without them, pushed comments.
        "deletions": sum(is_deletion_note(c) for c in comments),
        "attachments": media,
    }
