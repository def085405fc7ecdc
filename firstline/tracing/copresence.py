"""Venue co-presence: who was at the same venue at the same time as a case (or a close contact).

Presence tracing as Germany's Corona-Warn-App does it: every check-in is an interval [start, end) (end = start +
the venue's default stay when the visitor did not check out); two visits overlap when min(end) − max(start) is
more than the minimum overlap (a setting, 0 by default, so touching intervals do not overlap).

``find`` is read-only and set-based. On PostgreSQL it is one statement: the sources travel as arrays, their own
visits are found by person (or, on visits with no person, by phone or ID number) and each is joined to the visits
at the same venue that may overlap it, one (venue, start) index probe per own visit (a visit lasts at most
``CHECKIN_MAX_STAY_HOURS``), with constant bounds on ``start`` so only the window's day partitions are planned.
Elsewhere (SQLite): one query for the sources' own check-ins, one for every check-in that may overlap them. The
overlap is computed here either way. Turning what it finds into exposures is ``services.copresence_exposures``.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
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


def source_visits(sources: Sequence[Source]) -> dict[int, list[Visit]]:
    """Each source's own visits inside its window, by person id."""
    if not sources:
        return {}
    # Three IN lists over the union of the windows (not an OR branch per source: a hundred sources made a plan
    # of hundreds of branches per day partition); each visit is then matched to its sources below.
    longest = datetime.timedelta(hours=settings.CHECKIN_MAX_STAY_HOURS)
    identity = Q(person_id__in={source.person_id for source in sources})
    phones = {source.phone for source in sources if source.phone}
    id_numbers = {source.id_number for source in sources if source.id_number}
    if phones:
        identity |= Q(person__isnull=True, phone__in=phones)
    if id_numbers:
        identity |= Q(person__isnull=True, id_number__in=id_numbers)
    earliest, latest = min(source.start for source in sources), max(source.end for source in sources)
    condition = identity & Q(start__lt=latest, start__gt=earliest - longest, end__gt=earliest)
    by_person: dict[int, list[Visit]] = {source.person_id: [] for source in sources}
    rows = CheckIn.objects.filter(condition).order_by().values_list(*_FIELDS)
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
    if not sources:
        return []
    if connection.vendor == "postgresql":
        return _find_in_one_statement(sources, minimum=minimum)
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
        others = [Visit(*row) for row in CheckIn.objects.filter(condition).order_by().values_list(*_FIELDS)]
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


def _column(attname: str) -> str:
    for model_field in CheckIn._meta.concrete_fields:
        if model_field.attname == attname:
            return connection.ops.quote_name(model_field.column)
    raise LookupError(attname)


def _statement() -> str:
    table = connection.ops.quote_name(CheckIn._meta.db_table)
    names = {name: _column(name) for name in ("id", "person_id", "phone", "id_number", "venue_id", "start", "end")}
    columns = ", ".join(_column(name) for name in _FIELDS)
    start, end = names["start"], names["end"]
    window = f"{start} < s.wuntil AND {start} > s.wfrom - %(longest)s AND {end} > s.wfrom"
    window += f" AND {start} > %(lowest)s AND {start} < %(highest)s"
    own_columns = ", ".join(f"own.{_column(name)}" for name in _FIELDS)
    other_columns = ", ".join(f"o.{_column(name)}" for name in _FIELDS)
    return f"""
        WITH src AS (
            SELECT * FROM unnest(%(persons)s::bigint[], %(phones)s::text[], %(id_numbers)s::text[],
                                 %(froms)s::timestamptz[], %(untils)s::timestamptz[])
                AS s (person_id, phone, id_number, wfrom, wuntil)
        ), own AS MATERIALIZED (
            SELECT s.person_id AS source_id, c.* FROM src s CROSS JOIN LATERAL (
                SELECT {columns} FROM {table} WHERE {names["person_id"]} = s.person_id AND {window}
                UNION
                SELECT {columns} FROM {table}
                WHERE s.phone <> '' AND {names["person_id"]} IS NULL AND {names["phone"]} = s.phone AND {window}
                UNION
                SELECT {columns} FROM {table}
                WHERE s.id_number <> '' AND {names["person_id"]} IS NULL AND {names["id_number"]} = s.id_number
                  AND {window}
            ) c
        )
        SELECT own.source_id, {own_columns}, {other_columns}
        FROM own CROSS JOIN LATERAL (
            -- OFFSET 0: one (venue, start) index probe per own visit, never a hash join over the table.
            SELECT {columns} FROM {table}
            WHERE {names["venue_id"]} = own.{names["venue_id"]} AND {start} < own.{end}
              AND {start} > own.{start} - %(longest)s AND {end} > own.{start}
              AND {start} > %(lowest)s - %(longest)s AND {start} < %(highest)s + %(longest)s
            OFFSET 0
        ) o
        WHERE o.{names["id"]} NOT IN (SELECT {names["id"]} FROM own)
          AND o.{names["person_id"]} IS DISTINCT FROM own.source_id
          AND least(own.{end}, o.{end}) - greatest(own.{start}, o.{start}) > %(minimum)s
    """  # noqa: S608 - names from the model, values are parameters


def _find_in_one_statement(sources: Sequence[Source], *, minimum: int) -> list[Overlap]:
    longest = datetime.timedelta(hours=settings.CHECKIN_MAX_STAY_HOURS)
    params: dict[str, Any] = {
        "persons": [source.person_id for source in sources],
        "phones": [source.phone for source in sources],
        "id_numbers": [source.id_number for source in sources],
        "froms": [source.start for source in sources],
        "untils": [source.end for source in sources],
        "longest": longest,
        "lowest": min(source.start for source in sources) - longest,
        "highest": max(source.end for source in sources),
        "minimum": datetime.timedelta(minutes=max(0, minimum)),
    }
    width = len(_FIELDS)
    found: list[Overlap] = []
    with connection.cursor() as cursor:
        cursor.execute(_statement(), params)
        for row in cursor.fetchall():
            own, other = Visit(*row[1 : 1 + width]), Visit(*row[1 + width :])
            seconds = overlap_seconds(own.start, own.end, other.start, other.end)
            if seconds > 0 and seconds > minimum * 60:
                found.append(Overlap(row[0], own, other, int(seconds // 60)))
    return found
