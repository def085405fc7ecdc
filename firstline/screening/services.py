"""Writes on arrivals: register (one, or many through ``Registrar`` for imports), verify, decide possible matches,
and re-evaluate after the risk-area list or the policy changes.

The per-row work (normalise, find the person, place into a household, match travel, evaluate the policy) is done by
``Registrar`` on data loaded once, so one registration and a 100,000-row import run the same code.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from firstline.accounts.models import User
from firstline.accounts.roles import Perm
from firstline.accounts.selectors import officer_for
from firstline.core import audit, identity
from firstline.core.concurrency import versioned_update
from firstline.core.dates import local_today
from firstline.core.models import AuditAction
from firstline.core.scoping import scope_of
from firstline.dispatch.models import OPEN_STATUSES, Task, TaskPriority
from firstline.people.models import IdType, Person
from firstline.people.services import clean_person_fields
from firstline.policy import assign, hooks
from firstline.policy.engine import Decision, EditionBook, evaluate
from firstline.policy.models import URGENT_MEASURES, Measure, MeasureStatus, MeasureType
from firstline.policy.selectors import edition_book
from firstline.regions.models import Division, Household
from firstline.riskareas.places import parse_place
from firstline.screening.matching import RiskIndex, TravelStay
from firstline.screening.models import (
    COUNTING_MATCH_STATUSES,
    Arrival,
    ArrivalSource,
    ArrivalStatus,
    HealthCode,
    MatchKind,
    MatchStatus,
    RegistrationPoint,
    Transport,
    TravelItem,
    TravelMatch,
)

log = logging.getLogger(__name__)

ARRIVAL_FIELDS = (
    "origin",
    "arrival_date",
    "arrival_time",
    "transport",
    "transport_no",
    "health_code",
    "vaccine_doses",
    "last_negative_test_at",
    "destination_address",
    "release_certificate",
    "note",
)


@dataclass(frozen=True)
class TravelInput:
    place: str
    date_from: datetime.date
    date_to: datetime.date


@dataclass
class CleanArrival:
    """One arrival after normalisation: person fields, arrival fields, travel, destination."""

    person: dict[str, Any]
    arrival: dict[str, Any]
    travel: list[TravelInput]
    # A Household, or in imports a lighter record with the same pk/path/grid_id/responsible_id.
    household: Household | None
    path: str


@dataclass
class Registration:
    arrival: Arrival
    person: Person
    person_created: bool
    arrival_created: bool
    decision: Decision
    measure: Measure | None
    change: str
    tasks: list[Task] = field(default_factory=list)


def _add(errors: dict[str, list[Any]], name: str, message: Any) -> None:
    errors.setdefault(name, []).append(message)


def clean_travel(raw: Sequence[Mapping[str, Any]], *, arrival_date: datetime.date | None) -> list[TravelInput]:
    """Travel items in order; dates default to the arrival day; out-of-order dates are refused, naming the item."""
    errors: dict[str, list[Any]] = {}
    items: list[TravelInput] = []
    for position, entry in enumerate(raw):
        place = identity.normalize_address(str(entry.get("place") or ""))[:200]
        if not place:
            continue
        first, last = entry.get("date_from"), entry.get("date_to")
        last = last or first or arrival_date
        first = first or last
        if first is None or last is None:
            if arrival_date is None:
                continue  # the missing arrival date is the error to report
            _add(errors, f"travel[{position}].date_to", _("Give the days spent at %(place)s.") % {"place": place})
            continue
        if first > last:
            _add(
                errors,
                f"travel[{position}].date_from",
                _("The travel dates are out of order: %(first)s is after %(last)s.") % {"first": first, "last": last},
            )
            continue
        if arrival_date is not None and first > arrival_date:
            _add(
                errors,
                f"travel[{position}].date_from",
                _("A stay cannot begin after the arrival (%(day)s).") % {"day": arrival_date},
            )
            continue
        items.append(TravelInput(place=place, date_from=first, date_to=last))
    if errors:
        raise ValidationError(errors)
    return items


class Registrar:
    """Registers arrivals for one actor with the policy, risk list and places loaded once."""

    def __init__(
        self,
        *,
        actor: User | None,
        source: str,
        today: datetime.date | None = None,
        book: EditionBook | None = None,
        index: RiskIndex | None = None,
        point: RegistrationPoint | None = None,
    ) -> None:
        self.actor = actor
        self.source = source
        self.today = today or local_today()
        self.book = book or edition_book()
        window = (
            max((r.lookback_days or 0 for e in self.book.editions for r in e.rules.values()), default=0)
            + settings.REEVALUATION_WINDOW_DAYS
        )
        self.index = index or RiskIndex.load(since=self.today - datetime.timedelta(days=window * 4))
        self.point = point
        self.scope = scope_of(actor) if actor is not None else None

    # -- cleaning ------------------------------------------------------------------------------------------------
    def clean(self, data: Mapping[str, Any]) -> CleanArrival:
        """Normalise one arrival; raise ValidationError naming every bad field (``person.*``, ``travel[i].*``…)."""
        errors: dict[str, list[Any]] = {}
        raw_person = data.get("person") or {}
        person: dict[str, Any] = {}
        try:
            person = clean_person_fields(
                name=raw_person.get("name", ""),
                id_type=raw_person.get("id_type") or IdType.RESIDENT,
                id_number=raw_person.get("id_number", ""),
                phone=raw_person.get("phone", ""),
                ethnicity=raw_person.get("ethnicity", ""),
                sex=raw_person.get("sex", ""),
                birth_date=raw_person.get("birth_date"),
            )
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                errors.setdefault(name, []).extend(messages)
        values: dict[str, Any] = {name: data.get(name) for name in ARRIVAL_FIELDS}
        arrival_date = values["arrival_date"]
        if not arrival_date:
            _add(errors, "arrival_date", _("The arrival date is required."))
        elif arrival_date > self.today:
            _add(errors, "arrival_date", _("The arrival date %(day)s is in the future.") % {"day": arrival_date})
        elif person.get("birth_date") and arrival_date < person["birth_date"]:
            _add(
                errors,
                "arrival_date",
                _("The arrival date %(day)s is before the birth date %(birth)s.")
                % {"day": arrival_date, "birth": person["birth_date"]},
            )
        for name, choices in (("transport", Transport), ("health_code", HealthCode)):
            if values.get(name) and values[name] not in choices.values:
                _add(errors, name, _("Unknown value %(value)r.") % {"value": values[name]})
        doses = values.get("vaccine_doses")
        if doses is not None and doses != "" and not (isinstance(doses, int) and 0 <= doses <= 6):
            _add(errors, "vaccine_doses", _("Vaccine doses must be a number from 0 to 6."))
        travel: list[TravelInput] = []
        raw_travel = list(data.get("travel") or [])
        if values.get("origin") and not any((t.get("place") or "").strip() for t in raw_travel):
            # The origin is itself a place the person was: it counts, up to the day of arrival.
            raw_travel = [{"place": values["origin"], "date_from": arrival_date, "date_to": arrival_date}]
        try:
            travel = clean_travel(raw_travel, arrival_date=arrival_date or None)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                errors.setdefault(name, []).extend(messages)
        household, path = None, ""
        try:
            household, path = self.destination(data)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                errors.setdefault(name, []).extend(messages)
        if errors:
            raise ValidationError(errors)
        values["origin"] = identity.normalize_address(values.get("origin") or "")[:200]
        values["destination_address"] = identity.normalize_address(values.get("destination_address") or "")[:300]
        values["transport_no"] = (values.get("transport_no") or "").strip().upper()[:40]
        values["transport"] = values.get("transport") or ""
        values["health_code"] = values.get("health_code") or ""
        values["vaccine_doses"] = None if doses in (None, "") else doses
        values["release_certificate"] = bool(values.get("release_certificate"))
        values["note"] = (values.get("note") or "").strip()
        return CleanArrival(person=person, arrival=values, travel=travel, household=household, path=path)

    def destination(self, data: Mapping[str, Any]) -> tuple[Household | None, str]:
        """The household (and so the grid) the person goes to, or the division whose queue resolves it."""
        household: Household | None = data.get("household")
        division: Division | None = data.get("division")
        if household is not None:
            path = household.path
        elif division is not None:
            path = division.code
        elif self.point is not None:
            path = self.point.path
        elif self.scope is not None and len(self.scope.paths) == 1:
            # A grid worker's unresolved arrival goes to their village: their own queue, not a scope violation.
            return None, self.scope.paths[0].split("-")[0]
        else:
            raise ValidationError({"household": [_("Choose the household the person is going to.")]})
        if self.scope is not None and not self.scope.covers_path(path) and self.point is None:
            if household is not None:
                raise ValidationError({"household": [_("This household is outside your jurisdiction.")]})
            raise ValidationError({"division": [_("This division is outside your jurisdiction.")]})
        return household, path

    # -- matching and evaluation ---------------------------------------------------------------------------------
    def stays(self, travel: Iterable[TravelInput]) -> list[TravelStay]:
        stays = []
        for item in travel:
            parsed = parse_place(item.place)
            stays.append(TravelStay(item.place, parsed.code, parsed.remainder, item.date_from, item.date_to))
        return stays

    def decide(
        self,
        *,
        stays: Sequence[TravelStay],
        arrival_date: datetime.date,
        release_certificate: bool,
        decided: Mapping[tuple[int, int], str] | None = None,
    ) -> tuple[Decision, list[tuple[int, Any, str]]]:
        """Match the stays and evaluate. Returns the decision and the matches as (stay index, hit, status).

        ``decided`` carries earlier grid-worker decisions on possible matches, keyed by (stay index, period id).
        """
        evidence = []
        matches: list[tuple[int, Any, str]] = []
        for position, stay in enumerate(stays):
            for hit in self.index.match(stay):
                status = MatchStatus.ACCEPTED
                if hit.kind == MatchKind.POSSIBLE:
                    status = MatchStatus((decided or {}).get((position, hit.period.id), MatchStatus.PENDING))
                matches.append((position, hit, status))
                if status in COUNTING_MATCH_STATUSES:
                    evidence.append(hit.evidence(stay))
        decision = evaluate(
            book=self.book,
            evidence=evidence,
            arrival_date=arrival_date,
            today=self.today,
            release_certificate=release_certificate,
        )
        return decision, matches

    # -- one registration, through the ORM -----------------------------------------------------------------------
    @transaction.atomic
    def register(self, data: Mapping[str, Any]) -> Registration:
        clean = self.clean(data)
        person, person_created = self._person(clean)
        arrival_date = clean.arrival["arrival_date"]
        existing = Arrival.objects.select_for_update().filter(person=person, arrival_date=arrival_date).first()
        status = ArrivalStatus.PENDING if self.source == ArrivalSource.SELF_REGISTRATION else ArrivalStatus.VERIFIED
        values = {
            **clean.arrival,
            "household": clean.household,
            "path": clean.path,
        }
        if existing is None:
            arrival = Arrival.objects.create(
                person=person,
                source=self.source,
                status=status,
                registration_point=self.point,
                registered_by=self.actor,
                verified_by=self.actor if status == ArrivalStatus.VERIFIED else None,
                verified_at=timezone.now() if status == ArrivalStatus.VERIFIED else None,
                **values,
            )
            audit.record(
                actor=self.actor,
                action=AuditAction.CREATE,
                instance=arrival,
                changes=audit.diff({}, audit.snapshot(arrival)),
            )
            created = True
        else:
            if self.source == ArrivalSource.SELF_REGISTRATION:
                if existing.status != ArrivalStatus.PENDING:
                    # Anyone can type someone's ID on the public page: a record staff have verified is never
                    # changed from there. The grid's verify task shows the arrival as registered.
                    return self._unchanged(existing, person, person_created)
                values = {k: v for k, v in values.items() if v not in ("", None)}  # the public never erases
                values.pop("household", None)
                values.pop("path", None)
            before = audit.snapshot(existing)
            arrival = versioned_update(existing, expected_version=existing.version, values=values)
            audit.record(
                actor=self.actor,
                action=AuditAction.UPDATE,
                instance=arrival,
                changes=audit.diff(before, audit.snapshot(arrival)),
            )
            created = False
        stays = self.stays(clean.travel)
        decided = _decided_matches(arrival) if not created else {}
        _replace_travel(arrival, clean.travel, stays)
        decision, matches = self.decide(
            stays=stays,
            arrival_date=arrival.arrival_date,
            release_certificate=arrival.release_certificate,
            decided=decided,
        )
        _store_matches(arrival, matches)
        outcome = apply_decision(actor=self.actor, arrival=arrival, decision=decision, today=self.today)
        tasks = arrival_tasks(arrival=arrival, outcome=outcome, pending_matches=_pending_count(matches))
        return Registration(
            arrival=arrival,
            person=person,
            person_created=person_created,
            arrival_created=created,
            decision=decision,
            measure=outcome.measure,
            change=outcome.change,
            tasks=tasks,
        )

    def _unchanged(self, arrival: Arrival, person: Person, person_created: bool) -> Registration:
        measure = active_measure(arrival)
        decision = Decision(measure=measure.measure_type if measure else MeasureType.NONE)
        return Registration(
            arrival=arrival,
            person=person,
            person_created=person_created,
            arrival_created=False,
            decision=decision,
            measure=measure,
            change=assign.Change.UNCHANGED,
        )

    def _person(self, clean: CleanArrival) -> tuple[Person, bool]:
        """Find the person by ID (following merges) or create them at the destination."""
        fields = clean.person
        person = Person.objects.filter(id_type=fields["id_type"], id_number=fields["id_number"]).first()
        while person is not None and person.merged_into_id is not None:
            person = person.merged_into
        if person is not None and self.source == ArrivalSource.SELF_REGISTRATION:
            return person, False  # the public page never edits a registered person
        if person is not None:
            fill = {}
            if fields.get("phone") and not person.phone:
                fill["phone"] = fields["phone"]
            if clean.household is not None and person.household_id is None:
                fill.update(household=clean.household, path=clean.household.path)
            if fill:
                before = audit.snapshot(person)
                person = versioned_update(person, expected_version=person.version, values=fill)
                audit.record(
                    actor=self.actor,
                    action=AuditAction.UPDATE,
                    instance=person,
                    changes=audit.diff(before, audit.snapshot(person)),
                    note="arrival registration",
                )
            return person, False
        try:
            with transaction.atomic():
                person = Person.objects.create(household=clean.household, path=clean.path, **fields)
        except IntegrityError:
            # Registered by someone else a moment ago (two imports at once): the constraint decides, we reuse it.
            person = Person.objects.get(id_type=fields["id_type"], id_number=fields["id_number"])
            return person, False
        audit.record(
            actor=self.actor,
            action=AuditAction.CREATE,
            instance=person,
            changes=audit.diff({}, audit.snapshot(person)),
            note="arrival registration",
        )
        return person, True


def _decided_matches(arrival: Arrival) -> dict[tuple[int, int], str]:
    """Grid workers' earlier confirm/clear decisions, kept across re-evaluations of the same travel."""
    rows = TravelMatch.objects.filter(
        arrival=arrival, status__in=[MatchStatus.CONFIRMED, MatchStatus.CLEARED]
    ).values_list("travel__position", "period_id", "status")
    return {(position, period): status for position, period, status in rows}


