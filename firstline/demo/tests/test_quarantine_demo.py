"""The demo's quarantine data: sites, placements under the people's measures, samplings, checks, scoping."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from django.utils import timezone

from firstline.accounts.models import User
from firstline.demo import seed
from firstline.people.models import Person
from firstline.quarantine.models import (
    Facility,
    FacilityStaff,
    HealthCheck,
    Placement,
    PlacementKind,
    PlacementStatus,
    Room,
    Sampling,
    SamplingStatus,
)
from firstline.quarantine.sites.selectors import occupancy
from firstline.quarantine.sites.services import release_blockers

PERSONS = 600


@pytest.fixture
def seeded(settings: Any) -> seed.SeedReport:
    # PBKDF2 would spend seconds on the named accounts; the tests are not about hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return seed.seed_demo(persons=PERSONS, seed=7)


@pytest.mark.django_db
def test_demo_places_people_under_measures_with_samplings_checks_and_a_release_due_today(
    seeded: seed.SeedReport,
) -> None:
    today = timezone.localdate()
    placements = list(Placement.objects.filter(status=PlacementStatus.ACTIVE).select_related("measure", "room"))

    kinds = {p.kind for p in placements}
    assert kinds == {PlacementKind.CENTRALISED, PlacementKind.HOME}
    assert seeded.counts["quarantine_placements"] == len(placements)
    # Every placement follows its person's measure, whose test days became samplings.
    for placement in placements:
        assert placement.measure is not None and placement.measure.person_id == placement.person_id
    assert Sampling.objects.filter(status=SamplingStatus.SCHEDULED, due_date__gte=today).exists()
    negatives = Sampling.objects.filter(status=SamplingStatus.SAMPLED, result="negative")
    assert negatives.count() == seeded.counts["quarantine_samplings_taken"] > 0
    assert HealthCheck.objects.filter(alert=True).count() == 1
    assert HealthCheck.objects.count() == seeded.counts["quarantine_health_checks"] > 0
    assert Placement.objects.filter(lost_since__isnull=False).count() == 1
    due = [p for p in placements if p.due_date == today]
    assert {p.kind for p in due} == {PlacementKind.CENTRALISED, PlacementKind.HOME}
    assert all(release_blockers(p, today=today) == [] for p in due), [release_blockers(p, today=today) for p in due]


@pytest.mark.django_db
def test_demo_rooms_hold_one_household_within_their_beds(seeded: seed.SeedReport) -> None:
    households: dict[int, set[Any]] = defaultdict(set)
    people: dict[int, int] = defaultdict(int)
    for room_id, household_id in Placement.objects.filter(
        status=PlacementStatus.ACTIVE, kind=PlacementKind.CENTRALISED
    ).values_list("room_id", "household_id"):
        households[room_id].add(household_id)
        people[room_id] += 1

    beds = dict(Room.objects.filter(pk__in=people).values_list("pk", "capacity"))
    assert people
    for room_id, count in people.items():
        assert count <= beds[room_id]
        assert len(households[room_id]) == 1


@pytest.mark.django_db
def test_demo_site_account_sees_only_its_own_site(seeded: seed.SeedReport) -> None:
    site = User.objects.get(username="site")
    own = FacilityStaff.objects.get(user=site).facility

    assert Facility.objects.count() >= 2
    assert list(Facility.objects.visible_to(site)) == [own]
    assert [row["facility"] for row in occupancy(site)] == [own]
    visible = Placement.objects.visible_to(site)
    assert visible.exists()
    assert set(visible.values_list("facility_id", flat=True)) == {own.pk}
    assert set(Person.objects.visible_to(site).values_list("pk", flat=True)) == set(
        Placement.objects.filter(facility=own).values_list("person_id", flat=True)
    )
    assert Placement.objects.exclude(facility=own).exists()
