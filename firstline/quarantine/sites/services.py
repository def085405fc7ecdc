"""Writes on quarantine sites and placements: the site's structure and staff, room states, placing a person,
transfers, release (with its guards, certificate and follow-on measure) and ending a placement.

A room's ``occupied`` state is never set by hand: it follows the room's active placements. Placing someone turns an
available room occupied; when the last occupant leaves (release, transfer, end) the room goes to ``disinfecting``
and a site manager or the cleaning team marks it done. Every capacity and household check runs with the room's row
locked (``SELECT … FOR UPDATE`` on PostgreSQL), so two people placed at once can never overfill or mix a room.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from firstline.accounts.models import Membership, User
from firstline.accounts.roles import Perm
from firstline.core import audit, identity
from firstline.core.concurrency import versioned_update
from firstline.core.dates import local_today
from firstline.core.models import AuditAction
from firstline.core.scoping import require, scope_of
from firstline.people.models import Person
from firstline.policy.explain import measure_label
from firstline.policy.models import Measure, MeasureStatus, PolicyEdition
from firstline.quarantine import hooks, measures
from firstline.quarantine.models import (
    CareNeed,
    CareNeedKind,
    CareNeedStatus,
    Facility,
    FacilityStaff,
    Floor,
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
    TestResult,
)
from firstline.quarantine.sites import selectors
from firstline.regions.models import Division, DivisionLevel, division_code, township_code

FACILITY_FIELDS = ("code", "name", "address", "division", "phone", "active", "note")
MAX_ROOMS_PER_BATCH = 500
MAX_BEDS_PER_ROOM = 20
_CODE = re.compile(r"[A-Z0-9][A-Z0-9\-]{0,31}")
_PHONE_TEXT = re.compile(r"[0-9+\-() ]{5,20}", re.ASCII)
_ROOM_NUMBER = re.compile(r"[0-9A-Za-z\-]{1,20}")


def _errors(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationError(errors)


def _snapshot_diff(before: dict[str, Any], instance: Any, fields: Iterable[str] | None = None) -> dict[str, Any]:
    return audit.diff(before, audit.snapshot(instance, list(fields) if fields is not None else None))


# -- permissions on a site ---------------------------------------------------------------------------------------


def _require_structure(actor: User, facility: Facility | None = None) -> None:
    """Changing a site's structure or staff: ``quarantine.facility`` and the site inside the actor's jurisdiction."""
    require(actor, Perm.FACILITY_MANAGE)
    if facility is not None and not scope_of(actor).covers_path(facility.path):
        raise PermissionDenied(_("This site is outside your jurisdiction."))


def can_manage_structure(actor: Any, facility: Facility) -> bool:
    scope = scope_of(actor)
    return scope.has(Perm.FACILITY_MANAGE) and scope.covers_path(facility.path)


def can_change_room_states(
    actor: Any, facility: Facility, *, disinfection: bool = False, site_roles: set[str] | None = None
) -> bool:
    """Structure managers of the site's jurisdiction; its site manager (and, to mark disinfection done, its
    cleaning team). ``site_roles``: the actor's roles at the site when the caller has them already."""
    if can_manage_structure(actor, facility):
        return True
    allowed = selectors.DISINFECTION_ROLES if disinfection else selectors.ROOM_STATE_ROLES
    held = site_roles if site_roles is not None else selectors.site_roles_of(actor, facility.pk)
    return bool(held & {str(r) for r in allowed})


# -- sites -------------------------------------------------------------------------------------------------------