def _replace_travel(arrival: Arrival, travel: Sequence[TravelInput], stays: Sequence[TravelStay]) -> None:
    TravelMatch.objects.filter(arrival=arrival).delete()
    arrival.travel.all().delete()
    TravelItem.objects.bulk_create(
        [
            TravelItem(
                arrival=arrival,
                position=position,
                place_text=item.place,
                place_code=stay.code,
                place_remainder=stay.remainder[:200],
                date_from=item.date_from,
                date_to=item.date_to,
            )
            for position, (item, stay) in enumerate(zip(travel, stays, strict=True))
        ]
    )
    needs_review = any(not stay.code for stay in stays)
    if arrival.needs_review != needs_review:
        Arrival.objects.filter(pk=arrival.pk).update(needs_review=needs_review)
        arrival.needs_review = needs_review


def _store_matches(arrival: Arrival, matches: Sequence[tuple[int, Any, str]]) -> None:
    if not matches:
        return
    items = {item.position: item for item in arrival.travel.all()}
    TravelMatch.objects.bulk_create(
        [
            TravelMatch(
                arrival=arrival,
                travel=items[position],
                period_id=hit.period.id,
                area_id=hit.period.area_id,
                level=hit.period.level,
                kind=hit.kind,
                status=status,
            )
            for position, hit, status in matches
        ]
    )
    if any(status == MatchStatus.PENDING for _p, _h, status in matches) and not arrival.needs_review:
        Arrival.objects.filter(pk=arrival.pk).update(needs_review=True)
        arrival.needs_review = True


