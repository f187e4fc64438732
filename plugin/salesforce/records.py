"""Record bodies for the Salesforce sink, built from mappings/salesforce.yaml.

Only what the mapping file says goes into a field; this module adds the Salesforce-specific choices
that are not a simple field copy (picklist look-ups, the FirstName/LastName split, Case Origin).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mappings import load_mapping
from plugin.mapping import context_of, evaluate
from plugin.models import Labels, Mention, Visibility


def mapping() -> dict[str, Any]:
    return load_mapping("salesforce")


def provider_of(network: str) -> str:
    spec = mapping()
    return str(spec["providers"].get(network, spec.get("default_provider", "Other")))


def media_provider_of(network: str) -> str | None:
    """MediaProvider of a network whose Provider is "Other" (None for networks with their own Provider)."""
    if provider_of(network) != "Other":
        return None
    return str(mapping().get("media_providers", {}).get(network) or network.title())


def scoped_id(network: str, external_id: str) -> str:
    """The "network:id" key: horseshoe's R6PostId / R6SourceId, which names the network exactly."""
    return f"{network}:{external_id}"


def post_key(network: str, external_id: str) -> tuple[str, str]:
    """How a SocialPost is found again: (Provider, ExternalPostId), or for Provider "Other" (shared by
    several networks whose raw ids can collide) ("Other", R6PostId)."""
    provider = provider_of(network)
    return (provider, scoped_id(network, external_id) if provider == "Other" else external_id)


def persona_key(network: str, author_id: str) -> tuple[str, str]:
    """How a SocialPersona is found again: (Provider, ExternalId), or ("Other", R6SourceId)."""
    provider = provider_of(network)
    return (provider, scoped_id(network, author_id) if provider == "Other" else author_id)


def drop_long_urls(sobject: str, fields: dict[str, Any]) -> list[str]:
    """Remove URL values longer than their Salesforce field (cutting a URL makes a broken link) and
    return one note per removed value, so the caller can keep it somewhere readable."""
    limits = mapping().get("url_limits", {}).get(sobject, {})
    notes = []
    for name, limit in limits.items():
        value = fields.get(name)
        if isinstance(value, str) and len(value) > int(limit):
            del fields[name]
            notes.append(f"{name} left out: {len(value)} characters, Salesforce allows {limit}: {value}")
    return notes


def networks_of(provider: str) -> list[str]:
    """Networks whose Provider is ``provider`` (several share "Other")."""
    return [n for n, p in mapping()["providers"].items() if p == provider]


def message_type_of(mention: Mention) -> str:
    spec = mapping()
    table = dict(spec["message_types"]["default"])
    table.update(spec["message_types"].get(mention.network) or {})
    value = str(table.get(mention.kind.value, "Post"))
    if mention.visibility == Visibility.PRIVATE and value not in spec["private_message_types"]:
        value = str(spec["private_message_type"])
    return value


def status_value(name: str, config: Mapping[str, Any] | None = None) -> str:
    """The org's SocialPost.Status value for ``pending``/``sent``/``failed`` (overridable per connection)."""
    overrides = (config or {}).get("status_values") or {}
    return str(overrides.get(name) or mapping()["status"][name])


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v not in (None, "", [])}


def post_fields(mention: Mention, labels: Labels, config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """SocialPost content fields (no references: those are set by the sink)."""
    spec = mapping()
    context = context_of(mention, labels)
    fields = _clean(evaluate(spec["post"], context))
    fields["Provider"] = provider_of(mention.network)
    media = media_provider_of(mention.network)
    if media:
        fields["MediaProvider"] = media
    fields["MessageType"] = message_type_of(mention)
    sentiment = spec["sentiments"].get((labels.sentiment or "").lower())
    if sentiment:
        fields["Sentiment"] = sentiment
    fields["IsOutbound"] = False
    if is_listening(mention, labels):
        fields.update(listening_post_fields(config or {}))
    notes = drop_long_urls("SocialPost", fields)
    if notes:
        # The agent still sees the link, in the post's body (Content is a 32,000-character textarea).
        fields["Content"] = "\n\n".join([str(fields.get("Content") or ""), *notes]).strip()
    return fields


def is_listening(mention: Mention, labels: Labels) -> bool:
    """Found by listening (the customer named the brand without tagging it): triage's ``listening`` tag."""
    return bool(mention.extra.get("listening")) or "listening" in (labels.tags or [])


def listening_classification(config: Mapping[str, Any]) -> str:
    """The SocialPost.Classification value of a listening hit ("" = leave the picklist alone)."""
    return str(config.get("listening_classification", mapping()["listening"]["classification"]))[:40]


def listening_post_fields(config: Mapping[str, Any]) -> dict[str, Any]:
    """What tells an agent on the SocialPost that the customer did not address the brand: the
    Classification picklist and KeywordGroupName ("the keyword group that found the post")."""
    fields = {"KeywordGroupName": str(mapping()["listening"]["keyword_group"])[:255]}
    classification = listening_classification(config)
    if classification:
        fields["Classification"] = classification
    return fields


def persona_fields(mention: Mention) -> dict[str, Any]:
    fields = _clean(evaluate(mapping()["persona"], context_of(mention)))
    fields["Provider"] = provider_of(mention.network)
    media = media_provider_of(mention.network)
    if media:
        fields["MediaProvider"] = media
        fields["R6SourceId"] = scoped_id(mention.network, mention.author.external_id)
    notes = drop_long_urls("SocialPersona", fields)
    if notes:
        # Kept in the persona's Bio (a 32,000-character textarea) rather than failing the record.
        fields["Bio"] = "\n".join(notes)
    return fields


@dataclass(frozen=True)
class PersonName:
    first: str | None
    last: str


def split_name(full: str, first_max: int = 40, last_max: int = 80) -> PersonName:
    """ "Ada King Lovelace" -> ("Ada King", "Lovelace"): the last word is the last name, as the default
    handler splits it; each part cut to the field's length (Contact.FirstName 40, LastName 80)."""
    words = full.split()
    if not words:
        return PersonName(None, "Unknown")
    last = words[-1][:last_max]
    first = " ".join(words[:-1])[:first_max].strip() or None
    return PersonName(first, last)


def contact_fields(mention: Mention, default_account_id: str | None) -> dict[str, Any]:
    spec = mapping()
    full = evaluate(spec["contact_name"], context_of(mention)) or mention.author.external_id
    limits = spec["contact_limits"]
    name = split_name(str(full), int(limits["FirstName"]), int(limits["LastName"]))
    fields: dict[str, Any] = {"LastName": name.last}
    if name.first:
        fields["FirstName"] = name.first
    if default_account_id:
        fields["AccountId"] = default_account_id
    return fields


def case_fields(mention: Mention, labels: Labels, config: Mapping[str, Any]) -> dict[str, Any]:
    """A new Case: Subject/Description from the post, Origin = the provider unless configured."""
    fields = _clean(evaluate(mapping()["case"], context_of(mention, labels)))
    provider = provider_of(mention.network)
    origins = config.get("case_origins") or {}
    origin = origins.get(mention.network) or origins.get(provider) or config.get("case_origin") or provider
    fields["Origin"] = str(origin)
    if is_listening(mention, labels):
        # The Case list is what agents scan: the subject says it before anyone opens the post.
        prefix = str(config.get("listening_subject_prefix", mapping()["listening"]["case_subject_prefix"]))
        fields["Subject"] = (prefix + str(fields.get("Subject") or ""))[:255]
    return fields