def _clean_facility(*, actor: User, values: Mapping[str, Any], instance: Facility | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    code = unicodedata.normalize("NFKC", str(values.get("code") or "")).strip().upper()
    if not _CODE.fullmatch(code):
        errors["code"] = [_("Give a short code of letters and digits, e.g. QA01.")]
    elif Facility.objects.filter(code=code).exclude(pk=instance.pk if instance else 0).exists():
        errors["code"] = [_("Another site already has the code %(code)s.") % {"code": code}]
    name = identity.normalize_address(str(values.get("name") or ""))[:120]
    if not name:
        errors["name"] = [_("The name is required.")]
    address = identity.normalize_address(str(values.get("address") or ""))[:300]
    phone = unicodedata.normalize("NFKC", str(values.get("phone") or "")).strip()
    if phone and not _PHONE_TEXT.fullmatch(phone):
        errors["phone"] = [_("Enter a phone number (digits, spaces and dashes only).")]
    division = values.get("division")
    if not isinstance(division, Division):
        errors["division"] = [_("Choose the division the site is in.")]
    elif division.level in (DivisionLevel.PROVINCE, DivisionLevel.PREFECTURE):
        errors["division"] = [_("Choose a county, township or community.")]
    elif not scope_of(actor).covers_path(division.code):
        errors["division"] = [_("This division is outside your jurisdiction.")]
    _errors(errors)
    assert isinstance(division, Division)
    return {
        "code": code,
        "name": name,
        "address": address,
        "division": division,
        "path": division.code,
        "phone": phone,
        "active": bool(values.get("active", True)),
        "note": str(values.get("note") or "")[:2000],
    }


@transaction.atomic
def facility_create(
    *,
    actor: User,
    code: str,
    name: str,
    division: Division | None,
    address: str = "",
    phone: str = "",
    active: bool = True,
    note: str = "",
) -> Facility:
    """A centralised quarantine site in a division inside the actor's jurisdiction."""
    _require_structure(actor)
    values = _clean_facility(
        actor=actor,
        values={
            "code": code,
            "name": name,
            "division": division,
            "address": address,
            "phone": phone,
            "active": active,
            "note": note,
        },
        instance=None,
    )
    try:
        with transaction.atomic():
            facility = Facility.objects.create(**values)
    except IntegrityError as exc:  # the same code saved by someone else a moment ago
        raise ValidationError({"code": [_("Another site already has the code %(code)s.") % values]}) from exc
    audit.record(
        actor=actor, action=AuditAction.CREATE, instance=facility, changes=audit.diff({}, audit.snapshot(facility))
    )
    return facility


@transaction.atomic
def facility_update(*, actor: User, facility: Facility, expected_version: int, data: Mapping[str, Any]) -> Facility:
    """Change a site's fields (``data`` holds the changed ones). Moving it to another division needs both in scope;
    the people placed there follow (their ``site_path``)."""
    _require_structure(actor, facility)
    unknown = set(data) - set(FACILITY_FIELDS)
    if unknown:
        raise ValidationError({name: [_("This field cannot be changed here.")] for name in sorted(unknown)})
    merged = {name: getattr(facility, name) for name in FACILITY_FIELDS}
    merged.update(data)
    values = _clean_facility(actor=actor, values=merged, instance=facility)
    changed = {key: value for key, value in values.items() if getattr(facility, key) != value}
    if not changed:
        return facility
    before = audit.snapshot(facility)
    old_path = facility.path
    facility = versioned_update(facility, expected_version=expected_version, values=changed)
    if facility.path != old_path:
        # Visibility of who is (and was) placed at the site moves with the site.
        for model in (Placement, Sampling, HealthCheck):
            model.objects.filter(facility_id=facility.pk).update(site_path=facility.path)  # type: ignore[attr-defined]
    audit.record(actor=actor, action=AuditAction.UPDATE, instance=facility, changes=_snapshot_diff(before, facility))
    return facility


def parse_room_numbers(spec: str) -> list[str]:
    """``"301-320, 325, 330–332"`` → the room numbers, in order; ranges keep the width of their first number
    (``"01-03"`` → 01, 02, 03). Raises ValidationError on ``numbers`` with what could not be read."""
    text = unicodedata.normalize("NFKC", spec or "").replace("–", "-").replace("—", "-").replace("~", "-")
    numbers: list[str] = []
    for raw in re.split(r"[,，、;；\s]+", text):
        item = raw.strip()
        if not item:
            continue
        match = re.fullmatch(r"([A-Za-z]*)(\d+)-([A-Za-z]*)(\d+)", item)
        if match and match.group(1) == match.group(3):
            prefix, first, last = match.group(1), match.group(2), match.group(4)
            low, high = int(first), int(last)
            if high < low or high - low >= MAX_ROOMS_PER_BATCH:
                raise ValidationError(
                    {"numbers": [_("%(range)s is not a range of at most %(n)d rooms.") % {"range": item, "n": 500}]}
                )
            numbers.extend(f"{prefix}{n:0{len(first)}d}" for n in range(low, high + 1))
        elif _ROOM_NUMBER.fullmatch(item):
            numbers.append(item.upper())
        else:
            raise ValidationError({"numbers": [_("Cannot read %(item)r as a room number or range.") % {"item": item}]})
    if not numbers:
        raise ValidationError({"numbers": [_("Give room numbers, e.g. 301-320.")]})
    if len(numbers) > MAX_ROOMS_PER_BATCH:
        raise ValidationError({"numbers": [_("At most %(n)d rooms at once.") % {"n": MAX_ROOMS_PER_BATCH}]})
    seen: set[str] = set()
    repeated = sorted({n for n in numbers if n in seen or seen.add(n)})  # type: ignore[func-returns-value]
    if repeated:
        raise ValidationError({"numbers": [_("Given twice: %(numbers)s.") % {"numbers": ", ".join(repeated)}]})
    return numbers


def _clean_capacity(value: Any) -> int:
    try:
        beds = int(value)
    except (TypeError, ValueError):
        beds = 0
    if not 1 <= beds <= MAX_BEDS_PER_ROOM:
        raise ValidationError({"capacity": [_("A room has 1 to %(n)d beds.") % {"n": MAX_BEDS_PER_ROOM}]})
    return beds


@transaction.atomic
def rooms_add(
    *,
    actor: User,
    facility: Facility,
    floor_label: str,
    numbers: str | Sequence[str],
    capacity: int = 1,
    position: int | None = None,
) -> list[Room]:
    """Add a floor's rooms in one go (``numbers`` like ``"301-320"``); the floor is created when new. Room numbers
    already used at the site are refused by name and nothing is added."""
    _require_structure(actor, facility)
    label = unicodedata.normalize("NFKC", floor_label or "").strip().upper()[:20]
    errors: dict[str, list[str]] = {}
    if not label:
        errors["floor_label"] = [_("Give the floor, e.g. 3F.")]
    try:
        wanted = parse_room_numbers(numbers) if isinstance(numbers, str) else parse_room_numbers(",".join(numbers))
    except ValidationError as error:
        errors.update(error.message_dict)
        wanted = []
    try:
        beds = _clean_capacity(capacity)
    except ValidationError as error:
        errors.update(error.message_dict)
        beds = 1
    taken = sorted(Room.objects.filter(facility=facility, number__in=wanted).values_list("number", flat=True))
    if taken:
        errors["numbers"] = [_("The site already has rooms %(numbers)s.") % {"numbers": ", ".join(taken)}]
    _errors(errors)
    floor = Floor.objects.filter(facility=facility, label=label).first()
    if floor is None:
        if position is None:
            digits = "".join(ch for ch in label if ch.isdigit())
            position = int(digits) if digits and len(digits) <= 3 else Floor.objects.filter(facility=facility).count()
            if label.startswith("B") and digits:  # basement floors below ground
                position = -position
        floor = Floor.objects.create(facility=facility, label=label, position=position)
        audit.record(
            actor=actor,
            action=AuditAction.CREATE,
            instance=floor,
            path=facility.path,
            changes=audit.diff({}, audit.snapshot(floor)),
        )
    now = timezone.now()
    rooms = [
        Room(facility=facility, floor=floor, number=n, capacity=beds, state=RoomState.AVAILABLE, state_since=now)
        for n in wanted
    ]
    try:
        with transaction.atomic():
            Room.objects.bulk_create(rooms)
    except IntegrityError as exc:
        raise ValidationError({"numbers": [_("Some of these rooms were added meanwhile; reload the page.")]}) from exc
    rooms = list(Room.objects.filter(facility=facility, number__in=wanted).order_by("number"))
    # One event for the batch, on the site (rooms carry no jurisdiction path of their own).
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=facility,
        changes={"rooms": [None, [r.number for r in rooms]], "floor": [None, floor.label], "capacity": [None, beds]},
        note=f"rooms added on {floor.label}",
    )
    return rooms