def _pending_count(matches: Sequence[tuple[int, Any, str]]) -> int:
    return sum(1 for _p, _h, status in matches if status == MatchStatus.PENDING)


def active_measure(arrival: Arrival) -> Measure | None:
    """The arrival's measure while it is active."""
    measure = arrival.measure if arrival.measure_id else None
    return measure if measure is not None and measure.status == MeasureStatus.ACTIVE else None


def apply_decision(*, actor: User | None, arrival: Arrival, decision: Decision, today: datetime.date) -> assign.Outcome:
    """Store the decision as the arrival's measure (or keep/cancel the current one), audited."""
    current = active_measure(arrival)
    change = assign.plan(current, decision, today=today)
    if change in (assign.Change.UNCHANGED, assign.Change.KEPT, assign.Change.NONE):
        return assign.Outcome(change, current, None)
    new = None
    if change in (assign.Change.CREATED, assign.Change.REPLACED):
        new = assign.measure_from_decision(
            decision, person_id=arrival.person_id, path=arrival.path, source=arrival, actor=actor
        )
        new.save()
        audit.record(actor=actor, action=AuditAction.CREATE, instance=new, changes=audit.diff({}, audit.snapshot(new)))
    if current is not None:
        before = audit.snapshot(current)
        status = MeasureStatus.SUPERSEDED if new else MeasureStatus.CANCELLED
        current = versioned_update(
            current, expected_version=current.version, values={"status": status, "superseded_by": new}
        )
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            instance=current,
            changes=audit.diff(before, audit.snapshot(current)),
        )
    Arrival.objects.filter(pk=arrival.pk).update(measure=new)
    arrival.measure = new
    hooks.measures_changed([arrival.person_id], actor=actor)
    return assign.Outcome(change, new, current)


