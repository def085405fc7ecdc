"""Writes of testing: samplings recorded, lab results entered, what a result sets off, overdue samplings flagged.

Who records a sampling: the site's staff at a site, the jurisdiction (grid worker, village, township) for people at
home or not placed, and a department's sampling team when ``Sampling.team`` sends one. Who enters a result: the
site's staff for their site, and the CDC (or anyone holding ``quarantine.result``) for its jurisdiction.

A result sets things off in the same transaction: a positive makes the person a suspected case in tracing (or links
the open case they have) and makes sure the CDC has an urgent task about it; an invalid result schedules a repeat
sampling for the next day. A result changed back from positive leaves the case alone: excluding a case is the
epidemiologist's decision, on the case page.
"""

from __future__ import annotations

import datetime
import logging
import unicodedata
from collections import defaultdict
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from firstline.accounts.models import User
from firstline.accounts.roles import Perm, Role
from firstline.accounts.selectors import nearest_with_role, officer_for
from firstline.core import audit, identity
from firstline.core.concurrency import versioned_update
from firstline.core.dates import local_today
from firstline.core.models import AuditAction
from firstline.core.scoping import require, scope_of
from firstline.dispatch.models import OPEN_STATUSES, Task, TaskPriority
from firstline.dispatch.services import task_create
from firstline.people.models import IdType, Person
from firstline.quarantine.models import (
    FacilityStaff,
    Placement,
    PlacementKind,
    PlacementStatus,
    ResultSource,
    Sampling,
    SamplingStatus,
    TestResult,
)
from firstline.quarantine.responders import site_manager
from firstline.regions.models import Grid
from firstline.tracing import services as tracing
from firstline.tracing.models import Case, Classification, FoundBy

log = logging.getLogger(__name__)

RESULTS = (TestResult.NEGATIVE, TestResult.POSITIVE, TestResult.INVALID)
TUBE_MAX = 40
LAB_MAX = 100
MISSED_TASK = "sampling_missed"
POSITIVE_TASK = "positive_result"


def day_of(moment: datetime.datetime) -> datetime.date:
    return timezone.localtime(moment).date()


def day_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """[start, end) of a local day as aware datetimes."""
    tz = timezone.get_current_timezone()
    start = datetime.datetime.combine(day, datetime.time(), tzinfo=tz)
    end = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(), tzinfo=tz)
    return start, end


def clean_tube(raw: object) -> str:
    """A tube barcode as stored: NFKC (full-width → half-width), no spaces, upper case (scanners and labs differ)."""
    return "".join(unicodedata.normalize("NFKC", str(raw or "")).split()).upper()


# -- who may write ------------------------------------------------------------------------------------------------


def site_ids(actor: Any) -> frozenset[int]:
    """The sites the user works at (site staff only; empty for everyone else)."""
    scope = scope_of(actor)
    if scope.user_id is None or Role.SITE_STAFF not in scope.roles:
        return frozenset()
    return frozenset(
        FacilityStaff.objects.filter(user_id=scope.user_id, active=True).values_list("facility_id", flat=True)
    )


def sampling_writable(actor: Any, sampling: Sampling) -> bool:
    """Whether ``actor`` records this sampling: the site's staff at a site, the jurisdiction at home (grid worker,
    village, township), the department sampling team sent for it."""
    scope = scope_of(actor)
    if not scope.has(Perm.SAMPLING_RECORD):
        return False
    if sampling.team_id is not None and sampling.team_id in scope.department_ids:
        return True
    if sampling.facility_id is not None:
        return sampling.facility_id in site_ids(actor)
    return scope.covers_path(sampling.path)


