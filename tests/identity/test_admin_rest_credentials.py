"""The Zendesk admin UI takes REST credentials for identity resolution; stored encrypted, never shown."""

from __future__ import annotations

import tempfile

import requests

from plugin.identity.zendesk import has_rest_credentials
from sandbox.demo.run import SUBDOMAIN, build_world


def test_admin_ui_stores_rest_credentials_and_never_renders_the_token() -> None:
    w = build_world(tempfile.mkdtemp(prefix="horseshoe-identity-admin-"), 0, 1)
    try:
        rt = w.runtime
        tenant_id = rt.store.tenant_id(SUBDOMAIN)
        assert tenant_id is not None
        w.driver.reconfigure({"api_email": "api@acme.example", "api_token": "zd-secret-token-123"})
        config = rt.store.sink_connection(tenant_id, "zendesk")
        assert config is not None and has_rest_credentials(config) and config["api_token"] == "zd-secret-token-123"
        assert config.get("instances"), "the channel instance is kept"
        with rt.db.engine.connect() as conn:
            raw = conn.exec_driver_sql("SELECT config_enc FROM sink_connections WHERE sink = 'zendesk'").scalar()
        assert "zd-secret-token-123" not in str(raw)  # encrypted at rest
        # Editing again with the secret left blank keeps it; the page never shows it back.
        instance = w.driver.reconfigure({"api_email": "api@acme.example"})
        config = rt.store.sink_connection(tenant_id, "zendesk")
        assert config is not None and config["api_token"] == "zd-secret-token-123"
        page = requests.post(
            f"{w.web.url}/zendesk/admin",
            data={"subdomain": SUBDOMAIN, "return_url": f"{w.zd_server.url}/x", "metadata": instance.metadata,
                  "instance_push_id": instance.instance_push_id, "zendesk_access_token": instance.zendesk_access_token},
            timeout=10,
        )  # fmt: skip
        assert page.status_code == 200 and "A secret is stored" in page.text
        assert "zd-secret-token-123" not in page.text and "api@acme.example" in page.text
    finally:
        w.stop()
