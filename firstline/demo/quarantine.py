"""The demo city's quarantine work: sites with floors and rooms, the people under measures placed, tested and checked.

Runs after the screening and tracing demo data, whose arrivals and contacts carry measures. Everything goes through
the services a user would use (site and room set-up, staff, placements, samplings and results, health checks, the
missed-check sweep), so the demo shows real schedules, alerts, tasks and audit rows:

* three sites (two in the main township, one in its neighbour), with floors of single and double rooms, one room
  out of service and one being disinfected; the demo account ``site`` manages the first, ``nurse`` works there;
* everyone under a centralised measure in a room (a household per room, up to its beds; the first site first),
  everyone under home quarantine or home monitoring at home under their grid worker, a seal number for some and
  care needs for two;
* a case reported and isolated a week ago (through the tracing services): their household, close contacts since,
  and a friend they lunched with that day (a secondary contact) finish their measures today, so a release is due
  today at the first site and in the ``grid`` account's grid;
* the past test days sampled and negative (one left overdue), yesterday's health checks, the current slot's
  for most, one fever alert at the first site, and one person at home lost to follow-up.
"""

from __future__ import annotations

import datetime
import random
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from firstline.accounts.models import Membership, User
from firstline.accounts.roles import Role
from firstline.accounts.services import membership_grant, user_create
from firstline.people.models import Person
from firstline.policy.models import Measure, MeasureRule, MeasureStatus, PolicyEdition, Trigger
from firstline.quarantine import measures
from firstline.quarantine.models import (
    CareNeedKind,
    CheckSource,
    Facility,
    HealthCheck,
    Placement,
    PlacementKind,
    PlacementPhase,
    PlacementStatus,
    Room,
    RoomState,
    Sampling,
    SamplingStatus,
    SiteRole,
    Symptom,
)
from firstline.quarantine.monitoring import slots
from firstline.quarantine.monitoring.services import flag_missed, health_check_record
from firstline.quarantine.sites.services import (
    facility_create,
    placement_create,
    room_set_state,
    rooms_add,
    staff_assign,
)
from firstline.quarantine.testing.services import result_enter, sampling_record
from firstline.regions.models import Division, Grid, Household
from firstline.tracing.clusters.services import clusters_recompute
from firstline.tracing.models import Case
from firstline.tracing.services import case_create, exposure_create

# (code, name, township code or "" for the main township, address, [(floor, room numbers, beds)])
SITES: list[tuple[str, str, str, str, list[tuple[str, str, int]]]] = [
    (
        "JG-01",
        "格萨尔酒店集中隔离点（演示）",
        "",
        "结古街道胜利路（虚构）",
        [("1F", "101-108", 1), ("2F", "201-208", 2), ("3F", "301-306", 2)],
    ),
    ("JG-02", "康巴宾馆集中隔离点（演示）", "", "结古街道红卫路（虚构）", [("1F", "101-106", 2), ("2F", "201-206", 1)]),
    ("XZ-01", "新寨集中隔离点（演示）", "632701004", "新寨街道（虚构）", [("1F", "101-110", 1)]),
]
LABS = ("玉树州疾控中心实验室", "玉树州人民医院检验科")
CARE_NEEDS = [
    (CareNeedKind.FOOD, "代购蔬菜、糌粑和酥油（演示）"),
    (CareNeedKind.MEDICINE, "高血压常用药，每日一次（演示）"),
]
NURSE = "nurse"
_NAMES = {NURSE: "白玛（护士）", "site2": "才仁（隔离点负责人）", "site3": "卓玛（隔离点负责人）"}
FEVER_C = Decimal("38.2")


