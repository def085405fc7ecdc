from __future__ import annotations

import datetime
import io

import pytest
import xlsxwriter
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command

from firstline.core.models import AuditAction, AuditEvent
from firstline.riskareas import services
from firstline.riskareas.loading import FileProblem, read_rows
from firstline.riskareas.models import Place, RiskArea, RiskAreaPeriod

pytestmark = pytest.mark.django_db

D = datetime.date


def _row(place, level, start, lifted="", code="", **extra):
    return {
        "place": place,
        "level": level,
        "effective_from": start,
        "lifted_at": lifted,
        "division_code": code,
        **extra,
    }


def _periods(place: str) -> list[tuple[str, datetime.date, datetime.date | None]]:
    area = RiskArea.objects.filter(place=place).latest("id")
    return list(area.periods.order_by("valid_from").values_list("level", "valid_from", "valid_until"))


ROWS = [
    _row("北京市丰台区花乡地区", "高风险", "2022-05-01"),
    _row("天津市津南区辛庄镇", "medium", "2022/5/2"),
    _row("火星县某村", "低", "2022年5月3日"),
]


def test_loading_creates_areas_with_their_first_period(city, cdc, area_changes, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report = services.risk_areas_load(actor=cdc, rows=ROWS, source_notice="通告1")
    assert (report.created, report.updated, report.unchanged, report.errors, report.written) == (3, 0, 0, [], True)
    assert report.outcomes == {2: "created", 3: "created", 4: "created"}
    assert sorted(
        RiskArea.objects.values_list("place", "division_code", "scope_text", "level", "needs_review", "source_notice")
    ) == [
        ("北京市丰台区花乡地区", "110106", "花乡地区", "high", False, "通告1"),
        ("天津市津南区辛庄镇", "120112", "辛庄镇", "medium", False, "通告1"),
        ("火星县某村", "", "火星县某村", "low", True, "通告1"),
    ]
    assert _periods("天津市津南区辛庄镇") == [("medium", D(2022, 5, 2), None)]
    [(changes, actor)] = area_changes
    assert sorted(c.kind for c in changes) == ["created", "created", "created"]
    assert all(c.period_id for c in changes) and actor == cdc
    assert AuditEvent.objects.filter(action=AuditAction.CREATE, content_type__model="riskarea").count() == 3
    assert AuditEvent.objects.filter(action=AuditAction.OTHER, actor=cdc).count() == 1


def test_loading_the_same_rows_twice_adds_nothing(city, cdc, area_changes, django_capture_on_commit_callbacks):
    services.risk_areas_load(actor=cdc, rows=ROWS)
    with django_capture_on_commit_callbacks(execute=True):
        report = services.risk_areas_load(actor=cdc, rows=ROWS)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 3)
    assert RiskArea.objects.count() == 3 and RiskAreaPeriod.objects.count() == 3
    assert area_changes == []


def test_a_row_with_another_level_changes_the_level_on_its_day(
    city, cdc, area_changes, django_capture_on_commit_callbacks
):
    services.risk_areas_load(actor=cdc, rows=ROWS)
    with django_capture_on_commit_callbacks(execute=True):
        report = services.risk_areas_load(actor=cdc, rows=[_row("北京市丰台区花乡地区", "medium", "2022-05-08")])
    assert (report.created, report.updated, report.outcomes) == (0, 1, {2: "lowered"})
    area = RiskArea.objects.get(place="北京市丰台区花乡地区")
    assert (area.level, area.effective_from, area.first_listed_on, area.version) == (
        "medium",
        D(2022, 5, 8),
        D(2022, 5, 1),
        2,
    )
    assert _periods(area.place) == [("high", D(2022, 5, 1), D(2022, 5, 8)), ("medium", D(2022, 5, 8), None)]
    [(changes, _actor)] = area_changes
    new_period = area.periods.get(valid_from=D(2022, 5, 8))
    assert [(c.area_id, c.kind, c.level, c.previous_level, c.period_id) for c in changes] == [
        (area.pk, "lowered", "medium", "high", new_period.pk)
    ]
    event = AuditEvent.objects.get(action=AuditAction.UPDATE, object_id=str(area.pk))
    assert event.changes["level"] == ["high", "medium"] and event.version == 2


