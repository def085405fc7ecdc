"""Pages of the registry, pledges, posts and rosters, the member's duty page and service records: allowed,
out of scope (404), without permission (403), exports, and query counts that do not grow with the rows.
"""

from __future__ import annotations

import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from python_calamine import CalamineWorkbook

from firstline.accounts.services import membership_grant
from firstline.community.models import Commitment, PledgeSignature, Post, Shift, ShiftStatus, Volunteer
from firstline.community.roster import services
from firstline.community.tests.roster_support import MONDAY, at, make_member_b, make_post, put_on
from firstline.core.models import AuditEvent
from firstline.people.models import Person

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(client, settings):
    client.cookies["django_language"] = "en"
    settings.SHIFT_CHECKIN_EARLY_MINUTES = 30


def url(name, *args):
    return reverse(f"community:{name}", args=args)


def streamed(response):
    return b"".join(response.streaming_content).decode("utf-8-sig")


def grid_b_leads_grid_b(city):
    """grid_b also becomes the leader of grid B: an organiser whose jurisdiction is grid B only."""
    membership_grant(actor=None, user=city["grid_b"], role="grid_leader", grid=city.grid_b)
    city["grid_b"].forget_scope()


# -- registry -----------------------------------------------------------------------------------------------


def test_the_list_shows_the_members_of_the_jurisdiction_with_phones_masked(client, login, city, community):
    make_member_b(city)
    login("township")  # no full-PII permission
    response = client.get(url("volunteer_list"))
    assert response.status_code == 200
    assert response.context["page_obj"].paginator.count == 2
    body = response.content.decode()
    assert f'data-volunteer="{community.member_a.pk}"' in body
    assert city.person_a.phone not in body and "138****1111" in body


def test_a_grid_leader_sees_full_phones_of_their_grid_only(client, login, city, community):
    make_member_b(city)
    login("grid_lead_a")
    response = client.get(url("volunteer_list"))
    assert [v.pk for v in response.context["page_obj"]] == [community.member_a.pk]
    assert city.person_a.phone in response.content.decode()


def test_the_list_filters_by_skill_label_and_kind(client, login, city, community):
    member_b = make_member_b(city)
    login("township")
    response = client.get(url("volunteer_list"), {"skill": "driving", "kind": "volunteer"})
    assert [v.pk for v in response.context["page_obj"]] == [member_b.pk]
    assert "driving" in response.content.decode()  # the label, not the code, in the list


@pytest.mark.parametrize("username", ["grid_a", "volunteer", "police", "cdc", "auditor", "outsider"])
def test_registry_pages_are_forbidden_without_volunteer_management(client, login, city, community, username):
    post = make_post(city)
    login(username)
    for page in (
        url("volunteer_list"),
        url("volunteer_create"),
        url("volunteer_detail", community.member_a.pk),
        url("pledge_list"),
        url("post_list"),
        url("post_roster", post.pk),
        url("service_list"),
    ):
        assert client.get(page).status_code == 403, page


def test_grid_b_cannot_open_a_grid_a_member_404(client, login, city, community):
    grid_b_leads_grid_b(city)
    login("grid_b")
    assert client.get(url("volunteer_list")).context["page_obj"].paginator.count == 0
    assert client.get(url("volunteer_detail", community.member_a.pk)).status_code == 404
    assert client.get(url("volunteer_edit", community.member_a.pk)).status_code == 404
    signed = client.post(url("pledge_sign", community.member_a.pk), {"commitments": [1], "signed_on": "2021-10-20"})
    assert signed.status_code == 404
    login("other_township")
    assert client.get(url("volunteer_detail", community.member_a.pk)).status_code == 404


def test_the_list_query_count_does_not_grow_with_members(client, login, city, community, django_assert_max_num_queries):
    for n in range(12):
        person = Person.objects.create(
            name=f"志愿者{n}", id_type="other", id_number=f"X{n:05d}", path=city.grid_a.path, household=city.household_a
        )
        Volunteer.objects.create(person=person, kind="volunteer", path=city.grid_a.path, skills=["driving"])
    login("township")
    with django_assert_max_num_queries(14):
        response = client.get(url("volunteer_list"))
    assert response.context["page_obj"].paginator.count == 13


