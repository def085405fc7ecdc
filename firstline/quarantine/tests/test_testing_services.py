"""Samplings and results: who records what, the tube rules, a result's consequences (positive → suspected case and
an urgent CDC task in one transaction; invalid → a repeat), corrections, overdue samplings, the day's lists."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from conftest import make_person, valid_id
from firstline.core.models import AuditEvent
from firstline.dispatch.models import Task, TaskPriority
from firstline.quarantine.measures import schedule_samplings
from firstline.quarantine.models import Placement, PlacementStatus, Sampling, SamplingStatus
from firstline.quarantine.testing import selectors, services
from firstline.quarantine.tests.factories import at, days, earlier_today, measure, today
from firstline.tracing.models import Case, Classification, FoundBy

pytestmark = pytest.mark.django_db

_serial = iter(range(100, 999))


def neighbour(city: Any, household: Any = None, name: str = "卓玛") -> Any:
    household = household or city.household_a
    return make_person(household=household, name=name, id_number=valid_id(f"63270119880101{next(_serial):03d}"))


def place(
    person: Any,
    *,
    room: Any = None,
    grid: Any = None,
    start: datetime.date | None = None,
    test_days: tuple[int, ...] = (1, 3, 5, 7),
    responsible: Any = None,
) -> Placement:
    """A placement made directly (the sites helper's service is tested elsewhere) and its samplings scheduled:
    at a site when ``room`` is given, else at home under ``grid`` (the person's own by default)."""
    start = start or today()
    m = measure(
        person,
        measure_type="centralised_quarantine" if room is not None else "home_quarantine",
        start=start,
        duration=7,
        test_days=test_days,
    )
    placement = Placement.objects.create(
        person=person,
        measure=m,
        kind="centralised" if room is not None else "home",
        facility=room.facility if room is not None else None,
        room=room,
        grid=None if room is not None else (grid or person.household.grid),
        responsible=responsible,
        path=person.path,
        site_path=room.facility.path if room is not None else "",
        start_at=at(start, 9),
        due_date=m.end,
    )
    schedule_samplings(placement)
    return placement


def first(placement: Placement) -> Sampling:
    return Sampling.objects.filter(placement=placement).order_by("due_date").first()  # type: ignore[return-value]


def taken(city: Any, sampling: Sampling, actor: str, tube: str = "") -> Sampling:
    return services.sampling_record(
        actor=city[actor], sampling=sampling, sampled_at=timezone.now() - datetime.timedelta(minutes=5), tube_code=tube
    )


# -- recording samplings --------------------------------------------------------------------------------------------


def test_site_staff_record_their_sites_sampling_with_time_sampler_and_tube(city: Any, sites: Any) -> None:
    sampling = first(place(city.person_a, room=sites.rooms["101"]))
    moment = earlier_today(8, 30)
    recorded = services.sampling_record(
        actor=city["nurse"], sampling=sampling, sampled_at=moment, tube_code=" qa-0001 ", sampler_name="王护士"
    )
    assert (recorded.status, recorded.sampled_at, recorded.tube_code) == (SamplingStatus.SAMPLED, moment, "QA-0001")
    assert recorded.sampler == city["nurse"] and recorded.sampler_name == "王护士"
    event = AuditEvent.objects.filter(object_id=str(sampling.pk), note="sampling recorded").get()
    assert event.changes["status"] == ["scheduled", "sampled"] and event.actor_username == "nurse"


def test_a_sampling_time_in_the_future_is_refused(city: Any, sites: Any) -> None:
    sampling = first(place(city.person_a, room=sites.rooms["101"]))
    with pytest.raises(ValidationError) as error:
        services.sampling_record(
            actor=city["nurse"], sampling=sampling, sampled_at=timezone.now() + datetime.timedelta(hours=1)
        )
    assert "sampled_at" in error.value.message_dict


def test_a_reused_tube_is_refused_naming_the_sampling_that_has_it(city: Any, sites: Any) -> None:
    a = first(place(city.person_a, room=sites.rooms["101"]))
    b = first(place(neighbour(city), room=sites.rooms["102"]))
    taken(city, a, "nurse", tube="T-1")
    with pytest.raises(ValidationError) as error:
        taken(city, b, "nurse", tube="t-1")
    message = error.value.message_dict["tube_code"][0]
    assert f"{a.pk}" in message and city.person_a.name in message


def test_other_sites_staff_and_grid_workers_do_not_record_a_sites_sampling(city: Any, sites: Any) -> None:
    sampling = first(place(city.person_a, room=sites.rooms["101"]))
    for user in ("site_other", "grid_a"):
        with pytest.raises(PermissionDenied):
            taken(city, sampling, user)


def test_grid_workers_record_the_home_samplings_of_their_grid_only(city: Any) -> None:
    sampling = first(place(city.person_a))
    with pytest.raises(PermissionDenied):
        taken(city, sampling, "grid_b")
    assert taken(city, sampling, "grid_a").status == SamplingStatus.SAMPLED


def test_a_department_sampling_team_records_the_samplings_it_is_sent_to(city: Any) -> None:
    from firstline.accounts.services import membership_grant, user_create

    team_member = user_create(actor=None, username="sampler", password="x-long-password-1", display_name="s")
    membership_grant(actor=None, user=team_member, role="department_officer", department=city.police)
    city.users["sampler"] = team_member
    sampling = first(place(city.person_a))
    with pytest.raises(PermissionDenied):
        taken(city, sampling, "sampler")
    Sampling.objects.filter(pk=sampling.pk).update(team=city.police)
    sampling.refresh_from_db()
    assert taken(city, sampling, "sampler").sampler == team_member
    assert selectors.sampling_get_for_user(team_member, sampling.pk) == sampling


def test_an_unscheduled_sampling_is_added_where_the_person_is(city: Any, sites: Any) -> None:
    placement = place(city.person_a, room=sites.rooms["101"], start=days(-1), test_days=(1,))
    recorded = services.sampling_record(actor=city["nurse"], person=city.person_a, sampled_at=earlier_today())
    assert recorded.due_date is None and recorded.placement == placement and recorded.facility == sites.main
    assert recorded.status == SamplingStatus.SAMPLED and recorded.measure is None


def test_recording_for_a_person_takes_their_scheduled_sampling_of_that_day(city: Any) -> None:
    placement = place(city.person_a, test_days=(1, 2))
    recorded = services.sampling_record(actor=city["grid_a"], person=city.person_a, sampled_at=earlier_today())
    assert recorded == first(placement) and Sampling.objects.count() == 2


def test_a_person_outside_the_jurisdiction_gets_no_sampling(city: Any) -> None:
    with pytest.raises(ValidationError) as error:
        services.sampling_record(actor=city["grid_a"], person=city.person_b, sampled_at=timezone.now())
    assert "person" in error.value.message_dict


def test_a_cancelled_sampling_cannot_be_recorded(city: Any) -> None:
    sampling = first(place(city.person_a))
    Sampling.objects.filter(pk=sampling.pk).update(status=SamplingStatus.CANCELLED)
    sampling.refresh_from_db()
    with pytest.raises(ValidationError):
        taken(city, sampling, "grid_a")


# -- results ------------------------------------------------------------------------------------------------------


def test_a_negative_result_is_stored_with_lab_time_and_source(city: Any, sites: Any) -> None:
    sampling = taken(city, first(place(city.person_a, room=sites.rooms["101"])), "nurse")
    stored = services.result_enter(actor=city["site"], sampling=sampling, result="negative", lab="州疾控")
    assert (stored.result, stored.lab, stored.result_source) == ("negative", "州疾控", "manual")
    assert stored.result_at is not None and stored.case is None
    assert not Case.objects.exists() and not Task.objects.filter(kind="case_alert").exists()


def test_a_result_needs_the_sampling_taken_first(city: Any, sites: Any) -> None:
    sampling = first(place(city.person_a, room=sites.rooms["101"]))
    with pytest.raises(ValidationError) as error:
        services.result_enter(actor=city["site"], sampling=sampling, result="negative")
    assert "sampling" in error.value.message_dict


def test_an_unknown_result_value_and_a_result_before_the_sampling_are_refused(city: Any, sites: Any) -> None:
    sampling = taken(city, first(place(city.person_a, room=sites.rooms["101"])), "nurse")
    assert sampling.sampled_at is not None
    with pytest.raises(ValidationError) as error:
        services.result_enter(
            actor=city["site"],
            sampling=sampling,
            result="maybe",
            result_at=sampling.sampled_at - datetime.timedelta(hours=1),
        )
    assert set(error.value.message_dict) == {"result", "result_at"}


def test_grid_workers_enter_no_results_and_other_sites_none_of_this_one(city: Any, sites: Any) -> None:
    sampling = taken(city, first(place(city.person_a, room=sites.rooms["101"])), "nurse")
    for user in ("grid_a", "site_other"):
        with pytest.raises(PermissionDenied):
            services.result_enter(actor=city[user], sampling=sampling, result="negative")


def test_a_positive_makes_a_suspected_case_and_an_urgent_cdc_task(city: Any, sites: Any) -> None:
    placement = place(city.person_a, room=sites.rooms["101"])
    sampling = taken(city, first(placement), "nurse")
    # The site's staff hold no tracing rights: entering the result is what reports the case.
    stored = services.result_enter(actor=city["site"], sampling=sampling, result="positive", lab="州疾控")
    case = Case.objects.get(person=city.person_a)
    assert stored.case == case
    assert case.classification == Classification.SUSPECTED and case.found_by == FoundBy.QUARANTINE
    assert case.sampling_date == timezone.localtime(sampling.sampled_at).date()  # type: ignore[arg-type]
    cdc_tasks = Task.objects.filter(object_id=str(case.pk), assignee_user=city["cdc"], priority=TaskPriority.URGENT)
    assert cdc_tasks.count() == 1


def test_a_positive_outside_a_placement_is_found_by_routine_testing(city: Any) -> None:
    sampling = services.sampling_record(
        actor=city["cdc"], person=city.person_b, sampled_at=timezone.now() - datetime.timedelta(hours=2)
    )
    services.result_enter(actor=city["cdc"], sampling=sampling, result="positive", lab="州疾控")
    assert Case.objects.get(person=city.person_b).found_by == FoundBy.ROUTINE_TESTING


def test_a_positive_of_a_person_with_an_open_case_links_it_and_alerts_the_cdc_once(city: Any, sites: Any) -> None:
    from firstline.tracing.services import case_create

    case = case_create(
        actor=city["cdc"],
        values={"classification": "suspected", "report_date": days(-1), "sampling_date": days(-1)},
        person=city.person_a.pk,
    ).case
    first_sampling = taken(city, first(place(city.person_a, room=sites.rooms["101"], test_days=(1, 2))), "nurse")
    services.result_enter(actor=city["site"], sampling=first_sampling, result="positive")
    assert Case.objects.filter(person=city.person_a).count() == 1
    first_sampling.refresh_from_db()
    assert first_sampling.case == case
    urgent = Task.objects.filter(object_id=str(case.pk), assignee_user=city["cdc"], priority=TaskPriority.URGENT)
    assert urgent.count() == 1
    second = Sampling.objects.create(
        person=city.person_a,
        path=city.person_a.path,
        status=SamplingStatus.SAMPLED,
        sampled_at=timezone.now() - datetime.timedelta(minutes=3),
    )
    services.result_enter(actor=city["cdc"], sampling=second, result="positive")
    assert urgent.count() == 1  # still open: no second task


def test_a_failure_after_the_positive_rolls_back_the_case_and_the_result(
    city: Any, sites: Any, monkeypatch: Any
) -> None:
    sampling = taken(city, first(place(city.person_a, room=sites.rooms["101"])), "nurse")

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("task store down")

    monkeypatch.setattr(services, "alert_cdc", broken)
    with pytest.raises(RuntimeError):
        services.result_enter(actor=city["site"], sampling=sampling, result="positive")
    sampling.refresh_from_db()
    assert sampling.result == "" and sampling.case is None
    assert not Case.objects.exists() and not Task.objects.filter(kind="case_alert").exists()


def test_an_invalid_result_schedules_a_repeat_for_the_next_day(city: Any, sites: Any) -> None:
    placement = place(city.person_a, room=sites.rooms["101"], test_days=(1, 5))
    sampling = taken(city, first(placement), "nurse")
    services.result_enter(actor=city["site"], sampling=sampling, result="invalid", today=today())
    repeat = Sampling.objects.get(person=city.person_a, due_date=days(1))
    assert repeat.status == SamplingStatus.SCHEDULED and repeat.placement == placement
    assert repeat.facility == sites.main and repeat.measure is None
    services.result_enter(actor=city["site"], sampling=sampling, result="negative")
    services.result_enter(actor=city["site"], sampling=sampling, result="invalid", today=today())
    assert Sampling.objects.filter(person=city.person_a, due_date=days(1)).count() == 1


def test_entering_the_same_result_again_changes_nothing_and_a_correction_is_audited(city: Any, sites: Any) -> None:
    sampling = taken(city, first(place(city.person_a, room=sites.rooms["101"])), "nurse")
    stored = services.result_enter(actor=city["site"], sampling=sampling, result="negative", lab="A")
    version = stored.version
    again = services.result_enter(actor=city["site"], sampling=stored, result="negative", lab="A")
    assert again.version == version
    corrected = services.result_enter(actor=city["site"], sampling=again, result="negative", lab="B")
    assert corrected.lab == "B" and corrected.version == version + 1
    assert AuditEvent.objects.filter(object_id=str(sampling.pk), note="result").count() == 2


def test_positive_changed_to_negative_keeps_the_case(city: Any, sites: Any) -> None:
    sampling = taken(city, first(place(city.person_a, room=sites.rooms["101"])), "nurse")
    services.result_enter(actor=city["site"], sampling=sampling, result="positive")
    corrected = services.result_enter(actor=city["site"], sampling=sampling, result="negative")
    assert corrected.result == "negative" and corrected.case is not None
    assert Case.objects.get(person=city.person_a).classification == Classification.SUSPECTED


# -- a lab system's result ------------------------------------------------------------------------------------------


def test_a_pushed_result_lands_on_the_scheduled_sampling_of_that_day(city: Any, sites: Any) -> None:
    placement = place(city.person_a, room=sites.rooms["101"], start=days(-1), test_days=(1, 2))
    sampled = at(days(-1), 9)
    stored = services.result_push(
        actor=city["cdc"],
        id_number=city.person_a.id_number.lower(),
        sampled_at=sampled,
        result="negative",
        lab="州疾控",
        tube_code="L-9",
    )
    assert stored == Sampling.objects.get(placement=placement, due_date=days(-1))
    assert (stored.status, stored.sampled_at, stored.tube_code, stored.result_source) == (
        "sampled",
        sampled,
        "L-9",
        "api",
    )
    again = services.result_push(
        actor=city["cdc"], id_number=city.person_a.id_number, sampled_at=sampled, result="negative", lab="州疾控"
    )
    assert again.pk == stored.pk and again.version == stored.version


def test_a_pushed_result_for_an_unknown_person_or_someone_elses_tube_is_refused(city: Any, sites: Any) -> None:
    sampling = taken(city, first(place(city.person_a, room=sites.rooms["101"])), "nurse", tube="T-7")
    with pytest.raises(ValidationError) as error:
        services.result_push(
            actor=city["cdc"],
            id_number=valid_id("63270119990101555"),
            sampled_at=timezone.now(),
            result="negative",
            lab="x",
        )
    assert "id_number" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.result_push(
            actor=city["cdc"],
            id_number=city.person_b.id_number,
            sampled_at=sampling.sampled_at,  # type: ignore[arg-type]
            tube_code="T-7",
            result="negative",
            lab="x",
        )
    assert "tube_code" in error.value.message_dict


# -- overdue --------------------------------------------------------------------------------------------------------


def test_overdue_samplings_become_missed_with_one_task_per_placement_and_no_second_run(city: Any, sites: Any) -> None:
    home = place(city.person_a, start=days(-4), test_days=(1, 3, 5), responsible=city["grid_a"])
    site = place(neighbour(city), room=sites.rooms["101"], start=days(-4), test_days=(1, 3))
    flagged = services.flag_overdue(today=today())
    assert flagged == 4
    assert set(Sampling.objects.filter(status=SamplingStatus.MISSED).values_list("due_date", flat=True)) == {
        days(-4),
        days(-2),
    }
    home_task = Task.objects.get(kind=services.MISSED_TASK, object_id=str(home.pk))
    assert home_task.assignee_grid == city.grid_a and home_task.assignee_user == city["grid_a"]
    site_task = Task.objects.get(kind=services.MISSED_TASK, object_id=str(site.pk))
    assert site_task.assignee_user == city["site"]  # the site's manager
    assert services.flag_overdue(today=today()) == 0
    assert Task.objects.filter(kind=services.MISSED_TASK).count() == 2
    # A day later the next one is missed too: the placement's open task covers it.
    assert services.flag_overdue(today=days(2)) == 1
    assert Task.objects.filter(kind=services.MISSED_TASK).count() == 2


def test_a_site_without_a_manager_sends_the_missed_sampling_to_the_division_officer(city: Any, sites: Any) -> None:
    placement = place(city.person_c, room=sites.other_room, start=days(-2), test_days=(1,))
    sites.other.staff.update(site_role="nurse")
    services.flag_overdue(today=today())
    task = Task.objects.get(kind=services.MISSED_TASK, object_id=str(placement.pk))
    assert task.assignee_user == city["other_township"]


def test_a_missed_sampling_can_still_be_taken(city: Any) -> None:
    sampling = first(place(city.person_a, start=days(-2), test_days=(1,)))
    services.flag_overdue(today=today())
    sampling.refresh_from_db()
    assert taken(city, sampling, "grid_a").status == SamplingStatus.SAMPLED


# -- the day's lists ------------------------------------------------------------------------------------------------


def test_samplings_due_lists_the_days_tests_and_the_ones_still_not_taken(city: Any, sites: Any) -> None:
    home = place(city.person_a, start=days(-2), test_days=(1, 3))
    site = place(neighbour(city), room=sites.rooms["101"], test_days=(1,))
    released = place(neighbour(city, name="才让"), start=days(-2), test_days=(1,))
    Placement.objects.filter(pk=released.pk).update(status=PlacementStatus.RELEASED)
    due = selectors.samplings_due(city["township"], day=today())
    assert {(s.placement_id, s.due_date) for s in due} == {
        (home.pk, days(-2)),
        (home.pk, today()),
        (site.pk, today()),
    }
    assert {s.placement_id for s in selectors.samplings_due(city["township"], day=today(), grid=city.grid_a)} == {
        home.pk
    }
    assert {s.placement_id for s in selectors.samplings_due(city["township"], day=today(), facility=sites.main)} == {
        site.pk
    }
    assert not selectors.samplings_due(city["grid_b"], day=today()).exists()
    assert [s.placement_id for s in selectors.samplings_due(city["site"], day=today())] == [site.pk]
