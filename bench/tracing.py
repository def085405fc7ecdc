"""Contact-tracing benchmarks: venue co-presence, public check-in intake, transmission clusters (PostgreSQL).

Called by ``bench.run`` after the city is seeded (Django is set up). Seeds, on top of the demo city:

* ``--venues`` venues (COPY through ``firstline.core.bulk``), spread over the grids by population, with a
  lognormal popularity (a few busy supermarkets, many quiet shops);
* ``--checkins`` check-ins over ``--checkin-days`` days, COPY straight into ``tracing_checkin`` from numpy arrays
  formatted as COPY text while a writer thread streams them: each person visits 0–3 venues a day (a per-person
  propensity), two favourite venues in the home grid and one city-wide, 10–90 minute stays (the venue's default
  stay when no check-out), 90 % with the person, 5 % with only the person's phone, 5 % unknown visitors.

Then times, against a hand-written SQL statement on the same tables for the same cases in the same run:

* ``firstline.tracing.copresence.find`` for 1 case, 100 cases and 2 hops (p50/p95 and the ratio ours/SQL);
* ``POST /api/v1/checkins/`` under gunicorn (2 sync workers) driven by wrk on loopback, with the stored count
  checked against the accepted count;
* ``firstline.tracing.clusters.services.clusters_recompute`` over ``--cluster-persons`` persons and
  ``--exposures`` exposures, against a union-find in plain Python over the same edges.

``python -m bench.tracing`` times again against the database the last run left (see ``main``).
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import importlib
import inspect
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zoneinfo
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
LUA_SCRIPT = BENCH_DIR / "loadgen" / "checkins.lua"

TARGET_ONE_CASE_MS = 50.0
TARGET_HUNDRED_CASES_MS = 1000.0
TARGET_TWO_HOPS_MS = 500.0
TARGET_INTAKE_RPS = 500.0
TARGET_INTAKE_P99_MS = 100.0
TARGET_CLUSTERS_S = 2.0
WARMUP_RUNS = 3
SERIES_BUDGET_S = 120.0
HUNDRED = 100

# Category → default stay (minutes) and share of venues.
CATEGORIES: dict[str, tuple[int, float]] = {
    "supermarket": (30, 6),
    "market": (40, 4),
    "restaurant": (60, 16),
    "hotel": (90, 3),
    "clinic": (45, 3),
    "pharmacy": (10, 5),
    "school": (90, 2),
    "office": (90, 8),
    "factory": (90, 3),
    "shop": (20, 20),
    "bank": (20, 3),
    "government": (30, 2),
    "religious": (60, 3),
    "gym": (60, 2),
    "entertainment": (90, 3),
    "bus": (20, 5),
    "taxi": (15, 3),
    "station": (45, 1),
    "residential": (10, 6),
    "other": (30, 2),
}
NAME_WORDS = ["格桑", "雪域", "三江源", "玉树", "康巴", "结古", "通天河", "巴塘", "扎西", "吉祥", "高原", "新寨"]
T = TypeVar("T")


@dataclass
class Options:
    venues: int = 20_000
    checkins: int = 10_000_000
    days: int = 14
    infectious_days: int = 4
    repeats: int = 30
    cluster_persons: int = 100_000
    exposures: int = 300_000
    intake_seconds: int = 20
    intake_connections: int = 16
    intake_threads: int = 2
    intake_cache_url: str = "redis://127.0.0.1:6379/11"
    seed: int = 2021


@dataclass
class People:
    """Every person of the seeded city, as arrays (index = position, not id)."""

    ids: np.ndarray
    phones: list[str]
    id_numbers: list[str]
    grid: np.ndarray  # index into the grid list, -1 outside any grid


@dataclass
class Venues:
    ids: np.ndarray
    codes: list[str]
    grid: np.ndarray
    stay: np.ndarray
    weight: np.ndarray  # popularity, sums to 1


@dataclass
class Seeded:
    people: People
    venues: Venues
    first_day: datetime.date
    last_day: datetime.date
    rows: int
    case_pool: np.ndarray  # person indexes with a check-in of their own inside the case window
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass
class Series:
    """Wall-clock samples (ms) of one measurement and of its SQL baseline."""

    ours_ms: list[float] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    found: list[int] = field(default_factory=list)
    mismatches: int = 0

    def summary(self, target_ms: float) -> dict[str, Any]:
        ours, base = sorted(self.ours_ms), sorted(self.sql_ms)
        result: dict[str, Any] = {
            "runs": len(ours),
            "target_ms": target_ms,
            "ours_p50_ms": round(statistics.median(ours), 1),
            "ours_p95_ms": round(_percentile(ours, 95), 1),
            "ours_max_ms": round(ours[-1], 1),
            "sql_p50_ms": round(statistics.median(base), 1),
            "sql_p95_ms": round(_percentile(base, 95), 1),
            "sql_max_ms": round(base[-1], 1),
            "overlaps_median": int(statistics.median(self.found)),
            "overlaps_max": max(self.found),
            "result_mismatches": self.mismatches,
        }
        result["ratio_p50"] = round(result["ours_p50_ms"] / max(result["sql_p50_ms"], 0.01), 2)
        result["verdict"] = "PASS" if result["ours_p95_ms"] <= target_ms and not self.mismatches else "FAIL"
        return result


def _percentile(ordered: Sequence[float], pct: float) -> float:
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def _timed(function: Callable[[], T]) -> tuple[float, T]:
    started = time.perf_counter()
    value = function()
    return (time.perf_counter() - started) * 1000, value


# --- seeding -----------------------------------------------------------------------------------------------------


def load_people() -> tuple[People, list[int]]:
    """Persons (id, phone, ID number, grid) and the grid ids, read by a raw cursor."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT id, path FROM regions_grid ORDER BY id")
        grids = cursor.fetchall()
        cursor.execute("SELECT id, phone, id_number, path FROM people_person WHERE merged_into_id IS NULL ORDER BY id")
        rows = cursor.fetchall()
    grid_of = {path: index for index, (_pk, path) in enumerate(grids)}
    people = People(
        ids=np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows)),
        phones=[row[1] for row in rows],
        id_numbers=[row[2] for row in rows],
        grid=np.fromiter((grid_of.get(row[3], -1) for row in rows), dtype=np.int64, count=len(rows)),
    )
    return people, [int(pk) for pk, _path in grids]


def seed_venues(count: int, *, people: People, grid_ids: Sequence[int], rng: np.random.Generator) -> Venues:
    """``count`` venues over the grids (more where more people live), written by COPY."""
    from django.db import connection
    from django.utils import timezone

    from firstline.core.bulk import bulk_insert, reserve_ids
    from firstline.tracing.models import Venue

    with connection.cursor() as cursor:
        cursor.execute("SELECT path FROM regions_grid ORDER BY id")
        grid_paths = [row[0] for row in cursor.fetchall()]
    residents = np.bincount(people.grid[people.grid >= 0], minlength=len(grid_ids)).astype(np.float64) + 1.0
    grid = rng.choice(len(grid_ids), size=count, p=residents / residents.sum())
    names = list(CATEGORIES)
    shares = np.array([share for _stay, share in CATEGORIES.values()], dtype=np.float64)
    category = rng.choice(len(names), size=count, p=shares / shares.sum())
    stays = np.array([CATEGORIES[name][0] for name in names], dtype=np.int64)[category]
    weight = rng.lognormal(0.0, 1.1, size=count)
    ids = np.array(reserve_ids(Venue, count), dtype=np.int64)
    codes = [f"BV{index:07d}" for index in range(count)]
    now = timezone.now()
    fields = ["id", "created_at", "updated_at", "version", "code", "name", "category", "address", "grid_id", "path"]
    fields += ["default_stay_minutes", "contact_phone", "active", "created_by_id"]
    rows = (
        (
            int(ids[i]),
            now,
            now,
            1,
            codes[i],
            f"{NAME_WORDS[i % len(NAME_WORDS)]}{names[category[i]]} {i}",
            names[category[i]],
            f"{grid_paths[grid[i]]} {i}号",
            grid_ids[grid[i]],
            grid_paths[grid[i]],
            int(stays[i]),
            "",
            True,
            None,
        )
        for i in range(count)
    )
    bulk_insert(Venue, fields, rows)
    return Venues(ids=ids, codes=codes, grid=grid, stay=stays, weight=weight / weight.sum())