def _occupants(room: Room) -> list[Placement]:
    return list(Placement.objects.filter(room=room, status=PlacementStatus.ACTIVE).select_related("person"))


def _lock_room(room: Room) -> Room:
    # Only the room's row: locking its site too would queue every placement at the site behind each other.
    return Room.objects.select_for_update(of=("self",)).select_related("facility", "floor").get(pk=room.pk)


@transaction.atomic
def room_update(
    *,
    actor: User,
    room: Room,
    expected_version: int,
    number: str | None = None,
    capacity: int | None = None,
    note: str | None = None,
    floor_label: str | None = None,
) -> Room:
    """Renumber a room, change its beds (never below who is in it now), its note or its floor."""
    _require_structure(actor, room.facility)
    room = _lock_room(room)
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    if number is not None:
        clean = unicodedata.normalize("NFKC", number).strip().upper()
        if not _ROOM_NUMBER.fullmatch(clean):
            errors["number"] = [_("Give a room number of letters and digits.")]
        elif Room.objects.filter(facility_id=room.facility_id, number=clean).exclude(pk=room.pk).exists():
            errors["number"] = [_("The site already has a room %(number)s.") % {"number": clean}]
        else:
            values["number"] = clean
    if capacity is not None:
        try:
            beds = _clean_capacity(capacity)
        except ValidationError as error:
            errors.update(error.message_dict)
        else:
            used = Placement.objects.filter(room=room, status=PlacementStatus.ACTIVE).count()
            if beds < used:
                errors["capacity"] = [_("%(n)d people are in this room now: move them first.") % {"n": used}]
            values["capacity"] = beds
    if note is not None:
        values["note"] = note.strip()[:200]
    if floor_label is not None:
        label = unicodedata.normalize("NFKC", floor_label).strip().upper()
        floor = Floor.objects.filter(facility_id=room.facility_id, label=label).first()
        if floor is None:
            errors["floor_label"] = [
                _("The site has no floor %(floor)s; add it with its rooms first.") % {"floor": label}
            ]
        else:
            values["floor"] = floor
    _errors(errors)
    changed = {key: value for key, value in values.items() if getattr(room, key) != value}
    if not changed:
        return room
    before = audit.snapshot(room)
    room = versioned_update(room, expected_version=expected_version, values=changed)
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=room,
        path=room.facility.path,
        changes=_snapshot_diff(before, room),
    )
    return room


SETTABLE_STATES = (RoomState.AVAILABLE, RoomState.DISINFECTING, RoomState.OUT_OF_SERVICE)


@transaction.atomic
def room_set_state(
    *, actor: User, room: Room, state: str, note: str | None = None, expected_version: int | None = None
) -> Room:
    """Take a room out of service, back into service, or to disinfection. ``occupied`` is not a choice: it follows
    the room's placements, and a room with people in it keeps that state until they leave."""
    room = _lock_room(room)
    disinfection_done = room.state == RoomState.DISINFECTING and state == RoomState.AVAILABLE
    if not can_change_room_states(actor, room.facility, disinfection=disinfection_done):
        raise PermissionDenied(_("Only the site's manager or the site's managing office may change room states."))
    if state not in SETTABLE_STATES:
        raise ValidationError(
            {"state": [_("“Occupied” follows who is in a room: choose available, disinfecting or out of service.")]}
        )
    used = Placement.objects.filter(room=room, status=PlacementStatus.ACTIVE).count()
    if used:
        raise ValidationError(
            {
                "state": [
                    _("%(n)d people are in room %(room)s: move them before changing its state.")
                    % {"n": used, "room": room.number}
                ]
            }
        )
    if state == room.state and expected_version in (None, room.version):
        return room
    values: dict[str, Any] = {"state": state, "state_since": timezone.now()}
    if note is not None:
        values["note"] = note.strip()[:200]
    before = audit.snapshot(room)
    room = versioned_update(room, expected_version=expected_version or room.version, values=values)
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=room,
        path=room.facility.path,
        changes=_snapshot_diff(before, room),
    )
    return room


def room_disinfected(*, actor: User, room: Room) -> Room:
    """The cleaning team is done: a disinfecting room is available again."""
    if room.state != RoomState.DISINFECTING:
        raise ValidationError({"state": [_("Room %(room)s is not being disinfected.") % {"room": room.number}]})
    return room_set_state(actor=actor, room=room, state=RoomState.AVAILABLE)


@transaction.atomic
def staff_assign(*, actor: User, facility: Facility, user: User, site_role: str) -> FacilityStaff:
    """Put a user on a site's staff in a site role (or change their role; a removed one comes back)."""
    _require_structure(actor, facility)
    errors: dict[str, list[str]] = {}
    if site_role not in SiteRole.values:
        errors["site_role"] = [_("Unknown site role %(role)r.") % {"role": site_role}]
    if not user.is_active:
        errors["user"] = [_("This account is switched off.")]
    elif not Membership.objects.visible_to(actor).filter(user=user, active=True).exists():
        errors["user"] = [_("This user works outside your jurisdiction.")]
    _errors(errors)
    staff = FacilityStaff.objects.select_for_update().filter(facility=facility, user=user).first()
    if staff is None:
        staff = FacilityStaff.objects.create(facility=facility, user=user, site_role=site_role, active=True)
        before: dict[str, Any] = {}
        action = AuditAction.CREATE
    else:
        before = audit.snapshot(staff)
        staff.site_role, staff.active = site_role, True
        staff.save(update_fields=["site_role", "active", "updated_at"])
        action = AuditAction.UPDATE
    audit.record(actor=actor, action=action, instance=staff, path=facility.path, changes=_snapshot_diff(before, staff))
    user.forget_scope()
    return staff


