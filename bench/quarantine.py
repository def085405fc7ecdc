"""Quarantine benchmarks: today's follow-up list, the occupancy board, and the lab-results import (PostgreSQL).

On top of the seeded city (``seed_demo``: 1,000,000 persons in households and grids), ``seed`` writes by COPY
(``firstline.core.bulk``; nothing row by row through the ORM):

* ``--sites`` centralised sites (40) over the townships, ``--floors`` floors each (5), rooms of 1–2 beds
  (about 30 % single rooms), with ``--centralised`` placements (60,000): one household per room, as many of its
  members as the room has beds; the other rooms free, a few disinfecting or out of service;
* ``--placements`` − ``--centralised`` home placements (140,000): whole households, in the grids where they live,
  the grid's worker responsible; about 15 % in the home-monitoring follow-on of a close contact's measure;
* one active ``policy.Measure`` per person, from the rules of the edition in force (close contact → centralised,
  secondary contact → home), day 1 spread over the measure's days so that some are due for release today;
* the measure's test days as samplings: past ones mostly sampled and negative (yesterday's partly awaiting the
  lab), about 3 % overdue (still scheduled), 1 % missed; today's and later ones scheduled;
* health checks for the last two days (every slot of ``HEALTH_CHECK_TIMES``) and today's first slot for most,
  a few fevers with an alert, a few home placements lost to follow-up (no checks since).

Seeding is skipped when the bench's sites exist (``--reseed`` deletes the bench's quarantine rows and writes them
again; ``--recreate-db`` drops the database and seeds the city too). Then the timings:

* a. ``monitoring.followup.today_list(user)`` for the worker of a grid with the average number of placements;
* b. ``sites.selectors.occupancy(city)`` over every site, and ``sites.selectors.site_board(user, site)`` for the
  fullest site, as a site-staff member of it;
* c. ``testing.results_import.import_file`` of ``--import-rows`` lab results (CSV), inside a transaction rolled back
  afterwards (re-runs start from the same state), against ``COPY`` of the same results as sampling rows into
  ``quarantine_sampling`` itself in another rolled-back transaction (same indexes, same constraints, same size).

``python -m bench.quarantine`` runs all of it against ``DATABASE_URL`` (default
``postgres://postgres@127.0.0.1:5432/firstline_bench_quarantine``); ``bench.run`` calls ``benchmark`` as its
section f. See bench/README.md.
"""

from __future__ import annotations

import csv
import datetime
import math
import os
import random
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.run import Timings

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/firstline_bench_quarantine"
SITE_PREFIX = "BQ"  # the bench's sites: BQ01 … BQ40 (the demo's own sites have other codes)
BENCH_MARK = "bench-quarantine"  # Measure.object_id of the bench's measures: what --reseed deletes
BENCH_SITE_USER = "bench-site"
TARGET_FOLLOWUP_MS = 100.0
TARGET_BOARD_MS = 200.0
TARGET_IMPORT_RATIO = 0.4
WARMUP_RUNS = 3
QUARANTINE_TABLES = (
    "policy_measure",
    "quarantine_facility",
    "quarantine_floor",
    "quarantine_room",
    "quarantine_placement",
    "quarantine_sampling",
    "quarantine_healthcheck",
    "quarantine_facilitystaff",
)
POSITIVE_RESULTS = 5
LABS = ("玉树州疾控中心实验室", "玉树州人民医院检验科", "青海省疾控中心实验室", "西宁第三方检测实验室")
SINGLE_ROOM_SHARE = 0.3
ROOM_MARGIN = 1.15  # rooms beyond those the placements fill: free, disinfecting, out of service
FREE_ROOM_SHARE = 0.10  # rooms left free among the occupied ones (the rest of the margin: the last sites' rooms)
FOLLOW_ON_SHARE = 0.15  # of home placements: the home-monitoring follow-on of a close contact's measure
OVERDUE_SHARE = 0.03
MISSED_SHARE = 0.01
PENDING_YESTERDAY_SHARE = 0.4
FEVER_SHARE = 0.001
LOST_SHARE = 0.003
TODAY_CHECKED_SHARE = 0.6

# Columns of the bulk rows, in the order the rows give them.
FACILITY_FIELDS = [
    "id",
    "created_at",
    "updated_at",
    "version",
    "code",
    "name",
    "address",
    "division_id",
    "path",
    "phone",
    "active",
    "note",
]
ROOM_FIELDS = [
    "id",
    "created_at",
    "updated_at",
    "version",
    "facility_id",
    "floor_id",
    "number",
    "capacity",
    "state",
    "state_since",
    "note",
]
MEASURE_FIELDS = [
    "id",
    "created_at",
    "updated_at",
    "version",
    "person_id",
    "path",
    "edition_id",
    "rule_id",
    "trigger",
    "measure_type",
    "counted_from",
    "start",
    "end",
    "test_dates",
    "follow_on_type",
    "follow_on_start",
    "follow_on_end",
    "follow_on_test_dates",
    "explanation",
    "status",
    "content_type_id",
    "object_id",
    "superseded_by_id",
    "created_by_id",
]
PLACEMENT_FIELDS = [
    "id",
    "created_at",
    "updated_at",
    "version",
    "person_id",
    "measure_id",
    "kind",
    "phase",
    "facility_id",
    "room_id",
    "household_id",
    "grid_id",
    "responsible_id",
    "path",
    "site_path",
    "start_at",
    "due_date",
    "seal_number",
    "sensor_number",
    "status",
    "ended_at",
    "end_reason",
    "ended_by_id",
    "transferred_from_id",
    "lost_since",
    "certificate_number",
    "created_by_id",
]


@dataclass
class Options:
    persons: int = 1_000_000
    placements: int = 200_000
    centralised: int = 60_000
    sites: int = 40
    floors: int = 5
    repeats: int = 30
    import_rows: int = 100_000
    seed: int = 2021


@dataclass
class Rule:
    """The dates of one kind of measure (from the edition's rule, or a default when the edition has none)."""

    rule_id: int | None
    trigger: str
    measure_type: str
    duration: int
    test_days: list[int]
    follow_on_type: str = ""
    follow_on_days: int = 0
    follow_on_test_days: list[int] = field(default_factory=list)


