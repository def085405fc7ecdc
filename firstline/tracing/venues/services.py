"""Writes on venues (场所码) and check-ins: the registry, a visit, a check-out, and retention.

Check-ins are written by anonymous visitors at the rate of a busy city, so ``checkin_record`` is lean: with the
venue in hand, on PostgreSQL one statement finds a repeated scan, the registered person and inserts the row (see
``_INTAKE_SQL``); elsewhere, and when accompanying persons come along, the ORM runs the same steps as a
de-duplication SELECT, a person look-up and INSERTs (in a transaction only with companions). Check-ins are not
audited one by one: the row is its own record, and an audit event would keep the visitor's traces beyond the
retention period that the deletion is there to honour.
"""

from __future__ import annotations

import datetime
import re
import secrets
import unicodedata
from collections.abc import Iterable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from firstline.accounts.models import User
from firstline.accounts.roles import Perm
from firstline.core import audit, identity
from firstline.core.concurrency import versioned_update
from firstline.core.models import AuditAction
from firstline.core.scoping import require, scope_of
from firstline.people.models import Person
from firstline.regions.models import Division, Grid
from firstline.tracing.models import CheckIn, CheckInSource, Venue, VenueCategory
from firstline.tracing.venues import partitions, selectors

# Uppercase letters and digits without the look-alikes 0/O, 1/I/L: read aloud or typed from a poster without doubt.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8  # 31^8 ≈ 8.5e11 codes: guessing one is hopeless under the rate limit
CLOCK_SKEW = datetime.timedelta(minutes=1)
MAX_COMPANIONS = 20
CHECKOUT_SALT = "firstline.tracing.venues.checkout"
_PHONE_TEXT = re.compile(r"[0-9+\-() ]{5,20}", re.ASCII)
VENUE_FIELDS = ("name", "category", "address", "grid", "division", "default_stay_minutes", "contact_phone")


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


# -- venues ------------------------------------------------------------------------------------------------------


def _clean_venue(*, actor: User, values: Mapping[str, Any]) -> dict[str, Any]:
    """Validated model values (with ``path``) from form/API values; every bad field reported at once."""
    errors: dict[str, list[str]] = {}
    name = identity.normalize_address(values.get("name") or "")[:120]
    if not name:
        errors.setdefault("name", []).append(_("The name is required."))
    category = values.get("category") or ""
    if category not in VenueCategory.values:
        errors.setdefault("category", []).append(_("Unknown category %(category)r.") % {"category": category})
    address = identity.normalize_address(values.get("address") or "")[:300]
    raw_stay: Any = values.get("default_stay_minutes")
    longest = settings.CHECKIN_MAX_STAY_HOURS * 60
    try:
        stay = 30 if raw_stay in (None, "") else int(raw_stay)
    except (TypeError, ValueError):
        stay = 0
    if not 1 <= stay <= longest:
        errors.setdefault("default_stay_minutes", []).append(
            _("The default stay is between 1 and %(longest)d minutes.") % {"longest": longest}
        )
    phone = unicodedata.normalize("NFKC", values.get("contact_phone") or "").strip()
    if phone and not _PHONE_TEXT.fullmatch(phone):
        errors.setdefault("contact_phone", []).append(_("Enter a phone number (digits, spaces and dashes only)."))
    grid: Grid | None = values.get("grid")
    division: Division | None = values.get("division")
    path = ""
    scope = scope_of(actor)
    if grid is not None:
        path = grid.path
        if division is not None and not grid.path.startswith(division.code):
            errors.setdefault("grid", []).append(_("This grid is not in the chosen division."))
        elif not scope.covers_path(path):
            errors.setdefault("grid", []).append(_("This grid is outside your jurisdiction."))
    elif division is not None:
        path = division.code
        if not scope.covers_path(path):
            errors.setdefault("division", []).append(_("This division is outside your jurisdiction."))
    else:
        errors.setdefault("grid", []).append(_("Choose the grid or the division the venue belongs to."))
    if errors:
        raise ValidationError(errors)
    return {
        "name": name,
        "category": category,
        "address": address,
        "grid": grid,
        "path": path,
        "default_stay_minutes": stay,
        "contact_phone": phone,
    }


