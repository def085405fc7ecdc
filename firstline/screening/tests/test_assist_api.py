"""协查 API: batches (list with counts, retrieve, create from JSON rows, feedback) and item actions, with scoping."""

from __future__ import annotations

import datetime
import io
from typing import Any

import pytest
import python_calamine
from django.utils import timezone, translation

from conftest import valid_id
from firstline.riskareas.models import RiskArea, RiskAreaPeriod
from firstline.screening.assist.services import batch_create
from firstline.screening.models import AssistBatch, AssistItem, AssistStatus

NEW_ID = valid_id("63270119920202001")
BATCHES = "/api/v1/assist-batches/"
ITEMS = "/api/v1/assist-items/"


@pytest.fixture(autouse=True)
def _english() -> Any:
    with translation.override("en"):
        yield


def make_batch(city: Any) -> AssistBatch:
    report = batch_create(
        actor=city["city"],
        source="州指挥部",
        reference="XC-3",
        rows=[
            {"name": "甲", "id_number": NEW_ID, "phone": "13800009999", "address": "结古街道测试甲社区网格A 1号"},
            {"name": "乙", "address": "隆宝镇"},
        ],
    )
    assert report.batch is not None
    return report.batch


def items_of(batch: AssistBatch) -> tuple[AssistItem, AssistItem]:
    first, second = AssistItem.objects.filter(batch=batch).order_by("row_number")
    return first, second


# -- batches ------------------------------------------------------------------------------------------------------


def test_batch_list_gives_counts_of_the_callers_people(api: Any, city: Any) -> None:
    batch = make_batch(city)
    body = api("cdc").get(BATCHES).json()
    assert [b["id"] for b in body["results"]] == [batch.pk]
    assert body["results"][0]["counts"]["total"] == 2 and body["results"][0]["counts"]["pending"] == 2
    township = api("township").get(BATCHES).json()["results"][0]
    assert township["counts"]["total"] == 1


def test_batch_list_filters_by_state(api: Any, city: Any) -> None:
    make_batch(city)
    assert api("cdc").get(BATCHES, {"state": "closed"}).json()["count"] == 0
    assert api("cdc").get(BATCHES, {"state": "open"}).json()["count"] == 1


def test_batch_list_query_count_is_constant(api: Any, city: Any, django_assert_max_num_queries: Any) -> None:
    for _n in range(15):
        make_batch(city)
    client = api("cdc")
    with django_assert_max_num_queries(8):
        response = client.get(BATCHES)
    assert response.json()["count"] == 15


def test_batch_retrieve_and_out_of_scope_is_404(api: Any, city: Any) -> None:
    batch = make_batch(city)
    body = api("other_township").get(f"{BATCHES}{batch.pk}/").json()
    assert body["counts"]["total"] == 1 and body["path"] == "632701"
    assert api("grid_b").get(f"{BATCHES}{batch.pk}/").status_code == 404


def test_batch_api_is_refused_without_a_协查_role(api: Any, city: Any) -> None:
    assert api("outsider").get(BATCHES).status_code == 403
    assert api("volunteer").get(ITEMS).status_code == 403


