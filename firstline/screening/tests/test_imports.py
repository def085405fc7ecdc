"""Bulk import of arrival lists: mapping, dirty data, row errors, modes, idempotency, jurisdiction, the CLI."""

from __future__ import annotations

import datetime
import io
import json
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from python_calamine import CalamineWorkbook

from conftest import valid_id
from firstline.dispatch.models import Task
from firstline.people.models import Person
from firstline.policy.models import Measure
from firstline.screening.imports.services import execute, import_file, import_set_mapping, import_start, import_upload
from firstline.screening.models import Arrival, ImportJob, ImportStatus
from firstline.screening.tests.test_arrivals import make_area

D = datetime.date
HEADER = ["姓名", "身份证号", "手机号", "来源地", "抵达日期", "交通方式", "车次航班", "现住址", "健康码", "疫苗接种"]
ID_1 = valid_id("63270119920202001")
ID_2 = valid_id("63270119880808002")
ID_3 = valid_id("63270120000101003")


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def csv_file(tmp_path: Path, rows: list[list[str]], name: str = "list.csv", header: list[str] = HEADER) -> Path:
    path = tmp_path / name
    out = io.StringIO()
    for row in [header, *rows]:
        out.write(",".join(row) + "\n")
    path.write_text(out.getvalue(), encoding="utf-8-sig")
    return path


def good_rows(city: Any) -> list[list[str]]:
    address = city.household_a.address
    return [
        # full-width digits and a lower-case x must be repaired
        [
            "旦增",
            ID_1.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
            "138 0000 1234",
            "陕西省西安市雁塔区",
            "2022/7/18",
            "火车",
            "z8801",
            address,
            "绿码",
            "3针",
        ],
        [
            "拉毛",
            ID_2,
            "+86 13900001234",
            "青海省西宁市城中区",
            "2022年7月18日",
            "自驾",
            "青A12345",
            address,
            "绿",
            "2",
        ],
        ["索南", ID_3.lower(), "13700001234", "北京市丰台区", "20220717", "飞机", "CA1234", "测试甲社区", "", ""],
    ]


def test_import_creates_people_arrivals_measures_and_grid_tasks(city: Any, tmp_path: Path) -> None:
    make_area("陕西省西安市雁塔区", "610113", "high", D(2022, 7, 10))
    job, summary = import_file(
        actor=city["township"], path=csv_file(tmp_path, good_rows(city)), dry_run=False, valid_only=False
    )
    assert (summary.rows, summary.created, summary.updated, summary.unchanged, summary.rejected) == (3, 3, 0, 0, 0)
    assert summary.errors == [] and summary.written and job.status == ImportStatus.DONE
    danzeng = Person.objects.get(id_number=ID_1)
    assert danzeng.household_id == city.household_a.pk and danzeng.phone == "13800001234"
    arrival = Arrival.objects.get(person=danzeng)
    assert (arrival.transport, arrival.transport_no, arrival.health_code, arrival.vaccine_doses) == (
        "train",
        "Z8801",
        "green",
        3,
    )
    measure = Measure.objects.get(person=danzeng)
    # Left Yanta on the arrival day (no leaving date given): day 1 is the day after, 7 days centralised.
    assert (measure.measure_type, measure.start, measure.end) == (
        "centralised_quarantine",
        D(2022, 7, 19),
        D(2022, 7, 25),
    )
    assert set(Task.objects.filter(object_id=str(arrival.pk)).values_list("kind", flat=True)) == {
        "arrival_visit",
        "arrival_follow_up",
    }
    # 测试甲社区 resolves to the community (no household): that arrival waits in the queue.
    sonam = Arrival.objects.get(person__id_number=ID_3.upper())
    assert sonam.household_id is None and sonam.path == city.community_a.code
    assert summary.unresolved == 1


def test_the_same_file_twice_adds_nothing_and_a_changed_row_updates(city: Any, tmp_path: Path) -> None:
    rows = good_rows(city)
    import_file(actor=city["township"], path=csv_file(tmp_path, rows), dry_run=False, valid_only=False)
    counts = (Person.objects.count(), Arrival.objects.count(), Measure.objects.count(), Task.objects.count())
    _job, again = import_file(
        actor=city["township"], path=csv_file(tmp_path, rows, "again.csv"), dry_run=False, valid_only=False
    )
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert (Person.objects.count(), Arrival.objects.count(), Measure.objects.count(), Task.objects.count()) == counts
    rows[1][6] = "青A99999"
    _job, third = import_file(
        actor=city["township"], path=csv_file(tmp_path, rows, "third.csv"), dry_run=False, valid_only=False
    )
    assert (third.created, third.updated, third.unchanged) == (0, 1, 2)
    assert Arrival.objects.get(person__id_number=ID_2).transport_no == "青A99999"
    assert Arrival.objects.get(person__id_number=ID_2).version == 2


