"""Shifts: conflicts refused (naming the other shift), spans checked, check-in/out, missed shifts, copying a week."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from firstline.community.models import Shift, ShiftStatus
from firstline.community.roster import services
from firstline.community.tests.roster_support import MONDAY, at, make_member_b, make_post, put_on
from firstline.core.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"
    settings.SHIFT_CHECKIN_EARLY_MINUTES = 30


# -- conflicts ----------------------------------------------------------------------------------------------


def test_an_overlapping_shift_anywhere_is_refused_naming_the_other_shift(city, community):
    gate = make_post(city, name="结古检查站")
    door = make_post(city, name="格萨尔广场入口", kind="venue_door")
    put_on(city, gate, community.member_a, at(0, 8), at(0, 14))
    with pytest.raises(ValidationError) as refused:
        put_on(city, door, community.member_a, at(0, 12), at(0, 18))
    message = refused.value.message_dict["volunteer"][0]
    assert "结古检查站" in message and "2030-01-07 08:00–14:00" in message
    assert Shift.objects.filter(post=door).count() == 0


def test_a_shift_inside_another_is_refused_too(city, community):
    post = make_post(city)
    put_on(city, post, community.member_a, at(0, 8), at(0, 20))
    with pytest.raises(ValidationError, match="already on shift"):
        put_on(city, post, community.member_a, at(0, 10), at(0, 11))


def test_touching_shifts_are_allowed(city, community):
    post = make_post(city)
    put_on(city, post, community.member_a, at(0, 8), at(0, 14))
    put_on(city, post, community.member_a, at(0, 14), at(0, 20))
    assert Shift.objects.filter(volunteer=community.member_a).count() == 2


def test_a_cancelled_shift_does_not_block_the_time(city, community):
    post = make_post(city)
    first = put_on(city, post, community.member_a, at(0, 8), at(0, 14))
    services.shift_cancel(actor=city["township"], shift=first, reason="生病")
    second = put_on(city, post, community.member_a, at(0, 9), at(0, 13))
    assert second.status == ShiftStatus.PLANNED
    first.refresh_from_db()
    assert first.status == ShiftStatus.CANCELLED and "生病" in first.note


def test_two_people_may_share_the_same_hours(city, community):
    post = make_post(city, min_staff=2)
    put_on(city, post, community.member_a, at(0, 8), at(0, 20))
    put_on(city, post, make_member_b(city), at(0, 8), at(0, 20))
    assert Shift.objects.filter(post=post).count() == 2


@pytest.mark.parametrize("end_hour", [8, 7])
def test_a_shift_must_end_after_it_starts(city, community, end_hour):
    post = make_post(city)
    with pytest.raises(ValidationError) as refused:
        put_on(city, post, community.member_a, at(0, 8), at(0, end_hour))
    assert refused.value.message_dict == {"end": ["The shift must end after it starts."]}


def test_a_night_shift_past_midnight_is_fine(city, community):
    post = make_post(city, opens=datetime.time(20), closes=datetime.time(8))
    shift = put_on(city, post, community.member_a, at(0, 20), at(1, 8))
    assert shift.end - shift.start == datetime.timedelta(hours=12)


def test_organisers_put_only_members_they_see_on_posts_they_run(city, community):
    post_a = make_post(city, actor="grid_lead_a", area=city.grid_a.code)
    member_b = make_member_b(city)
    with pytest.raises(ValidationError, match="outside your jurisdiction"):
        put_on(city, post_a, member_b, at(0, 8), at(0, 12), actor="grid_lead_a")
    with pytest.raises(PermissionDenied):
        put_on(city, post_a, community.member_a, at(0, 8), at(0, 12), actor="grid_a")  # no volunteer.manage
    township_post = make_post(city)
    with pytest.raises(PermissionDenied):
        put_on(city, township_post, community.member_a, at(0, 8), at(0, 12), actor="grid_lead_a")


def test_the_shift_is_audited_and_carries_the_posts_path(city, community):
    post = make_post(city, area=city.grid_a.code, actor="grid_lead_a")
    shift = put_on(city, post, community.member_a, at(0, 8), at(0, 12), actor="grid_lead_a")
    assert shift.path == city.grid_a.code
    assert AuditEvent.objects.filter(object_id=str(shift.pk), action="create", actor=city["grid_lead_a"]).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_overlapping_shifts_for_one_member_leave_exactly_one(city, community):
    """Two organisers add overlapping shifts for the same member at once: the row lock lets one through."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    gate, door = make_post(city, name="gate"), make_post(city, name="door")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def add(post):
        try:
            barrier.wait()
            put_on(city, post, community.member_a, at(0, 8), at(0, 12))
            outcomes.append("ok")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=add, args=(post,)) for post in (gate, door)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok", "refused"]
    assert Shift.objects.filter(volunteer=community.member_a).count() == 1


# -- on duty ------------------------------------------------------------------------------------------------


