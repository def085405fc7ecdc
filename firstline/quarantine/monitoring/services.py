"""Writes of daily health monitoring: recording a check (staff, self-report, device), alerts, lost to follow-up.

One check per placement, day and slot (``slots``): a second entry for a slot updates the first, audited. A
temperature at or above ``FEVER_THRESHOLD_C`` or any symptom marks the check as an alert and opens one urgent task
for the people who answer for the person (the site's manager; at home the grid and its worker), at most one open
alert task per placement and day. ``flag_missed`` (run by the ``quarantine.tasks.watch`` beat task) marks people
whose last ``HEALTH_CHECK_MISSED_LIMIT`` slots all passed without a check as lost to follow-up and opens an urgent
task; after as many slots again, a second task goes to the township officer of the person's home. A new check
clears the flag and closes those tasks.
"""

from __future__ import annotations

import datetime
import logging
import unicodedata
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import CharField, Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from firstline.accounts.models import User
from firstline.accounts.roles import Perm
from firstline.core import audit
from firstline.core.concurrency import versioned_update
from firstline.core.dates import day_start, local_minute
from firstline.core.models import AuditAction
from firstline.core.scoping import require
from firstline.dispatch.models import OPEN_STATUSES, Task, TaskPriority, TaskStatus
from firstline.quarantine.models import (
    CheckSource,
    HealthCheck,
    Placement,
    PlacementKind,
    PlacementStatus,
    Symptom,
)
from firstline.quarantine.monitoring import selectors, slots
from firstline.quarantine.responders import Responders, placement_responder

log = logging.getLogger(__name__)

ALERT_TASK_KIND = "health_alert"
LOST_TASK_KIND = "lost_to_follow_up"
LOST_ESCALATION_KIND = "lost_to_follow_up_escalated"
_LOST_KINDS = (LOST_TASK_KIND, LOST_ESCALATION_KIND)
_TENTH = Decimal("0.1")
_CHUNK = 1000


# -- input ----------------------------------------------------------------------------------------------------------


def _celsius(value: Decimal) -> str:
    return f"{value.quantize(_TENTH, rounding=ROUND_HALF_UP)}"


def unit_hint(value: Decimal) -> str:
    """What a temperature outside the plausible range probably meant: °F, or a misplaced decimal point."""
    low, high = settings.TEMPERATURE_MIN_C, settings.TEMPERATURE_MAX_C
    as_celsius = (value - 32) * 5 / 9
    if low <= as_celsius <= high:
        return _("%(value)s looks like °F (= %(celsius)s °C): enter degrees Celsius.") % {
            "value": value.normalize(),
            "celsius": _celsius(as_celsius),
        }
    for factor in (10, 100):
        for guess in (value * factor, value / factor):
            if low <= guess <= high:
                return _("Did you mean %(celsius)s °C?") % {"celsius": _celsius(guess)}
    return ""


def parse_temperature(raw: Any) -> Decimal:
    """A body temperature in °C with one decimal; ValidationError (field ``temperature``) naming the plausible range
    and, where it can guess, the unit or decimal point that went wrong (3.73 or 373 → 37.3; 99.5 → °F)."""
    if isinstance(raw, Decimal):
        value = raw
    else:
        text = unicodedata.normalize("NFKC", str(raw if raw is not None else "")).strip().replace(",", ".")
        if text[-1:] in ("F", "f", "℉"):
            number = text.rstrip("Ff℉° ")
            try:
                fahrenheit = Decimal(number)
            except InvalidOperation:
                fahrenheit = None
            if fahrenheit is not None and fahrenheit.is_finite():
                raise ValidationError(
                    {
                        "temperature": [
                            _("%(value)s °F is %(celsius)s °C: enter degrees Celsius.")
                            % {"value": fahrenheit.normalize(), "celsius": _celsius((fahrenheit - 32) * 5 / 9)}
                        ]
                    }
                )
        text = text.rstrip("Cc℃° ")
        if not text:
            raise ValidationError({"temperature": [_("Enter the temperature in °C, e.g. 36.6.")]})
        try:
            value = Decimal(text)
        except (InvalidOperation, ValueError) as exc:
            raise ValidationError({"temperature": [_("Enter the temperature in °C as a number, e.g. 36.6.")]}) from exc
    if not value.is_finite():
        raise ValidationError({"temperature": [_("Enter the temperature in °C as a number, e.g. 36.6.")]})
    low, high = settings.TEMPERATURE_MIN_C, settings.TEMPERATURE_MAX_C
    if not low <= value <= high:
        message = _("A body temperature is between %(low)s and %(high)s °C.") % {"low": low, "high": high}
        hint = unit_hint(value)
        raise ValidationError({"temperature": [f"{message} {hint}".strip()]})
    return value.quantize(_TENTH, rounding=ROUND_HALF_UP)


