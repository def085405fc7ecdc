"""Writes of tracing: cases, exposures, and the contacts derived from them.

Derivation (DOMAIN.md): close contacts are people exposed to a case inside its infectious window; secondary
contacts are people exposed to a close contact between that contact's first exposure and their isolation. Every
write that can change who is a contact (a case reported, re-dated, re-classified or excluded; an exposure recorded,
confirmed or rejected) ends with ``derive`` over the people it touches, which stores the contacts, assigns their
measures through the policy engine (the same engine and explanation as arrivals), opens the grid's tasks and
releases the contacts whose evidence is gone — returning what changed so the page can show it.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from firstline.accounts.models import User
from firstline.accounts.roles import Perm, Role
from firstline.accounts.selectors import nearest_with_role, officer_for
from firstline.core import audit, identity
from firstline.core.bulk import update_rows
from firstline.core.concurrency import versioned_update
from firstline.core.dates import day_start, local_today
from firstline.core.models import AuditAction
from firstline.core.scoping import scope_of
from firstline.dispatch.models import OPEN_STATUSES, Task, TaskPriority
from firstline.people.models import IdType, Person
from firstline.people.services import clean_person_fields
from firstline.policy import assign, hooks
from firstline.policy.engine import Decision, Evidence, evaluate
from firstline.policy.models import URGENT_MEASURES, Measure, MeasureStatus, MeasureType, Trigger
from firstline.policy.selectors import edition_book
from firstline.regions.models import township_code
from firstline.tracing import copresence
from firstline.tracing.models import (
    ACTIVE_CLASSIFICATIONS,
    COUNTED_STATUSES,
    Case,
    CheckIn,
    Classification,
    Contact,
    ContactKind,
    ContactStatus,
    Exposure,
    ExposureOrigin,
    ExposureStatus,
    FoundBy,
    Outcome,
    Protection,
    Proximity,
    Setting,
    Venue,
)
from firstline.tracing.windows import WindowError, infectious_window

CASE_FIELDS = (
    "classification",
    "onset_date",
    "sampling_date",
    "last_negative_date",
    "report_date",
    "isolated_on",
    "found_by",
    "isolation_place",
    "outcome",
    "outcome_date",
    "notes",
)


def window_bounds(case: Case) -> tuple[datetime.datetime, datetime.datetime]:
    """The case's infectious window as [start, end) instants: whole local days."""
    return day_start(case.infectious_from), day_start(case.infectious_until + datetime.timedelta(days=1))


def _add(errors: dict[str, list[Any]], name: str, message: Any) -> None:
    errors.setdefault(name, []).append(message)


# -- reports of what changed ----------------------------------------------------------------------------------------


@dataclass
class Derivation:
    """What one derivation did, for the page that caused it."""

    created: list[Contact] = field(default_factory=list)
    changed: list[Contact] = field(default_factory=list)
    released: list[Contact] = field(default_factory=list)

    def merge(self, other: Derivation) -> Derivation:
        self.created += other.created
        self.changed += other.changed
        self.released += other.released
        return self

    @property
    def empty(self) -> bool:
        return not (self.created or self.changed or self.released)

    def as_dict(self) -> dict[str, list[int]]:
        return {
            "created": [c.person_id for c in self.created],
            "changed": [c.person_id for c in self.changed],
            "released": [c.person_id for c in self.released],
        }


@dataclass
class CaseResult:
    case: Case
    derivation: Derivation
    exposures_found: int = 0


# -- cases ----------------------------------------------------------------------------------------------------------


def _clean_case(values: Mapping[str, Any], *, today: datetime.date) -> dict[str, Any]:
    errors: dict[str, list[Any]] = {}
    clean: dict[str, Any] = {}
    classification = values.get("classification") or ""
    if classification not in Classification.values:
        _add(errors, "classification", _("Choose confirmed, asymptomatic, suspected or excluded."))
    clean["classification"] = classification
    for name in ("onset_date", "sampling_date", "last_negative_date", "report_date", "isolated_on", "outcome_date"):
        raw = values.get(name)
        if raw in (None, ""):
            clean[name] = None
            continue
        if isinstance(raw, datetime.datetime):
            raw = timezone.localtime(raw).date() if timezone.is_aware(raw) else raw.date()
        if isinstance(raw, str):
            try:
                raw = datetime.date.fromisoformat(raw.strip())
            except ValueError:
                _add(errors, name, _("Enter a date as YYYY-MM-DD."))
                continue
        if not isinstance(raw, datetime.date):
            _add(errors, name, _("Enter a date as YYYY-MM-DD."))
            continue
        if raw > today:
            _add(errors, name, _("This date is in the future."))
        clean[name] = raw
    if clean.get("report_date") is None and "report_date" not in errors:
        _add(errors, "report_date", _("The report date is required."))
    report = clean.get("report_date")
    if report is not None:
        if clean.get("onset_date") and clean["onset_date"] > report:
            _add(errors, "onset_date", _("Symptom onset cannot be after the report date."))
        if clean.get("sampling_date") and clean["sampling_date"] > report:
            _add(errors, "sampling_date", _("The sampling date cannot be after the report date."))
        if clean.get("isolated_on") and clean["isolated_on"] < (
            clean.get("onset_date") or clean.get("sampling_date") or datetime.date.min
        ):
            _add(errors, "isolated_on", _("Isolation cannot come before onset or sampling."))
    if (
        clean.get("last_negative_date")
        and clean.get("sampling_date")
        and clean["last_negative_date"] > clean["sampling_date"]
    ):
        _add(errors, "last_negative_date", _("The last negative test cannot be after the positive sampling."))
    if classification == Classification.CONFIRMED and not (clean.get("onset_date") or clean.get("sampling_date")):
        _add(errors, "onset_date", _("A confirmed case needs a symptom onset or a sampling date."))
    if classification == Classification.ASYMPTOMATIC and not clean.get("sampling_date"):
        _add(errors, "sampling_date", _("An asymptomatic infection needs its sampling date."))
    found_by = values.get("found_by") or FoundBy.OTHER
    if found_by not in FoundBy.values:
        _add(errors, "found_by", _("Unknown way of finding the case."))
    clean["found_by"] = found_by
    outcome = values.get("outcome") or Outcome.UNDER_CARE
    if outcome not in Outcome.values:
        _add(errors, "outcome", _("Unknown outcome."))
    clean["outcome"] = outcome
    clean["isolation_place"] = str(values.get("isolation_place") or "")[:200]
    clean["notes"] = str(values.get("notes") or "")
    if errors:
        raise ValidationError(errors)
    return clean


