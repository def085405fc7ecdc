"""协查 pages: the batch list, receiving a list (dry run, confirm), the batch and item pages, feedback, scoping."""

from __future__ import annotations

import datetime
import io
from pathlib import Path
from typing import Any

import pytest
import python_calamine
import xlsxwriter
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation

from conftest import valid_id
from firstline.core.models import AuditEvent
from firstline.riskareas.models import RiskArea, RiskAreaPeriod
from firstline.screening.assist import services
from firstline.screening.assist.services import batch_create
from firstline.screening.models import AssistBatch, AssistItem, AssistStatus, ImportJob

NEW_ID = valid_id("63270119920202001")


@pytest.fixture(autouse=True)
def _english_and_media(settings: Any, tmp_path: Path) -> Any:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def make_batch(city: Any, rows: list[dict[str, Any]] | None = None, **kwargs: Any) -> AssistBatch:
    rows = rows or [
        {"name": "甲", "id_number": NEW_ID, "phone": "13800009999", "address": "结古街道测试甲社区网格A 1号"},
        {"name": "乙", "address": "隆宝镇"},
    ]
    kwargs.setdefault("received_at", timezone.now() - datetime.timedelta(minutes=30))
    report = batch_create(actor=city["city"], source="州指挥部", reference="XC-7", rows=rows, **kwargs)
    assert report.batch is not None, report.errors
    return report.batch


def items_of(batch: AssistBatch) -> tuple[AssistItem, AssistItem]:
    first, second = AssistItem.objects.filter(batch=batch).order_by("row_number")
    return first, second


def workbook(rows: list[list[Any]]) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet()
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    book.close()
    return buffer.getvalue()


def read_xlsx(response: Any) -> list[list[Any]]:
    content = b"".join(response.streaming_content)
    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(content))
    return book.get_sheet_by_index(0).to_python()


# -- batch list ---------------------------------------------------------------------------------------------------


def test_batch_list_shows_counts_and_countdowns(client: Any, login: Any, city: Any) -> None:
    batch = make_batch(city)
    login("city")
    response = client.get(reverse("screening:assist:list"))
    assert response.status_code == 200
    (row,) = response.context["rows"]
    assert row[0] == batch and row[1]["total"] == 2 and row[1]["pending"] == 2
    html = response.content.decode()
    assert 'data-countdown="locate"' in html and "js/assist.js" in html and "<script>" not in html


def test_a_township_officer_sees_the_city_batch_with_their_people_only(client: Any, login: Any, city: Any) -> None:
    make_batch(city)
    login("township")
    response = client.get(reverse("screening:assist:list"))
    (row,) = response.context["rows"]
    assert row[1]["total"] == 1


def test_batch_list_query_count_is_constant(
    client: Any, login: Any, city: Any, django_assert_max_num_queries: Any
) -> None:
    for n in range(12):
        make_batch(city, [{"name": f"人{n}", "address": "隆宝镇"}, {"name": f"客{n}", "address": "结古街道"}])
    login("city")
    with django_assert_max_num_queries(10):
        response = client.get(reverse("screening:assist:list"))
    assert response.status_code == 200 and len(response.context["rows"]) == 12


def test_batch_list_filters_closed_and_overdue(client: Any, login: Any, city: Any) -> None:
    old = make_batch(city, received_at=timezone.now() - datetime.timedelta(hours=30))
    make_batch(city)
    login("city")
    overdue = client.get(reverse("screening:assist:list"), {"state": "overdue"})
    assert [row[0] for row in overdue.context["rows"]] == [old]
    closed = client.get(reverse("screening:assist:list"), {"state": "closed"})
    assert closed.context["rows"] == []


def test_batch_list_exports(client: Any, login: Any, city: Any) -> None:
    make_batch(city)
    login("city")
    response = client.get(reverse("screening:assist:list"), {"export": "csv"})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert text.splitlines()[1].startswith("XC-7,州指挥部,")