def clean_symptoms(raw: Any) -> list[str]:
    """Symptom codes in the order of ``Symptom``, each once; ValidationError for unknown ones."""
    if raw in (None, ""):
        return []
    if isinstance(raw, str):
        raw = [part for part in raw.replace("，", ",").split(",")]
    if not isinstance(raw, Iterable):
        raise ValidationError({"symptoms": [_("Give a list of symptoms.")]})
    given = {str(item).strip() for item in raw if str(item).strip()}
    unknown = sorted(given - set(Symptom.values))
    if unknown:
        raise ValidationError(
            {
                "symptoms": [
                    _("Unknown symptom %(codes)s: use %(allowed)s.")
                    % {"codes": ", ".join(unknown), "allowed": ", ".join(Symptom.values)}
                ]
            }
        )
    return [code for code in Symptom.values if code in given]


def is_alert(temperature: Decimal, symptoms: Sequence[str]) -> bool:
    return temperature >= settings.FEVER_THRESHOLD_C or bool(symptoms)


def slot_moment(placement: Placement, slot: slots.Slot, *, now: datetime.datetime) -> datetime.datetime:
    """The time to record for an entry made now for ``slot`` (the fast list's cells): now while the slot runs, its
    start (or the placement's start, if later) for a slot entered late; ValidationError for a slot not begun."""
    if not slot.has_begun(now):
        raise ValidationError({"slot": [_("The %(time)s check has not begun yet.") % {"time": slot.label}]})
    if not slot.has_passed(now):
        return now
    return max(slot.start, placement.start_at)


# -- recording ------------------------------------------------------------------------------------------------------


def health_check_record(
    *,
    actor: User | None,
    placement: Placement,
    at: datetime.datetime,
    temperature: Any,
    symptoms: Any,
    note: str = "",
    source: str = CheckSource.STAFF,
) -> HealthCheck:
    """Record the temperature (°C) and symptoms of one check; a second entry for the same slot updates it."""
    check, _created = health_check_save(
        actor=actor, placement=placement, at=at, temperature=temperature, symptoms=symptoms, note=note, source=source
    )
    return check


