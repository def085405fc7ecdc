"""Browser end-to-end of quarantine: `site` records the morning checks for a floor in the fast list, enters a
positive result and sees the case alert; the person goes to hospital, and `city` sees the occupancy change.
Real Chromium via Playwright (fixtures shared with test_e2e)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from firstline.quarantine.tests.conftest import sites  # noqa: F401  (fixture)
from firstline.tests.test_e2e import _log_in, browser, page  # noqa: F401  (fixtures)
from firstline.tests.test_e2e_screening import _ship_policy_editions

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _figure(tab: Any, code: str, name: str) -> int:
    return int(tab.locator(f"tr[data-site='{code}'] [data-figure='{name}']").inner_text())


def test_site_records_checks_enters_a_positive_result_and_the_city_sees_the_occupancy_change(
    browser: Any,  # noqa: F811  (the shared fixtures)
    page: Any,  # noqa: F811
    live_server: Any,
    city: Any,
    sites: Any,  # noqa: F811
    settings: Any,
) -> None:
    from firstline.dispatch.models import Task
    from firstline.quarantine.models import HealthCheck, Placement, Sampling
    from firstline.quarantine.sites.services import placement_create
    from firstline.quarantine.tests.factories import measure
    from firstline.tracing.models import Case

    _ship_policy_editions()
    settings.OTP_REQUIRED_ROLES = []  # the command centre signs in with a password only here (TOTP is tested elsewhere)
    settings.HEALTH_CHECK_TIMES = ["00:00"]  # one slot, begun whatever time of day the test runs
    start = timezone.localdate() - datetime.timedelta(days=2)
    placed = []
    for person, room in ((city.person_a, "101"), (city.person_b, "102")):
        m = measure(person, start=start, duration=7, test_days=(1, 3, 5, 7))
        placed.append(
            placement_create(
                actor=None,
                person=person,
                kind="centralised",
                room=sites.rooms[room],
                measure=m,
                start_at=timezone.make_aware(datetime.datetime.combine(start, datetime.time(7))),
            )
        )
    base = live_server.url

    # The command centre's occupancy before.
    _log_in(page, base, "city")
    page.goto(f"{base}/quarantine/sites/occupancy/")
    assert _figure(page, "QA01", "people") == 2
    assert _figure(page, "QA01", "disinfecting") == 0
    page.context.clear_cookies()

    # The site's morning round: the first floor in the fast list, Enter moves to the next person.
    _log_in(page, base, "site")
    page.goto(f"{base}/quarantine/today/?floor={sites.rooms['101'].floor_id}")
    cells = page.locator("td[data-state=open] input[data-temp]")
    assert cells.count() == 2
    cells.nth(0).fill("36.6")
    cells.nth(0).press("Enter")
    page.locator(f"tr[data-placement='{placed[0].pk}'] td.fl-saved").wait_for()
    # The cursor is on the next person's cell: type and press Enter again.
    page.keyboard.type("36.9")
    page.keyboard.press("Enter")
    page.locator(f"tr[data-placement='{placed[1].pk}'] td.fl-saved").wait_for()
    assert {c.temperature for c in HealthCheck.objects.all()} == {Decimal("36.6"), Decimal("36.9")}

    # Today's sampling of the second person (test day 3): sampled, then a positive result.
    sampling = Sampling.objects.get(placement=placed[1], due_date=timezone.localdate())
    page.goto(f"{base}/quarantine/testing/samplings/{sampling.pk}/")
    page.fill("[data-testid=record-form] input[name=tube_code]", "E2E-TUBE-0001")
    page.click("[data-testid=record-submit]")
    page.locator("[data-testid=result-form]").wait_for()
    page.check("[data-testid=result-form] input[name=result][value=positive]")
    page.fill("[data-testid=result-form] input[name=lab]", "玉树州疾控中心实验室")
    page.click("[data-testid=result-submit]")
    page.locator("[data-testid=case-alert]").wait_for()
    case = Case.objects.get(person=city.person_b)
    assert case.classification == "suspected"
    assert Task.objects.filter(assignee_user=city["cdc"], priority=4, status="open").exists()

    # The person goes to hospital: the placement ends and the room is disinfected before the next guest.
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{base}/quarantine/sites/placements/{placed[1].pk}/")
    page.locator("[data-testid=end-form]").evaluate("form => form.closest('details').open = true")
    page.fill("[data-testid=end-form] textarea, [data-testid=end-form] input[name=reason]", "转定点医院")
    page.click("[data-testid=end-form] button[type=submit]")
    page.locator("[data-testid=status]").wait_for()
    assert Placement.objects.get(pk=placed[1].pk).status == "ended"
    page.context.clear_cookies()

    # The command centre sees one person fewer and a room disinfecting.
    _log_in(page, base, "city")
    page.goto(f"{base}/quarantine/sites/occupancy/")
    assert _figure(page, "QA01", "people") == 1
    assert _figure(page, "QA01", "disinfecting") == 1