def test_create_from_json_rows(api: Any, city: Any) -> None:
    payload = {
        "source": "州指挥部",
        "reference": "XC-8",
        "rows": [
            {"row_number": 2, "name": "旦增", "id_number": NEW_ID, "address": "隆宝镇"},
            {"row_number": 3, "name": "卓玛", "address": "结古街道测试乙社区网格B 1号"},
        ],
    }
    response = api("cdc").post(BATCHES, payload, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["report"]["created"] == 2 and body["batch"]["counts"]["total"] == 2
    assert body["report"]["routed"] == {
        "632701001": {"name": "结古街道", "count": 1},
        "632701101": {"name": "隆宝镇", "count": 1},
    }
    assert AssistItem.objects.get(name="卓玛").household == city.household_b


def test_create_with_bad_rows_is_refused_with_the_report(api: Any, city: Any) -> None:
    payload = {"source": "州指挥部", "rows": [{"name": "好"}, {"name": "坏", "id_number": "6.32701E+17"}]}
    response = api("cdc").post(BATCHES, payload, format="json")
    assert response.status_code == 400
    assert response.json()["report"]["errors"][0]["row"] == 2 and not AssistBatch.objects.exists()
    valid_only = api("cdc").post(BATCHES, {**payload, "valid_only": True}, format="json")
    assert valid_only.status_code == 201 and valid_only.json()["report"]["rejected"] == 1


def test_create_dry_run_saves_nothing(api: Any, city: Any) -> None:
    response = api("cdc").post(BATCHES, {"source": "x", "dry_run": True, "rows": [{"name": "甲"}]}, format="json")
    assert response.status_code == 200 and response.json()["report"]["rows"] == 1
    assert not AssistBatch.objects.exists()


def test_create_is_refused_to_handlers(api: Any, city: Any) -> None:
    assert api("grid_a").post(BATCHES, {"source": "x", "rows": [{"name": "甲"}]}, format="json").status_code == 403


def test_feedback_endpoint_gives_the_workbook(api: Any, city: Any) -> None:
    batch = make_batch(city)
    response = api("cdc").get(f"{BATCHES}{batch.pk}/feedback/")
    assert response.status_code == 200
    content = b"".join(response.streaming_content)
    rows = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()
    assert [row[1] for row in rows[1:]] == ["甲", "乙"] and rows[1][3] == NEW_ID
    assert api("grid_a").get(f"{BATCHES}{batch.pk}/feedback/").status_code == 403
    assert api("grid_b").get(f"{BATCHES}{batch.pk}/feedback/").status_code == 404


# -- items --------------------------------------------------------------------------------------------------------


def test_item_list_is_scoped_and_filtered(api: Any, city: Any) -> None:
    batch = make_batch(city)
    assert [i["name"] for i in api("cdc").get(ITEMS, {"batch": batch.pk}).json()["results"]] == ["甲", "乙"]
    assert [i["name"] for i in api("grid_a").get(ITEMS).json()["results"]] == ["甲"]
    assert api("cdc").get(ITEMS, {"status": "located"}).json()["count"] == 0
    masked = api("township").get(ITEMS).json()["results"][0]
    assert masked["id_number"] == NEW_ID[:6] + "********" + NEW_ID[-4:]


def test_locate_and_then_a_stale_version_is_409(api: Any, city: Any) -> None:
    first, _second = items_of(make_batch(city))
    client = api("grid_a")
    response = client.post(f"{ITEMS}{first.pk}/locate/", {"version": 1, "note": "见到本人"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == AssistStatus.LOCATED
    stale = client.post(f"{ITEMS}{first.pk}/not-found/", {"version": 1, "note": "x"}, format="json")
    assert stale.status_code == 409 and stale.json()["current_version"] == 2


def test_refused_transition_is_400_with_the_reason(api: Any, city: Any) -> None:
    first, _second = items_of(make_batch(city))
    response = api("grid_a").post(
        f"{ITEMS}{first.pk}/control/", {"version": 1, "arrival_date": "2022-07-18"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["status"] == ["请先将 甲 标记为已落地，再登记管控措施。"]


def test_left_and_transfer_need_the_destination(api: Any, city: Any) -> None:
    first, second = items_of(make_batch(city))
    assert (
        api("grid_a").post(f"{ITEMS}{first.pk}/left/", {"version": 1, "left_to": ""}, format="json").status_code == 400
    )
    response = api("other_township").post(
        f"{ITEMS}{second.pk}/transfer/", {"version": 1, "transferred_to": "西宁市城中区"}, format="json"
    )
    assert response.status_code == 200 and response.json()["transferred_to"] == "西宁市城中区"


def test_item_actions_out_of_scope_are_404_and_without_permission_403(api: Any, city: Any) -> None:
    first, second = items_of(make_batch(city))
    assert api("grid_a").post(f"{ITEMS}{second.pk}/locate/", {"version": 1}, format="json").status_code == 404
    assert api("grid_a").get(f"{ITEMS}{second.pk}/").status_code == 404
    assert api("cdc").post(f"{ITEMS}{first.pk}/locate/", {"version": 1}, format="json").status_code == 403


def test_control_through_the_api_assigns_the_measure(api: Any, city: Any) -> None:
    today = timezone.localdate()
    start = today - datetime.timedelta(days=10)
    area = RiskArea.objects.create(
        place="陕西省西安市雁塔区", division_code="610113", level="high", effective_from=start, first_listed_on=start
    )
    RiskAreaPeriod.objects.create(area=area, level="high", valid_from=start, division_code="610113")
    first, _second = items_of(make_batch(city))
    client = api("grid_a")
    client.post(f"{ITEMS}{first.pk}/locate/", {"version": 1}, format="json")
    payload = {
        "version": 2,
        "arrival_date": (today - datetime.timedelta(days=1)).isoformat(),
        "travel": [
            {
                "place": "陕西省西安市雁塔区",
                "date_from": (today - datetime.timedelta(days=4)).isoformat(),
                "date_to": (today - datetime.timedelta(days=2)).isoformat(),
            }
        ],
    }
    response = client.post(f"{ITEMS}{first.pk}/control/", payload, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "controlled" and body["measure"]["measure_type"] == "centralised_quarantine"
    assert body["arrival"] is not None


def test_route_through_the_api(api: Any, city: Any) -> None:
    report = batch_create(actor=city["city"], source="x", rows=[{"name": "无址"}])
    assert report.batch is not None
    item = AssistItem.objects.get(batch=report.batch)
    response = api("cdc").post(f"{ITEMS}{item.pk}/route/", {"version": 1, "path": city.grid_c.path}, format="json")
    assert response.status_code == 200 and response.json()["path"] == city.grid_c.path