def test_a_row_with_lifted_at_lifts_an_open_area(city, cdc, area_changes, django_capture_on_commit_callbacks):
    services.risk_areas_load(actor=cdc, rows=ROWS)
    with django_capture_on_commit_callbacks(execute=True):
        report = services.risk_areas_load(
            actor=cdc, rows=[_row("天津市津南区辛庄镇", "中", "2022-05-02", "2022-05-12")]
        )
    assert report.outcomes == {2: "lifted"}
    area = RiskArea.objects.get(place="天津市津南区辛庄镇")
    assert area.lifted_at == D(2022, 5, 12)
    assert _periods(area.place) == [("medium", D(2022, 5, 2), D(2022, 5, 12))]
    assert [c.kind for c in area_changes[0][0]] == ["lifted"]
    again = services.risk_areas_load(actor=cdc, rows=[_row("天津市津南区辛庄镇", "中", "2022-05-02", "2022-05-12")])
    assert again.outcomes == {2: "unchanged"}


def test_a_file_holding_an_area_history_replays_it_in_order(city, cdc):
    rows = [
        _row("北京市丰台区花乡地区", "low", "2022-05-15", "2022-05-20", row=4),
        _row("北京市丰台区花乡地区", "high", "2022-05-01", row=2),
        _row("北京市丰台区花乡地区", "medium", "2022-05-08", row=3),
    ]
    report = services.risk_areas_load(actor=cdc, rows=rows)
    assert report.outcomes == {2: "created", 3: "lowered", 4: "lowered"}
    assert _periods("北京市丰台区花乡地区") == [
        ("high", D(2022, 5, 1), D(2022, 5, 8)),
        ("medium", D(2022, 5, 8), D(2022, 5, 15)),
        ("low", D(2022, 5, 15), D(2022, 5, 20)),
    ]
    assert RiskArea.objects.get().lifted_at == D(2022, 5, 20)
    again = services.risk_areas_load(actor=cdc, rows=rows)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)


def test_a_place_listed_after_its_lifting_is_a_new_area(city, cdc):
    services.risk_areas_load(actor=cdc, rows=[_row("北京市丰台区花乡地区", "high", "2022-05-01", "2022-05-10")])
    report = services.risk_areas_load(actor=cdc, rows=[_row("北京市丰台区花乡地区", "medium", "2022-06-01")])
    assert report.outcomes == {2: "created"}
    assert RiskArea.objects.count() == 2