# Task titles are stored text: written in the installation's language, whoever (or whatever job) creates them.
def visit_title(name: str, day: datetime.date, measure: str, start: Any, end: Any) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return _visit_title(name, day, measure, start, end)


def _visit_title(name: str, day: datetime.date, measure: str, start: Any, end: Any) -> str:
    label = MeasureType(measure).label
    return _("Visit %(name)s (arrived %(day)s): %(measure)s from %(start)s to %(end)s") % {
        "name": name,
        "day": day,
        "measure": label,
        "start": start,
        "end": end,
    }


def follow_title(name: str, end: Any, test_dates: Iterable[Any]) -> str:
    tests = "、".join(str(day) for day in test_dates) or "—"
    with translation.override(settings.LANGUAGE_CODE):
        return _("Follow %(name)s until %(end)s: tests on %(tests)s") % {"name": name, "end": end, "tests": tests}


def verify_title(name: str, day: datetime.date) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return _("Verify the self-registration of %(name)s (arrived %(day)s)") % {"name": name, "day": day}


def resolve_title(name: str, day: datetime.date) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return _("Find the household of %(name)s (arrived %(day)s) and verify the arrival") % {
            "name": name,
            "day": day,
        }


def match_title(name: str) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return _("Confirm or clear a possible risk-area match for %(name)s") % {"name": name}


