"""Writes of frontline care (关心关爱一线): the frontline registry, and a care request from filing to closing.

A request goes to the township of the worker's home (``division``; ``path`` is the home's division code, so the
township and the village/community above the home see it, grid teams do not) with a due time by urgency
(``settings.CARE_DUE_HOURS``) and a dispatch task for the township officer, which escalates like every overdue
task (``dispatch.services.escalate_overdue``). The request and its task move together:

==============  ==================  ==============================================================
request         task                why
==============  ==================  ==============================================================
open            open (officer)      filed
assigned        in progress         the handler has it (the task moves to them)
handled         done                the handler's part is done; waiting for the requester must not
                                    escalate against the handler
closed          done                the requester confirmed
assigned again  in progress         the requester reopened it with a reason: new due time
cancelled       cancelled           withdrawn or not needed, with a reason
==============  ==================  ==============================================================

Supplies needed by people in home quarantine (``quarantine.CareNeed``) become requests of the same queue
(``care_from_need``, and ``sync_care_needs`` as the safety net); closing or cancelling such a request settles
the need, and a need settled in the quarantine pages settles its request.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.db.models.functions import Length
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from firstline.accounts.models import Membership, User
from firstline.accounts.roles import Perm, Role
from firstline.accounts.selectors import officer_for
from firstline.community.care import selectors
from firstline.community.models import (
    OPEN_CARE_STATUSES,
    CareCategory,
    CareEvent,
    CareEventKind,
    CareRequest,
    CareSource,
    CareStatus,
    CareUrgency,
    FrontlinePost,
    FrontlineWorker,
)
from firstline.core import audit
from firstline.core.concurrency import versioned_update
from firstline.core.models import AuditAction
from firstline.core.scoping import require
from firstline.dispatch.models import Task, TaskStatus
from firstline.dispatch.services import task_create
from firstline.people.models import Person
from firstline.quarantine.models import CareNeed, CareNeedKind, CareNeedStatus
from firstline.regions.models import Division, Household

TASK_KIND = "care_request"
# One answer for a record that does not exist and one outside the caller's view (the API answers unknown ids with
# these too), so the messages do not tell whether an out-of-scope record exists.
WORKER_NOT_PICKABLE = gettext_lazy("You cannot pick this worker: give their account name or ID number instead.")
HOUSEHOLD_NOT_PICKABLE = gettext_lazy("Choose the worker's household or one in your jurisdiction.")
HANDLER_NOT_PICKABLE = gettext_lazy("Choose someone with a role in the request's township.")
DESCRIPTION_MAX = 2000
NOTE_MAX = 1000

# CARE_DUE_HOURS lists the hours for normal, high and urgent, in that order.
_URGENCY_INDEX = {CareUrgency.NORMAL: 0, CareUrgency.HIGH: 1, CareUrgency.URGENT: 2}

# What a home-quarantine need becomes in the care queue.
NEED_CATEGORY = {
    CareNeedKind.FOOD: CareCategory.MEALS,
    CareNeedKind.DAILY: CareCategory.MEALS,
    CareNeedKind.MEDICINE: CareCategory.HEALTH,
    CareNeedKind.MEDICAL: CareCategory.HEALTH,
    CareNeedKind.OTHER: CareCategory.OTHER,
}
NEED_URGENCY = {CareNeedKind.MEDICINE: CareUrgency.HIGH, CareNeedKind.MEDICAL: CareUrgency.HIGH}


def _user(actor: Any) -> User | None:
    return actor if isinstance(actor, User) else None


def due_at_for(urgency: int, *, start: datetime.datetime | None = None) -> datetime.datetime:
    """When a request of this urgency must be handled: ``start`` (now) plus its CARE_DUE_HOURS."""
    hours = settings.CARE_DUE_HOURS[_URGENCY_INDEX[CareUrgency(urgency)]]
    return (start or timezone.now()) + datetime.timedelta(hours=hours)


def route(home_path: str) -> tuple[Division, str]:
    """(division that handles it, the request's path) for a home path: the township of the home, and the home's
    division code (a grid path without its grid, so grid teams do not see their neighbours' difficulties)."""
    code = selectors.home_code(home_path)
    township = selectors.township_code(home_path)
    prefixes = [township[:n] for n in (9, 6, 4, 2) if len(township) >= n]
    division = Division.objects.filter(code__in=prefixes).order_by(Length("code").desc()).first()
    if division is None:
        message = _("The home (%(path)s) is not in a known division.") % {"path": code}
        raise ValidationError({"worker": [message]})
    return division, code


def _officers(township_codes: Sequence[str]) -> dict[str, User]:
    """The township officer answering for each township (one query), else the nearest officer above."""
    found: dict[str, User] = {}
    memberships = (
        Membership.objects.filter(
            active=True, role=Role.TOWNSHIP_OFFICER, path__in=list(township_codes), user__is_active=True
        )
        .select_related("user")
        .order_by("path", "user__username")
    )
    for membership in memberships:
        found.setdefault(membership.path, membership.user)
    for code in township_codes:
        if code not in found:
            officer = officer_for(code)
            if officer is not None:
                found[code] = officer
    return found


def _task_title(care: CareRequest, name: str) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return (_("Care request (%(category)s): %(name)s") % {"category": care.get_category_display(), "name": name})[
            :200
        ]


def _event(care: CareRequest, *, actor: Any, kind: str, note: str = "") -> CareEvent:
    return CareEvent.objects.create(request=care, actor=_user(actor), kind=kind, note=note)


def _changed(
    care: CareRequest, *, actor: Any, expected_version: int, values: dict[str, Any], kind: str, note: str = ""
) -> CareRequest:
    """Write ``values`` at ``expected_version`` (stale → StaleVersionError), add the timeline entry, audit."""
    before = audit.snapshot(care)
    care = versioned_update(care, expected_version=expected_version, values=values)
    _event(care, actor=actor, kind=kind, note=note)
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=care,
        changes=audit.diff(before, audit.snapshot(care)),
        note=f"care request {kind}",
    )
    return care


def _task_follows(care: CareRequest, *, actor: Any, values: dict[str, Any], kind: str) -> None:
    """Move the request's task with it (status, assignee, due time), audited on the task."""
    if care.task_id is None:
        return
    task = Task.objects.select_for_update().filter(pk=care.task_id).first()
    if task is None:
        return
    changed = {key: value for key, value in values.items() if getattr(task, key) != value}
    if not changed:
        return
    before = audit.snapshot(task)
    task = versioned_update(task, expected_version=task.version, values=changed)
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=task,
        changes=audit.diff(before, audit.snapshot(task)),
        note=f"care request {care.pk} {kind}",
    )