def _favourites(people: People, venues: Venues, rng: np.random.Generator) -> np.ndarray:
    """Three usual venues per person: two in the home grid (when it has any), one anywhere (by popularity)."""
    count = len(people.ids)
    order = np.argsort(venues.grid, kind="stable")
    per_grid = np.bincount(venues.grid, minlength=int(max(venues.grid.max(), people.grid.max())) + 1)
    offsets = np.concatenate(([0], np.cumsum(per_grid)[:-1]))
    anywhere = rng.choice(len(venues.ids), size=(count, 3), p=venues.weight)
    favourites = anywhere.copy()
    home = np.where(people.grid >= 0, people.grid, 0)
    has_local = (people.grid >= 0) & (per_grid[home] > 0)
    for slot in (0, 1):
        pick = offsets[home] + np.floor(rng.random(count) * np.maximum(per_grid[home], 1)).astype(np.int64)
        favourites[:, slot] = np.where(has_local, order[np.minimum(pick, len(order) - 1)], anywhere[:, slot])
    return favourites


def _minutes_of_day(count: int, rng: np.random.Generator) -> np.ndarray:
    """Arrival minute of the day: morning, lunch and evening peaks, between 06:00 and 22:30."""
    peak = rng.choice(3, size=count, p=[0.35, 0.25, 0.40])
    centre = np.array([9 * 60, 12 * 60 + 30, 18 * 60 + 30])[peak]
    spread = np.array([80, 60, 100])[peak]
    return np.clip(rng.normal(centre, spread), 6 * 60, 22 * 60 + 30).astype(np.int64)


class _Timeline:
    """COPY text of every minute from the first day's local midnight (UTC, so no offset arithmetic per row)."""

    def __init__(self, first_day: datetime.date, days: int, zone: datetime.tzinfo) -> None:
        utc = datetime.UTC
        self.base = datetime.datetime.combine(first_day, datetime.time(), zone).astimezone(utc)
        self.day_offset = [
            int(
                (
                    datetime.datetime.combine(first_day + datetime.timedelta(days=d), datetime.time(), zone).astimezone(
                        utc
                    )
                    - self.base
                ).total_seconds()
                // 60
            )
            for d in range(days)
        ]
        total = (days + 2) * 1440
        self.minute = [f"{self.base + datetime.timedelta(minutes=m):%Y-%m-%d %H:%M}:" for m in range(total)]
        self.second = [f"{s:02d}+00" for s in range(60)]


def seed_checkins(
    total: int,
    *,
    days: int,
    infectious_days: int,
    people: People,
    venues: Venues,
    rng: np.random.Generator,
) -> Seeded:
    """``total`` check-ins (about) over the ``days`` full days before today, COPY straight into tracing_checkin."""
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone
    from psycopg.copy import QueuedLibpqWriter

    from firstline.core.bulk import table_and_columns
    from firstline.tracing.models import CheckIn

    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    today = timezone.localdate()
    first_day = today - datetime.timedelta(days=days)
    count = len(people.ids)
    mean = total / (count * days)
    if mean > 3:
        raise SystemExit(f"{total:,} check-ins over {days} days is more than 3 a day for {count:,} persons")
    # How often each person goes out: mean visits a day = 3 × p, spread between stay-at-homes and busy people.
    alpha = 1.5
    mu = mean / 3
    propensity = rng.beta(alpha, alpha * (1 - mu) / mu, size=count)
    favourites = _favourites(people, venues, rng)
    timeline = _Timeline(first_day, days + 1, zone)
    person_text = [str(pk) for pk in people.ids.tolist()]
    identity_text = [
        f"{phone}\t" if phone else f"\t{id_number}"
        for phone, id_number in zip(people.phones, people.id_numbers, strict=True)
    ]
    venue_text = [str(pk) for pk in venues.ids.tolist()]
    stays = venues.stay
    fields = ["venue_id", "person_id", "phone", "id_number", "name", "start", "end", "end_known", "party_of"]
    fields += ["source", "created_at"]
    table, columns = table_and_columns(CheckIn, fields)
    case_days = set(range(days - infectious_days, days))
    pool: set[int] = set()
    rows = 0
    load: dict[str, Any] = {}
    with bulk_load(table, load), connection.cursor() as cursor:
        started = time.perf_counter()
        raw = cursor.cursor
        with raw.copy(f"COPY {table} ({columns}) FROM STDIN", writer=QueuedLibpqWriter(raw)) as copy:
            for day in range(days):
                visits = rng.binomial(3, propensity)
                who = np.repeat(np.arange(count), visits)
                n = len(who)
                usual = rng.random(n) < 0.6
                venue = np.where(
                    usual,
                    favourites[who, rng.integers(0, 3, size=n)],
                    rng.choice(len(venues.ids), size=n, p=venues.weight),
                )
                minute = _minutes_of_day(n, rng) + timeline.day_offset[day]
                order = np.argsort(minute, kind="stable")
                who, venue, minute = who[order], venue[order], minute[order]
                second = rng.integers(0, 60, size=n)
                known = rng.random(n) < 0.4
                stay = np.where(known, rng.integers(10, 91, size=n), stays[venue])
                roll = rng.random(n)
                kind = np.where(roll < 0.90, 0, np.where(roll < 0.95, 1, 2))
                visitor = rng.integers(0, 10**9, size=n)
                if day in case_days:
                    pool.update(np.unique(who[kind == 0]).tolist())
                for chunk in range(0, n, 100_000):
                    part = slice(chunk, chunk + 100_000)
                    copy.write(
                        "".join(
                            _checkin_lines(
                                venue[part].tolist(),
                                who[part].tolist(),
                                kind[part].tolist(),
                                minute[part].tolist(),
                                second[part].tolist(),
                                stay[part].tolist(),
                                known[part].tolist(),
                                visitor[part].tolist(),
                                venue_text=venue_text,
                                person_text=person_text,
                                identity_text=identity_text,
                                timeline=timeline,
                            )
                        )
                    )
                rows += n
                print(f"  day {first_day + datetime.timedelta(days=day)}: {n:,} check-ins", flush=True)
        seconds = time.perf_counter() - started
    started = time.perf_counter()
    with connection.cursor() as cursor:
        # Otherwise autovacuum visits every fresh partition during the timings below.
        cursor.execute("VACUUM (ANALYZE) tracing_checkin")
    vacuum_seconds = time.perf_counter() - started
    figures = {
        "rows": rows,
        "days": days,
        "copy_seconds": round(seconds, 1),
        "rows_per_second": round(rows / seconds),
        "index_seconds": round(load["index_seconds"], 1),
        "indexes_rebuilt": load["indexes"],
        "foreign_keys_checked": load["foreign_keys_checked"],
        "vacuum_analyze_seconds": round(vacuum_seconds, 1),
        "partitions": _partition_count(),
    }
    return Seeded(
        people=people,
        venues=venues,
        first_day=first_day,
        last_day=today - datetime.timedelta(days=1),
        rows=rows,
        case_pool=np.array(sorted(pool), dtype=np.int64),
        figures=figures,
    )


