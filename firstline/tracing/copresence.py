"""Venue co-presence: who was at the same venue at the same time as a case (or a close contact).

Presence tracing as Germany's Corona-Warn-App does it: every check-in is an interval [start, end) (end = start +
the venue's default stay when the visitor did not check out); two visits overlap when min(end) − max(start) is
more than the minimum overlap (a setting, 0 by default, so touching intervals do not overlap).

``find`` is read-only and set-based: one query for the sources' own check-ins, one for every check-in that may
overlap them (the venue/start index bounds each branch: a visit lasts at most ``CHECKIN_MAX_STAY_HOURS``), the
overlap computed here. Turning what it finds into exposures is ``services.copresence_exposures``.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q

from firstline.tracing.models import CheckIn


@dataclass(frozen=True)
class Source:
    """Whose visits to look at, and when they count (a case's infectious window, a contact's exposure period)."""

    person_id: int
    start: datetime.datetime
    end: datetime.datetime
    phone: str = ""
    id_number: str = ""


@dataclass(frozen=True)
class Visit:
    id: int
    venue_id: int
    person_id: int | None
    phone: str
    id_number: str
    name: str
    start: datetime.datetime
    end: datetime.datetime
    party_of: int | None


@dataclass(frozen=True)
class Overlap:
    source_person_id: int
    source_visit: Visit
    other: Visit
    minutes: int

    @property
    def start(self) -> datetime.datetime:
        return max(self.source_visit.start, self.other.start)

    @property
    def end(self) -> datetime.datetime:
        return min(self.source_visit.end, self.other.end)


_FIELDS = ("id", "venue_id", "person_id", "phone", "id_number", "name", "start", "end", "party_of")


def overlap_seconds(
    a_start: datetime.datetime, a_end: datetime.datetime, b_start: datetime.datetime, b_end: datetime.datetime
) -> float:
    """min(end) − max(start); ≤ 0 when the intervals only touch or are apart."""
    return (min(a_end, b_end) - max(a_start, b_start)).total_seconds()


def _identity_q(source: Source) -> Q:
    q = Q(person_id=source.person_id)
    # Visits scanned with the same phone or ID before the person was known to the platform.
    if source.phone:
        q |= Q(person__isnull=True, phone=source.phone)
    if source.id_number:
        q |= Q(person__isnull=True, id_number=source.id_number)
    return q


def source_visits(sources: Sequence[Source]) -> dict[int, list[Visit]]:
    """Each source's own visits inside its window, by person id."""
    if not sources:
        return {}
    condition = Q()
    for source in sources:
        longest = datetime.timedelta(hours=settings.CHECKIN_MAX_STAY_HOURS)
        condition |= _identity_q(source) & Q(
            start__lt=source.end, start__gt=source.start - longest, end__gt=source.start
        )
    by_person: dict[int, list[Visit]] = {source.person_id: [] for source in sources}
    rows = CheckIn.objects.filter(condition).values_list(*_FIELDS)
    for row in rows:
        visit = Visit(*row)
        for source in sources:
            if _belongs(visit, source):
                by_person[source.person_id].append(visit)
    return by_person


def _belongs(visit: Visit, source: Source) -> bool:
    if not (visit.start < source.end and visit.end > source.start):
        return False
    if visit.person_id is not None:
        return visit.person_id == source.person_id
    return bool(source.phone and visit.phone == source.phone) or bool(
        source.id_number and visit.id_number == source.id_number
    )


def find(sources: Sequence[Source], *, min_overlap_minutes: int | None = None) -> list[Overlap]:
    """Every visit overlapping a source's visits inside the source's window, with the overlap in minutes."""
    minimum = settings.COPRESENCE_MIN_OVERLAP_MINUTES if min_overlap_minutes is None else min_overlap_minutes
    visits = source_visits(sources)
    own_ids = {visit.id for person_visits in visits.values() for visit in person_visits}
    pairs = [(person_id, visit) for person_id, person_visits in visits.items() for visit in person_visits]
    if not pairs:
        return []
    longest = datetime.timedelta(hours=settings.CHECKIN_MAX_STAY_HOURS)
    found: list[Overlap] = []
    for chunk in _chunks(pairs, 500):
        condition = Q()
        for _person_id, visit in chunk:
            # Bounded on start from both sides, so each branch is a range scan of the (venue, start) index.
            condition |= Q(
                venue_id=visit.venue_id, start__lt=visit.end, start__gt=visit.start - longest, end__gt=visit.start
            )
        others = [Visit(*row) for row in CheckIn.objects.filter(condition).values_list(*_FIELDS)]
        by_venue: dict[int, list[Visit]] = {}
        for other in others:
            if other.id not in own_ids:
                by_venue.setdefault(other.venue_id, []).append(other)
        for person_id, visit in chunk:
            for other in by_venue.get(visit.venue_id, ()):
                if other.person_id == person_id:
                    continue
                seconds = overlap_seconds(visit.start, visit.end, other.start, other.end)
                if seconds > 0 and seconds > minimum * 60:
                    found.append(Overlap(person_id, visit, other, int(seconds // 60)))
    return found


def _chunks(items: Sequence[tuple[int, Visit]], size: int) -> Iterable[Sequence[tuple[int, Visit]]]:
    for index in range(0, len(items), size):
        yield items[index : index + size]