def _clean_text(value: str, *, name: str, required: bool, limit: int) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationError({name: [_("This field is required.")]})
    if len(text) > limit:
        raise ValidationError({name: [_("At most %(n)d characters.") % {"n": limit}]})
    return text


def _locked(care: CareRequest) -> CareRequest:
    return (
        CareRequest.objects.select_for_update(of=("self",))
        .select_related("worker", "person", "task", "care_need")
        .get(pk=care.pk)
    )


# -- frontline registry -------------------------------------------------------------------------------------------


def _check_account(account: User | None, *, worker: FrontlineWorker | None = None) -> None:
    if account is None:
        return
    if not account.is_active:
        raise ValidationError({"user": [_("This account is disabled.")]})
    others = FrontlineWorker.objects.filter(user=account)
    if worker is not None:
        others = others.exclude(pk=worker.pk)
    other = others.first()
    if other is not None:
        raise ValidationError({"user": [_("This account is already linked to another frontline worker.")]})


def _check_worker_values(values: dict[str, Any]) -> None:
    if "post_kind" in values and values["post_kind"] not in FrontlinePost.values:
        raise ValidationError({"post_kind": [_("Choose the kind of post.")]})
    for name, limit in (("post", 120), ("organisation", 120)):
        if name in values:
            values[name] = _clean_text(values[name], name=name, required=False, limit=limit)
    since = values.get("since")
    if since is not None and since > timezone.localdate():
        raise ValidationError({"since": [_("This date is in the future.")]})