def result_writable(actor: Any, sampling: Sampling) -> bool:
    """Whether ``actor`` enters this sampling's result: the site's staff for their site; the CDC (and anyone with
    the permission) for its jurisdiction, the person's home or the site's."""
    scope = scope_of(actor)
    if not scope.has(Perm.RESULT_ENTER):
        return False
    if sampling.facility_id is not None and sampling.facility_id in site_ids(actor):
        return True
    return scope.covers_path(sampling.path) or bool(sampling.site_path and scope.covers_path(sampling.site_path))


# -- samplings ----------------------------------------------------------------------------------------------------


def _add(errors: dict[str, list[Any]], name: str, message: Any) -> None:
    errors.setdefault(name, []).append(message)


def _aware(moment: datetime.datetime) -> datetime.datetime:
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def _check_moment(
    errors: dict[str, list[Any]], name: str, moment: Any, *, now: datetime.datetime, required: bool = True
) -> datetime.datetime | None:
    if moment in (None, ""):
        if required:
            _add(errors, name, _("This field is required."))
        return None
    if not isinstance(moment, datetime.datetime):
        _add(errors, name, _("Enter a date and time."))
        return None
    moment = _aware(moment)
    if moment > now:
        _add(errors, name, _("This time is in the future."))
    return moment


def tube_owner_message(actor: Any, other: Sampling) -> str:
    """Names the sampling a reused tube belongs to (the person only when the actor may see them)."""
    day = other.due_date or (day_of(other.sampled_at) if other.sampled_at else None)
    if Person.objects.visible_to(actor).filter(pk=other.person_id).exists():
        return _("This tube is already used by sampling no. %(pk)s (%(name)s, %(day)s).") % {
            "pk": other.pk,
            "name": other.person.name,
            "day": day,
        }
    return _("This tube is already used by sampling no. %(pk)s (%(day)s).") % {"pk": other.pk, "day": day}


def _check_tube(actor: Any, tube: str, *, sampling_id: int | None) -> None:
    if not tube:
        return
    others = Sampling.objects.filter(tube_code=tube)
    if sampling_id is not None:
        others = others.exclude(pk=sampling_id)
    other = others.select_related("person").first()
    if other is not None:
        raise ValidationError({"tube_code": [tube_owner_message(actor, other)]})


def _unscheduled(person: Person, placement: Placement | None) -> Sampling:
    """An unsaved sampling outside the measure's calendar, where the person is now."""
    return Sampling(
        person=person,
        measure=None,
        placement=placement,
        facility_id=placement.facility_id if placement else None,
        path=placement.path if placement else person.path,
        site_path=placement.site_path if placement else "",
        due_date=None,
        status=SamplingStatus.SCHEDULED,
    )


def active_placement(person_id: int) -> Placement | None:
    return Placement.objects.filter(person_id=person_id, status=PlacementStatus.ACTIVE).first()


def live_person(person: Person) -> Person:
    """The record a merged person now lives in."""
    while person.merged_into_id is not None:
        person = Person.objects.get(pk=person.merged_into_id)
    return person


def _visible_person(actor: Any, person: Person | int) -> Person:
    pk = person.pk if isinstance(person, Person) else person
    found = Person.objects.visible_to(actor).filter(pk=pk).first()
    if found is None:
        raise ValidationError({"person": [_("No such person in your jurisdiction.")]})
    return live_person(found)


def _insert(sampling: Sampling, actor: Any, *, note: str) -> Sampling:
    """Save a new sampling; a tube another writer took a moment ago is reported like any reused tube."""
    try:
        with transaction.atomic():
            sampling.save()
    except IntegrityError as exc:
        if sampling.tube_code:
            _check_tube(actor, sampling.tube_code, sampling_id=None)
        raise ValidationError({"sampling": [_("A sampling of this person on this day already exists.")]}) from exc
    audit.record(
        actor=actor,
        action=AuditAction.CREATE,
        instance=sampling,
        changes=audit.diff({}, audit.snapshot(sampling)),
        note=note,
    )
    return sampling