@transaction.atomic
def staff_remove(*, actor: User, staff: FacilityStaff) -> FacilityStaff:
    """Take a user off a site's staff (kept as inactive, for the record); they stop seeing the site at once."""
    _require_structure(actor, staff.facility)
    if not staff.active:
        return staff
    before = audit.snapshot(staff)
    staff.active = False
    staff.save(update_fields=["active", "updated_at"])
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=staff,
        path=staff.facility.path,
        changes=_snapshot_diff(before, staff),
    )
    return staff


# -- placing a person --------------------------------------------------------------------------------------------


def _where(placement: Placement) -> str:
    if placement.room_id is not None and placement.room is not None and placement.facility is not None:
        return f"{placement.facility.name} {placement.room.number}"
    return str(_("at home"))


def _kind_label(kind: str) -> str:
    return str(PlacementKind(kind).label) if kind in PlacementKind.values else kind


def _check_measure(*, person: Person, measure: Measure | None, kind: str, phase: str, day: datetime.date) -> Measure:
    if measure is None:
        raise ValidationError(
            {
                "measure": [
                    _("%(name)s has no active quarantine measure: nobody is placed without one.")
                    % {"name": person.name}
                ]
            }
        )
    if measure.person_id != person.pk:
        raise ValidationError({"measure": [_("This measure belongs to someone else.")]})
    if measure.status != MeasureStatus.ACTIVE:
        raise ValidationError({"measure": [_("This measure is no longer active.")]})
    if phase not in PlacementPhase.values:
        raise ValidationError({"phase": [_("Unknown phase %(phase)r.") % {"phase": phase}]})
    if phase == PlacementPhase.FOLLOW_ON and not measure.follow_on_type:
        raise ValidationError({"phase": [_("This measure has no follow-on measure.")]})
    expected = measures.expected_kind(measure, phase)
    measure_type = measure.follow_on_type if phase == PlacementPhase.FOLLOW_ON else measure.measure_type
    if expected is None:
        raise ValidationError(
            {
                "measure": [
                    _("The measure is %(measure)s: it needs no placement (tests or self-monitoring only).")
                    % {"measure": measure_label(measure_type)}
                ]
            }
        )
    if expected != kind:
        raise ValidationError(
            {
                "kind": [
                    _(
                        "The measure is %(measure)s (%(start)s – %(end)s): it keeps the person %(expected)s, "
                        "not %(kind)s."
                    )
                    % {
                        "measure": measure_label(measure_type),
                        "start": measure.start.isoformat(),
                        "end": measures.phase_dates(measure, phase)[0].isoformat(),
                        "expected": _kind_label(expected),
                        "kind": _kind_label(kind),
                    }
                ]
            }
        )
    due, _days = measures.phase_dates(measure, phase)
    if due < day:
        raise ValidationError({"measure": [_("The measure ended on %(date)s.") % {"date": due.isoformat()}]})
    return measure


def _check_room(*, room: Room, person: Person, actor: Any) -> Room:
    """The room locked, after the capacity, state and household checks (errors on ``room``)."""
    room = _lock_room(room)
    if actor is not None and not Facility.objects.visible_to(actor).filter(pk=room.facility_id).exists():
        raise ValidationError({"room": [_("This room is at a site outside your jurisdiction.")]})
    if not room.facility.active:
        raise ValidationError({"room": [_("The site %(site)s is not in use.") % {"site": room.facility.name}]})
    if room.state == RoomState.OUT_OF_SERVICE:
        raise ValidationError({"room": [_("Room %(room)s is out of service.") % {"room": room.number}]})
    if room.state == RoomState.DISINFECTING:
        raise ValidationError(
            {
                "room": [
                    _("Room %(room)s is being disinfected; mark it done before placing anyone.") % {"room": room.number}
                ]
            }
        )
    occupants = _occupants(room)
    if len(occupants) >= room.capacity:
        raise ValidationError(
            {
                "room": [
                    _("Room %(room)s is full (%(used)d of %(beds)d beds).")
                    % {"room": room.number, "used": len(occupants), "beds": room.capacity}
                ]
            }
        )
    if occupants:
        if person.household_id is None:
            raise ValidationError(
                {
                    "room": [
                        _("%(name)s has no household on record: they get a room of their own.") % {"name": person.name}
                    ]
                }
            )
        strangers = [p for p in occupants if p.household_id != person.household_id]
        if strangers:
            raise ValidationError(
                {
                    "room": [
                        _("Room %(room)s holds %(names)s of another household: one household per room.")
                        % {"room": room.number, "names": ", ".join(p.person.name for p in strangers)}
                    ]
                }
            )
    return room


def _check_responsible(responsible: Any, grid: Any) -> None:
    from firstline.regions.selectors import responsible_candidates

    if responsible is None:
        return
    if (
        not getattr(responsible, "is_active", False)
        or not responsible_candidates(grid).filter(pk=responsible.pk).exists()
    ):
        raise ValidationError(
            {"responsible": [_("Choose a worker or cadre of the household's grid, village or township.")]}
        )


def _room_occupied(room: Room, *, at: datetime.datetime) -> None:
    if room.state != RoomState.OCCUPIED:
        versioned_update(room, expected_version=room.version, values={"state": RoomState.OCCUPIED, "state_since": at})


def _room_vacated(room_id: int | None, *, at: datetime.datetime, actor: Any) -> None:
    """The last occupant left: the room goes to disinfection."""
    if room_id is None:
        return
    room = Room.objects.select_for_update(of=("self",)).select_related("facility").get(pk=room_id)
    if Placement.objects.filter(room_id=room_id, status=PlacementStatus.ACTIVE).exists():
        return
    if room.state in (RoomState.DISINFECTING, RoomState.OUT_OF_SERVICE):
        return
    before = audit.snapshot(room, ["state", "state_since"])
    room = versioned_update(
        room, expected_version=room.version, values={"state": RoomState.DISINFECTING, "state_since": at}
    )
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=room,
        path=room.facility.path,
        changes=_snapshot_diff(before, room, ["state", "state_since"]),
        note="last occupant left",
    )


