"""Metadata and state handed to Zendesk: signed, so forged pull/channelback calls are refused.

Zendesk stores both and sends them back on every pull and channelback (max 5000 characters each,
Channel Framework docs, "Metadata and state"). They carry ids only, never credentials.

Both name their tenant, instance, issue time and signing key (``SecretBox.sign`` adds ``kid`` and
``iat``). Metadata cannot expire by age (Zendesk sends back what the admin UI returned, for as long
as the channel lives); it is revoked instead by the tenant's generation (``plugin.zendesk.trust``).
State is reissued on every pull, so it expires after ``STATE_DAYS``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from plugin.errors import BadInput, Unauthorized
from plugin.secrets import SecretBox

MAX_LENGTH = 5000
VERSION = 1
STATE_DAYS = 30


@dataclass(frozen=True)
class InstanceMetadata:
    tenant: str
    account_ids: tuple[int, ...]
    name: str
    # False when the channel was connected without Zendesk vouching for the admin (see
    # zendesk_admin.py): such metadata reaches only its own accounts, never tenant-wide data.
    trusted: bool = True
    instance: str | None = None  # the channel instance (instance_push_id) it was issued to
    generation: int = 0  # the tenant's token generation when issued; a later one revokes it


def issue_metadata(box: SecretBox, meta: InstanceMetadata) -> str:
    token = box.sign(
        {
            "v": VERSION,
            "kind": "zd-meta",
            "t": meta.tenant,
            "a": list(meta.account_ids),
            "n": meta.name,
            "tr": meta.trusted,
            "i": meta.instance,
            "g": meta.generation,
        }
    )
    if len(token) > MAX_LENGTH:
        raise BadInput("too many accounts for one integration instance (metadata over 5000 characters)")
    return token


def read_metadata(box: SecretBox, token: str | None) -> InstanceMetadata:
    payload = box.verify(token, "metadata")
    if payload.get("kind") != "zd-meta" or payload.get("v") != VERSION:
        raise Unauthorized("metadata was not issued by horseshoe", status=403)
    accounts = payload.get("a")
    if not isinstance(payload.get("t"), str) or not isinstance(accounts, list):
        raise Unauthorized("metadata is malformed", status=403)
    return InstanceMetadata(
        tenant=payload["t"],
        account_ids=tuple(int(a) for a in accounts),
        name=str(payload.get("n", "")),
        trusted=payload.get("tr") is True,
        instance=payload["i"] if isinstance(payload.get("i"), str) else None,
        generation=payload["g"] if isinstance(payload.get("g"), int) else 0,
    )


def issue_state(box: SecretBox, tenant: str, cursor: int) -> str:
    return box.sign({"kind": "zd-state", "t": tenant, "c": cursor, "exp": int(time.time()) + STATE_DAYS * 86400})


def read_state(box: SecretBox, token: str | None, tenant: str) -> int:
    """Pull cursor; an empty state (first pull) starts at 0."""
    if not token:
        return 0
    payload = box.verify(token, "state")
    if payload.get("kind") != "zd-state" or payload.get("t") != tenant or not isinstance(payload.get("c"), int):
        raise Unauthorized("state does not belong to this integration instance", status=403)
    if isinstance(payload.get("exp"), int) and payload["exp"] < time.time():
        raise Unauthorized("state has expired; Zendesk starts again with an empty state", status=403)
    return int(payload["c"])
