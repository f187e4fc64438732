"""Security escalation (observer plugin): a security mention to any of the brand's accounts is
announced at once to the tenant's security webhook and mailboxes, with the post's URL.

The ticket itself goes urgent to the security group/queue through its labels (``engine``: priority,
``zendesk_group_id``, ``salesforce_queue_id``, tags) and the mappings. Notices are sent in the
background with retries and backoff (``notify``): a failing webhook never holds up delivery. Each
escalation and each notice's outcome is recorded as an event. Replace it by blocking the plugin name
``triage_escalation`` and registering your own ``horseshoe_mention_stored``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugin.models import Mention
from plugin.plugins import hookimpl
from plugin.triage.notify import Notice
from plugin.triage.observer import ObserverBase, mention_summary

if TYPE_CHECKING:
    from plugin.runtime import Runtime

EVENT = "security_escalation"


class EscalationPlugin(ObserverBase):
    @hookimpl
    def horseshoe_startup(self, runtime: Runtime) -> None:
        self.start(runtime)

    @hookimpl
    def horseshoe_mention_stored(self, mention: Mention, mention_id: int, tenant: str) -> None:
        found = self.context(mention, tenant)
        if found is None:
            return
        owner, rules, labels = found
        if labels.intent != "security" or labels.engage is False:
            return
        summary = mention_summary(mention, labels, owner) | {"event": EVENT, "mention_id": mention_id}
        subject = f"[security] {mention.network} mention {mention.url or mention.external_id}"
        webhook = rules.security.webhook_url
        notices = [Notice("webhook", webhook, subject, summary)] if webhook else []
        notices += [Notice("email", address, subject, summary) for address in rules.security.email]
        self.record(owner, EVENT, summary | {"notices": len(notices)})
        self.send(owner, notices)
