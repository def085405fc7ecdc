from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from conftest import valid_id
from firstline.core.concurrency import StaleVersionError
from firstline.core.models import AuditEvent
from firstline.dispatch.models import Task
from firstline.dispatch.services import task_create
from firstline.people import selectors, services
from firstline.people.models import DuplicateDismissal, Person

pytestmark = pytest.mark.django_db


def test_create_normalises_dirty_input_and_derives_birth_and_sex(city):
    raw_id = "６３２７０１ 1995-0720-011" + valid_id("63270119950720011")[-1].lower()
    person = services.person_create(
        actor=city["grid_a"],
        name=" 張 三 ",
        id_type="resident",
        id_number=raw_id,
        phone="+86 139-0000-1234",
        household=city.household_a,
    )
    assert person.name == "张三"
    assert person.id_number == valid_id("63270119950720011")
    assert person.phone == "13900001234"
    assert str(person.birth_date) == "1995-07-20"
    assert person.sex == "M"
    assert person.name_initials == "zs"
    assert person.path == city.grid_a.path


def test_create_upgrades_15_digit_id(city):
    person = services.person_create(
        actor=city["grid_a"], name="旧证", id_type="resident15", id_number="632701850312002", household=city.household_a
    )
    assert person.id_type == "resident"
    assert len(person.id_number) == 18 and person.id_number.startswith("63270119850312002")


def test_scientific_notation_id_is_rejected_not_guessed(city):
    with pytest.raises(ValidationError) as excinfo:
        services.person_create(
            actor=city["grid_a"], name="某人", id_type="resident", id_number="6.32701E+17", household=city.household_a
        )
    assert "id_number" in excinfo.value.message_dict
    assert not Person.objects.filter(name="某人").exists()


def test_bad_phone_names_the_field(city):
    with pytest.raises(ValidationError) as excinfo:
        services.person_create(
            actor=city["grid_a"],
            name="某人",
            id_type="resident",
            id_number=valid_id("63270119800101005"),
            phone="12345",
            household=city.household_a,
        )
    assert set(excinfo.value.message_dict) == {"phone"}


def test_one_person_per_id_number(city):
    with pytest.raises(ValidationError) as excinfo:
        services.person_create(
            actor=city["grid_a"],
            name="重复",
            id_type="resident",
            id_number=city.person_a.id_number,
            household=city.household_a,
        )
    assert f"#{city.person_a.pk}" in str(excinfo.value.message_dict["id_number"])


def test_duplicate_id_out_of_scope_does_not_reveal_who(city):
    with pytest.raises(ValidationError) as excinfo:
        services.person_create(
            actor=city["grid_b"],
            name="重复",
            id_type="resident",
            id_number=city.person_a.id_number,
            household=city.household_b,
        )
    message = str(excinfo.value.message_dict["id_number"])
    assert "#" not in message and "扎西" not in message


def test_database_constraint_holds_without_the_service(city):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Person.objects.create(name="x", id_type="resident", id_number=city.person_a.id_number, path="632701")


def test_create_outside_jurisdiction_is_refused(city):
    with pytest.raises(ValidationError):
        services.person_create(
            actor=city["grid_a"],
            name="外人",
            id_type="resident",
            id_number=valid_id("63270119800101005"),
            household=city.household_b,
        )


def test_volunteer_may_not_create(city):
    with pytest.raises(PermissionDenied):
        services.person_create(
            actor=city["volunteer"],
            name="某人",
            id_type="resident",
            id_number=valid_id("63270119800101005"),
            household=city.household_a,
        )


def test_update_is_audited_with_before_and_after(city):
    person = services.person_update(
        actor=city["grid_a"], person=city.person_a, expected_version=1, data={"phone": "13812345678"}
    )
    assert person.version == 2
    event = AuditEvent.objects.filter(object_id=str(person.pk), action="update").get()
    assert event.changes["phone"] == ["13800001111", "13812345678"]
    assert event.actor_username == "grid_a"
    assert event.version == 2


def test_stale_version_is_refused_and_lists_what_changed(city):
    services.person_update(
        actor=city["grid_a"], person=city.person_a, expected_version=1, data={"phone": "13812345678"}
    )
    stale = Person.objects.get(pk=city.person_a.pk)
    with pytest.raises(StaleVersionError) as excinfo:
        services.person_update(actor=city["township"], person=stale, expected_version=1, data={"name": "扎西"})
    assert excinfo.value.current == 2
    assert excinfo.value.changes_since[0]["changes"]["phone"] == ["13800001111", "13812345678"]
    assert Person.objects.get(pk=city.person_a.pk).name == "扎西多杰"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("zxdj", {"person_a"}),
        ("ZXDJ", {"person_a"}),
        ("zhaxi", {"person_a"}),
        ("扎西", {"person_a"}),
        ("卓瑪", {"person_b"}),  # traditional input finds the simplified name
        ("1111", {"person_a"}),  # phone tail
        ("cr", {"person_b"}),
        ("nima", {"person_c"}),
    ],
)
def test_search(city, query, expected):
    found = set(selectors.person_list(user=city["city"], query=query).values_list("pk", flat=True))
    assert found == {getattr(city, name).pk for name in expected}


