"""Today's follow-up list: "my people today" for a grid worker, a site's staff or a department's sampling team.

One row per person: today's check slots (recorded, open, missed), the tests due (today, or earlier and still not
taken), release due, lost to follow-up. A handful of queries whatever the number of people in the city, all on
indexed columns: the placements (by grid or site, and status), their checks of the day (placement, day), their
tests due (placement, due day), the grid's residents not placed anywhere with a test due, a team's samplings.

A grid's list can have hundreds of rows: rows carry the placement and person with only the fields shown (where
they are, the measure, the household's address come as annotations), and checks and tests as small read-only
records, so building the list costs about what the queries cost.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from firstline.core.scoping import scope_of
from firstline.policy.models import MeasureType
from firstline.quarantine.models import (
    HealthCheck,
    Placement,
    PlacementKind,
    PlacementPhase,
    PlacementStatus,
    SamplingStatus,
)
from firstline.quarantine.monitoring import selectors, slots
from firstline.regions.models import Grid

# Cell states of a slot in a row.
DONE = "done"
ALERT = "alert"
OPEN = "open"  # running now, not yet recorded
MISSED = "missed"  # passed without a check
LATER = "later"  # not begun yet
NOT_PLACED = "not_placed"  # the person was placed after the slot ended (or on a later day)

PERSON_FIELDS = ("name", "phone", "id_number", "path")
PLACEMENT_FIELDS = (
    *("kind", "phase", "status", "start_at", "due_date", "lost_since", "path", "site_path", "version"),
    *("person_id", "facility_id", "room_id", "grid_id", "responsible_id", "measure_id"),
    *(f"person__{name}" for name in PERSON_FIELDS),
)


@dataclass(frozen=True)
class RecordedCheck:
    id: int
    placement_id: int
    day: datetime.date
    slot: int
    at: datetime.datetime
    temperature: Decimal
    symptoms: list[str]
    alert: bool
    source: str

    @property
    def pk(self) -> int:
        return self.id


@dataclass(frozen=True)
class TestDue:
    id: int
    placement_id: int | None
    person_id: int
    due_date: datetime.date | None
    status: str
    team: str

    @property
    def pk(self) -> int:
        return self.id


@dataclass
class SlotCell:
    slot: slots.Slot
    check: RecordedCheck | None
    state: str

    @property
    def editable(self) -> bool:
        return self.state in (DONE, ALERT, OPEN, MISSED)


@dataclass
class TodayRow:
    person: Any
    placement: Placement | None
    day: datetime.date
    cells: list[SlotCell] = field(default_factory=list)
    samplings: list[TestDue] = field(default_factory=list)
    release_due: bool = False
    address: str = ""

    @property
    def sampling(self) -> TestDue | None:
        return self.samplings[0] if self.samplings else None

    @property
    def to_test(self) -> bool:
        return bool(self.samplings)

    @property
    def sampling_overdue(self) -> bool:
        return any(s.due_date is not None and s.due_date < self.day for s in self.samplings)

    @property
    def to_check(self) -> int:
        """Slots of the day still without a check (open now or missed)."""
        return sum(1 for cell in self.cells if cell.state in (OPEN, MISSED))

    @property
    def alert(self) -> bool:
        return any(cell.state == ALERT for cell in self.cells)

    @property
    def lost_since(self) -> datetime.datetime | None:
        return self.placement.lost_since if self.placement is not None else None

    @property
    def measure_label(self) -> str:
        placement = self.placement
        if placement is None:
            return ""
        kind: str = str(getattr(placement, "measure_type", None) or "")
        follow_on: str = str(getattr(placement, "follow_on_type", None) or "")
        if placement.phase == PlacementPhase.FOLLOW_ON and follow_on:
            kind = follow_on
        return str(MeasureType(kind).label) if kind in MeasureType.values else ""

    @property
    def where(self) -> str:
        """The room (site code, floor, number) or the household's address."""
        placement = self.placement
        if placement is not None and placement.room_id is not None:
            parts = (getattr(placement, name, "") for name in ("facility_code", "floor_label", "room_number"))
            return " ".join(str(part) for part in parts if part)
        return self.address


def own_placements_q(user: Any) -> Q | None:
    """The user's own people: home placements their grids watch or they answer for, everyone at their sites.

    Grid and site ids are read first (tiny queries) so the placement query is an OR of plain indexed equalities
    (``placement_grid_status_idx``, ``placement_facility_status_idx``, the responsible worker's index) that the
    database can answer from the indexes instead of scanning every active placement in the city.
    """
    scope = scope_of(user)
    if scope.user_id is None:
        return None
    condition = Q(responsible_id=scope.user_id)
    if scope.grid_codes:
        grid_ids = list(Grid.objects.filter(code__in=scope.grid_codes).values_list("pk", flat=True))
        condition |= Q(kind=PlacementKind.HOME, grid_id__in=grid_ids)
    if "site_staff" in scope.roles:
        site_ids = list(selectors.my_site_ids(scope).values_list("facility_id", flat=True))
        condition |= Q(facility_id__in=site_ids)
    return condition


