"""``#unquoted``: the agent's answer to a held reply in a private conversation whose message is gone.

A reply to a message the customer deleted is held (``notices.held_reason``): posting it would fail,
or quote nothing. In a public thread the thread itself is gone, so the agent answers privately
(``#handoff``) or drops it. In a private chat the chat is still the conversation, so the agent may
decide to send the answer anyway, without the quote: a reply whose first line starts with
``#unquoted`` (in either CRM, like ``#handoff``):

    #unquoted Yes, it left the warehouse today.

or with the marker alone on the first line and the text below it. horseshoe never decides this
itself: the deleted message may have been a mistake the customer took back.
"""

from __future__ import annotations

from plugin.errors import FatalError
from plugin.models import Reply, Visibility
from plugin.outbox.commands import command

MARKER = "#unquoted"


def parse(text: str) -> str | None:
    """The text to send when ``text`` asks for an unquoted reply, else None."""
    found = command(text, MARKER)
    if found is None:
        return None
    body = "\n".join(part for part in found if part)
    if not body:
        raise FatalError("an #unquoted reply needs its text after '#unquoted'", code="unquoted")
    return body


def apply(reply: Reply) -> Reply:
    """``reply`` as it goes out: an ``#unquoted`` private reply loses its marker and the message it
    would quote; anything else is returned as it is. A public one is refused: a public answer needs the
    post it answers, and an unquoted public post would be addressed to nobody."""
    body = parse(reply.text)
    if body is None:
        return reply
    if reply.visibility != Visibility.PRIVATE:
        raise FatalError(
            "#unquoted applies to private conversations only: a public reply needs the post it answers "
            "(use #handoff to continue privately)",
            code="unquoted",
        )
    return reply.model_copy(update={"text": body, "in_reply_to": None})