@transaction.atomic
def frontline_worker_create(
    *,
    actor: User,
    person: Person,
    post_kind: str,
    post: str = "",
    organisation: str = "",
    since: datetime.date | None = None,
    active: bool = True,
    user: User | None = None,
) -> FrontlineWorker:
    """Flag a person the actor can see as working on the front line, with their post (and their account)."""
    require(actor, Perm.FRONTLINE_MANAGE)
    if not Person.objects.visible_to(actor).filter(pk=person.pk).exists():
        raise Http404
    if person.merged_into_id is not None:
        raise ValidationError({"person": [_("This record was merged into another person: use that one.")]})
    values: dict[str, Any] = {"post_kind": post_kind, "post": post, "organisation": organisation, "since": since}
    _check_worker_values(values)
    if FrontlineWorker.objects.filter(person=person).exists():
        raise ValidationError({"person": [_("%(name)s is already a frontline worker.") % {"name": person.name}]})
    _check_account(user)
    try:
        with transaction.atomic():
            worker = FrontlineWorker.objects.create(person=person, user=user, path=person.path, active=active, **values)
    except IntegrityError as exc:  # registered by someone else a moment ago
        raise ValidationError(
            {"person": [_("%(name)s is already a frontline worker.") % {"name": person.name}]}
        ) from exc
    audit.record(
        actor=actor, action=AuditAction.CREATE, instance=worker, changes=audit.diff({}, audit.snapshot(worker))
    )
    return worker


@transaction.atomic
def frontline_worker_update(
    *, actor: User, worker: FrontlineWorker, expected_version: int, data: dict[str, Any]
) -> FrontlineWorker:
    """Change the post, organisation, dates, account or whether they are on the front line now. The home path is
    taken from the person again (they may have moved)."""
    require(actor, Perm.FRONTLINE_MANAGE)
    worker = selectors.worker_get_for_user(actor, worker.pk, write=True)
    allowed = {"post_kind", "post", "organisation", "since", "active", "user"}
    unknown = set(data) - allowed
    if unknown:
        raise ValidationError({name: [_("This field cannot be changed here.")] for name in sorted(unknown)})
    values = dict(data)
    _check_worker_values(values)
    if "user" in values:
        _check_account(values["user"], worker=worker)
    values["path"] = worker.person.path
    changed = {key: value for key, value in values.items() if getattr(worker, key) != value}
    if not changed:
        return worker
    before = audit.snapshot(worker)
    worker = versioned_update(worker, expected_version=expected_version, values=changed)
    audit.record(
        actor=actor, action=AuditAction.UPDATE, instance=worker, changes=audit.diff(before, audit.snapshot(worker))
    )
    return worker


# -- filing ---------------------------------------------------------------------------------------------------------


def _worker_for_filing(actor: User, worker: FrontlineWorker | None, worker_key: str) -> FrontlineWorker:
    if worker is not None:
        if worker.user_id == actor.pk or FrontlineWorker.objects.visible_to(actor).filter(pk=worker.pk).exists():
            if not worker.active:
                message = _("%(name)s is no longer on the front line.") % {"name": worker.person.name}
                raise ValidationError({"worker": [message]})
            return worker
        raise ValidationError({"worker": [str(WORKER_NOT_PICKABLE)]})
    if worker_key.strip():
        found = selectors.worker_by_key(worker_key)
        if found is None:
            raise ValidationError(
                {"worker_key": [_("No frontline worker on duty has this account name or ID number.")]}
            )
        return found
    own = selectors.worker_of(actor)
    if own is None:
        raise ValidationError(
            {"worker": [_("You are not registered as a frontline worker: choose the worker you file for.")]}
        )
    return own


def _household_for(actor: User, worker: FrontlineWorker, household: Household | None) -> Household | None:
    own = worker.person.household
    if household is None or (own is not None and household.pk == own.pk):
        return own
    if not Household.objects.visible_to(actor).filter(pk=household.pk).exists():
        raise ValidationError({"household": [str(HOUSEHOLD_NOT_PICKABLE)]})
    return household


def _check_request_values(category: str, urgency: Any, description: str) -> tuple[str, int, str]:
    errors: dict[str, list[str]] = {}
    if category not in CareCategory.values:
        errors["category"] = [_("Choose what the difficulty is about.")]
    try:
        urgency = int(urgency)
    except (TypeError, ValueError):
        urgency = None
    if urgency not in CareUrgency.values:
        errors["urgency"] = [_("Choose how urgent it is.")]
    try:
        description = _clean_text(description, name="description", required=True, limit=DESCRIPTION_MAX)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    return category, int(urgency), description


