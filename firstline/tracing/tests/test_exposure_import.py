"""Imported exposure lists (a train car's passengers): dry run with row errors, all-or-nothing commit, people found by
ID or phone or registered, idempotent re-import, and the upload → check → import pages."""

from __future__ import annotations

import datetime
import io
from typing import Any

import pytest
import xlsxwriter
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from conftest import valid_id
from firstline.core.models import AuditEvent
from firstline.people.models import Person
from firstline.tracing.exposure_import import RowStatus, exposures_import
from firstline.tracing.models import Contact, Exposure, ExposureOrigin, ExposureStatus
from firstline.tracing.tests.factories import at, confirmed_case, days_ago

pytestmark = pytest.mark.django_db

NEW_ID = valid_id("63010519930303004")  # 西宁, not registered
OTHER_NEW_ID = valid_id("63010519940404005")


def _csv(*lines: str, name: str = "G1234-5车.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, ("\n".join(lines) + "\n").encode("utf-8"), content_type="text/csv")


def _passengers(city: Any) -> SimpleUploadedFile:
    return _csv(
        "G1234次 5号车厢 乘客名单",  # a title row above the header
        "姓名,证件号码,手机,座位",
        f"才仁卓玛,{city.person_b.id_number},,05A",  # registered (grid B)
        f"旦增,{NEW_ID},13612345678,05B",  # new
        ",,13700003333,05C",  # no ID: found by phone (person C)
        f"才仁卓玛,{city.person_b.id_number},,05A",  # listed twice
    )


def _values(**overrides: Any) -> dict[str, Any]:
    start = at(days_ago(1), 9)
    values = {
        "setting": "transport",
        "start": start,
        "end": start + datetime.timedelta(hours=4),
        "proximity": "same_room",
        "protection": "partial",
        "evidence": "G1234 次列车 5 号车厢",
    }
    values.update(overrides)
    return values


@pytest.fixture
def case(city: Any) -> Any:
    return confirmed_case(city["cdc"], city.person_a, onset=days_ago(2)).case


def test_dry_run_reports_each_row_and_writes_nothing(city, case):
    report = exposures_import(actor=city["cdc"], source=case, file=_passengers(city), values=_values(), dry_run=True)
    assert not report.has_errors and not report.committed
    assert report.header_row == 2
    assert [(row.number, row.status) for row in report.rows] == [
        (3, RowStatus.EXISTING),
        (4, RowStatus.NEW),
        (5, RowStatus.EXISTING),
        (6, RowStatus.DUPLICATE),
    ]
    assert report.rows[0].person == city.person_b and report.rows[2].person == city.person_c
    assert report.rows[3].duplicate_of == 3
    assert not Exposure.objects.filter(origin=ExposureOrigin.IMPORTED).exists()
    assert not Person.objects.filter(id_number=NEW_ID).exists()


def test_commit_registers_new_people_and_records_imported_exposures_once(city, case):
    report = exposures_import(actor=city["cdc"], source=case, file=_passengers(city), values=_values(), dry_run=False)
    assert report.committed and (report.exposures_created, report.persons_created) == (3, 1)
    new = Person.objects.get(id_number=NEW_ID)
    assert (new.name, new.phone, new.path) == ("旦增", "13612345678", "632701")  # the CDC: routed to the city
    exposures = Exposure.objects.filter(origin=ExposureOrigin.IMPORTED)
    assert {e.exposed_id for e in exposures} == {city.person_b.pk, new.pk, city.person_c.pk}
    first = exposures.get(exposed=city.person_b)
    assert first.status == ExposureStatus.CANDIDATE  # imported lists wait for the epidemiologist by default
    assert first.source == city.person_a and first.setting == "transport" and first.protection == "partial"
    assert "G1234 次列车 5 号车厢" in first.evidence and "05A" in first.evidence
    assert (first.key or "").startswith(f"imp:{city.person_a.pk}:{city.person_b.pk}:")
    assert AuditEvent.objects.filter(action="create", note__startswith="imported exposure list").count() == 4
    # The same list again adds nothing.
    again = exposures_import(actor=city["cdc"], source=case, file=_passengers(city), values=_values(), dry_run=False)
    assert again.committed and again.exposures_created == 0 and again.persons_created == 0
    assert {row.status for row in again.rows} == {RowStatus.ALREADY, RowStatus.DUPLICATE}
    assert Exposure.objects.filter(origin=ExposureOrigin.IMPORTED).count() == 3


def test_auto_accepted_imports_derive_close_contacts(city, case, settings):
    settings.TRACING_AUTO_ACCEPT = ["household", "copresence", "imported"]
    report = exposures_import(actor=city["cdc"], source=case, file=_passengers(city), values=_values(), dry_run=False)
    assert {c.person_id for c in report.derivation.created} >= {city.person_b.pk, city.person_c.pk}
    assert Contact.objects.get(person=city.person_b).kind == "close"


def test_row_errors_name_the_row_and_field_and_block_the_commit(city, case):
    bad = _csv(
        "姓名,身份证号,电话",
        f"才仁卓玛,{city.person_b.id_number},",
        "错号,632701198503120019,",  # wrong check character
        "科学计数,6.32701E+17,",  # Excel ate the digits
        "无号,,",  # neither ID nor phone
        "坏手机,,12345",
        f"病例本人,{city.person_a.id_number},",  # the source
    )
    with translation.override("en"):
        report = exposures_import(actor=city["cdc"], source=case, file=bad, values=_values(), dry_run=False)
    assert report.has_errors and not report.committed
    errors = {row.number: row.errors for row in report.error_rows}
    assert set(errors) == {3, 4, 5, 6, 7}
    assert [label for label, _message in errors[3]] == ["ID number"]
    assert [label for label, _message in errors[4]] == ["ID number"]
    assert errors[5] == [("ID number", "Give an ID number or a phone number.")]
    assert [label for label, _message in errors[6]] == ["Phone"]
    assert errors[7] == [("Person", "This is the source person.")]
    assert report.rows[0].status == RowStatus.EXISTING
    assert not Exposure.objects.filter(origin=ExposureOrigin.IMPORTED).exists()


def test_a_workbook_with_an_id_type_column_is_read(city, case):
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer)
    sheet = workbook.add_worksheet("乘客")
    for row, values in enumerate(
        [
            ["旅客姓名", "证件类型", "证件号码", "手机号码", "车厢", "座位号"],
            ["约翰", "护照", "E12345678", "", "5", "05D"],
            ["才仁卓玛", "身份证", city.person_b.id_number, "", "5", "05A"],
            ["某人", "驾驶证", "X1", "", "5", "05F"],
        ]
    ):
        for column, value in enumerate(values):
            sheet.write_string(row, column, value)
    workbook.close()
    upload = SimpleUploadedFile("passengers.xlsx", buffer.getvalue())
    report = exposures_import(actor=city["cdc"], source=case, file=upload, values=_values(), dry_run=True)
    assert [row.status for row in report.rows] == [RowStatus.NEW, RowStatus.EXISTING, RowStatus.ERROR]
    assert (report.rows[0].id_type, report.rows[0].id_number, report.rows[0].seat) == ("passport", "E12345678", "5 05D")