def _check_person(actor: Any, person: Person) -> Person:
    if actor is not None and not Person.objects.visible_to(actor).filter(pk=person.pk).exists():
        raise Http404
    person = Person.objects.select_related("household", "household__grid").get(pk=person.pk)
    if person.merged_into_id is not None:
        raise ValidationError({"person": [_("This record was merged into another person; place that person.")]})
    current = (
        Placement.objects.filter(person=person, status=PlacementStatus.ACTIVE)
        .select_related("facility", "room")
        .first()
    )
    if current is not None:
        raise ValidationError(
            {
                "person": [
                    _("%(name)s is already placed (%(where)s, since %(date)s): transfer or end that placement instead.")
                    % {
                        "name": person.name,
                        "where": _where(current),
                        "date": timezone.localtime(current.start_at).date().isoformat(),
                    }
                ]
            }
        )
    return person


def _clean_number(value: str, field: str) -> str:
    text = unicodedata.normalize("NFKC", value or "").strip()
    if len(text) > 40:
        raise ValidationError({field: [_("At most 40 characters.")]})
    return text


def _care_need_rows(care_needs: Iterable[Any]) -> list[tuple[str, str]]:
    rows = []
    for index, item in enumerate(care_needs):
        kind, description = item if isinstance(item, tuple | list) else (item.get("kind"), item.get("description", ""))
        if kind not in CareNeedKind.values:
            raise ValidationError({f"care_needs[{index}].kind": [_("Unknown need %(kind)r.") % {"kind": kind}]})
        rows.append((str(kind), str(description or "").strip()[:500]))
    return rows


def _create(
    *,
    actor: Any,
    person: Person,
    kind: str,
    measure: Measure,
    phase: str,
    room: Room | None,
    seal_number: str,
    sensor_number: str,
    responsible: Any,
    start_at: datetime.datetime,
    transferred_from: Placement | None = None,
    care_needs: Sequence[tuple[str, str]] = (),
) -> Placement:
    """Write a checked placement, its room's state, its samplings and care needs, and the audit."""
    due, _days = measures.phase_dates(measure, phase)
    values: dict[str, Any] = {
        "person": person,
        "measure": measure,
        "kind": kind,
        "phase": phase,
        "household_id": person.household_id,
        "path": person.path,
        "start_at": start_at,
        "due_date": due,
        "seal_number": seal_number,
        "sensor_number": sensor_number,
        "created_by": actor if isinstance(actor, User) else None,
        "transferred_from": transferred_from,
    }
    if kind == PlacementKind.CENTRALISED:
        assert room is not None
        values.update(facility=room.facility, room=room, site_path=room.facility.path)
    else:
        household = person.household
        assert household is not None
        values.update(grid=household.grid, responsible=responsible)
    try:
        with transaction.atomic():
            placement = Placement.objects.create(**values)
    except IntegrityError as exc:  # placed by someone else a moment ago (placement_one_active_per_person)
        raise ValidationError(
            {
                "person": [
                    _("%(name)s was placed by someone else a moment ago; reload the page.") % {"name": person.name}
                ]
            }
        ) from exc
    if room is not None:
        _room_occupied(room, at=start_at)
    audit.record(
        actor=actor,
        action=AuditAction.CREATE,
        instance=placement,
        changes=audit.diff({}, audit.snapshot(placement)),
        note=f"transferred from {transferred_from.pk}" if transferred_from else "",
    )
    needs = [
        CareNeed(placement=placement, path=placement.path, kind=need, description=text, created_by=values["created_by"])
        for need, text in care_needs
    ]
    if needs:
        CareNeed.objects.bulk_create(needs)
        audit.record_many(
            actor=actor, action=AuditAction.CREATE, instances=needs, changes=lambda n: audit.diff({}, audit.snapshot(n))
        )
        for need in needs:
            hooks.care_need_added(need, actor=actor)
    measures.schedule_samplings(placement, actor=actor)
    return placement


@transaction.atomic
def placement_create(
    *,
    actor: Any,
    person: Person,
    kind: str,
    room: Room | None = None,
    measure: Measure | None = None,
    phase: str = PlacementPhase.MAIN,
    seal_number: str = "",
    sensor_number: str = "",
    responsible: Any = None,
    start_at: datetime.datetime | None = None,
    care_needs: Iterable[Any] = (),
) -> Placement:
    """Place a person under their measure: in a room of a site, or at home under their grid's watch.

    ``measure`` defaults to the person's governing one and must keep them where ``kind`` says (a centralised
    measure → a room; home quarantine/monitoring → home). A room takes one household, up to its beds, and never
    while out of service or being disinfected; a person without a household gets a room of their own. ``actor``
    None is the system (no permission or visibility checks). ``care_needs``: (kind, description) pairs or dicts.
    Samplings for the measure's test days are scheduled. Raises ValidationError by field, Http404 for a person
    the actor may not see."""
    if actor is not None:
        require(actor, Perm.PLACEMENT_MANAGE)
    start_at = start_at or timezone.now()
    person = _check_person(actor, person)
    if kind not in PlacementKind.values:
        raise ValidationError({"kind": [_("Choose a site room or home.")]})
    if measure is None:
        measure = measures.governing_measures([person.pk]).get(person.pk)
    measure = _check_measure(
        person=person, measure=measure, kind=kind, phase=phase, day=timezone.localtime(start_at).date()
    )
    rows = _care_need_rows(care_needs)
    seal_number = _clean_number(seal_number, "seal_number")
    sensor_number = _clean_number(sensor_number, "sensor_number")
    if kind == PlacementKind.CENTRALISED:
        if room is None:
            raise ValidationError({"room": [_("Choose the room.")]})
        room = _check_room(room=room, person=person, actor=actor)
        responsible = None
    else:
        if person.household is None:
            raise ValidationError(
                {
                    "person": [
                        _(
                            "%(name)s has no household on record: register it first "
                            "(home quarantine is at the household)."
                        )
                        % {"name": person.name}
                    ]
                }
            )
        _check_responsible(responsible, person.household.grid)
        room = None
    return _create(
        actor=actor,
        person=person,
        kind=kind,
        measure=measure,
        phase=phase,
        room=room,
        seal_number=seal_number,
        sensor_number=sensor_number,
        responsible=responsible,
        start_at=start_at,
        care_needs=rows,
    )