def _open_task(care: CareRequest, *, name: str) -> Task | None:
    """The township officer's task for a new request (the system creates it: filers need no task rights)."""
    officer = _officers([care.division_id]).get(care.division_id)
    if officer is None:
        return None
    return task_create(
        actor=None,
        title=_task_title(care, name),
        kind=TASK_KIND,
        related=care,
        path=care.path,
        assignee_user=officer,
        due_at=care.due_at,
        priority=care.urgency,
    )


@transaction.atomic
def care_request_file(
    *,
    actor: User,
    category: str,
    urgency: int,
    description: str,
    worker: FrontlineWorker | None = None,
    worker_key: str = "",
    household: Household | None = None,
) -> CareRequest:
    """File a care request for a frontline worker: oneself (the default), a worker the actor can see, or one
    named exactly by account name or ID number (a colleague whose home is elsewhere). Filing for someone else is
    recorded (``on_behalf``). Routed to the township of the worker's home, due by urgency, with a task for the
    township officer. Raises ValidationError by field."""
    require(actor, Perm.CARE_FILE)
    worker = _worker_for_filing(actor, worker, worker_key)
    category, urgency, description = _check_request_values(category, urgency, description)
    household = _household_for(actor, worker, household)
    division, path = route(worker.path)
    care = CareRequest.objects.create(
        source=CareSource.FRONTLINE,
        worker=worker,
        person=worker.person,
        category=category,
        urgency=urgency,
        description=description,
        household=household,
        division=division,
        path=path,
        filed_by=actor,
        on_behalf=worker.user_id != actor.pk,
        due_at=due_at_for(urgency),
    )
    task = _open_task(care, name=worker.person.name)
    if task is not None:
        CareRequest.objects.filter(pk=care.pk).update(task=task)
        care.task = task
    _event(care, actor=actor, kind=CareEventKind.FILED)
    audit.record(
        actor=actor,
        action=AuditAction.CREATE,
        instance=care,
        changes=audit.diff({}, audit.snapshot(care)),
        note="filed on behalf of the worker" if care.on_behalf else "",
    )
    return care


# -- handling -------------------------------------------------------------------------------------------------------


def _access(actor: User, care: CareRequest) -> selectors.CareAccess:
    """The actor's rights on the request; 404 when they cannot see it at all."""
    if not CareRequest.objects.visible_to(actor).filter(pk=care.pk).exists():
        raise Http404
    return selectors.care_access(actor, care)


def _expect(care: CareRequest, statuses: Sequence[str], message: str) -> None:
    if care.status not in statuses:
        raise ValidationError({"status": [message]})


@transaction.atomic
def care_request_assign(
    *, actor: User, care: CareRequest, handler: User, expected_version: int, note: str = ""
) -> CareRequest:
    """Give the request to a handler in the township (an officer, a village secretary, a volunteer …): the task
    moves to them and gets at least the escalation grace to be done."""
    require(actor, Perm.CARE_HANDLE)
    care = _locked(care)
    if not _access(actor, care).can_assign:
        raise PermissionDenied(_("Only the handlers of the request's township can assign it."))
    _expect(care, OPEN_CARE_STATUSES, _("Only an open or assigned request can be assigned."))
    if not selectors.handler_candidates(actor, care).filter(pk=handler.pk).exists():
        raise ValidationError({"handler": [str(HANDLER_NOT_PICKABLE)]})
    note = _clean_text(note, name="note", required=False, limit=NOTE_MAX)
    due = max(care.due_at, timezone.now() + datetime.timedelta(hours=settings.TASK_ESCALATION_GRACE_HOURS))
    values: dict[str, Any] = {"handler": handler, "status": CareStatus.ASSIGNED}
    if care.task_id is None:
        # Filed when the township had no officer: the task starts now, linked through the audited, versioned write.
        values["task"] = task_create(
            actor=None,
            title=_task_title(care, care.person.name),
            kind=TASK_KIND,
            related=care,
            path=care.path,
            assignee_user=handler,
            due_at=due,
            priority=care.urgency,
        )
    care = _changed(
        care,
        actor=actor,
        expected_version=expected_version,
        values=values,
        kind=CareEventKind.ASSIGNED,
        note=" · ".join(part for part in (str(handler), note) if part),
    )
    task_values: dict[str, Any] = {
        "assignee_user": handler,
        "assignee_grid": None,
        "assignee_department": None,
        "status": TaskStatus.IN_PROGRESS,
        "path": care.path,
        "due_at": due,
        "closed_at": None,
    }
    _task_follows(care, actor=actor, values=task_values, kind=CareEventKind.ASSIGNED)
    return care