def test_a_list_without_id_or_phone_columns_is_refused(city, case):
    report = exposures_import(
        actor=city["cdc"], source=case, file=_csv("姓名,座位", "某人,1A"), values=_values(), dry_run=True
    )
    assert report.errors and not report.rows


def test_an_unreadable_file_is_reported(city, case):
    upload = SimpleUploadedFile("list.xlsx", b"<html><table></table></html>")
    report = exposures_import(actor=city["cdc"], source=case, file=upload, values=_values(), dry_run=True)
    assert report.errors and report.has_errors


def test_bad_shared_values_are_refused_naming_the_field(city, case):
    with pytest.raises(ValidationError) as error:
        exposures_import(
            actor=city["cdc"], source=case, file=_passengers(city), values=_values(setting="boat"), dry_run=True
        )
    assert "setting" in error.value.message_dict


def test_a_span_outside_the_window_is_warned(city, case):
    start = at(days_ago(9), 9)
    report = exposures_import(
        actor=city["cdc"], source=case, file=_passengers(city), values=_values(start=start, end=start), dry_run=True
    )
    assert report.warnings


def test_only_the_tracing_permission_imports(city, case):
    with pytest.raises(PermissionDenied):
        exposures_import(actor=city["grid_a"], source=case, file=_passengers(city), values=_values(), dry_run=True)