def test_bad_rows_are_reported_by_row_and_field_and_nothing_is_written(
    city, cdc, area_changes, django_capture_on_commit_callbacks
):
    rows = [
        _row("北京市丰台区花乡地区", "high", "2022-05-01"),
        _row("", "very high", "2022-13-01"),
        _row("天津市津南区辛庄镇", "medium", "2022-05-02", "2022-05-01", code="12011"),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        report = services.risk_areas_load(actor=cdc, rows=rows)
    assert [(e["row"], e["field"]) for e in report.errors] == [
        (3, "effective_from"),
        (3, "level"),
        (3, "place"),
        (4, "division_code"),
        (4, "lifted_at"),
    ]
    assert report.written is False
    assert RiskArea.objects.count() == 0 and Place.objects.count() == 0 and area_changes == []


def test_a_row_that_would_rewrite_history_is_an_error(city, cdc):
    services.risk_areas_load(actor=cdc, rows=[_row("北京市丰台区花乡地区", "high", "2022-05-08")])
    report = services.risk_areas_load(
        actor=cdc,
        rows=[_row("天津市津南区辛庄镇", "high", "2022-05-01"), _row("北京市丰台区花乡地区", "medium", "2022-05-01")],
    )
    assert [(e["row"], e["field"]) for e in report.errors] == [(3, "effective_from")]
    assert RiskArea.objects.count() == 1


def test_two_levels_on_one_day_is_an_error(city, cdc):
    report = services.risk_areas_load(
        actor=cdc,
        rows=[_row("北京市丰台区花乡地区", "high", "2022-05-01"), _row("北京市丰台区花乡地区", "low", "2022-05-01")],
    )
    assert [(e["row"], e["field"]) for e in report.errors] == [(3, "level")]


def test_a_dry_run_reports_without_writing(city, cdc):
    report = services.risk_areas_load(actor=cdc, rows=ROWS, dry_run=True)
    assert (report.created, report.written) == (3, False)
    assert RiskArea.objects.count() == 0 and Place.objects.count() == 0


def test_loading_needs_the_permission_but_the_system_may(city):
    with pytest.raises(PermissionDenied):
        services.risk_areas_load(actor=city["grid_a"], rows=ROWS)
    assert services.risk_areas_load(actor=None, rows=ROWS).created == 3
    assert RiskArea.objects.filter(created_by=None).count() == 3


def test_five_thousand_rows_load_with_a_bounded_number_of_queries(city, cdc, django_assert_max_num_queries):
    rows = [_row(f"北京市丰台区花乡地区{i}号院", "high", "2022-05-01") for i in range(5000)]
    with django_assert_max_num_queries(400):  # bulk statements: SQLite batches at 999 parameters
        report = services.risk_areas_load(actor=cdc, rows=rows)
    assert report.created == 5000 and RiskAreaPeriod.objects.count() == 5000
    changed = [_row(f"北京市丰台区花乡地区{i}号院", "medium", "2022-05-09") for i in range(5000)]
    with django_assert_max_num_queries(400):  # bulk statements: SQLite batches at 999 parameters
        report = services.risk_areas_load(actor=cdc, rows=changed)
    assert report.updated == 5000 and RiskAreaPeriod.objects.filter(valid_until=D(2022, 5, 9)).count() == 5000


# --- files and the management command -------------------------------------------------------------------


def _csv(tmp_path, text: str, name: str = "areas.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8-sig")
    return path


def test_read_rows_accepts_chinese_headers_under_a_title_row(tmp_path):
    path = _csv(
        tmp_path,
        "中高风险地区名单,,,,\n地区,区划代码,风险等级,起始日期,解除日期\n北京市丰台区花乡地区,110106,高风险,2022-05-01,\n",
    )
    assert read_rows(path) == [
        {
            "row": 3,
            "place": "北京市丰台区花乡地区",
            "division_code": "110106",
            "level": "高风险",
            "effective_from": "2022-05-01",
            "lifted_at": "",
        }
    ]


def test_read_rows_reads_xlsx_with_date_cells_and_numeric_codes(tmp_path, city, cdc):
    path = tmp_path / "areas.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet()
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    for col, title in enumerate(["place", "division_code", "level", "effective_from", "lifted_at"]):
        sheet.write_string(0, col, title)
    sheet.write_string(1, 0, "北京市丰台区花乡地区")
    sheet.write_number(1, 1, 110106)
    sheet.write_string(1, 2, "high")
    sheet.write_datetime(1, 3, datetime.datetime(2022, 5, 1), date_format)
    workbook.close()
    rows = read_rows(path)
    assert rows[0]["division_code"] == "110106"
    report = services.risk_areas_load(actor=cdc, rows=rows)
    assert report.created == 1 and RiskArea.objects.get().effective_from == D(2022, 5, 1)


def test_read_rows_names_missing_columns(tmp_path):
    with pytest.raises(FileProblem) as caught:
        read_rows(_csv(tmp_path, "place,division_code\n北京市丰台区,110106\n"))
    assert "level" in str(caught.value) and "effective_from" in str(caught.value)


def test_the_command_loads_a_csv_and_is_idempotent(tmp_path, city):
    path = _csv(
        tmp_path, "地点,风险等级,生效日期\n北京市丰台区花乡地区,高,2022-05-01\n天津市津南区辛庄镇,中,2022-05-02\n"
    )
    out = io.StringIO()
    call_command("load_risk_areas", str(path), stdout=out)
    assert "2 created, 0 updated, 0 unchanged" in out.getvalue()
    assert RiskArea.objects.count() == 2
    out = io.StringIO()
    call_command("load_risk_areas", str(path), "--as", "cdc", stdout=out)
    assert "0 created, 0 updated, 2 unchanged" in out.getvalue()


def test_the_command_dry_run_writes_nothing(tmp_path, city):
    path = _csv(tmp_path, "place,level,effective_from\n北京市丰台区花乡地区,high,2022-05-01\n")
    out = io.StringIO()
    call_command("load_risk_areas", str(path), "--dry-run", stdout=out)
    assert "would load 1 rows: 1 created" in out.getvalue()
    assert RiskArea.objects.count() == 0


def test_the_command_prints_row_errors_and_fails(tmp_path, city):
    path = _csv(
        tmp_path,
        "place,level,effective_from\n北京市丰台区花乡地区,high,2022-05-01\n天津市津南区辛庄镇,extreme,someday\n",
    )
    err = io.StringIO()
    with pytest.raises(CommandError, match="2 error"):
        call_command("load_risk_areas", str(path), stderr=err)
    assert "row 3, effective_from:" in err.getvalue() and "row 3, level:" in err.getvalue()
    assert RiskArea.objects.count() == 0


def test_the_command_refuses_a_user_without_the_permission(tmp_path, city):
    path = _csv(tmp_path, "place,level,effective_from\n北京市丰台区花乡地区,high,2022-05-01\n")
    with pytest.raises(CommandError, match="may not"):
        call_command("load_risk_areas", str(path), "--as", "grid_a")
    with pytest.raises(CommandError, match="no active user"):
        call_command("load_risk_areas", str(path), "--as", "nobody")
