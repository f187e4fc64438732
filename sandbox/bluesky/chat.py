"""The chat service's read side (``chat.bsky.convo.listConvos`` / ``getMessages``), a mixin of ``BlueskyState``.

Shapes from the lexicons ``chat.bsky.convo.defs`` (``#convoView`` {id, rev, members (profileViewBasic),
lastMessage, muted, status, unreadCount}; ``#messageView`` {id, rev, text, sender{did}, sentAt}) and
``chat.bsky.convo.listConvos`` / ``getMessages`` (``limit`` 1-100, default 50; an opaque ``cursor``
walking into the past). Conversations come most recently active first (by ``rev``), messages newest
first. Revs are TIDs: they sort in time order, which is what lets a client keep one high-water mark.

A conversation a customer opens with an account that does not follow them is a ``request`` until the
account accepts it; both are listed when ``status`` is not given.
"""

from __future__ import annotations

import threading
from typing import Any


class ChatReads:
    """Mixin of ``BlueskyState``: the reads a chat client needs, plus the customer's side (inject)."""

    lock: threading.RLock
    actors: dict[str, dict[str, Any]]
    convos: dict[frozenset[str], dict[str, Any]]

    # Defined by BlueskyState (which owns the write side); declared here for the type checker.
    def convo_for(self, members: list[str]) -> dict[str, Any]:
        raise NotImplementedError

    def convo_view(self, convo: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def send_message(self, sender: str, convo_id: str, text: str) -> dict[str, Any]:
        raise NotImplementedError

    def inject_message(self, sender: str, to: str, text: str) -> dict[str, Any]:
        """``sender`` (a customer's DID) writes ``text`` to ``to`` (the brand); returns the messageView."""
        with self.lock:
            convo = self.convo_for(sorted({sender, to}))
            return self.send_message(sender, convo["id"], text)

    def convo_page(
        self, did: str, *, limit: int, cursor: str | None, status: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """``did``'s conversations, most recently active first; the cursor is the last one's rev."""
        with self.lock:
            own = [c for c in self.convos.values() if did in c["members"]]
            if status:
                own = [c for c in own if self._status(c, did) == status]
            own.sort(key=lambda c: c["rev"], reverse=True)
            if cursor:
                own = [c for c in own if c["rev"] < cursor]
            page = own[:limit]
            views = []
            for convo in page:
                view = self.convo_view(convo)
                view["status"] = self._status(convo, did)
                if convo["messages"]:
                    view["lastMessage"] = dict(convo["messages"][-1])
                views.append(view)
            return views, (page[-1]["rev"] if len(own) > limit else None)

    def message_page(
        self, did: str, convo_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A conversation's messages, newest first. KeyError when ``did`` is not a member."""
        with self.lock:
            convo = next((c for c in self.convos.values() if c["id"] == convo_id), None)
            if convo is None or did not in convo["members"]:
                raise KeyError(convo_id)
            messages = sorted(convo["messages"], key=lambda m: m["rev"], reverse=True)
            if cursor:
                messages = [m for m in messages if m["rev"] < cursor]
            page = [dict(m) for m in messages[:limit]]
            return page, (page[-1]["rev"] if len(messages) > limit else None)

    @staticmethod
    def _status(convo: dict[str, Any], did: str) -> str:
        # Accepted once the member has written in it; until then it is a request to them.
        wrote = any(m["sender"]["did"] == did for m in convo["messages"])
        return "accepted" if wrote else "request"
