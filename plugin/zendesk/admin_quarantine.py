"""Quarantined items on the Zendesk admin page: retry or discard them from the trusted admin session.

The page is one form; each item has its own buttons (``action=qretry-<id>`` / ``qdiscard-<id>``) and a
reason field (``qwhy-<id>``). Zendesk vouches for the tenant's admin, not for a name, so the audit
records ``zendesk-admin:<subdomain>`` as who (the same actor the connect grant carries).
"""

from __future__ import annotations

import re

from plugin.errors import BadInput
from plugin.pipeline import quarantine as host_quarantine
from plugin.web.extension import runtime
from plugin.web.forms import form_field

ACTION = re.compile(r"^q(retry|discard)-(\d{1,18})$")
MAX_WHY = 500


def is_action(action: str) -> bool:
    return ACTION.match(action) is not None


def act(tenant_id: int, subdomain: str, action: str) -> str:
    """Do what the button says to one of the tenant's quarantined items; the sentence to show.
    A problem the admin can fix (no reason, still failing) is a ``BadInput`` shown at the top."""
    match = ACTION.match(action)
    if match is None:
        raise BadInput("unknown quarantine action")
    verb, item_id = match.group(1), int(match.group(2))
    rt = runtime()
    row = rt.store.quarantine.get(item_id, tenant_id)
    if row is None:
        raise BadInput("no such quarantined item", status=404)  # another tenant's is not told apart
    actor = f"zendesk-admin:{subdomain}"
    if verb == "retry":
        result = host_quarantine.retry_as(rt, row, actor)
        if not result.released:
            raise BadInput(f"Item {item_id} still fails: {result.outcome}", status=409)
        return f"Item {item_id} released: {result.outcome}"
    why = " ".join((form_field(f"qwhy-{item_id}", required=False, max_length=2000) or "").split())
    if not why:
        raise BadInput(f"Say why you discard item {item_id} (it is recorded)", status=400)
    if len(why) > MAX_WHY:
        raise BadInput(f"Keep the reason under {MAX_WHY} characters", status=400)
    if not host_quarantine.discard(rt, row, actor, why):
        raise BadInput(f"Item {item_id} is {row.status} already", status=409)
    return f"Item {item_id} discarded."
