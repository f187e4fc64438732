"""Personas with Provider "Other" written before R6SourceId (or by an admin by hand) carry only the
raw ExternalId. One is adopted when it can only be this author's — its MediaProvider, if set, names
the author's network, and no other network in the batch has an author with that raw id — and gets
R6SourceId + MediaProvider, so the customer keeps one persona and one Contact (issue 12: written for
surviving mutants of ``salesforce.inbound``)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from plugin.models import Author, Mention
from plugin.salesforce.sink import SalesforceSink
from plugin.sink import DeliveryOutcome
from tests.support.netplugin import make_mention

from .conftest import SfEnv, connection, item


def _on(network: str, post: str, author: str = "42") -> Mention:
    return make_mention(post, author=author).model_copy(
        update={"network": network, "author": Author(external_id=author, handle="someone")}
    )


def _legacy(env: SfEnv, media_provider: str | None = None) -> tuple[str, str]:
    """(persona id, its Contact's id): an unscoped "Other" persona of raw author id 42."""
    admin = env.admin()
    contact = admin.Contact.create({"LastName": "Legacy"})["id"]
    fields = {"Name": "someone", "ParentId": contact, "Provider": "Other", "ExternalId": "42"}
    if media_provider:
        fields["MediaProvider"] = media_provider
    return admin.SocialPersona.create(fields)["id"], contact


def _deliver(sink: SalesforceSink, env: SfEnv, *mentions: Mention) -> list[DeliveryOutcome]:
    items = [item(m) for m in mentions]
    by_id = {o.delivery_id: o for o in sink.deliver(connection(env), items)}
    outcomes = [by_id[i.delivery_id] for i in items]
    assert all(o.status == "delivered" for o in outcomes), outcomes
    return outcomes


def _persona_of(env: SfEnv, outcome: DeliveryOutcome) -> str:
    return str(next(p for p in env.records("SocialPost") if p["Id"] == outcome.remote_id)["PersonaId"])


def _persona(env: SfEnv, persona_id: str) -> dict[str, Any]:
    return next(p for p in env.records("SocialPersona") if p["Id"] == persona_id)


@pytest.mark.parametrize("media_provider", [None, "Mastodon"])
def test_an_unscoped_persona_is_adopted_and_scoped(sink: SalesforceSink, sfenv: SfEnv, media_provider: str) -> None:
    legacy, contact = _legacy(sfenv, media_provider)
    [first] = _deliver(sink, sfenv, _on("mastodon", "1"))
    assert _persona_of(sfenv, first) == legacy
    persona = _persona(sfenv, legacy)
    assert (persona["R6SourceId"], persona["MediaProvider"]) == ("mastodon:42", "Mastodon")
    assert len(sfenv.records("SocialPersona")) == 1 and [c["Id"] for c in sfenv.records("Contact")] == [contact]
    [case] = sfenv.records("Case")
    assert case["ContactId"] == contact
    [second] = _deliver(sink, sfenv, _on("mastodon", "2"))  # now found by R6SourceId
    assert _persona_of(sfenv, second) == legacy and len(sfenv.records("SocialPersona")) == 1


def test_an_unscoped_persona_of_another_network_is_left_alone(sink: SalesforceSink, sfenv: SfEnv) -> None:
    legacy, _ = _legacy(sfenv, "Bluesky")
    [out] = _deliver(sink, sfenv, _on("mastodon", "1"))
    assert _persona_of(sfenv, out) != legacy and len(sfenv.records("Contact")) == 2
    assert _persona(sfenv, legacy).get("R6SourceId") is None


def test_a_raw_id_two_networks_in_the_batch_could_own_is_not_adopted(sink: SalesforceSink, sfenv: SfEnv) -> None:
    legacy, _ = _legacy(sfenv)
    on_mastodon, on_bluesky = _deliver(sink, sfenv, _on("mastodon", "1"), _on("bluesky", "2"))
    assert legacy not in {_persona_of(sfenv, on_mastodon), _persona_of(sfenv, on_bluesky)}
    assert _persona_of(sfenv, on_mastodon) != _persona_of(sfenv, on_bluesky)
    assert _persona(sfenv, legacy).get("R6SourceId") is None and len(sfenv.records("SocialPersona")) == 3


def test_the_media_provider_tells_which_network_adopts(sink: SalesforceSink, sfenv: SfEnv) -> None:
    legacy, _ = _legacy(sfenv, "Mastodon")
    on_mastodon, on_bluesky = _deliver(sink, sfenv, _on("mastodon", "1"), _on("bluesky", "2"))
    assert _persona_of(sfenv, on_mastodon) == legacy and _persona_of(sfenv, on_bluesky) != legacy
    assert _persona(sfenv, legacy)["R6SourceId"] == "mastodon:42"
    bluesky = _persona(sfenv, _persona_of(sfenv, on_bluesky))
    assert (bluesky["R6SourceId"], bluesky["MediaProvider"]) == ("bluesky:42", "Bluesky")


def test_a_persona_that_cannot_be_scoped_is_still_used_and_the_refusal_logged(
    sink: SalesforceSink, sfenv: SfEnv, caplog: pytest.LogCaptureFixture
) -> None:
    legacy, _ = _legacy(sfenv)
    # The org's persona MediaProvider picklist lacks "Mastodon": scoping it is refused.
    sfenv.state.set_picklist("SocialPersona", "MediaProvider", ["Bluesky"], restricted=True, org_id=sfenv.org.id)
    with caplog.at_level(logging.WARNING, logger="plugin.salesforce.inbound"):
        [out] = _deliver(sink, sfenv, _on("mastodon", "1"))
    assert _persona_of(sfenv, out) == legacy and _persona(sfenv, legacy).get("R6SourceId") is None
    refusals = [r.getMessage() for r in caplog.records if "could not scope SocialPersona" in r.getMessage()]
    assert len(refusals) == 1 and "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" in refusals[0]


def test_a_scoped_persona_logs_nothing(sink: SalesforceSink, sfenv: SfEnv, caplog: pytest.LogCaptureFixture) -> None:
    _legacy(sfenv)
    with caplog.at_level(logging.WARNING, logger="plugin.salesforce.inbound"):
        _deliver(sink, sfenv, _on("mastodon", "1"))
    assert not [r for r in caplog.records if r.name == "plugin.salesforce.inbound"]
