"""State of the fake Zendesk: accounts (by subdomain), users, identities, tickets, comments and
Channel Framework integration instances, plus the import rules for external resources.

Channel Framework semantics implemented (developer.zendesk.com, "Push Content to Support" and "Pull
requests" / "Conversation threads"):

* no ``parent_id`` and no known ``thread_id`` -> a new ticket;
* ``parent_id`` naming an imported resource -> a comment on that resource's ticket; an unknown
  parent -> status ``could_not_locate_parent_external_resource`` with the parent id as description;
* ``thread_id`` shared with an earlier resource -> a comment on that thread's ticket (the first
  resource of a thread starts the ticket);
* a closed ticket is never reopened: the resource starts a follow-up ticket
  (event ``comment_on_follow_up_ticket``);
* an ``external_id`` already imported for the instance -> ``already_imported``;
* a resource breaking the schema/limits -> ``processing_error`` with a description, and the rest of
  the request -> ``halted`` ("not processed because processing of previous resources failed").

The author becomes (or is found as) an end-user through an ``any_channel`` identity keyed on the
integration (manifest id) and ``author.external_id``.
"""

from __future__ import annotations

from typing import Any

from .. import validation
from .records import ImportResult, IntegrationInstance, Ticket, User, ZendeskAccount
from .tickets import TicketsState


class ImportsState(TicketsState):
    """Import of external resources (push and pull) into tickets and comments."""

    def import_resources(
        self, instance_push_id: str, resources: list[Any], request_id: str | None = None
    ) -> list[ImportResult]:
        """Import external resources for an instance, one result per resource, in order."""
        with self.lock:
            found = self.find_instance(instance_push_id)
            if found is None:
                raise KeyError("unknown instance_push_id")
            account, instance = found
            results: list[ImportResult] = []
            failed = False
            for resource in resources:
                external_id = resource.get("external_id") if isinstance(resource, dict) else None
                rid = external_id if isinstance(external_id, str) else ""
                if failed:
                    results.append(ImportResult(rid, "halted"))
                    continue
                try:
                    validation.validate_external_resource(resource)
                except validation.PayloadInvalid as exc:
                    results.append(ImportResult(rid, "processing_error", str(exc)))
                    failed = True
                    continue
                results.append(self._import_one(account, instance, resource))
            resource_events = [
                {
                    k: v
                    for k, v in {
                        "type_id": r.event_type,
                        "external_id": r.external_resource_id,
                        "ticket_id": r.source_ticket_id or r.ticket_id,
                        "comment_id": r.comment_id,
                        "follow_up_ticket_id": r.follow_up_ticket_id,
                    }.items()
                    if v is not None
                }
                for r in results
                if r.code == "success"
            ]
            if resource_events:
                self._queue_event(
                    account,
                    instance,
                    "resources_created_from_external_ids",
                    {"request_id": request_id or "", "resource_events": resource_events},
                )
            return results

    def _import_one(
        self, account: ZendeskAccount, instance: IntegrationInstance, resource: dict[str, Any]
    ) -> ImportResult:
        external_id: str = resource["external_id"]
        existing = account.external_index.get((instance.id, external_id))
        if existing is not None:
            return ImportResult(external_id, "already_imported", ticket_id=existing[0], comment_id=existing[1])
        parent_id = resource.get("parent_id")
        thread_id = resource.get("thread_id")
        ticket: Ticket | None = None
        if parent_id is not None:
            parent = account.external_index.get((instance.id, parent_id))
            if parent is None:
                return ImportResult(external_id, "could_not_locate_parent_external_resource", parent_id)
            ticket = account.tickets[parent[0]]
        elif thread_id is not None:
            thread_ticket = account.thread_index.get((instance.id, thread_id))
            ticket = account.tickets[thread_ticket] if thread_ticket is not None else None
        author = self._author_user(account, instance, resource["author"])
        created_at = validation.parse_timestamp(resource["created_at"])
        event_type = "comment_on_existing_ticket"
        if ticket is not None and ticket.status == "closed":
            ticket = self._new_ticket(
                account, instance, resource, author, followup_source_id=ticket.id, thread_id=ticket.thread_id
            )
            event_type = "comment_on_follow_up_ticket"
        elif ticket is None:
            ticket = self._new_ticket(account, instance, resource, author, thread_id=thread_id)
            event_type = "comment_on_new_ticket"
        elif ticket.status in ("pending", "solved", "hold"):
            # A customer answer reopens the ticket.
            self._status_change(account, ticket, "open", author.id)
        comment = self._new_comment(
            account,
            ticket,
            author.id,
            resource["message"],
            public=not resource.get("internal_note", False),
            html_body=resource.get("html_message"),
            external_id=external_id,
            created_at=created_at,
            attachments=resource.get("file_urls"),
        )
        if resource.get("allow_channelback") is False:
            ticket.allow_channelback = False
        account.external_index[(instance.id, external_id)] = (ticket.id, comment.id)
        if ticket.thread_id is not None:
            account.thread_index[(instance.id, ticket.thread_id)] = ticket.id
        followup = ticket.followup_source_id if event_type == "comment_on_follow_up_ticket" else None
        return ImportResult(
            external_id,
            "success",
            ticket_id=ticket.id,
            comment_id=comment.id,
            event_type=event_type,
            source_ticket_id=followup,
            follow_up_ticket_id=ticket.id if followup else None,
        )

    def _new_ticket(
        self,
        account: ZendeskAccount,
        instance: IntegrationInstance,
        resource: dict[str, Any],
        author: User,
        *,
        thread_id: str | None,
        followup_source_id: int | None = None,
    ) -> Ticket:
        fields = {str(f["id"]): f["value"] for f in resource.get("fields", [])}
        message: str = resource["message"]
        # A "subject" entry in fields sets the subject; otherwise the message's first line stands in.
        first_line = message.strip().splitlines()[0] if message.strip() else ""
        subject = str(fields.pop("subject", "") or first_line[:80])
        # A "tags" entry sets the new ticket's tags (Channel framework: fields id "subject", "tags" or a
        # custom field id); Zendesk keeps tags lower-case, without spaces, each once.
        raw_tags = fields.pop("tags", [])
        tags = list(dict.fromkeys(str(t).strip().lower().replace(" ", "_") for t in raw_tags if str(t).strip()))
        now = self.clock()
        ticket = Ticket(
            id=self._id(),
            subject=subject,
            requester_id=author.id,
            submitter_id=author.id,
            integration_instance_id=instance.id,
            thread_id=thread_id,
            followup_source_id=followup_source_id,
            custom_fields=fields,
            tags=tags,
            created_at=now,
            updated_at=now,
        )
        account.tickets[ticket.id] = ticket
        return ticket

    def _author_user(self, account: ZendeskAccount, instance: IntegrationInstance, author: dict[str, Any]) -> User:
        value = author["external_id"]
        for identity_id in account.identity_keys.get(("any_channel", instance.integration_id, value), []):
            return account.users[account.identities[identity_id].user_id]
        user = self.add_user(
            account.subdomain,
            author.get("name") or value,
            locale=author.get("locale", "en-US"),
            photo_url=author.get("image_url"),
        )
        self.add_identity(
            account.subdomain,
            user.id,
            "any_channel",
            value,
            verified=True,
            subtype_name=instance.integration_id,
        )
        return user
