"""Notes for the agent about a conversation: things that happened on the network that are not a
customer's message, delivered into the same ticket/case through the normal, durable delivery path.

A note is stored in the inbox like a mention (so it is committed first, retried, threaded under the
post it is about and never lost) but marked ``extra.notice``: triage and identity resolution leave it
alone, the Zendesk sink writes it as an internal note on the ticket of the post it is about
(plugin/zendesk/notes.py; pushed as a comment when the tenant has no REST credentials), the Salesforce
sink as an internal CaseComment (IsPublished = false). Its author is horseshoe, never the customer.
"""

from __future__ import annotations

from datetime import datetime

from plugin.models import Author, Kind, Mention, Visibility

NOTICE = "notice"
DELETED = "deleted"
HORSESHOE = Author(external_id="horseshoe", name="horseshoe (automatic note)")
NETWORK_NAMES = {
    "x": "X", "vk": "VK", "bluesky": "Bluesky", "mastodon": "Mastodon", "telegram": "Telegram",
    "facebook": "Facebook", "instagram": "Instagram", "messenger": "Messenger",
}  # fmt: skip


def is_notice(mention: Mention) -> bool:
    return bool(mention.extra.get(NOTICE))


def deletion_notice(original: Mention, when: datetime, *, unavailable: bool = False) -> Mention:
    """The note that ``original`` was deleted by its author (one per deleted mention: its id is derived);
    ``unavailable``: the network said the customer can no longer be messaged at all."""
    network = NETWORK_NAMES.get(original.network, original.network.capitalize())
    stamp = when.strftime("%Y-%m-%d %H:%M UTC")
    if unavailable:
        text = (
            f"Note from horseshoe: {network} says this customer can no longer be messaged ({stamp}): the "
            "account was deleted or deactivated, or the customer blocked you. A reply to this conversation "
            "is held, not posted. Reach the customer another way if it still matters, or close the ticket."
        )
    elif original.visibility == Visibility.PRIVATE:
        # A private chat is still the conversation: the agent may answer in it, without the quote.
        text = (
            f"Note from horseshoe: the customer deleted this {network} message ({stamp}). A reply quoting "
            "it is held, not sent. To answer in the same chat anyway, without the quote, start the reply "
            "with #unquoted; or close the ticket."
        )
    else:
        text = (
            f"Note from horseshoe: the customer deleted this {network} message ({stamp}). It can no longer "
            "be answered in its thread, so a reply to it is held, not posted. Answer in a new message or a "
            "private one if the conversation needs it, or close the ticket."
        )
    return Mention(
        network=original.network,
        external_id=f"{original.external_id}#deleted",
        thread_id=original.thread_id or original.external_id,
        parent_id=original.external_id,
        kind=Kind.REPLY,
        visibility=original.visibility,
        author=HORSESHOE,
        text=text,
        created_at=when,
        account=original.account,
        extra={NOTICE: DELETED, "about": original.external_id},
    )


def held_reason(network: str, *, unavailable: bool = False, private: bool = False) -> str:
    """What the agent is told about a held reply; ``private``: it answers a message in a private chat."""
    name = NETWORK_NAMES.get(network, network.capitalize())
    if unavailable:
        return (
            f"held: {name} says the customer can no longer be messaged (account deleted or deactivated, "
            "or you are blocked), so it was not posted."
        )
    if private:
        return (
            f"held: the customer deleted the {name} message this reply quotes, so it was not sent. To send "
            "it anyway in the same chat, without the quote, reply again starting with #unquoted; or drop it."
        )
    return (
        f"held: the customer deleted the {name} post this reply answers, so it was not posted. "
        "Send it as a new message or a private one, or drop it."
    )