def today_placements(
    user: Any, *, grid: Any = None, facility: Any = None, floor: Any = None, everyone: bool = False
) -> QuerySet[Placement]:
    """Active placements on the list: the grid's home placements, the site's people (by floor), or the user's own
    people when neither is given (``everyone``: all the placements the user checks, for officers). Each carries
    the person (the fields a row shows) and, as annotations, where it is, the household's address and the measure."""
    placements = selectors.placements_for_checks(user).filter(status=PlacementStatus.ACTIVE)
    if grid is not None:
        placements = placements.filter(grid=grid, kind=PlacementKind.HOME)
    if facility is not None:
        placements = placements.filter(facility=facility)
    if floor is not None:
        placements = placements.filter(room__floor=floor)
    if grid is None and facility is None and floor is None and not everyone:
        condition = own_placements_q(user)
        if condition is None:
            return placements.none()
        placements = placements.filter(condition)
    return (
        placements.select_related("person")
        .only(*PLACEMENT_FIELDS)
        .annotate(
            facility_code=F("facility__code"),
            floor_label=F("room__floor__label"),
            floor_position=F("room__floor__position"),
            room_number=F("room__number"),
            grid_code=F("grid__code"),
            grid_name=F("grid__name"),
            address=F("person__household__address"),
            measure_type=F("measure__measure_type"),
            follow_on_type=F("measure__follow_on_type"),
        )
        .order_by("facility_code", "floor_position", "room_number", "grid_code", "person__name", "pk")
    )


def _due_q(day: datetime.date) -> Q:
    """Tests to take on ``day``: due that day, or earlier and still not taken while the person is placed (the
    definition of ``testing.selectors.samplings_due``)."""
    return Q(due_date=day, status=SamplingStatus.SCHEDULED) | Q(
        due_date__lt=day,
        status__in=[SamplingStatus.SCHEDULED, SamplingStatus.MISSED],
        placement__status=PlacementStatus.ACTIVE,
    )


_TEST_COLUMNS = ("id", "placement_id", "person_id", "due_date", "status", "team__name")


def _tests(rows: Iterable[tuple[Any, ...]]) -> list[TestDue]:
    return [
        TestDue(id=pk, placement_id=placement, person_id=person, due_date=due, status=status, team=team or "")
        for pk, placement, person, due, status, team in rows
    ]


def due_tests(user: Any, *, day: datetime.date, placement_ids: list[int]) -> list[TestDue]:
    """The tests due on ``day`` of these placements: helper B's ``testing.selectors.samplings_due``, read as
    plain values (one query on ``sampling_placement_due_idx``)."""
    from firstline.quarantine.testing.selectors import samplings_due

    if not placement_ids:
        return []
    found = samplings_due(user, day=day).filter(placement_id__in=placement_ids)
    return _tests(found.order_by("due_date", "id").values_list(*_TEST_COLUMNS))


def rows_for(
    placements: Iterable[Placement],
    *,
    day: datetime.date,
    tests: Iterable[TestDue] = (),
    now: datetime.datetime | None = None,
) -> list[TodayRow]:
    """Rows for these placements on ``day`` (one query: the day's checks), with their ``tests`` due."""
    now = now or timezone.now()
    placements = list(placements)
    ids = [p.pk for p in placements]
    checks: dict[tuple[int, int], RecordedCheck] = {}
    if ids:
        columns = ("id", "placement_id", "day", "slot", "at", "temperature", "symptoms", "alert", "source")
        for values in HealthCheck.objects.filter(placement_id__in=ids, day=day).values_list(*columns):
            check = RecordedCheck(*values)
            checks[(check.placement_id, check.slot)] = check
    by_placement: dict[int, list[TestDue]] = defaultdict(list)
    for test in tests:
        if test.placement_id is not None:
            by_placement[test.placement_id].append(test)
    day_slots = [(slot, slots.counts_from(slot)) for slot in slots.day_slots(day)]
    rows = []
    for placement in placements:
        cells = [
            _cell(placement, slot, checks.get((placement.pk, slot.index)), now, placed_before)
            for slot, placed_before in day_slots
        ]
        rows.append(
            TodayRow(
                person=placement.person,
                placement=placement,
                day=day,
                cells=cells,
                samplings=by_placement.get(placement.pk, []),
                release_due=placement.due_date <= day,
                address=getattr(placement, "address", "") or "",
            )
        )
    return rows