def test_a_chosen_division_receives_the_new_people(city, case):
    upload = _csv("姓名,证件号码", f"旦增,{NEW_ID}", f"次仁,{OTHER_NEW_ID}")
    exposures_import(actor=city["cdc"], source=case, file=upload, values=_values(division="632701101"), dry_run=False)
    assert set(Person.objects.filter(id_number__in=[NEW_ID, OTHER_NEW_ID]).values_list("path", flat=True)) == {
        "632701101"
    }


# -- the pages ------------------------------------------------------------------------------------------------------


@pytest.fixture
def en(client: Any, settings: Any, tmp_path: Any) -> Any:
    settings.MEDIA_ROOT = str(tmp_path)
    client.cookies["django_language"] = "en"
    return client


def _form(case: Any, upload: Any) -> dict[str, Any]:
    start = at(days_ago(1), 9)
    return {
        "source": case.pk,
        "setting": "transport",
        "start": start.strftime("%Y-%m-%dT%H:%M"),
        "end": (start + datetime.timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M"),
        "proximity": "same_room",
        "protection": "unknown",
        "evidence": "G1234 次列车 5 号车厢",
        "division": "",
        "file": upload,
        "action": "check",
    }


def test_the_import_page_checks_then_imports_then_finds_everything_already_there(en, login, city, case):
    login("cdc")
    page = en.get(reverse("tracing:exposure_import"), {"source": case.pk})
    assert page.status_code == 200 and f'value="{case.pk}" selected' in page.content.decode()
    check = en.post(reverse("tracing:exposure_import"), _form(case, _passengers(city)))
    html = check.content.decode()
    assert check.status_code == 200 and 'data-testid="commit"' in html and "Import 3 exposures" in html
    assert 'data-row="4" data-status="new"' in html
    assert not Exposure.objects.filter(origin=ExposureOrigin.IMPORTED).exists()
    token = html.split('name="token" value="')[1].split('"')[0]
    done = en.post(reverse("tracing:exposure_import"), {"action": "commit", "token": token})
    assert done.status_code == 302 and done["Location"] == reverse("tracing:case_detail", args=[case.pk])
    assert Exposure.objects.filter(origin=ExposureOrigin.IMPORTED).count() == 3
    case_page = en.get(done["Location"]).content.decode()
    assert "Imported G1234-5车.csv: 3 exposures, 1 people registered." in case_page
    assert 'data-origin="imported"' in case_page  # bulk confirm offered for the imported candidates
    # The token is used up; the same list again shows every row as already imported.
    assert en.post(reverse("tracing:exposure_import"), {"action": "commit", "token": token}).status_code == 302
    again = en.post(reverse("tracing:exposure_import"), _form(case, _passengers(city))).content.decode()
    assert 'data-status="already"' in again and 'data-testid="commit"' not in again


def test_the_import_page_keeps_only_the_latest_checked_lists(en, login, city, case, tmp_path):
    login("cdc")
    for _ in range(7):
        en.post(reverse("tracing:exposure_import"), _form(case, _passengers(city)))
    assert len(en.session["tracing.import"]) == 5
    assert len(list((tmp_path / "tracing-imports").iterdir())) == 5


def test_the_import_page_shows_row_errors_and_offers_no_import(en, login, city, case):
    login("cdc")
    bad = _csv("姓名,证件号码", "错号,632701198503120019")
    html = en.post(reverse("tracing:exposure_import"), _form(case, bad)).content.decode()
    assert "Row 2, ID number" in html and 'data-testid="commit"' not in html


def test_the_import_page_needs_the_tracing_permission(client, login, city, case, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    login("grid_a")
    assert client.get(reverse("tracing:exposure_import")).status_code == 403
    assert client.post(reverse("tracing:exposure_import"), _form(case, _passengers(city))).status_code == 403