def _window(clean: Mapping[str, Any]) -> dict[str, Any]:
    try:
        window = infectious_window(
            book=edition_book(),
            onset_date=clean["onset_date"],
            sampling_date=clean["sampling_date"],
            last_negative_date=clean["last_negative_date"],
            report_date=clean["report_date"],
            isolated_on=clean["isolated_on"],
            routine_testing=clean["found_by"] == FoundBy.ROUTINE_TESTING,
        )
    except WindowError as exc:
        raise ValidationError({exc.field: [_("The case was isolated before its infectious window starts.")]}) from exc
    return {
        "infectious_from": window.start,
        "infectious_until": window.end,
        "edition_id": window.edition_id,
        "window": window.explanation,
    }


def person_for_tracing(*, actor: User, person: Person | int, field: str) -> Person:
    """A person the actor names in a case or exposure: visible to them (anyone for roles that trace across
    jurisdictions, the CDC), followed through merges; else a ValidationError on ``field`` that says nothing of
    whether the person exists elsewhere."""
    pk = person.pk if isinstance(person, Person) else person
    found = Person.objects.visible_to(actor).filter(pk=pk).first()
    if found is None and scope_of(actor).has(Perm.TRACE_ANY_SCOPE):
        found = Person.objects.filter(pk=pk).first()
    if found is None:
        raise ValidationError({field: [_("No such person in your jurisdiction.")]})
    return _live(found)


def resolve_person(*, actor: User, person: Person | int | None, data: Mapping[str, Any] | None) -> Person:
    """The case's person: an existing one the actor may see, or found/registered from name and ID."""
    if person is not None:
        return person_for_tracing(actor=actor, person=person, field="person")
    if not data:
        raise ValidationError({"person": [_("Choose a person, or give the name and ID number.")]})
    values = clean_person_fields(
        name=str(data.get("name") or ""),
        id_type=str(data.get("id_type") or IdType.RESIDENT),
        id_number=str(data.get("id_number") or ""),
        phone=str(data.get("phone") or ""),
    )
    existing = Person.objects.filter(id_type=values["id_type"], id_number=values["id_number"]).first()
    if existing is not None:
        return resolve_person(actor=actor, person=existing.pk, data=None)
    path = _home_path(actor, data)
    try:
        with transaction.atomic():
            created = Person.objects.create(path=path, **values)
    except IntegrityError:
        return resolve_person(
            actor=actor,
            person=Person.objects.get(id_type=values["id_type"], id_number=values["id_number"]).pk,
            data=None,
        )
    audit.record(
        actor=actor,
        action=AuditAction.CREATE,
        instance=created,
        changes=audit.diff({}, audit.snapshot(created)),
        note="case",
    )
    return created


def _live(person: Person) -> Person:
    """The record a merged person now lives in."""
    while person.merged_into is not None:
        person = person.merged_into
    return person


def _home_path(actor: User, data: Mapping[str, Any]) -> str:
    """Where a person registered by a case report belongs: the division given, else the actor's own scope."""
    division = str(data.get("division") or "").strip()
    scope = scope_of(actor)
    if division:
        if not (scope.covers_path(division) or scope.has(Perm.TRACE_ANY_SCOPE)):
            raise ValidationError({"division": [_("This division is outside your jurisdiction.")]})
        return division
    if scope.paths:
        return scope.paths[0]
    return settings.FIRSTLINE_CITY_CODE


@transaction.atomic
def case_create(
    *,
    actor: User,
    values: Mapping[str, Any],
    person: Person | int | None = None,
    person_data: Mapping[str, Any] | None = None,
    today: datetime.date | None = None,
    permission: str = Perm.TRACE_EDIT,
) -> CaseResult:
    """Report a case: its window from the edition in force, household and co-presence exposures, contacts derived.

    Confirming (confirmed/asymptomatic) alerts the CDC and the township of the case with urgent tasks.
    ``permission`` is what authorises the report: tracing rights by default; a positive lab result
    (``quarantine.result``) reports the suspected case of the sampled person, whom the caller passes as a
    ``Person`` it has already been allowed to write a result for.
    """
    if not scope_of(actor).has(permission):
        raise PermissionDenied(_("Your role does not allow reporting cases."))
    today = today or local_today()
    clean = _clean_case(values, today=today)
    if permission != Perm.TRACE_EDIT and isinstance(person, Person):
        who = _live(person)
    else:
        who = resolve_person(actor=actor, person=person, data=person_data)
    if Case.objects.filter(person=who).exclude(classification=Classification.EXCLUDED).exists():
        raise ValidationError({"person": [_("This person already has an open case: update it instead.")]})
    clean.update(_window(clean))
    confirmed = clean["classification"] in (Classification.CONFIRMED, Classification.ASYMPTOMATIC)
    case = Case.objects.create(
        person=who,
        path=who.path,
        created_by=actor,
        confirmed_at=timezone.now() if confirmed else None,
        **clean,
    )
    audit.record(actor=actor, action=AuditAction.CREATE, instance=case, changes=audit.diff({}, audit.snapshot(case)))
    if confirmed:
        case_alerts(case=case)
    return _after_case_change(actor=actor, case=case, affected={who.pk}, today=today)


@transaction.atomic
def case_update(
    *, actor: User, case: Case, expected_version: int, values: Mapping[str, Any], today: datetime.date | None = None
) -> CaseResult:
    """Change a case's dates or classification; contacts are re-derived and the changes reported."""
    if not scope_of(actor).has(Perm.TRACE_EDIT):
        raise PermissionDenied(_("Your role does not allow changing cases."))
    today = today or local_today()
    merged = {name: getattr(case, name) for name in CASE_FIELDS}
    merged.update({k: v for k, v in values.items() if k in CASE_FIELDS})
    clean = _clean_case(merged, today=today)
    clean.update(_window(clean))
    was_confirmed = case.classification in (Classification.CONFIRMED, Classification.ASYMPTOMATIC)
    now_confirmed = clean["classification"] in (Classification.CONFIRMED, Classification.ASYMPTOMATIC)
    if now_confirmed and not was_confirmed:
        clean["confirmed_at"] = timezone.now()
    if (
        case.classification == Classification.EXCLUDED
        and clean["classification"] != Classification.EXCLUDED
        and (
            Case.objects.filter(person_id=case.person_id)
            .exclude(pk=case.pk)
            .exclude(classification=Classification.EXCLUDED)
            .exists()
        )
    ):
        raise ValidationError({"classification": [_("This person has another open case.")]})
    before = audit.snapshot(case)
    case = versioned_update(case, expected_version=expected_version, values=clean)
    audit.record(
        actor=actor, action=AuditAction.UPDATE, instance=case, changes=audit.diff(before, audit.snapshot(case))
    )
    if now_confirmed and not was_confirmed:
        case_alerts(case=case)
    return _after_case_change(actor=actor, case=case, affected={case.person_id}, today=today)