@transaction.atomic
def care_request_handle(*, actor: User, care: CareRequest, expected_version: int, action_taken: str) -> CareRequest:
    """Record what was done: the request waits for the requester's confirmation; the task is done."""
    care = _locked(care)
    access = _access(actor, care)
    if not access.can_handle:
        raise PermissionDenied(_("Only the request's handler or the township's handlers can record what was done."))
    _expect(care, OPEN_CARE_STATUSES, _("Only an open or assigned request can be handled."))
    action_taken = _clean_text(action_taken, name="action_taken", required=True, limit=DESCRIPTION_MAX)
    now = timezone.now()
    care = _changed(
        care,
        actor=actor,
        expected_version=expected_version,
        values={
            "status": CareStatus.HANDLED,
            "action_taken": action_taken,
            "handled_at": now,
            "handler": care.handler or actor,
        },
        kind=CareEventKind.HANDLED,
        note=action_taken,
    )
    _task_follows(care, actor=actor, values={"status": TaskStatus.DONE, "closed_at": now}, kind=CareEventKind.HANDLED)
    return care


def _settle_need(care: CareRequest, *, done: bool) -> None:
    if care.care_need_id is None:
        return
    from firstline.quarantine.sites.services import care_need_close

    need = CareNeed.objects.filter(pk=care.care_need_id, status=CareNeedStatus.OPEN).first()
    if need is not None:
        care_need_close(actor=None, need=need, done=done)


@transaction.atomic
def care_request_confirm(*, actor: User, care: CareRequest, expected_version: int, note: str = "") -> CareRequest:
    """The requester (the worker, or whoever filed it) confirms the help arrived: closed. The township handling it
    may close it on the requester's word (a phone call), with a note saying so; the timeline shows who closed it."""
    care = _locked(care)
    access = _access(actor, care)
    if not (access.can_confirm or access.can_close_for_requester):
        raise PermissionDenied(_("Only the requester, or the township on the requester's word, can close the request."))
    _expect(care, (CareStatus.HANDLED,), _("Only a handled request can be confirmed."))
    # Closing for the requester needs the word: how they confirmed it (a call, a visit).
    note = _clean_text(note, name="note", required=not access.can_confirm, limit=NOTE_MAX)
    now = timezone.now()
    care = _changed(
        care,
        actor=actor,
        expected_version=expected_version,
        values={"status": CareStatus.CLOSED, "closed_at": now},
        kind=CareEventKind.CONFIRMED,
        note=note,
    )
    _task_follows(care, actor=actor, values={"status": TaskStatus.DONE}, kind=CareEventKind.CONFIRMED)
    _settle_need(care, done=True)
    return care


@transaction.atomic
def care_request_reopen(*, actor: User, care: CareRequest, expected_version: int, reason: str) -> CareRequest:
    """The requester says it is not solved: back to the handler with a new due time; the task is reopened."""
    care = _locked(care)
    if not _access(actor, care).can_confirm:
        raise PermissionDenied(_("Only the requester can reopen the request."))
    _expect(care, (CareStatus.HANDLED,), _("Only a handled request can be reopened."))
    reason = _clean_text(reason, name="reason", required=True, limit=NOTE_MAX)
    due = due_at_for(care.urgency)
    care = _changed(
        care,
        actor=actor,
        expected_version=expected_version,
        values={
            "status": CareStatus.ASSIGNED,
            "reopened": care.reopened + 1,
            "due_at": due,
            "handled_at": None,
        },
        kind=CareEventKind.REOPENED,
        note=reason,
    )
    task_values: dict[str, Any] = {
        "status": TaskStatus.IN_PROGRESS,
        "due_at": due,
        "closed_at": None,
        "path": care.path,
    }
    if care.handler_id is not None:
        task_values.update(assignee_user_id=care.handler_id, assignee_grid=None, assignee_department=None)
    _task_follows(care, actor=actor, values=task_values, kind=CareEventKind.REOPENED)
    return care