def _assignee(arrival: Arrival) -> dict[str, Any]:
    household = arrival.household
    if household is None:
        # Waiting in a queue: the officer of the village/community (or township) resolves it.
        officer = officer_for(arrival.path)
        return {"assignee_user_id": officer.pk} if officer is not None else {}
    if household.responsible_id:
        return {"assignee_user_id": household.responsible_id, "assignee_grid_id": household.grid_id}
    return {"assignee_grid_id": household.grid_id}


def arrival_tasks(*, arrival: Arrival, outcome: assign.Outcome, pending_matches: int) -> list[Task]:
    """The grid's tasks for this arrival: visit/verify, confirm possible matches, follow the measure to its end.

    An arrival with no household yet gets one task instead, for the officer of the queue it waits in: find the
    household (the grid's tasks follow when it is set). Tasks already open are not repeated.
    """
    assignee = _assignee(arrival)
    if not assignee:
        return []
    measure = outcome.measure
    wanted: list[Task] = []
    now = timezone.now()
    name = arrival.person.name
    if arrival.household_id is None:
        wanted.append(
            Task(
                title=resolve_title(name, arrival.arrival_date),
                kind="arrival_resolve",
                due_at=now + datetime.timedelta(hours=settings.TASK_DEFAULT_DUE_HOURS),
                priority=TaskPriority.HIGH if measure is not None else TaskPriority.NORMAL,
            )
        )
    elif outcome.change in (assign.Change.CREATED, assign.Change.REPLACED) and measure is not None:
        urgent = measure.measure_type in URGENT_MEASURES
        wanted.append(
            Task(
                title=visit_title(name, arrival.arrival_date, measure.measure_type, measure.start, measure.end),
                kind="arrival_visit",
                due_at=now
                + datetime.timedelta(
                    hours=settings.TASK_URGENT_DUE_HOURS if urgent else settings.TASK_DEFAULT_DUE_HOURS
                ),
                priority=TaskPriority.URGENT if urgent else TaskPriority.HIGH,
            )
        )
        end = measure.follow_on_end or measure.end
        wanted.append(
            Task(
                title=follow_title(name, end, measure.test_dates),
                kind="arrival_follow_up",
                due_at=timezone.make_aware(datetime.datetime.combine(end, datetime.time(18, 0))),
                priority=TaskPriority.NORMAL,
            )
        )
    elif arrival.status == ArrivalStatus.PENDING:
        wanted.append(
            Task(
                title=verify_title(name, arrival.arrival_date),
                kind="arrival_verify",
                due_at=now + datetime.timedelta(hours=settings.TASK_DEFAULT_DUE_HOURS),
                priority=TaskPriority.NORMAL,
            )
        )
    if pending_matches and arrival.household_id is not None:
        wanted.append(
            Task(
                title=match_title(name),
                kind="arrival_match",
                due_at=now + datetime.timedelta(hours=settings.TASK_DEFAULT_DUE_HOURS),
                priority=TaskPriority.HIGH,
            )
        )
    if not wanted:
        return []
    content_type = ContentType.objects.get_for_model(Arrival)
    open_kinds = set(
        Task.objects.filter(content_type=content_type, object_id=str(arrival.pk), status__in=OPEN_STATUSES).values_list(
            "kind", flat=True
        )
    )
    replaced_kinds = {"arrival_visit", "arrival_follow_up"} if outcome.change == assign.Change.REPLACED else set()
    if replaced_kinds & open_kinds:
        # The measure changed: the old visit/follow-up tasks describe the old one.
        Task.objects.filter(
            content_type=content_type, object_id=str(arrival.pk), status__in=OPEN_STATUSES, kind__in=replaced_kinds
        ).update(status="cancelled", closed_at=now, notes=_("Replaced: the measure changed."))
        open_kinds -= replaced_kinds
    new = [task for task in wanted if task.kind not in open_kinds]
    for task in new:
        task.content_type = content_type
        task.object_id = str(arrival.pk)
        task.path = arrival.path
        for key, value in assignee.items():
            setattr(task, key, value)
    created = Task.objects.bulk_create(new)
    for task in created:
        audit.record(actor=None, action=AuditAction.CREATE, instance=task, changes=audit.diff({}, audit.snapshot(task)))
    return created