def _after_case_change(*, actor: User | None, case: Case, affected: set[int], today: datetime.date) -> CaseResult:
    found = 0
    if case.is_active:
        found += household_exposures(actor=actor, case=case)
        found += copresence_exposures(actor=actor, cases=[case])
    # The case's own exposed people, and (for secondary contacts) whom they exposed.
    exposed = set(Exposure.objects.filter(source_id=case.person_id).values_list("exposed_id", flat=True))
    derivation = derive(person_ids=affected | exposed, actor=actor, today=today)
    recompute_clusters_later()
    return CaseResult(case=case, derivation=derivation, exposures_found=found)


def case_alerts(*, case: Case) -> list[Task]:
    """Urgent tasks for the CDC epidemiologist and the township officer answering for the case's place."""
    person = case.person
    with translation.override(settings.LANGUAGE_CODE):
        title = _("New %(classification)s: %(name)s (reported %(day)s): trace contacts now") % {
            "classification": Classification(case.classification).label,
            "name": person.name,
            "day": case.report_date,
        }
    users: list[User] = []
    cdc = nearest_with_role(case.path, Role.CDC)
    if cdc is not None:
        users.append(cdc)
    township = nearest_with_role(township_code(case.path) or case.path, Role.TOWNSHIP_OFFICER)
    if township is not None and township not in users:
        users.append(township)
    due = timezone.now() + datetime.timedelta(hours=settings.TASK_URGENT_DUE_HOURS)
    content_type = ContentType.objects.get_for_model(Case)
    tasks = [
        Task(
            title=title[:200],
            kind="case_alert",
            content_type=content_type,
            object_id=str(case.pk),
            path=case.path,
            assignee_user=user,
            due_at=due,
            priority=TaskPriority.URGENT,
        )
        for user in users
    ]
    created = Task.objects.bulk_create(tasks)
    for task in created:
        audit.record(actor=None, action=AuditAction.CREATE, instance=task, changes=audit.diff({}, audit.snapshot(task)))
    return created


# -- exposures ------------------------------------------------------------------------------------------------------


def status_for(origin: str) -> str:
    if origin == ExposureOrigin.MANUAL:
        return ExposureStatus.CONFIRMED
    return ExposureStatus.PENDING if origin in settings.TRACING_AUTO_ACCEPT else ExposureStatus.CANDIDATE


def clean_exposure(values: Mapping[str, Any], *, now: datetime.datetime) -> dict[str, Any]:
    errors: dict[str, list[Any]] = {}
    clean: dict[str, Any] = {}
    for name in ("start", "end"):
        raw = values.get(name)
        if isinstance(raw, str) and raw.strip():
            from django.utils.dateparse import parse_datetime

            parsed = parse_datetime(raw.strip())
            if parsed is None:
                try:
                    parsed = datetime.datetime.combine(datetime.date.fromisoformat(raw.strip()), datetime.time.min)
                except ValueError:
                    parsed = None
            raw = parsed
        elif isinstance(raw, datetime.date) and not isinstance(raw, datetime.datetime):
            raw = datetime.datetime.combine(raw, datetime.time.min)
        if raw is None or raw == "":
            if name == "end" and isinstance(clean.get("start"), datetime.datetime):
                clean["end"] = clean["start"]
                continue
            _add(errors, name, _("Enter a date and time."))
            continue
        if not isinstance(raw, datetime.datetime):
            _add(errors, name, _("Enter a date and time."))
            continue
        if timezone.is_naive(raw):
            raw = timezone.make_aware(raw)
        clean[name] = raw
    if "start" in clean and clean["start"] > now + datetime.timedelta(minutes=5):
        _add(errors, "start", _("This time is in the future."))
    if "start" in clean and "end" in clean and clean["end"] < clean["start"]:
        _add(errors, "end", _("The exposure cannot end before it starts."))
    if "end" in clean and clean["end"] > now + datetime.timedelta(minutes=5):
        clean["end"] = now
    setting = values.get("setting") or ""
    if setting not in Setting.values:
        _add(
            errors,
            "setting",
            _("Choose the setting: household, workplace, shared meal, transport, venue, care or other."),
        )
    clean["setting"] = setting
    proximity = values.get("proximity") or Proximity.UNKNOWN
    if proximity not in Proximity.values:
        _add(errors, "proximity", _("Unknown proximity."))
    clean["proximity"] = proximity
    protection = values.get("protection") or Protection.UNKNOWN
    if protection not in Protection.values:
        _add(errors, "protection", _("Unknown protection."))
    clean["protection"] = protection
    clean["evidence"] = str(values.get("evidence") or "")[:4000]
    if errors:
        raise ValidationError(errors)
    return clean


def exposure_people(*, actor: User, source: Person | int, exposed: Person | int) -> tuple[Person, Person]:
    """The two people of a new exposure, as the actor may name them.

    The source must be in the actor's jurisdiction; the exposed person may be anywhere only for roles that trace
    across jurisdictions (the CDC): the contact is then routed to the exposed person's own jurisdiction.
    """
    return (
        person_for_tracing(actor=actor, person=source, field="source"),
        person_for_tracing(actor=actor, person=exposed, field="exposed"),
    )


@dataclass
class ExposureResult:
    exposure: Exposure
    derivation: Derivation


@transaction.atomic
def exposure_create(
    *,
    actor: User,
    source: Person | int,
    exposed: Person | int,
    values: Mapping[str, Any],
    origin: str = ExposureOrigin.MANUAL,
    today: datetime.date | None = None,
) -> ExposureResult:
    """Record that ``source`` exposed ``exposed``; manual entries count at once (the epidemiologist vouches)."""
    if not scope_of(actor).has(Perm.TRACE_EDIT):
        raise PermissionDenied(_("Your role does not allow recording exposures."))
    source_person, exposed_person = exposure_people(actor=actor, source=source, exposed=exposed)
    if source_person.pk == exposed_person.pk:
        raise ValidationError({"exposed": [_("A person cannot be exposed to themselves.")]})
    clean = clean_exposure(values, now=timezone.now())
    exposure = Exposure.objects.create(
        source=source_person,
        exposed=exposed_person,
        path=exposed_person.path,
        origin=origin,
        status=status_for(origin),
        created_by=actor,
        **clean,
    )
    audit.record(
        actor=actor, action=AuditAction.CREATE, instance=exposure, changes=audit.diff({}, audit.snapshot(exposure))
    )
    derivation = derive(person_ids={exposed_person.pk}, actor=actor, today=today)
    recompute_clusters_later()
    return ExposureResult(exposure=exposure, derivation=derivation)


