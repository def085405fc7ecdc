"""协查 batches: receiving and routing a list, the status flow, control, escalation, closing."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation

from conftest import make_person, valid_id
from firstline.accounts.services import membership_grant
from firstline.core.concurrency import StaleVersionError
from firstline.core.identity import resident_id_check_char
from firstline.core.models import AuditEvent
from firstline.dispatch.models import Task
from firstline.regions.models import Division
from firstline.riskareas.models import RiskArea, RiskAreaPeriod
from firstline.screening.assist import services
from firstline.screening.assist.services import batch_close, batch_create, escalate_assist
from firstline.screening.models import Arrival, ArrivalSource, AssistBatch, AssistItem, AssistStatus

RECEIVED = datetime.datetime(2022, 7, 20, 9, 0, tzinfo=datetime.UTC)
NEW_ID = valid_id("63270119920202001")  # registered in 玉树市, not in the registry


@pytest.fixture(autouse=True)
def _english() -> Any:
    """Messages are asserted in English (the msgids); the default language is Chinese."""
    with translation.override("en"):
        yield


def id_ending_in_x() -> str:
    for sequence in range(100, 999):
        body = f"63270119880808{sequence}"
        if resident_id_check_char(body) == "X":
            return body + "X"
    raise AssertionError("no X check character found")


def create(city: Any, rows: list[dict[str, Any]], **kwargs: Any) -> services.BatchReport:
    kwargs.setdefault("received_at", RECEIVED)
    kwargs.setdefault("source", "州指挥部")
    kwargs.setdefault("reference", "XC-1")
    return batch_create(actor=city["city"], rows=rows, **kwargs)


def only_item(report: services.BatchReport) -> AssistItem:
    assert report.batch is not None, report.errors
    return AssistItem.objects.get(batch=report.batch)


# -- routing ------------------------------------------------------------------------------------------------------


def test_address_naming_a_community_and_a_household_routes_to_the_households_grid(city: Any) -> None:
    report = create(city, [{"name": "旦增", "id_number": NEW_ID, "address": "玉树市结古街道测试甲社区 网格A 2号"}])
    item = only_item(report)
    assert (item.path, item.household) == (city.grid_a.path, city.household_a2)
    assert report.methods["household"] == 1
    assert report.routed == {"632701001": {"name": "结古街道", "count": 1}}


def test_address_naming_a_township_routes_to_the_township(city: Any) -> None:
    item = only_item(create(city, [{"name": "旦增", "address": "玉树市隆宝镇夏季牧场"}]))
    assert (item.path, item.household_id, item.status) == ("632701101", None, AssistStatus.PENDING)


def test_the_community_agreeing_with_the_township_named_wins(city: Any) -> None:
    # Given a second 测试乙社区 in 隆宝镇: the address names 结古街道, so the one in 结古街道 is meant
    Division.objects.create(code="632701101002", name="测试乙社区", level="community", parent_id="632701101")
    item = only_item(create(city, [{"name": "旦增", "address": "结古街道测试乙社区"}]))
    assert item.path == "632701001002"


def test_id_registered_in_the_city_routes_to_its_county_when_the_address_says_nothing(city: Any) -> None:
    report = create(city, [{"name": "旦增", "id_number": NEW_ID, "address": "不详"}])
    item = only_item(report)
    assert item.path == "632701" and report.methods["id_division"] == 1


def test_a_prefecture_list_routes_an_id_of_the_city_to_the_county(city: Any, settings: Any) -> None:
    settings.FIRSTLINE_CITY_CODE = "6327"
    membership_grant(actor=None, user=city["city"], role="city_command", division=Division.objects.get(code="6327"))
    city["city"].refresh_from_db()
    report = create(city, [{"name": "旦增", "id_number": NEW_ID}], path="6327")
    item = only_item(report)
    assert report.batch is not None and (report.batch.path, item.path) == ("6327", "632701")


def test_a_person_that_cannot_be_routed_waits_in_the_receiving_levels_queue(city: Any) -> None:
    report = create(city, [{"name": "Smith", "id_type": "护照", "id_number": "E12345678", "address": "西安市雁塔区"}])
    item = only_item(report)
    assert item.path == "632701" and item.outcome_note == "Could not route: route by hand."
    assert report.methods["unrouted"] == 1 and report.routed == {"": {"name": "", "count": 1}}
    task = Task.objects.get(kind="assist_route")
    assert task.assignee_user == city["city"] and task.path == "632701"


def test_a_registered_person_goes_to_their_household_whatever_the_address_says(city: Any) -> None:
    item = only_item(create(city, [{"name": "才仁卓玛", "id_number": city.person_b.id_number, "address": "隆宝镇"}]))
    assert (item.person, item.household, item.path) == (city.person_b, city.household_b, city.grid_b.path)


def test_a_township_list_routes_people_of_other_townships_there(city: Any) -> None:
    report = batch_create(actor=city["township"], source="市指挥部", rows=[{"name": "旦增", "address": "隆宝镇"}])
    item = only_item(report)
    assert report.batch is not None and (report.batch.path, item.path) == ("632701001", "632701101")


def test_distribution_gives_one_task_per_grid_or_township_with_the_locate_deadline(city: Any) -> None:
    rows = [
        {"name": "甲", "address": "测试甲社区网格A 1号"},
        {"name": "乙", "address": "测试甲社区网格A 2号"},
        {"name": "丙", "address": "隆宝镇"},
        {"name": "丁", "address": "隆宝镇"},
        {"name": "戊", "address": "隆宝镇"},
    ]
    report = create(city, rows)
    tasks = {t.kind + ":" + (t.path): t for t in Task.objects.filter(kind="assist_locate")}
    assert set(tasks) == {f"assist_locate:{city.grid_a.path}", "assist_locate:632701101"}
    grid_task = tasks[f"assist_locate:{city.grid_a.path}"]
    township_task = tasks["assist_locate:632701101"]
    assert grid_task.assignee_grid == city.grid_a
    assert township_task.assignee_user == city["other_township"]
    assert township_task.title == "协查 XC-1: 3 people to locate by 19:00"  # received 17:00 local time, + 2 h
    assert township_task.due_at == RECEIVED + datetime.timedelta(hours=2)
    assert township_task.content_type == ContentType.objects.get_for_model(AssistBatch)
    assert report.created == 5


def test_a_csv_list_is_read_with_its_usual_headers_and_spreadsheet_row_numbers(city: Any, tmp_path: Any) -> None:
    path = tmp_path / "list.csv"
    path.write_text(
        "协查人员名单\n姓名,证件类型,身份证号码,联系电话,现居住地址,协查原因\n"
        f"旦增,居民身份证,{NEW_ID.lower()},13800009999,隆宝镇,时空伴随\n"
        "坏,身份证,6.32701E+17,,隆宝镇,密接\n",
        encoding="utf-8",
    )
    report = services.batch_upload(
        actor=city["city"],
        file_path=path,
        filename="名单.csv",
        source="州指挥部",
        received_at=RECEIVED,
        valid_only=True,
    )
    assert [(e["row"], e["field"]) for e in report.errors] == [(4, "id_number")]
    assert "scientific notation" in report.errors[0]["reason"]
    item = only_item(report)
    assert (item.row_number, item.id_type, item.reason, item.path) == (3, "resident", "时空伴随", "632701101")


# -- cleaning -----------------------------------------------------------------------------------------------------


def test_dirty_ids_and_phones_are_repaired(city: Any) -> None:
    with_x = id_ending_in_x()
    rows = [
        {"name": "一", "id_number": "６３２７０１１９９２０２０２００１" + NEW_ID[-1], "phone": "+86 138-0000-9999"},
        {"name": "二", "id_number": " 632701 19880808 " + with_x[14:17] + "x"},
        {"name": "三", "id_number": "'632701850312001"},
    ]
    rows[1]["id_number"] = with_x[:6] + " " + with_x[6:14] + " " + with_x[14:17].lower() + with_x[17].lower()
    report = create(city, rows)
    assert report.errors == []
    items = list(AssistItem.objects.filter(batch=report.batch).order_by("row_number"))
    assert [i.id_number for i in items] == [NEW_ID, with_x, valid_id("63270119850312001")]
    assert items[0].phone == "13800009999"
    assert items[2].person == city.person_a  # the upgraded 15-digit ID is the registered person's


def test_bad_rows_are_reported_with_row_and_field_and_nothing_is_written(city: Any) -> None:
    rows = [
        {"name": "好", "id_number": NEW_ID},
        {"name": "坏", "id_number": NEW_ID[:-1] + ("1" if NEW_ID[-1] != "1" else "2")},
        {"name": "科学", "id_number": "6.32701E+17"},
        {"name": "", "phone": "12345"},
        {"name": "重复", "id_number": NEW_ID},
    ]
    report = create(city, rows)
    assert report.batch is None and AssistBatch.objects.count() == 0 and AssistItem.objects.count() == 0
    assert [(e["row"], e["field"]) for e in report.errors] == [
        (2, "id_number"),
        (3, "id_number"),
        (4, "name"),
        (4, "phone"),
        (5, "id_number"),
    ]
    assert "scientific notation" in report.errors[1]["reason"]
    assert report.errors[4]["reason"] == "The same ID number is already on row 1."
    assert (report.rows, report.rejected) == (5, 4)


def test_valid_only_imports_the_good_rows_and_reports_the_rest(city: Any) -> None:
    report = create(
        city, [{"name": "好", "id_number": NEW_ID}, {"name": "坏", "id_number": "6.32701E+17"}], valid_only=True
    )
    assert report.created == 1 and report.rejected == 1
    assert list(AssistItem.objects.values_list("name", flat=True)) == ["好"]


def test_a_dry_run_routes_and_writes_nothing(city: Any) -> None:
    report = create(city, [{"name": "丙", "address": "隆宝镇"}], dry_run=True)
    assert report.routed == {"632701101": {"name": "隆宝镇", "count": 1}} and report.batch is None
    assert not AssistBatch.objects.exists() and not Task.objects.exists()


def test_deadlines_default_from_settings(city: Any) -> None:
    batch = only_item(create(city, [{"name": "甲"}])).batch
    assert batch.deadline_at == RECEIVED + datetime.timedelta(hours=24)
    assert (batch.locate_within_hours, batch.control_within_hours, batch.path) == (2, 8, "632701")


def test_batch_fields_are_checked(city: Any) -> None:
    with pytest.raises(ValidationError) as excinfo:
        create(city, [{"name": "甲"}], source="", locate_within_hours=9, deadline_at=RECEIVED)
    assert set(excinfo.value.message_dict) == {"source", "control_within_hours", "deadline_at"}


def test_an_empty_list_is_refused(city: Any) -> None:
    with pytest.raises(ValidationError) as excinfo:
        create(city, [])
    assert "rows" in excinfo.value.message_dict


@pytest.mark.parametrize("username", ["grid_a", "village_a", "police", "outsider"])
def test_only_managing_roles_receive_lists(city: Any, username: str) -> None:
    with pytest.raises(PermissionDenied):
        batch_create(actor=city[username], source="x", rows=[{"name": "甲"}])


# -- status flow --------------------------------------------------------------------------------------------------


@pytest.fixture
def item(city: Any) -> AssistItem:
    report = create(
        city, [{"name": "旦增", "id_number": NEW_ID, "address": "结古街道测试甲社区网格A 1号", "origin": "西安"}]
    )
    return only_item(report)


def test_the_grids_locate_task_is_done_when_nobody_there_is_pending(city: Any) -> None:
    report = create(
        city, [{"name": "甲", "address": "测试甲社区网格A 1号"}, {"name": "乙", "address": "测试甲社区网格A 2号"}]
    )
    first, second = AssistItem.objects.filter(batch=report.batch).order_by("row_number")
    services.item_locate(actor=city["grid_a"], item=first, expected_version=first.version)
    assert Task.objects.get(kind="assist_locate").status == "open"
    services.item_left(actor=city["grid_a"], item=second, expected_version=second.version, left_to="西宁")
    assert Task.objects.get(kind="assist_locate").status == "done"


def test_located_then_not_found_is_allowed_and_audited(city: Any, item: AssistItem) -> None:
    item = services.item_locate(actor=city["grid_a"], item=item, expected_version=item.version, note="电话联系上")
    assert item.status == AssistStatus.LOCATED and item.located_at is not None and item.version == 2
    item = services.item_not_found(actor=city["grid_a"], item=item, expected_version=2, note="上门未见")
    assert item.status == AssistStatus.NOT_FOUND and item.outcome_note == "上门未见"
    events = AuditEvent.objects.filter(object_id=str(item.pk), content_type__model="assistitem", action="update")
    assert events.count() == 2


def test_control_before_locating_is_refused_with_the_reason(city: Any, item: AssistItem) -> None:
    with pytest.raises(ValidationError) as excinfo:
        services.item_control(
            actor=city["grid_a"],
            item=item,
            expected_version=item.version,
            arrival_data={"arrival_date": RECEIVED.date()},
        )
    assert excinfo.value.message_dict["status"] == ["Mark 旦增 as located before recording the control measure."]


def test_a_final_status_does_not_change(city: Any, item: AssistItem) -> None:
    item = services.item_left(actor=city["grid_a"], item=item, expected_version=item.version, left_to="西宁市城东区")
    assert (item.status, item.left_to) == (AssistStatus.LEFT, "西宁市城东区")
    with pytest.raises(ValidationError) as excinfo:
        services.item_locate(actor=city["grid_a"], item=item, expected_version=item.version)
    assert "a final status does not change" in excinfo.value.message_dict["status"][0]


def test_transfer_needs_the_destination(city: Any, item: AssistItem) -> None:
    with pytest.raises(ValidationError) as excinfo:
        services.item_transfer(actor=city["grid_a"], item=item, expected_version=item.version, transferred_to=" ")
    assert "transferred_to" in excinfo.value.message_dict
    item = services.item_transfer(
        actor=city["grid_a"], item=item, expected_version=item.version, transferred_to="西宁市疫情防控指挥部"
    )
    assert (item.status, item.transferred_to) == (AssistStatus.TRANSFERRED, "西宁市疫情防控指挥部")


def test_a_stale_version_is_refused(city: Any, item: AssistItem) -> None:
    services.item_locate(actor=city["grid_a"], item=item, expected_version=1)
    with pytest.raises(StaleVersionError):
        services.item_not_found(
            actor=city["grid_a"], item=AssistItem.objects.get(pk=item.pk), expected_version=1, note="x"
        )


def test_people_outside_the_handlers_jurisdiction_are_refused(city: Any, item: AssistItem) -> None:
    with pytest.raises(PermissionDenied):
        services.item_locate(actor=city["grid_b"], item=item, expected_version=item.version)
    with pytest.raises(PermissionDenied):
        services.item_locate(actor=city["volunteer"], item=item, expected_version=item.version)


def make_area(place: str, code: str, level: str, start: datetime.date) -> RiskArea:
    area = RiskArea.objects.create(
        place=place, division_code=code, level=level, effective_from=start, first_listed_on=start
    )
    RiskAreaPeriod.objects.create(area=area, level=level, valid_from=start, division_code=code)
    return area


def test_control_registers_the_arrival_and_the_engine_assigns_centralised_quarantine(
    city: Any, item: AssistItem
) -> None:
    # Given Xi'an's Yanta district high-risk from 10 July, and the person located
    today = datetime.date(2022, 7, 20)
    make_area("陕西省西安市雁塔区", "610113", "high", datetime.date(2022, 7, 10))
    item = services.item_locate(actor=city["grid_a"], item=item, expected_version=item.version)
    # When the grid worker records the arrival: in Yanta until 17 July, arrived 18 July
    arrival_data = {
        "arrival_date": datetime.date(2022, 7, 18),
        "travel": [
            {
                "place": "陕西省西安市雁塔区",
                "date_from": datetime.date(2022, 7, 14),
                "date_to": datetime.date(2022, 7, 17),
            }
        ],
    }
    item = services.item_control(
        actor=city["grid_a"], item=item, expected_version=item.version, arrival_data=arrival_data, today=today
    )
    # Then the item is controlled, with the arrival (source 协查) and its measure
    assert item.status == AssistStatus.CONTROLLED and item.controlled_at is not None
    arrival = Arrival.objects.get()
    assert (item.arrival, arrival.source, arrival.household) == (arrival, ArrivalSource.ASSIST, city.household_a)
    assert item.measure is not None and item.measure.measure_type == "centralised_quarantine"
    assert (item.measure.start, item.measure.end) == (datetime.date(2022, 7, 18), datetime.date(2022, 7, 24))
    assert item.person is not None and item.person.id_number == NEW_ID


def test_control_of_a_person_without_id_is_refused_naming_the_field(city: Any) -> None:
    item = only_item(create(city, [{"name": "无证", "address": "测试甲社区网格A 1号"}]))
    item = services.item_locate(actor=city["grid_a"], item=item, expected_version=item.version)
    with pytest.raises(ValidationError) as excinfo:
        services.item_control(
            actor=city["grid_a"],
            item=item,
            expected_version=item.version,
            arrival_data={"arrival_date": RECEIVED.date()},
        )
    assert "id_number" in excinfo.value.message_dict


# -- manual routing -----------------------------------------------------------------------------------------------


def test_the_receiving_level_routes_a_queued_person_by_hand(city: Any) -> None:
    item = only_item(create(city, [{"name": "Smith", "address": "不详"}]))
    item = services.item_route(actor=city["city"], item=item, expected_version=item.version, path="632701101")
    assert (item.path, item.outcome_note) == ("632701101", "")
    assert Task.objects.filter(kind="assist_locate", assignee_user=city["other_township"]).count() == 1
    with pytest.raises(PermissionDenied):
        services.item_route(actor=city["other_township"], item=item, expected_version=item.version, path="632701001")
    with pytest.raises(ValidationError):
        services.item_route(actor=city["city"], item=item, expected_version=item.version, path="999999")


# -- escalation ---------------------------------------------------------------------------------------------------


def test_overdue_people_escalate_once_to_their_township_officer(city: Any) -> None:
    report = create(
        city, [{"name": "甲", "address": "结古街道测试甲社区"}, {"name": "乙", "address": "结古街道测试乙社区"}]
    )
    first, second = AssistItem.objects.filter(batch=report.batch).order_by("row_number")
    services.item_locate(actor=city["township"], item=second, expected_version=second.version)
    # Within the locate window: nothing
    assert escalate_assist(now=RECEIVED + datetime.timedelta(hours=1)) == 0
    # Past the locate deadline: the pending one, once
    later = RECEIVED + datetime.timedelta(hours=3)
    assert escalate_assist(now=later) == 1
    assert escalate_assist(now=later) == 0
    task = Task.objects.get(kind="assist_overdue")
    assert task.assignee_user == city["township"] and task.priority == 4 and task.object_id == str(first.pk)
    assert AssistItem.objects.get(pk=first.pk).escalated_at == later
    # Past the control deadline: both (the located one is not under control either), once each
    late = RECEIVED + datetime.timedelta(hours=9)
    assert escalate_assist(now=late) == 2
    assert escalate_assist(now=late) == 0
    assert Task.objects.filter(kind="assist_overdue").count() == 3


def test_a_settled_person_closes_their_overdue_task(city: Any) -> None:
    item = only_item(create(city, [{"name": "甲", "address": "结古街道测试甲社区"}]))
    escalate_assist(now=RECEIVED + datetime.timedelta(hours=3))
    item.refresh_from_db()
    services.item_left(actor=city["township"], item=item, expected_version=item.version, left_to="西宁")
    assert Task.objects.get(kind="assist_overdue").status == "done"


def test_the_management_command_escalates(city: Any) -> None:
    from django.core.management import call_command

    only_item(
        create(city, [{"name": "甲", "address": "隆宝镇"}], received_at=timezone.now() - datetime.timedelta(hours=3))
    )
    call_command("escalate_assist")
    assert Task.objects.get(kind="assist_overdue").assignee_user == city["other_township"]


def test_the_celery_task_escalates(city: Any) -> None:
    from firstline.screening.assist.tasks import escalate_assist as celery_task

    only_item(
        create(city, [{"name": "甲", "address": "隆宝镇"}], received_at=timezone.now() - datetime.timedelta(hours=3))
    )
    assert celery_task.delay().get() == 1


# -- closing ------------------------------------------------------------------------------------------------------


def test_close_is_refused_while_people_are_pending(city: Any, item: AssistItem) -> None:
    with pytest.raises(ValidationError) as excinfo:
        batch_close(actor=city["city"], batch=item.batch)
    assert excinfo.value.message_dict["batch"] == ["1 person has no final status yet."]
    services.item_not_found(actor=city["grid_a"], item=item, expected_version=item.version, note="查无此人")
    batch = batch_close(actor=city["city"], batch=AssistBatch.objects.get(pk=item.batch_id))
    assert batch.closed_at is not None
    assert not Task.objects.filter(kind="assist_locate", status="open").exists()


def test_a_registered_person_is_sent_to_their_household_without_an_address(city: Any) -> None:
    person = make_person(household=city.household_c, name="新人", id_number=valid_id("63270119990101001"))
    item = only_item(create(city, [{"name": "新人", "id_number": person.id_number}]))
    assert item.household == city.household_c