@transaction.atomic
def venue_create(
    *,
    actor: User,
    name: str,
    category: str,
    address: str = "",
    grid: Grid | None = None,
    division: Division | None = None,
    default_stay_minutes: int = 30,
    contact_phone: str = "",
) -> Venue:
    """A venue in the actor's jurisdiction (path from the grid, else the division) with a random unique code."""
    require(actor, Perm.VENUE_MANAGE)
    values = _clean_venue(
        actor=actor,
        values={
            "name": name,
            "category": category,
            "address": address,
            "grid": grid,
            "division": division,
            "default_stay_minutes": default_stay_minutes,
            "contact_phone": contact_phone,
        },
    )
    for _attempt in range(5):
        try:
            with transaction.atomic():
                venue = Venue.objects.create(code=new_code(), created_by=actor, **values)
            break
        except IntegrityError:  # a code collision: rare, draw another
            continue
    else:
        raise ValidationError({"name": [_("Could not create a unique venue code; try again.")]})
    audit.record(actor=actor, action=AuditAction.CREATE, instance=venue, changes=audit.diff({}, audit.snapshot(venue)))
    return venue


def _require_in_scope(actor: User, venue: Venue) -> None:
    if not scope_of(actor).covers_path(venue.path):
        raise ValidationError({"venue": [_("This venue is outside your jurisdiction.")]})


@transaction.atomic
def venue_update(*, actor: User, venue: Venue, expected_version: int, data: Mapping[str, Any]) -> Venue:
    """Change a venue's fields (``data`` holds only the changed ones, as a PATCH) if nobody changed it meanwhile.

    The code never changes: it is printed on posters. Moving a venue needs both its old and new place in scope.
    """
    require(actor, Perm.VENUE_MANAGE)
    _require_in_scope(actor, venue)
    unknown = set(data) - set(VENUE_FIELDS)
    if unknown:
        raise ValidationError({name: [_("This field cannot be changed here.")] for name in sorted(unknown)})
    merged: dict[str, Any] = {
        "name": venue.name,
        "category": venue.category,
        "address": venue.address,
        "grid": venue.grid,
        "division": None,
        "default_stay_minutes": venue.default_stay_minutes,
        "contact_phone": venue.contact_phone,
    }
    if venue.grid_id is None:
        merged["division"] = Division.objects.filter(code=venue.path).first()
    if "division" in data and "grid" not in data:
        merged["grid"] = None  # choosing a division alone moves the venue out of its grid
    merged.update(data)
    values = _clean_venue(actor=actor, values=merged)
    changed = {key: value for key, value in values.items() if getattr(venue, key) != value}
    if not changed:
        return venue
    before = audit.snapshot(venue)
    venue = versioned_update(venue, expected_version=expected_version, values=changed)
    audit.record(
        actor=actor, action=AuditAction.UPDATE, instance=venue, changes=audit.diff(before, audit.snapshot(venue))
    )
    selectors.venue_cache_forget(venue.code)
    return venue


@transaction.atomic
def venue_set_active(*, actor: User, venue: Venue, active: bool, expected_version: int | None = None) -> Venue:
    """Switch a venue on or off; an inactive venue's QR code leads to the friendly 404 page.

    With ``expected_version`` (the API's PATCH) a venue changed meanwhile is refused (StaleVersionError)."""
    require(actor, Perm.VENUE_MANAGE)
    _require_in_scope(actor, venue)
    if venue.active == active and expected_version in (None, venue.version):
        return venue
    before = audit.snapshot(venue)
    version = venue.version if expected_version is None else expected_version
    venue = versioned_update(venue, expected_version=version, values={"active": active})
    audit.record(
        actor=actor, action=AuditAction.UPDATE, instance=venue, changes=audit.diff(before, audit.snapshot(venue))
    )
    selectors.venue_cache_forget(venue.code)
    return venue


# -- check-ins ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Companion:
    """An accompanying person (同行人员): a name, and a phone or ID number when known."""

    name: str
    phone: str = ""
    id_number: str = ""
    id_type: str = identity.RESIDENT_ID


@dataclass
class _Identity:
    phone: str = ""
    id_type: str = identity.RESIDENT_ID
    id_number: str = ""
    name: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)


def _clean_identity(
    *, phone: str, id_number: str, id_type: str, name: str, prefix: str = "", today: datetime.date
) -> _Identity:
    found = _Identity()
    try:
        found.phone = identity.normalize_phone(phone or "")
    except identity.IdentityError as exc:
        found.errors.setdefault(f"{prefix}phone", []).append(str(exc.message))
    if (id_number or "").strip():
        try:
            found.id_type, found.id_number = identity.normalize_id_number(
                id_number, id_type or identity.RESIDENT_ID, today=today
            )
        except identity.IdentityError as exc:
            found.errors.setdefault(f"{prefix}id_number", []).append(str(exc.message))
    found.name = identity.normalize_name(name or "")[:100]
    return found