@transaction.atomic
def exposure_decide(
    *, actor: User, exposure: Exposure, accept: bool, note: str = "", today: datetime.date | None = None
) -> ExposureResult:
    """The epidemiologist confirms or rejects an exposure; a rejection releases what rested only on it."""
    if not scope_of(actor).has(Perm.TRACE_EDIT):
        raise PermissionDenied(_("Your role does not allow deciding exposures."))
    status = ExposureStatus.CONFIRMED if accept else ExposureStatus.REJECTED
    if not accept and not note.strip():
        raise ValidationError({"note": [_("Say why the exposure is rejected.")]})
    before = audit.snapshot(exposure)
    exposure = versioned_update(
        exposure,
        expected_version=exposure.version,
        values={"status": status, "decided_by": actor, "decided_at": timezone.now(), "decision_note": note[:300]},
    )
    audit.record(
        actor=actor, action=AuditAction.UPDATE, instance=exposure, changes=audit.diff(before, audit.snapshot(exposure))
    )
    derivation = derive(person_ids={exposure.exposed_id}, actor=actor, today=today)
    recompute_clusters_later()
    return ExposureResult(exposure=exposure, derivation=derivation)


@transaction.atomic
def exposures_decide(
    *, actor: User, exposures: Sequence[Exposure], accept: bool, note: str = "", today: datetime.date | None = None
) -> Derivation:
    """Decide many at once (the co-presence candidates of a case), deriving once."""
    if not scope_of(actor).has(Perm.TRACE_EDIT):
        raise PermissionDenied(_("Your role does not allow deciding exposures."))
    if not accept and not note.strip():
        raise ValidationError({"note": [_("Say why the exposures are rejected.")]})
    status = ExposureStatus.CONFIRMED if accept else ExposureStatus.REJECTED
    now = timezone.now()
    touched: set[int] = set()
    for exposure in exposures:
        before = audit.snapshot(exposure)
        exposure = versioned_update(
            exposure,
            expected_version=exposure.version,
            values={"status": status, "decided_by": actor, "decided_at": now, "decision_note": note[:300]},
        )
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            instance=exposure,
            changes=audit.diff(before, audit.snapshot(exposure)),
        )
        touched.add(exposure.exposed_id)
    derivation = derive(person_ids=touched, actor=actor, today=today)
    recompute_clusters_later()
    return derivation


def _store_automatic(*, actor: User | None, rows: Sequence[Exposure]) -> list[Exposure]:
    """Insert automatic exposures whose key is new (a second run finds the first one's rows)."""
    if not rows:
        return []
    keys = [row.key for row in rows]
    existing = set(Exposure.objects.filter(key__in=keys).values_list("key", flat=True))
    new = [row for row in rows if row.key not in existing]
    seen: set[str | None] = set()
    unique = []
    for row in new:
        if row.key not in seen:
            seen.add(row.key)
            unique.append(row)
    created = Exposure.objects.bulk_create(unique)
    audit.record_many(
        actor=actor,
        action=AuditAction.CREATE,
        instances=created,
        note="automatic exposures",
        changes=lambda row: audit.diff({}, audit.snapshot(row)),
    )
    return created


def household_exposures(*, actor: User | None, case: Case) -> int:
    """Everyone else in the case's household was exposed over the infectious window (until isolation)."""
    person = case.person
    if person.household_id is None:
        return 0
    start, end = window_bounds(case)
    # The last second of the window's last day (or now): the exposure's last day is the window's.
    end = min(end - datetime.timedelta(seconds=1), timezone.now())
    if end < start:
        return 0
    members = Person.objects.filter(household_id=person.household_id, merged_into__isnull=True).exclude(pk=person.pk)
    rows = [
        Exposure(
            source_id=person.pk,
            exposed_id=member.pk,
            path=member.path,
            start=start,
            end=end,
            setting=Setting.HOUSEHOLD,
            proximity=Proximity.SAME_ROOM,
            protection=Protection.NONE,
            evidence=_evidence_text(
                _("Lives in the same household as the case during its infectious window (%(start)s – %(end)s)."),
                start=case.infectious_from,
                end=case.infectious_until,
            ),
            origin=ExposureOrigin.HOUSEHOLD,
            status=status_for(ExposureOrigin.HOUSEHOLD),
            key=f"hh:{case.pk}:{member.pk}",
        )
        for member in members
    ]
    return len(_store_automatic(actor=actor, rows=rows))


def _evidence_text(template: str, **values: Any) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return _(template) % values


def copresence_exposures(*, actor: User | None, cases: Sequence[Case]) -> int:
    """Every check-in overlapping the cases' check-ins inside their windows becomes an exposure (see copresence)."""
    active = [case for case in cases if case.is_active]
    if not active:
        return 0
    persons = {p.pk: p for p in Person.objects.filter(pk__in=[c.person_id for c in active])}
    sources = []
    for case in active:
        start, end = window_bounds(case)
        person = persons[case.person_id]
        sources.append(
            copresence.Source(person_id=person.pk, start=start, end=end, phone=person.phone, id_number=person.id_number)
        )
    overlaps = copresence.find(sources)
    if not overlaps:
        return 0
    venues = {v.pk: v for v in Venue.objects.filter(pk__in={o.other.venue_id for o in overlaps})}
    people = visitors_as_persons([o.other for o in overlaps], venues=venues, actor=actor)
    rows = []
    for overlap in overlaps:
        exposed = people.get(overlap.other.id)
        if exposed is None or exposed.pk == overlap.source_person_id:
            continue
        venue = venues[overlap.other.venue_id]
        local_start = timezone.localtime(overlap.start)
        local_end = timezone.localtime(overlap.end)
        rows.append(
            Exposure(
                source_id=overlap.source_person_id,
                exposed_id=exposed.pk,
                path=exposed.path,
                start=overlap.start,
                end=overlap.end,
                setting=Setting.VENUE,
                proximity=Proximity.SAME_VENUE,
                protection=Protection.UNKNOWN,
                evidence=_evidence_text(
                    _("Both checked in at %(venue)s: overlap %(minutes)s minutes (%(start)s – %(end)s)."),
                    venue=venue.name,
                    minutes=overlap.minutes,
                    start=f"{local_start:%Y-%m-%d %H:%M}",
                    end=f"{local_end:%H:%M}",
                ),
                origin=ExposureOrigin.COPRESENCE,
                status=status_for(ExposureOrigin.COPRESENCE),
                venue=venue,
                overlap_minutes=overlap.minutes,
                key=f"cp:{overlap.source_visit.id}:{overlap.other.id}",
            )
        )
    return len(_store_automatic(actor=actor, rows=rows))


