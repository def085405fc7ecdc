"""Daily health-check slots: the ``HEALTH_CHECK_TIMES`` setting (local times, in order) made concrete.

A check taken at time *t* belongs to the latest slot of its day that has begun (before the first slot of the day:
the first slot). A slot lasts until the next one begins (the last slot of a day until the first slot of the next
day), so it has *passed* once the next slot has begun.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from firstline.core.dates import day_start


@dataclass(frozen=True)
class Slot:
    day: datetime.date
    index: int
    start: datetime.datetime
    end: datetime.datetime

    @property
    def label(self) -> str:
        return settings.HEALTH_CHECK_TIMES[self.index]  # type: ignore[no-any-return]

    def has_passed(self, now: datetime.datetime) -> bool:
        return self.end <= now

    def has_begun(self, now: datetime.datetime) -> bool:
        return self.start <= now


def times() -> list[datetime.time]:
    return [datetime.time(int(h), int(m)) for h, m in (text.split(":") for text in settings.HEALTH_CHECK_TIMES)]


def count() -> int:
    return len(settings.HEALTH_CHECK_TIMES)


def _start(day: datetime.date, index: int) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, times()[index]))


def slot(day: datetime.date, index: int) -> Slot:
    """Slot ``index`` (0-based) of ``day``; ValueError for an index the setting does not have."""
    if not 0 <= index < count():
        raise ValueError(f"no health-check slot {index}")
    end = _start(day, index + 1) if index + 1 < count() else _start(day + datetime.timedelta(days=1), 0)
    return Slot(day=day, index=index, start=_start(day, index), end=end)


def slot_of(at: datetime.datetime) -> Slot:
    """The slot a check taken at ``at`` belongs to."""
    local = timezone.localtime(at)
    index = 0
    for position, begins in enumerate(times()):
        if begins <= local.time():
            index = position
    return slot(local.date(), index)


def day_slots(day: datetime.date) -> list[Slot]:
    return [slot(day, index) for index in range(count())]


def previous(current: Slot) -> Slot:
    if current.index > 0:
        return slot(current.day, current.index - 1)
    return slot(current.day - datetime.timedelta(days=1), count() - 1)


def passed(now: datetime.datetime, number: int) -> list[Slot]:
    """The ``number`` most recent slots that have passed at ``now``, the most recent first."""
    result: list[Slot] = []
    current = slot_of(now)
    while len(result) < number:
        if current.has_passed(now):
            result.append(current)
        current = previous(current)
    return result


def counts_from(current: Slot) -> datetime.datetime:
    """A slot counts for (had to be recorded by) a person placed before this moment: before the slot ended, and on
    its day or earlier (the days before a placement began are not the placement's)."""
    return min(current.end, day_start(current.day + datetime.timedelta(days=1)))
