"""Small builders shared by the quarantine tests."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone

from firstline.policy.models import Measure, MeasureStatus, PolicyEdition


def today() -> datetime.date:
    return timezone.localdate()


def days(n: int) -> datetime.date:
    """``n`` days from today (negative: ago)."""
    return today() + datetime.timedelta(days=n)


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def earlier_today(hour: int = 8, minute: int = 30) -> datetime.datetime:
    """``hour:minute`` today, or now if that is still to come: a moment of today that is never in the future (tests
    also run just after local midnight)."""
    return min(at(today(), hour, minute), timezone.now())


def edition() -> PolicyEdition:
    """The edition in force today (the shipped ones; a test edition when a transactional test flushed them)."""
    found = PolicyEdition.objects.in_force_on(today())
    if found is not None:
        return found
    return PolicyEdition.objects.create(name="test edition", effective_from=days(-400), status="published")


def measure(
    person: Any,
    *,
    measure_type: str = "centralised_quarantine",
    start: datetime.date | None = None,
    duration: int = 7,
    test_days: tuple[int, ...] = (1, 3, 5, 7),
    follow_on_type: str = "",
    follow_on_days: int = 0,
    follow_on_test_days: tuple[int, ...] = (),
    trigger: str = "close_contact",
    **extra: Any,
) -> Measure:
    """An active measure: day 1 is ``start`` (today by default); test day N is start + N - 1."""
    start = start or today()
    end = start + datetime.timedelta(days=duration - 1)
    follow_start = end + datetime.timedelta(days=1) if follow_on_type else None
    follow_end = end + datetime.timedelta(days=follow_on_days) if follow_on_type else None
    return Measure.objects.create(
        person=person,
        path=person.path,
        edition=edition(),
        trigger=trigger,
        measure_type=measure_type,
        counted_from=start,
        start=start,
        end=end,
        test_dates=[(start + datetime.timedelta(days=n - 1)).isoformat() for n in test_days],
        follow_on_type=follow_on_type,
        follow_on_start=follow_start,
        follow_on_end=follow_end,
        follow_on_test_dates=[(follow_start + datetime.timedelta(days=n - 1)).isoformat() for n in follow_on_test_days]
        if follow_start
        else [],
        explanation={"steps": []},
        status=MeasureStatus.ACTIVE,
        **extra,
    )