def visitors_as_persons(
    visits: Sequence[copresence.Visit], *, venues: Mapping[int, Venue], actor: User | None
) -> dict[int, Person]:
    """The person of each visit: linked, found by ID or phone, or registered to be identified by the venue's grid.

    A visitor known only by a phone number is registered as a person with that number (ID type "other", the
    number marked as a phone) at the venue's place, so the grid can find them; merging with the real record later
    is the usual duplicate merge.
    """
    result: dict[int, Person] = {}
    linked = {v.person_id for v in visits if v.person_id}
    by_id = {p.pk: p for p in Person.objects.filter(pk__in=linked)}
    unlinked = [v for v in visits if not v.person_id]
    ids = {v.id_number for v in unlinked if v.id_number}
    phones = {v.phone for v in unlinked if v.phone}
    by_number = (
        {p.id_number: p for p in Person.objects.filter(id_type=IdType.RESIDENT, id_number__in=ids)} if ids else {}
    )
    by_phone: dict[str, Person] = {}
    if phones:
        for candidate in Person.objects.filter(phone__in=phones, merged_into__isnull=True).order_by("id"):
            by_phone.setdefault(candidate.phone, candidate)
    unknown: dict[tuple[str, str], copresence.Visit] = {}
    for visit in visits:
        person = _known(visit, by_id, by_number, by_phone)
        if person is None and (visit.phone or visit.id_number):
            unknown.setdefault(_visitor_identity(visit), visit)
    if unknown:
        registered = _register_visitors(unknown, venues=venues, actor=actor)
        for person in registered:
            if person.phone:
                by_phone.setdefault(person.phone, person)
            if person.id_type == IdType.RESIDENT:
                by_number.setdefault(person.id_number, person)
        for (_id_type, number), person in zip(unknown, registered, strict=True):
            by_number.setdefault(number, person)
    for visit in visits:
        person = _known(visit, by_id, by_number, by_phone)
        if person is None and visit.id_number:
            person = by_number.get(_visitor_identity(visit)[1])
        if person is not None:
            result[visit.id] = _live(person)
    linked_now = [(visit.id, result[visit.id].pk) for visit in visits if not visit.person_id and visit.id in result]
    # The visits now name their person (the next search finds them by person).
    update_rows(CheckIn, ["person"], linked_now)
    return result


def _known(
    visit: copresence.Visit,
    by_id: Mapping[int, Person],
    by_number: Mapping[str, Person],
    by_phone: Mapping[str, Person],
) -> Person | None:
    person = by_id.get(visit.person_id) if visit.person_id else None
    if person is None and visit.id_number:
        person = by_number.get(visit.id_number)
    if person is None and visit.phone:
        person = by_phone.get(visit.phone)
    return person


def _visitor_identity(visit: copresence.Visit) -> tuple[str, str]:
    if visit.id_number:
        try:
            return identity.normalize_id_number(visit.id_number, IdType.RESIDENT, today=local_today())
        except identity.IdentityError:
            return IdType.OTHER, visit.id_number
    return IdType.OTHER, f"TEL{visit.phone}"


def _register_visitors(
    unknown: Mapping[tuple[str, str], copresence.Visit], *, venues: Mapping[int, Venue], actor: User | None
) -> list[Person]:
    """Register the unknown visitors in one statement (those another process registered meanwhile are reused)."""
    rows = []
    with translation.override(settings.LANGUAGE_CODE):
        for (id_type, number), visit in unknown.items():
            venue = venues[visit.venue_id]
            name = (visit.name or _("Visitor of %(venue)s (to identify)") % {"venue": venue.name})[:100]
            rows.append(
                Person(
                    name=name,
                    name_pinyin=identity.name_pinyin(name)[:200],
                    name_initials=identity.name_initials(name)[:50],
                    id_type=id_type,
                    id_number=number,
                    phone=visit.phone,
                    path=venue.path,
                )
            )
    condition = Q()
    for id_type, number in unknown:
        condition |= Q(id_type=id_type, id_number=number)
    before = set(Person.objects.filter(condition).values_list("id_type", "id_number"))
    Person.objects.bulk_create(
        [row for row in rows if (row.id_type, row.id_number) not in before], ignore_conflicts=True
    )
    stored = {(p.id_type, p.id_number): p for p in Person.objects.filter(condition)}
    fresh = [person for key, person in stored.items() if key not in before]
    audit.record_many(
        actor=actor,
        action=AuditAction.CREATE,
        instances=fresh,
        note="venue co-presence",
        changes=lambda row: audit.diff({}, audit.snapshot(row)),
    )
    return [stored[key] for key in unknown]


@dataclass
class CopresenceRun:
    cases: int
    exposures: int
    derivation: Derivation


@transaction.atomic
def copresence_run(
    *, actor: User | None, day: datetime.date | None = None, cases: Iterable[Case] | None = None
) -> CopresenceRun:
    """The batch run: co-presence for all of a day's new cases at once (one search), then one derivation."""
    if cases is None:
        day = day or local_today()
        cases = Case.objects.filter(
            Q(report_date=day) | Q(created_at__date=day), classification__in=ACTIVE_CLASSIFICATIONS
        )
    selected = list(cases)
    found = copresence_exposures(actor=actor, cases=selected)
    exposed = set(
        Exposure.objects.filter(source_id__in=[c.person_id for c in selected]).values_list("exposed_id", flat=True)
    )
    derivation = derive(person_ids=exposed, actor=actor)
    recompute_clusters_later()
    return CopresenceRun(cases=len(selected), exposures=found, derivation=derivation)


# -- contacts -------------------------------------------------------------------------------------------------------


@dataclass
class _Evidence:
    kind: str
    exposures: list[Exposure]
    index_case_id: int | None
    source_names: list[str]

    @property
    def first(self) -> datetime.datetime:
        return min(e.start for e in self.exposures)

    @property
    def last(self) -> datetime.datetime:
        return max(e.end for e in self.exposures)


def _overlaps(exposure: Exposure, start: datetime.datetime, end: datetime.datetime | None) -> bool:
    return exposure.end >= start and (end is None or exposure.start < end)


def _close_evidence(person_ids: set[int], active_cases: Mapping[int, Case]) -> dict[int, _Evidence]:
    exposures = Exposure.objects.filter(exposed_id__in=person_ids, status__in=COUNTED_STATUSES).select_related("source")
    result: dict[int, _Evidence] = {}
    cases = dict(active_cases)
    missing = {e.source_id for e in exposures} - set(cases)
    if missing:
        cases.update(
            {
                c.person_id: c
                for c in Case.objects.filter(person_id__in=missing, classification__in=ACTIVE_CLASSIFICATIONS)
            }
        )
    for exposure in exposures:
        case = cases.get(exposure.source_id)
        if case is None or not case.is_active:
            continue
        start, end = window_bounds(case)
        if not _overlaps(exposure, start, end):
            continue
        evidence = result.setdefault(exposure.exposed_id, _Evidence(ContactKind.CLOSE, [], case.pk, []))
        evidence.exposures.append(exposure)
        if exposure.source.name not in evidence.source_names:
            evidence.source_names.append(exposure.source.name)
    return result