def _lock_active(placement: Placement, actor: Any) -> Placement:
    if actor is not None and not Placement.objects.visible_to(actor).filter(pk=placement.pk).exists():
        raise Http404
    locked = (
        Placement.objects.select_for_update(of=("self",))
        .select_related(
            "person", "person__household", "person__household__grid", "facility", "room", "measure", "measure__edition"
        )
        .get(pk=placement.pk)
    )
    if locked.status != PlacementStatus.ACTIVE:
        raise ValidationError(
            {
                "status": [
                    _("This placement is no longer active (%(status)s).") % {"status": locked.get_status_display()}
                ]
            }
        )
    return locked


def _close(
    placement: Placement,
    *,
    actor: Any,
    status: str,
    at: datetime.datetime,
    reason: str,
    extra: Mapping[str, Any] | None = None,
) -> Placement:
    fields = ["status", "ended_at", "end_reason", "ended_by", "certificate_number"]
    before = audit.snapshot(placement, fields)
    values = {
        "status": status,
        "ended_at": at,
        "end_reason": reason[:300],
        "ended_by": actor if isinstance(actor, User) else None,
    }
    values.update(extra or {})
    placement = versioned_update(placement, expected_version=placement.version, values=values)
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=placement,
        changes=_snapshot_diff(before, placement, fields),
        note=f"{status}: {reason}"[:1000],
    )
    return placement


def _cancel_samplings(placement: Placement, *, after: datetime.date | None, actor: Any, note: str) -> int:
    """Scheduled samplings of the placement (those after ``after`` only, when given) are no longer needed."""
    open_ = Sampling.objects.filter(placement=placement, status=SamplingStatus.SCHEDULED)
    if after is not None:
        open_ = open_.filter(due_date__gt=after)
    stale = list(open_)
    if not stale:
        return 0
    Sampling.objects.filter(pk__in=[s.pk for s in stale]).update(
        status=SamplingStatus.CANCELLED, note=note[:300], updated_at=timezone.now()
    )
    audit.record_many(
        actor=actor,
        action=AuditAction.UPDATE,
        instances=stale,
        changes=lambda s: {"status": [SamplingStatus.SCHEDULED, SamplingStatus.CANCELLED]},
        note=note,
    )
    return len(stale)


@transaction.atomic
def placement_transfer(
    *,
    actor: Any,
    placement: Placement,
    reason: str,
    room: Room | None = None,
    at: datetime.datetime | None = None,
    seal_number: str = "",
    sensor_number: str = "",
    responsible: Any = None,
) -> Placement:
    """Move a placed person to another room or site (``room``), or home (no room, when the measure now keeps them
    at home). The old placement is closed as transferred with the reason; the new one continues the stay
    (``transferred_from``) and its open samplings move over. Returns the new placement."""
    if actor is not None:
        require(actor, Perm.PLACEMENT_MANAGE)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Give the reason for the transfer.")]})
    at = at or timezone.now()
    old = _lock_active(placement, actor)
    if room is not None and room.pk == old.room_id:
        raise ValidationError({"room": [_("The person is in this room already.")]})
    if room is None and old.kind == PlacementKind.HOME:
        raise ValidationError({"room": [_("Choose the room to move the person to.")]})
    kind = PlacementKind.CENTRALISED if room is not None else PlacementKind.HOME
    person = old.person
    measure = measures.governing_measures([person.pk]).get(person.pk) or old.measure
    measure = _check_measure(
        person=person, measure=measure, kind=kind, phase=old.phase, day=timezone.localtime(at).date()
    )
    seal_number = _clean_number(seal_number, "seal_number")
    sensor_number = _clean_number(sensor_number, "sensor_number")
    if room is not None:
        room = _check_room(room=room, person=person, actor=actor)
    else:
        if person.household is None:
            raise ValidationError(
                {"room": [_("%(name)s has no household on record: choose a room.") % {"name": person.name}]}
            )
        _check_responsible(responsible, person.household.grid)
    old = _close(old, actor=actor, status=PlacementStatus.TRANSFERRED, at=at, reason=reason)
    _room_vacated(old.room_id, at=at, actor=actor)
    new = _create(
        actor=actor,
        person=person,
        kind=kind,
        measure=measure,
        phase=old.phase,
        room=room,
        seal_number=seal_number,
        sensor_number=sensor_number,
        responsible=responsible,
        start_at=at,
        transferred_from=old,
    )
    # Open care needs travel with the person; samplings moved in schedule_samplings.
    CareNeed.objects.filter(placement=old, status=CareNeedStatus.OPEN).update(placement=new, path=new.path)
    # Past days left open stay on the old placement: the release guards read the whole stay, so a test missed
    # before the transfer still holds the release.
    return new


# -- release -----------------------------------------------------------------------------------------------------


@dataclass
class _ReleaseFacts:
    samplings: list[Sampling]
    edition: PolicyEdition | None


def _edition(placement: Placement, today: datetime.date) -> PolicyEdition | None:
    """The edition whose rules govern the release: the measure's, else the one in force that day."""
    if placement.measure_id is not None and placement.measure is not None:
        return placement.measure.edition
    return PolicyEdition.objects.in_force_on(today)