def _versioned(sampling: Sampling, actor: Any, values: dict[str, Any], *, note: str) -> Sampling:
    before = audit.snapshot(sampling, list(values))
    try:
        with transaction.atomic():
            sampling = versioned_update(sampling, expected_version=sampling.version, values=values)
    except IntegrityError as exc:
        _check_tube(actor, str(values.get("tube_code") or ""), sampling_id=sampling.pk)
        raise ValidationError({"tube_code": [_("This tube is already used by another sampling.")]}) from exc
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=sampling,
        changes=audit.diff(before, audit.snapshot(sampling, list(values))),
        note=note,
    )
    return sampling


@transaction.atomic
def sampling_record(
    *,
    actor: User,
    sampling: Sampling | None = None,
    person: Person | int | None = None,
    sampled_at: datetime.datetime | None,
    tube_code: str = "",
    sampler_name: str = "",
) -> Sampling:
    """Record a sampling as taken: a scheduled one (``sampling``), or for ``person`` outside the calendar.

    For a person, the scheduled sampling of that day is the one recorded when there is one not yet taken;
    otherwise an unscheduled sampling is added where the person is placed. Recording again corrects the time,
    sampler and tube (audited). The time may not be in the future; a tube barcode is unique (the error names the
    sampling that has it); a blank tube keeps the one recorded.
    """
    require(actor, Perm.SAMPLING_RECORD)
    if (sampling is None) == (person is None):
        raise ValidationError({"sampling": [_("Give the scheduled sampling or the person, not both.")]})
    errors: dict[str, list[Any]] = {}
    moment = _check_moment(errors, "sampled_at", sampled_at, now=timezone.now())
    tube = clean_tube(tube_code)
    if len(tube) > TUBE_MAX:
        _add(errors, "tube_code", _("A tube barcode has at most %(n)s characters.") % {"n": TUBE_MAX})
    if errors:
        raise ValidationError(errors)
    assert moment is not None
    if sampling is None:
        assert person is not None
        who = _visible_person(actor, person)
        scheduled = (
            Sampling.objects.select_for_update()
            .filter(person=who, due_date=day_of(moment))
            .exclude(status__in=[SamplingStatus.CANCELLED, SamplingStatus.SAMPLED])
            .first()
        )
        if scheduled is None:
            new = _unscheduled(who, active_placement(who.pk))
            if not sampling_writable(actor, new):
                raise PermissionDenied(_("You do not record samplings for this person."))
            _check_tube(actor, tube, sampling_id=None)
            new.status, new.sampled_at, new.sampler, new.sampler_name, new.tube_code = (
                SamplingStatus.SAMPLED,
                moment,
                actor,
                sampler_name.strip()[:60],
                tube,
            )
            return _insert(new, actor, note="unscheduled sampling")
        sampling = scheduled
    else:
        sampling = Sampling.objects.select_for_update().get(pk=sampling.pk)
    if not sampling_writable(actor, sampling):
        raise PermissionDenied(_("Only the site's staff, the responsible grid or the sampling team record this."))
    if sampling.status == SamplingStatus.CANCELLED:
        raise ValidationError({"sampling": [_("This sampling was cancelled (the measure changed).")]})
    tube = tube or sampling.tube_code
    _check_tube(actor, tube, sampling_id=sampling.pk)
    values = {
        "status": SamplingStatus.SAMPLED,
        "sampled_at": moment,
        "sampler": actor,
        "sampler_name": sampler_name.strip()[:60],
        "tube_code": tube,
    }
    return _versioned(sampling, actor, values, note="sampling recorded")


# -- results ------------------------------------------------------------------------------------------------------