@contextlib.contextmanager
def bulk_load(table: str, figures: dict[str, Any]) -> Iterator[None]:
    """While rows are COPYed into ``table``: its secondary indexes dropped and foreign-key triggers off; then the
    indexes built again from their definitions (one sorted build each instead of millions of random inserts).

    PostgreSQL's own advice for populating a database. Measured on the 2-CPU machine: COPY into tracing_checkin with
    its six indexes and two deferred foreign keys ran at ~9,000 rows/s, with the indexes but no foreign-key checks
    at ~29,000 rows/s. The rows reference ids read from the tables, so the unchecked keys hold; turning the
    triggers off needs a superuser (otherwise they stay on and the load is slower).
    """
    from django.db import connection

    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
               WHERE x.indrelid = %s::regclass AND NOT x.indisprimary AND NOT x.indisunique ORDER BY i.relname""",
            [table.strip('"')],
        )
        indexes = [(str(name), str(definition)) for name, definition in cursor.fetchall()]
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {quote(name)}")
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        row = cursor.fetchone()
        checked = not (row and row[0])
        if not checked:
            cursor.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            if not checked:
                cursor.execute("RESET session_replication_role")
            cursor.execute("SET maintenance_work_mem = '256MB'")
            for _name, definition in indexes:
                # The definition of a partitioned table's index says ON ONLY (parent alone): build every partition's.
                cursor.execute(definition.replace(" ON ONLY ", " ON ", 1))
            cursor.execute("RESET maintenance_work_mem")
        figures.update(
            index_seconds=time.perf_counter() - started,
            indexes=[name for name, _definition in indexes],
            foreign_keys_checked=checked,
        )


def _checkin_lines(
    venue: list[int],
    who: list[int],
    kind: list[int],
    minute: list[int],
    second: list[int],
    stay: list[int],
    known: list[bool],
    visitor: list[int],
    *,
    venue_text: list[str],
    person_text: list[str],
    identity_text: list[str],
    timeline: _Timeline,
) -> Iterator[str]:
    """COPY text rows: venue, person, phone, ID number, name, start, end, end known, party, source, created."""
    minutes, seconds = timeline.minute, timeline.second
    for v, p, k, m, s, d, e, x in zip(venue, who, kind, minute, second, stay, known, visitor, strict=True):
        if k == 0:
            person, identity = person_text[p], identity_text[p]
        elif k == 1:
            person, identity = "\\N", identity_text[p]
        else:
            person, identity = "\\N", f"19{x:09d}\t"
        start = minutes[m] + seconds[s]
        end = minutes[m + d] + seconds[s]
        yield f"{venue_text[v]}\t{person}\t{identity}\t\t{start}\t{end}\t{'t' if e else 'f'}\t\\N\tpublic\t{start}\n"


def _partition_count() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = 'tracing_checkin'::regclass")
        row = cursor.fetchone()
    return int(row[0]) if row else 0


# --- co-presence -------------------------------------------------------------------------------------------------

# Constant bounds on start as well (the window's, widened by the longest stay): PostgreSQL prunes the day
# partitions at plan time, as it does for find()'s literal ranges, instead of planning all of them per probe.
_WINDOW = (
    'start < s.wuntil AND start > s.wfrom - %(longest)s AND "end" > s.wfrom'
    " AND start > %(lowest)s AND start < %(highest)s"
)
_OWN_VISITS = (
    """
    SELECT s.person_id AS source_id, c.id, c.venue_id, c.start, c."end"
    FROM {src} s CROSS JOIN LATERAL (
        SELECT id, venue_id, start, "end" FROM tracing_checkin WHERE person_id = s.person_id AND WINDOW
        UNION
        SELECT id, venue_id, start, "end" FROM tracing_checkin
        WHERE s.phone <> '' AND person_id IS NULL AND phone = s.phone AND WINDOW
        UNION
        SELECT id, venue_id, start, "end" FROM tracing_checkin
        WHERE s.id_number <> '' AND person_id IS NULL AND id_number = s.id_number AND WINDOW
    ) c
"""
).replace("WINDOW", _WINDOW)
# OFFSET 0 keeps the lateral subquery a per-visit (venue, start) index probe instead of a hash join over the table.
_OVERLAPS = """
    SELECT {own}.source_id, {own}.id AS own_id, o.id, o.person_id,
           greatest({own}.start, o.start) AS at,
           floor(extract(epoch FROM least({own}."end", o."end") - greatest({own}.start, o.start)) / 60)::int AS minutes
    FROM {own} CROSS JOIN LATERAL (
        SELECT id, person_id, start, "end" FROM tracing_checkin
        WHERE venue_id = {own}.venue_id AND start < {own}."end" AND start > {own}.start - %(longest)s
          AND "end" > {own}.start AND start > %(lowest)s AND start < %(highest)s
        OFFSET 0
    ) o
    WHERE o.id NOT IN (SELECT id FROM {own})
      AND o.person_id IS DISTINCT FROM {own}.source_id
      AND least({own}."end", o."end") - greatest({own}.start, o.start) > %(minimum)s
"""
_SOURCES = """
    SELECT * FROM unnest(%(persons)s::bigint[], %(phones)s::text[], %(id_numbers)s::text[],
                         %(froms)s::timestamptz[], %(untils)s::timestamptz[])
        AS s (person_id, phone, id_number, wfrom, wuntil)
"""
# One statement per measurement: the case persons' own visits in their windows (by person, or by phone / ID
# number when the visit has no person), joined to every other visit at the same venue overlapping them.
ONE_HOP_SQL = (
    "WITH src AS ("  # noqa: S608 - constant text, values are parameters
    + _SOURCES
    + "), own AS MATERIALIZED ("
    + _OWN_VISITS.format(src="src")
    + ") SELECT 1 AS hop, source_id, own_id, id, minutes FROM ("
    + _OVERLAPS.format(own="own")
    + ") hop1"
)
# Both hops in one statement: everybody found in hop 1 (a person), from their first overlap to now.
TWO_HOPS_SQL = (
    "WITH src AS ("  # noqa: S608 - constant text, values are parameters
    + _SOURCES
    + "), own AS MATERIALIZED ("
    + _OWN_VISITS.format(src="src")
    + "), hop1 AS MATERIALIZED ("
    + _OVERLAPS.format(own="own")
    + "), src2 AS ("
    + """SELECT h.person_id, p.phone, p.id_number, min(h.at) AS wfrom, %(now)s::timestamptz AS wuntil
          FROM hop1 h JOIN people_person p ON p.id = h.person_id GROUP BY h.person_id, p.phone, p.id_number"""
    + "), own2 AS MATERIALIZED ("
    + _OWN_VISITS.format(src="src2")
    + "), hop2 AS ("
    + _OVERLAPS.format(own="own2")
    + ") SELECT 1 AS hop, source_id, own_id, id, minutes FROM hop1"
    + " UNION ALL SELECT 2, source_id, own_id, id, minutes FROM hop2"
)

Key = tuple[int, int, int, int, int]


def _sql_params(sources: Sequence[Any], *, now: datetime.datetime, minimum: int) -> dict[str, Any]:
    from django.conf import settings

    longest = datetime.timedelta(hours=settings.CHECKIN_MAX_STAY_HOURS)
    return {
        "lowest": min(s.start for s in sources) - 3 * longest,
        "highest": max(now, *(s.end for s in sources)) + longest,
        "persons": [s.person_id for s in sources],
        "phones": [s.phone for s in sources],
        "id_numbers": [s.id_number for s in sources],
        "froms": [s.start for s in sources],
        "untils": [s.end for s in sources],
        "longest": longest,
        "minimum": datetime.timedelta(minutes=minimum),
        "now": now,
    }


def sql_contacts(statement: str, sources: Sequence[Any], *, now: datetime.datetime, minimum: int) -> set[Key]:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        # Compiling a plan of this size to machine code (JIT) takes seconds; a DBA would switch it off.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(statement, _sql_params(sources, now=now, minimum=minimum))
        return {(int(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in cursor.fetchall()}


def ours_one_hop(sources: Sequence[Any], *, minimum: int) -> set[Key]:
    from firstline.tracing import copresence

    found = copresence.find(sources, min_overlap_minutes=minimum)
    return {(1, o.source_person_id, o.source_visit.id, o.other.id, o.minutes) for o in found}


def ours_two_hops(case: Any, *, now: datetime.datetime, minimum: int) -> set[Key]:
    """find() for the case, then for every person found, each from their first overlap to now."""
    from firstline.people.models import Person
    from firstline.tracing import copresence

    first = copresence.find([case], min_overlap_minutes=minimum)
    since: dict[int, datetime.datetime] = {}
    for overlap in first:
        pid = overlap.other.person_id
        if pid is not None and (pid not in since or overlap.start < since[pid]):
            since[pid] = overlap.start
    identities = Person.objects.filter(pk__in=since).values_list("pk", "phone", "id_number")
    second_sources = [
        copresence.Source(person_id=pk, start=since[pk], end=now, phone=phone, id_number=id_number)
        for pk, phone, id_number in identities
    ]
    second = copresence.find(second_sources, min_overlap_minutes=minimum) if second_sources else []
    keys = {(1, o.source_person_id, o.source_visit.id, o.other.id, o.minutes) for o in first}
    keys |= {(2, o.source_person_id, o.source_visit.id, o.other.id, o.minutes) for o in second}
    return keys


def _sql_profile(function: Callable[[], object]) -> list[float]:
    """Durations (ms) of the SQL statements one call issues."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        function()
    return [float(query["time"]) * 1000 for query in captured.captured_queries]