@dataclass
class Planned:
    """One placement about to be written, with what its samplings and checks need."""

    person_id: int
    path: str
    household_id: int
    kind: str
    phase: str
    rule: Rule
    day_one: datetime.date
    facility_id: int | None = None
    room_id: int | None = None
    site_path: str = ""
    grid_id: int | None = None
    responsible_id: int | None = None
    lost: bool = False

    def main_end(self) -> datetime.date:
        return self.day_one + datetime.timedelta(days=self.rule.duration - 1)

    def follow_on_start(self) -> datetime.date:
        return self.main_end() + datetime.timedelta(days=1)

    def follow_on_end(self) -> datetime.date:
        return self.main_end() + datetime.timedelta(days=self.rule.follow_on_days)

    def first_day(self) -> datetime.date:
        return self.follow_on_start() if self.phase == "follow_on" else self.day_one

    def due_date(self) -> datetime.date:
        return self.follow_on_end() if self.phase == "follow_on" else self.main_end()

    def test_dates(self) -> list[datetime.date]:
        return [self.day_one + datetime.timedelta(days=n - 1) for n in self.rule.test_days]

    def follow_on_test_dates(self) -> list[datetime.date]:
        start = self.follow_on_start()
        return [start + datetime.timedelta(days=n - 1) for n in self.rule.follow_on_test_days]

    def scheduled_days(self) -> list[datetime.date]:
        """The phase's test days from the placement's first day on (as ``measures.schedule_samplings`` does)."""
        days = self.follow_on_test_dates() if self.phase == "follow_on" else self.test_dates()
        first = self.first_day()
        return sorted({day for day in days if day >= first})


def _percentile(ordered: Sequence[float], pct: float) -> float:
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def _load() -> str:
    from bench.tracing import _load as load_average

    return load_average()


# --- the city ----------------------------------------------------------------------------------------------------


def ensure_city(url: str, *, persons: int, recreate: bool) -> dict[str, Any] | None:
    """Create the database and seed the city when it has no persons yet (or ``recreate``); before Django is set up.

    Returns the seed figures when it seeded, None when the city was there already.
    """
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    from bench.run import recreate_postgres_database

    name = str(conninfo_to_dict(url).get("dbname") or "")
    seeded = False
    if not recreate:
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                row = conn.execute(
                    "SELECT to_regclass('people_person') IS NOT NULL AND EXISTS (SELECT 1 FROM people_person)"
                ).fetchone()
                seeded = bool(row and row[0])
        except psycopg.OperationalError:
            seeded = False
    if not seeded:
        recreate_postgres_database(url)
        print(f"PostgreSQL database {name!r} re-created")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "firstline.settings")
    import warnings

    import django

    django.setup()
    warnings.filterwarnings("ignore", message="No directory at")
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrated in {time.perf_counter() - started:.1f} s")
    if seeded:
        return None
    from bench.run import time_seed

    print(f"\n== seed_demo --persons {persons:,}")
    return time_seed(persons)


# --- seeding -----------------------------------------------------------------------------------------------------


def is_seeded() -> bool:
    """Whether the bench's sites exist (maybe from an interrupted seed: see ``is_complete``)."""
    from firstline.quarantine.models import Facility

    return Facility.objects.filter(code__startswith=SITE_PREFIX).exists()


def is_complete() -> bool:
    """The last step of ``seed`` is done: the site-staff account is assigned to a bench site."""
    from firstline.quarantine.models import FacilityStaff

    return FacilityStaff.objects.filter(user__username=BENCH_SITE_USER, facility__code__startswith=SITE_PREFIX).exists()


def clear() -> None:
    """Delete the bench's quarantine rows (sites, placements, samplings, checks, measures); the city stays."""
    from django.db import connection, transaction

    statements = [
        "CREATE TEMP TABLE bench_q_measure ON COMMIT DROP AS SELECT id FROM policy_measure WHERE object_id = %(mark)s",
        "CREATE TEMP TABLE bench_q_placement ON COMMIT DROP AS SELECT id FROM quarantine_placement "
        "WHERE measure_id IN (SELECT id FROM bench_q_measure)",
        "DELETE FROM quarantine_healthcheck WHERE placement_id IN (SELECT id FROM bench_q_placement)",
        "DELETE FROM quarantine_careneed WHERE placement_id IN (SELECT id FROM bench_q_placement)",
        "DELETE FROM quarantine_sampling WHERE measure_id IN (SELECT id FROM bench_q_measure) "
        "OR placement_id IN (SELECT id FROM bench_q_placement)",
        "DELETE FROM quarantine_placement WHERE id IN (SELECT id FROM bench_q_placement)",
        "DELETE FROM policy_measure WHERE id IN (SELECT id FROM bench_q_measure)",
        "DELETE FROM quarantine_facilitystaff WHERE facility_id IN "
        "(SELECT id FROM quarantine_facility WHERE code LIKE %(sites)s)",
        "DELETE FROM quarantine_room WHERE facility_id IN "
        "(SELECT id FROM quarantine_facility WHERE code LIKE %(sites)s)",
        "DELETE FROM quarantine_floor WHERE facility_id IN "
        "(SELECT id FROM quarantine_facility WHERE code LIKE %(sites)s)",
        "DELETE FROM quarantine_facility WHERE code LIKE %(sites)s",
    ]
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement, {"mark": BENCH_MARK, "sites": f"{SITE_PREFIX}%"})
    print(f"bench quarantine rows deleted in {time.perf_counter() - started:.1f} s")


def edition_rules(today: datetime.date) -> tuple[int, Rule, Rule]:
    """(edition id, centralised rule, home rule) from the edition in force: a close contact's rule (centralised,
    with its home-monitoring follow-on) and a secondary contact's (home quarantine); defaults where it has none."""
    from firstline.policy.models import MeasureRule, MeasureType, PolicyEdition

    edition = PolicyEdition.objects.in_force_on(today)
    if edition is None:
        raise SystemExit("no policy edition in force today: the shipped editions are missing")
    rules = list(MeasureRule.objects.filter(edition=edition))

    def pick(trigger: str, measure_types: Sequence[str], default: Rule) -> Rule:
        ordered = sorted(rules, key=lambda r: (r.trigger != trigger, -r.priority))
        for rule in ordered:
            if rule.measure in measure_types:
                return Rule(
                    rule_id=rule.pk,
                    trigger=rule.trigger,
                    measure_type=rule.measure,
                    duration=rule.duration_days,
                    test_days=sorted(int(d) for d in rule.test_days) or [1, rule.duration_days],
                    follow_on_type=rule.follow_on_measure or "",
                    follow_on_days=int(rule.follow_on_days or 0) if rule.follow_on_measure else 0,
                    follow_on_test_days=sorted(int(d) for d in rule.follow_on_test_days),
                )
        return default

    centralised = pick(
        "close_contact",
        [MeasureType.CENTRALISED_QUARANTINE],
        Rule(
            None,
            "close_contact",
            MeasureType.CENTRALISED_QUARANTINE,
            7,
            [1, 2, 3, 5, 7],
            "home_health_monitoring",
            3,
            [3],
        ),
    )
    home = pick(
        "secondary_contact",
        [MeasureType.HOME_QUARANTINE, MeasureType.HOME_HEALTH_MONITORING],
        Rule(None, "secondary_contact", MeasureType.HOME_QUARANTINE, 7, [1, 4, 7]),
    )
    return edition.pk, centralised, home