def test_the_list_exports_csv_with_masked_phones_and_is_audited(client, login, city, community):
    login("township")
    response = client.get(url("volunteer_list"), {"export": "csv"})
    assert response.status_code == 200
    text = streamed(response)
    assert city.person_a.name in text and "138****1111" in text and city.person_a.phone not in text
    assert AuditEvent.objects.filter(action="export", note__startswith="volunteers csv").exists()


def test_a_member_is_registered_through_the_form_by_id_number(client, login, city):
    login("township")
    response = client.post(
        url("volunteer_create"),
        {
            "id_number": city.person_b.id_number,
            "id_type": "resident",
            "kind": "party_member",
            "party_branch": "乙社区党支部",
            "skills": ["medical"],
            "other_skills": "藏汉翻译，摄影",
            "availability": "周末",
            "area": city.grid_b.code,
            "account": "grid_b",
            "active": "on",
        },
    )
    volunteer = Volunteer.objects.get(person=city.person_b)
    assert response.status_code == 302 and response["Location"] == url("volunteer_detail", volunteer.pk)
    assert volunteer.skills == ["medical", "藏汉翻译", "摄影"] and volunteer.user == city["grid_b"]


def test_the_form_names_the_field_in_error(client, login, city):
    login("other_township")
    response = client.post(
        url("volunteer_create"),
        {"id_number": city.person_a.id_number, "id_type": "resident", "kind": "volunteer", "area": "632701101"},
    )
    assert response.status_code == 200
    assert "register them first" in " ".join(response.context["form"].errors["id_number"])


