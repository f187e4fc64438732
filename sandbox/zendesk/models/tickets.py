"""Tickets and comments: agent comments, statuses, and the bookkeeping of channelback (agent replies
Zendesk sends to the integration)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .instances import InstancesState
from .records import TICKET_STATUSES, Comment, Ticket, ZendeskAccount, zendesk_time


class TicketsState(InstancesState):
    """Tickets, comments and channelback outcomes."""

    def add_agent_comment(
        self, subdomain: str, ticket_id: int, author_id: int, body: str, *, public: bool = True
    ) -> Comment:
        with self.lock:
            account = self.account(subdomain)
            ticket = account.tickets[ticket_id]
            comment = self._new_comment(account, ticket, author_id, body, public=public)
            if ticket.status == "new":
                self._status_change(account, ticket, "open", author_id)
            return comment

    def _new_comment(
        self,
        account: ZendeskAccount,
        ticket: Ticket,
        author_id: int,
        body: str,
        *,
        public: bool = True,
        html_body: str | None = None,
        external_id: str | None = None,
        created_at: datetime | None = None,
        attachments: list[str] | None = None,
    ) -> Comment:
        comment = Comment(
            id=self._id(),
            ticket_id=ticket.id,
            author_id=author_id,
            body=body,
            html_body=html_body,
            public=public,
            external_id=external_id,
            created_at=created_at or self.clock(),
            attachments=list(attachments or []),
        )
        account.comments[comment.id] = comment
        ticket.comment_ids.append(comment.id)
        ticket.updated_at = self.clock()
        return comment

    def set_ticket_status(self, subdomain: str, ticket_id: int, status: str, updater_id: int = -1) -> Ticket:
        if status not in TICKET_STATUSES:
            raise ValueError(f"unknown status {status!r}")
        with self.lock:
            account = self.account(subdomain)
            ticket = account.tickets[ticket_id]
            self._status_change(account, ticket, status, updater_id)
            return ticket

    def _status_change(self, account: ZendeskAccount, ticket: Ticket, status: str, updater_id: int = -1) -> None:
        """Change a ticket's status and record the audit the incremental ticket event export serves."""
        if ticket.status == status:
            return
        now = self.clock()
        account.ticket_events.append(
            {
                "id": self._id(), "ticket_id": ticket.id, "timestamp": int(now.timestamp()),
                "created_at": zendesk_time(now), "updater_id": updater_id, "via": "Web form", "event_type": "Audit",
                "system": {},
                "child_events": [
                    {"id": self._id(), "via": "Web form", "via_reference_id": None, "status": status,
                     "previous_value": ticket.status, "event_type": "Change"},
                ],
            }
        )  # fmt: skip
        ticket.status = status
        ticket.updated_at = now

    def update_ticket(
        self, subdomain: str, ticket_id: int, author_id: int, *, status: str | None = None,
        add_tags: list[str] | None = None, comment: dict[str, Any] | None = None,
    ) -> Ticket:  # fmt: skip
        """``PUT /api/v2/tickets/{id}``: tags added, a comment (public or internal note), a status.
        A closed ticket cannot be updated (Zendesk answers 422: create a follow-up instead)."""
        if status is not None and status not in TICKET_STATUSES:
            raise ValueError(f"unknown status {status!r}")
        with self.lock:
            account = self.account(subdomain)
            ticket = account.tickets[ticket_id]
            if ticket.status == "closed":
                raise PermissionError("closed tickets cannot be updated")
            for tag in add_tags or []:
                if tag not in ticket.tags:
                    ticket.tags.append(tag)
            if comment is not None:
                self._new_comment(account, ticket, author_id, str(comment.get("body", "")),
                                  public=bool(comment.get("public", True)))  # fmt: skip
            if status is not None:
                self._status_change(account, ticket, status, author_id)
            ticket.updated_at = self.clock()
            return ticket

    def create_ticket(
        self, subdomain: str, author_id: int, *, comment: dict[str, Any], requester_id: int | None = None,
        subject: str = "", tags: list[str] | None = None, status: str | None = None,
        followup_source_id: int | None = None,
    ) -> Ticket:  # fmt: skip
        """``POST /api/v2/tickets``. A follow-up (``via_followup_source_id``) must name a closed ticket;
        it inherits the requester (and the source's channel thread) unless one is given."""
        if status is not None and status not in TICKET_STATUSES:
            raise ValueError(f"unknown status {status!r}")
        with self.lock:
            account = self.account(subdomain)
            source = None
            if followup_source_id is not None:
                source = account.tickets[followup_source_id]  # KeyError: 404
                if source.status != "closed":
                    raise PermissionError("via_followup_source_id must be a closed ticket")
            requester = requester_id or (source.requester_id if source else author_id)
            if requester not in account.users:
                raise ValueError(f"requester {requester} does not exist")
            now = self.clock()
            body = str(comment.get("body", ""))
            ticket = Ticket(
                id=self._id(), subject=subject or body.strip().splitlines()[0][:80], requester_id=requester,
                submitter_id=author_id, status=status or "open", followup_source_id=followup_source_id,
                thread_id=source.thread_id if source else None,
                integration_instance_id=source.integration_instance_id if source else None,
                tags=list(dict.fromkeys(t.strip().lower() for t in tags or [] if t.strip())),
                created_at=now, updated_at=now,
            )  # fmt: skip
            account.tickets[ticket.id] = ticket
            self._new_comment(account, ticket, author_id, body, public=bool(comment.get("public", True)))
            return ticket

    def tickets_with_comments(self, subdomain: str) -> list[dict[str, Any]]:
        """Control-surface view: every ticket with its comments, oldest first."""
        with self.lock:
            account = self.account(subdomain)
            out = []
            for ticket in sorted(account.tickets.values(), key=lambda t: t.id):
                comments = [account.comments[c] for c in ticket.comment_ids]
                out.append(
                    {
                        "id": ticket.id,
                        "subject": ticket.subject,
                        "status": ticket.status,
                        "tags": list(ticket.tags),
                        "requester_id": ticket.requester_id,
                        "thread_id": ticket.thread_id,
                        "followup_source_id": ticket.followup_source_id,
                        "integration_instance_id": ticket.integration_instance_id,
                        "comments": [
                            {
                                "id": c.id,
                                "author_id": c.author_id,
                                "body": c.body,
                                "public": c.public,
                                "external_id": c.external_id,
                                "created_at": zendesk_time(c.created_at),
                                "channelback": dict(c.channelback) if c.channelback else None,
                            }
                            for c in comments
                        ],
                    }
                )
            return out

    def channelback_target(self, subdomain: str, ticket_id: int) -> dict[str, Any]:
        """What Zendesk sends in a channelback for a ticket: parent_id (latest external resource),
        thread_id, recipient_id (requester's any_channel id) and the instance."""
        with self.lock:
            account = self.account(subdomain)
            ticket = account.tickets[ticket_id]
            if ticket.integration_instance_id is None:
                raise ValueError("ticket did not come from a channel integration")
            instance = account.instances[ticket.integration_instance_id]
            parent_id = None
            for comment_id in reversed(ticket.comment_ids):
                comment = account.comments[comment_id]
                if comment.external_id is not None:
                    parent_id = comment.external_id
                    break
            recipient = None
            for identity in account.identities.values():
                if (
                    identity.user_id == ticket.requester_id
                    and identity.type == "any_channel"
                    and identity.subtype_name == instance.integration_id
                ):
                    recipient = identity.value
                    break
            return {
                "instance": instance,
                "ticket": ticket,
                "parent_id": parent_id,
                "recipient_id": recipient,
                "thread_id": ticket.thread_id,
            }

    def record_channelback(
        self,
        subdomain: str,
        comment_id: int,
        *,
        http_status: int | None,
        body: str,
        payload: dict[str, Any] | None,
        error: str | None,
    ) -> Comment:
        """Store a channelback outcome; a valid 2xx answer ties the returned external_id to the comment."""
        with self.lock:
            account = self.account(subdomain)
            comment = account.comments[comment_id]
            ticket = account.tickets[comment.ticket_id]
            assert comment.channelback is not None
            comment.channelback.update({"http_status": http_status, "body": body, "error": error})
            comment.channelback["attempts"] = comment.channelback.get("attempts", 0) + 1
            if payload is None or error is not None:
                comment.channelback["status"] = "failed"
                return comment
            instance = account.instances[ticket.integration_instance_id or 0]
            comment.channelback["status"] = "sent"
            comment.external_id = payload["external_id"]
            account.external_index[(instance.id, comment.external_id)] = (ticket.id, comment.id)
            if payload.get("allow_channelback") is False:
                ticket.allow_channelback = False
            if payload.get("metadata_needs_update"):
                instance.metadata_needs_update = True
            if isinstance(payload.get("metadata"), str):
                instance.metadata = payload["metadata"]
            self._queue_event(
                account,
                instance,
                "resources_created_from_external_ids",
                {
                    "request_id": comment.channelback.get("request_unique_identifier", ""),
                    "resource_events": [
                        {
                            "type_id": "external_id_associated_with_channelback",
                            "external_id": comment.external_id,
                            "comment_id": comment.id,
                            "ticket_id": ticket.id,
                        }
                    ],
                },
            )
            return comment

    def start_channelback(
        self,
        subdomain: str,
        ticket_id: int,
        author_id: int,
        body: str,
        request_unique_identifier: str,
        file_urls: list[str] | None = None,
    ) -> Comment:
        """Create the agent's public comment (pending channelback), or return the comment that already
        carries this request_unique_identifier (a retry)."""
        with self.lock:
            account = self.account(subdomain)
            for comment in account.comments.values():
                if (
                    comment.channelback is not None
                    and comment.channelback.get("request_unique_identifier") == request_unique_identifier
                ):
                    return comment
            ticket = account.tickets[ticket_id]
            if not ticket.allow_channelback:
                raise ValueError("channelback is not allowed on this ticket")
            author = account.users[author_id]
            if author.role == "end-user":
                raise ValueError("only agents reply through channelback")
            comment = self._new_comment(account, ticket, author_id, body, public=True, attachments=file_urls)
            comment.channelback = {
                "status": "pending",
                "request_unique_identifier": request_unique_identifier,
                "attempts": 0,
            }
            if ticket.status == "new":
                self._status_change(account, ticket, "open", author_id)
            return comment