def _secondary_evidence(
    person_ids: set[int], close: Mapping[int, _Evidence], released: set[int]
) -> dict[int, _Evidence]:
    exposures = list(
        Exposure.objects.filter(exposed_id__in=person_ids, status__in=COUNTED_STATUSES).select_related("source")
    )
    sources = {e.source_id for e in exposures}
    # Close contacts as this round derived them, else as stored.
    stored = {
        c.person_id: c
        for c in Contact.objects.filter(
            person_id__in=sources - set(close) - released, status=ContactStatus.ACTIVE, kind=ContactKind.CLOSE
        )
    }
    isolation = dict(Contact.objects.filter(person_id__in=sources).values_list("person_id", "isolated_at"))
    result: dict[int, _Evidence] = {}
    for exposure in exposures:
        source = exposure.source_id
        if source in close:
            first, index_case = close[source].first, close[source].index_case_id
        elif source in stored:
            first, index_case = stored[source].first_exposure_at, stored[source].index_case_id
        else:
            continue
        if not _overlaps(exposure, first, isolation.get(source)):
            continue
        evidence = result.setdefault(exposure.exposed_id, _Evidence(ContactKind.SECONDARY, [], index_case, []))
        evidence.exposures.append(exposure)
        if exposure.source.name not in evidence.source_names:
            evidence.source_names.append(exposure.source.name)
    return result


def derive(*, person_ids: Iterable[int], actor: User | None, today: datetime.date | None = None) -> Derivation:
    """Re-derive the contact status of ``person_ids`` and of the people they exposed; store what changed."""
    today = today or local_today()
    initial = set(person_ids)
    if not initial:
        return Derivation()
    downstream = set(
        Exposure.objects.filter(source_id__in=initial, status__in=COUNTED_STATUSES).values_list("exposed_id", flat=True)
    )
    affected = initial | downstream
    # People who are active cases themselves are not contacts.
    cases_among = set(
        Case.objects.filter(person_id__in=affected, classification__in=ACTIVE_CLASSIFICATIONS).values_list(
            "person_id", flat=True
        )
    )
    close = {pid: ev for pid, ev in _close_evidence(affected, {}).items() if pid not in cases_among}
    stored = {
        c.person_id: c for c in Contact.objects.filter(person_id__in=affected).select_related("measure", "person")
    }
    no_longer_close = {pid for pid, c in stored.items() if c.kind == ContactKind.CLOSE and pid not in close}
    secondary = {
        pid: ev
        for pid, ev in _secondary_evidence(affected - set(close) - cases_among, close, no_longer_close).items()
        if pid not in cases_among
    }
    persons = {p.pk: p for p in Person.objects.filter(pk__in=affected).select_related("household")}
    report = Derivation()
    book = edition_book()
    new: list[tuple[Person, _Evidence]] = []
    for pid in sorted(affected):
        evidence = close.get(pid) or secondary.get(pid)
        contact = stored.get(pid)
        if evidence is not None and contact is None:
            new.append((persons[pid], evidence))
            continue
        if evidence is None:
            if contact is not None and contact.status == ContactStatus.ACTIVE:
                reason = (
                    _("became a case")
                    if pid in cases_among
                    else _("the exposures it rested on no longer hold (rejected, or the case was excluded or re-dated)")
                )
                report.released.append(_release(contact, actor=actor, reason=reason, notify=pid not in cases_among))
            continue
        person = persons[pid]
        report_bucket = _apply(contact, evidence, person=person, actor=actor, today=today, book=book)
        if report_bucket is not None:
            kind, stored_contact = report_bucket
            (report.created if kind == "created" else report.changed).append(stored_contact)
    report.created += _create_contacts(new, actor=actor, today=today, book=book)
    return report


def _create_contacts(
    new: Sequence[tuple[Person, _Evidence]], *, actor: User | None, today: datetime.date, book: Any
) -> list[Contact]:
    """New contacts in bulk (a case at a busy venue makes hundreds): a few statements, not a few per contact."""
    if not new:
        return []
    contacts = Contact.objects.bulk_create(
        [
            Contact(
                person=person,
                path=person.path,
                kind=evidence.kind,
                status=ContactStatus.ACTIVE,
                first_exposure_at=evidence.first,
                last_exposure_at=evidence.last,
                index_case_id=evidence.index_case_id,
            )
            for person, evidence in new
        ]
    )
    through = Contact.exposures.through
    through.objects.bulk_create(
        [
            through(contact_id=contact.pk, exposure_id=exposure.pk)
            for contact, (_person, evidence) in zip(contacts, new, strict=True)
            for exposure in evidence.exposures
        ]
    )
    decided = [
        (contact, evidence, _decision(evidence, book=book, today=today))
        for contact, (_person, evidence) in zip(contacts, new, strict=True)
    ]
    measures = Measure.objects.bulk_create(
        [
            assign.measure_from_decision(
                decision, person_id=contact.person_id, path=contact.path, source=contact, actor=actor
            )
            for contact, _evidence, decision in decided
            if not decision.is_none
        ]
    )
    by_person = {measure.person_id: measure for measure in measures}
    for contact in contacts:
        contact.measure = by_person.get(contact.person_id)
    update_rows(Contact, ["measure"], [(c.pk, c.measure.pk) for c in contacts if c.measure is not None])
    hooks.measures_changed([c.person_id for c in contacts if c.measure is not None], actor=actor)
    snapshot = lambda row: audit.diff({}, audit.snapshot(row))  # noqa: E731
    audit.record_many(actor=actor, action=AuditAction.CREATE, instances=contacts, changes=snapshot)
    audit.record_many(actor=actor, action=AuditAction.CREATE, instances=measures, changes=snapshot)
    tasks: list[Task] = []
    assignees: dict[str, dict[str, Any]] = {}
    for contact, evidence in ((c, e) for c, e, _d in decided):
        if contact.measure is None:
            continue
        outcome = assign.Outcome(assign.Change.CREATED, contact.measure, None)
        tasks += _contact_task_rows(contact, outcome, evidence.source_names, assignees=assignees)
    created = Task.objects.bulk_create(tasks)
    audit.record_many(actor=None, action=AuditAction.CREATE, instances=created, changes=snapshot)
    return contacts


def _decision(evidence: _Evidence, *, book: Any, today: datetime.date) -> Decision:
    trigger = Trigger.CLOSE_CONTACT if evidence.kind == ContactKind.CLOSE else Trigger.SECONDARY_CONTACT
    last = min(evidence.last, timezone.now())
    item = Evidence(
        trigger=trigger,
        first_day=timezone.localtime(evidence.first).date(),
        last_day=timezone.localtime(last).date(),
        source_label="、".join(evidence.source_names[:5]),
    )
    return evaluate(book=book, evidence=[item], today=today)