def _sampling_blocker(sampling: Sampling) -> str | None:
    day = sampling.due_date.isoformat() if sampling.due_date else ""
    if sampling.status == SamplingStatus.CANCELLED:
        return None
    if sampling.status in (SamplingStatus.SCHEDULED, SamplingStatus.MISSED):
        return _("Test of %(day)s: not sampled.") % {"day": day}
    if sampling.result == TestResult.NEGATIVE:
        return None
    if sampling.result == TestResult.POSITIVE:
        return _("Test of %(day)s: positive.") % {
            "day": day or timezone.localtime(sampling.sampled_at).date().isoformat()
        }
    if sampling.result == TestResult.INVALID:
        return _("Test of %(day)s: invalid, sample again.") % {"day": day}
    return _("Test of %(day)s: awaiting the result.") % {"day": day}


def _blockers(placement: Placement, *, today: datetime.date, facts: _ReleaseFacts) -> list[str]:
    if placement.status != PlacementStatus.ACTIVE:
        return [_("This placement is no longer active (%(status)s).") % {"status": placement.get_status_display()}]
    reasons: list[str] = []
    if today < placement.due_date:
        edition = facts.edition
        if edition is None or not edition.early_release_allowed:
            reasons.append(
                _("Release is due on %(due)s; %(edition)s does not allow release before the end date.")
                % {"due": placement.due_date.isoformat(), "edition": edition.name if edition else _("the policy")}
            )
    for sampling in facts.samplings:
        if sampling.due_date is None:
            # Unscheduled tests count only when positive (a positive anywhere in the stay holds the release).
            if sampling.result == TestResult.POSITIVE:
                reasons.append(_sampling_blocker(sampling) or "")
            continue
        if sampling.due_date > today:
            continue
        reason = _sampling_blocker(sampling)
        if reason:
            reasons.append(reason)
    if _follow_on_kind(placement, today) == PlacementKind.HOME and placement.person.household_id is None:
        reasons.append(_("The follow-on home monitoring needs the person's household: register it first."))
    return reasons


def _follow_on_kind(placement: Placement, today: datetime.date) -> str | None:
    measure = placement.measure
    if placement.phase != PlacementPhase.MAIN or measure is None or not measure.follow_on_type:
        return None
    if measure.follow_on_end is None or measure.follow_on_end < today:
        return None
    return measures.expected_kind(measure, PlacementPhase.FOLLOW_ON)


def release_facts(placements: Sequence[Placement], *, today: datetime.date) -> dict[int, _ReleaseFacts]:
    """What the release guards read, for many placements in a few queries (``release_due``, lists)."""
    chains: dict[int, list[int]] = {p.pk: [p.pk] for p in placements}
    frontier = {p.pk: p.transferred_from_id for p in placements if p.transferred_from_id}
    while frontier:
        for pk, previous in frontier.items():
            chains[pk].append(previous)
        parents = dict(
            Placement.objects.filter(pk__in=set(frontier.values()), transferred_from__isnull=False).values_list(
                "pk", "transferred_from_id"
            )
        )
        frontier = {
            pk: parents[prev] for pk, prev in frontier.items() if prev in parents and parents[prev] not in chains[pk]
        }
    owners: dict[int, list[int]] = {}
    for pk, members in chains.items():
        for member in members:
            owners.setdefault(member, []).append(pk)
    by_placement: dict[int, list[Sampling]] = {p.pk: [] for p in placements}
    for sampling in Sampling.objects.filter(placement_id__in=list(owners)).order_by("due_date", "id"):
        for pk in owners.get(sampling.placement_id or 0, []):
            by_placement[pk].append(sampling)
    in_force: list[PolicyEdition | None] = []
    result = {}
    for placement in placements:
        if placement.measure_id is None and not in_force:
            in_force.append(PolicyEdition.objects.in_force_on(today))
        edition = placement.measure.edition if placement.measure is not None else in_force[0]
        result[placement.pk] = _ReleaseFacts(samplings=by_placement[placement.pk], edition=edition)
    return result


def release_blockers(placement: Placement, *, today: datetime.date) -> list[str]:
    """Why the placement may not be released on ``today`` (empty: it may). Before the due date unless the edition
    allows early release (then a reason is asked for at release); every scheduled test up to today must be
    negative (not sampled, awaiting the result, positive and invalid are named with their day)."""
    return _blockers(placement, today=today, facts=release_facts([placement], today=today)[placement.pk])


def release_blockers_many(placements: Sequence[Placement], *, today: datetime.date) -> dict[int, list[str]]:
    """``release_blockers`` for a list (select_related person and measure__edition on it): a few queries in all."""
    facts = release_facts(placements, today=today)
    return {p.pk: _blockers(p, today=today, facts=facts[p.pk]) for p in placements}


def early_release_possible(placement: Placement, *, today: datetime.date) -> bool:
    """Before the due date, with an edition that allows an early release."""
    if today >= placement.due_date:
        return False
    edition = _edition(placement, today)
    return bool(edition and edition.early_release_allowed)


def certificate_number(placement: Placement, *, year: int) -> str:
    """``QA01-2026-000123``: the site's code (home: the township's code), the year and the placement's number
    (unique by construction, no counter to race on)."""
    prefix = (
        placement.facility.code
        if placement.facility is not None
        else f"H{township_code(placement.path) or division_code(placement.path)}"
    )
    return f"{prefix}-{year}-{placement.pk:06d}"


@dataclass
class ReleaseResult:
    placement: Placement
    follow_on: Placement | None