def bad_rows(city: Any) -> list[list[str]]:
    address = city.household_a.address
    return [
        ["", ID_1, "13800001234", "西安", "2022-07-18", "", "", address, "", ""],  # row 2: name missing
        ["甲", "632701199202020010", "13800001234", "西安", "2022-07-18", "", "", address, "", ""],  # 3: check char
        ["乙", "6.32701E+17", "13800001234", "西安", "2022-07-18", "", "", address, "", ""],  # 4: scientific notation
        [
            "丙",
            valid_id("63270119921302001"),
            "13800001234",
            "西安",
            "2022-07-18",
            "",
            "",
            address,
            "",
            "",
        ],  # 5: month 13
        ["丁", ID_2, "12345", "西安", "2022-07-18", "", "", address, "", ""],  # 6: phone
        ["戊", ID_3, "13800001234", "西安", "", "", "", address, "", ""],  # 7: arrival date missing
        ["己", valid_id("63270119920202011"), "", "西安", "2022-13-45", "", "", address, "", ""],  # 8: unparseable
        ["庚", valid_id("63270119920202021"), "", "西安", "2099-01-01", "", "", address, "", ""],  # 9: future
        ["辛", valid_id("63270120220101031"), "", "西安", "2021-12-01", "", "", address, "", ""],  # 10: before birth
        ["壬", valid_id("63270119920202041"), "", "西安", "2022-07-18", "", "", "测试丙村", "", ""],  # 11: outside
    ]


def test_every_bad_row_is_reported_with_its_row_number_and_field(city: Any, tmp_path: Path) -> None:
    _job, summary = import_file(
        actor=city["township"], path=csv_file(tmp_path, bad_rows(city)), dry_run=True, valid_only=False
    )
    found = {(e.row, e.field) for e in summary.errors}
    assert found == {
        (2, "name"),
        (3, "id_number"),
        (4, "id_number"),
        (5, "id_number"),
        (6, "phone"),
        (7, "arrival_date"),
        (8, "arrival_date"),
        (9, "arrival_date"),
        (10, "arrival_date"),
        (11, "address"),
    }
    assert summary.rejected == 10 and summary.rows == 10
    assert "scientific" in next(e.reason for e in summary.errors if e.row == 4).lower() or "科学" in next(
        e.reason for e in summary.errors if e.row == 4
    )


def test_all_or_nothing_writes_nothing_when_one_row_at_the_end_is_bad(city: Any, tmp_path: Path) -> None:
    rows = [*good_rows(city), bad_rows(city)[1]]
    job, summary = import_file(actor=city["township"], path=csv_file(tmp_path, rows), dry_run=False, valid_only=False)
    assert summary.rejected == 1 and not summary.written and job.status == ImportStatus.FAILED
    assert not Arrival.objects.exists() and not Person.objects.filter(id_number=ID_1).exists()
    assert not Measure.objects.exists()


def test_valid_only_imports_the_rest_and_returns_an_error_workbook(city: Any, tmp_path: Path) -> None:
    rows = [*good_rows(city), bad_rows(city)[1]]
    job, summary = import_file(actor=city["township"], path=csv_file(tmp_path, rows), dry_run=False, valid_only=True)
    assert (summary.created, summary.rejected) == (3, 1) and summary.written
    assert Arrival.objects.count() == 3
    sheet = CalamineWorkbook.from_path(job.error_file.path).get_sheet_by_index(0).to_python()
    assert len(sheet) == 2
    assert "632701199202020010" in [str(c) for c in sheet[1]]
    assert any("id_number" in str(c) for c in sheet[1])


def test_dry_run_counts_what_an_import_would_do_and_writes_nothing(city: Any, tmp_path: Path) -> None:
    _job, summary = import_file(
        actor=city["township"], path=csv_file(tmp_path, good_rows(city)), dry_run=True, valid_only=False
    )
    assert (summary.created, summary.rejected, summary.written) == (3, 0, False)
    assert not Arrival.objects.exists()