def _clean_result(
    *, result: str, result_at: datetime.datetime | None, lab: str, sampled_at: datetime.datetime | None
) -> tuple[datetime.datetime, str]:
    errors: dict[str, list[Any]] = {}
    now = timezone.now()
    if result not in RESULTS:
        _add(errors, "result", _("Choose negative, positive or invalid (repeat)."))
    moment = _check_moment(errors, "result_at", result_at, now=now, required=False) or now
    if sampled_at is not None and moment < sampled_at and "result_at" not in errors:
        _add(errors, "result_at", _("The result cannot come before the sampling."))
    lab = " ".join(lab.split())
    if len(lab) > LAB_MAX:
        _add(errors, "lab", _("At most %(n)s characters.") % {"n": LAB_MAX})
    if errors:
        raise ValidationError(errors)
    return moment, lab


@transaction.atomic
def result_enter(
    *,
    actor: User,
    sampling: Sampling,
    result: str,
    result_at: datetime.datetime | None = None,
    lab: str = "",
    source: str = ResultSource.MANUAL,
    today: datetime.date | None = None,
) -> Sampling:
    """Enter (or correct) the lab result of a taken sampling; the same result and lab again changes nothing.

    A positive result makes the person a suspected case (or links their open case) and gives the CDC an urgent
    task, in this transaction; an invalid one schedules a repeat sampling for the next day. Changing a positive
    back to negative leaves the case: the caller tells the user (``sampling.case`` is still set).
    """
    require(actor, Perm.RESULT_ENTER)
    sampling = Sampling.objects.select_for_update().select_related("person").get(pk=sampling.pk)
    if not result_writable(actor, sampling):
        raise PermissionDenied(_("Only the site's staff or the CDC enter this result."))
    if sampling.status != SamplingStatus.SAMPLED:
        raise ValidationError({"sampling": [_("Record the sampling (time and tube) before its result.")]})
    moment, lab = _clean_result(result=result, result_at=result_at, lab=lab, sampled_at=sampling.sampled_at)
    return set_result(
        actor=actor, sampling=sampling, result=result, result_at=moment, lab=lab, source=source, today=today
    )


def set_result(
    *,
    actor: User | None,
    sampling: Sampling,
    result: str,
    result_at: datetime.datetime,
    lab: str,
    source: str,
    today: datetime.date | None = None,
    extra: dict[str, Any] | None = None,
) -> Sampling:
    """Store a checked result (and ``extra`` sampling values) and what it sets off; unchanged → nothing written."""
    previous = sampling.result
    values = {"result": result, "lab": lab, **(extra or {})}
    if all(getattr(sampling, name) == value for name, value in values.items()):
        return sampling
    values.update(result_at=result_at, result_source=source)
    sampling = _versioned(sampling, actor, values, note="result")
    after_result(actor=actor, sampling=sampling, previous=previous, today=today or local_today())
    return sampling


def after_result(*, actor: User | None, sampling: Sampling, previous: str, today: datetime.date) -> None:
    """What a new result sets off: a positive → suspected case and CDC alert; invalid → a repeat tomorrow."""
    if sampling.result == TestResult.POSITIVE and previous != TestResult.POSITIVE:
        escalate_positive(actor=actor, sampling=sampling, today=today)
    elif sampling.result == TestResult.INVALID and previous != TestResult.INVALID:
        schedule_repeat(actor=actor, sampling=sampling, today=today)


def escalate_positive(*, actor: User | None, sampling: Sampling, today: datetime.date) -> Case:
    """The person's open case (or a new suspected one) on the sampling, and an urgent CDC task about it."""
    person = live_person(sampling.person)
    case = (
        Case.objects.filter(person=person)
        .exclude(classification=Classification.EXCLUDED)
        .order_by("-report_date", "-id")
        .first()
    )
    created = case is None
    if case is None:
        assert sampling.sampled_at is not None
        placed = Placement.objects.filter(person=person, status=PlacementStatus.ACTIVE).exists()
        with translation.override(settings.LANGUAGE_CODE):
            notes = _("Positive result of sampling no. %(pk)s (%(lab)s).") % {"pk": sampling.pk, "lab": sampling.lab}
        if actor is None:
            raise ValidationError({"result": [_("A positive result needs a signed-in user to report the case.")]})
        case = tracing.case_create(
            actor=actor,
            values={
                "classification": Classification.SUSPECTED,
                "sampling_date": min(day_of(sampling.sampled_at), today),
                "report_date": today,
                "found_by": FoundBy.QUARANTINE if placed else FoundBy.ROUTINE_TESTING,
                "notes": notes,
            },
            person=person,
            today=today,
            permission=Perm.RESULT_ENTER,
        ).case
    Sampling.objects.filter(pk=sampling.pk).update(case=case, updated_at=timezone.now())
    sampling.case = case
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=sampling,
        changes={"case": [None, case.pk]},
        note="positive result: case created" if created else "positive result: open case linked",
    )
    alert_cdc(case=case, sampling=sampling, new_case=created)
    return case