@transaction.atomic
def placement_release_with_follow_on(
    *, actor: Any, placement: Placement, today: datetime.date | None = None, early_reason: str = ""
) -> ReleaseResult:
    """``placement_release``, also returning the follow-on placement it started (if any)."""
    if actor is not None:
        require(actor, Perm.PLACEMENT_MANAGE)
    today = today or local_today()
    placement = _lock_active(placement, actor)
    blockers = release_blockers(placement, today=today)
    early_reason = (early_reason or "").strip()
    errors: dict[str, list[str]] = {}
    if blockers:
        errors["blockers"] = blockers
    if today < placement.due_date and not early_reason and early_release_possible(placement, today=today):
        errors["early_reason"] = [
            _("Release before %(due)s is an early release: give the reason.") % {"due": placement.due_date.isoformat()}
        ]
    _errors(errors)
    now = timezone.now()
    reason = _("early release: %(reason)s") % {"reason": early_reason} if today < placement.due_date else ""
    placement = _close(
        placement,
        actor=actor,
        status=PlacementStatus.RELEASED,
        at=now,
        reason=reason,
        extra={"certificate_number": certificate_number(placement, year=today.year)},
    )
    _cancel_samplings(placement, after=today, actor=actor, note="released")
    _room_vacated(placement.room_id, at=now, actor=actor)
    follow_on = None
    if _follow_on_kind(placement, today) == PlacementKind.HOME:
        follow_on = _start_follow_on(actor=actor, placement=placement, at=now)
    return ReleaseResult(placement=placement, follow_on=follow_on)


def placement_release(
    *, actor: Any, placement: Placement, today: datetime.date | None = None, early_reason: str = ""
) -> Placement:
    """Release a person (status released, certificate number), when ``release_blockers`` has nothing; before the
    due date only if the edition allows it and with ``early_reason``. The room goes to disinfection when empty and
    the measure's follow-on (e.g. home health monitoring after centralised quarantine) starts at once as a home
    placement with its own test days. ValidationError: ``blockers`` (the reasons) and/or ``early_reason``."""
    return placement_release_with_follow_on(
        actor=actor, placement=placement, today=today, early_reason=early_reason
    ).placement


def _start_follow_on(*, actor: Any, placement: Placement, at: datetime.datetime) -> Placement:
    person = placement.person
    measure = placement.measure
    assert measure is not None and person.household is not None
    household = person.household
    follow_on = _create(
        actor=actor,
        person=person,
        kind=PlacementKind.HOME,
        measure=measure,
        phase=PlacementPhase.FOLLOW_ON,
        room=None,
        seal_number="",
        sensor_number="",
        responsible=household.responsible if household.responsible_id else None,
        start_at=at,
    )
    return follow_on


@transaction.atomic
def placement_end(*, actor: Any, placement: Placement, reason: str, at: datetime.datetime | None = None) -> Placement:
    """End a placement because the person left the measure's path (became a case, went to hospital, died …):
    status ended with the reason; open samplings are cancelled and the room goes to disinfection when empty."""
    if actor is not None:
        require(actor, Perm.PLACEMENT_MANAGE)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Give the reason (became a case, taken to hospital …).")]})
    at = at or timezone.now()
    placement = _lock_active(placement, actor)
    placement = _close(placement, actor=actor, status=PlacementStatus.ENDED, at=at, reason=reason)
    _cancel_samplings(placement, after=None, actor=actor, note="placement ended")
    _room_vacated(placement.room_id, at=at, actor=actor)
    return placement


@transaction.atomic
def placement_update(
    *,
    actor: Any,
    placement: Placement,
    expected_version: int,
    seal_number: str | None = None,
    sensor_number: str | None = None,
    responsible: Any = ...,
) -> Placement:
    """Seal and door-sensor numbers, the responsible worker of a home placement."""
    if actor is not None:
        require(actor, Perm.PLACEMENT_MANAGE)
    placement = _lock_active(placement, actor)
    values: dict[str, Any] = {}
    if seal_number is not None:
        values["seal_number"] = _clean_number(seal_number, "seal_number")
    if sensor_number is not None:
        values["sensor_number"] = _clean_number(sensor_number, "sensor_number")
    if responsible is not ...:
        if placement.kind != PlacementKind.HOME or placement.grid is None:
            raise ValidationError({"responsible": [_("Only a home placement has a responsible worker.")]})
        _check_responsible(responsible, placement.grid)
        values["responsible"] = responsible
    changed = {key: value for key, value in values.items() if getattr(placement, key) != value}
    if not changed:
        return placement
    before = audit.snapshot(placement)
    placement = versioned_update(placement, expected_version=expected_version, values=changed)
    audit.record(actor=actor, action=AuditAction.UPDATE, instance=placement, changes=_snapshot_diff(before, placement))
    return placement


# -- care needs --------------------------------------------------------------------------------------------------


@transaction.atomic
def care_need_add(*, actor: Any, placement: Placement, kind: str, description: str = "") -> CareNeed:
    """Supplies or help the person needs (food, medicine …): the community's care queue picks it up."""
    if actor is not None:
        require(actor, Perm.PLACEMENT_MANAGE)
    placement = _lock_active(placement, actor)
    ((kind, description),) = _care_need_rows([(kind, description)])
    need = CareNeed.objects.create(
        placement=placement,
        path=placement.path,
        kind=kind,
        description=description,
        created_by=actor if isinstance(actor, User) else None,
    )
    audit.record(actor=actor, action=AuditAction.CREATE, instance=need, changes=audit.diff({}, audit.snapshot(need)))
    hooks.care_need_added(need, actor=actor)
    return need


@transaction.atomic
def care_need_close(*, actor: Any, need: CareNeed, done: bool = True) -> CareNeed:
    """Mark a care need done (or cancelled)."""
    if actor is not None:
        require(actor, Perm.PLACEMENT_MANAGE)
        if (
            not CareNeed.objects.visible_to(actor).filter(pk=need.pk).exists()
            and not Placement.objects.visible_to(actor).filter(pk=need.placement_id).exists()
        ):
            raise Http404
    if need.status != CareNeedStatus.OPEN:
        return need
    before = audit.snapshot(need)
    need = versioned_update(
        need,
        expected_version=need.version,
        values={"status": CareNeedStatus.DONE if done else CareNeedStatus.CANCELLED, "done_at": timezone.now()},
    )
    audit.record(actor=actor, action=AuditAction.UPDATE, instance=need, changes=_snapshot_diff(before, need))
    return need


def open_needs_count(placement_ids: Iterable[int]) -> dict[int, int]:
    return dict(
        CareNeed.objects.filter(placement_id__in=list(placement_ids), status=CareNeedStatus.OPEN)
        .values("placement_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("placement_id", "n")
    )