@pytest.mark.parametrize("username", ["outsider", "volunteer", "auditor"])
def test_batch_list_is_refused_without_a_协查_role(client: Any, login: Any, city: Any, username: str) -> None:
    login(username)
    assert client.get(reverse("screening:assist:list")).status_code == 403


# -- receiving a list ---------------------------------------------------------------------------------------------


def upload_form(content: bytes, **extra: Any) -> dict[str, Any]:
    return {
        "source": "州指挥部",
        "reference": "XC-9",
        "file": SimpleUploadedFile("协查名单.xlsx", content),
        **extra,
    }


def test_upload_is_checked_first_and_created_on_confirm(client: Any, login: Any, city: Any) -> None:
    content = workbook(
        [
            ["玉树州协查人员名单"],
            ["序号", "姓名", "身份证号", "手机号", "现住址", "来源地", "协查原因"],
            [1, "旦增", NEW_ID, "13800009999", "结古街道测试甲社区网格A 2号", "西安", "时空伴随"],
            [2, "卓玛", "", "", "隆宝镇", "西安", "密接"],
        ]
    )
    login("city")
    check = client.post(reverse("screening:assist:create"), upload_form(content, action="check"))
    assert check.status_code == 200
    report = check.context["report"]
    assert report.dry_run and report.ok and report.valid == 2
    assert dict(check.context["routed"]) == {
        "632701001": {"name": "结古街道", "count": 1},
        "632701101": {"name": "隆宝镇", "count": 1},
    }
    assert not AssistBatch.objects.exists()
    job = ImportJob.objects.get()
    assert (job.kind, job.status) == ("assist", "validated")
    confirm = client.post(
        reverse("screening:assist:create"),
        {"source": "州指挥部", "reference": "XC-9", "job": job.pk, "action": "confirm"},
    )
    batch = AssistBatch.objects.get()
    assert confirm.status_code == 302 and confirm.url == reverse("screening:assist:detail", args=[batch.pk])
    rows = list(
        AssistItem.objects.filter(batch=batch).order_by("row_number").values_list("row_number", "name", "reason")
    )
    assert rows == [(3, "旦增", "时空伴随"), (4, "卓玛", "密接")]
    job.refresh_from_db()
    assert (job.status, job.assist_batch) == ("done", batch)


def test_upload_with_bad_rows_reports_them_and_can_import_the_valid_ones(client: Any, login: Any, city: Any) -> None:
    content = workbook(
        [
            ["姓名", "身份证号", "现住址"],
            ["旦增", NEW_ID, "隆宝镇"],
            ["坏", 6.32701e17, "隆宝镇"],
        ]
    )
    login("city")
    check = client.post(reverse("screening:assist:create"), upload_form(content, action="check"))
    assert [(e["row"], e["field"]) for e in check.context["errors"]] == [(3, "id_number")]
    assert (
        'data-testid="import-valid"' in check.content.decode() and 'data-testid="confirm"' not in check.content.decode()
    )
    job = ImportJob.objects.get()
    confirm = client.post(
        reverse("screening:assist:create"), {"source": "州指挥部", "job": job.pk, "action": "confirm"}
    )
    assert confirm.status_code == 200 and not AssistBatch.objects.exists()  # all or nothing
    valid = client.post(reverse("screening:assist:create"), {"source": "州指挥部", "job": job.pk, "action": "valid"})
    assert valid.status_code == 302
    assert list(AssistItem.objects.values_list("name", flat=True)) == ["旦增"]


def test_upload_of_a_file_without_names_is_refused_on_the_form(client: Any, login: Any, city: Any) -> None:
    login("city")
    response = client.post(reverse("screening:assist:create"), upload_form(workbook([["foo", "bar"], [1, 2]])))
    assert response.status_code == 200 and response.context["form"].errors["file"]
    assert ImportJob.objects.get().status == "failed"


def test_receiving_a_list_needs_the_manage_permission(client: Any, login: Any, city: Any) -> None:
    login("grid_a")
    assert client.get(reverse("screening:assist:create")).status_code == 403