def test_check_in_opens_a_little_before_the_start_and_check_out_ends_the_shift(city, community):
    post = make_post(city)
    shift = put_on(city, post, community.member_a, at(0, 8), at(0, 12))
    grid_a = city["grid_a"]
    with pytest.raises(ValidationError, match="Check-in opens at 2030-01-07 07:30"):
        services.shift_check_in(actor=grid_a, shift=shift, now=at(0, 7, 29))
    shift = services.shift_check_in(actor=grid_a, shift=shift, now=at(0, 7, 40))
    assert shift.status == ShiftStatus.ON_DUTY and shift.checked_in_at == at(0, 7, 40)
    with pytest.raises(ValidationError):
        services.shift_check_in(actor=grid_a, shift=shift, now=at(0, 7, 45))
    shift = services.shift_check_out(actor=grid_a, shift=shift, now=at(0, 11, 10))
    assert shift.status == ShiftStatus.DONE and shift.checked_out_at == at(0, 11, 10)


def test_check_out_needs_a_check_in(city, community):
    shift = put_on(city, make_post(city), community.member_a, at(0, 8), at(0, 12))
    with pytest.raises(ValidationError, match="Check in first"):
        services.shift_check_out(actor=city["grid_a"], shift=shift, now=at(0, 9))


def test_no_check_in_after_the_shift_ended(city, community):
    shift = put_on(city, make_post(city), community.member_a, at(0, 8), at(0, 12))
    with pytest.raises(ValidationError, match="ended"):
        services.shift_check_in(actor=city["grid_a"], shift=shift, now=at(0, 12))


def test_only_the_member_checks_in_on_their_shift(city, community):
    shift = put_on(city, make_post(city), community.member_a, at(0, 8), at(0, 12))
    with pytest.raises(PermissionDenied):
        services.shift_check_in(actor=city["township"], shift=shift, now=at(0, 8))


def test_the_early_check_in_window_is_a_setting(city, community, settings):
    settings.SHIFT_CHECKIN_EARLY_MINUTES = 90
    shift = put_on(city, make_post(city), community.member_a, at(0, 8), at(0, 12))
    shift = services.shift_check_in(actor=city["grid_a"], shift=shift, now=at(0, 6, 45))
    assert shift.status == ShiftStatus.ON_DUTY


def test_past_planned_shifts_never_checked_in_become_missed(city, community):
    post = make_post(city)
    ended = put_on(city, post, community.member_a, at(0, 8), at(0, 12))
    running = put_on(city, post, community.member_a, at(0, 12), at(0, 16))
    done = put_on(city, post, make_member_b(city), at(0, 8), at(0, 12))
    services.shift_check_in(actor=city["grid_b"], shift=done, now=at(0, 8))
    assert services.mark_missed(now=at(0, 13)) == 1
    assert Shift.objects.get(pk=ended.pk).status == ShiftStatus.MISSED
    assert Shift.objects.get(pk=running.pk).status == ShiftStatus.PLANNED
    assert Shift.objects.get(pk=done.pk).status == ShiftStatus.ON_DUTY
    assert AuditEvent.objects.filter(object_id=str(ended.pk), note__contains="missed").exists()
    assert services.mark_missed(now=at(0, 13)) == 0


def test_the_beat_task_marks_missed_shifts(city, community):
    from firstline.community.roster.tasks import mark_missed_shifts

    put_on(city, make_post(city), community.member_a, at(-3000, 8), at(-3000, 12))  # long past
    assert mark_missed_shifts() == 1


# -- copying last week --------------------------------------------------------------------------------------


def test_copying_last_week_skips_conflicts_and_cancelled_shifts_and_reports_them(city, community):
    post, other = make_post(city), make_post(city, name="隔离点")
    member_b = make_member_b(city)
    put_on(city, post, community.member_a, at(-7, 8), at(-7, 14))
    put_on(city, post, member_b, at(-7, 14), at(-7, 20))
    cancelled = put_on(city, post, member_b, at(-6, 8), at(-6, 20))
    services.shift_cancel(actor=city["township"], shift=cancelled)
    put_on(city, other, member_b, at(0, 15), at(0, 18))  # member B is busy elsewhere this Monday
    report = services.roster_copy_week(actor=city["township"], post=post, week=MONDAY + datetime.timedelta(days=2))
    assert [(s.volunteer_id, s.start, s.end) for s in report.copied] == [(community.member_a.pk, at(0, 8), at(0, 14))]
    assert len(report.skipped) == 1
    skipped, reason = report.skipped[0]
    assert skipped.volunteer_id == member_b.pk and "隔离点" in reason
    again = services.roster_copy_week(actor=city["township"], post=post, week=MONDAY)
    assert again.copied == [] and len(again.skipped) == 2  # copying twice clashes with the copies


def test_copying_needs_the_post_in_scope(city, community):
    post = make_post(city)
    with pytest.raises(PermissionDenied):
        services.roster_copy_week(actor=city["other_township"], post=post, week=MONDAY)