def _apply(
    contact: Contact | None,
    evidence: _Evidence,
    *,
    person: Person,
    actor: User | None,
    today: datetime.date,
    book: Any,
) -> tuple[str, Contact] | None:
    values = {
        "kind": evidence.kind,
        "status": ContactStatus.ACTIVE,
        "first_exposure_at": evidence.first,
        "last_exposure_at": evidence.last,
        "index_case_id": evidence.index_case_id,
        "path": person.path,
        "released_at": None,
        "release_reason": "",
    }
    exposure_ids = sorted(e.pk for e in evidence.exposures)
    if contact is None:
        contact = Contact.objects.create(person=person, **values)
        audit.record(
            actor=actor, action=AuditAction.CREATE, instance=contact, changes=audit.diff({}, audit.snapshot(contact))
        )
        contact.exposures.set(exposure_ids)
        outcome = _assign_measure(
            contact, _decision(evidence, book=book, today=today), actor=actor, today=today, force=False
        )
        contact_tasks(contact=contact, outcome=outcome, evidence_names=evidence.source_names)
        return "created", contact
    current_ids = sorted(contact.exposures.values_list("pk", flat=True))
    unchanged = all(getattr(contact, k) == v for k, v in values.items() if k != "path") and current_ids == exposure_ids
    if unchanged:
        return None
    # Evidence withdrawn (a weaker kind, a later first or an earlier last exposure): the measure follows it down.
    weaker = (contact.kind == ContactKind.CLOSE and evidence.kind == ContactKind.SECONDARY) or (
        contact.status == ContactStatus.ACTIVE and evidence.last < contact.last_exposure_at
    )
    was_released = contact.status == ContactStatus.RELEASED
    before = audit.snapshot(contact)
    contact = versioned_update(contact, expected_version=contact.version, values=values)
    contact.exposures.set(exposure_ids)
    audit.record(
        actor=actor, action=AuditAction.UPDATE, instance=contact, changes=audit.diff(before, audit.snapshot(contact))
    )
    outcome = _assign_measure(
        contact, _decision(evidence, book=book, today=today), actor=actor, today=today, force=weaker
    )
    contact_tasks(contact=contact, outcome=outcome, evidence_names=evidence.source_names)
    return ("created" if was_released else "changed"), contact


def _assign_measure(
    contact: Contact, decision: Decision, *, actor: User | None, today: datetime.date, force: bool
) -> assign.Outcome:
    """Store the engine's decision as the contact's measure (``force``: evidence withdrawn, may shorten)."""
    current = contact.measure if contact.measure_id and contact.measure.status == MeasureStatus.ACTIVE else None  # type: ignore[union-attr]
    change = assign.plan(current, decision, today=today)
    if force and change == assign.Change.KEPT:
        change = assign.Change.CANCELLED if decision.is_none else assign.Change.REPLACED
    if change in (assign.Change.UNCHANGED, assign.Change.KEPT, assign.Change.NONE):
        return assign.Outcome(change, current, None)
    new = None
    if change in (assign.Change.CREATED, assign.Change.REPLACED):
        new = assign.measure_from_decision(
            decision, person_id=contact.person_id, path=contact.path, source=contact, actor=actor
        )
        new.save()
        audit.record(actor=actor, action=AuditAction.CREATE, instance=new, changes=audit.diff({}, audit.snapshot(new)))
    if current is not None:
        _end_measure(current, status=MeasureStatus.SUPERSEDED if new else MeasureStatus.CANCELLED, by=new, actor=actor)
    Contact.objects.filter(pk=contact.pk).update(measure=new)
    contact.measure = new
    hooks.measures_changed([contact.person_id], actor=actor)
    return assign.Outcome(change, new, current)


def _end_measure(measure: Measure, *, status: str, by: Measure | None, actor: User | None) -> None:
    before = audit.snapshot(measure)
    measure = versioned_update(
        measure, expected_version=measure.version, values={"status": status, "superseded_by": by}
    )
    audit.record(
        actor=actor, action=AuditAction.UPDATE, instance=measure, changes=audit.diff(before, audit.snapshot(measure))
    )


def _release(contact: Contact, *, actor: User | None, reason: str, notify: bool) -> Contact:
    measure = contact.measure if contact.measure_id and contact.measure.status == MeasureStatus.ACTIVE else None  # type: ignore[union-attr]
    before = audit.snapshot(contact)
    contact = versioned_update(
        contact,
        expected_version=contact.version,
        values={"status": ContactStatus.RELEASED, "released_at": timezone.now(), "release_reason": reason[:300]},
    )
    audit.record(
        actor=actor, action=AuditAction.UPDATE, instance=contact, changes=audit.diff(before, audit.snapshot(contact))
    )
    if measure is not None:
        _end_measure(measure, status=MeasureStatus.CANCELLED, by=None, actor=actor)
        hooks.measures_changed([contact.person_id], actor=actor)
    content_type = ContentType.objects.get_for_model(Contact)
    now = timezone.now()
    Task.objects.filter(content_type=content_type, object_id=str(contact.pk), status__in=OPEN_STATUSES).update(
        status="cancelled", closed_at=now, notes=_("Released: %(reason)s") % {"reason": reason}
    )
    if notify:
        _create_tasks(
            contact,
            [
                Task(
                    title=_task_title(
                        "Tell %(name)s that the contact measure is lifted: %(reason)s",
                        name=contact.person.name,
                        reason=reason,
                    ),
                    kind="contact_release",
                    due_at=now + datetime.timedelta(hours=settings.TASK_DEFAULT_DUE_HOURS),
                    priority=TaskPriority.HIGH,
                )
            ],
        )
    return contact


def _task_title(template: str, **values: Any) -> str:
    # Task titles are stored text: written in the installation's language, whoever (or whatever job) creates them.
    with translation.override(settings.LANGUAGE_CODE):
        return (_(template) % values)[:200]


def _assignee(contact: Contact) -> dict[str, Any]:
    """The household's responsible member and grid; without a household, the officer of the person's place."""
    person = contact.person
    household = person.household if person.household_id else None
    if household is not None:
        if household.responsible_id:
            return {"assignee_user_id": household.responsible_id, "assignee_grid_id": household.grid_id}
        return {"assignee_grid_id": household.grid_id}
    officer = officer_for(contact.path)
    return {"assignee_user_id": officer.pk} if officer is not None else {}


def _addressed(
    contact: Contact, tasks: list[Task], *, assignees: dict[str, dict[str, Any]] | None = None
) -> list[Task]:
    """The tasks with the contact and its assignee set; none when nobody answers for the place."""
    if assignees is not None and contact.person.household_id is None and contact.path in assignees:
        assignee = assignees[contact.path]
    else:
        assignee = _assignee(contact)
        if assignees is not None and contact.person.household_id is None:
            assignees[contact.path] = assignee
    if not assignee:
        return []
    content_type = ContentType.objects.get_for_model(Contact)
    for task in tasks:
        task.content_type = content_type
        task.object_id = str(contact.pk)
        task.path = contact.path
        for key, value in assignee.items():
            setattr(task, key, value)
    return tasks