def _read_people() -> tuple[list[tuple[int, int, list[tuple[int, str]]]], dict[int, int]]:
    """Households with their members not already under a measure or placed: [(household, grid, [(person, path)])],
    and the grid id → its worker's user id."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT p.household_id, h.grid_id, p.id, p.path FROM people_person p
               JOIN regions_household h ON h.id = p.household_id
               WHERE p.merged_into_id IS NULL AND h.grid_id IS NOT NULL
                 AND NOT EXISTS (SELECT 1 FROM quarantine_placement q WHERE q.person_id = p.id AND q.status = 'active')
                 AND NOT EXISTS (SELECT 1 FROM policy_measure m WHERE m.person_id = p.id AND m.status = 'active')
               ORDER BY p.household_id, p.id"""
        )
        households: list[tuple[int, int, list[tuple[int, str]]]] = []
        for household_id, grid_id, person_id, path in cursor.fetchall():
            if not households or households[-1][0] != household_id:
                households.append((household_id, grid_id, []))
            households[-1][2].append((person_id, path))
        cursor.execute(
            """SELECT grid_id, min(user_id) FROM accounts_membership
               WHERE role = 'grid_worker' AND active AND grid_id IS NOT NULL GROUP BY grid_id"""
        )
        workers = {int(grid): int(user) for grid, user in cursor.fetchall()}
    return households, workers


def _townships() -> list[tuple[str, str]]:
    from firstline.regions.models import Division, DivisionLevel

    return list(
        Division.objects.filter(
            code__startswith="632701", level__in=[DivisionLevel.STREET, DivisionLevel.TOWN, DivisionLevel.TOWNSHIP]
        )
        .order_by("code")
        .values_list("code", "name")
    )


