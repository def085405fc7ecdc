"""Browser end-to-end: a nurse records a floor's checks in the fast list, typing a temperature and pressing Enter
(each cell saves without reloading, the cursor moves to the next person); a wrong unit shows its hint in the cell.
Real Chromium via Playwright."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from conftest import PASSWORD
from firstline.quarantine.models import HealthCheck
from firstline.quarantine.tests.monitoring_support import (  # noqa: F401 - fixtures
    _monitoring_registered,
    _monitoring_settings,
    site,
)

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
    pytest.skip(f"Chromium is missing at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing")

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    context.add_cookies([{"name": "django_language", "value": "en", "url": "http://localhost"}])
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    # In-flight requests finish before the test database is flushed (see firstline/tests/test_e2e.py).
    with contextlib.suppress(sync_api.Error):
        page.wait_for_load_state("networkidle", timeout=5_000)
    context.close()


def test_a_nurse_records_a_floor_in_the_fast_list_with_enter(page, live_server, city, sites, tmp_path, settings):
    settings.HEALTH_CHECK_TIMES = ["00:00"]  # one slot, begun whatever time of day the test runs
    first = site(city.person_a, sites.rooms["101"])
    second = site(city.person_b, sites.rooms["102"])
    base = live_server.url
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "nurse")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/quarantine/today/?floor={sites.rooms['101'].floor_id}")
    cells = page.locator("td[data-state=open] input[data-temp]")
    assert cells.count() == 2
    cells.nth(0).fill("36.8")
    cells.nth(0).press("Enter")
    # Saved in place, and the cursor is on the next person's cell.
    page.locator(f"tr[data-placement='{first.pk}'] td.fl-saved").wait_for()
    assert page.evaluate(
        "document.activeElement === document.querySelectorAll('td[data-state=open] input[data-temp]')[1]"
    )
    cells.nth(1).fill("373")
    cells.nth(1).press("Enter")
    error = page.locator(f"tr[data-placement='{second.pk}'] td.fl-error [data-status]")
    error.wait_for()
    assert "37.3" in error.inner_text()
    cells.nth(1).fill("38.4")
    cells.nth(1).press("Enter")
    page.locator(f"tr[data-placement='{second.pk}'] td.fl-alert").wait_for()
    page.screenshot(path=os.environ.get("E2E_SCREENSHOT", str(tmp_path / "fast-list.png")), full_page=True)
    assert HealthCheck.objects.get(placement=first).temperature == Decimal("36.8")
    assert HealthCheck.objects.get(placement=second).alert
    assert HealthCheck.objects.count() == 2
