"""Browser end-to-end: a grid worker finds a person by pinyin initials, edits the phone, sees it in the
history tab; a worker of another grid gets a 404 on that person's page. Real Chromium via Playwright."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from conftest import PASSWORD

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
    pytest.skip(f"Chromium is missing at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing")

# Playwright's sync API runs an event loop in this thread; the live server does the database work.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})  # a phone
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    # Let the requests the browser still has in flight (a 404 page's /favicon.ico, an htmx call) finish first: the
    # live server answers them in threads of its own, and the test database is flushed right after this fixture
    # (SQLite: "database table is locked" when a request still reads it).
    with contextlib.suppress(sync_api.Error):
        page.wait_for_load_state("networkidle", timeout=5_000)
    context.close()


def _log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_grid_worker_edits_a_phone_and_sees_it_in_history(page, live_server, city, tmp_path):
    base = live_server.url
    _log_in(page, base, "grid_a")
    page.goto(f"{base}/people/")
    page.fill("#id_q", "zxdj")
    page.locator(f"a[data-person='{city.person_a.pk}']").wait_for()
    assert page.locator("#results a[data-person]").count() == 1
    page.click(f"a[data-person='{city.person_a.pk}']")
    page.wait_for_url(f"{base}/people/{city.person_a.pk}/")
    page.click(f"a[href='/people/{city.person_a.pk}/edit/']")
    page.fill("#id_phone", "139 1234 5678")
    page.click("[data-testid=save]")
    page.wait_for_url(f"{base}/people/{city.person_a.pk}/")
    assert page.locator("[data-testid=phone]").inner_text() == "13912345678"
    page.click("[data-testid=history-tab]")
    history = page.locator("[data-testid=history]").inner_text()
    assert "13800001111" in history and "13912345678" in history and "grid_a" in history
    page.screenshot(path=os.environ.get("E2E_SCREENSHOT", str(tmp_path / "history.png")))

    page.context.clear_cookies()
    _log_in(page, base, "grid_b")
    response = page.goto(f"{base}/people/{city.person_a.pk}/")
    assert response is not None and response.status == 404
    assert "13912345678" not in page.content()


def test_pages_render_without_csp_violations(page, live_server, city):
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    _log_in(page, live_server.url, "township")
    for path in ["/", "/people/", "/regions/", f"/regions/g/{city.grid_a.code}/", "/tasks/"]:
        response = page.goto(live_server.url + path)
        assert response is not None and response.status == 200, path
    assert violations == []


def test_demo_city_grid_and_grid2(page, live_server):
    """The issue's scenario on the demo city itself, with its documented `grid` and `grid2` logins."""
    from firstline.demo import seed
    from firstline.people.models import Person

    seed.seed_demo(persons=400, seed=2021, password=PASSWORD)
    person = Person.objects.filter(path="632701001001-G001").exclude(phone="").order_by("id").first()
    assert person is not None
    base = live_server.url
    _log_in(page, base, "grid")
    page.goto(f"{base}/people/")
    page.fill("#id_q", person.name_initials)
    page.locator(f"a[data-person='{person.pk}']").wait_for()
    page.click(f"a[data-person='{person.pk}']")
    page.click(f"a[href='/people/{person.pk}/edit/']")
    page.fill("#id_phone", "13987654321")
    page.click("[data-testid=save]")
    page.wait_for_url(f"{base}/people/{person.pk}/")
    page.click("[data-testid=history-tab]")
    assert "13987654321" in page.locator("[data-testid=history]").inner_text()

    page.context.clear_cookies()
    _log_in(page, base, "grid2")
    response = page.goto(f"{base}/people/{person.pk}/")
    assert response is not None and response.status == 404
