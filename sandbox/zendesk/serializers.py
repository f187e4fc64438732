"""JSON representations of users, identities, tickets and comments (Zendesk Support API reference:
Users "JSON format", User Identities "JSON format", Tickets, Ticket Comments)."""

from __future__ import annotations

from typing import Any

from .models import Comment, Identity, Ticket, User, ZendeskAccount, zendesk_time


def user_json(base: str, user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "url": f"{base}/api/v2/users/{user.id}.json",
        "name": user.name,
        "email": user.email,
        "created_at": zendesk_time(user.created_at),
        "updated_at": zendesk_time(user.updated_at),
        "time_zone": "UTC",
        "iana_time_zone": "Etc/UTC",
        "phone": user.phone,
        "shared_phone_number": None,
        "photo": {"content_url": user.photo_url} if user.photo_url else None,
        "locale_id": 1,
        "locale": user.locale,
        "organization_id": None,
        "role": user.role,
        "verified": user.verified,
        "external_id": user.external_id,
        "tags": list(user.tags),
        "alias": "",
        "active": user.active,
        "shared": False,
        "shared_agent": False,
        "last_login_at": None,
        "two_factor_auth_enabled": False,
        "signature": None,
        "details": user.details,
        "notes": user.notes,
        "role_type": None,
        "custom_role_id": None,
        "moderator": user.role != "end-user",
        "ticket_restriction": "requested" if user.role == "end-user" else None,
        "only_private_comments": False,
        "restricted_agent": user.role == "end-user",
        "suspended": False,
        "default_group_id": None,
        "report_csv": False,
        "user_fields": {},
    }


def identity_json(base: str, identity: Identity) -> dict[str, Any]:
    data: dict[str, Any] = {
        "url": f"{base}/api/v2/users/{identity.user_id}/identities/{identity.id}.json",
        "id": identity.id,
        "user_id": identity.user_id,
        "type": identity.type,
        "value": identity.value,
        "verified": identity.verified,
        "primary": identity.primary,
        "created_at": zendesk_time(identity.created_at),
        "updated_at": zendesk_time(identity.updated_at),
        "undeliverable_count": 0,
        "deliverable_state": "deliverable",
    }
    if identity.subtype_name is not None:
        data["subtype_name"] = identity.subtype_name
    return data


def ticket_json(base: str, account: ZendeskAccount, ticket: Ticket) -> dict[str, Any]:
    first = account.comments[ticket.comment_ids[0]] if ticket.comment_ids else None
    via: dict[str, Any] = {"channel": "any_channel", "source": {"from": {}, "to": {}, "rel": None}}
    if ticket.followup_source_id is not None:
        via["source"]["rel"] = "follow_up"
        via["source"]["from"] = {"ticket_id": ticket.followup_source_id}
    return {
        "id": ticket.id,
        "url": f"{base}/api/v2/tickets/{ticket.id}.json",
        "external_id": None,
        "via": via,
        "created_at": zendesk_time(ticket.created_at),
        "updated_at": zendesk_time(ticket.updated_at),
        "type": None,
        "subject": ticket.subject,
        "raw_subject": ticket.subject,
        "description": first.body if first else "",
        "priority": None,
        "status": ticket.status,
        "recipient": None,
        "requester_id": ticket.requester_id,
        "submitter_id": ticket.submitter_id,
        "assignee_id": None,
        "organization_id": None,
        "group_id": None,
        "collaborator_ids": [],
        "follower_ids": [],
        "email_cc_ids": [],
        "has_incidents": False,
        "is_public": bool(first.public) if first else True,
        "due_at": None,
        "tags": list(ticket.tags),
        "custom_fields": [{"id": k, "value": v} for k, v in ticket.custom_fields.items()],
        "followup_ids": sorted(t.id for t in account.tickets.values() if t.followup_source_id == ticket.id),
        "allow_channelback": ticket.allow_channelback,
        "allow_attachments": True,
    }


def comment_json(comment: Comment) -> dict[str, Any]:
    return {
        "id": comment.id,
        "type": "Comment",
        "author_id": comment.author_id,
        "body": comment.body,
        "html_body": comment.html_body or f"<p>{comment.body}</p>",
        "plain_body": comment.body,
        "public": comment.public,
        "attachments": [{"content_url": url} for url in comment.attachments],
        "audit_id": comment.id,
        "via": {"channel": "any_channel", "source": {"from": {}, "to": {}, "rel": None}},
        "created_at": zendesk_time(comment.created_at),
        "metadata": {"system": {}, "custom": {}},
    }