def time_copresence(seeded: Seeded, *, options: Options) -> dict[str, Any]:
    from django.conf import settings
    from django.utils import timezone

    from firstline.tracing import copresence

    rng = np.random.default_rng(options.seed + 7)
    minimum = settings.COPRESENCE_MIN_OVERLAP_MINUTES
    now = timezone.now()
    window_from = now - datetime.timedelta(days=options.infectious_days)
    people = seeded.people

    def source(index: int) -> copresence.Source:
        return copresence.Source(
            person_id=int(people.ids[index]),
            start=window_from,
            end=now,
            phone=people.phones[index],
            id_number=people.id_numbers[index],
        )

    def draw(count: int) -> list[copresence.Source]:
        return [source(int(i)) for i in rng.choice(seeded.case_pool, size=count, replace=False)]

    plans: list[tuple[str, str, int, int, float]] = [
        ("one_case", "1 case", 1, options.repeats, TARGET_ONE_CASE_MS),
        ("hundred_cases", f"{HUNDRED} cases", HUNDRED, max(3, options.repeats // 3), TARGET_HUNDRED_CASES_MS),
        ("two_hops", "2 hops from 1 case", 1, max(3, options.repeats * 2 // 3), TARGET_TWO_HOPS_MS),
    ]
    results: dict[str, Any] = {"infectious_days": options.infectious_days, "minimum_overlap_minutes": minimum}
    for key, label, size, runs, target in plans:
        summary = _copresence_series(
            two_hops=key == "two_hops",
            draw=functools.partial(draw, min(size, len(seeded.case_pool))),
            runs=runs,
            now=now,
            minimum=minimum,
        ).summary(target)
        sample = draw(min(size, len(seeded.case_pool)))
        if key == "two_hops":
            call = functools.partial(ours_two_hops, sample[0], now=now, minimum=minimum)
        else:
            call = functools.partial(ours_one_hop, sample, minimum=minimum)
        statements = _sql_profile(call)
        summary["sql_statements"] = len(statements)
        summary["sql_statement_ms"] = [round(ms, 1) for ms in statements]
        results[key] = summary
        print(_copresence_line(label, summary))
        listed = ", ".join(f"{ms:.1f}" for ms in statements)
        print(f"    SQL statements of one more call ({len(statements)}): {listed} ms")
    return results


def _copresence_series(
    *, two_hops: bool, draw: Callable[[], list[Any]], runs: int, now: datetime.datetime, minimum: int
) -> Series:
    """``runs`` timed calls (after warm-up ones), each with new cases, of find() and of the SQL statement.

    Stops early (at least 3 timed runs) once ``SERIES_BUDGET_S`` is spent, so a slow plan cannot hold the whole
    benchmark for an hour; the warm-up is cut short too when one call takes seconds.
    """
    series = Series()
    started = time.perf_counter()
    warmup = WARMUP_RUNS
    run = 0
    while run < warmup + runs:
        spent = time.perf_counter() - started
        if len(series.ours_ms) >= 3 and spent > SERIES_BUDGET_S:
            print(f"    stopped after {len(series.ours_ms)} timed runs ({spent:.0f} s spent)")
            break
        sources = draw()

        def ours(sources: list[Any] = sources) -> set[Key]:
            if two_hops:
                return ours_two_hops(sources[0], now=now, minimum=minimum)
            return ours_one_hop(sources, minimum=minimum)

        def baseline(sources: list[Any] = sources) -> set[Key]:
            return sql_contacts(TWO_HOPS_SQL if two_hops else ONE_HOP_SQL, sources, now=now, minimum=minimum)

        # Alternate which goes first so neither always gets the other's warm cache.
        if run % 2:
            base_ms, base_found = _timed(baseline)
            ours_ms, our_found = _timed(ours)
        else:
            ours_ms, our_found = _timed(ours)
            base_ms, base_found = _timed(baseline)
        run += 1
        if run <= warmup:
            if max(ours_ms, base_ms) > 5000:
                warmup = run  # a slow plan: enough warming up
            continue
        series.ours_ms.append(ours_ms)
        series.sql_ms.append(base_ms)
        series.found.append(len(our_found))
        if our_found != base_found:
            series.mismatches += 1
            print(f"    run {run}: find() {len(our_found)} overlaps, SQL {len(base_found)}")
    return series


def _copresence_line(label: str, s: dict[str, Any]) -> str:
    mismatch = f"   MISMATCHES {s['result_mismatches']}" if s["result_mismatches"] else ""
    return (
        f"  {label:<20} find() p50 {s['ours_p50_ms']:7.1f} ms  p95 {s['ours_p95_ms']:7.1f} ms │ "
        f"SQL p50 {s['sql_p50_ms']:7.1f} ms  p95 {s['sql_p95_ms']:7.1f} ms │ ratio {s['ratio_p50']:5.2f}× │ "
        f"overlaps median {s['overlaps_median']:,} max {s['overlaps_max']:,} │ n={s['runs']} │ "
        f"target p95 ≤ {s['target_ms']:.0f} ms {s['verdict']}{mismatch}"
    )


# --- check-in intake ---------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_server(url: str, *, process: subprocess.Popen[bytes], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback URL we built
                return True
        except urllib.error.HTTPError:
            return True  # any HTTP answer (405 for GET) means the workers are up
        except OSError:
            time.sleep(0.25)
    return False


def _max_checkin_id() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM tracing_checkin")
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def _stored_after(marker: int) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tracing_checkin WHERE id > %s", [marker])
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def _run_wrk(url: str, *, data: Path, seconds: int, connections: int, threads: int) -> tuple[dict[str, Any], str]:
    wrk = shutil.which("wrk")
    assert wrk is not None
    command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"]
    command += ["-s", str(LUA_SCRIPT), url, "--", str(data)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - our own command
    for line in completed.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :]), completed.stdout
    raise RuntimeError(f"wrk gave no result (exit {completed.returncode}): {completed.stdout}{completed.stderr}")


def _statuses(access_log: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    if access_log.exists():
        for line in access_log.read_text(encoding="utf-8").splitlines():
            status = line.strip()
            if status:
                counts[status] = counts.get(status, 0) + 1
    return counts


def time_intake(seeded: Seeded, *, options: Options) -> dict[str, Any]:
    """POST /api/v1/checkins/ under gunicorn (2 sync workers) with wrk on loopback."""
    from django.urls import Resolver404, resolve

    if shutil.which("wrk") is None:
        message = "wrk not found: install it (Debian/Ubuntu: apt-get install -y wrk; macOS: brew install wrk)"
        print(f"  not available: {message}")
        return {"available": False, "reason": message}
    try:
        resolve("/api/v1/checkins/")
    except Resolver404:
        message = "POST /api/v1/checkins/ is not routed (firstline.tracing.venues not built yet)"
        print(f"  not available: {message}")
        return {"available": False, "reason": message}

    rng = np.random.default_rng(options.seed + 11)
    people = seeded.people
    folder = Path(tempfile.mkdtemp(prefix="firstline-bench-intake-"))
    data, access_log, server_log = folder / "load.txt", folder / "access.log", folder / "gunicorn.log"
    picks = rng.choice(len(people.ids), size=min(20_000, len(people.ids)), replace=False).tolist()
    with data.open("w", encoding="utf-8") as handle:
        for index in rng.choice(len(seeded.venues.codes), size=min(5000, len(seeded.venues.codes)), replace=False):
            handle.write(f"V {seeded.venues.codes[int(index)]}\n")
        for index in picks:
            if people.phones[index]:
                handle.write(f"P {people.phones[index]}\n")
            handle.write(f"I {people.id_numbers[index]}\n")
    port = _free_port()
    env = os.environ.copy()
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(48),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        CACHE_URL=options.intake_cache_url,
        CHECKIN_RATE_LIMIT="10000000/m",
        LOG_LEVEL="WARNING",
    )
    command = [sys.executable, "-m", "gunicorn", "firstline.wsgi:application", "--workers", "2"]
    command += ["--worker-class", "sync", "--bind", f"127.0.0.1:{port}", "--log-level", "warning"]
    command += ["--access-logfile", str(access_log), "--access-logformat", "%(s)s"]
    url = f"http://127.0.0.1:{port}"
    result: dict[str, Any] = {"available": True, "workers": 2, "connections": options.intake_connections}
    with server_log.open("wb") as log:
        server = subprocess.Popen(command, cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        try:
            if not _wait_for_server(f"{url}/api/v1/checkins/", process=server, seconds=60):
                tail = server_log.read_text(encoding="utf-8", errors="replace")[-3000:]
                raise RuntimeError(f"gunicorn did not start:\n{tail}")
            warmup, _ = _run_wrk(
                f"{url}/api/v1/checkins/",
                data=data,
                seconds=3,
                connections=options.intake_connections,
                threads=options.intake_threads,
            )
            time.sleep(1)  # requests in flight when wrk stopped
            access_log.write_text("", encoding="utf-8")  # gunicorn appends (O_APPEND): start the count afresh
            marker = _max_checkin_id()
            workers, backends = _children(server.pid), _database_backends()
            cpu_before = _cpu_seconds(workers), _cpu_seconds(backends)
            figures, output = _run_wrk(
                f"{url}/api/v1/checkins/",
                data=data,
                seconds=options.intake_seconds,
                connections=options.intake_connections,
                threads=options.intake_threads,
            )
            time.sleep(2)
            cpu_after = _cpu_seconds(workers), _cpu_seconds(backends)
        finally:
            server.terminate()
            server.wait(timeout=30)
    stored = _stored_after(marker)
    statuses = _statuses(access_log)
    seconds = figures["duration_us"] / 1e6
    result.update(
        {
            "seconds": round(seconds, 1),
            "requests": figures["requests"],
            "requests_per_second": round(figures["requests"] / seconds),
            "p50_ms": round(figures["p50_us"] / 1000, 1),
            "p90_ms": round(figures["p90_us"] / 1000, 1),
            "p99_ms": round(figures["p99_us"] / 1000, 1),
            "max_ms": round(figures["max_us"] / 1000, 1),
            "created_201": figures["created"],
            "other_2xx": figures["ok"],
            "non_2xx": figures["non_2xx"],
            "socket_errors": figures["socket_errors"],
            "server_statuses": statuses,
            "stored": stored,
            "warmup_requests": warmup["requests"],
        }
    )
    # CPU time per request (load-independent): what 2 idle CPUs could serve is about 2 / (django + postgres).
    answered = max(1, sum(statuses.values()))
    django_ms = (cpu_after[0] - cpu_before[0]) * 1000 / answered
    postgres_ms = (cpu_after[1] - cpu_before[1]) * 1000 / answered
    result["cpu_ms_per_request"] = {"gunicorn_workers": round(django_ms, 2), "postgres_backends": round(postgres_ms, 2)}
    result["cpu_bound_requests_per_second_on_2_cpus"] = round(2000 / max(django_ms + postgres_ms, 0.01))
    accepted = statuses.get("201", 0)
    in_flight = stored - figures["created"]
    result["stored_equals_accepted"] = stored == accepted
    result["in_flight_at_stop"] = in_flight
    result["verdict"] = (
        "PASS"
        if result["requests_per_second"] >= TARGET_INTAKE_RPS
        and result["p99_ms"] <= TARGET_INTAKE_P99_MS
        and figures["non_2xx"] == 0
        and stored == accepted
        else "FAIL"
    )
    print("  " + "\n  ".join(line for line in output.splitlines() if line.strip() and not line.startswith("RESULT")))
    print(_intake_line(result))
    if statuses.keys() - {"201", "200"}:
        tail = server_log.read_text(encoding="utf-8", errors="replace")[-2000:]
        print(f"  server statuses {statuses}; gunicorn log tail:\n{tail}")
    shutil.rmtree(folder, ignore_errors=True)
    return result


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (gunicorn's workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _database_backends() -> list[int]:
    """PostgreSQL backends of the benchmark database other than ours (the workers keep theirs: CONN_MAX_AGE)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'"
        )
        return [int(row[0]) for row in cursor.fetchall()]


def _cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU seconds of ``pids`` so far (/proc; processes that are gone count 0)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def _intake_line(r: dict[str, Any]) -> str:
    return (
        f"  POST /api/v1/checkins/: {r['requests_per_second']:,} req/s (target ≥ {TARGET_INTAKE_RPS:.0f}), "
        f"p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms (target ≤ {TARGET_INTAKE_P99_MS:.0f}), max {r['max_ms']} ms, "
        f"non-2xx {r['non_2xx']}, socket errors {r['socket_errors']} │ 201 counted by wrk {r['created_201']:,}, "
        f"by gunicorn {r['server_statuses'].get('201', 0):,}, rows stored {r['stored']:,} "
        f"({'=' if r['stored_equals_accepted'] else '≠'} accepted; {r['in_flight_at_stop']} answered after wrk "
        f"stopped) │ {r['verdict']}\n"
        f"  CPU per answered request: gunicorn workers {r['cpu_ms_per_request']['gunicorn_workers']} ms + PostgreSQL "
        f"{r['cpu_ms_per_request']['postgres_backends']} ms → at most ~{r['cpu_bound_requests_per_second_on_2_cpus']:,}"
        " req/s on 2 otherwise idle CPUs (wrk needs some too)"
    )


# --- clusters ----------------------------------------------------------------------------------------------------


def _component_sizes(total: int, rng: np.random.Generator) -> list[int]:
    """A few large chains (a wedding, a market) and many small ones (a household, a shared taxi)."""
    sizes = [max(2, int(total * share)) for share in (0.12, 0.06, 0.03, 0.02, 0.01, 0.01)]
    left = total - sum(sizes)
    while left > 1:
        size = min(left, 2 + int(rng.zipf(1.8)) if rng.random() < 0.97 else int(rng.integers(50, 400)))
        sizes.append(size)
        left -= size
    return sizes


EXPOSURE_FIELDS = ["id", "created_at", "updated_at", "version", "source_id", "exposed_id", "path", "start", "end"]
EXPOSURE_FIELDS += ["setting", "proximity", "protection", "evidence", "origin", "status", "venue_id"]
EXPOSURE_FIELDS += ["overlap_minutes", "key", "created_by_id", "decided_by_id", "decided_at", "decision_note"]
SETTINGS = ["household", "workplace", "shared_meal", "transport", "venue", "care", "other"]
ORIGINS = ["household", "copresence", "manual", "imported"]


def _insert_exposures(
    sources: Sequence[int],
    exposed: Sequence[int],
    when: Sequence[datetime.datetime],
    *,
    paths_of: dict[int, str],
    rng: np.random.Generator,
    now: datetime.datetime,
) -> None:
    """COPY exposures: 60 % pending, 30 % confirmed (counted), 5 % candidates and 5 % rejected (not counted)."""
    from firstline.core.bulk import bulk_insert, reserve_ids
    from firstline.tracing.models import Exposure

    count = len(sources)
    setting = rng.integers(0, len(SETTINGS), size=count).tolist()
    origin = rng.integers(0, len(ORIGINS), size=count).tolist()
    roll = rng.random(count)
    status = np.where(roll < 0.6, 0, np.where(roll < 0.9, 1, np.where(roll < 0.95, 2, 3))).tolist()
    statuses = ["pending", "confirmed", "candidate", "rejected"]
    minutes = rng.integers(5, 180, size=count).tolist()
    ids = reserve_ids(Exposure, count)
    rows = (
        (
            ids[i],
            now,
            now,
            1,
            sources[i],
            exposed[i],
            paths_of[exposed[i]],
            when[i],
            when[i] + datetime.timedelta(minutes=minutes[i]),
            SETTINGS[setting[i]],
            "unknown",
            "unknown",
            "bench",
            ORIGINS[origin[i]],
            statuses[status[i]],
            None,
            minutes[i],
            None,
            None,
            None,
            None,
            "",
        )
        for i in range(count)
    )
    bulk_insert(Exposure, EXPOSURE_FIELDS, rows)


def seed_exposures(
    *, persons: int, exposures: int, people: People, rng: np.random.Generator
) -> tuple[dict[str, Any], np.ndarray]:
    """Exposures (COPY) among ``persons`` persons: chains (random trees) plus extra edges inside each chain;
    cases at the roots and 2 % of the others, close or secondary contacts for the rest. Returns the figures and
    the persons' ids."""
    from django.utils import timezone

    from firstline.core.bulk import bulk_insert, reserve_ids
    from firstline.tracing.models import Case, Contact

    started = time.perf_counter()
    # Not the persons the demo seed already made cases or contacts (one case and one contact row per person).
    taken = np.array(sorted(_traced_persons()), dtype=np.int64)
    free = np.flatnonzero(~np.isin(people.ids, taken))
    persons = min(persons, len(free))
    ids = people.ids[rng.choice(free, size=persons, replace=False)]
    paths_of = _paths(ids)
    sizes = _component_sizes(persons, rng)
    now = timezone.now()
    today = timezone.localdate()
    sources: list[int] = []
    exposed: list[int] = []
    when: list[datetime.datetime] = []
    roots: list[int] = []
    first_exposed: dict[int, tuple[int, datetime.datetime]] = {}
    offset = 0
    extra_total = max(0, exposures - (persons - len(sizes)))
    for size in sizes:
        members = ids[offset : offset + size].tolist()
        offset += size
        roots.append(members[0])
        begin = now - datetime.timedelta(days=int(rng.integers(1, 40)), minutes=int(rng.integers(0, 1440)))
        # A random recursive tree: each person caught from somebody already in the chain.
        parents = (rng.random(size - 1) * np.arange(1, size)).astype(np.int64).tolist()
        hours = rng.integers(1, 240, size=size - 1).tolist()
        for child, parent, hour in zip(range(1, size), parents, hours, strict=True):
            at = min(begin + datetime.timedelta(hours=hour), now)
            sources.append(members[parent])
            exposed.append(members[child])
            when.append(at)
            first_exposed.setdefault(members[child], (members[parent], at))
        # More meetings inside the chain (households, shared meals): the edges beyond the tree.
        extra = round(extra_total * size / persons)
        if extra and size > 2:
            a, b = rng.integers(0, size, size=extra).tolist(), rng.integers(0, size - 1, size=extra).tolist()
            extra_hours = rng.integers(1, 240, size=extra).tolist()
            for x, y, hour in zip(a, b, extra_hours, strict=True):
                y = y + 1 if y >= x else y  # any other member
                sources.append(members[min(x, y)])
                exposed.append(members[max(x, y)])
                when.append(min(begin + datetime.timedelta(hours=hour), now))
    extra_cases = rng.choice(ids, size=max(1, persons // 50), replace=False).tolist()
    case_people = sorted(set(roots) | set(extra_cases))
    cases = set(case_people)
    contact_people = [pk for pk in first_exposed if pk not in cases]
    case_fields = ["id", "created_at", "updated_at", "version", "person_id", "path", "classification"]
    case_fields += ["onset_date", "sampling_date", "last_negative_date", "report_date", "isolated_on", "found_by"]
    case_fields += ["isolation_place", "outcome", "outcome_date", "notes", "edition_id", "infectious_from"]
    case_fields += ["infectious_until", "window", "confirmed_at", "created_by_id"]
    day = datetime.timedelta(days=1)
    classes = ["confirmed", "asymptomatic", "suspected"]
    case_rows: Iterator[tuple[Any, ...]] = (
        (
            pk,
            now,
            now,
            1,
            person,
            paths_of[person],
            classes[pk % 3],
            today - 3 * day,
            today - 2 * day,
            None,
            today - day,
            None,
            "clinic",
            "",
            "under_care",
            None,
            "",
            None,
            today - 5 * day,
            today,
            {},
            now,
            None,
        )
        for pk, person in zip(reserve_ids(Case, len(case_people)), case_people, strict=True)
    )
    contact_fields = ["id", "created_at", "updated_at", "version", "person_id", "path", "kind", "status"]
    contact_fields += ["first_exposure_at", "last_exposure_at", "isolated_at", "index_case_id", "measure_id"]
    contact_fields += ["released_at", "release_reason"]
    contact_rows: Iterator[tuple[Any, ...]] = (
        (
            pk,
            now,
            now,
            1,
            person,
            paths_of[person],
            "close" if first_exposed[person][0] in cases else "secondary",
            "active",
            first_exposed[person][1],
            first_exposed[person][1],
            None,
            None,
            None,
            None,
            "",
        )
        for pk, person in zip(reserve_ids(Contact, len(contact_people)), contact_people, strict=True)
    )
    load: dict[str, Any] = {}
    with bulk_load("tracing_exposure", load), bulk_load("tracing_case", {}), bulk_load("tracing_contact", {}):
        _insert_exposures(sources, exposed, when, paths_of=paths_of, rng=rng, now=now)
        bulk_insert(Case, case_fields, case_rows)
        bulk_insert(Contact, contact_fields, contact_rows)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) tracing_exposure, tracing_case, tracing_contact")
    figures = {
        "persons": persons,
        "exposures": len(sources),
        "components_seeded": len(sizes),
        "largest_components": sorted(sizes, reverse=True)[:6],
        "cases": len(case_people),
        "contacts": len(contact_people),
        "seed_seconds": round(time.perf_counter() - started, 1),
    }
    return figures, ids


def add_exposures(count: int, *, chains: Sequence[Sequence[int]], rng: np.random.Generator) -> None:
    """A day's new exposures: 99 % inside a chain (bigger chains get more), 1 % joining it to another chain."""
    from django.utils import timezone

    now = timezone.now()
    sizes = np.array([len(chain) for chain in chains], dtype=np.float64)
    weight = sizes / sizes.sum()
    pairs: list[tuple[int, int]] = []
    for index in range(count):
        first = chains[int(rng.choice(len(chains), p=weight))]
        second = chains[int(rng.integers(0, len(chains)))] if index % 100 == 0 else first
        x, y = first[int(rng.integers(0, len(first)))], second[int(rng.integers(0, len(second)))]
        if x != y:
            pairs.append((x, y))
    hours = rng.integers(1, 24, size=len(pairs)).tolist()
    _insert_exposures(
        [x for x, _y in pairs],
        [y for _x, y in pairs],
        [now - datetime.timedelta(hours=hour) for hour in hours],
        paths_of=_paths(np.array([y for _x, y in pairs], dtype=np.int64)),
        rng=rng,
        now=now,
    )


def _traced_persons() -> set[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT person_id FROM tracing_case UNION SELECT person_id FROM tracing_contact")
        return {int(row[0]) for row in cursor.fetchall()}


def _paths(person_ids: np.ndarray) -> dict[int, str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT id, path FROM people_person WHERE id = ANY(%s)", [person_ids.tolist()])
        return {int(pk): path for pk, path in cursor.fetchall()}


def _counted_edges() -> list[tuple[int, int]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT source_id, exposed_id FROM tracing_exposure WHERE status IN ('pending', 'confirmed')")
        return cursor.fetchall()


def _union_find(edges: Sequence[tuple[int, int]]) -> dict[int, int]:
    """Person → the smallest person id of their component (path halving)."""
    parent: dict[int, int] = {}

    def root(node: int) -> int:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, b in edges:
        ra, rb = root(a), root(b)
        if ra != rb:
            if ra < rb:
                parent[rb] = ra
            else:
                parent[ra] = rb
    return {node: root(node) for node in parent}


def union_find_components() -> tuple[float, float, int, int]:
    """The baseline: the counted exposures' edges fetched by a raw cursor, union-find in plain Python, sizes.

    Returns (fetch ms, compute ms, components, largest).
    """
    started = time.perf_counter()
    edges = _counted_edges()
    fetched = time.perf_counter()
    sizes: dict[int, int] = {}
    for top in _union_find(edges).values():
        sizes[top] = sizes.get(top, 0) + 1
    done = time.perf_counter()
    return (fetched - started) * 1000, (done - fetched) * 1000, len(sizes), max(sizes.values(), default=0)


def _chains() -> list[list[int]]:
    chains: dict[int, list[int]] = {}
    for node, top in _union_find(_counted_edges()).items():
        chains.setdefault(top, []).append(node)
    return list(chains.values())


def _clusters_recompute() -> Callable[[], Any] | None:
    try:
        module = importlib.import_module("firstline.tracing.clusters.services")
    except ImportError:
        return None
    function = getattr(module, "clusters_recompute", None)
    return function if callable(function) else None


def time_clusters(seeded: Seeded, *, options: Options, seed_first: bool = True) -> dict[str, Any]:
    from django.db import connection

    rng = np.random.default_rng(options.seed + 13)
    result: dict[str, Any] = {"target_seconds": TARGET_CLUSTERS_S}
    if seed_first:
        result["seed"], _ids = seed_exposures(
            persons=options.cluster_persons, exposures=options.exposures, people=seeded.people, rng=rng
        )
        s = result["seed"]
        print(
            f"  seeded {s['exposures']:,} exposures over {s['persons']:,} persons ({s['components_seeded']:,} "
            f"chains, largest {s['largest_components']}), {s['cases']:,} cases, {s['contacts']:,} contacts "
            f"in {s['seed_seconds']} s"
        )
    else:
        # Re-timing: start from no clusters again, so the first run is a recomputation from scratch.
        from firstline.tracing.models import Cluster, ClusterMember

        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {ClusterMember._meta.db_table}")  # noqa: S608 - model's table name
            cursor.execute(f"DELETE FROM {Cluster._meta.db_table}")  # noqa: S608 - model's table name
    fetch_ms, compute_ms, components, largest = union_find_components()
    fetch_ms, compute_ms, components, largest = union_find_components()  # warm cache, like the runs below
    baseline_s = (fetch_ms + compute_ms) / 1000
    result["baseline"] = {
        "fetch_ms": round(fetch_ms, 1),
        "compute_ms": round(compute_ms, 1),
        "seconds": round(baseline_s, 2),
        "components": components,
        "largest": largest,
    }
    print(
        f"  baseline union-find in plain Python: fetch {fetch_ms:.0f} ms + compute {compute_ms:.0f} ms = "
        f"{baseline_s:.2f} s; {components:,} components, largest {largest:,}"
    )
    recompute = _clusters_recompute()
    if recompute is None:
        message = "firstline.tracing.clusters.services.clusters_recompute not available (not built yet)"
        print(f"  not available: {message}")
        result.update({"available": False, "reason": message})
        return result
    kwargs = _recompute_kwargs(recompute)
    runs: dict[str, float] = {}
    reports: dict[str, Any] = {}
    added = max(1, options.exposures // 100)
    for label in ("from scratch", "nothing changed", f"after {added:,} new exposures"):
        if label.startswith("after"):
            add_exposures(added, chains=_chains(), rng=rng)
        started = time.perf_counter()
        outcome = recompute(**kwargs)
        runs[label] = time.perf_counter() - started
        reports[label] = _plain(outcome.as_dict() if hasattr(outcome, "as_dict") else outcome)
        stages = reports[label].get("stages") if isinstance(reports[label], dict) else None
        detail = f" — stages {_stages(stages)}" if stages else ""
        print(f"  clusters_recompute() {label}: {runs[label]:.2f} s{detail}")
    from firstline.tracing.models import Cluster

    stored = Cluster.objects.count()
    largest_stored = Cluster.objects.order_by("-size").values_list("size", flat=True).first() or 0
    first = runs["from scratch"]
    result.update(
        {
            "available": True,
            "seconds": {label: round(value, 2) for label, value in runs.items()},
            "reports": reports,
            "clusters_stored": stored,
            "largest_stored": largest_stored,
            "ratio_from_scratch": round(first / baseline_s, 2) if baseline_s else None,
        }
    )
    result["verdict"] = "PASS" if max(runs.values()) <= TARGET_CLUSTERS_S else "FAIL"
    print(
        f"  clusters_recompute(): {', '.join(f'{label} {value:.2f} s' for label, value in runs.items())} "
        f"(target ≤ {TARGET_CLUSTERS_S:.0f} s) │ from scratch / union-find = {result['ratio_from_scratch']}× │ "
        f"{stored:,} clusters stored, largest {largest_stored:,} │ {result['verdict']}"
    )
    return result


def _stages(stages: dict[str, Any]) -> str:
    return ", ".join(f"{name} {float(value):.2f}" for name, value in stages.items())


def _recompute_kwargs(function: Callable[..., Any]) -> dict[str, Any]:
    """Arguments for required keyword-only parameters we can supply (an actor); others keep their defaults."""
    kwargs: dict[str, Any] = {}
    for name, parameter in inspect.signature(function).parameters.items():
        if parameter.default is not inspect.Parameter.empty:
            continue
        if name in {"actor", "user"}:
            from firstline.accounts.models import User

            kwargs[name] = User.objects.filter(username="cdc").first() or User.objects.order_by("pk").first()
    return kwargs


def _plain(value: Any) -> Any:
    try:
        json.dumps(value)
    except TypeError:
        return repr(value)[:300]
    return value


# --- all of it ---------------------------------------------------------------------------------------------------


def benchmark(options: Options) -> dict[str, Any]:
    from django.db import connection

    from firstline.tracing.models import CheckIn

    rng = np.random.default_rng(options.seed)
    result: dict[str, Any] = {"options": options.__dict__.copy()}
    started = time.perf_counter()
    people, grid_ids = load_people()
    print(f"{len(people.ids):,} persons and {len(grid_ids):,} grids read in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    venues = seed_venues(options.venues, people=people, grid_ids=grid_ids, rng=rng)
    venue_seconds = time.perf_counter() - started
    print(f"{options.venues:,} venues written by COPY in {venue_seconds:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE relname = %s", [CheckIn._meta.db_table])
        row = cursor.fetchone()
    partitioned = bool(row and row[0] == "p")
    print(
        f"seeding {options.checkins:,} check-ins over {options.days} days into "
        f"{'the day-partitioned' if partitioned else 'the plain (not partitioned)'} tracing_checkin"
    )
    seeded = seed_checkins(
        options.checkins,
        days=options.days,
        infectious_days=options.infectious_days,
        people=people,
        venues=venues,
        rng=rng,
    )
    f = seeded.figures
    f["partitioned"] = partitioned
    f["venue_seconds"] = round(venue_seconds, 1)
    print(
        f"check-ins: {f['rows']:,} rows by COPY in {f['copy_seconds']} s ({f['rows_per_second']:,} rows/s; "
        f"foreign keys {'checked' if f['foreign_keys_checked'] else 'not checked'}), "
        f"{len(f['indexes_rebuilt'])} indexes built after in {f['index_seconds']} s, "
        f"VACUUM ANALYZE {f['vacuum_analyze_seconds']} s, {f['partitions']} partitions"
    )
    result["seed"] = f
    result.update(measure(seeded, options=options, seed_exposures_first=True))
    return result


def _load() -> str:
    """The machine's load averages: other work on a 2-CPU machine moves every figure here."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} {five:.1f} {fifteen:.1f} on {os.cpu_count()} CPUs"


def measure(
    seeded: Seeded, *, options: Options, seed_exposures_first: bool, only: Sequence[str] = ()
) -> dict[str, Any]:
    """The timings, on a seeded database: co-presence, clusters, check-in intake (``only``: a subset)."""
    from django.db import connection

    result: dict[str, Any] = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('jit'), current_setting('max_parallel_workers_per_gather')")
        row = cursor.fetchone()
    result["server"] = {"jit": row[0] if row else "", "max_parallel_workers_per_gather": row[1] if row else ""}
    if not only or "copresence" in only:
        print(
            f"\n-- co-presence: find() vs one SQL statement, same cases, infectious window {options.infectious_days} "
            f"days ({len(seeded.case_pool):,} persons with check-ins in it); server jit={result['server']['jit']}; "
            f"{_load()}"
        )
        result["copresence"] = time_copresence(seeded, options=options)
    if not only or "clusters" in only:
        print(f"\n-- clusters over {options.cluster_persons:,} persons and {options.exposures:,} exposures; {_load()}")
        result["clusters"] = time_clusters(seeded, options=options, seed_first=seed_exposures_first)
    if options.intake_seconds and (not only or "intake" in only):
        print(
            f"\n-- check-in intake: gunicorn 2 sync workers, wrk {options.intake_threads} threads × "
            f"{options.intake_connections} connections, {options.intake_seconds} s on loopback; {_load()}"
        )
        result["intake"] = time_intake(seeded, options=options)
    return result


def summary_lines(result: dict[str, Any]) -> list[str]:
    """The tracing lines of the closing summary."""
    lines = []
    seed = result.get("seed")
    if seed:
        lines.append(
            f"  check-ins seeded: {seed['rows']:,} by COPY in {seed['copy_seconds']} s ({seed['rows_per_second']:,}/s)"
            f" + indexes {seed['index_seconds']} s{', day-partitioned' if seed['partitioned'] else ', plain table'}"
        )
    labels = {"one_case": "contacts of 1 case", "hundred_cases": "contacts of 100 cases", "two_hops": "2 hops, 1 case"}
    for key, label in labels.items() if "copresence" in result else ():
        s = result["copresence"][key]
        lines.append(
            f"  {label:<22} find() p50 {s['ours_p50_ms']} ms p95 {s['ours_p95_ms']} ms; SQL p50 {s['sql_p50_ms']} ms; "
            f"ratio {s['ratio_p50']}×; target ≤ {s['target_ms']:.0f} ms {s['verdict']}"
        )
    clusters = result.get("clusters")
    if clusters and clusters.get("available"):
        lines.append(
            "  clusters_recompute: "
            + ", ".join(f"{label} {value} s" for label, value in clusters["seconds"].items())
            + f"; union-find {clusters['baseline']['seconds']} s; from scratch/union-find "
            f"{clusters['ratio_from_scratch']}× (target ≤ {TARGET_CLUSTERS_S:.0f} s) {clusters['verdict']}"
        )
    elif clusters:
        lines.append(f"  clusters: {clusters.get('reason')}; union-find {clusters['baseline']['seconds']} s")
    intake = result.get("intake")
    if intake and intake.get("available"):
        lines.append(
            f"  check-in intake: {intake['requests_per_second']:,} req/s, p50 {intake['p50_ms']} ms, "
            f"p99 {intake['p99_ms']} ms, non-2xx {intake['non_2xx']}, stored {intake['stored']:,} "
            f"{'=' if intake['stored_equals_accepted'] else '≠'} accepted {intake['server_statuses'].get('201', 0):,}"
            f" {intake['verdict']}"
        )
    elif intake:
        lines.append(f"  check-in intake: {intake['reason']}")
    return lines


# --- re-timing a seeded database -----------------------------------------------------------------------------------


def existing(*, infectious_days: int) -> Seeded:
    """What ``measure`` needs, read back from a database a previous run seeded."""
    from django.db import connection

    people, _grid_ids = load_people()
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, code, grid_id, default_stay_minutes FROM tracing_venue ORDER BY id")
        venue_rows = cursor.fetchall()
        cursor.execute(
            "SELECT DISTINCT person_id FROM tracing_checkin WHERE person_id IS NOT NULL AND start >= %s AND start < %s",
            [
                datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=infectious_days),
                datetime.datetime.now(datetime.UTC),
            ],
        )
        in_window = np.array(sorted(int(row[0]) for row in cursor.fetchall()), dtype=np.int64)
        cursor.execute("SELECT count(*), min(start)::date, max(start)::date FROM tracing_checkin")
        count_row = cursor.fetchone()
    assert count_row is not None
    venues = Venues(
        ids=np.array([row[0] for row in venue_rows], dtype=np.int64),
        codes=[str(row[1]) for row in venue_rows],
        grid=np.zeros(len(venue_rows), dtype=np.int64),
        stay=np.array([row[3] for row in venue_rows], dtype=np.int64),
        weight=np.full(len(venue_rows), 1 / max(1, len(venue_rows))),
    )
    positions = np.searchsorted(people.ids, in_window)
    return Seeded(
        people=people,
        venues=venues,
        first_day=count_row[1],
        last_day=count_row[2],
        rows=int(count_row[0]),
        case_pool=positions[
            (positions < len(people.ids)) & (people.ids[np.minimum(positions, len(people.ids) - 1)] == in_window)
        ],
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Time again against the database the last ``bench.run`` seeded (it is kept until the next run): after a change
    to find(), an index or the intake, without seeding 10 million check-ins again."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.tracing", description=main.__doc__)
    parser.add_argument("--only", action="append", choices=["copresence", "clusters", "intake"], default=[])
    parser.add_argument("--infectious-days", type=int, default=4)
    parser.add_argument("--tracing-repeats", type=int, default=30)
    parser.add_argument("--intake-seconds", type=int, default=20)
    parser.add_argument("--intake-connections", type=int, default=16)
    parser.add_argument("--intake-threads", type=int, default=2)
    parser.add_argument("--intake-cache-url", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--seed", type=int, default=2021)
    args = parser.parse_args(argv)
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/firstline_bench")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "firstline.settings")
    import warnings

    import django

    django.setup()
    warnings.filterwarnings("ignore", message="No directory at")
    options = Options(
        infectious_days=args.infectious_days,
        repeats=args.tracing_repeats,
        intake_seconds=args.intake_seconds,
        intake_connections=args.intake_connections,
        intake_threads=args.intake_threads,
        intake_cache_url=args.intake_cache_url,
        seed=args.seed,
    )
    seeded = existing(infectious_days=args.infectious_days)
    print(f"{seeded.rows:,} check-ins from {seeded.first_day} to {seeded.last_day} in the database")
    from firstline.tracing.models import Exposure

    # Exposures are seeded once per database (the first re-timing of clusters after a run that skipped them).
    seed_first = not Exposure.objects.filter(evidence="bench").exists()
    result = measure(seeded, options=options, seed_exposures_first=seed_first, only=args.only)
    print("\n" + "=" * 100)
    for line in summary_lines(result):
        print(line)
    print("=" * 100)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