def test_another_users_upload_cannot_be_confirmed(client: Any, login: Any, city: Any) -> None:
    login("city")
    client.post(reverse("screening:assist:create"), upload_form(workbook([["姓名"], ["甲"]]), action="check"))
    job = ImportJob.objects.get()
    login("cdc")
    response = client.post(reverse("screening:assist:create"), {"source": "x", "job": job.pk, "action": "confirm"})
    assert response.status_code == 404


# -- batch page ---------------------------------------------------------------------------------------------------


def test_batch_page_shows_progress_per_township_and_the_items(client: Any, login: Any, city: Any) -> None:
    batch = make_batch(city)
    login("city")
    response = client.get(reverse("screening:assist:detail", args=[batch.pk]))
    assert response.status_code == 200
    progress = {row["code"]: (row["name"], row["pending"], row["total"]) for row in response.context["progress"]}
    assert progress == {"632701001": ("结古街道", 1, 1), "632701101": ("隆宝镇", 1, 1)}
    assert response.context["page_obj"].paginator.count == 2
    assert [c.key for c in response.context["countdowns"]] == ["locate", "control", "report"]


def test_batch_page_of_a_township_lists_only_its_people(client: Any, login: Any, city: Any) -> None:
    batch = make_batch(city)
    login("other_township")
    response = client.get(reverse("screening:assist:detail", args=[batch.pk]))
    assert [item.name for item in response.context["page_obj"]] == ["乙"]
    assert [row["code"] for row in response.context["progress"]] == ["632701101"]


def test_batch_page_filters_by_status_and_township(client: Any, login: Any, city: Any) -> None:
    batch = make_batch(city)
    first, _second = items_of(batch)
    services.item_locate(actor=city["grid_a"], item=first, expected_version=first.version)
    login("city")
    url = reverse("screening:assist:detail", args=[batch.pk])
    assert [i.name for i in client.get(url, {"status": "located"}).context["page_obj"]] == ["甲"]
    assert [i.name for i in client.get(url, {"township": "632701101"}).context["page_obj"]] == ["乙"]
    assert [i.name for i in client.get(url, {"township": "queue"}).context["page_obj"]] == []


def test_batch_page_query_count_is_constant(
    client: Any, login: Any, city: Any, django_assert_max_num_queries: Any
) -> None:
    batch = make_batch(city, [{"name": f"人{n}", "address": "测试甲社区网格A 1号"} for n in range(40)])
    login("city")
    with django_assert_max_num_queries(12):
        response = client.get(reverse("screening:assist:detail", args=[batch.pk]))
    assert response.status_code == 200 and len(response.context["page_obj"]) == 40


def test_batch_page_without_visible_people_is_404(client: Any, login: Any, city: Any) -> None:
    batch = make_batch(city)
    login("grid_b")
    assert client.get(reverse("screening:assist:detail", args=[batch.pk])).status_code == 404


def test_overdue_people_are_marked_on_the_batch_page(client: Any, login: Any, city: Any) -> None:
    batch = make_batch(city, received_at=timezone.now() - datetime.timedelta(hours=3))
    login("city")
    html = client.get(reverse("screening:assist:detail", args=[batch.pk])).content.decode()
    assert html.count('data-overdue="locate"') == 2
    assert 'data-countdown="locate"' in html and "text-bg-danger fl-countdown" in html


def test_close_from_the_page_is_refused_while_people_are_pending(client: Any, login: Any, city: Any) -> None:
    batch = make_batch(city)
    login("city")
    response = client.post(reverse("screening:assist:close", args=[batch.pk]), follow=True)
    assert "2 people have no final status yet." in response.content.decode()
    batch.refresh_from_db()
    assert batch.closed_at is None


# -- feedback -----------------------------------------------------------------------------------------------------


def make_area(place: str, code: str, level: str, start: datetime.date) -> None:
    area = RiskArea.objects.create(
        place=place, division_code=code, level=level, effective_from=start, first_listed_on=start
    )
    RiskAreaPeriod.objects.create(area=area, level=level, valid_from=start, division_code=code)