def _local(day: datetime.date, hour: int, minute: int) -> datetime.datetime:
    from django.utils import timezone

    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def seed(options: Options, *, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Write the bench's sites, rooms, placements, measures, samplings and health checks (see the module doc)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from bench.tracing import bulk_load
    from firstline.core.bulk import bulk_insert, reserve_ids
    from firstline.policy.models import Measure
    from firstline.quarantine.models import Facility, Floor, HealthCheck, Placement, Room, Sampling

    rng = random.Random(f"{options.seed}:quarantine")
    today = timezone.localdate()
    now = timezone.now()
    figures: dict[str, Any] = {}
    started = time.perf_counter()
    edition_id, centralised_rule, home_rule = edition_rules(today)
    households, workers = _read_people()
    rng.shuffle(households)
    log(
        f"  {sum(len(h[2]) for h in households):,} persons in {len(households):,} households free to place, "
        f"read in {time.perf_counter() - started:.1f} s; rules: centralised {centralised_rule.duration} d tests "
        f"{centralised_rule.test_days} + {centralised_rule.follow_on_type or '-'} {centralised_rule.follow_on_days} d "
        f"tests {centralised_rule.follow_on_test_days}; home {home_rule.duration} d tests {home_rule.test_days}"
    )
    townships = _townships()
    stage = time.perf_counter()
    with transaction.atomic():
        # Sites, floors and rooms.
        site_ids = reserve_ids(Facility, options.sites)
        site_paths = [townships[i % len(townships)][0] for i in range(options.sites)]
        bulk_insert(
            Facility,
            FACILITY_FIELDS,
            (
                (
                    site_ids[i],
                    now,
                    now,
                    1,
                    f"{SITE_PREFIX}{i + 1:02d}",
                    f"{townships[i % len(townships)][1]}第{i // len(townships) + 1}集中隔离点（基准）",
                    f"{townships[i % len(townships)][1]} 隔离点{i + 1}号",
                    site_paths[i],
                    site_paths[i],
                    "",
                    True,
                    "",
                )
                for i in range(options.sites)
            ),
        )
        per_floor = math.ceil(
            options.centralised * ROOM_MARGIN / (options.sites * options.floors * (1 + 0.86 * (1 - SINGLE_ROOM_SHARE)))
        )
        floor_ids = reserve_ids(Floor, options.sites * options.floors)
        bulk_insert(
            Floor,
            ["id", "facility_id", "label", "position"],
            (
                (floor_ids[s * options.floors + f], site_ids[s], f"{f + 1}F", f + 1)
                for s in range(options.sites)
                for f in range(options.floors)
            ),
        )
        room_total = options.sites * options.floors * per_floor
        room_ids = reserve_ids(Room, room_total)
        rooms: list[tuple[int, int, int, str, int]] = []  # id, site index, floor id, number, beds
        for s in range(options.sites):
            for f in range(options.floors):
                for r in range(per_floor):
                    beds = 1 if rng.random() < SINGLE_ROOM_SHARE else 2
                    rooms.append(
                        (room_ids[len(rooms)], s, floor_ids[s * options.floors + f], f"{f + 1}{r + 1:03d}", beds)
                    )

        # Who goes where: a household per room (as many members as beds) until the centralised count is reached,
        # then whole households at home.
        planned: list[Planned] = []
        room_state: dict[int, tuple[str, datetime.datetime | None]] = {}
        households_iter = iter(households)
        for room_id, s, _floor, _number, beds in rooms:
            household = None
            if len(planned) < options.centralised and rng.random() >= FREE_ROOM_SHARE:
                household = next(households_iter, None)
            if household is None:
                roll = rng.random()
                state = "out_of_service" if roll < 0.03 else "disinfecting" if roll < 0.15 else "available"
                since = now - datetime.timedelta(hours=rng.randint(1, 40)) if state != "available" else None
                room_state[room_id] = (state, since)
                continue
            household_id, _grid, members = household
            day_one = today - datetime.timedelta(days=rng.randrange(centralised_rule.duration))
            for person_id, path in members[:beds]:
                planned.append(
                    Planned(
                        person_id=person_id,
                        path=path,
                        household_id=household_id,
                        kind="centralised",
                        phase="main",
                        rule=centralised_rule,
                        day_one=day_one,
                        facility_id=site_ids[s],
                        room_id=room_id,
                        site_path=site_paths[s],
                    )
                )
            room_state[room_id] = ("occupied", _local(day_one, 10, 0))
        centralised_count = len(planned)
        follow_on_possible = bool(centralised_rule.follow_on_type and centralised_rule.follow_on_days)
        for household_id, grid_id, members in households_iter:
            if len(planned) >= options.placements:
                break
            follow_on = follow_on_possible and rng.random() < FOLLOW_ON_SHARE
            if follow_on:
                rule = centralised_rule
                start = today - datetime.timedelta(days=rng.randrange(centralised_rule.follow_on_days))
                day_one = start - datetime.timedelta(days=centralised_rule.duration)
            else:
                rule = home_rule
                day_one = today - datetime.timedelta(days=rng.randrange(home_rule.duration))
            lost = rng.random() < LOST_SHARE
            for person_id, path in members[: options.placements - len(planned)]:
                planned.append(
                    Planned(
                        person_id=person_id,
                        path=path,
                        household_id=household_id,
                        kind="home",
                        phase="follow_on" if follow_on else "main",
                        rule=rule,
                        day_one=day_one,
                        grid_id=grid_id,
                        responsible_id=workers.get(grid_id),
                        lost=lost,
                    )
                )
        bulk_insert(
            Room,
            ROOM_FIELDS,
            (
                (room_id, now, now, 1, site_ids[s], floor_id, number, beds, *room_state[room_id], "")
                for room_id, s, floor_id, number, beds in rooms
            ),
        )
        figures.update(
            sites=options.sites,
            floors=options.sites * options.floors,
            rooms=room_total,
            centralised=centralised_count,
            home=len(planned) - centralised_count,
            follow_on=sum(1 for p in planned if p.phase == "follow_on"),
        )
        log(
            f"  {options.sites} sites, {room_total:,} rooms ({per_floor} a floor); {centralised_count:,} centralised "
            f"and {figures['home']:,} home placements planned ({figures['follow_on']:,} in a follow-on)"
        )

        # One measure per person, then the placements.
        measure_ids = reserve_ids(Measure, len(planned))
        explanation = {"steps": [], "source": BENCH_MARK}

        def measure_rows() -> Iterator[tuple[Any, ...]]:
            for measure_id, p in zip(measure_ids, planned, strict=True):
                rule = p.rule
                follow = bool(rule.follow_on_type and rule.follow_on_days)
                yield (
                    measure_id,
                    now,
                    now,
                    1,
                    p.person_id,
                    p.path,
                    edition_id,
                    rule.rule_id,
                    rule.trigger,
                    rule.measure_type,
                    p.day_one,
                    p.day_one,
                    p.main_end(),
                    [d.isoformat() for d in p.test_dates()],
                    rule.follow_on_type if follow else "",
                    p.follow_on_start() if follow else None,
                    p.follow_on_end() if follow else None,
                    [d.isoformat() for d in p.follow_on_test_dates()] if follow else [],
                    explanation,
                    "active",
                    None,
                    BENCH_MARK,
                    None,
                    None,
                )

        bulk_insert(
            Measure,
            MEASURE_FIELDS,
            measure_rows(),
        )
        placement_ids = reserve_ids(Placement, len(planned))
        starts = [_local(p.first_day(), rng.randint(9, 17), rng.randrange(60)) for p in planned]
        # Lost to follow-up: no check since the day before yesterday's first slot, flagged yesterday afternoon.
        lost_cut = _local(today - datetime.timedelta(days=2), 12, 0)
        yesterday_afternoon = _local(today - datetime.timedelta(days=1), 15, 30)
        for p, start in zip(planned, starts, strict=True):
            p.lost = p.lost and start < lost_cut
        bulk_insert(
            Placement,
            PLACEMENT_FIELDS,
            (
                (
                    placement_id,
                    now,
                    now,
                    1,
                    p.person_id,
                    measure_id,
                    p.kind,
                    p.phase,
                    p.facility_id,
                    p.room_id,
                    p.household_id,
                    p.grid_id,
                    p.responsible_id,
                    p.path,
                    p.site_path,
                    start,
                    p.due_date(),
                    f"FT{placement_id:08d}" if p.kind == "home" and placement_id % 3 == 0 else "",
                    "",
                    "active",
                    None,
                    "",
                    None,
                    None,
                    yesterday_afternoon if p.lost else None,
                    "",
                    None,
                )
                for placement_id, measure_id, p, start in zip(placement_ids, measure_ids, planned, starts, strict=True)
            ),
        )
    figures["placements_seconds"] = round(time.perf_counter() - stage, 1)
    log(f"  sites, rooms, {len(planned):,} measures and placements by COPY in {figures['placements_seconds']} s")

    # Samplings: the phase's test days from the first day on.
    stage = time.perf_counter()
    yesterday = today - datetime.timedelta(days=1)
    sampling_counts: dict[str, int] = defaultdict(int)

    def sampling_rows() -> Iterator[tuple[Any, ...]]:
        tube = 0
        for placement_id, measure_id, p, start in zip(placement_ids, measure_ids, planned, starts, strict=True):
            for day in p.scheduled_days():
                status, sampled_at, result, result_at, lab, tube_code, source = "scheduled", None, "", None, "", "", ""
                if day < today:
                    roll = rng.random()
                    if roll < OVERDUE_SHARE:
                        sampling_counts["overdue"] += 1
                    elif roll < OVERDUE_SHARE + MISSED_SHARE:
                        status = "missed"
                    else:
                        status = "sampled"
                        sampled_at = max(start, _local(day, rng.randint(7, 10), rng.randrange(60)))
                        tube += 1
                        tube_code = f"BQT{tube:09d}"
                        lab = LABS[tube % len(LABS)]
                        if not (day == yesterday and rng.random() < PENDING_YESTERDAY_SHARE):
                            result, result_at, source = (
                                "negative",
                                sampled_at + datetime.timedelta(hours=rng.randint(6, 20)),
                                "import",
                            )
                elif day == today:
                    sampling_counts["today"] += 1
                sampling_counts[status] += 1
                yield (
                    now,
                    now,
                    1,
                    p.person_id,
                    measure_id,
                    placement_id,
                    p.facility_id,
                    p.path,
                    p.site_path,
                    None,
                    day,
                    status,
                    sampled_at,
                    None,
                    "采样队" if sampled_at else "",
                    tube_code,
                    result,
                    result_at,
                    lab,
                    source,
                    None,
                    None,
                    "",
                )

    sampling_fields = ["created_at", "updated_at", "version", "person_id", "measure_id", "placement_id"]
    sampling_fields += ["facility_id", "path", "site_path", "team_id", "due_date", "status", "sampled_at", "sampler_id"]
    sampling_fields += ["sampler_name", "tube_code", "result", "result_at", "lab", "result_source", "import_job_id"]
    sampling_fields += ["case_id", "note"]
    load: dict[str, Any] = {}
    with transaction.atomic(), bulk_load(Sampling._meta.db_table, load):
        rows = bulk_insert(Sampling, sampling_fields, sampling_rows())
    figures["samplings"] = rows
    figures["samplings_by_status"] = dict(sampling_counts)
    figures["samplings_seconds"] = round(time.perf_counter() - stage, 1)
    log(
        f"  {rows:,} samplings by COPY in {figures['samplings_seconds']} s (indexes built after: "
        f"{load['index_seconds']:.1f} s): {dict(sampling_counts)}"
    )

    # Health checks: the last two days, every slot; today's first slot for most; nothing since for the lost.
    from django.conf import settings

    stage = time.perf_counter()
    slots = [tuple(int(part) for part in text.split(":")) for text in settings.HEALTH_CHECK_TIMES]
    fever = settings.FEVER_THRESHOLD_C + Decimal("0.4")
    normal = [Decimal(t) / 10 for t in range(358, int(settings.FEVER_THRESHOLD_C * 10))]
    check_counts: dict[str, int] = defaultdict(int)

    def check_rows() -> Iterator[tuple[Any, ...]]:
        for placement_id, p, start in zip(placement_ids, planned, starts, strict=True):
            for back in (2, 1, 0):
                day = today - datetime.timedelta(days=back)
                for slot, (hour, minute) in enumerate(slots):
                    at = _local(day, hour, minute) + datetime.timedelta(minutes=rng.randrange(45))
                    if at < start or at > now or (p.lost and at >= lost_cut):
                        continue
                    if back == 0 and (slot > 0 or rng.random() >= TODAY_CHECKED_SHARE):
                        continue
                    alert = rng.random() < FEVER_SHARE
                    check_counts["alerts" if alert else "normal"] += 1
                    yield (
                        now,
                        now,
                        placement_id,
                        p.person_id,
                        p.facility_id,
                        p.path,
                        p.site_path,
                        day,
                        slot,
                        at,
                        fever if alert else rng.choice(normal),
                        ["fever"] if alert else [],
                        "",
                        alert,
                        "self" if p.kind == "home" and placement_id % 2 else "staff",
                        None,
                    )

    check_fields = ["created_at", "updated_at", "placement_id", "person_id", "facility_id", "path", "site_path"]
    check_fields += ["day", "slot", "at", "temperature", "symptoms", "note", "alert", "source", "recorded_by_id"]
    load = {}
    with transaction.atomic(), bulk_load(HealthCheck._meta.db_table, load):
        rows = bulk_insert(HealthCheck, check_fields, check_rows())
    figures["health_checks"] = rows
    figures["health_checks_seconds"] = round(time.perf_counter() - stage, 1)
    log(
        f"  {rows:,} health checks by COPY in {figures['health_checks_seconds']} s ({check_counts['alerts']} alerts; "
        f"indexes built after: {load['index_seconds']:.1f} s)"
    )
    stage = time.perf_counter()
    site_user = _site_user(site_ids, site_paths)
    figures["site_user"] = site_user
    with connection.cursor() as cursor:
        for table in QUARANTINE_TABLES:
            cursor.execute(f"VACUUM (ANALYZE) {table}")
    figures["vacuum_analyze_seconds"] = round(time.perf_counter() - stage, 1)
    figures["seconds"] = round(time.perf_counter() - started, 1)
    log(f"  VACUUM ANALYZE {figures['vacuum_analyze_seconds']} s; quarantine seed {figures['seconds']} s in all")
    return figures


def _site_user(site_ids: Sequence[int], site_paths: Sequence[str]) -> str:
    """A site-staff account assigned (as manager) to the fullest bench site: the occupancy board's viewer."""
    from django.db.models import Count

    from firstline.accounts.models import User
    from firstline.accounts.services import membership_grant, user_create
    from firstline.demo.seed import DEFAULT_PASSWORD
    from firstline.quarantine.models import FacilityStaff, Placement
    from firstline.regions.models import Division

    fullest = (
        Placement.objects.filter(facility_id__in=site_ids, status="active")
        .values("facility_id")
        .annotate(n=Count("id"))
        .order_by("-n", "facility_id")
        .first()
    )
    facility_id = fullest["facility_id"] if fullest else site_ids[0]
    user = User.objects.filter(username=BENCH_SITE_USER).first()
    if user is None:
        user = user_create(
            actor=None, username=BENCH_SITE_USER, password=DEFAULT_PASSWORD, display_name="基准隔离点负责人"
        )
        division = Division.objects.get(code=site_paths[list(site_ids).index(facility_id)])
        membership_grant(actor=None, user=user, role="site_staff", division=division)
    FacilityStaff.objects.filter(user=user).delete()
    FacilityStaff.objects.create(facility_id=facility_id, user=user, site_role="manager")
    return BENCH_SITE_USER


# --- timings -------------------------------------------------------------------------------------------------------


def _function(module_name: str, name: str) -> Callable[..., Any] | None:
    """``module.name`` when the module and the function exist (the quarantine parts may not be built yet)."""
    import importlib

    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    function = getattr(module, name, None)
    return function if callable(function) else None


def _series(call: Callable[[], Any], *, runs: int) -> tuple[Timings, Any]:
    """``runs`` timed calls after ``WARMUP_RUNS`` untimed ones; returns the timings and the last call's value."""
    value = None
    for _ in range(WARMUP_RUNS):
        value = call()
    timings = Timings()
    for _ in range(runs):
        started = time.perf_counter()
        value = call()
        timings.samples_ms.append((time.perf_counter() - started) * 1000)
    return timings, value


def _sql_profile(call: Callable[[], Any]) -> list[tuple[float, str]]:
    """(ms, SQL) of every statement one call issues."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        call()
    return [(float(q["time"]) * 1000, str(q["sql"])) for q in captured.captured_queries]


def _verdict(summary: dict[str, Any], target_ms: float) -> str:
    return "PASS" if summary.get("p95_ms") is not None and summary["p95_ms"] <= target_ms else "FAIL"


def _line(label: str, summary: dict[str, Any], target_ms: float) -> str:
    return (
        f"  {label:<44} p50 {summary['p50_ms']:7.1f} ms   p95 {summary['p95_ms']:7.1f} ms   "
        f"max {summary['max_ms']:7.1f} ms   n={summary['requests']}   target ≤ {target_ms:.0f} ms {summary['verdict']}"
    )


def _statements(profile: list[tuple[float, str]]) -> list[dict[str, Any]]:
    return [{"ms": round(ms, 1), "sql": sql[:400]} for ms, sql in profile]


def _print_statements(profile: list[tuple[float, str]]) -> None:
    print(
        f"    SQL statements of one more call ({len(profile)}): "
        + ", ".join(f"{ms:.1f}" for ms, _sql in profile)
        + " ms"
    )
    slowest = max(profile, default=None)
    if slowest is not None:
        print(f"    slowest ({slowest[0]:.1f} ms): {slowest[1][:300]}")


def typical_grid() -> tuple[str, int, int, float]:
    """(grid code, its worker's user id, its active home placements, the mean over grids with any): the grid whose
    count is nearest the mean."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT g.code, count(*) FROM quarantine_placement q JOIN regions_grid g ON g.id = q.grid_id
               WHERE q.status = 'active' AND q.kind = 'home' GROUP BY g.code ORDER BY g.code"""
        )
        counts = [(str(code), int(n)) for code, n in cursor.fetchall()]
        if not counts:
            raise SystemExit("no home placements: seed first")
        mean = statistics.fmean(n for _code, n in counts)
        code, n = min(counts, key=lambda item: (abs(item[1] - mean), item[0]))
        cursor.execute(
            """SELECT min(m.user_id) FROM accounts_membership m JOIN regions_grid g ON g.id = m.grid_id
               WHERE g.code = %s AND m.role = 'grid_worker' AND m.active""",
            [code],
        )
        row = cursor.fetchone()
    if not row or row[0] is None:
        raise SystemExit(f"grid {code} has no grid worker")
    return code, int(row[0]), n, mean


def time_followup(options: Options) -> dict[str, Any]:
    """a. today's follow-up list of one grid worker (a grid with the average number of home placements)."""
    from firstline.accounts.models import User

    today_list = _function("firstline.quarantine.monitoring.followup", "today_list")
    result: dict[str, Any] = {"target_ms": TARGET_FOLLOWUP_MS}
    if today_list is None:
        result.update(available=False, reason="firstline.quarantine.monitoring.followup.today_list not available")
        print(f"  not available: {result['reason']}")
        return result
    code, user_id, placements, mean = typical_grid()
    user = User.objects.get(pk=user_id)
    timings, rows = _series(lambda: list(today_list(user)), runs=options.repeats)
    summary = timings.summary()
    summary["verdict"] = _verdict(summary, TARGET_FOLLOWUP_MS)
    profile = _sql_profile(lambda: list(today_list(user)))
    result.update(
        available=True,
        grid=code,
        user=user.username,
        home_placements=placements,
        mean_home_placements_per_grid=round(mean, 1),
        rows=len(rows),
        statements=_statements(profile),
        **summary,
    )
    print(
        f"  grid {code} (worker {user.username}): {placements} home placements (mean over grids {mean:.0f}), "
        f"today_list → {len(rows)} rows; {_load()}"
    )
    print(_line("today_list(grid worker)", summary, TARGET_FOLLOWUP_MS))
    _print_statements(profile)
    return result


def time_occupancy(options: Options) -> dict[str, Any]:
    """b. the occupancy figures of every site for city command, and the board of the fullest site for its staff."""
    from firstline.accounts.models import User
    from firstline.quarantine.models import Facility, FacilityStaff

    occupancy = _function("firstline.quarantine.sites.selectors", "occupancy")
    site_board = _function("firstline.quarantine.sites.selectors", "site_board")
    result: dict[str, Any] = {"target_ms": TARGET_BOARD_MS}
    if occupancy is None or site_board is None:
        result.update(available=False, reason="firstline.quarantine.sites.selectors.occupancy/site_board not available")
        print(f"  not available: {result['reason']}")
        return result
    city = User.objects.get(username="city")
    timings, rows = _series(lambda: occupancy(city), runs=options.repeats)
    summary = timings.summary()
    summary["verdict"] = _verdict(summary, TARGET_BOARD_MS)
    profile = _sql_profile(lambda: occupancy(city))
    people = sum(int(row.get("people") or 0) for row in rows)
    result["occupancy"] = {"sites": len(rows), "people": people, "statements": _statements(profile), **summary}
    print(f"  occupancy(city): {len(rows)} sites, {people:,} people placed; {_load()}")
    print(_line("occupancy(city), every site", summary, TARGET_BOARD_MS))
    _print_statements(profile)

    staff = FacilityStaff.objects.filter(user__username=BENCH_SITE_USER, active=True).select_related("user").first()
    if staff is None:
        raise SystemExit(f"{BENCH_SITE_USER} has no site: seed again (--reseed)")
    facility = Facility.objects.get(pk=staff.facility_id)
    timings, board = _series(lambda: site_board(staff.user, facility), runs=options.repeats)
    summary = timings.summary()
    summary["verdict"] = _verdict(summary, TARGET_BOARD_MS)
    profile = _sql_profile(lambda: site_board(staff.user, facility))
    totals = board.get("totals", {}) if isinstance(board, dict) else {}
    result["site_board"] = {
        "site": facility.code,
        "rooms": totals.get("rooms"),
        "people": totals.get("people"),
        "statements": _statements(profile),
        **summary,
    }
    print(
        f"  site_board({BENCH_SITE_USER}, {facility.code}): {totals.get('rooms')} rooms, {totals.get('people')} people"
    )
    print(_line(f"site_board(site staff, {facility.code})", summary, TARGET_BOARD_MS))
    _print_statements(profile)
    result["available"] = True
    result["verdict"] = (
        "PASS" if result["occupancy"]["verdict"] == result["site_board"]["verdict"] == "PASS" else "FAIL"
    )
    return result


class _RolledBack(Exception):
    """Raised at the end of a timed write so that its transaction is rolled back (re-runs start from the same
    state)."""


RESULT_HEADER = ["身份证号", "采样时间", "检测结果", "检测机构"]
COPY_COLUMNS = (
    "created_at, updated_at, version, person_id, measure_id, placement_id, facility_id, path, site_path, team_id, "
    "due_date, status, sampled_at, sampler_id, sampler_name, tube_code, result, result_at, lab, result_source, "
    "import_job_id, case_id, note"
)


@dataclass
class LabRow:
    """One lab result of the file, with what its sampling row needs (for the COPY baseline)."""

    id_number: str
    sampled_at: datetime.datetime
    result: str
    lab: str
    person_id: int
    measure_id: int
    placement_id: int | None
    facility_id: int | None
    path: str
    site_path: str


def lab_rows(count: int, *, rng: random.Random) -> list[LabRow]:
    """``count`` results for the bench's samplings: today's scheduled ones (taken this morning), then yesterday's
    awaiting a result; ``POSITIVE_RESULTS`` of them positive, the rest negative; every row valid; in the order of
    the sampling times."""
    from django.db import connection
    from django.utils import timezone

    now = timezone.now()
    today = timezone.localdate()
    yesterday = today - datetime.timedelta(days=1)
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT p.id_number, s.status, s.sampled_at, s.person_id, s.measure_id, s.placement_id, s.facility_id,
                      s.path, s.site_path
               FROM quarantine_sampling s
               JOIN policy_measure m ON m.id = s.measure_id
               JOIN people_person p ON p.id = s.person_id
               WHERE m.object_id = %s AND p.id_type = 'resident'
                 AND ((s.status = 'scheduled' AND s.due_date = %s)
                      OR (s.status = 'sampled' AND s.result = '' AND s.due_date = %s))
               ORDER BY s.status = 'scheduled' DESC, s.id
               LIMIT %s""",
            [BENCH_MARK, today, yesterday, count],
        )
        found = cursor.fetchall()
    if len(found) < count:
        raise SystemExit(f"only {len(found):,} samplings due today or awaiting a result: import fewer rows")
    day_start = _local(today, 0, 1)
    latest = now - datetime.timedelta(minutes=1)
    rows = []
    positives = set(rng.sample(range(count), min(POSITIVE_RESULTS, count)))
    for index, (id_number, status, sampled_at, person, measure, placement, facility, path, site_path) in enumerate(
        found
    ):
        if status == "scheduled":
            taken = _local(today, rng.randint(7, 10), rng.randrange(60))
            sampled_at = max(day_start, min(taken, latest))
        rows.append(
            LabRow(
                id_number=id_number,
                sampled_at=sampled_at,
                result="阳性" if index in positives else "阴性",
                lab=LABS[index % len(LABS)],
                person_id=person,
                measure_id=measure,
                placement_id=placement,
                facility_id=facility,
                path=path,
                site_path=site_path,
            )
        )
    # A lab lists its results by sampling time, not in the order of our sampling ids.
    rows.sort(key=lambda row: (row.sampled_at, row.id_number))
    return rows


def write_csv(path: Path, rows: Sequence[LabRow]) -> None:
    from django.utils import timezone

    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(RESULT_HEADER)
        for row in rows:
            writer.writerow(
                [row.id_number, f"{timezone.localtime(row.sampled_at):%Y-%m-%d %H:%M}", row.result, row.lab]
            )


def copy_baseline(rows: Sequence[LabRow]) -> dict[str, Any]:
    """COPY of the same results, as sampling rows, into ``quarantine_sampling`` itself, rolled back afterwards.

    The same table the import writes (its 14 indexes at their seeded size, its foreign keys and constraints); the
    rows carry no due date and no tube code (so the partial unique indexes on (person, due date) and on the tube do
    not refuse them) and are formatted as COPY text before the clock starts: the floor for writing these results.
    """
    from django.db import connection, transaction
    from django.utils import timezone

    def text(value: Any) -> str:
        return "\\N" if value is None else str(value)

    now = timezone.now().isoformat()
    lines = "".join(
        f"{now}\t{now}\t1\t{r.person_id}\t{r.measure_id}\t{text(r.placement_id)}\t{text(r.facility_id)}\t{r.path}\t"
        f"{r.site_path}\t\\N\t\\N\tsampled\t{r.sampled_at.isoformat()}\t\\N\t\t\t"
        f"{'positive' if r.result == '阳性' else 'negative'}\t{now}\t{r.lab}\timport\t\\N\t\\N\t\n"
        for r in rows
    ).encode()
    seconds = 0.0
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            started = time.perf_counter()
            with cursor.copy(f"COPY quarantine_sampling ({COPY_COLUMNS}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for offset in range(0, len(lines), 1 << 20):
                    copy.write(lines[offset : offset + (1 << 20)])
            seconds = time.perf_counter() - started
            raise _RolledBack
    except _RolledBack:
        pass
    return {
        "rows": len(rows),
        "bytes": len(lines),
        "seconds": round(seconds, 3),
        "rows_per_second": round(len(rows) / seconds),
    }


def copy_text_baseline(path: Path) -> dict[str, Any]:
    """For reference: COPY of the CSV itself into a table of four text columns (parsing only, no index)."""
    from django.db import connection, transaction

    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("CREATE TEMP TABLE bench_lab_text (id_number text, sampled_at text, result text, lab text)")
            data = path.read_bytes()
            started = time.perf_counter()
            with cursor.copy("COPY bench_lab_text FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:  # type: ignore[attr-defined]
                copy.write(data)
            seconds = time.perf_counter() - started
            raise _RolledBack
    except _RolledBack:
        pass
    return {"seconds": round(seconds, 3), "rows_per_second": round((len(data.splitlines()) - 1) / seconds)}


def time_import(options: Options) -> dict[str, Any]:
    """c. ``results_import.import_file`` of ``--import-rows`` results against COPY of the same rows, both rolled
    back (the import's uploaded file and error workbook are deleted too)."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from firstline.accounts.models import User
    from firstline.screening.models import ImportJob

    import_file = _function("firstline.quarantine.testing.results_import", "import_file")
    result: dict[str, Any] = {"target_ratio": TARGET_IMPORT_RATIO}
    if import_file is None:
        result.update(available=False, reason="firstline.quarantine.testing.results_import.import_file not available")
        print(f"  not available: {result['reason']}")
        return result
    rng = random.Random(f"{options.seed}:results")
    rows = lab_rows(options.import_rows, rng=rng)
    actor = User.objects.get(username="cdc")
    with tempfile.TemporaryDirectory(prefix="firstline-bench-results-") as folder:
        path = Path(folder) / "results.csv"
        write_csv(path, rows)
        result["file_mb"] = round(path.stat().st_size / 1e6, 1)
        copies = [copy_baseline(rows)]
        print(
            f"  COPY of the same {len(rows):,} results as sampling rows into quarantine_sampling (rolled back): "
            f"{copies[0]['seconds']} s ({copies[0]['rows_per_second']:,} rows/s); {_load()}"
        )
        result["copy_text"] = copy_text_baseline(path)
        print(
            f"  (for reference: COPY of the CSV into a 4-text-column table: {result['copy_text']['seconds']} s, "
            f"{result['copy_text']['rows_per_second']:,} rows/s)"
        )
        files: list[str] = []
        summary: dict[str, Any] = {}
        seconds = 0.0
        statements: list[dict[str, Any]] = []
        try:
            with transaction.atomic(), CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                summary = import_file(actor=actor, path=path, filename="实验室结果（基准）.csv", dry_run=False)
                seconds = time.perf_counter() - started
                statements = [{"ms": round(float(q["time"]) * 1000), "sql": q["sql"][:300]} for q in captured]
                job = ImportJob.objects.filter(pk=int(summary.get("job") or 0)).first()
                files = [f.path for f in (job.file, job.error_file) if f] if job is not None else []
                raise _RolledBack
        except _RolledBack:
            pass
        for name in files:
            Path(name).unlink(missing_ok=True)
        # COPY again after the import: on a shared machine the load moves between the runs; the ratio is against
        # the mean of the two.
        copies.append(copy_baseline(rows))
        print(f"  COPY again after the import: {copies[1]['seconds']} s ({copies[1]['rows_per_second']:,} rows/s)")
    result["copy"] = {
        "runs": copies,
        "rows_per_second": round(statistics.fmean(c["rows_per_second"] for c in copies)),
    }
    rate = round(summary.get("rows", 0) / seconds) if seconds else 0
    result.update(
        available=True,
        rows=summary.get("rows", 0),
        seconds=round(seconds, 2),
        rows_per_second=rate,
        summary={k: v for k, v in summary.items() if k != "errors"},
        sql_statements=len(statements),
        sql_seconds=round(sum(q["ms"] for q in statements) / 1000, 2),
        slowest_statements=sorted(statements, key=lambda q: -q["ms"])[:5],
        errors=summary.get("errors", [])[:10],
        ratio=round(rate / result["copy"]["rows_per_second"], 3),
    )
    result["verdict"] = (
        "PASS"
        if result["ratio"] >= TARGET_IMPORT_RATIO and not summary.get("rejected") and summary.get("written")
        else "FAIL"
    )
    print(
        f"  import_file: {result['rows']:,} rows in {result['seconds']} s ({rate:,} rows/s); created "
        f"{summary.get('created')}, updated {summary.get('updated')}, unchanged {summary.get('unchanged')}, "
        f"rejected {summary.get('rejected')}, unscheduled added {summary.get('samplings_added')}, positives "
        f"{summary.get('positives')}; written {summary.get('written')} (then rolled back)"
    )
    for error in result["errors"]:
        print(f"    row error: {error}")
    print(f"    {len(statements)} SQL statements, {result['sql_seconds']} s in the database; the slowest:")
    for query in result["slowest_statements"][:3]:
        print(f"    {query['ms']:>7,} ms  {query['sql'][:160]}")
    print(f"  import rows/s ÷ COPY rows/s = {result['ratio']} (target ≥ {TARGET_IMPORT_RATIO}) {result['verdict']}")
    return result


# --- all of it -----------------------------------------------------------------------------------------------------


def benchmark(options: Options, *, reseed: bool = False, only: Sequence[str] = ()) -> dict[str, Any]:
    """Seed (unless seeded and not ``reseed``), then the timings (``only``: a subset of followup, occupancy,
    import). Django is set up and the city is seeded."""
    result: dict[str, Any] = {"options": options.__dict__.copy()}
    if is_seeded() and (reseed or not is_complete()):
        if not reseed:
            print("bench quarantine data incomplete (an interrupted seed): seeding again")
        clear()
    if is_seeded():
        print("bench quarantine data present: not seeding again (--reseed to write it again)")
    else:
        print(
            f"seeding {options.placements:,} placements ({options.centralised:,} centralised at {options.sites} sites)"
        )
        result["seed"] = seed(options)
    if not only or "followup" in only:
        print(f"\n-- a. today's follow-up list of one grid worker (target p95 ≤ {TARGET_FOLLOWUP_MS:.0f} ms)")
        result["followup"] = time_followup(options)
    if not only or "occupancy" in only:
        print(f"\n-- b. occupancy and site board (target p95 ≤ {TARGET_BOARD_MS:.0f} ms)")
        result["occupancy"] = time_occupancy(options)
    if (not only or "import" in only) and options.import_rows:
        print(
            f"\n-- c. lab results import of {options.import_rows:,} rows vs COPY (target ratio ≥ {TARGET_IMPORT_RATIO})"
        )
        result["import"] = time_import(options)
    return result


def summary_lines(result: dict[str, Any]) -> list[str]:
    """The quarantine lines of the closing summary."""
    lines = []
    seeded = result.get("seed")
    if seeded:
        lines.append(
            f"  quarantine seed: {seeded['centralised'] + seeded['home']:,} placements, {seeded['samplings']:,} "
            f"samplings, {seeded['health_checks']:,} checks by COPY in {seeded['seconds']} s"
        )
    followup = result.get("followup")
    if followup and followup.get("available"):
        lines.append(
            f"  today_list (grid {followup['grid']}, {followup['rows']} rows): p50 {followup['p50_ms']} ms "
            f"p95 {followup['p95_ms']} ms (target ≤ {TARGET_FOLLOWUP_MS:.0f} ms) {followup['verdict']}"
        )
    elif followup:
        lines.append(f"  today_list: {followup['reason']}")
    occupancy = result.get("occupancy")
    if occupancy and occupancy.get("available"):
        o, b = occupancy["occupancy"], occupancy["site_board"]
        lines.append(
            f"  occupancy ({o['sites']} sites): p50 {o['p50_ms']} ms p95 {o['p95_ms']} ms; site_board ({b['site']}, "
            f"{b['rooms']} rooms, {b['people']} people): p50 {b['p50_ms']} ms p95 {b['p95_ms']} ms "
            f"(target ≤ {TARGET_BOARD_MS:.0f} ms) {occupancy['verdict']}"
        )
    elif occupancy:
        lines.append(f"  occupancy: {occupancy['reason']}")
    imported = result.get("import")
    if imported and imported.get("available"):
        lines.append(
            f"  results import {imported['rows']:,} rows: {imported['rows_per_second']:,}/s; COPY "
            f"{imported['copy']['rows_per_second']:,}/s; ratio {imported['ratio']} (target ≥ {TARGET_IMPORT_RATIO}) "
            f"{imported['verdict']}"
        )
    elif imported:
        lines.append(f"  results import: {imported['reason']}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Seed (once) and time the quarantine pieces against ``DATABASE_URL``."""
    import argparse
    import json

    defaults = Options()
    parser = argparse.ArgumentParser(prog="python -m bench.quarantine", description=main.__doc__)
    parser.add_argument("--persons", type=int, default=defaults.persons, help="persons of the city (first seed only)")
    parser.add_argument("--placements", type=int, default=defaults.placements, help="active placements in all")
    parser.add_argument("--centralised", type=int, default=defaults.centralised, help="of them at the sites")
    parser.add_argument("--sites", type=int, default=defaults.sites)
    parser.add_argument("--floors", type=int, default=defaults.floors)
    parser.add_argument("--repeats", type=int, default=defaults.repeats, help="timed calls (after 3 warm-up ones)")
    parser.add_argument("--import-rows", type=int, default=defaults.import_rows, help="lab results imported (0: skip)")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--reseed", action="store_true", help="delete the bench's quarantine rows and seed them again")
    parser.add_argument("--recreate-db", action="store_true", help="drop the database and seed the city again too")
    parser.add_argument("--only", action="append", choices=["followup", "occupancy", "import"], default=[])
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("the quarantine benchmarks need PostgreSQL (DATABASE_URL=postgres://…)")
    city = ensure_city(url, persons=args.persons, recreate=args.recreate_db)
    options = Options(
        persons=args.persons,
        placements=args.placements,
        centralised=args.centralised,
        sites=args.sites,
        floors=args.floors,
        repeats=args.repeats,
        import_rows=args.import_rows,
        seed=args.seed,
    )
    result = benchmark(options, reseed=args.reseed, only=args.only)
    if city:
        result["city_seed"] = city
    print("\n" + "=" * 100)
    for line in summary_lines(result):
        print(line)
    print("=" * 100)
    from bench.run import RESULTS_DIR

    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / "quarantine.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"written: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