def alert_cdc(*, case: Case, sampling: Sampling, new_case: bool) -> Task | None:
    """Make sure the CDC has an open urgent task about the case (none is added when one is already open)."""
    cdc = nearest_with_role(case.path, Role.CDC)
    if cdc is None:
        log.warning("positive result of sampling %s: no CDC user answers for %s", sampling.pk, case.path)
        return None
    content_type = ContentType.objects.get_for_model(Case)
    open_tasks = Task.objects.filter(
        content_type=content_type,
        object_id=str(case.pk),
        assignee_user=cdc,
        priority=TaskPriority.URGENT,
        status__in=OPEN_STATUSES,
    )
    if open_tasks.exists():
        return None
    if new_case:
        # The tracing alert (CDC and township) for a case that was just reported.
        tracing.case_alerts(case=case)
        return open_tasks.first()
    with translation.override(settings.LANGUAGE_CODE):
        title = _("Positive test: %(name)s (sampled %(day)s, %(lab)s): check the case now") % {
            "name": case.person.name,
            "day": day_of(sampling.sampled_at) if sampling.sampled_at else "",
            "lab": sampling.lab or "?",
        }
    return task_create(
        actor=None,
        title=title[:200],
        kind=POSITIVE_TASK,
        related=case,
        path=case.path,
        assignee_user=cdc,
        due_at=timezone.now() + datetime.timedelta(hours=settings.TASK_URGENT_DUE_HOURS),
        priority=TaskPriority.URGENT,
    )


def schedule_repeat(*, actor: User | None, sampling: Sampling, today: datetime.date) -> Sampling | None:
    """A repeat sampling for the next day (none when the person already has one that day)."""
    day = today + datetime.timedelta(days=1)
    exists = (
        Sampling.objects.filter(person_id=sampling.person_id, due_date=day)
        .exclude(status=SamplingStatus.CANCELLED)
        .exists()
    )
    if exists:
        return None
    placement = active_placement(sampling.person_id)
    repeat = Sampling(
        person_id=sampling.person_id,
        measure=None,  # not one of the measure's test days: a re-sync of the calendar leaves it alone
        placement=placement,
        facility_id=placement.facility_id if placement else None,
        path=placement.path if placement else sampling.path,
        site_path=placement.site_path if placement else "",
        team_id=sampling.team_id,
        due_date=day,
        status=SamplingStatus.SCHEDULED,
        note=f"repeat of sampling no. {sampling.pk} (invalid result)",
    )
    return _insert(repeat, actor, note="repeat after an invalid result")


# -- results a lab system pushes ----------------------------------------------------------------------------------