@transaction.atomic
def care_request_cancel(*, actor: User, care: CareRequest, expected_version: int, reason: str) -> CareRequest:
    """Withdraw (the requester) or cancel (the township's handlers) a request that is not closed, with a reason."""
    care = _locked(care)
    if not _access(actor, care).can_cancel:
        raise PermissionDenied(_("Only the requester or the township's handlers can cancel the request."))
    _expect(
        care,
        (CareStatus.OPEN, CareStatus.ASSIGNED, CareStatus.HANDLED),
        _("A closed or cancelled request cannot be cancelled."),
    )
    reason = _clean_text(reason, name="reason", required=True, limit=NOTE_MAX)
    now = timezone.now()
    care = _changed(
        care,
        actor=actor,
        expected_version=expected_version,
        values={"status": CareStatus.CANCELLED, "closed_at": now},
        kind=CareEventKind.CANCELLED,
        note=reason,
    )
    _task_follows(
        care, actor=actor, values={"status": TaskStatus.CANCELLED, "closed_at": now}, kind=CareEventKind.CANCELLED
    )
    _settle_need(care, done=False)
    return care


# -- background: escalations, home-quarantine needs -------------------------------------------------------------


def record_escalations() -> int:
    """A timeline entry for each escalation of a request's task since the last run (dispatch escalates tasks and
    knows nothing of care requests). Set-based; returns the number of entries written."""
    behind = (
        CareRequest.objects.filter(task__escalation_level__gt=0)
        .annotate(noted=Count("events", filter=Q(events__kind=CareEventKind.ESCALATED)))
        .filter(task__escalation_level__gt=F("noted"))
        .values_list("pk", "task__escalation_level", "noted", "task__assignee_user__username")
    )
    events = [
        CareEvent(
            request_id=pk,
            kind=CareEventKind.ESCALATED,
            # Stored untranslated, like the task's audit note.
            note=f"level {level}: {username or ''}".strip() if level == reached else f"level {level}",
        )
        for pk, reached, noted, username in behind
        for level in range(noted + 1, reached + 1)
    ]
    CareEvent.objects.bulk_create(events)
    return len(events)


@dataclass
class CareSyncReport:
    created: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)


def _requests_from_needs(needs: Sequence[CareNeed], *, actor: Any) -> list[CareRequest]:
    """Care requests (with their tasks) for open home-quarantine needs, in a handful of statements."""
    if not needs:
        return []
    now = timezone.now()
    townships = sorted({selectors.township_code(need.path) for need in needs})
    divisions = Division.objects.in_bulk(townships)
    officers = _officers(townships)
    requests: list[CareRequest] = []
    for need in needs:
        code = selectors.township_code(need.path)
        division = divisions.get(code)
        path = selectors.home_code(need.path)
        if division is None:
            division, path = route(need.path)
        urgency = NEED_URGENCY.get(CareNeedKind(need.kind), CareUrgency.NORMAL)
        with translation.override(settings.LANGUAGE_CODE):
            label = str(need.get_kind_display())
        filer = _user(actor) or need.created_by
        requests.append(
            CareRequest(
                source=CareSource.QUARANTINE,
                person_id=need.placement.person_id,
                care_need=need,
                category=NEED_CATEGORY.get(CareNeedKind(need.kind), CareCategory.OTHER),
                urgency=urgency,
                description=f"{label}: {need.description}" if need.description else label,
                household_id=need.placement.household_id,
                division=division,
                path=path,
                filed_by=filer,
                on_behalf=True,
                due_at=due_at_for(urgency, start=now),
            )
        )
    CareRequest.objects.bulk_create(requests, batch_size=1000)
    content_type = ContentType.objects.get_for_model(CareRequest)
    tasks: list[Task] = []
    with_tasks: list[CareRequest] = []
    for care, need in zip(requests, needs, strict=True):
        officer = officers.get(care.division_id)
        if officer is None:
            continue
        tasks.append(
            Task(
                title=_task_title(care, need.placement.person.name),
                kind=TASK_KIND,
                content_type=content_type,
                object_id=str(care.pk),
                path=care.path,
                assignee_user=officer,
                due_at=care.due_at,
                priority=care.urgency,
            )
        )
        with_tasks.append(care)
    Task.objects.bulk_create(tasks, batch_size=1000)
    for care, task in zip(with_tasks, tasks, strict=True):
        care.task = task
    CareRequest.objects.bulk_update(with_tasks, ["task"], batch_size=1000)
    CareEvent.objects.bulk_create(
        [
            CareEvent(request=care, actor=_user(actor), kind=CareEventKind.FILED, note="home quarantine")
            for care in requests
        ],
        batch_size=1000,
    )
    audit.record_many(
        actor=actor,
        action=AuditAction.CREATE,
        instances=requests,
        changes=lambda c: audit.diff({}, audit.snapshot(c)),
        note="from a home-quarantine need",
    )
    audit.record_many(actor=None, action=AuditAction.CREATE, instances=tasks, note="care request task")
    return requests