def _create_tasks(contact: Contact, tasks: list[Task]) -> list[Task]:
    tasks = _addressed(contact, tasks)
    if not tasks:
        return []
    created = Task.objects.bulk_create(tasks)
    for task in created:
        audit.record(actor=None, action=AuditAction.CREATE, instance=task, changes=audit.diff({}, audit.snapshot(task)))
    return created


def contact_tasks(*, contact: Contact, outcome: assign.Outcome, evidence_names: Sequence[str]) -> list[Task]:
    """The grid's tasks when a contact's measure is new or changed: control the person now, follow to the end."""
    if outcome.change not in (assign.Change.CREATED, assign.Change.REPLACED) or outcome.measure is None:
        return []
    content_type = ContentType.objects.get_for_model(Contact)
    Task.objects.filter(
        content_type=content_type,
        object_id=str(contact.pk),
        status__in=OPEN_STATUSES,
        kind__in=("contact_control", "contact_follow_up", "contact_release"),
    ).update(status="cancelled", closed_at=timezone.now(), notes=_("Replaced: the measure changed."))
    tasks = _contact_task_rows(contact, outcome, evidence_names)
    if not tasks:
        return []
    created = Task.objects.bulk_create(tasks)
    for task in created:
        audit.record(actor=None, action=AuditAction.CREATE, instance=task, changes=audit.diff({}, audit.snapshot(task)))
    return created


def _contact_task_rows(
    contact: Contact,
    outcome: assign.Outcome,
    evidence_names: Sequence[str],
    *,
    assignees: dict[str, dict[str, Any]] | None = None,
) -> list[Task]:
    measure = outcome.measure
    assert measure is not None
    now = timezone.now()
    urgent = measure.measure_type in URGENT_MEASURES
    kind_label = ContactKind(contact.kind).label
    tasks = [
        Task(
            title=_task_title(
                "Control %(kind)s %(name)s (exposed to %(sources)s): %(measure)s from %(start)s to %(end)s",
                kind=kind_label,
                name=contact.person.name,
                sources="、".join(evidence_names[:3]) or "—",
                measure=MeasureType(measure.measure_type).label,
                start=measure.start,
                end=measure.end,
            ),
            kind="contact_control",
            due_at=now
            + datetime.timedelta(hours=settings.TASK_URGENT_DUE_HOURS if urgent else settings.TASK_DEFAULT_DUE_HOURS),
            priority=TaskPriority.URGENT if urgent else TaskPriority.HIGH,
        ),
        Task(
            title=_task_title(
                "Follow %(name)s until %(end)s: tests on %(tests)s",
                name=contact.person.name,
                end=measure.follow_on_end or measure.end,
                tests="、".join(str(d) for d in measure.test_dates) or "—",
            ),
            kind="contact_follow_up",
            due_at=timezone.make_aware(
                datetime.datetime.combine(measure.follow_on_end or measure.end, datetime.time(18, 0))
            ),
            priority=TaskPriority.NORMAL,
        ),
    ]
    return _addressed(contact, tasks, assignees=assignees)


@transaction.atomic
def contact_isolate(
    *, actor: User, contact: Contact, at: datetime.datetime, today: datetime.date | None = None
) -> Derivation:
    """Record when the contact was isolated: their later exposures of others make no secondary contacts."""
    scope = scope_of(actor)
    if not (scope.has(Perm.TRACE_EDIT) or (scope.has(Perm.TASK_CHANGE) and scope.covers_path(contact.path))):
        raise PermissionDenied(_("Your role does not allow recording the isolation of contacts."))
    if timezone.is_naive(at):
        at = timezone.make_aware(at)
    if at > timezone.now() + datetime.timedelta(minutes=5):
        raise ValidationError({"isolated_at": [_("This time is in the future.")]})
    if at < contact.first_exposure_at:
        raise ValidationError({"isolated_at": [_("Isolation cannot come before the first exposure.")]})
    before = audit.snapshot(contact)
    contact = versioned_update(contact, expected_version=contact.version, values={"isolated_at": at})
    audit.record(
        actor=actor, action=AuditAction.UPDATE, instance=contact, changes=audit.diff(before, audit.snapshot(contact))
    )
    downstream = set(Exposure.objects.filter(source_id=contact.person_id).values_list("exposed_id", flat=True))
    return derive(person_ids=downstream, actor=actor, today=today)


@transaction.atomic
def contact_request_locate(*, actor: User, contact: Contact, department_id: int, note: str = "") -> Task:
    """Ask a department (the police, usually) to help locate a contact who cannot be found."""
    from firstline.accounts.models import Department

    if not scope_of(actor).has(Perm.TASK_ADD):
        raise PermissionDenied(_("Your role does not allow creating tasks."))
    department = Department.objects.filter(pk=department_id).first()
    if department is None:
        raise ValidationError({"department": [_("Choose a department.")]})
    task = Task.objects.create(
        title=_task_title(
            "Help locate %(kind)s %(name)s", kind=ContactKind(contact.kind).label, name=contact.person.name
        ),
        kind="contact_locate",
        content_type=ContentType.objects.get_for_model(Contact),
        object_id=str(contact.pk),
        path=contact.path,
        assignee_department=department,
        due_at=timezone.now() + datetime.timedelta(hours=settings.ASSIST_LOCATE_HOURS),
        priority=TaskPriority.URGENT,
        notes=note[:2000],
        created_by=actor,
    )
    audit.record(actor=actor, action=AuditAction.CREATE, instance=task, changes=audit.diff({}, audit.snapshot(task)))
    return task


CLUSTERS_PENDING_KEY = "tracing:clusters-pending"


def recompute_clusters_later() -> None:
    """Clusters follow the exposures: one recomputation is queued once this transaction commits.

    A recomputation covers every change made before it starts, so while one is pending (the cache flag, cleared
    when the task starts) further writes queue nothing: a day of exposure decisions costs a few runs, not one each.
    """
    if not cache.add(CLUSTERS_PENDING_KEY, 1, timeout=settings.CLUSTER_RECOMPUTE_DELAY_SECONDS + 300):
        return

    def run() -> None:
        from firstline.tracing.clusters.tasks import recompute_clusters

        recompute_clusters.apply_async(countdown=settings.CLUSTER_RECOMPUTE_DELAY_SECONDS)

    # A rolled-back transaction leaves the flag until it expires; the periodic recomputation (beat) covers that.
    transaction.on_commit(run)
