"""Placements follow the governing measure; samplings follow its test days."""

from __future__ import annotations

from django.utils import timezone

from firstline.policy import hooks
from firstline.quarantine.measures import governing, schedule_samplings
from firstline.quarantine.models import Placement, Sampling, SamplingStatus
from firstline.quarantine.tests.factories import days, measure


def _place(person, m, room):
    placement = Placement.objects.create(
        person=person,
        measure=m,
        kind="centralised",
        facility=room.facility,
        room=room,
        path=person.path,
        site_path=room.facility.path,
        start_at=timezone.now(),
        due_date=m.end,
    )
    schedule_samplings(placement)
    return placement


def _due(samplings):
    return sorted(s.due_date for s in samplings if s.due_date is not None)


def test_governing_is_the_strictest_then_the_longest(city):
    home = measure(city.person_a, measure_type="home_health_monitoring", duration=14)
    site = measure(city.person_a, measure_type="centralised_quarantine", duration=7)
    longer = measure(city.person_a, measure_type="centralised_quarantine", duration=10)
    assert governing([home, site]) == site
    assert governing([home, site, longer]) == longer


def test_samplings_are_the_measures_test_days_from_placement_on(city, sites):
    m = measure(city.person_a, start=days(-2), duration=7, test_days=(1, 3, 5, 7))
    placement = _place(city.person_a, m, sites.rooms["101"])
    due = _due(Sampling.objects.filter(placement=placement))
    # Day 1 (two days ago) was before the placement: not scheduled.
    assert due == [days(0), days(2), days(4)]


def test_a_longer_measure_moves_the_placement_and_its_samplings(city, sites):
    m = measure(city.person_a, duration=7, test_days=(1, 7))
    placement = _place(city.person_a, m, sites.rooms["101"])
    m.status = "superseded"
    m.save()
    longer = measure(city.person_a, start=days(2), duration=7, test_days=(1, 7))
    hooks.measures_changed([city.person_a.pk], actor=None)
    placement.refresh_from_db()
    assert placement.measure == longer
    assert placement.due_date == days(8)
    open_days = _due(Sampling.objects.filter(placement=placement).exclude(status="cancelled"))
    assert open_days == [days(2), days(8)]
    # The old calendar's days not on the new one are cancelled (a sampled day would stay).
    cancelled = Sampling.objects.filter(placement=placement, status=SamplingStatus.CANCELLED)
    assert _due(cancelled) == [days(0), days(6)]