def _local(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def seed_quarantine(*, users: dict[str, User], township_code: str, seed: int, password: str) -> dict[str, int]:
    """Load the demo's quarantine data; returns counts for the seed report."""
    rng = random.Random(f"{seed}:quarantine")
    now = timezone.now()
    today = timezone.localdate()
    city = users["city"]
    sites = _create_sites(city, township_code=township_code)
    if not sites:
        return {}
    checkers = _staff(users, sites=sites, city=city, password=password)
    due_today = _earlier_case(users, township_code=township_code, today=today)
    placements = _place_everyone(city, sites=sites, first=due_today, now=now, today=today, rng=rng)
    taken = _take_samplings(placements, checkers=checkers, cdc=users["cdc"], due_today=due_today, now=now, rng=rng)
    checks, lost = _record_checks(placements, checkers=checkers, due_today=due_today, now=now, rng=rng)
    return {
        "sites": len(sites),
        "rooms": Room.objects.filter(facility__in=sites).count(),
        "placements": len(placements),
        "centralised": sum(1 for p in placements if p.kind == PlacementKind.CENTRALISED),
        "samplings": Sampling.objects.filter(placement__in=placements).count(),
        "samplings_taken": taken,
        "health_checks": checks,
        "lost": lost,
        "releases_due_today": sum(1 for p in placements if p.due_date == today),
    }


def _create_sites(city: User, *, township_code: str) -> list[Facility]:
    sites = []
    for code, name, township, address, floors in SITES:
        division = Division.objects.filter(code=township or township_code).first()
        if division is None:
            continue
        facility = facility_create(
            actor=city, code=code, name=name, division=division, address=address, phone="0976-8800000"
        )
        for position, (label, numbers, beds) in enumerate(floors, start=1):
            rooms_add(
                actor=city, facility=facility, floor_label=label, numbers=numbers, capacity=beds, position=position
            )
        sites.append(facility)
    if sites:
        # The board shows every state: the last room of the first site's top floor is out of service, the one
        # before it being disinfected after its last guest left.
        last = list(Room.objects.filter(facility=sites[0]).order_by("-floor__position", "-number")[:2])
        room_set_state(actor=city, room=last[0], state=RoomState.OUT_OF_SERVICE, note="热水器维修（演示）")
        room_set_state(actor=city, room=last[1], state=RoomState.DISINFECTING)
    return sites


def _earlier_case(users: dict[str, User], *, township_code: str, today: datetime.date) -> set[int]:
    """A case reported and isolated a week ago: their household, close contacts ever since, and a friend they met
    that day (a secondary contact, in the ``grid`` account's grid) finish their measures today, so releases are
    due today at the first site and at home. Returns the person ids concerned."""
    days = 7
    rule = MeasureRule.objects.filter(
        edition=PolicyEdition.objects.in_force_on(today), trigger=Trigger.CLOSE_CONTACT
    ).first()
    if rule is not None:
        days = rule.duration_days
    week_ago = today - datetime.timedelta(days=days)
    busy = set(Measure.objects.values_list("person_id", flat=True)) | set(
        Case.objects.values_list("person_id", flat=True)
    )
    sizes = dict(
        Person.objects.filter(path__startswith=township_code, household__isnull=False)
        .values("household_id")
        .annotate(n=Count("id"))
        .values_list("household_id", "n")
    )
    busy_households = set(Person.objects.filter(pk__in=busy).values_list("household_id", flat=True))
    household = next((h for h, n in sorted(sizes.items()) if n in (2, 3) and h not in busy_households), None)
    if household is None:
        return set()
    person = Person.objects.filter(household_id=household).order_by("-birth_date", "id").first()
    assert person is not None
    cdc = users["cdc"]
    result = case_create(
        actor=cdc,
        person=person,
        values={
            "classification": "confirmed",
            "onset_date": week_ago - datetime.timedelta(days=1),
            "sampling_date": week_ago,
            "report_date": week_ago,
            "isolated_on": week_ago,
            "found_by": "clinic",
            "isolation_place": "玉树州人民医院",
        },
    )
    household_contacts = [c.person for c in result.derivation.created if c.kind == "close"]
    concerned = {c.pk for c in household_contacts}
    lead_grids = Membership.objects.filter(user=users["grid"], role=Role.GRID_WORKER).values("grid")
    friend = (
        Person.objects.filter(household__grid__in=lead_grids, birth_date__year__lt=2000)
        .exclude(pk__in=busy | concerned | {person.pk})
        .exclude(household_id=household)
        .order_by("id")
        .first()
    )
    if household_contacts and friend is not None:
        lunch = _local(week_ago, 12)
        exposure_create(
            actor=cdc,
            source=household_contacts[0],
            exposed=friend,
            values={
                "setting": "shared_meal",
                "start": lunch,
                "end": lunch + datetime.timedelta(hours=1),
                "proximity": "within_1m",
                "protection": "none",
                "evidence": "流调：病例确诊当天与其家人同桌午餐（演示）",
            },
        )
        concerned.add(friend.pk)
    clusters_recompute()  # as the tracing demo does: its clusters page includes this chain at once
    return concerned


def _phase(measure: Measure, today: datetime.date) -> str | None:
    if measure.end >= today:
        return PlacementPhase.MAIN
    if measure.follow_on_type and measure.follow_on_end and measure.follow_on_end >= today:
        return PlacementPhase.FOLLOW_ON
    return None


def _place_everyone(
    actor: User,
    *,
    sites: Sequence[Facility],
    first: set[int],
    now: datetime.datetime,
    today: datetime.date,
    rng: random.Random,
) -> list[Placement]:
    """Everyone under a centralised or home measure placed: a household per room (the first site first), or home."""
    person_ids = set(Measure.objects.filter(status=MeasureStatus.ACTIVE).values_list("person_id", flat=True))
    person_ids -= set(Placement.objects.filter(status=PlacementStatus.ACTIVE).values_list("person_id", flat=True))
    governing = measures.governing_measures(person_ids)
    people = {p.pk: p for p in Person.objects.filter(pk__in=governing).select_related("household", "household__grid")}
    groups: dict[Any, list[tuple[Person, Measure, str]]] = defaultdict(list)
    home: list[tuple[Person, Measure, str]] = []
    for person_id in sorted(governing, key=lambda pk: (pk not in first, pk)):
        measure, person = governing[person_id], people[person_id]
        phase = _phase(measure, today)
        kind = measures.expected_kind(measure, phase) if phase else None
        if kind == PlacementKind.CENTRALISED:
            groups[person.household_id or f"alone-{person.pk}"].append((person, measure, phase or ""))
        elif kind == PlacementKind.HOME and person.household is not None:
            home.append((person, measure, phase or ""))
    rooms = list(
        Room.objects.filter(facility__in=sites, state=RoomState.AVAILABLE)
        .select_related("facility", "floor")
        .order_by("facility__code", "floor__position", "number")
    )
    placements: list[Placement] = []
    for members in groups.values():
        while members and rooms:
            room = rooms.pop(0)
            for person, measure, phase in members[: room.capacity]:
                placements.append(
                    placement_create(
                        actor=actor,
                        person=person,
                        kind=PlacementKind.CENTRALISED,
                        room=room,
                        measure=measure,
                        phase=phase,
                        start_at=_start(measure, phase, now),
                    )
                )
            members = members[room.capacity :]
    workers = dict(
        Membership.objects.filter(role=Role.GRID_WORKER, active=True, grid__isnull=False)
        .order_by("-id")
        .values_list("grid_id", "user_id")
    )
    worker_users = {u.pk: u for u in User.objects.filter(pk__in=workers.values())}
    for index, (person, measure, phase) in enumerate(home):
        household: Household = person.household  # type: ignore[assignment]  # home placements have one
        grid: Grid = household.grid
        placements.append(
            placement_create(
                actor=actor,
                person=person,
                kind=PlacementKind.HOME,
                measure=measure,
                phase=phase,
                responsible=worker_users.get(workers.get(grid.pk, 0)),
                seal_number=f"YS-FT-{rng.randint(10000, 99999)}" if index % 3 == 0 else "",
                start_at=_start(measure, phase, now),
                care_needs=[CARE_NEEDS[index]] if index < len(CARE_NEEDS) else [],
            )
        )
    return placements


def _start(measure: Measure, phase: str, now: datetime.datetime) -> datetime.datetime:
    """Placed on the morning the measure (or its follow-on) began; now for a measure that begins later."""
    day = measure.follow_on_start if phase == PlacementPhase.FOLLOW_ON and measure.follow_on_start else measure.start
    return min(_local(day, 10), now)


def _staff(users: dict[str, User], *, sites: Sequence[Facility], city: User, password: str) -> dict[Any, User]:
    """The sites' staff: ``site`` manages the first site with a nurse (``nurse``), ``site2``, ``site3`` … manage
    the others. Returns who records checks and samplings: a site's nurse or manager (key: the facility id) and, at
    home, the grid's worker (key: ("grid", grid id))."""
    checkers: dict[Any, User] = {}
    for number, facility in enumerate(sites, start=1):
        accounts = [("site", SiteRole.MANAGER), (NURSE, SiteRole.NURSE)] if number == 1 else []
        accounts = accounts or [(f"site{number}", SiteRole.MANAGER)]
        for username, site_role in accounts:
            account = users.get(username)
            if account is None:
                account = user_create(
                    actor=None, username=username, password=password, display_name=_NAMES.get(username, username)
                )
                membership_grant(actor=None, user=account, role=Role.SITE_STAFF, division=facility.division)
            staff_assign(actor=city, facility=facility, user=account, site_role=site_role)
            checkers[facility.pk] = account  # the last one listed: the nurse where there is one
    workers = Membership.objects.filter(role=Role.GRID_WORKER, active=True, grid__isnull=False).select_related("user")
    for membership in workers.order_by("id"):
        checkers.setdefault(("grid", membership.grid_id), membership.user)
    return checkers


def _checker(placement: Placement, checkers: dict[Any, User]) -> User | None:
    key = placement.facility_id if placement.facility_id else ("grid", placement.grid_id)
    return checkers.get(key)


def _take_samplings(
    placements: Sequence[Placement],
    *,
    checkers: dict[Any, User],
    cdc: User,
    due_today: set[int],
    now: datetime.datetime,
    rng: random.Random,
) -> int:
    """The past test days sampled in the morning and negative by the afternoon (one left overdue); today's too for
    the people due for release today, so their release can go ahead."""
    today = timezone.localdate(now)
    samplings = list(
        Sampling.objects.filter(placement__in=placements, status=SamplingStatus.SCHEDULED, due_date__lte=today)
        .select_related("placement")
        .order_by("due_date", "id")
    )
    overdue = next((s for s in samplings if s.due_date and s.due_date < today and s.person_id not in due_today), None)
    taken = 0
    for sampling in samplings:
        if sampling is overdue or sampling.due_date is None:
            continue
        if sampling.due_date == today and sampling.person_id not in due_today:
            continue
        placement = sampling.placement
        assert placement is not None
        actor = _checker(placement, checkers)
        sampled_at = max(_local(sampling.due_date, 8, rng.randrange(60)), placement.start_at)
        # Today's: this morning, or now when the morning is still to come (a seed run just after midnight).
        sampled_at = min(sampled_at, timezone.now())
        if actor is None or sampled_at < placement.start_at or timezone.localdate(sampled_at) != sampling.due_date:
            continue
        sampling = sampling_record(
            actor=actor,
            sampling=sampling,
            sampled_at=sampled_at,
            tube_code=f"YS{sampled_at:%y%m%d}{sampling.pk:06d}",
            sampler_name="采样组（演示）",
        )
        result_at = min(sampled_at + datetime.timedelta(hours=6), timezone.now())
        result_enter(actor=cdc, sampling=sampling, result="negative", result_at=result_at, lab=LABS[taken % 2])
        taken += 1
    return taken


def _record_checks(
    placements: Sequence[Placement],
    *,
    checkers: dict[Any, User],
    due_today: set[int],
    now: datetime.datetime,
    rng: random.Random,
) -> tuple[int, int]:
    """Yesterday's checks and the current slot's for most; a fever at the first site; the earliest placed
    person at home never checked, then the missed-check sweep marks them lost. Returns (checks, lost)."""
    limit = settings.HEALTH_CHECK_MISSED_LIMIT
    lost_before = slots.passed(now, limit)[-1].end  # placed before this and never checked: lost
    at_home = sorted(
        (p for p in placements if p.kind == PlacementKind.HOME and p.person_id not in due_today),
        key=lambda p: (p.start_at, p.pk),
    )
    lost = at_home[0] if at_home and at_home[0].start_at < lost_before else None
    current = slots.slot_of(now)
    # The fever: someone at the first site (the ``site`` account's), in the current slot.
    fever = next((p for p in placements if p.kind == PlacementKind.CENTRALISED and p.person_id not in due_today), None)
    recent = [
        s for back in (1, 0) for s in slots.day_slots(current.day - datetime.timedelta(days=back)) if s.start <= now
    ]
    normal = [Decimal(t) / 10 for t in range(360, 372)]
    for index, placement in enumerate(placements):
        actor = _checker(placement, checkers)
        if placement is lost or actor is None:
            continue
        for slot in recent:
            is_current = slot == current
            if is_current and index % 3 == 2:
                continue  # the current slot is not done for everyone yet
            at = max(slot.start + datetime.timedelta(minutes=rng.randrange(5, 50)), placement.start_at)
            at = min(at, now - datetime.timedelta(minutes=1), slot.end - datetime.timedelta(minutes=1))
            if at < placement.start_at or at < slot.start:
                continue
            health_check_record(actor=actor, placement=placement, at=at, temperature=rng.choice(normal), symptoms=[])
    if fever is not None:
        # Entered for the current slot: it creates the slot's check or corrects the one just recorded.
        health_check_record(
            actor=_checker(fever, checkers),
            placement=fever,
            at=max(now - datetime.timedelta(minutes=2), fever.start_at),
            temperature=FEVER_C,
            symptoms=[Symptom.FEVER, Symptom.COUGH],
            note="夜间寒战（演示）",
            source=CheckSource.STAFF,
        )
    flag_missed(now=now)
    ids = [p.pk for p in placements]
    lost_count = Placement.objects.filter(pk__in=ids, lost_since__isnull=False).count()
    return HealthCheck.objects.filter(placement_id__in=ids).count(), lost_count