@transaction.atomic
def health_check_save(
    *,
    actor: User | None,
    placement: Placement,
    at: datetime.datetime,
    temperature: Any,
    symptoms: Any,
    note: str = "",
    source: str = CheckSource.STAFF,
) -> tuple[HealthCheck, bool]:
    """``health_check_record`` that also says whether the slot's row was created (True) or updated (False).

    Staff and devices need ``HEALTH_CHECK_RECORD`` and the placement in their checking scope; a self-report
    (``source="self"``, no actor) comes through the signed link, whose view checked the token.
    """
    if source not in CheckSource.values:
        raise ValidationError({"source": [_("Unknown source.")]})
    if source != CheckSource.SELF or actor is not None:
        require(actor, Perm.HEALTH_CHECK_RECORD)
        if not selectors.placements_for_checks(actor).filter(pk=placement.pk).exists():
            raise PermissionDenied(_("This person is not yours to check."))
    now = timezone.now()
    locked = (
        Placement.objects.select_for_update(of=("self",))
        .select_related("person", "facility", "room", "grid", "responsible")
        .get(pk=placement.pk)
    )
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    for name, cleaner, value in (
        ("temperature", parse_temperature, temperature),
        ("symptoms", clean_symptoms, symptoms),
    ):
        try:
            clean[name] = cleaner(value)
        except ValidationError as error:
            errors.update({k: [str(m) for m in v] for k, v in error.message_dict.items()})
    note = (note or "").strip()
    if len(note) > 300:
        errors["note"] = [_("At most 300 characters.")]
    if not isinstance(at, datetime.datetime) or timezone.is_naive(at):
        errors["at"] = [_("Give the time of the check with its time zone.")]
    elif at > now:
        errors["at"] = [_("The time of the check is in the future.")]
    elif at < locked.start_at:
        errors["at"] = [
            _("The check is before the person was placed (%(start)s).") % {"start": local_minute(locked.start_at)}
        ]
    elif locked.ended_at is not None and at > locked.ended_at:
        errors["at"] = [_("The check is after the placement ended (%(end)s).") % {"end": local_minute(locked.ended_at)}]
    if locked.status != PlacementStatus.ACTIVE:
        errors["placement"] = [_("This person is no longer under this placement: record checks on the current one.")]
    if errors:
        raise ValidationError(errors)
    slot = slots.slot_of(at)
    values = {
        "at": at,
        "temperature": clean["temperature"],
        "symptoms": clean["symptoms"],
        "note": note,
        "alert": is_alert(clean["temperature"], clean["symptoms"]),
        "source": source,
        "recorded_by": actor if actor is not None and actor.is_authenticated else None,
    }
    check = HealthCheck.objects.select_for_update().filter(placement=locked, day=slot.day, slot=slot.index).first()
    created = check is None
    if check is None:
        check = HealthCheck.objects.create(
            placement=locked,
            person_id=locked.person_id,
            facility_id=locked.facility_id,
            path=locked.path,
            site_path=locked.site_path,
            day=slot.day,
            slot=slot.index,
            **values,
        )
        audit.record(
            actor=actor, action=AuditAction.CREATE, instance=check, changes=audit.diff({}, audit.snapshot(check))
        )
    else:
        before = audit.snapshot(check)
        for name, value in values.items():
            setattr(check, name, value)
        check.save(update_fields=[*values, "updated_at"])
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            instance=check,
            changes=audit.diff(before, audit.snapshot(check)),
            note="same slot entered again",
        )
    if check.alert:
        _open_alert_task(locked, check, now=now)
    if locked.lost_since is not None:
        _clear_lost(actor, locked, now=now)
    return check, created


def _placement_type() -> ContentType:
    return ContentType.objects.get_for_model(Placement)


def _open_tasks(placement: Placement, kinds: Iterable[str]) -> QuerySet[Task]:
    return Task.objects.filter(
        kind__in=list(kinds),
        content_type=_placement_type(),
        object_id=str(placement.pk),
        status__in=OPEN_STATUSES,
    )


def _where(placement: Placement) -> str:
    if placement.kind == PlacementKind.CENTRALISED and placement.room is not None:
        return (
            f"{placement.room.facility.name} {placement.room.number}" if placement.facility else placement.room.number
        )
    return str(_("at home"))


