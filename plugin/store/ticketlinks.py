"""Which ticket/record of a CRM holds a conversation (read side of ``service_tickets``).

The links themselves are written by the dashboard's observer (``ServiceRepository.link_tickets``, from
Zendesk's ``resources_created_from_external_ids`` callbacks and Salesforce deliveries); this reads them
for the sinks that must address a ticket directly, e.g. a Zendesk internal note through the REST API.
"""

from __future__ import annotations

from sqlalchemy import select

from plugin.store import tables as t
from plugin.store.db import Database


class TicketLinkRepository:
    def __init__(self, db: Database):
        self.db = db

    def ticket_of_thread(self, tenant_id: int, sink: str, network: str, thread_key: str, about: str) -> str | None:
        """The ticket/record of ``sink`` holding the conversation: the one ``about`` (a mention's
        external id) landed in, else the latest one any mention of thread ``thread_key`` landed in."""
        f, m, st = t.service_facts, t.mentions, t.service_tickets
        query = (
            select(st.c.ticket)
            .join(f, f.c.id == st.c.fact_id)
            .join(m, m.c.id == f.c.mention_id)
            .where(st.c.tenant_id == tenant_id, st.c.sink == sink, f.c.network == network)
        )
        with self.db.read() as conn:
            exact = conn.execute(query.where(m.c.tenant_id == tenant_id, m.c.external_id == about)).scalar()
            if exact is not None:
                return str(exact)
            latest = conn.execute(
                query.where(f.c.thread_key == thread_key).order_by(f.c.created_at.desc()).limit(1)
            ).scalar()
        return None if latest is None else str(latest)