def test_feedback_workbook_has_each_person_with_the_outcome(client: Any, login: Any, city: Any) -> None:
    # Given a high-risk area the first person came from, and both people followed up
    today = timezone.localdate()
    make_area("陕西省西安市雁塔区", "610113", "high", today - datetime.timedelta(days=10))
    batch = make_batch(city)
    first, second = items_of(batch)
    first = services.item_locate(actor=city["grid_a"], item=first, expected_version=first.version)
    services.item_control(
        actor=city["grid_a"],
        item=first,
        expected_version=first.version,
        arrival_data={
            "arrival_date": today - datetime.timedelta(days=1),
            "travel": [
                {
                    "place": "陕西省西安市雁塔区",
                    "date_from": today - datetime.timedelta(days=4),
                    "date_to": today - datetime.timedelta(days=2),
                }
            ],
        },
    )
    services.item_transfer(
        actor=city["other_township"], item=second, expected_version=second.version, transferred_to="西宁市城中区"
    )
    # When the CDC (full personal data) exports the feedback
    login("cdc")
    response = client.get(reverse("screening:assist:feedback", args=[batch.pk]))
    assert response.status_code == 200 and response["Content-Disposition"].endswith('.xlsx"')
    rows = read_xlsx(response)
    header = rows[0]
    assert header[:4] == ["Row", "Name", "ID type", "ID number"]
    by_name = {row[1]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert set(by_name) == {"甲", "乙"}
    first_row = by_name["甲"]
    assert first_row["ID number"] == NEW_ID and first_row["Township"] == "结古街道"
    assert first_row["Status"] == "controlled (measure assigned)"
    assert first_row["Measure"] == "centralised quarantine"
    assert first_row["Measure start"] == (today - datetime.timedelta(days=1)).isoformat()
    assert first_row["Located at"] and first_row["Controlled at"]
    assert by_name["乙"]["Transferred to"] == "西宁市城中区" and by_name["乙"]["Township"] == "隆宝镇"
    assert AuditEvent.objects.filter(action="export", object_id=str(batch.pk)).count() == 1


def test_feedback_masks_personal_data_for_roles_without_full_access(client: Any, login: Any, city: Any) -> None:
    batch = make_batch(city)
    login("city")
    rows = read_xlsx(client.get(reverse("screening:assist:feedback", args=[batch.pk])))
    assert rows[1][3] == NEW_ID[:6] + "********" + NEW_ID[-4:]


def test_feedback_is_refused_to_handlers_and_404_out_of_scope(client: Any, login: Any, city: Any) -> None:
    batch = make_batch(city)
    login("grid_a")
    assert client.get(reverse("screening:assist:feedback", args=[batch.pk])).status_code == 403
    other = make_batch(city, [{"name": "丙", "address": "隆宝镇"}])
    login("township")
    assert client.get(reverse("screening:assist:feedback", args=[other.pk])).status_code == 404


# -- item page ----------------------------------------------------------------------------------------------------


def test_item_page_offers_the_actions_of_the_status(client: Any, login: Any, city: Any) -> None:
    first, _second = items_of(make_batch(city))
    login("grid_a")
    response = client.get(reverse("screening:assist:item", args=[first.pk]))
    assert response.status_code == 200
    assert response.context["can_locate"] and not response.context["can_control"] and response.context["can_settle"]
    history = client.get(reverse("screening:assist:item", args=[first.pk]), {"tab": "history"})
    assert len(history.context["events"]) == 1


def test_item_page_out_of_scope_is_404(client: Any, login: Any, city: Any) -> None:
    first, _second = items_of(make_batch(city))
    login("other_township")
    assert client.get(reverse("screening:assist:item", args=[first.pk])).status_code == 404


def test_locate_from_the_page(client: Any, login: Any, city: Any) -> None:
    first, _second = items_of(make_batch(city))
    login("grid_a")
    url = reverse("screening:assist:item_action", args=[first.pk, "locate"])
    response = client.post(url, {"version": first.version, "note": "电话联系上"})
    assert response.status_code == 302
    first.refresh_from_db()
    assert (first.status, first.outcome_note) == (AssistStatus.LOCATED, "电话联系上")
    stale = client.post(url, {"version": 1}, follow=True)
    assert "Someone else changed this person" in stale.content.decode()


def test_refused_transition_from_the_page_shows_the_reason(client: Any, login: Any, city: Any) -> None:
    first, _second = items_of(make_batch(city))
    first = services.item_left(actor=city["grid_a"], item=first, expected_version=first.version, left_to="西宁")
    login("grid_a")
    response = client.post(
        reverse("screening:assist:item_action", args=[first.pk, "not-found"]),
        {"version": first.version, "note": "x"},
        follow=True,
    )
    assert "a final status does not change" in response.content.decode()


def test_actions_are_refused_without_permission_and_404_out_of_scope(client: Any, login: Any, city: Any) -> None:
    first, second = items_of(make_batch(city))
    login("volunteer")
    url = reverse("screening:assist:item_action", args=[first.pk, "locate"])
    assert client.post(url, {"version": first.version}).status_code == 403
    login("grid_a")
    assert (
        client.post(reverse("screening:assist:item_action", args=[second.pk, "locate"]), {"version": 1}).status_code
        == 404
    )


def test_route_by_hand_from_the_page(client: Any, login: Any, city: Any) -> None:
    batch = make_batch(city, [{"name": "无址", "address": "不详"}])
    item = AssistItem.objects.get(batch=batch)
    login("city")
    assert client.get(reverse("screening:assist:item", args=[item.pk])).context["can_route"]
    client.post(reverse("screening:assist:item_action", args=[item.pk, "route"]), {"version": 1, "path": "632701001"})
    item.refresh_from_db()
    assert item.path == "632701001"


def test_control_form_is_prefilled_and_assigns_the_measure(client: Any, login: Any, city: Any) -> None:
    today = timezone.localdate()
    make_area("陕西省西安市雁塔区", "610113", "high", today - datetime.timedelta(days=10))
    batch = make_batch(city, [{"name": "甲", "id_number": NEW_ID, "address": "测试甲社区网格A 1号", "origin": "西安"}])
    item = AssistItem.objects.get(batch=batch)
    item = services.item_locate(actor=city["grid_a"], item=item, expected_version=item.version)
    login("grid_a")
    url = reverse("screening:assist:item_control", args=[item.pk])
    form = client.get(url).context["form"]
    assert form.initial["household"] == city.household_a.code and form.initial["origin"] == "西安"
    response = client.post(
        url,
        {
            "version": item.version,
            "arrival_date": (today - datetime.timedelta(days=1)).isoformat(),
            "origin": "西安",
            "travel_place": "陕西省西安市雁塔区",
            "date_from": (today - datetime.timedelta(days=5)).isoformat(),
            "date_to": (today - datetime.timedelta(days=2)).isoformat(),
            "household": city.household_a.code,
        },
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.status == AssistStatus.CONTROLLED
    assert item.measure is not None and item.measure.measure_type == "centralised_quarantine"


def test_control_form_shows_errors_on_the_fields(client: Any, login: Any, city: Any) -> None:
    batch = make_batch(city, [{"name": "甲", "id_number": NEW_ID, "address": "测试甲社区网格A 1号"}])
    item = AssistItem.objects.get(batch=batch)
    item = services.item_locate(actor=city["grid_a"], item=item, expected_version=item.version)
    login("grid_a")
    future = (timezone.localdate() + datetime.timedelta(days=3)).isoformat()
    response = client.post(
        reverse("screening:assist:item_control", args=[item.pk]), {"version": item.version, "arrival_date": future}
    )
    assert response.status_code == 200 and response.context["form"].errors["arrival_date"]
