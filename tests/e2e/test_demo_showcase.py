"""What the demo stages for the admin's pages: a refused delivery (for real, through Zendesk's 422),
a revoked-token account and a demo operator; the URLs and the one-time password are printed."""

from __future__ import annotations

import io
import tempfile
import time

from rich.console import Console

from plugin.console import passwords
from sandbox.demo import showcase
from sandbox.demo.run import build_world


def test_demo_stages_a_refused_delivery_a_revoked_account_and_prints_the_admin_pages() -> None:
    world = build_world(tempfile.mkdtemp(prefix="horseshoe-showcase-"), 0, 1, every_network=True)
    try:
        world.worker.start_thread()
        staged = showcase.stage(world)
        rt = world.runtime
        [failed] = rt.store.failures.failed_deliveries(None)
        assert failed.id == staged.failed_delivery_id and failed.sink == "zendesk"
        assert failed.reason == "zendesk 422: Record validation errors" and "order 4411" in failed.text
        assert rt.store.counts()["deliveries_failed"] == 1
        assert staged.expired_account_id is not None
        deadline = time.monotonic() + 30
        cursor = rt.store.brand_accounts.cursor(staged.expired_account_id)
        while not cursor.last_error and time.monotonic() < deadline:
            time.sleep(0.2)
            cursor = rt.store.brand_accounts.cursor(staged.expired_account_id)
        assert cursor.last_error is not None and "rejected the access token" in cursor.last_error, cursor.last_error
        admin = rt.store.admins.by_name(staged.admin)
        assert admin is not None and admin.role == "operator" and admin.must_change_password
        assert passwords.verify(rt.settings, admin.password_hash, staged.password)
        out = io.StringIO()
        showcase.print_pages(Console(file=out, width=200), world, staged)
        printed = out.getvalue()
        web = world.web.url
        for url in (f"{web}/console/", f"{web}/console/failures", f"{web}/identity/console", f"{web}/zendesk/admin",
                    f"{web}/healthz", f"{web}/metrics"):  # fmt: skip
            assert url in printed, url
        assert f"one-time password: {staged.password}" in printed
        assert f"delivery {staged.failed_delivery_id}" in printed and f"account {staged.expired_account_id}" in printed
    finally:
        world.stop()