def test_same_person_twice_in_one_file_is_reported(city: Any, tmp_path: Path) -> None:
    rows = good_rows(city)
    rows.append(list(rows[0]))
    _job, summary = import_file(actor=city["township"], path=csv_file(tmp_path, rows), dry_run=True, valid_only=False)
    assert [(e.row, e.field) for e in summary.errors] == [(5, "id_number")]


def test_header_only_and_empty_files(city: Any, tmp_path: Path) -> None:
    _job, summary = import_file(
        actor=city["township"], path=csv_file(tmp_path, [], "header.csv"), dry_run=False, valid_only=False
    )
    assert summary.rows == 0 and summary.created == 0
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as excinfo:
        import_file(actor=city["township"], path=empty, dry_run=False, valid_only=False)
    assert "file" in excinfo.value.message_dict


def test_xlsx_with_numeric_ids_excel_serial_dates_and_a_title_row(city: Any, tmp_path: Path) -> None:
    path = tmp_path / "list.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["测试社区返乡人员登记表"])
    sheet.write_row(1, 0, HEADER)
    sheet.write_row(2, 0, ["旦增", ID_1, 13800001234, "西宁市", 44760, "", "", city.household_a.address, "", ""])
    sheet.write_row(3, 0, ["乙", "x", 13800001234, "西宁市", 44760, "", "", city.household_a.address, "", ""])
    sheet.write_number(3, 1, 632701199202020000.0)  # an ID that Excel turned into a number: digits lost
    book.close()
    _job, summary = import_file(actor=city["township"], path=path, dry_run=False, valid_only=True)
    assert (summary.created, summary.rejected) == (1, 1)
    assert [(e.row, e.field) for e in summary.errors] == [(4, "id_number")]
    assert Arrival.objects.get().arrival_date == D(2022, 7, 18)


