"""Browser end-to-end on the demo city: `township` imports a workbook through the mapping screen, sees the
dry-run errors, imports the valid rows; the grid worker `grid` then sees the new tasks and the measure explanation.
Real Chromium via Playwright (fixtures shared with test_e2e)."""

from __future__ import annotations

import datetime
import importlib
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter

from conftest import PASSWORD, valid_id
from firstline.tests.test_e2e import _log_in, browser, page  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _ship_policy_editions() -> None:
    """Earlier transactional tests flush the database, taking the editions a data migration ships with it."""
    from django.apps import apps

    from firstline.policy.models import PolicyEdition

    if not PolicyEdition.objects.exists():
        importlib.import_module("firstline.policy.migrations.0002_shipped_editions").ship(apps, None)


def _workbook(path: Path, *, addresses: list[str], arrival: datetime.date) -> None:
    """A list as a community would send it: a title row, a header the importer does not know (旅客), a bad ID."""
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("返乡人员")
    sheet.write_row(0, 0, ["结古街道返乡人员登记表（测试）"])
    sheet.write_row(1, 0, ["旅客", "身份证号", "手机号", "来源地", "抵达日期", "交通方式", "现住址"])
    rows = [
        [
            "旦增",
            valid_id("63270119920202001"),
            "13800001234",
            "陕西省西安市雁塔区",
            arrival.isoformat(),
            "火车",
            addresses[0],
        ],
        [
            "拉毛",
            valid_id("63270119880808002"),
            "13900001234",
            "青海省西宁市城中区",
            arrival.isoformat(),
            "自驾",
            addresses[1],
        ],
        ["索南", "632701199202020010", "13700001234", "北京市丰台区", arrival.isoformat(), "飞机", addresses[0]],
    ]
    for number, row in enumerate(rows, start=2):
        sheet.write_row(number, 0, row)
    book.close()


def test_township_imports_through_the_mapping_screen_and_the_grid_sees_tasks_and_explanation(
    page: Any,  # noqa: F811  (the shared fixture)
    live_server: Any,
    tmp_path: Path,
    settings: Any,
) -> None:
    from firstline.demo import seed
    from firstline.regions.models import Household
    from firstline.riskareas.services import risk_areas_load

    settings.MEDIA_ROOT = tmp_path / "media"
    _ship_policy_editions()
    seed.seed_demo(persons=400, seed=2021, password=PASSWORD)
    today = datetime.date.today()
    arrival = today - datetime.timedelta(days=1)
    report = risk_areas_load(
        actor=None,
        rows=[
            {
                "row": 2,
                "place": "陕西省西安市雁塔区",
                "division_code": "",
                "level": "high",
                "effective_from": today - datetime.timedelta(days=10),
                "lifted_at": None,
            }
        ],
    )
    assert not report.errors, report.errors
    addresses = list(
        Household.objects.filter(path="632701001001-G001").order_by("code").values_list("address", flat=True)[:2]
    )
    workbook = tmp_path / "返乡人员.xlsx"
    _workbook(workbook, addresses=addresses, arrival=arrival)
    base = live_server.url

    # The township officer uploads; the unknown 旅客 column is mapped to the name on the mapping screen.
    _log_in(page, base, "township")
    page.goto(f"{base}/screening/imports/upload/")
    page.set_input_files("#id_file", str(workbook))
    page.click("[data-testid=upload-submit]")
    page.locator("[data-testid=mapping-form]").wait_for()
    page.select_option("#map_name", value="0")
    page.click("[data-testid=save-mapping]")
    assert page.locator("#map_name").input_value() == "0"
    # Dry run: one row rejected, with its row number and reason; nothing written yet.
    page.click("[data-testid=dry-run]")
    errors = page.locator("[data-testid=row-errors]")
    errors.wait_for()
    assert "5" in errors.inner_text() and "id_number" in errors.inner_text()
    assert page.locator("[data-testid=sum-rejected]").inner_text().strip() == "1"
    # Import the valid rows.
    page.click("[data-testid=import-valid]")
    page.locator("[data-testid=sum-created]").wait_for()
    assert page.locator("[data-testid=sum-created]").inner_text().strip() == "2"
    assert page.locator("[data-testid=error-workbook]").count() == 1

    # The grid worker of that grid sees the visit task and, behind it, the measure and why.
    page.context.clear_cookies()
    _log_in(page, base, "grid")
    from firstline.dispatch.models import Task
    from firstline.screening.models import Arrival

    arrival_pk = Arrival.objects.get(person__id_number=valid_id("63270119920202001")).pk
    visit = Task.objects.get(kind="arrival_visit", content_type__model="arrival", object_id=str(arrival_pk))
    page.goto(f"{base}/tasks/")
    page.click(f"a[href='/tasks/{visit.pk}/']")
    page.click("[data-testid=task-related]")
    body = page.locator("main").inner_text()
    assert "雁塔区" in body  # the risk area that triggered the measure
    assert "集中隔离" in body or "centralised quarantine" in body