def _clean_times(
    *, venue: Venue, start: datetime.datetime | None, end: datetime.datetime | None, now: datetime.datetime
) -> tuple[datetime.datetime, datetime.datetime, bool, dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}
    start = start or now
    if timezone.is_naive(start):
        start = timezone.make_aware(start)
    if start > now + CLOCK_SKEW:
        errors.setdefault("start", []).append(_("The check-in time is in the future."))
    elif start < now - datetime.timedelta(days=settings.CHECKIN_RETENTION_DAYS):
        errors.setdefault("start", []).append(
            _("The check-in time is more than %(days)d days ago: such visits are no longer kept.")
            % {"days": settings.CHECKIN_RETENTION_DAYS}
        )
    if errors:  # no arithmetic on a refused start (a year-9999 start would overflow)
        return start, start, end is not None, errors
    if end is None:
        return start, start + datetime.timedelta(minutes=venue.default_stay_minutes), False, errors
    if timezone.is_naive(end):
        end = timezone.make_aware(end)
    if end < start:
        errors.setdefault("end", []).append(_("The check-out time is before the check-in time."))
    elif end > start + datetime.timedelta(hours=settings.CHECKIN_MAX_STAY_HOURS):
        errors.setdefault("end", []).append(
            _("A visit lasts at most %(hours)d hours.") % {"hours": settings.CHECKIN_MAX_STAY_HOURS}
        )
    elif end > now + CLOCK_SKEW:
        errors.setdefault("end", []).append(_("The check-out time is in the future."))
    return start, end, True, errors


def _person_id(*, id_type: str, id_number: str, phone: str) -> int | None:
    """The registered person a visitor is: by ID number when given (never guessed from a phone then), else by a
    phone that exactly one person has. A merged record leads to the person it was merged into."""
    if id_number:
        # id_type and id_number together, so PostgreSQL uses the unique index (not the trigram index on the number).
        rows = list(Person.objects.filter(id_type=id_type, id_number=id_number).values_list("pk", "merged_into_id")[:1])
        return (rows[0][1] or rows[0][0]) if rows else None
    if phone:
        ids = list(Person.objects.filter(phone=phone, merged_into__isnull=True).values_list("pk", flat=True)[:2])
        return ids[0] if len(ids) == 1 else None
    return None


def _companions(raw: Iterable[Companion | Mapping[str, Any]], *, today: datetime.date) -> tuple[list[_Identity], dict]:
    found: list[_Identity] = []
    errors: dict[str, list[str]] = {}
    items = list(raw)
    if len(items) > MAX_COMPANIONS:
        errors["companions"] = [_("At most %(n)d accompanying persons.") % {"n": MAX_COMPANIONS}]
        return [], errors
    for index, item in enumerate(items):
        data = item.__dict__ if isinstance(item, Companion) else dict(item)
        if not any(str(data.get(key) or "").strip() for key in ("name", "phone", "id_number")):
            continue  # an empty row of the form
        prefix = f"companions[{index}]."
        person = _clean_identity(
            phone=str(data.get("phone") or ""),
            id_number=str(data.get("id_number") or ""),
            id_type=str(data.get("id_type") or identity.RESIDENT_ID),
            name=str(data.get("name") or "")[:100],
            prefix=prefix,
            today=today,
        )
        if not person.name:
            person.errors.setdefault(f"{prefix}name", []).append(_("Give the accompanying person's name."))
        errors.update(person.errors)
        found.append(person)
    return found, errors