def test_search_by_id_tail(city):
    tail = city.person_b.id_number[-4:]
    assert list(selectors.person_list(user=city["city"], query=tail)) == [city.person_b]


def test_duplicate_candidates_same_phone_similar_name(city):
    twin = services.person_create(
        actor=city["grid_a"],
        name="扎西多吉",
        id_type="resident",
        id_number=valid_id("63270119850312017"),
        phone=city.person_a.phone,
        household=city.household_a2,
    )
    pairs = {(c.first.pk, c.second.pk, c.reason) for c in selectors.duplicate_candidates(user=city["township"])}
    assert (city.person_a.pk, twin.pk, "phone") in pairs


def test_duplicate_candidates_same_name_and_birth_date(city):
    twin = services.person_create(
        actor=city["grid_a"],
        name="扎西多杰",
        id_type="passport",
        id_number="E12345678",
        birth_date=city.person_a.birth_date,
        household=city.household_a2,
    )
    pairs = {(c.first.pk, c.second.pk, c.reason) for c in selectors.duplicate_candidates(user=city["township"])}
    assert (city.person_a.pk, twin.pk, "name_birth") in pairs


def test_not_a_duplicate_is_remembered(city):
    twin = services.person_create(
        actor=city["grid_a"],
        name="扎西多杰",
        id_type="passport",
        id_number="E12345678",
        birth_date=city.person_a.birth_date,
        household=city.household_a2,
    )
    services.duplicate_dismiss(actor=city["township"], first=twin, second=city.person_a)
    assert DuplicateDismissal.objects.count() == 1
    assert selectors.duplicate_candidates(user=city["township"]) == []


def test_merge_moves_linked_records_and_keeps_a_tombstone(city):
    twin = services.person_create(
        actor=city["grid_a"], name="扎西多杰", id_type="passport", id_number="E12345678", household=city.household_a2
    )
    task = task_create(actor=None, title="回访", related=twin, assignee_grid=city.grid_a)
    kept = services.person_merge(actor=city["township"], keep=city.person_a, merge=twin)
    twin.refresh_from_db()
    assert twin.merged_into_id == kept.pk
    assert Task.objects.get(pk=task.pk).object_id == str(kept.pk)
    assert AuditEvent.objects.filter(action="merge").count() == 2
    assert twin not in selectors.person_list(user=city["township"])


def test_merge_needs_merge_permission(city):
    with pytest.raises(PermissionDenied):
        services.person_merge(actor=city["grid_a"], keep=city.person_a, merge=city.person_b)


def test_reveal_is_audited(city):
    values = services.pii_reveal(actor=city["township"], person=city.person_a)
    assert values["phone"] == "13800001111"
    assert AuditEvent.objects.filter(action="reveal", object_id=str(city.person_a.pk), actor=city["township"]).exists()


def test_volunteer_cannot_reveal(city):
    with pytest.raises(PermissionDenied):
        services.pii_reveal(actor=city["volunteer"], person=city.person_a)


def test_tail_searches_have_trigram_indexes_on_postgresql(city):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("trigram indexes exist on PostgreSQL only")
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'people_person'")
        names = {row[0] for row in cursor.fetchall()}
    assert {"person_id_number_trgm", "person_phone_trgm"} <= names


def test_born_today_in_local_time_while_the_server_date_is_yesterday(city, monkeypatch):
    import datetime

    from django.utils import timezone

    # 01:00 in Asia/Shanghai on 2030-01-01 is still 2029-12-31 in UTC; the rule must use the local date.
    local_morning = datetime.datetime(2029, 12, 31, 17, 0, tzinfo=datetime.UTC)
    monkeypatch.setattr(timezone, "now", lambda: local_morning)
    person = services.person_create(
        actor=city["grid_a"],
        name="新生儿",
        id_type="resident",
        id_number=valid_id("63270120300101001"),
        household=city.household_a,
    )
    assert str(person.birth_date) == "2030-01-01"


def test_hmt_permit_birth_date_and_sex_come_from_the_number(city):
    person = services.person_create(
        actor=city["grid_a"],
        name="陈大文",
        id_type="hmt_permit",
        id_number=valid_id("81000019800202002"),
        household=city.household_a,
    )
    assert (str(person.birth_date), person.sex) == ("1980-02-02", "F")