@transaction.atomic
def care_from_need(*, actor: Any, need: CareNeed) -> CareRequest:
    """The care request for a home-quarantine need (created once; the existing one afterwards).

    Called by the quarantine app when a need is added (its own permission check applies there); ``actor`` None is
    the system. Raises ValidationError for a need already settled."""
    need = CareNeed.objects.select_for_update(of=("self",)).select_related("placement__person").get(pk=need.pk)
    existing = CareRequest.objects.filter(care_need=need).first()
    if existing is not None:
        return existing
    if need.status != CareNeedStatus.OPEN:
        raise ValidationError({"need": [_("This need is already settled.")]})
    (care,) = _requests_from_needs([need], actor=actor)
    return care


def _follow_settled_needs(report: CareSyncReport) -> None:
    """Requests whose need was settled in the quarantine pages follow it: done → closed, cancelled → cancelled."""
    now = timezone.now()
    unsettled = (CareStatus.OPEN, CareStatus.ASSIGNED, CareStatus.HANDLED)
    done = (CareNeedStatus.DONE, CareStatus.CLOSED, TaskStatus.DONE, CareEventKind.CONFIRMED, report.closed)
    cancelled = (
        CareNeedStatus.CANCELLED,
        CareStatus.CANCELLED,
        TaskStatus.CANCELLED,
        CareEventKind.CANCELLED,
        report.cancelled,
    )
    outcomes = (done, cancelled)
    for need_status, status, task_status, kind, ids in outcomes:
        rows = list(
            CareRequest.objects.select_for_update(of=("self",))
            .filter(care_need__status=need_status, status__in=unsettled)
            .values_list("pk", "status", "task_id")
        )
        if not rows:
            continue
        pks = [pk for pk, _status, _task in rows]
        CareRequest.objects.filter(pk__in=pks).update(
            status=status, closed_at=now, version=F("version") + 1, updated_at=now
        )
        task_ids = [task for _pk, _status, task in rows if task is not None]
        Task.objects.filter(pk__in=task_ids).exclude(status=task_status).update(
            status=task_status, closed_at=now, version=F("version") + 1, updated_at=now
        )
        CareEvent.objects.bulk_create(
            [CareEvent(request_id=pk, kind=kind, note="settled in the quarantine pages") for pk in pks]
        )
        audit.record_many(
            actor=None,
            action=AuditAction.UPDATE,
            instances=CareRequest.objects.filter(pk__in=pks),
            changes=_status_change({pk: old for pk, old, _task in rows}),
            note="need settled in the quarantine pages",
        )
        ids.extend(pks)


def _status_change(before: dict[int, str]) -> Any:
    def changes(care: Any) -> dict[str, list[Any]]:
        return {"status": [before[care.pk], care.status]}

    return changes


def sync_care_needs() -> CareSyncReport:
    """Open home-quarantine needs without a request get one; requests follow needs settled elsewhere.

    Idempotent and set-based (the beat's safety net behind ``care_from_need``). Two runs at once: the second's
    insert meets the unique need and is rolled back whole; the next run finds nothing left to do."""
    report = CareSyncReport()
    try:
        with transaction.atomic():
            needs = list(
                CareNeed.objects.filter(status=CareNeedStatus.OPEN, care_request__isnull=True)
                .select_related("placement__person")
                .order_by("pk")
            )
            report.created = [care.pk for care in _requests_from_needs(needs, actor=None)]
            _follow_settled_needs(report)
    except IntegrityError:
        return CareSyncReport()
    return report