def checkin_intake(
    *,
    venue: Venue,
    phone: str = "",
    id_number: str = "",
    id_type: str = identity.RESIDENT_ID,
    name: str = "",
    start: datetime.datetime | None = None,
    end: datetime.datetime | None = None,
    companions: Iterable[Companion | Mapping[str, Any]] = (),
    source: str,
    now: datetime.datetime | None = None,
) -> tuple[CheckIn, bool]:
    """Record a visit; returns (check-in, created). See ``checkin_record``."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    visitor = _clean_identity(phone=phone, id_number=id_number, id_type=id_type, name=name, today=today)
    errors = dict(visitor.errors)
    if not visitor.phone and not visitor.id_number and not errors:
        errors["phone"] = [_("Give a mobile number or an ID number.")]
    start, end, end_known, time_errors = _clean_times(venue=venue, start=start, end=end, now=now)
    errors.update(time_errors)
    party, party_errors = _companions(companions, today=today)
    errors.update(party_errors)
    if source not in CheckInSource.values:
        errors["source"] = [_("Unknown source %(source)r.") % {"source": source}]
    if not venue.active:
        errors["venue"] = [_("This venue is switched off.")]
    if errors:
        raise ValidationError(errors)

    if not party and connection.vendor == "postgresql":
        return _intake_in_one_statement(
            venue=venue, visitor=visitor, start=start, end=end, end_known=end_known, source=source, now=now
        )
    existing = _recent_visit(venue=venue, phone=visitor.phone, id_number=visitor.id_number, start=start)
    if existing is not None:
        _add_missing_companions(existing, party, source=source)
        return existing, False
    with transaction.atomic() if party else nullcontext():
        checkin = CheckIn.objects.create(
            venue_id=venue.pk,
            person_id=_person_id(id_type=visitor.id_type, id_number=visitor.id_number, phone=visitor.phone),
            phone=visitor.phone,
            id_number=visitor.id_number,
            name=visitor.name,
            start=start,
            end=end,
            end_known=end_known,
            source=source,
        )
        if party:
            _insert_companions(checkin, party, source=source)
    return checkin, True


def checkin_record(
    *,
    venue: Venue,
    phone: str = "",
    id_number: str = "",
    name: str = "",
    start: datetime.datetime | None = None,
    end: datetime.datetime | None = None,
    companions: Iterable[Companion | Mapping[str, Any]] = (),
    source: str,
    now: datetime.datetime | None = None,
    id_type: str = identity.RESIDENT_ID,
) -> CheckIn:
    """One visit to a venue by a phone or ID number, with its accompanying persons.

    ``start`` defaults to now; ``end`` to start + the venue's default stay (``end_known`` False). Refused (a
    ValidationError naming the field): a start in the future (beyond a minute of clock skew) or older than the
    retention period, an end before the start or beyond the longest stay, a bad phone or ID number. The same phone
    or ID at the same venue within ``CHECKIN_DEDUP_MINUTES`` is the same visit: the existing row comes back and
    nothing is inserted (companions it did not have yet are added to it). ``person`` is linked when the ID number
    (or, without one, a phone that exactly one person has) is registered. Companions are check-ins of their own
    with ``party_of`` = the main check-in's id.
    """
    checkin, _created = checkin_intake(
        venue=venue,
        phone=phone,
        id_number=id_number,
        id_type=id_type,
        name=name,
        start=start,
        end=end,
        companions=companions,
        source=source,
        now=now,
    )
    return checkin


def _dedup_condition(*, phone: str, id_number: str) -> Q:
    """Who counts as the same visitor: the same ID number; or the same phone, unless both scans name different ID
    numbers (a parent's phone given for each child is several people, not one visit)."""
    if id_number:
        return Q(id_number=id_number) | Q(phone=phone, id_number="") if phone else Q(id_number=id_number)
    return Q(phone=phone)


# The whole public check-in in one round trip (PostgreSQL): the same visitor's check-in of the last minutes if
# any, else an INSERT with the registered person found in the same statement. Outside a transaction,
# ``set_config(…, true)`` makes this statement's own transaction commit asynchronously: a crash of the database
# server may lose the check-ins of its last fraction of a second (never corrupts anything), which is what lets two
# web workers take hundreds of check-ins a second instead of waiting for one disk flush each. Inside a caller's
# transaction it is left out, so no other write ever commits asynchronously because of a check-in.
_INTAKE_SQL = """
WITH existing AS (
    SELECT id, start, "end", end_known, person_id FROM tracing_checkin
    WHERE venue_id = %(venue)s AND start >= %(low)s AND start <= %(high)s AND ({who})
    ORDER BY start DESC LIMIT 1
), inserted AS (
    INSERT INTO tracing_checkin
        (venue_id, person_id, phone, id_number, name, start, "end", end_known, party_of, source, created_at)
    SELECT %(venue)s, ({person}), %(phone)s, %(id_number)s, %(name)s, %(start)s, %(end)s, %(end_known)s, NULL,
           %(source)s, %(now)s
    {async_commit}
    WHERE NOT EXISTS (SELECT 1 FROM existing)
    RETURNING id, start, "end", end_known, person_id
)
SELECT id, start, "end", end_known, person_id, true FROM inserted
UNION ALL
SELECT id, start, "end", end_known, person_id, false FROM existing
"""
_ASYNC_COMMIT = "FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit"
_PERSON_BY_ID_SQL = (
    # id_type and id_number together, so PostgreSQL uses the unique index; a merged record leads to its survivor.
    "SELECT COALESCE(merged_into_id, id) FROM people_person WHERE id_type = %(id_type)s "
    "AND id_number = %(id_number)s LIMIT 1"
)
_PERSON_BY_PHONE_SQL = (
    "SELECT CASE WHEN count(*) = 1 THEN min(id) END FROM "
    "(SELECT id FROM people_person WHERE phone = %(phone)s AND merged_into_id IS NULL LIMIT 2) AS candidates"
)


def _intake_in_one_statement(
    *,
    venue: Venue,
    visitor: _Identity,
    start: datetime.datetime,
    end: datetime.datetime,
    end_known: bool,
    source: str,
    now: datetime.datetime,
) -> tuple[CheckIn, bool]:
    """``checkin_intake`` without companions on PostgreSQL: the same rules as the ORM path, one round trip."""
    window = datetime.timedelta(minutes=settings.CHECKIN_DEDUP_MINUTES)
    if not window:
        who = "false"
    elif visitor.id_number and visitor.phone:
        who = "id_number = %(id_number)s OR (phone = %(phone)s AND id_number = '')"
    elif visitor.id_number:
        who = "id_number = %(id_number)s"
    else:
        who = "phone = %(phone)s"
    if visitor.id_number:
        person = _PERSON_BY_ID_SQL
    elif visitor.phone:
        person = _PERSON_BY_PHONE_SQL
    else:  # pragma: no cover - the service requires a phone or an ID number
        person = "NULL"
    params: dict[str, Any] = {
        "venue": venue.pk,
        "low": start - window,
        "high": start + window,
        "phone": visitor.phone,
        "id_type": visitor.id_type,
        "id_number": visitor.id_number,
        "name": visitor.name,
        "start": start,
        "end": end,
        "end_known": end_known,
        "source": source,
        "now": now,
    }
    with connection.cursor() as cursor:
        async_commit = "" if connection.in_atomic_block else _ASYNC_COMMIT
        cursor.execute(_INTAKE_SQL.format(who=who, person=person, async_commit=async_commit), params)
        pk, row_start, row_end, row_end_known, person_id, created = cursor.fetchone()
    checkin = CheckIn(
        id=pk,
        venue_id=venue.pk,
        person_id=person_id,
        phone=visitor.phone,
        id_number=visitor.id_number,
        name=visitor.name,
        start=row_start,
        end=row_end,
        end_known=row_end_known,
        source=source,
        created_at=now,
    )
    checkin._state.adding = False
    checkin._state.db = connection.alias
    return checkin, bool(created)


def _recent_visit(*, venue: Venue, phone: str, id_number: str, start: datetime.datetime) -> CheckIn | None:
    """The same person's check-in at the venue within the de-duplication window around ``start``, if any."""
    window = datetime.timedelta(minutes=settings.CHECKIN_DEDUP_MINUTES)
    if not window:
        return None
    who = _dedup_condition(phone=phone, id_number=id_number)
    # venue and a bounded start range: the (venue, start) index, and on PostgreSQL only one or two partitions.
    rows = list(
        CheckIn.objects.filter(who, venue_id=venue.pk, start__gte=start - window, start__lte=start + window).order_by(
            "-start"
        )[:1]
    )
    return rows[0] if rows else None


def _companion_rows(main: CheckIn, party: list[_Identity], *, source: str) -> list[CheckIn]:
    return [
        CheckIn(
            venue_id=main.venue_id,
            person_id=_person_id(id_type=p.id_type, id_number=p.id_number, phone=p.phone),
            phone=p.phone,
            id_number=p.id_number,
            name=p.name,
            start=main.start,
            end=main.end,
            end_known=main.end_known,
            party_of=main.pk,
            source=source,
        )
        for p in party
    ]


def _insert_companions(main: CheckIn, party: list[_Identity], *, source: str) -> None:
    CheckIn.objects.bulk_create(_companion_rows(main, party, source=source))


def _add_missing_companions(main: CheckIn, party: list[_Identity], *, source: str) -> None:
    """A repeated scan that names companions the first one did not: add just those."""
    if not party:
        return
    known = CheckIn.objects.filter(party_of=main.pk, venue_id=main.venue_id, start=main.start).values_list(
        "name", "phone", "id_number"
    )
    names, phones, ids = set(), set(), set()
    for known_name, known_phone, known_id in known:
        names.add(known_name)
        phones.add(known_phone)
        ids.add(known_id)
    missing = [
        p
        for p in party
        if not ((p.id_number and p.id_number in ids) or (p.phone and p.phone in phones) or p.name in names)
    ]
    if missing:
        with transaction.atomic():
            _insert_companions(main, missing, source=source)


def checkin_checkout(*, checkin: CheckIn, at: datetime.datetime | None = None) -> CheckIn:
    """Record when the visitor left (their accompanying persons leave with them); the first check-out counts."""
    at = at or timezone.now()
    if checkin.end_known:
        return checkin
    if at < checkin.start:
        raise ValidationError({"end": [_("The check-out time is before the check-in time.")]})
    if at > checkin.start + datetime.timedelta(hours=settings.CHECKIN_MAX_STAY_HOURS):
        raise ValidationError(
            {"end": [_("A visit lasts at most %(hours)d hours.") % {"hours": settings.CHECKIN_MAX_STAY_HOURS}]}
        )
    if at > timezone.now() + CLOCK_SKEW:
        raise ValidationError({"end": [_("The check-out time is in the future.")]})
    with transaction.atomic():
        # start in every filter: on PostgreSQL the update touches only the visit's own partition.
        CheckIn.objects.filter(pk=checkin.pk, start=checkin.start).update(end=at, end_known=True)
        CheckIn.objects.filter(
            party_of=checkin.pk, venue_id=checkin.venue_id, start=checkin.start, end_known=False
        ).update(end=at, end_known=True)
    checkin.end, checkin.end_known = at, True
    return checkin


def checkout_token(checkin: CheckIn) -> str:
    """A signed token that lets whoever holds it (the visitor's own page) check this visit out."""
    return signing.dumps([checkin.pk, checkin.start.isoformat(), checkin.venue_id], salt=CHECKOUT_SALT, compress=False)


def checkin_for_token(token: str) -> CheckIn:
    """The check-in a checkout token names; ValidationError for a bad or expired token or a vanished visit."""
    max_age = datetime.timedelta(hours=settings.CHECKIN_MAX_STAY_HOURS, minutes=5)
    try:
        pk, start_text, venue_id = signing.loads(token, salt=CHECKOUT_SALT, max_age=max_age)
        start = datetime.datetime.fromisoformat(start_text)
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise ValidationError({"token": [_("This check-out link is not valid (any more).")]}) from exc
    found = CheckIn.objects.filter(pk=pk, start=start, venue_id=venue_id).first()
    if found is None:
        raise ValidationError({"token": [_("This check-out link is not valid (any more).")]})
    return found


# -- retention ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PurgeReport:
    cutoff: datetime.datetime
    dropped_partitions: list[str]
    deleted_rows: int
    dry_run: bool = False


def checkins_purge(*, now: datetime.datetime | None = None, dry_run: bool = False) -> PurgeReport:
    """Delete check-ins that started more than ``CHECKIN_RETENTION_DAYS`` ago.

    PostgreSQL: whole days are dropped as partitions, then a DELETE removes what remains before the cut-off (the
    older part of the boundary day, and stray old rows in the DEFAULT partition). SQLite: one DELETE.
    ``deleted_rows`` counts the DELETE's rows only (dropped partitions are not counted, which would cost a scan);
    with ``dry_run`` nothing changes and it counts every row that would go.
    """
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=settings.CHECKIN_RETENTION_DAYS)
    old = CheckIn.objects.filter(start__lt=cutoff)
    droppable = [
        name
        for day, name in sorted(partitions.existing_partitions().items())
        if partitions.day_bounds(day)[1] <= cutoff
    ]
    if dry_run:
        return PurgeReport(cutoff=cutoff, dropped_partitions=droppable, deleted_rows=old.count(), dry_run=True)
    # A day's partition ends at the next midnight: every day before the cut-off's own day ends by the cut-off.
    dropped = partitions.drop_partitions_before(partitions.local_day(cutoff)) if droppable else []
    # Nothing references a check-in and no signal listens: Django deletes with one DELETE … WHERE start < cutoff.
    deleted, _by_model = old.delete()
    return PurgeReport(cutoff=cutoff, dropped_partitions=dropped, deleted_rows=deleted)
