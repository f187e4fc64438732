"""Enough of Zendesk's search query syntax for finding users (and tickets by text).

Supported (Zendesk "Search reference"): space-separated terms; ``property:value`` for
``type``, ``email``, ``phone``, ``name``, ``external_id``, ``role``, ``tags``, ``status`` (tickets),
``requester_id``; double-quoted phrases; ``*`` wildcard at the end of a value; a leading ``-``
negates a term. Bare words match a user's name, email, phone, external id or any identity value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .models import Ticket, User, ZendeskAccount

_TOKEN = re.compile(r'(-?)(?:([a-z_]+)(:|>|<))?("([^"]*)"|\S+)')


@dataclass(frozen=True)
class Term:
    key: str | None
    value: str
    negated: bool


def parse_query(query: str) -> list[Term]:
    terms = []
    for match in _TOKEN.finditer(query.strip()):
        negated, key, _op, raw, quoted = match.groups()
        value = quoted if quoted is not None else raw
        terms.append(Term(key=key.lower() if key else None, value=value, negated=bool(negated)))
    return terms


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def _like(candidate: str | None, pattern: str) -> bool:
    if candidate is None:
        return False
    cand, pat = candidate.lower(), pattern.lower()
    if pat.endswith("*"):
        return any(word.startswith(pat[:-1]) for word in [cand, *cand.split()])
    return pat == cand or pat in cand.split()


def _user_values(account: ZendeskAccount, user: User) -> dict[str, list[str]]:
    identities = [i for i in account.identities.values() if i.user_id == user.id]
    return {
        "email": [i.value for i in identities if i.type == "email"] + ([user.email] if user.email else []),
        "phone": [i.value for i in identities if i.type == "phone_number"] + ([user.phone] if user.phone else []),
        "identity": [i.value for i in identities],
    }


def user_matches(account: ZendeskAccount, user: User, terms: list[Term]) -> bool:
    if not user.active:
        return False
    values = _user_values(account, user)
    for term in terms:
        if term.key == "type":
            ok = term.value == "user"
        elif term.key == "email":
            ok = any(_like(v, term.value) for v in values["email"])
        elif term.key == "phone":
            ok = bool(_digits(term.value)) and any(_digits(v) == _digits(term.value) for v in values["phone"])
        elif term.key == "name":
            ok = _like(user.name, term.value) or any(_like(w, term.value) for w in user.name.split())
        elif term.key == "external_id":
            ok = user.external_id == term.value
        elif term.key == "role":
            ok = user.role == term.value
        elif term.key == "tags":
            ok = term.value in user.tags
        elif term.key is None:
            ok = (
                _like(user.name, term.value)
                or any(_like(w, term.value) for w in user.name.split())
                or any(_like(v, term.value) for v in values["email"] + values["identity"])
                or (bool(_digits(term.value)) and any(_digits(v) == _digits(term.value) for v in values["phone"]))
                or user.external_id == term.value
            )
        else:
            ok = False
        if ok == term.negated:
            return False
    return True


def ticket_matches(account: ZendeskAccount, ticket: Ticket, terms: list[Term]) -> bool:
    text = " ".join([ticket.subject, *(account.comments[c].body for c in ticket.comment_ids)]).lower()
    for term in terms:
        if term.key == "type":
            ok = term.value == "ticket"
        elif term.key == "status":
            ok = ticket.status == term.value
        elif term.key == "requester_id":
            ok = str(ticket.requester_id) == term.value
        elif term.key is None:
            ok = term.value.lower().rstrip("*") in text
        else:
            ok = False
        if ok == term.negated:
            return False
    return True


def search_type(terms: list[Term]) -> str | None:
    for term in terms:
        if term.key == "type" and not term.negated:
            return term.value
    return None
