"""Daily health checks: slots, one row per slot, temperature bounds with unit hints, alerts and their one task."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from firstline.core.models import AuditEvent
from firstline.dispatch.models import Task
from firstline.quarantine.models import HealthCheck, PlacementStatus
from firstline.quarantine.monitoring import services, slots
from firstline.quarantine.monitoring.services import ALERT_TASK_KIND, health_check_record, parse_temperature
from firstline.quarantine.tests.factories import at, days
from firstline.quarantine.tests.monitoring_support import (  # noqa: F401 - fixtures
    _english,
    _monitoring_registered,
    _monitoring_settings,
    home,
    site,
)

# -- slots --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hour", "minute", "slot"),
    [(0, 30, 0), (7, 59, 0), (8, 0, 0), (14, 59, 0), (15, 0, 1), (23, 59, 1)],
)
def test_a_check_belongs_to_the_latest_slot_that_has_begun(settings, hour, minute, slot):
    settings.HEALTH_CHECK_TIMES = ["08:00", "15:00"]
    day = datetime.date(2022, 3, 1)
    found = slots.slot_of(at(day, hour, minute))
    assert (found.day, found.index) == (day, slot)


def test_a_slot_lasts_until_the_next_one_and_the_last_until_tomorrows_first(settings):
    settings.HEALTH_CHECK_TIMES = ["08:00", "15:00"]
    day = datetime.date(2022, 3, 1)
    assert slots.slot(day, 0).end == at(day, 15)
    assert slots.slot(day, 1).end == at(day + datetime.timedelta(days=1), 8)


def test_passed_slots_are_those_whose_next_slot_began_most_recent_first(settings):
    settings.HEALTH_CHECK_TIMES = ["08:00", "15:00"]
    day = datetime.date(2022, 3, 2)
    before = day - datetime.timedelta(days=1)
    found = [(s.day, s.index) for s in slots.passed(at(day, 9), 3)]
    # 09:00: today's 08:00 slot is running; yesterday's 15:00 slot ended at 08:00.
    assert found == [(before, 1), (before, 0), (before - datetime.timedelta(days=1), 1)]


def test_three_slots_a_day_from_the_setting(settings):
    settings.HEALTH_CHECK_TIMES = ["07:00", "12:00", "19:00"]
    day = datetime.date(2022, 3, 1)
    assert slots.slot_of(at(day, 12, 30)).index == 1
    assert slots.slot_of(at(day, 20)).index == 2


# -- temperature --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "hint"),
    [("3.73", "37.3 °C?"), ("373", "37.3 °C?"), ("99.5", "°F"), ("0.373", "37.3 °C?")],
)
def test_a_temperature_outside_the_range_is_refused_with_a_hint_about_units(raw, hint):
    with pytest.raises(ValidationError) as caught:
        parse_temperature(raw)
    message = " ".join(caught.value.message_dict["temperature"])
    assert "34" in message and "43" in message
    assert hint in message


def test_a_reading_marked_fahrenheit_is_converted_in_the_message():
    with pytest.raises(ValidationError) as caught:
        parse_temperature("99.5 °F")
    assert "37.5 °C" in " ".join(caught.value.message_dict["temperature"])


def test_a_value_with_no_plausible_reading_gets_the_range_only():
    with pytest.raises(ValidationError) as caught:
        parse_temperature("55")
    message = " ".join(caught.value.message_dict["temperature"])
    assert "43" in message and "mean" not in message and "°F" not in message


@pytest.mark.parametrize(
    ("raw", "value"), [("36.6", "36.6"), ("37,3", "37.3"), ("３７.３℃", "37.3"), ("36.65", "36.7")]
)
def test_plausible_temperatures_are_read_to_one_decimal(raw, value):
    assert parse_temperature(raw) == Decimal(value)


def test_text_that_is_no_number_is_refused():
    with pytest.raises(ValidationError) as caught:
        parse_temperature("hot")
    assert "temperature" in caught.value.message_dict


def test_the_bounds_come_from_the_settings(settings):
    settings.TEMPERATURE_MIN_C = Decimal("35")
    with pytest.raises(ValidationError):
        parse_temperature("34.5")


# -- recording ----------------------------------------------------------------------------------------------------


def test_a_second_entry_for_the_same_slot_updates_the_row_audited(city):
    placement = home(city.person_a)
    day = days(-1)
    first = health_check_record(
        actor=city["grid_a"], placement=placement, at=at(day, 8, 30), temperature="36.5", symptoms=[]
    )
    second = health_check_record(
        actor=city["grid_a"], placement=placement, at=at(day, 10, 0), temperature="36.8", symptoms=[]
    )
    assert first.pk == second.pk
    assert HealthCheck.objects.filter(placement=placement).count() == 1
    second.refresh_from_db()
    assert (second.day, second.slot, second.temperature) == (day, 0, Decimal("36.8"))
    events = AuditEvent.objects.filter(object_id=str(first.pk), content_type__model="healthcheck")
    assert sorted(events.values_list("action", flat=True)) == ["create", "update"]
    update = events.get(action="update")
    assert update.changes["temperature"] == ["36.5", "36.8"]


def test_checks_in_different_slots_are_different_rows(city):
    placement = home(city.person_a)
    day = days(-1)
    for hour in (9, 16):
        health_check_record(
            actor=city["grid_a"], placement=placement, at=at(day, hour), temperature="36.5", symptoms=[]
        )
    assert sorted(HealthCheck.objects.filter(placement=placement).values_list("slot", flat=True)) == [0, 1]


def test_a_check_in_the_future_or_before_the_placement_is_refused(city):
    placement = home(city.person_a, start=days(-2), hour=12)
    with pytest.raises(ValidationError) as caught:
        health_check_record(
            actor=city["grid_a"],
            placement=placement,
            at=timezone.now() + datetime.timedelta(hours=1),
            temperature="36.5",
            symptoms=[],
        )
    assert "at" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        health_check_record(
            actor=city["grid_a"], placement=placement, at=at(days(-2), 11), temperature="36.5", symptoms=[]
        )
    assert "at" in caught.value.message_dict


def test_bad_fields_are_reported_together_and_nothing_is_written(city):
    placement = home(city.person_a)
    with pytest.raises(ValidationError) as caught:
        health_check_record(
            actor=city["grid_a"], placement=placement, at=at(days(-1), 9), temperature="373", symptoms=["headache"]
        )
    assert set(caught.value.message_dict) == {"temperature", "symptoms"}
    assert not HealthCheck.objects.exists()


def test_a_released_placement_takes_no_more_checks(city):
    placement = home(city.person_a)
    placement.status = PlacementStatus.RELEASED
    placement.save()
    with pytest.raises(ValidationError) as caught:
        health_check_record(
            actor=city["grid_a"], placement=placement, at=at(days(-1), 9), temperature="36.5", symptoms=[]
        )
    assert "placement" in caught.value.message_dict


def test_recording_needs_the_permission_and_the_placement_in_scope(city, sites):
    placement = home(city.person_a)
    with pytest.raises(PermissionDenied):
        health_check_record(
            actor=city["police"], placement=placement, at=at(days(-1), 9), temperature="36.5", symptoms=[]
        )
    with pytest.raises(PermissionDenied):
        health_check_record(
            actor=city["grid_b"], placement=placement, at=at(days(-1), 9), temperature="36.5", symptoms=[]
        )
    # A grid worker's resident placed at a site is checked by the site, not by the grid.
    at_site = site(city.person_b, sites.rooms["101"])
    with pytest.raises(PermissionDenied):
        health_check_record(
            actor=city["grid_b"], placement=at_site, at=at(days(-1), 9), temperature="36.5", symptoms=[]
        )
    health_check_record(actor=city["nurse"], placement=at_site, at=at(days(-1), 9), temperature="36.5", symptoms=[])


# -- alerts -------------------------------------------------------------------------------------------------------


def test_fever_raises_an_alert_and_one_urgent_task_per_day_for_the_site_manager(city, sites):
    placement = site(city.person_a, sites.rooms["101"])
    now = timezone.localtime()
    first = health_check_record(
        actor=city["nurse"],
        placement=placement,
        at=now - datetime.timedelta(minutes=1),
        temperature="38.2",
        symptoms=[],
    )
    assert first.alert
    # Another alert the same day (a correction, or another slot) does not open a second task.
    health_check_record(actor=city["nurse"], placement=placement, at=now, temperature="38.5", symptoms=["cough"])
    tasks = Task.objects.filter(kind=ALERT_TASK_KIND, object_id=str(placement.pk))
    assert tasks.count() == 1
    task = tasks.get()
    assert task.assignee_user == city["site"]
    assert task.priority == 4


def test_a_symptom_alone_is_an_alert_and_the_home_task_goes_to_the_grid_and_its_worker(city):
    placement = home(city.person_a, responsible=city["grid_a"])
    check = health_check_record(
        actor=city["grid_a"], placement=placement, at=at(days(-1), 9), temperature="36.6", symptoms=["sore_throat"]
    )
    assert check.alert
    task = Task.objects.get(kind=ALERT_TASK_KIND, object_id=str(placement.pk))
    assert task.assignee_grid == city.grid_a
    assert task.assignee_user == city["grid_a"]
    assert task.path == placement.path


def test_a_normal_check_is_no_alert_and_opens_no_task(city, settings):
    placement = home(city.person_a)
    check = health_check_record(
        actor=city["grid_a"], placement=placement, at=at(days(-1), 9), temperature="37.2", symptoms=[]
    )
    assert not check.alert
    assert not Task.objects.filter(kind=ALERT_TASK_KIND).exists()
    settings.FEVER_THRESHOLD_C = Decimal("37.0")
    again = health_check_record(
        actor=city["grid_a"], placement=placement, at=at(days(-1), 9, 5), temperature="37.2", symptoms=[]
    )
    assert again.alert


def test_a_closed_alert_task_lets_a_new_alert_open_another(city):
    placement = home(city.person_a)
    now = timezone.now()
    health_check_record(actor=city["grid_a"], placement=placement, at=now, temperature="38.0", symptoms=[])
    Task.objects.filter(kind=ALERT_TASK_KIND).update(status="done")
    health_check_record(actor=city["grid_a"], placement=placement, at=now, temperature="38.4", symptoms=[])
    assert Task.objects.filter(kind=ALERT_TASK_KIND, status="open").count() == 1


def test_slot_moment_uses_now_in_the_running_slot_and_the_slot_start_for_a_late_entry(city):
    placement = home(city.person_a, start=days(-3), hour=12)
    now = timezone.now()
    running = slots.slot_of(now)
    assert services.slot_moment(placement, running, now=now) == now
    yesterday_morning = slots.slot(days(-1), 0)
    assert services.slot_moment(placement, yesterday_morning, now=now) == yesterday_morning.start
    first_day = slots.slot(days(-3), 0)
    assert services.slot_moment(placement, first_day, now=now) == placement.start_at
    with pytest.raises(ValidationError):
        services.slot_moment(placement, slots.slot(days(1), 0), now=now)