def test_mapping_screen_maps_unknown_headers_and_saves_the_layout(
    city: Any, tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    header = ["人员", "证件", "电话号", "抵达", "住址"]
    path = csv_file(tmp_path, [["旦增", ID_1, "13800001234", "2022-07-18", city.household_a.address]], header=header)
    actor = city["township"]
    job = import_upload(actor=actor, upload=ContentFile(path.read_bytes(), name="odd.csv"))
    assert "name" not in job.mapping and job.mapping.get("address") == 4
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as excinfo:
        import_set_mapping(actor=actor, job=job, mapping={"name": 0})
    assert set(excinfo.value.message_dict) == {"id_number", "arrival_date"}
    import_set_mapping(
        actor=actor,
        job=job,
        mapping={"name": 0, "id_number": 1, "phone": 2, "arrival_date": 3, "address": 4},
        save_as="odd",
    )
    second = import_upload(actor=actor, upload=ContentFile(path.read_bytes(), name="odd2.csv"))
    assert second.mapping == {"name": 0, "id_number": 1, "phone": 2, "arrival_date": 3, "address": 4}
    with django_capture_on_commit_callbacks(execute=True):
        import_start(actor=actor, job=second, dry_run=False)  # inline: no broker in tests
    second.refresh_from_db()
    assert second.status == ImportStatus.DONE and second.summary["created"] == 1


def test_two_overlapping_imports_create_no_duplicate_persons(city: Any, tmp_path: Path) -> None:
    rows = good_rows(city)
    actor = city["township"]
    first = import_upload(actor=actor, upload=ContentFile(csv_file(tmp_path, rows).read_bytes(), name="a.csv"))
    second = import_upload(
        actor=actor, upload=ContentFile(csv_file(tmp_path, rows[:2], "b.csv").read_bytes(), name="b.csv")
    )
    for job in (first, second):
        ImportJob.objects.filter(pk=job.pk).update(dry_run=False, status=ImportStatus.IMPORTING)
    # The second import runs after the first has written its persons and arrivals.
    execute(ImportJob.objects.get(pk=first.pk))
    summary = execute(ImportJob.objects.get(pk=second.pk))
    assert (summary.created, summary.unchanged) == (0, 2)
    assert Person.objects.filter(id_number__in=[ID_1, ID_2]).count() == 2


def test_the_command_prints_and_writes_the_json_summary(city: Any, tmp_path: Path) -> None:
    rows = [*good_rows(city), bad_rows(city)[1]]
    path = csv_file(tmp_path, rows)
    report = tmp_path / "report.json"
    out = io.StringIO()
    call_command("import_arrivals", str(path), "--valid-only", "--report", str(report), "--as", "township", stdout=out)
    data = json.loads(report.read_text(encoding="utf-8"))
    assert {k: data[k] for k in ("rows", "created", "updated", "unchanged", "rejected")} == {
        "rows": 4,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "rejected": 1,
    }
    assert data["errors"][0]["row"] == 5 and data["errors"][0]["field"] == "id_number"
    assert json.loads(out.getvalue())["created"] == 3
    with pytest.raises(CommandError):
        call_command("import_arrivals", str(path), "--as", "township", stdout=io.StringIO())


def test_roles_without_import_permission_are_refused(city: Any, tmp_path: Path) -> None:
    with pytest.raises(CommandError):
        call_command(
            "import_arrivals", str(csv_file(tmp_path, good_rows(city))), "--as", "grid_a", stdout=io.StringIO()
        )


def test_an_imported_row_gets_exactly_what_the_phone_form_would_give(city: Any, tmp_path: Path) -> None:
    from firstline.screening.models import ArrivalSource
    from firstline.screening.services import arrival_register

    make_area("陕西省西安市雁塔区", "610113", "high", D(2022, 7, 10))
    row = [
        "旦增",
        ID_1,
        "13800001234",
        "陕西省西安市雁塔区",
        "2022-07-18",
        "火车",
        "Z1",
        city.household_a.address,
        "绿码",
        "3",
    ]
    import_file(actor=city["township"], path=csv_file(tmp_path, [row]), dry_run=False, valid_only=False)
    imported = Measure.objects.get(person__id_number=ID_1)
    registered = arrival_register(
        actor=city["township"],
        source=ArrivalSource.GRID_WORKER,
        data={
            "person": {"name": "拉毛", "id_type": "resident", "id_number": ID_2, "phone": "13900001234"},
            "origin": "陕西省西安市雁塔区",
            "travel": [],
            "arrival_date": D(2022, 7, 18),
            "household": city.household_a,
        },
    ).measure
    assert registered is not None
    fields = (
        "measure_type",
        "counted_from",
        "start",
        "end",
        "test_dates",
        "follow_on_type",
        "follow_on_end",
        "rule_id",
    )
    assert [getattr(imported, f) for f in fields] == [getattr(registered, f) for f in fields]
    assert imported.explanation["evidence"] == registered.explanation["evidence"]
    tasks = Task.objects.filter(content_type__model="arrival").values_list("object_id", "kind")
    kinds: dict[str, set[str]] = {}
    for object_id, kind in tasks:
        kinds.setdefault(object_id, set()).add(kind)
    first, second = kinds.values()
    assert first == second == {"arrival_visit", "arrival_follow_up"}


def test_a_bad_last_row_rolls_back_every_chunk_already_written(city: Any, tmp_path: Path, settings: Any) -> None:
    # A large file in small chunks: the first chunks are written before the bad row at the end is read.
    settings.IMPORT_CHUNK_ROWS = 100
    address = city.household_a.address
    rows = []
    for number in range(450):
        body = f"632701199{number % 10}0{number % 9 + 1}1{number % 2 + 1}{number:03d}"[:17]
        rows.append([f"人{number}", valid_id(body), "", "西宁市", "2022-07-18", "", "", address, "", ""])
    rows.append(bad_rows(city)[1])
    before = (Person.objects.count(), Arrival.objects.count(), Task.objects.count())
    job, summary = import_file(actor=city["township"], path=csv_file(tmp_path, rows), dry_run=False, valid_only=False)
    assert (summary.rows, summary.rejected, summary.written) == (451, 1, False)
    assert [(e.row, e.field) for e in summary.errors] == [(452, "id_number")]
    assert (Person.objects.count(), Arrival.objects.count(), Task.objects.count()) == before
    assert job.status == ImportStatus.FAILED


def test_rows_whose_address_did_not_resolve_become_the_queue_officers_tasks(city: Any, tmp_path: Path) -> None:
    import_file(actor=city["township"], path=csv_file(tmp_path, good_rows(city)), dry_run=False, valid_only=False)
    sonam = Arrival.objects.get(person__id_number=ID_3.upper())
    task = Task.objects.get(object_id=str(sonam.pk))
    # 测试甲社区 has a village secretary: the nearest officer answers for it.
    assert (task.kind, task.assignee_user_id) == ("arrival_resolve", city["village_a"].pk)
    import_file(
        actor=city["township"], path=csv_file(tmp_path, good_rows(city), "again.csv"), dry_run=False, valid_only=False
    )
    assert Task.objects.filter(object_id=str(sonam.pk)).count() == 1