# -- public service functions -------------------------------------------------------------------------------------


def arrival_register(
    *,
    actor: User | None,
    data: Mapping[str, Any],
    source: str,
    point: RegistrationPoint | None = None,
    today: datetime.date | None = None,
) -> Registration:
    """Register one arrival: find or create the person, match travel, assign the measure, create the grid's tasks.

    ``actor`` None is the public self-registration (then ``point`` is required). The same person on the same day
    updates the existing arrival.
    """
    if actor is None:
        if point is None or source != ArrivalSource.SELF_REGISTRATION:
            raise PermissionDenied(_("Sign in to register arrivals."))
    elif not scope_of(actor).has(Perm.ARRIVAL_ADD):
        raise PermissionDenied(_("Your role does not allow registering arrivals."))
    return Registrar(actor=actor, source=source, point=point, today=today).register(data)


@transaction.atomic
def arrival_verify(
    *, actor: User, arrival: Arrival, expected_version: int, household: Household | None = None, reject: bool = False
) -> Arrival:
    """A grid worker verifies (or rejects) a self-registration, and/or resolves its household from the queue."""
    scope = scope_of(actor)
    if not scope.has(Perm.ARRIVAL_VERIFY):
        raise PermissionDenied(_("Your role does not allow verifying arrivals."))
    values: dict[str, Any] = {}
    if household is not None:
        if not scope.covers_path(household.path):
            raise ValidationError({"household": [_("This household is outside your jurisdiction.")]})
        values.update(household=household, path=household.path)
    if reject:
        values.update(status=ArrivalStatus.REJECTED)
    else:
        values.update(status=ArrivalStatus.VERIFIED, verified_by=actor, verified_at=timezone.now())
    before = audit.snapshot(arrival)
    arrival = versioned_update(arrival, expected_version=expected_version, values=values)
    audit.record(
        actor=actor, action=AuditAction.UPDATE, instance=arrival, changes=audit.diff(before, audit.snapshot(arrival))
    )
    if household is not None:
        arrival_type = ContentType.objects.get_for_model(Arrival)
        Measure.objects.filter(content_type=arrival_type, object_id=str(arrival.pk)).update(path=household.path)
        if arrival.person.household_id is None:
            Person.objects.filter(pk=arrival.person_id).update(household=household, path=household.path)
        Task.objects.filter(
            content_type=arrival_type, object_id=str(arrival.pk), kind="arrival_resolve", status__in=OPEN_STATUSES
        ).update(status="done", closed_at=timezone.now())
        result = arrival_reevaluate(actor=actor, arrival=arrival)
        # The grid takes over: its visit and follow-up tasks for the measure in force.
        pending = TravelMatch.objects.filter(arrival=arrival, status=MatchStatus.PENDING).count()
        arrival_tasks(
            arrival=arrival,
            outcome=assign.Outcome(assign.Change.CREATED, result.measure),
            pending_matches=pending,
        )
    if reject and arrival.measure_id:
        Measure.objects.filter(pk=arrival.measure_id).update(status=MeasureStatus.CANCELLED)
    return arrival


