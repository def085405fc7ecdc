"""Reads of quarantine sites, rooms and placements, always scoped; the occupancy figures and the site board.

The occupancy figures are grouped queries (rooms by site, active placements by site or by room) on indexed columns
(``room_facility_state_idx``, ``placement_facility_status_idx``): their cost follows the number of sites and rooms
shown, never the number of people placed elsewhere, and no query runs per room or per person.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from firstline.core.scoping import scope_of
from firstline.people.models import Person
from firstline.quarantine.models import (
    CareNeed,
    Facility,
    FacilityStaff,
    Floor,
    HealthCheck,
    Placement,
    PlacementPhase,
    PlacementStatus,
    Room,
    RoomState,
    Sampling,
    SiteRole,
)

# Site roles that may change the state of their own site's rooms (the cleaning team marks disinfection done).
ROOM_STATE_ROLES = (SiteRole.MANAGER,)
DISINFECTION_ROLES = (SiteRole.MANAGER, SiteRole.CLEANING)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# -- sites -------------------------------------------------------------------------------------------------------


def facility_list(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[Facility]:
    """Sites the user may see. ``filters``: ``q`` (name, code or address), ``division`` (code prefix),
    ``active`` ("1"/"0")."""
    filters = filters or {}
    facilities = Facility.objects.visible_to(user)
    text = str(filters.get("q") or "").strip()
    if text:
        facilities = facilities.filter(
            Q(name__contains=text) | Q(address__contains=text) | Q(code__startswith=text.upper())
        )
    if filters.get("division"):
        facilities = facilities.filter(path__startswith=str(filters["division"]).strip())
    active = filters.get("active")
    if active in ("1", "0"):
        facilities = facilities.filter(active=active == "1")
    return facilities.select_related("division").order_by("path", "code")


def facility_get_for_user(user: Any, pk: Any, *, write: bool = False) -> Facility:
    """One site the user may see; 404 for missing and out-of-scope alike."""
    try:
        queryset = Facility.objects.visible_to(user).select_related("division")
        if write:
            queryset = queryset.select_for_update(of=("self",))
        return queryset.get(pk=int(pk))
    except (Facility.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def rooms_visible_to(user: Any) -> QuerySet[Room]:
    """Rooms of the sites the user may see."""
    return Room.objects.filter(facility__in=Facility.objects.visible_to(user).values("pk"))


def room_get_for_user(user: Any, pk: Any, *, write: bool = False) -> Room:
    """One room of a site the user may see; 404 otherwise."""
    try:
        queryset = rooms_visible_to(user).select_related("facility", "floor")
        if write:
            queryset = queryset.select_for_update(of=("self",))
        return queryset.get(pk=int(pk))
    except (Room.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def facility_staff_get_for_user(user: Any, pk: Any) -> FacilityStaff:
    """One staff assignment of a site the user may see; 404 otherwise."""
    try:
        return FacilityStaff.objects.select_related("facility", "user").get(
            pk=int(pk), facility__in=Facility.objects.visible_to(user).values("pk")
        )
    except (FacilityStaff.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def care_need_get_for_user(user: Any, pk: Any) -> CareNeed:
    """One care need of a placement the user may see (site staff: their sites' people too); 404 otherwise."""
    try:
        return CareNeed.objects.get(pk=int(pk), placement__in=Placement.objects.visible_to(user).values("pk"))
    except (CareNeed.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def facility_staff(facility: Facility) -> QuerySet[FacilityStaff]:
    return FacilityStaff.objects.filter(facility=facility).select_related("user").order_by("-active", "site_role")


def site_roles_of(user: Any, facility_id: int) -> set[str]:
    """The user's active site roles at one site (empty for everyone else)."""
    if scope_of(user).user_id is None:
        return set()
    return set(
        FacilityStaff.objects.filter(facility_id=facility_id, user_id=user.pk, active=True).values_list(
            "site_role", flat=True
        )
    )


def floors_with_rooms(facility: Facility) -> list[dict[str, Any]]:
    """The site's floors in order, each with its rooms (two queries)."""
    floors = list(Floor.objects.filter(facility=facility).order_by("position", "label"))
    rooms: dict[int, list[Room]] = defaultdict(list)
    for room in Room.objects.filter(facility=facility).order_by("number"):
        rooms[room.floor_id].append(room)
    return [{"floor": floor, "rooms": sorted(rooms[floor.pk], key=_room_key)} for floor in floors]


def _room_key(room: Room) -> tuple[int, str]:
    # 2F's rooms 201, 202 … 210 in numeric order, with non-numeric room labels after them.
    digits = "".join(ch for ch in room.number if ch.isdigit())
    return (int(digits) if digits and digits == room.number else 10**9, room.number)


# -- occupancy ---------------------------------------------------------------------------------------------------


def _disinfection_deadline(now: datetime.datetime | None = None) -> datetime.datetime:
    return (now or timezone.now()) - datetime.timedelta(hours=settings.DISINFECTION_HOURS)


def _room_figures(facility_ids: list[int], *, now: datetime.datetime | None = None) -> dict[int, dict[str, int]]:
    """Rooms and beds per site by state (one grouped query over ``room_facility_state_idx``'s table).

    Occupied rooms are counted by state: the services keep a room ``occupied`` exactly while someone is in it."""
    late = _disinfection_deadline(now)
    rows = (
        Room.objects.filter(facility_id__in=facility_ids)
        .values("facility_id")
        .annotate(
            rooms=Count("*"),
            beds=Sum("capacity"),
            occupied_rooms=Count("id", filter=Q(state=RoomState.OCCUPIED)),
            available_rooms=Count("id", filter=Q(state=RoomState.AVAILABLE)),
            free_beds=Sum("capacity", filter=Q(state=RoomState.AVAILABLE)),
            disinfecting=Count("id", filter=Q(state=RoomState.DISINFECTING)),
            disinfecting_late=Count("id", filter=Q(state=RoomState.DISINFECTING, state_since__lt=late)),
            out_of_service=Count("id", filter=Q(state=RoomState.OUT_OF_SERVICE)),
        )
        .order_by()
    )
    return {row.pop("facility_id"): {k: v or 0 for k, v in row.items()} for row in rows}


def _people_figures(facility_ids: list[int], *, today: datetime.date) -> dict[int, dict[str, int]]:
    """Active placements per site, and those due for release by ``today`` (two grouped queries: the first reads
    only ``placement_facility_status_idx``, the second the few rows ``placement_status_due_idx`` finds)."""
    active = Placement.objects.filter(facility_id__in=facility_ids, status=PlacementStatus.ACTIVE).order_by()
    figures: dict[int, dict[str, int]] = {
        facility_id: {"people": people, "due": 0}
        for facility_id, people in active.values("facility_id").annotate(n=Count("*")).values_list("facility_id", "n")
    }
    due = (
        active.filter(due_date__lte=today).values("facility_id").annotate(n=Count("*")).values_list("facility_id", "n")
    )
    for facility_id, n in due:
        figures.setdefault(facility_id, {"people": 0, "due": 0})["due"] = n
    return figures


OCCUPANCY_FIGURES = (
    "rooms",
    "beds",
    "occupied_rooms",
    "occupied_beds",
    "people",
    "available_rooms",
    "free_beds",
    "disinfecting",
    "disinfecting_late",
    "out_of_service",
    "due",
)


def occupancy(
    user: Any,
    *,
    division: str = "",
    active_only: bool = True,
    today: datetime.date | None = None,
) -> list[dict[str, Any]]:
    """One row per site the user may see (four queries in all, whatever the number of sites or people).

    Row keys: ``facility`` and the counts ``rooms``, ``beds``, ``occupied_rooms``, ``occupied_beds`` (= ``people``,
    one bed each), ``people``, ``available_rooms`` (ready for a new household), ``free_beds`` (their beds),
    ``disinfecting`` (of which ``disinfecting_late``: longer than ``DISINFECTION_HOURS``), ``out_of_service`` and
    ``due`` (people due for release today or overdue)."""
    facilities = Facility.objects.visible_to(user)
    if division:
        facilities = facilities.filter(path__startswith=division)
    if active_only:
        facilities = facilities.filter(active=True)
    return occupancy_rows(list(facilities.select_related("division").order_by("path", "code")), today=today)


def occupancy_rows(sites: list[Facility], *, today: datetime.date | None = None) -> list[dict[str, Any]]:
    """``occupancy`` rows for sites the caller already holds (three grouped queries)."""
    today = today or timezone.localdate()
    ids = [site.pk for site in sites]
    rooms = _room_figures(ids)
    people = _people_figures(ids, today=today)
    result = []
    for site in sites:
        row: dict[str, Any] = {"facility": site}
        row.update(dict.fromkeys(OCCUPANCY_FIGURES, 0))
        row.update(rooms.get(site.pk, {}))
        row.update(people.get(site.pk, {}))
        row["occupied_beds"] = row["people"]
        result.append(row)
    return result


def occupancy_totals(rows: Iterable[dict[str, Any]]) -> dict[str, int]:
    totals = dict.fromkeys(OCCUPANCY_FIGURES, 0)
    for row in rows:
        for name in OCCUPANCY_FIGURES:
            totals[name] += int(row.get(name) or 0)
    return totals


def site_board(user: Any, facility: Facility, *, today: datetime.date | None = None) -> dict[str, Any]:
    """The site's floors × rooms with their occupants (five queries; the caller fetched ``facility`` for ``user``
    with ``facility_get_for_user``, so everyone placed at the site is theirs to see).

    ``{"facility", "floors": [{"floor", "rooms": [{"room", "state", "occupants": [{"placement_id", "person_id",
    "name", "due_date", "due", "phase", "lost"}], "free", "late"}]}], "totals": {...}}`` where a room's ``state``
    is ``occupied`` whenever someone is in it, ``free`` counts its empty beds and ``late`` marks a disinfection
    taking longer than ``DISINFECTION_HOURS``."""
    if not Facility.objects.visible_to(user).filter(pk=facility.pk).exists():
        raise Http404
    today = today or timezone.localdate()
    late = _disinfection_deadline()
    occupants: dict[int, list[dict[str, Any]]] = defaultdict(list)
    placements = list(
        Placement.objects.filter(facility_id=facility.pk, status=PlacementStatus.ACTIVE)
        .values_list("id", "room_id", "person_id", "due_date", "phase", "lost_since")
        .order_by("room_id", "start_at", "id")
    )
    # Names by primary key in a second query: joining the person table lets the planner hash all of it (a million
    # rows) for a site's thousand people; an IN list of their ids is a thousand index look-ups.
    names = dict(Person.objects.filter(pk__in={row[2] for row in placements}).values_list("pk", "name").order_by())
    for pk, room_id, person_id, due_date, phase, lost_since in placements:
        name = names.get(person_id, "")
        occupants[room_id].append(
            {
                "placement_id": pk,
                "person_id": person_id,
                "name": name,
                "due_date": due_date,
                "due": due_date <= today,
                "phase": phase,
                "lost": lost_since is not None,
            }
        )
    totals = dict.fromkeys(("rooms", "beds", "people", "occupied", "available", "disinfecting", "out_of_service"), 0)
    totals["due"] = 0
    floors = []
    for entry in floors_with_rooms(facility):
        cells = []
        for room in entry["rooms"]:
            people = occupants.get(room.pk, [])
            state = RoomState.OCCUPIED if people else room.state
            if not people and state == RoomState.OCCUPIED:  # left without the state following: show it as free
                state = RoomState.AVAILABLE
            cells.append(
                {
                    "room": room,
                    "state": str(state),
                    "occupants": people,
                    "free": max(room.capacity - len(people), 0),
                    "late": state == RoomState.DISINFECTING
                    and room.state_since is not None
                    and room.state_since < late,
                }
            )
            totals["rooms"] += 1
            totals["beds"] += room.capacity
            totals["people"] += len(people)
            totals["due"] += sum(1 for p in people if p["due"])
            key = {
                RoomState.OCCUPIED: "occupied",
                RoomState.AVAILABLE: "available",
                RoomState.DISINFECTING: "disinfecting",
                RoomState.OUT_OF_SERVICE: "out_of_service",
            }[RoomState(state)]
            totals[key] += 1
        floors.append({"floor": entry["floor"], "rooms": cells})
    return {"facility": facility, "floors": floors, "totals": totals}


# -- placements --------------------------------------------------------------------------------------------------


def placement_list(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[Placement]:
    """Placements the user may see (active ones by release date, others newest first).

    ``filters``: ``facility`` (id), ``room`` (id), ``kind``,
    ``phase``, ``status`` (default: every status), ``due`` (a date), ``due_from``/``due_to`` (dates), ``due_by``
    (due on or before a date: today's and overdue releases), ``division`` (grid or division code prefix of the
    person's home), ``grid`` (grid code: home placements watched by that grid and people living in it),
    ``measure`` (the measure type served in the placement's phase), ``q`` (person's name, ID or phone tail),
    ``person`` (id)."""
    filters = filters or {}
    placements = Placement.objects.visible_to(user)
    for name, field in (("facility", "facility_id"), ("room", "room_id"), ("person", "person_id")):
        value = _int(filters.get(name))
        if value is not None:
            placements = placements.filter(**{field: value})
    for name in ("kind", "phase", "status"):
        if filters.get(name):
            placements = placements.filter(**{name: filters[name]})
    if filters.get("due"):
        placements = placements.filter(due_date=filters["due"])
    if filters.get("due_from"):
        placements = placements.filter(due_date__gte=filters["due_from"])
    if filters.get("due_to"):
        placements = placements.filter(due_date__lte=filters["due_to"])
    if filters.get("due_by"):
        placements = placements.filter(due_date__lte=filters["due_by"])
    if filters.get("division"):
        placements = placements.filter(path__startswith=str(filters["division"]).strip())
    if filters.get("grid"):
        code = str(filters["grid"]).strip()
        placements = placements.filter(Q(grid__code=code) | Q(path__startswith=code))
    if filters.get("measure"):
        # The measure served in the placement's phase: the main measure, or its follow-on.
        kind = str(filters["measure"])
        placements = placements.filter(
            Q(phase=PlacementPhase.MAIN, measure__measure_type=kind)
            | Q(phase=PlacementPhase.FOLLOW_ON, measure__follow_on_type=kind)
        )
    text = str(filters.get("q") or "").strip()
    if text:
        placements = placements.filter(person__in=_people_matching(text))
    # Active placements by release date (today's work first, on ``placement_status_due_idx``); others newest first
    # by id (the order they were made in: an index scan that stops at the page, where start_at would sort them all).
    order = ("due_date", "id") if filters.get("status") == PlacementStatus.ACTIVE else ("-id",)
    return placements.select_related("person", "facility", "room", "room__floor", "grid", "measure").order_by(*order)


def _people_matching(text: str) -> Any:
    from firstline.people.models import Person
    from firstline.people.selectors import person_search_q

    return Person.objects.filter(person_search_q(text)).values("pk")


def placement_get_for_user(user: Any, pk: Any, *, write: bool = False) -> Placement:
    """One placement the user may see; 404 for missing and out-of-scope alike."""
    try:
        queryset = Placement.objects.visible_to(user).select_related(
            "person", "person__household", "facility", "room", "room__floor", "grid", "measure", "responsible"
        )
        if write:
            queryset = queryset.select_for_update(of=("self",))
        return queryset.get(pk=int(pk))
    except (Placement.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def placement_chain_ids(placement: Placement) -> list[int]:
    """The placement and those it was transferred from (newest first): one stay of a person under one measure."""
    ids = [placement.pk]
    previous = placement.transferred_from_id
    while previous is not None and previous not in ids:
        ids.append(previous)
        previous = Placement.objects.filter(pk=previous).values_list("transferred_from_id", flat=True).first()
    return ids


def placement_samplings(placement: Placement) -> QuerySet[Sampling]:
    """Samplings of the stay (this placement and those it was transferred from), by due day."""
    return Sampling.objects.filter(placement_id__in=placement_chain_ids(placement)).order_by(
        "due_date", "sampled_at", "id"
    )


def placement_checks(placement: Placement, *, limit: int = 60) -> list[HealthCheck]:
    """The latest health checks of the stay, newest first."""
    return list(
        HealthCheck.objects.filter(placement_id__in=placement_chain_ids(placement)).order_by("-day", "-slot")[:limit]
    )


def placement_care_needs(placement: Placement) -> QuerySet[CareNeed]:
    return CareNeed.objects.filter(placement=placement).order_by("status", "-created_at")


def placement_history(placement: Placement) -> list[Placement]:
    """Every placement of the person (the stay's transfers, the follow-on), oldest first."""
    return list(
        Placement.objects.filter(person_id=placement.person_id)
        .select_related("facility", "room")
        .order_by("start_at", "id")
    )


def room_choices(facility: Facility, *, exclude_room: int | None = None) -> list[dict[str, Any]]:
    """Rooms of a site that can take someone now (available, or occupied with a bed free), with their occupancy
    (two queries)."""
    counts = dict(
        Placement.objects.filter(facility_id=facility.pk, status=PlacementStatus.ACTIVE)
        .values("room_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("room_id", "n")
    )
    rows = []
    for room in (
        Room.objects.filter(facility=facility, state__in=(RoomState.AVAILABLE, RoomState.OCCUPIED))
        .select_related("floor")
        .order_by("floor__position", "number")
    ):
        used = counts.get(room.pk, 0)
        if used >= room.capacity or room.pk == exclude_room:
            continue
        rows.append({"room": room, "used": used})
    return sorted(rows, key=lambda r: (r["room"].floor.position, _room_key(r["room"])))
