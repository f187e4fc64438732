"""The service dashboard with demo data, framed by "Zendesk", in a real headless Chromium at 800x600
(Zendesk's narrow iframe) and 1280 wide. Screenshots: test-artifacts/dashboard-800.png, -1280.png."""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plugin.worker import resolutions
from plugin.zendesk.tokens import InstanceMetadata, issue_metadata
from sandbox.demo import script as demo_script
from sandbox.demo.day import solve_some
from sandbox.demo.run import SUBDOMAIN, World, agents_work, build_world, inject, pending_work

AXIS_TITLES = ("conversations", "% answered in time", "mentions", "open conversations", "answers")


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """The demo's world after a simulated day of X traffic: answered, late, unanswered, solved."""
    w = build_world(tempfile.mkdtemp(prefix="horseshoe-dashboard-ui-"), 0, 5)
    w.x_app.state.clock = w.day.clock
    w.worker.start_thread()
    rng = random.Random(5)
    steps = demo_script.plan(40, 5)
    try:
        for index, step in enumerate(steps, 1):
            w.day.at(index / len(steps))
            inject(w, step, rng)
            if index % 5 == 0:
                time.sleep(0.05)
                agents_work(w)
        w.day.finish()
        deadline = time.monotonic() + 120
        quiet = 0
        while time.monotonic() < deadline and quiet < 6:
            agents_work(w)
            w.driver.flush_events()
            solve_some(w.zd_state, SUBDOMAIN, w.answered)
            quiet = quiet + 1 if pending_work(w) == 0 else 0
            time.sleep(0.25)
        w.driver.flush_events()
        resolutions.sync(w.runtime, force=True)
        yield w
    finally:
        w.stop()


def _open(browser: Any, w: World, width: int, height: int) -> tuple[Any, Any]:
    metadata = issue_metadata(w.runtime.box, InstanceMetadata(tenant=SUBDOMAIN, account_ids=(), name="Acme social"))
    html = (
        "<html><head><meta charset='utf-8'></head><body style='margin:0;font-family:sans-serif'>"
        "<div style='background:#03363d;color:#fff;padding:10px 16px'>Zendesk — horseshoe dashboard</div>"
        f"<form id='f' method='post' target='cf' action='{w.web.url}/dashboard/'>"
        f"<input type='hidden' name='metadata' value='{metadata}'><input type='hidden' name='period' value='24h'>"
        "</form><iframe name='cf' style='width:100%;height:4200px;border:0'></iframe>"
        "<script>document.getElementById('f').submit()</script></body></html>"
    )
    page = browser.new_page(viewport={"width": width, "height": height})
    page.route(f"{w.zd_server.url}/agent/dashboard", lambda route: route.fulfill(body=html, content_type="text/html"))
    page.goto(f"{w.zd_server.url}/agent/dashboard")
    frame = page.frame_locator("iframe[name=cf]")
    frame.locator("#chart-backlog svg").wait_for()
    return page, frame


@pytest.mark.parametrize(("width", "height"), [(800, 600), (1280, 900)])
def test_dashboard_draws_labelled_charts_that_fit(world: World, browser: Any, screenshot_dir: Path, width: int,
                                                  height: int) -> None:  # fmt: skip
    page, frame = _open(browser, world, width, height)
    page.screenshot(path=str(screenshot_dir / f"dashboard-{width}.png"), full_page=True)
    assert frame.locator("figure svg").count() == 9
    mentions = int(frame.locator("[data-figure=mentions]").inner_text())
    assert mentions == 40
    assert frame.locator("[data-figure=sla_60]").inner_text().endswith("%")
    text = frame.locator(".charts").inner_text()
    for title in AXIS_TITLES:
        assert title in text, title
    # bars and lines were drawn, not only "nothing in this period"
    assert frame.locator("#chart-volume svg .bar").count() > 0
    assert frame.locator("#chart-sla svg .line").count() > 0
    # nothing wider than the frame: no horizontal scrolling inside Zendesk's iframe
    inner = page.frames[1]
    assert inner.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    # the smallest chart text is still readable at this width (rendered size of an axis label)
    smallest = inner.evaluate(
        "Math.min(...[...document.querySelectorAll('figure svg .axis text')]"
        ".map(t => t.getBoundingClientRect().height).filter(h => h > 0))"
    )
    assert smallest >= 8, smallest
    page.close()
