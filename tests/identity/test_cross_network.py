"""The same person on X and on Mastodon, linked through one email: one customer in both CRMs."""

from __future__ import annotations

from datetime import UTC, datetime

from plugin.models import Author, Kind, Mention, Visibility
from plugin.pipeline import inbound as pipeline
from plugin.zendesk.instances import instances, with_selection
from sandbox.demo.run import BRAND, SUBDOMAIN

from .zdsupport import identity_world, requester_of, settle


def test_one_zendesk_user_and_one_salesforce_contact_for_two_networks() -> None:
    with identity_world(salesforce=True) as (w, _plugin):
        rt = w.runtime
        tenant_id = rt.store.tenant_id(SUBDOMAIN)
        assert tenant_id is not None and w.salesforce is not None
        # The customer the company already has, in both CRMs.
        known = w.zd_state.add_user(SUBDOMAIN, "Mira Kovač", email="mira@example.org")
        contact = w.salesforce.client().Contact.create({"LastName": "Kovač", "Email": "mira@example.org"})["id"]
        # A Mastodon brand account, fed to the same Zendesk channel instance.
        account_id = rt.store.upsert_account(tenant_id, "mastodon", "m-brand", {"access_token": "t"}, handle="acme")
        rt.store.update_account_settings(account_id, {"poll_interval_seconds": 10**9})
        config = rt.store.sink_connection(tenant_id, "zendesk")
        assert config is not None
        [instance] = instances(config)
        keys = sorted({*(instance.accounts or set()), ("mastodon", "m-brand")})
        rest = {k: config[k] for k in ("api_email", "api_token")}  # with_selection keeps only push settings
        rt.store.set_sink_connection(tenant_id, "zendesk", {**with_selection(config, instance.push_id, keys), **rest})

        mira = w.x_app.state.add_user("mira", name="Mira Kovac")
        w.x_app.state.inject_dm("mira", BRAND, "hello, I'm mira@example.org and my parcel is lost")
        settle(w)
        found = rt.store.account(account_id)
        assert found is not None
        toot = Mention(
            network="mastodon", external_id="m-1", thread_id="m-1", kind=Kind.DIRECT, visibility=Visibility.PRIVATE,
            author=Author(external_id="m-77", handle="mira@social.example", name="Mira"),
            text="same person here: mira@example.org, any news?", created_at=datetime.now(UTC), account="m-brand",
        )  # fmt: skip
        pipeline.ingest(rt, found[0], [toot])
        settle(w)

        assert requester_of(w, "parcel is lost") == known.id
        assert requester_of(w, "any news?") == known.id
        social = {(i.type, i.value) for i in w.zd_state.identities_of(SUBDOMAIN, known.id)} - {
            ("email", "mira@example.org")
        }
        assert ("any_channel", f"x:{mira.id}") in social and ("any_channel", "mastodon:m-77") in social
        personas = [p for p in w.salesforce.records("SocialPersona") if p["ParentId"] == contact]
        assert sorted(p["ExternalId"] for p in personas) == sorted([mira.id, "m-77"])
        assert len([c for c in w.salesforce.records("Contact") if c.get("Email") == "mira@example.org"]) == 1
        links = {(lk.sink, lk.network) for lk in rt.store.identity.links(tenant_id, "linked")}
        assert links == {("zendesk", "x"), ("zendesk", "mastodon"), ("salesforce", "x"), ("salesforce", "mastodon")}