def _open_alert_task(placement: Placement, check: HealthCheck, *, now: datetime.datetime) -> Task | None:
    """The day's urgent alert task for the placement, unless one is already open (one per placement and day)."""
    today_start = day_start(timezone.localtime(now).date())
    if _open_tasks(placement, [ALERT_TASK_KIND]).filter(created_at__gte=today_start).exists():
        return None
    responder = placement_responder(placement)
    if not responder.found:
        log.warning("health alert for placement %s: nobody to assign it to", placement.pk)
        return None
    with translation.override(settings.LANGUAGE_CODE):
        reading = f"{check.temperature} °C"
        if check.symptoms:
            labels = ", ".join(str(Symptom(code).label) for code in check.symptoms)
            reading = f"{reading}, {labels}"
        title = _("Health alert: %(name)s %(reading)s (%(where)s): see the person now") % {
            "name": placement.person.name,
            "reading": reading,
            "where": _where(placement),
        }
    task = Task.objects.create(
        title=title[:200],
        kind=ALERT_TASK_KIND,
        content_type=_placement_type(),
        object_id=str(placement.pk),
        path=responder.path,
        assignee_user=responder.user,
        assignee_grid=responder.grid,
        due_at=now + datetime.timedelta(hours=settings.TASK_URGENT_DUE_HOURS),
        priority=TaskPriority.URGENT,
    )
    audit.record(actor=None, action=AuditAction.CREATE, instance=task, changes=audit.diff({}, audit.snapshot(task)))
    return task


def _clear_lost(actor: User | None, placement: Placement, *, now: datetime.datetime) -> None:
    """A check arrived: the person is followed again; the lost-to-follow-up tasks are done."""
    before = audit.snapshot(placement, ["lost_since"])
    placement = versioned_update(placement, expected_version=placement.version, values={"lost_since": None})
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=placement,
        changes=audit.diff(before, audit.snapshot(placement, ["lost_since"])),
        note="health check recorded: followed again",
    )
    tasks = list(_open_tasks(placement, _LOST_KINDS))
    if tasks:
        Task.objects.filter(pk__in=[t.pk for t in tasks]).update(
            status=TaskStatus.DONE, closed_at=now, version=F("version") + 1, updated_at=now
        )
        audit.record_many(
            actor=actor,
            action=AuditAction.UPDATE,
            instances=tasks,
            changes=lambda t: {"status": [t.status, TaskStatus.DONE]},  # type: ignore[attr-defined]
            note="health check recorded: followed again",
        )


# -- lost to follow-up ----------------------------------------------------------------------------------------------


def _missed_since(slot: slots.Slot) -> QuerySet[Placement]:
    """Active placements with no check in ``slot`` or after it, for whom ``slot`` counted (placed before it ended,
    on its day or before: ``slots.counts_from``), so every slot from ``slot`` to now was theirs to record."""
    checked = HealthCheck.objects.filter(placement_id=OuterRef("pk")).filter(
        Q(day__gt=slot.day) | Q(day=slot.day, slot__gte=slot.index)
    )
    return Placement.objects.filter(status=PlacementStatus.ACTIVE, start_at__lt=slots.counts_from(slot)).filter(
        ~Exists(checked)
    )


def flag_missed(*, now: datetime.datetime | None = None) -> int:
    """Mark people whose last ``HEALTH_CHECK_MISSED_LIMIT`` slots passed without a check as lost to follow-up (an
    urgent task for whoever checks them), and escalate to the township officer those still lost after as many slots
    again. Set-based (a few queries per thousand people flagged, none per person followed); idempotent. Returns the
    number of tasks opened."""
    now = now or timezone.now()
    limit = settings.HEALTH_CHECK_MISSED_LIMIT
    recent = slots.passed(now, 2 * limit)
    first, second = recent[limit - 1], recent[2 * limit - 1]
    responders = Responders()
    opened = 0
    newly = list(_missed_since(first).filter(lost_since__isnull=True).order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(newly), _CHUNK):
        with transaction.atomic():
            # Again under row locks: a check recorded meanwhile (it locks the placement) wins.
            rows = _locked(_missed_since(first).filter(pk__in=newly[start : start + _CHUNK], lost_since__isnull=True))
            opened += _flag_chunk(rows, lost_at=recent[0].end, now=now, responders=responders)
    escalated = Task.objects.filter(
        kind=LOST_ESCALATION_KIND,
        content_type=_placement_type(),
        object_id=Cast(OuterRef("pk"), output_field=CharField()),
        created_at__gte=OuterRef("lost_since"),
    )
    still_lost = _missed_since(second).filter(lost_since__isnull=False).filter(~Exists(escalated))
    to_escalate = list(still_lost.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(to_escalate), _CHUNK):
        with transaction.atomic():
            rows = _locked(still_lost.filter(pk__in=to_escalate[start : start + _CHUNK]))
            opened += _escalate_chunk(rows, now=now, responders=responders)
    return opened


