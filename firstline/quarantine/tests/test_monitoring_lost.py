"""Lost to follow-up: missed slots in a row, the urgent task, escalation to the township, clearing, idempotence."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from firstline.dispatch.models import Task
from firstline.quarantine.models import Placement
from firstline.quarantine.monitoring.services import (
    LOST_ESCALATION_KIND,
    LOST_TASK_KIND,
    flag_missed,
    health_check_record,
)
from firstline.quarantine.tests.factories import at, days
from firstline.quarantine.tests.monitoring_support import (  # noqa: F401 - fixtures
    _english,
    _monitoring_registered,
    _monitoring_settings,
    home,
    resident,
    site,
)

# Placed on day D at 07:00 (five days ago); slots at 08:00 and 15:00; three missed slots in a row make one lost.
D = -5


def day(n: int):  # type: ignore[no-untyped-def]
    return days(D + n)


def test_two_missed_slots_are_not_yet_lost_and_the_day_before_the_placement_does_not_count(city):
    placement = home(city.person_a, start=day(0))
    # Day D+1 at 14:00: D 08:00 and D 15:00 passed unchecked; D-1 15:00 ended after the placement but was a day
    # before it began.
    assert flag_missed(now=at(day(1), 14)) == 0
    placement.refresh_from_db()
    assert placement.lost_since is None


def test_the_limit_of_missed_slots_makes_a_person_lost_with_an_urgent_task_for_the_grid(city):
    placement = home(city.person_a, start=day(0), responsible=city["grid_a"])
    assert flag_missed(now=at(day(1), 16)) == 1
    placement.refresh_from_db()
    assert placement.lost_since == at(day(1), 15)
    task = Task.objects.get(kind=LOST_TASK_KIND, object_id=str(placement.pk))
    assert (task.assignee_grid, task.assignee_user, task.priority) == (city.grid_a, city["grid_a"], 4)


def test_flagging_is_idempotent(city):
    placement = home(city.person_a, start=day(0))
    flag_missed(now=at(day(1), 16))
    version = Placement.objects.get(pk=placement.pk).version
    assert flag_missed(now=at(day(1), 16)) == 0
    assert flag_missed(now=at(day(1), 17)) == 0
    assert Task.objects.filter(kind=LOST_TASK_KIND).count() == 1
    assert Placement.objects.get(pk=placement.pk).version == version


def test_a_check_in_the_running_slot_keeps_a_person_followed(city):
    placement = home(city.person_a, start=day(0))
    health_check_record(
        actor=city["grid_a"], placement=placement, at=at(day(1), 15, 30), temperature="36.5", symptoms=[]
    )
    assert flag_missed(now=at(day(1), 16)) == 0


def test_a_site_placement_lost_goes_to_the_site_manager(city, sites):
    placement = site(city.person_a, sites.rooms["101"], start=day(0))
    flag_missed(now=at(day(1), 16))
    task = Task.objects.get(kind=LOST_TASK_KIND, object_id=str(placement.pk))
    assert task.assignee_user == city["site"]


def test_still_lost_after_another_limit_escalates_to_the_township_officer_once(city):
    placement = home(city.person_a, start=day(0))
    flag_missed(now=at(day(1), 16))
    # Five missed slots: not yet twice the limit.
    assert flag_missed(now=at(day(2), 16)) == 0
    # Six: D+2 15:00 ended at D+3 08:00.
    assert flag_missed(now=at(day(3), 9)) == 1
    escalated = Task.objects.get(kind=LOST_ESCALATION_KIND, object_id=str(placement.pk))
    assert escalated.assignee_user == city["township"]
    assert flag_missed(now=at(day(3), 16)) == 0


def test_a_long_silent_person_gets_both_levels_in_one_run(city):
    home(city.person_a, start=day(0))
    assert flag_missed(now=at(day(3), 9)) == 2
    assert set(Task.objects.values_list("kind", flat=True)) == {LOST_TASK_KIND, LOST_ESCALATION_KIND}


def test_a_new_check_clears_lost_and_closes_its_tasks_and_a_new_silence_flags_again(city):
    placement = home(city.person_a, start=day(0))
    flag_missed(now=at(day(3), 9))
    health_check_record(actor=city["grid_a"], placement=placement, at=at(day(3), 10), temperature="36.5", symptoms=[])
    placement.refresh_from_db()
    assert placement.lost_since is None
    assert set(Task.objects.filter(object_id=str(placement.pk)).values_list("status", flat=True)) == {"done"}
    assert flag_missed(now=at(day(3), 11)) == 0
    # Silent again from D+3 15:00: D+3 15:00, D+4 08:00, D+4 15:00 missed by D+5 08:00 (today).
    assert flag_missed(now=at(day(5), 8, 30)) == 1
    placement.refresh_from_db()
    assert placement.lost_since == at(day(5), 8)


def test_released_placements_are_not_watched(city):
    placement = home(city.person_a, start=day(0))
    Placement.objects.filter(pk=placement.pk).update(status="released")
    assert flag_missed(now=at(day(3), 9)) == 0


def test_flagging_costs_the_same_queries_for_two_or_six_people(city):
    for n in range(2):
        home(resident(city, "a", n), start=day(0))
    with CaptureQueriesContext(connection) as few:
        flag_missed(now=at(day(3), 9))
    Task.objects.all().delete()
    Placement.objects.update(lost_since=None)
    for n in range(2, 6):
        home(resident(city, "a", n), start=day(0))
    with CaptureQueriesContext(connection) as many:
        flag_missed(now=at(day(3), 9))
    assert Task.objects.filter(kind=LOST_TASK_KIND).count() == 6
    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_watch_task_runs_both_checks(city, monkeypatch):
    from firstline.quarantine import tasks
    from firstline.quarantine.testing import services as testing_services

    calls = []

    def flag_overdue(*, today):  # type: ignore[no-untyped-def]
        calls.append(today)
        return 0

    monkeypatch.setattr(testing_services, "flag_overdue", flag_overdue)
    home(city.person_a, start=day(0))
    result = tasks.watch.delay().get()
    assert result["lost_tasks"] == 2
    assert len(calls) == 1
