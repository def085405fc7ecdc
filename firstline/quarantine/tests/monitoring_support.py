"""Builders shared by the health-monitoring tests (test_monitoring_*.py)."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from firstline.quarantine.models import Placement
from firstline.quarantine.sites.services import placement_create
from firstline.quarantine.tests.factories import at, days, measure

# Fixed settings for these tests: two slots a day, three missed slots make a person lost.
SLOT_SETTINGS = {
    "HEALTH_CHECK_TIMES": ["08:00", "15:00"],
    "HEALTH_CHECK_MISSED_LIMIT": 3,
    "FEVER_THRESHOLD_C": Decimal("37.3"),
    "TEMPERATURE_MIN_C": Decimal("34"),
    "TEMPERATURE_MAX_C": Decimal("43"),
}


@pytest.fixture(autouse=True)
def _monitoring_settings(settings: Any, monkeypatch: Any) -> None:
    """The slot settings above, and the clock at local noon of the real day (time still runs): these tests reason
    about today's 08:00 and 15:00 slots, and must not fail when run before 08:00 or just after midnight."""
    for name, value in SLOT_SETTINGS.items():
        setattr(settings, name, value)
    real_now = timezone.now
    start = real_now()
    noon = timezone.make_aware(datetime.datetime.combine(timezone.localdate(start), datetime.time(12)))
    offset = noon - start
    monkeypatch.setattr(timezone, "now", lambda: real_now() + offset)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Messages asserted in English (UI default is Simplified Chinese); pages set the language cookie."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _monitoring_registered() -> None:
    """The person panel and home block (registered at start-up by the quarantine app's wiring)."""
    from firstline.quarantine.monitoring import panels

    panels.register()


def home(
    person: Any,
    *,
    start: datetime.date | None = None,
    hour: int = 7,
    duration: int = 14,
    test_days: tuple[int, ...] = (1, 4, 7),
    responsible: Any = None,
) -> Placement:
    """A home-quarantine placement from ``start`` (default 5 days ago) at ``hour``, samplings scheduled."""
    start = start or days(-5)
    m = measure(person, measure_type="home_quarantine", start=start, duration=duration, test_days=test_days)
    return placement_create(
        actor=None, person=person, kind="home", measure=m, responsible=responsible, start_at=at(start, hour)
    )


def site(
    person: Any,
    room: Any,
    *,
    start: datetime.date | None = None,
    hour: int = 7,
    duration: int = 7,
    test_days: tuple[int, ...] = (1, 3, 5, 7),
) -> Placement:
    start = start or days(-5)
    m = measure(person, measure_type="centralised_quarantine", start=start, duration=duration, test_days=test_days)
    return placement_create(
        actor=None, person=person, kind="centralised", room=room, measure=m, start_at=at(start, hour)
    )


def resident(city: Any, key: str, n: int) -> Any:
    """Another person of household ``key`` ("a", "a2", "b", "c") of the city fixture."""
    from conftest import make_person, valid_id

    year = 1980 + ["a", "a2", "b", "c"].index(key)
    return make_person(
        household=getattr(city, f"household_{key}"),
        name=f"居民{key}{n}",
        id_number=valid_id(f"632701{year}0101{n:03d}"),
    )