def test_an_edit_over_a_stale_version_shows_what_changed(client, login, city, community):
    member = community.member_a
    services.volunteer_update(
        actor=city["township"], volunteer=member, expected_version=1, data={"availability": "白天"}
    )
    login("grid_lead_a")
    form = {"kind": "party_member", "party_branch": "支部", "area": city.grid_a.code, "active": "on", "version": "1"}
    response = client.post(url("volunteer_edit", member.pk), form)
    assert response.status_code == 200 and response.context["stale_changes"]
    response = client.post(url("volunteer_edit", member.pk), {**form, "version": "2"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.party_branch == "支部" and member.availability == ""


def test_the_member_page_shows_pledges_shifts_and_service(client, login, city, community):
    post = make_post(city, name="结古检查站")
    put_on(city, post, community.member_a, at(0, 8), at(0, 12))
    login("grid_lead_a")
    response = client.post(
        url("pledge_sign", community.member_a.pk),
        {"commitments": [c.pk for c in Commitment.objects.all()], "signed_on": "2021-10-20"},
    )
    assert response.status_code == 302
    assert PledgeSignature.objects.filter(volunteer=community.member_a).count() == 8
    response = client.get(url("volunteer_detail", community.member_a.pk))
    body = response.content.decode()
    assert body.count('data-signed="1"') == 8
    assert "结古检查站" in body
    assert client.get(url("volunteer_detail", community.member_a.pk), {"tab": "history"}).status_code == 200


def test_signing_one_commitment_twice_through_the_page_is_refused(client, login, city, community):
    login("grid_lead_a")
    first = Commitment.objects.get(number=1)
    client.post(url("pledge_sign", community.member_a.pk), {"commitments": [first.pk], "signed_on": "2021-10-20"})
    response = client.post(
        url("pledge_sign", community.member_a.pk), {"commitments": [first.pk], "signed_on": "2021-10-21"}, follow=True
    )
    assert "Already signed" in response.content.decode()
    assert PledgeSignature.objects.get(volunteer=community.member_a).signed_on == datetime.date(2021, 10, 20)


def test_service_entries_are_recorded_from_the_member_page(client, login, city, community):
    login("grid_lead_a")
    response = client.post(
        url("service_entry_add", community.member_a.pk),
        {"day": timezone.localdate().isoformat(), "hours": "3", "description": "送菜上门"},
    )
    assert response.status_code == 302
    assert community.member_a.service_entries.get().hours == 3


# -- pledges page -------------------------------------------------------------------------------------------


def test_the_pledge_page_counts_signatures_and_exports_records(client, login, city, community):
    services.pledge_sign(
        actor=city["township"],
        volunteer=community.member_a,
        commitments=list(Commitment.objects.filter(number__lte=3)),
        signed_on=datetime.date(2021, 10, 20),
    )
    login("township")
    response = client.get(url("pledge_list"))
    counts = {c.number: n for c, n in response.context["counts"]}
    assert counts == {1: 1, 2: 1, 3: 1, 4: 0, 5: 0, 6: 0, 7: 0, 8: 0}
    assert response.context["page_obj"].paginator.count == 3
    exported = client.get(url("pledge_list"), {"export": "xlsx"})
    values = CalamineWorkbook.from_filelike(io.BytesIO(b"".join(exported.streaming_content))).get_sheet_by_index(0)
    rows = values.to_python()
    assert rows[0][:2] == ["Name", "Kind"] and len(rows) == 4 and rows[1][6] == "2021-10-20"


def test_commitments_are_edited_by_city_command_only(client, login, city):
    commitment = Commitment.objects.get(number=2)
    login("township")
    assert client.get(url("commitment_edit", commitment.pk)).status_code == 403
    login("city")
    response = client.post(
        url("commitment_edit", commitment.pk), {"title": "守纪律", "text": "严守纪律，令行禁止。", "active": "on"}
    )
    assert response.status_code == 302
    commitment.refresh_from_db()
    assert commitment.title == "守纪律"


# -- posts and rosters --------------------------------------------------------------------------------------


def test_a_post_is_created_through_the_form_past_midnight(client, login, city):
    login("township")
    response = client.post(
        url("post_create"),
        {
            "name": "夜间卡点",
            "kind": "checkpoint",
            "place": "G214",
            "area": city.community_a.code,
            "opens_at": "22:00",
            "closes_at": "06:00",
            "min_staff": "2",
            "active": "on",
        },
    )
    post = Post.objects.get(name="夜间卡点")
    assert response.status_code == 302 and response["Location"] == url("post_roster", post.pk)
    assert (post.opens_at, post.closes_at, post.min_staff, post.path) == (
        datetime.time(22),
        datetime.time(6),
        2,
        city.community_a.code,
    )


def test_the_roster_refuses_a_conflicting_shift_naming_it(client, login, city, community):
    gate, door = make_post(city, name="结古检查站"), make_post(city, name="广场入口")
    put_on(city, gate, community.member_a, at(0, 8), at(0, 14))
    login("township")
    response = client.post(
        url("post_roster", door.pk),
        {
            "volunteer": community.member_a.pk,
            "start": "2030-01-07T12:00",
            "end": "2030-01-07T18:00",
            "week": "2030-01-07",
        },
    )
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors["volunteer"])
    assert "结古检查站" in errors and "08:00–14:00" in errors
    assert not Shift.objects.filter(post=door).exists()


def test_the_new_shift_form_starts_at_the_posts_local_opening_hour_as_an_aware_time(client, login, city, community):
    post = make_post(city, opens=datetime.time(22), closes=datetime.time(6))
    login("township")
    response = client.get(url("post_roster", post.pk), {"week": MONDAY.isoformat()})
    form = response.context["form"]
    assert form.initial["start"] == at(0, 22) and form.initial["end"] == at(1, 6)
    html = response.content.decode()
    assert 'value="2030-01-07T22:00"' in html and 'value="2030-01-08T06:00"' in html


def test_the_roster_adds_a_shift_and_shows_the_weeks_gaps(client, login, city, community):
    post = make_post(city, min_staff=2)
    login("township")
    response = client.post(
        url("post_roster", post.pk),
        {
            "volunteer": community.member_a.pk,
            "start": "2030-01-08T08:00",
            "end": "2030-01-08T20:00",
            "week": "2030-01-07",
        },
    )
    assert response.status_code == 302 and response["Location"].endswith("?week=2030-01-07")
    response = client.get(url("post_roster", post.pk), {"week": "2030-01-09"})
    week = response.context["week"]
    assert week.monday == MONDAY
    tuesday = [g for g in week.gaps if g.start == at(1, 8)]
    assert tuesday and (tuesday[0].end, tuesday[0].staffed, tuesday[0].needed) == (at(1, 20), 1, 2)
    assert 'data-state="gap"' in response.content.decode()


def test_the_end_before_the_start_is_refused_on_the_roster(client, login, city, community):
    post = make_post(city)
    login("township")
    response = client.post(
        url("post_roster", post.pk),
        {"volunteer": community.member_a.pk, "start": "2030-01-08T12:00", "end": "2030-01-08T08:00"},
    )
    assert response.context["form"].errors["end"] == ["The shift must end after it starts."]


def test_the_roster_query_count_does_not_grow_with_shifts(
    client, login, city, community, django_assert_max_num_queries
):
    post = make_post(city)
    member_b = make_member_b(city)
    for day in range(7):
        put_on(city, post, community.member_a, at(day, 8), at(day, 14))
        put_on(city, post, member_b, at(day, 14), at(day, 20))
    login("township")
    with django_assert_max_num_queries(12):
        response = client.get(url("post_roster", post.pk), {"week": MONDAY.isoformat()})
    assert len(response.context["week"].shifts) == 14 and response.context["week"].gaps == []


def test_the_roster_exports_the_weeks_shifts(client, login, city, community):
    post = make_post(city)
    put_on(city, post, community.member_a, at(0, 8), at(0, 12))
    put_on(city, post, community.member_a, at(7, 8), at(7, 12))  # next week
    login("township")
    text = streamed(client.get(url("post_roster", post.pk), {"week": MONDAY.isoformat(), "export": "csv"}))
    assert text.count(city.person_a.name) == 1 and "2030-01-07 08:00" in text


def test_last_weeks_roster_is_copied_and_skipped_shifts_are_reported(client, login, city, community):
    post, other = make_post(city), make_post(city, name="隔离点")
    put_on(city, post, community.member_a, at(-7, 8), at(-7, 12))
    put_on(city, post, community.member_a, at(-6, 8), at(-6, 12))
    put_on(city, other, community.member_a, at(1, 9), at(1, 10))
    login("township")
    response = client.post(url("roster_copy", post.pk), {"week": MONDAY.isoformat()}, follow=True)
    body = response.content.decode()
    assert "1 shifts copied" in body and "Not copied" in body and "隔离点" in body
    assert Shift.objects.filter(post=post, start=at(0, 8)).exists()


def test_a_planned_shift_is_cancelled_from_the_roster(client, login, city, community):
    post = make_post(city)
    shift = put_on(city, post, community.member_a, at(0, 8), at(0, 12))
    login("grid_b")
    assert client.post(url("shift_cancel", shift.pk)).status_code == 403
    login("township")
    response = client.post(url("shift_cancel", shift.pk))
    assert response.status_code == 302
    shift.refresh_from_db()
    assert shift.status == ShiftStatus.CANCELLED


def test_another_townships_roster_is_404(client, login, city, community):
    post = make_post(city)
    login("other_township")
    assert client.get(url("post_roster", post.pk)).status_code == 404
    assert client.get(url("post_edit", post.pk)).status_code == 404


def test_the_post_list_filters_and_exports(client, login, city):
    make_post(city, name="结古检查站")
    make_post(city, name="乙社区门岗", kind="venue_door", area=city.community_b.code)
    login("township")
    response = client.get(url("post_list"), {"kind": "venue_door"})
    assert [p.name for p in response.context["page_obj"]] == ["乙社区门岗"]
    assert "结古检查站" in streamed(client.get(url("post_list"), {"export": "csv"}))


# -- on duty ------------------------------------------------------------------------------------------------


def test_the_member_checks_in_and_out_from_their_phone(client, login, city, community):
    post = make_post(city)
    now = timezone.now()
    shift = put_on(
        city, post, community.member_a, now + datetime.timedelta(minutes=10), now + datetime.timedelta(hours=4)
    )
    login("grid_a")
    page = client.get(url("my_duty")).content.decode()
    assert 'data-testid="check-in"' in page
    assert client.post(url("shift_check_in", shift.pk)).status_code == 302
    shift.refresh_from_db()
    assert shift.status == ShiftStatus.ON_DUTY
    assert 'data-testid="check-out"' in client.get(url("my_duty")).content.decode()
    client.post(url("shift_check_out", shift.pk))
    shift.refresh_from_db()
    assert shift.status == ShiftStatus.DONE
    assert shift.checked_in_at is not None and shift.checked_out_at is not None
    assert shift.checked_out_at >= shift.checked_in_at


def test_no_check_in_button_long_before_the_shift(client, login, city, community):
    now = timezone.now()
    shift = put_on(
        city, make_post(city), community.member_a, now + datetime.timedelta(hours=3), now + datetime.timedelta(hours=5)
    )
    login("grid_a")
    page = client.get(url("my_duty")).content.decode()
    assert f'data-shift="{shift.pk}"' in page and 'data-testid="check-in"' not in page
    response = client.post(url("shift_check_in", shift.pk), follow=True)
    assert "Check-in opens at" in response.content.decode()


def test_someone_elses_shift_cannot_be_checked_in(client, login, city, community):
    now = timezone.now()
    shift = put_on(city, make_post(city), community.member_a, now, now + datetime.timedelta(hours=2))
    login("grid_b")  # sees nothing of grid A
    assert client.post(url("shift_check_in", shift.pk)).status_code == 404
    login("township")  # sees it, but is not the member
    assert client.post(url("shift_check_in", shift.pk)).status_code == 403


def test_an_account_without_a_member_record_is_told_so(client, login, city):
    login("grid_b")
    response = client.get(url("my_duty"))
    assert response.status_code == 200 and response.context["volunteer"] is None


# -- service records ----------------------------------------------------------------------------------------


def test_service_records_list_hours_for_a_division_and_period_and_export(
    client, login, city, community, django_assert_max_num_queries
):
    post = make_post(city)
    member_b = make_member_b(city)
    for day in range(3):
        put_on(city, post, community.member_a, at(day, 8), at(day, 12))
        put_on(city, post, member_b, at(day, 12), at(day, 14))
    Shift.objects.update(status=ShiftStatus.DONE)
    login("township")
    period = {"date_from": "2030-01-07", "date_to": "2030-01-13"}
    with django_assert_max_num_queries(14):
        response = client.get(url("service_list"), period)
    hours = {r.volunteer.pk: r.duty_hours for r in response.context["page_obj"]}
    assert hours == {community.member_a.pk: 12.0, member_b.pk: 6.0}
    response = client.get(url("service_list"), {**period, "area": city.grid_b.code})
    assert [r.volunteer.pk for r in response.context["page_obj"]] == [member_b.pk]
    text = streamed(client.get(url("service_list"), {**period, "export": "csv"}))
    assert "Hours on duty" in text and "12.0" in text and "6.0" in text
    outside = client.get(url("service_list"), {"date_from": "2030-02-01", "date_to": "2030-02-28"})
    assert all(r.duty_hours == 0 for r in outside.context["page_obj"])


def test_the_forms_open_for_organisers(client, login, city, community):
    post = make_post(city)
    login("city")
    for page in (
        url("volunteer_create"),
        url("volunteer_edit", community.member_a.pk),
        url("post_create"),
        url("post_edit", post.pk),
        url("commitment_edit", Commitment.objects.get(number=1).pk),
        url("service_list"),
        url("my_duty"),
    ):
        response = client.get(page)
        assert response.status_code == 200, page
        assert b"<form" in response.content
