"""A worker's upkeep: everything besides polling, routing and delivering mentions.

Agent replies found in the CRMs (a poll of each due connection), the outbox and the reports back to
the CRMs, solved tickets, customers' ratings, expiry warnings and admin notices. ``Worker.run_once``
does it after routing and delivering; in ``run_forever`` the upkeep lane does it (plugin/worker/lanes.py),
so that none of it, a CRM's reply poll least of all, holds the routing of a newly arrived mention.
"""

from __future__ import annotations

from plugin import expiry, notices
from plugin.outbox import crm as crm_replies
from plugin.outbox import replies as outbox
from plugin.runtime import Runtime
from plugin.worker import ratings, resolutions
from plugin.worker.tick import Tick


def tend(runtime: Runtime, owner: str, schedule: expiry.Schedule, tick: Tick) -> None:
    """One round of the upkeep; what it moved forward is added to ``tick``."""
    crm_replies.collect(runtime)
    tick.replies = outbox.drain(runtime, owner)
    crm_replies.report(runtime)
    resolutions.sync(runtime)
    tick.delivered += ratings.write_due(runtime)  # customers' ratings, to their tickets/cases
    schedule.run_if_due(runtime)  # tokens no one can renew: the admin is told ahead
    notices.deliver_due(runtime, owner)  # admin notices: at least once (plugin/notices.py)
