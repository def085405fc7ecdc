"""Today's fast list: whose rows, the JSON save endpoint (and its no-JS form post), print, export, query counts."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from firstline.quarantine.models import HealthCheck, Sampling
from firstline.quarantine.monitoring import followup, slots
from firstline.quarantine.monitoring.services import health_check_record
from firstline.quarantine.tests.factories import at, days
from firstline.quarantine.tests.monitoring_support import (  # noqa: F401 - fixtures
    _english,
    _monitoring_registered,
    _monitoring_settings,
    home,
    resident,
    site,
)


@pytest.fixture
def english(client):
    client.cookies["django_language"] = "en"
    return client


def _person_ids(rows):
    return {row.person.pk for row in rows}


# -- whose rows ---------------------------------------------------------------------------------------------------


def test_a_grid_worker_lists_the_home_placements_of_their_grid_only(city, sites):
    mine = home(city.person_a)
    home(city.person_b)  # grid B
    resident_at_site = site(resident(city, "a", 1), sites.rooms["101"])  # grid A's resident, at a site
    rows = followup.today_list(city["grid_a"])
    assert _person_ids(rows) == {mine.person_id}
    assert resident_at_site.person_id not in _person_ids(rows)


def test_site_staff_list_their_sites_people_by_floor_and_room(city, sites):
    upstairs = site(city.person_a, sites.rooms["201"])
    downstairs = site(city.person_b, sites.rooms["102"])
    site(city.person_c, sites.other_room)
    home(resident(city, "a", 1))
    rows = followup.today_list(city["site"])
    assert [row.placement and row.placement.pk for row in rows] == [downstairs.pk, upstairs.pk]
    floor_2 = sites.rooms["201"].floor
    assert [row.placement and row.placement.pk for row in followup.today_list(city["nurse"], floor=floor_2)] == [
        upstairs.pk
    ]
    assert _person_ids(followup.today_list(city["site_other"])) == {city.person_c.pk}


def test_a_row_has_todays_slots_the_test_due_and_release_due(city):
    placement = home(city.person_a, start=days(-3), duration=4, test_days=(1, 4))
    health_check_record(
        actor=city["grid_a"], placement=placement, at=at(days(0), 0, 1), temperature="38.1", symptoms=[]
    )
    [row] = followup.today_list(city["grid_a"])
    assert row.cells[0].state == followup.ALERT and row.alert
    # Day 1's test was never taken: still to do, overdue; day 4's is today.
    assert [s.due_date for s in row.samplings] == [days(-3), days(0)]
    assert row.sampling_overdue
    assert row.release_due
    assert placement.due_date == days(0)


def test_an_unplaced_resident_with_a_test_due_is_on_their_grids_list(city):
    Sampling.objects.create(person=city.person_b, path=city.person_b.path, due_date=days(0))
    rows = followup.today_list(city["grid_b"])
    [row] = rows
    assert row.placement is None and row.to_test and row.cells == []


def test_a_department_team_lists_the_samplings_assigned_to_it(city):
    placement = home(city.person_a, start=days(0), test_days=(1,))
    Sampling.objects.filter(placement=placement).update(team=city.police)
    rows = followup.today_list(city["police"])
    assert _person_ids(rows) == {city.person_a.pk}
    assert followup.today_list(city["grid_b"], department=None) == []


def test_a_past_day_shows_its_slots_as_missed_or_recorded(city):
    placement = home(city.person_a, start=days(-3))
    health_check_record(actor=city["grid_a"], placement=placement, at=at(days(-1), 9), temperature="36.5", symptoms=[])
    [row] = followup.today_list(city["grid_a"], day=days(-1))
    assert [cell.state for cell in row.cells] == [followup.DONE, followup.MISSED]


def test_todays_list_costs_the_same_queries_for_two_or_twelve_people(city, django_assert_max_num_queries):
    user = city["grid_a"]
    for n in range(2):
        home(resident(city, "a", n))
    user.forget_scope()
    with CaptureQueriesContext(connection) as few:
        assert len(followup.today_list(user)) == 2
    for n in range(2, 12):
        placement = home(resident(city, "a", n))
        health_check_record(actor=user, placement=placement, at=at(days(-1), 9), temperature="36.5", symptoms=[])
    user.forget_scope()
    with CaptureQueriesContext(connection) as many:
        assert len(followup.today_list(user)) == 12
    assert len(many.captured_queries) == len(few.captured_queries)
    user.forget_scope()
    # Scope, grid ids, placements, the day's checks, their tests due, the grid's unplaced residents' tests.
    with django_assert_max_num_queries(6):
        followup.today_list(user)


# -- the page -----------------------------------------------------------------------------------------------------


def test_the_page_lists_my_people_with_a_form_per_cell(city, login, english):
    placement = home(city.person_a)
    login("grid_a")
    page = english.get(reverse("quarantine:today"))
    assert page.status_code == 200
    content = page.content.decode()
    assert city.person_a.name in content
    assert f'name="placement" value="{placement.pk}"' in content
    assert content.count("data-check-form") == len(slots.day_slots(days(0))) - sum(
        1 for s in slots.day_slots(days(0)) if not s.has_begun(timezone.now())
    )


def test_the_page_query_count_does_not_grow_with_people(city, login, english, django_assert_max_num_queries):
    for n in range(8):
        home(resident(city, "a", n))
    login("grid_a")
    with django_assert_max_num_queries(16):
        assert english.get(reverse("quarantine:today")).status_code == 200


def test_another_grids_filter_is_404_and_a_role_without_a_list_is_403(city, login, english):
    login("grid_a")
    assert english.get(reverse("quarantine:today"), {"grid": city.grid_b.code}).status_code == 404
    login("outsider")
    assert english.get(reverse("quarantine:today")).status_code == 403


def test_an_officer_without_own_people_is_asked_to_choose(city, login, english):
    home(city.person_a)
    login("township")
    page = english.get(reverse("quarantine:today"))
    assert 'data-testid="choose-list"' in page.content.decode()
    page = english.get(reverse("quarantine:today"), {"grid": city.grid_a.code})
    assert city.person_a.name in page.content.decode()


def _post(client, placement, *, temperature, slot=None, day=None, symptoms=(), json=True, **extra):
    now = timezone.now()
    current = slots.slot_of(now)
    data = {
        "placement": placement.pk,
        "day": (day or current.day).isoformat(),
        "slot": current.index if slot is None else slot,
        "temperature": temperature,
        "symptoms": list(symptoms),
        **extra,
    }
    headers = {"HTTP_ACCEPT": "application/json"} if json else {}
    return client.post(reverse("quarantine:today_save"), data, **headers)


def test_a_cell_saves_as_json_then_updates_the_same_slot(city, login, english):
    placement = home(city.person_a)
    login("grid_a")
    first = _post(english, placement, temperature="36.7")
    assert first.status_code == 200
    body = first.json()
    assert body["ok"] and body["created"] and body["check"]["temperature"] == "36.7"
    second = _post(english, placement, temperature="37.5", symptoms=["cough"])
    body = second.json()
    assert body["ok"] and not body["created"] and body["check"]["alert"]
    assert HealthCheck.objects.filter(placement=placement).count() == 1


def test_a_bad_temperature_answers_400_with_the_hint(city, login, english):
    placement = home(city.person_a)
    login("grid_a")
    answer = _post(english, placement, temperature="373")
    assert answer.status_code == 400
    body = answer.json()
    assert not body["ok"] and "37.3" in " ".join(body["errors"]["temperature"])
    assert not HealthCheck.objects.exists()


def test_a_late_entry_for_a_passed_slot_lands_in_that_slot(city, login, english):
    placement = home(city.person_a, start=days(-3))
    login("grid_a")
    answer = _post(english, placement, temperature="36.4", day=days(-1), slot=0)
    assert answer.status_code == 200
    check = HealthCheck.objects.get(placement=placement)
    assert (check.day, check.slot, check.at) == (days(-1), 0, at(days(-1), 8))


def test_a_slot_still_to_come_is_refused(city, login, english):
    placement = home(city.person_a)
    login("grid_a")
    answer = _post(english, placement, temperature="36.4", day=days(1), slot=0)
    assert answer.status_code == 400
    assert "slot" in answer.json()["errors"]


def test_saving_another_grids_or_sites_person_is_404(city, sites, login, english):
    other_grid = home(city.person_b)
    at_site = site(resident(city, "a", 1), sites.rooms["101"])
    login("grid_a")
    assert _post(english, other_grid, temperature="36.5").status_code == 404
    assert _post(english, at_site, temperature="36.5").status_code == 404
    login("site_other")
    assert _post(english, at_site, temperature="36.5").status_code == 404
    login("site")
    assert _post(english, at_site, temperature="36.5").status_code == 200


def test_without_javascript_the_cell_posts_and_comes_back_to_the_list(city, login, english):
    placement = home(city.person_a)
    login("grid_a")
    back = reverse("quarantine:today") + "?day=" + timezone.localdate().isoformat()
    answer = _post(english, placement, temperature="36.5", json=False, next=back)
    assert answer.status_code == 302 and answer["Location"] == back
    assert HealthCheck.objects.filter(placement=placement).exists()
    error = _post(english, placement, temperature="99.5", json=False, next=back)
    assert error.status_code == 302
    page = english.get(back)
    assert "°F" in page.content.decode()


def test_the_print_version_and_the_export(city, login, english):
    home(city.person_a)
    login("grid_a")
    printed = english.get(reverse("quarantine:today_print"))
    assert printed.status_code == 200
    assert 'data-testid="today-print"' in printed.content.decode()
    assert city.person_a.name in printed.content.decode()
    export = english.get(reverse("quarantine:today"), {"export": "csv"})
    assert export.status_code == 200
    content = b"".join(export.streaming_content).decode("utf-8-sig")
    assert city.person_a.name in content and "Check 08:00" in content
    from firstline.core.models import AuditEvent

    assert AuditEvent.objects.filter(action="export", note__startswith="followup-").exists()


def test_the_day_filter_refuses_a_day_to_come(city, login, english):
    login("grid_a")
    page = english.get(reverse("quarantine:today"), {"day": (timezone.localdate() + datetime.timedelta(days=1))})
    assert page.status_code == 200
    assert "day still to come" in page.content.decode()