def match_sampling(*, person_id: int, day: datetime.date, tube: str, lock: bool = False) -> Sampling | None:
    """The sampling a lab result of ``person_id`` sampled on ``day`` belongs to (the import does the same in bulk).

    By tube barcode first (a tube of another person's sampling is an error); else the person's scheduled sampling
    of that day; else an unscheduled one taken that day. With a tube, a sampling carrying a different tube is not
    the one.
    """
    samplings = Sampling.objects.select_for_update() if lock else Sampling.objects.all()
    if tube:
        by_tube = samplings.filter(tube_code=tube).first()
        if by_tube is not None:
            if by_tube.person_id != person_id:
                raise ValidationError(
                    {
                        "tube_code": [
                            _("This tube belongs to another person's sampling (no. %(pk)s).") % {"pk": by_tube.pk}
                        ]
                    }
                )
            return by_tube
    same_tube = Q() if not tube else Q(tube_code="") | Q(tube_code=tube)
    live = samplings.filter(person_id=person_id).exclude(status=SamplingStatus.CANCELLED).filter(same_tube)
    scheduled = live.filter(due_date=day).first()
    if scheduled is not None:
        return scheduled
    start, end = day_bounds(day)
    return live.filter(due_date__isnull=True, sampled_at__gte=start, sampled_at__lt=end).order_by("id").first()


def find_person(actor: Any, *, id_type: str, id_number: str, name: str = "") -> Person:
    """The person a lab names by ID number (visible to the actor, followed through merges)."""
    try:
        id_type, number = identity.normalize_id_number(id_number, id_type or IdType.RESIDENT)
    except identity.IdentityError as exc:
        raise ValidationError({"id_number": [str(exc)]}) from exc
    person = Person.objects.visible_to(actor).filter(id_type=id_type, id_number=number).first()
    if person is None:
        raise ValidationError({"id_number": [_("No person with this ID number in your jurisdiction.")]})
    person = live_person(person)
    if name and identity.normalize_name(name) != person.name:
        raise ValidationError({"name": [_("The name does not match the person with this ID number.")]})
    return person


@transaction.atomic
def result_push(
    *,
    actor: User,
    id_number: str,
    sampled_at: datetime.datetime,
    result: str,
    lab: str,
    id_type: str = IdType.RESIDENT,
    tube_code: str = "",
    result_at: datetime.datetime | None = None,
    name: str = "",
    source: str = ResultSource.API,
    today: datetime.date | None = None,
) -> Sampling:
    """One result from a lab system, by ID number and sampling time (+ tube): matched to the person's sampling as
    the import matches (``match_sampling``), an unscheduled sampling added when none matches."""
    require(actor, Perm.RESULT_ENTER)
    errors: dict[str, list[Any]] = {}
    moment = _check_moment(errors, "sampled_at", sampled_at, now=timezone.now())
    tube = clean_tube(tube_code)
    if len(tube) > TUBE_MAX:
        _add(errors, "tube_code", _("A tube barcode has at most %(n)s characters.") % {"n": TUBE_MAX})
    if not lab.strip():
        _add(errors, "lab", _("Name the laboratory."))
    if errors:
        raise ValidationError(errors)
    assert moment is not None
    person = find_person(actor, id_type=id_type, id_number=id_number, name=name)
    result_at, lab = _clean_result(result=result, result_at=result_at, lab=lab, sampled_at=moment)
    sampling = match_sampling(person_id=person.pk, day=day_of(moment), tube=tube, lock=True)
    if sampling is None:
        new = _unscheduled(person, active_placement(person.pk))
        new.status, new.sampled_at, new.tube_code = SamplingStatus.SAMPLED, moment, tube
        if not result_writable(actor, new):
            raise PermissionDenied(_("Only the site's staff or the CDC enter this result."))
        _check_tube(actor, tube, sampling_id=None)
        sampling = _insert(new, actor, note=f"{source} result: unscheduled sampling")
    elif not result_writable(actor, sampling):
        raise PermissionDenied(_("Only the site's staff or the CDC enter this result."))
    extra: dict[str, Any] = {"status": SamplingStatus.SAMPLED}
    if sampling.sampled_at is None:
        extra["sampled_at"] = moment
    if tube:
        extra["tube_code"] = tube
    return set_result(
        actor=actor,
        sampling=sampling,
        result=result,
        result_at=result_at,
        lab=lab,
        source=source,
        today=today,
        extra=extra,
    )