def _locked(placements: QuerySet[Placement]) -> list[Placement]:
    return list(
        placements.select_for_update(of=("self",))
        .select_related("person", "facility", "room", "room__facility", "grid", "responsible")
        .order_by("pk")
    )


def _missed_title(placement: Placement, *, escalated: bool) -> str:
    limit = settings.HEALTH_CHECK_MISSED_LIMIT
    with translation.override(settings.LANGUAGE_CODE):
        if escalated:
            text = _("Still lost to follow-up: %(name)s (%(where)s) missed %(n)s checks in a row: locate them now")
        else:
            text = _("Lost to follow-up: %(name)s (%(where)s) missed %(n)s checks in a row: reach them now")
        return (
            text % {"name": placement.person.name, "where": _where(placement), "n": limit * (2 if escalated else 1)}
        )[:200]


def _flag_chunk(
    placements: list[Placement], *, lost_at: datetime.datetime, now: datetime.datetime, responders: Responders
) -> int:
    if not placements:
        return 0
    Placement.objects.filter(pk__in=[p.pk for p in placements]).update(
        lost_since=lost_at, version=F("version") + 1, updated_at=now
    )
    for placement in placements:
        placement.lost_since = lost_at
        placement.version += 1
    audit.record_many(
        actor=None,
        action=AuditAction.UPDATE,
        instances=placements,
        changes=lambda p: {"lost_since": [None, lost_at.isoformat()]},
        note="missed health checks: lost to follow-up",
    )
    tasks = []
    content_type = _placement_type()
    due = now + datetime.timedelta(hours=settings.TASK_URGENT_DUE_HOURS)
    for placement in placements:
        responder = responders.placement(placement)
        if not responder.found:
            log.warning("lost to follow-up placement %s: nobody to assign it to", placement.pk)
            continue
        tasks.append(
            Task(
                title=_missed_title(placement, escalated=False),
                kind=LOST_TASK_KIND,
                content_type=content_type,
                object_id=str(placement.pk),
                path=responder.path,
                assignee_user=responder.user,
                assignee_grid=responder.grid,
                due_at=due,
                priority=TaskPriority.URGENT,
            )
        )
    return _create_tasks(tasks)


def _escalate_chunk(placements: list[Placement], *, now: datetime.datetime, responders: Responders) -> int:
    tasks = []
    content_type = _placement_type()
    due = now + datetime.timedelta(hours=settings.TASK_URGENT_DUE_HOURS)
    for placement in placements:
        officer = responders.township(placement.path)
        if officer is None:
            log.warning("lost to follow-up placement %s: no township officer to escalate to", placement.pk)
            continue
        tasks.append(
            Task(
                title=_missed_title(placement, escalated=True),
                kind=LOST_ESCALATION_KIND,
                content_type=content_type,
                object_id=str(placement.pk),
                path=placement.path,
                assignee_user=officer,
                due_at=due,
                priority=TaskPriority.URGENT,
                escalation_level=1,
                escalated_at=now,
            )
        )
    return _create_tasks(tasks)


def _create_tasks(tasks: list[Task]) -> int:
    if not tasks:
        return 0
    created = Task.objects.bulk_create(tasks)
    audit.record_many(
        actor=None,
        action=AuditAction.CREATE,
        instances=created,
        changes=lambda t: audit.diff({}, audit.snapshot(t)),
    )
    return len(created)