def _cell(
    placement: Placement,
    slot: slots.Slot,
    check: RecordedCheck | None,
    now: datetime.datetime,
    placed_before: datetime.datetime,
) -> SlotCell:
    if check is not None:
        return SlotCell(slot=slot, check=check, state=ALERT if check.alert else DONE)
    if placement.start_at >= placed_before:
        return SlotCell(slot=slot, check=None, state=NOT_PLACED)
    if not slot.has_begun(now):
        return SlotCell(slot=slot, check=None, state=LATER)
    if slot.has_passed(now):
        return SlotCell(slot=slot, check=None, state=MISSED)
    return SlotCell(slot=slot, check=None, state=OPEN)


def _person_rows(samplings: Any, *, day: datetime.date) -> list[TodayRow]:
    """One row per person of these samplings (tests only, no checks): unplaced residents, a team's list."""
    by_person: dict[int, TodayRow] = {}
    for sampling in samplings.select_related("person", "person__household", "placement", "team").order_by(
        "person__path", "person__name", "due_date", "id"
    ):
        row = by_person.get(sampling.person_id)
        if row is None:
            placement = sampling.placement if sampling.placement and sampling.placement.is_active else None
            household = sampling.person.household
            row = by_person[sampling.person_id] = TodayRow(
                person=sampling.person,
                placement=placement,
                day=day,
                release_due=bool(placement and placement.due_date <= day),
                address=household.address if household is not None else "",
            )
        row.samplings.append(
            TestDue(
                id=sampling.pk,
                placement_id=sampling.placement_id,
                person_id=sampling.person_id,
                due_date=sampling.due_date,
                status=sampling.status,
                team=sampling.team.name if sampling.team else "",
            )
        )
    return list(by_person.values())


def unplaced_rows(user: Any, *, day: datetime.date, grid_paths: list[str]) -> list[TodayRow]:
    """Residents of these grids not placed anywhere who have a test due (e.g. 2 tests in 3 days)."""
    from firstline.quarantine.testing.selectors import samplings_due

    if not grid_paths:
        return []
    where = Q()
    for path in grid_paths:
        where |= Q(path__startswith=path)
    return _person_rows(samplings_due(user, day=day).filter(where, placement__isnull=True), day=day)


def team_rows(user: Any, *, day: datetime.date, department: Any = None) -> list[TodayRow]:
    """A sampling team's list: the people whose samplings are assigned to the team, due on ``day`` or still not
    taken from before while the person is placed."""
    samplings = selectors.team_samplings(user).filter(_due_q(day))
    if department is not None:
        samplings = samplings.filter(team=department)
    return _person_rows(samplings, day=day)


def today_list(
    user: Any,
    *,
    day: datetime.date | None = None,
    grid: Any = None,
    facility: Any = None,
    department: Any = None,
    floor: Any = None,
) -> list[TodayRow]:
    """Who to check, who to test and who is due for release on ``day`` (today by default).

    ``grid`` (a Grid): its home placements and its unplaced residents with a test due; ``facility`` (a Facility,
    optionally a ``floor``): its people by floor and room; ``department`` (a Department): the samplings assigned
    to that team. With none of them: the user's own people (their grids, their sites, the placements they answer
    for) and, for a department member, their team's samplings. Rows the user may not see are never listed.
    """
    day = day or timezone.localdate()
    rows: list[TodayRow] = []
    mine = grid is None and facility is None and floor is None
    if department is None or not mine:
        placements = list(today_placements(user, grid=grid, facility=facility, floor=floor))
        tests = due_tests(user, day=day, placement_ids=[p.pk for p in placements])
        rows = rows_for(placements, day=day, tests=tests)
        grid_paths = [grid.path] if grid is not None else (list(scope_of(user).grid_codes) if mine else [])
        rows.extend(unplaced_rows(user, day=day, grid_paths=grid_paths))
    if department is not None or mine:
        listed = {row.person.pk for row in rows}
        rows.extend(row for row in team_rows(user, day=day, department=department) if row.person.pk not in listed)
    return rows


@dataclass(frozen=True)
class TodaySummary:
    people: int
    to_check: int
    alerts: int
    to_test: int
    releases: int
    lost: int


def summarise(rows: Iterable[TodayRow]) -> TodaySummary:
    rows = list(rows)
    return TodaySummary(
        people=len(rows),
        to_check=sum(1 for row in rows if any(cell.state == OPEN for cell in row.cells)),
        alerts=sum(1 for row in rows if row.alert),
        to_test=sum(1 for row in rows if row.to_test),
        releases=sum(1 for row in rows if row.release_due),
        lost=sum(1 for row in rows if row.lost_since is not None),
    )