# -- overdue samplings --------------------------------------------------------------------------------------------


def _missed_title(name: str, days: list[datetime.date]) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return _("Missed sampling: %(name)s (due %(days)s): sample now or record why") % {
            "name": name,
            "days": ", ".join(d.strftime("%m-%d") for d in sorted(days)),
        }


def _missed_assignee(placement: Placement | None, sampling: Sampling) -> dict[str, Any]:
    """Who answers for a missed sampling: the grid (home), the site's manager (site), else the officer."""
    if placement is not None and placement.kind == PlacementKind.HOME and placement.grid_id is not None:
        return {"assignee_grid": placement.grid, "assignee_user": placement.responsible, "path": placement.path}
    if placement is not None and placement.facility_id is not None:
        manager = site_manager(placement.facility_id)
        path = placement.site_path or placement.path
        if manager is None:
            manager = officer_for(path)
        return {"assignee_user": manager, "path": path}
    grid = Grid.objects.filter(path=sampling.path).first() if "-G" in sampling.path else None
    if grid is not None:
        return {"assignee_grid": grid, "path": sampling.path}
    return {"assignee_user": officer_for(sampling.path), "path": sampling.path}


@transaction.atomic
def flag_overdue(*, today: datetime.date | None = None) -> int:
    """Scheduled samplings whose day has passed become missed; one open task per placement (the grid for home,
    the site's manager for a site) says so. Run again, it flags nothing twice and adds no second task."""
    today = today or local_today()
    overdue = list(
        Sampling.objects.select_for_update(of=("self",))
        .filter(status=SamplingStatus.SCHEDULED, due_date__lt=today)
        .select_related("person", "placement", "placement__grid", "placement__responsible")
        .order_by("id")
    )
    if not overdue:
        return 0
    Sampling.objects.filter(pk__in=[s.pk for s in overdue]).update(
        status=SamplingStatus.MISSED, version=F("version") + 1, updated_at=timezone.now()
    )
    for sampling in overdue:
        sampling.version += 1
    audit.record_many(
        actor=None,
        action=AuditAction.UPDATE,
        instances=overdue,
        changes=lambda s: {"status": [SamplingStatus.SCHEDULED, SamplingStatus.MISSED]},
        note="overdue",
    )
    groups: dict[tuple[str, int], list[Sampling]] = defaultdict(list)
    for sampling in overdue:
        key = ("placement", sampling.placement_id) if sampling.placement_id else ("sampling", sampling.pk)
        groups[key].append(sampling)
    placement_ct = ContentType.objects.get_for_model(Placement)
    sampling_ct = ContentType.objects.get_for_model(Sampling)
    open_tasks = set(
        Task.objects.filter(kind=MISSED_TASK, status__in=OPEN_STATUSES)
        .filter(
            Q(content_type=placement_ct, object_id__in=[str(k[1]) for k in groups if k[0] == "placement"])
            | Q(content_type=sampling_ct, object_id__in=[str(k[1]) for k in groups if k[0] == "sampling"])
        )
        .values_list("content_type_id", "object_id")
    )
    for (what, pk), samplings in groups.items():
        content_type = placement_ct if what == "placement" else sampling_ct
        if (content_type.pk, str(pk)) in open_tasks:
            continue
        first = samplings[0]
        placement = first.placement if what == "placement" else None
        assignee = _missed_assignee(placement, first)
        if not (assignee.get("assignee_user") or assignee.get("assignee_grid")):
            log.warning("missed sampling %s: nobody answers for %s", first.pk, assignee["path"])
            continue
        task_create(
            actor=None,
            title=_missed_title(first.person.name, [s.due_date for s in samplings if s.due_date])[:200],
            kind=MISSED_TASK,
            related=placement if placement is not None else first,
            priority=TaskPriority.HIGH,
            **assignee,
        )
    return len(overdue)
