"""The registry of party members and volunteers, their pledges of the eight commitments, and service records."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from firstline.community.models import Commitment, PledgeSignature, Volunteer
from firstline.community.roster import selectors, services
from firstline.community.tests.roster_support import at, make_member_b, make_post, put_on
from firstline.core.concurrency import StaleVersionError
from firstline.core.models import AuditEvent
from firstline.dispatch.models import TaskStatus
from firstline.dispatch.services import task_create, task_update

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


# -- registry -----------------------------------------------------------------------------------------------


def test_a_person_in_scope_is_registered_with_skills_phone_and_area(city):
    volunteer = services.volunteer_create(
        actor=city["township"],
        person=city.person_b,
        kind="party_member",
        party_branch="测试乙社区党支部",
        area=city.grid_b.code,
        skills=["medical", " 藏汉翻译 ", "medical", "ＩＴ"],
        phone="+86 139-0000-2222",
        account=city["grid_b"],
    )
    assert volunteer.path == city.grid_b.code
    assert volunteer.skills == ["medical", "藏汉翻译", "IT"]
    assert volunteer.phone == "13900002222"
    assert AuditEvent.objects.filter(object_id=str(volunteer.pk), action="create").exists()


def test_the_phone_defaults_to_the_persons(city):
    assert make_member_b(city).phone == city.person_b.phone


def test_registration_errors_name_their_fields(city):
    with pytest.raises(ValidationError) as refused:
        services.volunteer_create(
            actor=city["township"],
            person=city.person_b,
            kind="party_member",
            party_branch="",
            area="632701101001",  # another township's village
            phone="12345",
        )
    errors = refused.value.message_dict
    assert set(errors) == {"party_branch", "area", "phone"}


def test_a_person_outside_the_jurisdiction_cannot_be_registered(city):
    with pytest.raises(ValidationError, match="outside your jurisdiction"):
        services.volunteer_create(
            actor=city["other_township"], person=city.person_a, kind="volunteer", area="632701101"
        )


def test_a_person_is_registered_once_and_an_account_linked_once(city, community):
    with pytest.raises(ValidationError, match="already registered"):
        services.volunteer_create(actor=city["township"], person=city.person_a, kind="volunteer", area="632701001")
    with pytest.raises(ValidationError, match="already linked"):
        services.volunteer_create(
            actor=city["township"], person=city.person_b, kind="volunteer", area="632701001", account=city["grid_a"]
        )


def test_grid_workers_cannot_register_members(city):
    with pytest.raises(PermissionDenied):
        services.volunteer_create(actor=city["grid_a"], person=city.person_a, kind="volunteer", area=city.grid_a.code)


def test_a_grid_leader_registers_members_of_their_grid_only(city):
    volunteer = services.volunteer_create(
        actor=city["grid_lead_a"], person=city.person_a, kind="volunteer", area=city.grid_a.code
    )
    assert volunteer.path == city.grid_a.code
    with pytest.raises(ValidationError, match="outside your jurisdiction"):
        services.volunteer_update(
            actor=city["grid_lead_a"], volunteer=volunteer, expected_version=1, data={"area": city.community_a.code}
        )


def test_the_person_is_found_by_id_number_only_in_scope(city):
    assert selectors.person_by_id_number(city["township"], city.person_a.id_number.lower()) == city.person_a
    with pytest.raises(ValidationError) as refused:
        selectors.person_by_id_number(city["other_township"], city.person_a.id_number)
    assert "register them first" in refused.value.message_dict["id_number"][0]


def test_an_account_is_linked_only_if_it_works_in_scope(city):
    assert selectors.account_by_username(city["township"], "grid_a") == city["grid_a"]
    assert selectors.account_by_username(city["township"], "") is None
    with pytest.raises(ValidationError, match="No account named grid_a"):
        selectors.account_by_username(city["other_township"], "grid_a")


def test_an_edit_with_a_stale_version_is_refused(city, community):
    member = community.member_a
    services.volunteer_update(
        actor=city["township"], volunteer=member, expected_version=1, data={"availability": "晚上"}
    )
    with pytest.raises(StaleVersionError):
        services.volunteer_update(
            actor=city["township"],
            volunteer=Volunteer.objects.get(pk=member.pk),
            expected_version=1,
            data={"active": False},
        )


def test_the_list_filters_by_kind_branch_skill_area_and_active(city, community):
    member_b = make_member_b(city)
    township = city["township"]
    ids = lambda **f: [v.pk for v in selectors.volunteer_list(township, **f)]  # noqa: E731
    assert ids() == [community.member_a.pk, member_b.pk]
    assert ids(kind="volunteer") == [member_b.pk]
    assert ids(branch="甲社区") == [community.member_a.pk]
    assert ids(skill="driving") == [member_b.pk]
    assert ids(skill="藏汉翻译") == [member_b.pk]
    assert ids(skill="drive") == []  # a skill matches whole, not a part of another
    assert ids(area=city.grid_b.code) == [member_b.pk]
    services.volunteer_update(actor=township, volunteer=member_b, expected_version=1, data={"active": False})
    assert ids(active="1") == [community.member_a.pk]
    assert ids(active="0") == [member_b.pk]


def test_grid_b_does_not_see_grid_as_members(city, community):
    assert list(selectors.volunteer_list(city["grid_b"])) == []
    assert list(selectors.volunteer_list(city["other_township"])) == []
    # The member sees their own record.
    assert [v.pk for v in selectors.volunteer_list(city["grid_a"])] == [community.member_a.pk]


# -- pledges ------------------------------------------------------------------------------------------------


def test_the_eight_commitments_ship_as_data():
    assert Commitment.objects.count() == 8
    assert Commitment.objects.get(number=6).title == "不信谣不造谣不传谣"


def test_all_eight_are_signed_at_once_and_each_only_once(city, community):
    today = timezone.localdate()
    signed = services.pledge_sign(
        actor=city["township"],
        volunteer=community.member_a,
        commitments=list(Commitment.objects.all()),
        signed_on=today,
    )
    assert len(signed) == 8
    with pytest.raises(ValidationError, match="Already signed"):
        services.pledge_sign(
            actor=city["township"],
            volunteer=community.member_a,
            commitments=[Commitment.objects.get(number=3)],
            signed_on=today,
        )
    assert PledgeSignature.objects.filter(volunteer=community.member_a).count() == 8


def test_commitments_are_signed_one_by_one_and_the_page_shows_which(city, community):
    first = Commitment.objects.get(number=1)
    services.pledge_sign(
        actor=city["township"],
        volunteer=community.member_a,
        commitments=[first],
        signed_on=datetime.date(2021, 10, 20),
    )
    services.pledge_sign(
        actor=city["township"],
        volunteer=community.member_a,
        commitments=[first, Commitment.objects.get(number=2)],  # the first is skipped, not doubled
        signed_on=datetime.date(2021, 10, 21),
    )
    rows = {row.commitment.number: row.signature for row in selectors.member_pledges(community.member_a)}
    signed_on = {number: signature.signed_on for number, signature in rows.items() if signature is not None}
    assert signed_on == {1: datetime.date(2021, 10, 20), 2: datetime.date(2021, 10, 21)}
    assert len(rows) == 8


def test_a_pledge_date_cannot_be_in_the_future(city, community):
    with pytest.raises(ValidationError) as refused:
        services.pledge_sign(
            actor=city["township"],
            volunteer=community.member_a,
            commitments=[Commitment.objects.get(number=1)],
            signed_on=timezone.localdate() + datetime.timedelta(days=1),
        )
    assert "signed_on" in refused.value.message_dict


def test_a_signature_recorded_by_mistake_is_withdrawn_with_an_audit(city, community):
    (signature,) = services.pledge_sign(
        actor=city["township"],
        volunteer=community.member_a,
        commitments=[Commitment.objects.get(number=1)],
        signed_on=timezone.localdate(),
    )
    services.pledge_withdraw(actor=city["township"], signature=signature)
    assert not PledgeSignature.objects.filter(volunteer=community.member_a).exists()
    assert AuditEvent.objects.filter(action="delete", path=community.member_a.path).exists()


def test_only_city_organisers_and_data_admins_reword_a_commitment(city):
    commitment = Commitment.objects.get(number=8)
    with pytest.raises(PermissionDenied):
        services.commitment_update(actor=city["township"], commitment=commitment, title="x", text="y", active=True)
    services.commitment_update(
        actor=city["city"], commitment=commitment, title="不聚集", text="不组织、不参加聚会。", active=True
    )
    services.commitment_update(
        actor=city["admin"], commitment=commitment, title="不聚集", text="不组织、不参加聚会聚餐。", active=True
    )
    commitment.refresh_from_db()
    assert commitment.text == "不组织、不参加聚会聚餐。"
    assert AuditEvent.objects.filter(object_id=str(commitment.pk), action="update").count() == 2


def test_pledge_records_are_scoped_and_filtered(city, community):
    member_b = make_member_b(city)
    everything = list(Commitment.objects.all())
    for member in (community.member_a, member_b):
        services.pledge_sign(
            actor=city["township"], volunteer=member, commitments=everything, signed_on=datetime.date(2021, 10, 20)
        )
    assert selectors.pledge_records(city["township"]).count() == 16
    assert selectors.pledge_records(city["grid_lead_a"]).count() == 8
    assert selectors.pledge_records(city["township"], commitment=everything[0], area=city.grid_b.code).count() == 1
    counts = dict((c.number, n) for c, n in selectors.commitment_counts(city["grid_lead_a"]))
    assert counts[1] == 1


# -- service records ----------------------------------------------------------------------------------------


def test_service_hours_come_from_check_in_and_out_else_the_planned_span(city, community):
    grid_a = city["grid_a"]
    post = make_post(city, name="结古检查站")
    door = make_post(city, name="格萨尔广场", kind="venue_door")
    checked = put_on(city, post, community.member_a, at(0, 8), at(0, 12))
    services.shift_check_in(actor=grid_a, shift=checked, now=at(0, 8, 15))
    services.shift_check_out(actor=grid_a, shift=checked, now=at(0, 11, 45))  # 3.5 hours
    forgot = put_on(city, door, community.member_a, at(1, 8), at(1, 14))
    services.shift_check_in(actor=grid_a, shift=forgot, now=at(1, 8))
    # A done shift without both times counts its planned span (6 hours).
    type(forgot).objects.filter(pk=forgot.pk).update(status="done")
    put_on(city, post, community.member_a, at(2, 8), at(2, 12))
    services.mark_missed(now=at(3, 0))
    record = selectors.service_record(community.member_a)
    assert record.shifts_done == 2 and record.shifts_missed == 1
    assert record.duty_hours == 9.5
    assert record.posts == {"结古检查站": 1, "格萨尔广场": 1}


def test_tasks_done_households_covered_and_other_service_are_counted(city, community):
    grid_a, member = city["grid_a"], community.member_a
    task = task_create(actor=city["township"], title="送药", assignee_user=grid_a, path=city.grid_a.path)
    task_update(actor=grid_a, task=task, expected_version=task.version, data={"status": TaskStatus.DONE})
    task_create(actor=city["township"], title="still open", assignee_user=grid_a, path=city.grid_a.path)
    for household in (city.household_a, city.household_a2):
        type(household).objects.filter(pk=household.pk).update(responsible=grid_a)
    services.service_entry_add(
        actor=city["township"],
        volunteer=member,
        day=timezone.localdate(),
        hours="2.5",
        description="电话随访独居老人",
        commitment=Commitment.objects.get(number=5),
    )
    record = selectors.service_record(member)
    assert (record.tasks_done, record.households_covered, record.entry_hours, record.entries) == (
        1,
        2,
        Decimal("2.5"),
        1,
    )
    assert record.total_hours == 2.5
    earlier = selectors.service_record(member, date_to=timezone.localdate() - datetime.timedelta(days=1))
    assert (earlier.tasks_done, earlier.entry_hours, earlier.households_covered) == (0, Decimal("0"), 2)


def test_a_service_entry_is_validated(city, community):
    with pytest.raises(ValidationError) as refused:
        services.service_entry_add(
            actor=city["township"],
            volunteer=community.member_a,
            day=timezone.localdate() + datetime.timedelta(days=1),
            hours="25",
            description=" ",
        )
    assert set(refused.value.message_dict) == {"day", "hours", "description"}


def test_service_records_of_many_members_take_a_fixed_number_of_queries(city, community, django_assert_num_queries):
    member_b = make_member_b(city)
    post = make_post(city)
    for day in range(5):
        put_on(city, post, community.member_a, at(day, 8), at(day, 12))
        put_on(city, post, member_b, at(day, 12), at(day, 16))
    services.mark_missed(now=at(6, 0))
    members = list(Volunteer.objects.select_related("person"))
    with django_assert_num_queries(4):
        records = selectors.service_records(members)
    assert [r.shifts_missed for r in records] == [5, 5]
