"""Browser end-to-end of tracing: `cdc` confirms a case for a person with venue check-ins, accepts the co-presence
candidates, sees the close and secondary contacts with their measures, opens the cluster graph; the grid worker
of the close contact's grid finds the new tasks. Real Chromium via Playwright (fixtures shared with test_e2e)."""

from __future__ import annotations

import datetime
import importlib
from typing import Any

import pytest
from django.utils import timezone

from firstline.tests.test_e2e import _log_in, browser, page  # noqa: F401  (fixtures)
from firstline.tests.test_e2e_screening import _ship_policy_editions

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _editions() -> None:
    from django.apps import apps

    _ship_policy_editions()
    importlib.import_module(
        "firstline.policy.migrations.0003_window_from_last_negative"
    ).ninth_edition_counts_from_last_negative(apps, None)


def _at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def test_cdc_traces_a_case_from_its_check_ins_and_the_grid_finds_the_tasks(
    browser: Any,  # noqa: F811  (the shared fixtures)
    page: Any,  # noqa: F811
    live_server: Any,
    city: Any,
    settings: Any,
) -> None:
    from firstline.tracing.models import CheckIn, Exposure, Venue

    _editions()
    # Co-presence waits for the epidemiologist's decision in this installation.
    settings.TRACING_AUTO_ACCEPT = ["household"]
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    market = Venue.objects.create(
        code="E2E0001", name="结古农贸市场", category="market", grid=city.grid_b, path=city.grid_b.path
    )
    CheckIn.objects.create(
        venue=market, person=city.person_a, phone=city.person_a.phone, start=_at(yesterday, 10), end=_at(yesterday, 11)
    )
    CheckIn.objects.create(
        venue=market, person=city.person_b, phone=city.person_b.phone, start=_at(yesterday, 10, 30),
        end=_at(yesterday, 11, 30), end_known=True,
    )  # fmt: skip
    # Earlier that evening the market visitor had dinner with a friend (recorded before anyone was a contact).
    Exposure.objects.create(
        source=city.person_b, exposed=city.person_c, path=city.person_c.path, start=_at(yesterday, 18),
        end=_at(yesterday, 20), setting="shared_meal", origin="manual", status="confirmed", evidence="同桌吃饭",
    )  # fmt: skip
    base = live_server.url

    # The epidemiologist reports the case for the person who visited the market.
    _log_in(page, base, "cdc")
    page.goto(f"{base}/tracing/cases/new/?person={city.person_a.pk}")
    page.locator("[data-testid=chosen-person]").wait_for()
    page.select_option("#id_classification", value="confirmed")
    page.fill("#id_onset_date", (yesterday - datetime.timedelta(days=1)).isoformat())
    page.fill("#id_report_date", timezone.localdate().isoformat())
    page.click("[data-testid=save]")
    page.locator("[data-testid=window]").wait_for()
    # The market visit is a co-presence candidate, waiting for a decision: no contacts yet.
    assert "结古农贸市场" in page.locator("[data-testid=exposures]").inner_text()
    assert page.locator("[data-testid=close-total]").inner_text().strip() == "0"

    # Accept the co-presence candidates: the visitor is a close contact, the dinner friend a secondary contact.
    page.click("[data-testid=bulk-confirm] button[data-origin=copresence]")
    page.locator("[data-testid=derivation]").wait_for()
    assert page.locator("[data-testid=close-total]").inner_text().strip() == "1"
    assert page.locator("[data-testid=secondary-total]").inner_text().strip() == "1"
    close = page.locator("[data-testid=close-contacts]").inner_text()
    secondary = page.locator("[data-testid=secondary-contacts]").inner_text()
    assert city.person_b.name in close and ("集中隔离" in close or "centralised quarantine" in close)
    assert city.person_c.name in secondary and ("居家隔离" in secondary or "home quarantine" in secondary)

    # The cluster graph of the chain.
    page.click("[data-testid=cluster] a")
    page.locator("[data-testid=cluster-graph] canvas").first.wait_for()
    assert page.locator("[data-testid=cluster-size]").inner_text().strip() == "3"

    # The grid worker of the close contact's grid finds the new task.
    # (A browser context of their own: nothing of the graph page's scripts carries over.)
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    grid_page = context.new_page()
    grid_page.set_default_timeout(30_000)
    _log_in(grid_page, base, "grid_b")
    grid_page.goto(f"{base}/tasks/")
    tasks = grid_page.locator("main").inner_text()
    context.close()
    assert city.person_b.name in tasks