@transaction.atomic
def match_decide(*, actor: User, match: TravelMatch, confirm: bool) -> Registration | None:
    """Confirm or clear a possible risk-area match; the arrival is re-evaluated at once."""
    if not scope_of(actor).has(Perm.ARRIVAL_VERIFY):
        raise PermissionDenied(_("Your role does not allow deciding risk-area matches."))
    if match.kind != MatchKind.POSSIBLE:
        raise ValidationError({"match": [_("Only possible matches are confirmed or cleared.")]})
    before = audit.snapshot(match)
    match.status = MatchStatus.CONFIRMED if confirm else MatchStatus.CLEARED
    match.decided_by = actor
    match.decided_at = timezone.now()
    match.save(update_fields=["status", "decided_by", "decided_at", "updated_at"])
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=match,
        changes=audit.diff(before, audit.snapshot(match)),
        path=match.arrival.path,
    )
    if not TravelMatch.objects.filter(arrival_id=match.arrival_id, status=MatchStatus.PENDING).exists():
        Task.objects.filter(
            content_type=ContentType.objects.get_for_model(Arrival),
            object_id=str(match.arrival_id),
            kind="arrival_match",
            status__in=OPEN_STATUSES,
        ).update(status="done", closed_at=timezone.now())
    return arrival_reevaluate(actor=actor, arrival=match.arrival)


def arrival_reevaluate(*, actor: User | None, arrival: Arrival, registrar: Registrar | None = None) -> Registration:
    """Re-match an arrival's stored travel against today's list and policy, keeping grid workers' decisions."""
    registrar = registrar or Registrar(actor=actor, source=arrival.source)
    travel = list(arrival.travel.all())
    stays = [TravelStay(t.place_text, t.place_code, t.place_remainder, t.date_from, t.date_to) for t in travel]
    decided = _decided_matches(arrival)
    decision, matches = registrar.decide(
        stays=stays, arrival_date=arrival.arrival_date, release_certificate=arrival.release_certificate, decided=decided
    )
    TravelMatch.objects.filter(arrival=arrival).delete()
    _store_matches(arrival, matches)
    needs_review = any(not s.code for s in stays) or _pending_count(matches) > 0
    if needs_review != arrival.needs_review:
        Arrival.objects.filter(pk=arrival.pk).update(needs_review=needs_review)
        arrival.needs_review = needs_review
    outcome = apply_decision(actor=actor, arrival=arrival, decision=decision, today=registrar.today)
    tasks = arrival_tasks(arrival=arrival, outcome=outcome, pending_matches=_pending_count(matches))
    return Registration(
        arrival=arrival,
        person=arrival.person,
        person_created=False,
        arrival_created=False,
        decision=decision,
        measure=outcome.measure,
        change=outcome.change,
        tasks=tasks,
    )
