"""Writes on 协查 batches: receive a list (rows or a spreadsheet), distribute each person to the township/grid that
has to find them, follow each person from pending to a final status, escalate what is overdue, close the batch.

Status flow of a person: pending → located → controlled (a measure assigned through the arrival registration);
pending/located → not found / has left / out of jurisdiction (transferred, never dropped). Final statuses do not
change. Every write is audited and versioned.
"""

from __future__ import annotations

import datetime
import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from firstline.accounts.models import Membership, User
from firstline.accounts.roles import Perm, Role
from firstline.core import audit, identity, spreadsheets
from firstline.core.concurrency import StaleVersionError, changes_since, versioned_update
from firstline.core.models import AuditAction
from firstline.core.scoping import Scope, minimal_prefixes, require, scope_of
from firstline.dispatch.models import OPEN_STATUSES, Task, TaskPriority, TaskStatus
from firstline.dispatch.services import task_create
from firstline.people.models import IdType, Person
from firstline.regions.models import Division, Grid, Household
from firstline.screening import columns
from firstline.screening.assist.routing import METHODS, Method, Route, Router, township_of
from firstline.screening.assist.selectors import control_due, locate_due
from firstline.screening.models import (
    ASSIST_FINAL_STATUSES,
    ArrivalSource,
    AssistBatch,
    AssistItem,
    AssistStatus,
    ImportJob,
    ImportKind,
    ImportMode,
    ImportStatus,
)
from firstline.screening.services import arrival_register

log = logging.getLogger(__name__)

ROW_FIELDS = ("name", "id_type", "id_number", "phone", "address", "origin", "reason")
MAX_HOURS = 24 * 30
TASK_KIND_LOCATE = "assist_locate"
TASK_KIND_ROUTE = "assist_route"
TASK_KIND_OVERDUE = "assist_overdue"
ASSIST_TASK_KINDS = (TASK_KIND_LOCATE, TASK_KIND_ROUTE, TASK_KIND_OVERDUE)

# Which status may follow which; anything else is refused with a reason.
TRANSITIONS: dict[str, frozenset[str]] = {
    AssistStatus.PENDING: frozenset(
        {AssistStatus.LOCATED, AssistStatus.NOT_FOUND, AssistStatus.LEFT, AssistStatus.TRANSFERRED}
    ),
    AssistStatus.LOCATED: frozenset(
        {AssistStatus.CONTROLLED, AssistStatus.NOT_FOUND, AssistStatus.LEFT, AssistStatus.TRANSFERRED}
    ),
}


# -- reports ------------------------------------------------------------------------------------------------------


@dataclass
class BatchReport:
    """What a batch creation did (or, in a dry run or when refused, would do)."""

    rows: int = 0
    created: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)  # [{"row", "field", "reason"}]
    # Township code ("" = not routed below the receiving level) → {"name": …, "count": …}
    routed: dict[str, dict[str, Any]] = field(default_factory=dict)
    methods: dict[str, int] = field(default_factory=dict)
    batch: AssistBatch | None = None
    dry_run: bool = False
    valid_only: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def valid(self) -> int:
        return self.rows - self.rejected

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": self.created,
            "rejected": self.rejected,
            "errors": self.errors,
            "routed": self.routed,
            "methods": self.methods,
            "batch": self.batch.pk if self.batch is not None else None,
            "dry_run": self.dry_run,
            "valid_only": self.valid_only,
        }


@dataclass
class CleanRow:
    row: int
    values: dict[str, str]


# -- cleaning -----------------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return spreadsheets.cell_text(value)


def clean_row(
    raw: Mapping[str, Any], *, row: int, today: datetime.date
) -> tuple[CleanRow | None, list[dict[str, Any]]]:
    """Normalise one row of a list; (None, errors naming the row and field) when it cannot be taken."""
    errors: list[dict[str, Any]] = []

    def error(name: str, reason: Any) -> None:
        errors.append({"row": row, "field": name, "reason": str(reason)})

    values: dict[str, str] = {}
    values["name"] = identity.normalize_name(_text(raw.get("name")))[:100]
    if not values["name"]:
        error("name", _("The name is required."))
    number = _text(raw.get("id_number"))
    id_type_text = _text(raw.get("id_type"))
    id_type = IdType.RESIDENT.value
    if id_type_text:
        try:
            id_type = columns.map_value(columns.ID_TYPE_VALUES, id_type_text, field="id_type")
        except ValueError:
            error("id_type", _("Unknown ID type %(value)r.") % {"value": id_type_text})
    values["id_type"], values["id_number"] = "", ""
    if number:
        try:
            values["id_type"], values["id_number"] = identity.normalize_id_number(number, id_type, today=today)
        except identity.IdentityError as exc:
            error("id_number", exc.message)
    try:
        values["phone"] = identity.normalize_phone(_text(raw.get("phone")))
    except identity.IdentityError as exc:
        error("phone", exc.message)
    values["address"] = identity.normalize_address(_text(raw.get("address")))[:300]
    values["origin"] = identity.normalize_address(_text(raw.get("origin")))[:200]
    values["reason"] = identity.normalize_address(_text(raw.get("reason")))[:300]
    if errors:
        return None, errors
    return CleanRow(row=row, values=values), []


def _clean_batch(
    *,
    source: str,
    reference: str,
    received_at: datetime.datetime | None,
    deadline_at: datetime.datetime | None,
    locate_within_hours: int | None,
    control_within_hours: int | None,
    note: str,
) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    source = (source or "").strip()
    if not source:
        errors.setdefault("source", []).append(_("Say who sent the list."))
    received = received_at or timezone.now()
    if timezone.is_naive(received):
        received = timezone.make_aware(received)
    locate = locate_within_hours or settings.ASSIST_LOCATE_HOURS
    control = control_within_hours or settings.ASSIST_CONTROL_HOURS
    for name, hours in (("locate_within_hours", locate), ("control_within_hours", control)):
        if not 1 <= hours <= MAX_HOURS:
            errors.setdefault(name, []).append(_("Give between 1 and %(max)d hours.") % {"max": MAX_HOURS})
    if locate > control:
        errors.setdefault("control_within_hours", []).append(
            _("Control cannot be due before locating (%(hours)d hours).") % {"hours": locate}
        )
    deadline = deadline_at or received + datetime.timedelta(hours=settings.ASSIST_DEADLINE_HOURS)
    if timezone.is_naive(deadline):
        deadline = timezone.make_aware(deadline)
    if deadline <= received:
        errors.setdefault("deadline_at", []).append(_("The report-back deadline must be after the time received."))
    if errors:
        raise ValidationError(errors)
    return {
        "source": source[:200],
        "reference": (reference or "").strip()[:80],
        "received_at": received,
        "deadline_at": deadline,
        "locate_within_hours": locate,
        "control_within_hours": control,
        "note": (note or "").strip(),
    }


def _root_path(scope: Scope, path: str | None) -> str:
    """The receiving jurisdiction: the one given, or the actor's own when they have exactly one."""
    if path:
        if not scope.covers_path(path):
            raise ValidationError({"path": [_("This jurisdiction is outside yours.")]})
        return path
    roots = minimal_prefixes(p.split("-")[0] for p in scope.paths)
    if len(roots) != 1:
        raise ValidationError({"path": [_("You work in several jurisdictions: choose the one receiving the list.")]})
    return roots[0]


def _registry(rows: Iterable[CleanRow]) -> dict[tuple[str, str], Person]:
    """Registered persons by (ID type, number), following merges."""
    keys = {(r.values["id_type"], r.values["id_number"]) for r in rows if r.values["id_number"]}
    numbers = sorted({number for _type, number in keys})
    types = {id_type for id_type, _number in keys}
    found: dict[tuple[str, str], Person] = {}
    for start in range(0, len(numbers), 500):
        chunk = numbers[start : start + 500]
        # With the ID type the unique (id_type, id_number) index answers; alone, PostgreSQL would use the trigram
        # index for the equality, which costs seconds per 500 numbers at a million persons.
        persons = Person.objects.filter(id_type__in=types, id_number__in=chunk)
        for person in persons.select_related("household", "merged_into__household"):
            key = (person.id_type, person.id_number)
            if key not in keys:
                continue
            target = person
            while target.merged_into_id is not None:
                target = target.merged_into  # type: ignore[assignment]
            found[key] = target
    return found


# -- who receives the work ----------------------------------------------------------------------------------------


def responsible_user(path: str) -> User | None:
    """The officer who answers for ``path``: a township officer of its township, else the command above it."""
    code = path.split("-")[0]
    levels: list[tuple[tuple[str, ...], str]] = []
    if len(code) >= 9:
        levels.append(((Role.TOWNSHIP_OFFICER,), code[:9]))
    levels.extend(((Role.CITY_COMMAND,), code[:n]) for n in (6, 4, 2) if len(code) >= n)
    for roles, level_path in levels:
        membership = (
            Membership.objects.filter(active=True, role__in=roles, path=level_path, user__is_active=True)
            .select_related("user")
            .order_by("user__username")
            .first()
        )
        if membership is not None:
            return membership.user
    return None


def _due_text(due: datetime.datetime, since: datetime.datetime) -> str:
    local_due, local_since = timezone.localtime(due), timezone.localtime(since)
    return local_due.strftime("%H:%M" if local_due.date() == local_since.date() else "%m-%d %H:%M")


def _distribution_tasks(*, batch: AssistBatch, items: list[AssistItem], actor: User) -> list[Task]:
    """One task per receiving grid or township (the count and the locate deadline); the rest to route by hand."""
    groups: dict[tuple[str, str], list[AssistItem]] = {}
    for item in items:
        if item.household is not None:
            group = ("grid", str(item.household.grid_id))
        elif item.path != batch.path and township_of(item.path):
            group = ("township", township_of(item.path))
        else:
            group = ("queue", item.path)
        groups.setdefault(group, []).append(item)
    grid_ids = [int(key) for kind, key in groups if kind == "grid"]
    grids = {str(g.pk): g for g in Grid.objects.filter(pk__in=grid_ids)}
    due = locate_due(batch)
    label = batch.reference or batch.source
    created: list[Task] = []
    for (kind, key), members in sorted(groups.items()):
        count = len(members)
        values: dict[str, Any] = {}
        title = ngettext(
            "协查 %(batch)s: %(count)d person to locate by %(time)s",
            "协查 %(batch)s: %(count)d people to locate by %(time)s",
            count,
        ) % {"batch": label, "count": count, "time": _due_text(due, batch.received_at)}
        task_kind = TASK_KIND_LOCATE
        if kind == "grid":
            grid = grids[key]
            values.update(assignee_grid=grid, path=grid.path)
        elif kind == "township":
            officer = responsible_user(key)
            if officer is None:
                log.warning("协查 batch %s: no officer for township %s", batch.pk, key)
                continue
            values.update(assignee_user=officer, path=key)
        else:
            officer = actor if key == batch.path else responsible_user(key)
            if officer is None:
                continue
            title = ngettext(
                "协查 %(batch)s: %(count)d person could not be routed: route by hand",
                "协查 %(batch)s: %(count)d people could not be routed: route them by hand",
                count,
            ) % {"batch": label, "count": count}
            task_kind = TASK_KIND_ROUTE
            values.update(assignee_user=officer, path=key)
        created.append(
            task_create(
                actor=None,
                title=title,
                kind=task_kind,
                related=batch,
                due_at=due,
                priority=TaskPriority.URGENT,
                **values,
            )
        )
    return created


# -- creating a batch ---------------------------------------------------------------------------------------------


def _summarise(report: BatchReport, routes: list[Route], router: Router) -> None:
    routed: dict[str, dict[str, Any]] = {}
    for route in routes:
        township = "" if route.method == Method.UNROUTED else township_of(route.path)
        entry = routed.setdefault(township, {"name": router.name_of(township) if township else "", "count": 0})
        entry["count"] += 1
    report.routed = dict(sorted(routed.items()))
    counts = Counter(route.method for route in routes)
    report.methods = {method: counts.get(method, 0) for method in METHODS}


@transaction.atomic
def batch_create(
    *,
    actor: User,
    source: str,
    reference: str = "",
    received_at: datetime.datetime | None = None,
    deadline_at: datetime.datetime | None = None,
    locate_within_hours: int | None = None,
    control_within_hours: int | None = None,
    note: str = "",
    rows: Iterable[Mapping[str, Any]] | None = None,
    valid_only: bool = False,
    dry_run: bool = False,
    path: str | None = None,
) -> BatchReport:
    """Receive a 协查 list: check every row, route each person, then create the batch, its items and the tasks.

    All or nothing: with a rejected row nothing is written (the report lists every error) unless ``valid_only``.
    ``dry_run`` checks and routes without writing. Rows may carry ``row_number`` (the spreadsheet row) for the
    report; otherwise rows count from 1. Routes outside the actor's own scope are kept: a 协查 goes to whoever
    has to find the person.
    """
    require(actor, Perm.ASSIST_MANAGE)
    scope = scope_of(actor)
    root = _root_path(scope, path)
    fields = _clean_batch(
        source=source,
        reference=reference,
        received_at=received_at,
        deadline_at=deadline_at,
        locate_within_hours=locate_within_hours,
        control_within_hours=control_within_hours,
        note=note,
    )
    report = BatchReport(dry_run=dry_run, valid_only=valid_only)
    today = timezone.localdate()
    cleaned: list[CleanRow] = []
    first_row_of: dict[tuple[str, str], int] = {}
    for index, raw in enumerate(rows or (), start=1):
        number = int(raw.get("row_number") or index)
        report.rows += 1
        row, errors = clean_row(raw, row=number, today=today)
        if row is not None and row.values["id_number"]:
            key = (row.values["id_type"], row.values["id_number"])
            if key in first_row_of:
                errors = [
                    {
                        "row": number,
                        "field": "id_number",
                        "reason": _("The same ID number is already on row %(row)d.") % {"row": first_row_of[key]},
                    }
                ]
                row = None
            else:
                first_row_of[key] = number
        if row is None:
            report.rejected += 1
            report.errors.extend(errors)
        else:
            cleaned.append(row)
    if report.rows == 0:
        raise ValidationError({"rows": [_("The list has no rows.")]})
    router = Router(root=root)
    registry = _registry(cleaned)
    routes = [
        router.route(
            address=row.values["address"],
            id_type=row.values["id_type"],
            id_number=row.values["id_number"],
            person=registry.get((row.values["id_type"], row.values["id_number"])),
        )
        for row in cleaned
    ]
    _summarise(report, routes, router)
    if dry_run or not cleaned or (report.errors and not valid_only):
        return report
    batch = AssistBatch.objects.create(path=root, created_by=actor, **fields)
    audit.record(
        actor=actor,
        action=AuditAction.CREATE,
        instance=batch,
        changes=audit.diff({}, audit.snapshot(batch)),
        note=f"rows={report.rows} valid={len(cleaned)} rejected={report.rejected}",
    )
    items = AssistItem.objects.bulk_create(
        [
            AssistItem(
                batch=batch,
                row_number=row.row,
                person=route.person,
                path=route.path,
                household=route.household,
                outcome_note=_("Could not route: route by hand.") if route.method == Method.UNROUTED else "",
                **row.values,
            )
            for row, route in zip(cleaned, routes, strict=True)
        ]
    )
    for item, route in zip(items, routes, strict=True):
        audit.record(
            actor=actor,
            action=AuditAction.CREATE,
            instance=item,
            changes=audit.diff({}, audit.snapshot(item)),
            note=f"routed by {route.method}",
        )
    _distribution_tasks(batch=batch, items=items, actor=actor)
    report.batch = batch
    report.created = len(items)
    return report


def _rows_of_file(file_path: str | Path, filename: str) -> list[dict[str, Any]]:
    try:
        with spreadsheets.open_rows(file_path, filename=filename) as source:
            head = source.head(10)
            if not head:
                raise ValidationError({"file": [_("The file is empty.")]})
            header = spreadsheets.detect_header(head, columns.ARRIVAL_SYNONYMS)
            missing = header.missing(["name"])
            if missing:
                raise ValidationError({"file": [_("No column holds the names (姓名).")]})
            rows: list[dict[str, Any]] = []
            for row in source:
                if row.number <= header.header_row:
                    continue
                picked = header.pick(row.cells)
                values = {name: picked.get(name, "") for name in ROW_FIELDS}
                values["row_number"] = row.number
                rows.append(values)
            return rows
    except spreadsheets.SpreadsheetError as exc:
        raise ValidationError({"file": [str(exc)]}) from exc


def batch_upload(
    *,
    actor: User,
    file_path: str | Path,
    filename: str,
    source: str,
    reference: str = "",
    received_at: datetime.datetime | None = None,
    deadline_at: datetime.datetime | None = None,
    locate_within_hours: int | None = None,
    control_within_hours: int | None = None,
    note: str = "",
    valid_only: bool = False,
    dry_run: bool = False,
    path: str | None = None,
    job: ImportJob | None = None,
) -> BatchReport:
    """Read a 协查 list (xlsx/xls/ods/csv; headers found by their usual names) and create the batch from it.

    Row numbers in the report are the spreadsheet's. ``job`` (the stored upload) records the outcome.
    """
    require(actor, Perm.ASSIST_MANAGE)
    try:
        rows = _rows_of_file(file_path, filename)
        if not rows:
            raise ValidationError({"file": [_("The list has no rows under its header.")]})
    except ValidationError as exc:
        if job is not None:
            _job_failed(actor=actor, job=job, message="; ".join(exc.messages))
        raise
    report = batch_create(
        actor=actor,
        source=source,
        reference=reference,
        received_at=received_at,
        deadline_at=deadline_at,
        locate_within_hours=locate_within_hours,
        control_within_hours=control_within_hours,
        note=note,
        rows=rows,
        valid_only=valid_only,
        dry_run=dry_run,
        path=path,
    )
    if job is not None:
        _job_record(actor=actor, job=job, report=report)
    return report


@transaction.atomic
def upload_store(*, actor: User, upload: File) -> ImportJob:
    """Keep an uploaded 协查 list as an import job (kind 协查) until the dry run is confirmed."""
    require(actor, Perm.ASSIST_MANAGE)
    name = Path(upload.name or "upload").name
    size = upload.size or 0
    if size > settings.IMPORT_MAX_UPLOAD_MB * 1024 * 1024:
        raise ValidationError(
            {"file": [_("The file is larger than %(mb)s MB.") % {"mb": settings.IMPORT_MAX_UPLOAD_MB}]}
        )
    if Path(name).suffix.lower() not in spreadsheets.ACCEPTED_EXTENSIONS:
        raise ValidationError(
            {"file": [_("Accepted formats: %(formats)s.") % {"formats": ", ".join(spreadsheets.ACCEPTED_EXTENSIONS)}]}
        )
    roots = minimal_prefixes(p.split("-")[0] for p in scope_of(actor).paths)
    job = ImportJob(
        kind=ImportKind.ASSIST,
        status=ImportStatus.UPLOADED,
        original_name=name[:255],
        size=size,
        uploaded_by=actor,
        path=roots[0] if len(roots) == 1 else "",
    )
    job.file.save(name, upload, save=False)
    job.save()
    audit.record(actor=actor, action=AuditAction.CREATE, instance=job, changes=audit.diff({}, audit.snapshot(job)))
    return job


def _job_failed(*, actor: User, job: ImportJob, message: str) -> None:
    before = audit.snapshot(job)
    job.status, job.message, job.finished_at = ImportStatus.FAILED, message[:2000], timezone.now()
    job.save(update_fields=["status", "message", "finished_at", "updated_at"])
    audit.record(actor=actor, action=AuditAction.UPDATE, instance=job, changes=audit.diff(before, audit.snapshot(job)))


def _job_record(*, actor: User, job: ImportJob, report: BatchReport) -> None:
    before = audit.snapshot(job)
    job.summary = report.as_dict()
    job.rows_total = report.rows
    job.rows_done = report.rows
    job.dry_run = report.dry_run
    job.mode = ImportMode.VALID_ONLY if report.valid_only else ImportMode.ALL_OR_NOTHING
    now = timezone.now()
    job.started_at = job.started_at or now
    if report.dry_run:
        job.status = ImportStatus.VALIDATED
    elif report.batch is not None:
        job.status, job.assist_batch, job.finished_at = ImportStatus.DONE, report.batch, now
    else:
        # Refused as a whole: the checked file stays, so the uploader can still import the valid rows.
        job.status = ImportStatus.VALIDATED
        job.message = ngettext(
            "%(n)d row rejected: nothing saved.", "%(n)d rows rejected: nothing saved.", report.rejected
        ) % {"n": report.rejected}
    job.save(
        update_fields=[
            "summary",
            "rows_total",
            "rows_done",
            "dry_run",
            "mode",
            "started_at",
            "status",
            "assist_batch",
            "finished_at",
            "message",
            "updated_at",
        ]
    )
    audit.record(actor=actor, action=AuditAction.UPDATE, instance=job, changes=audit.diff(before, audit.snapshot(job)))


# -- following the people -----------------------------------------------------------------------------------------


def _check_handle(actor: User, item: AssistItem) -> None:
    require(actor, Perm.ASSIST_HANDLE)
    if not scope_of(actor).covers_path(item.path):
        raise PermissionDenied(_("This person is outside your jurisdiction."))
    if item.batch.closed_at is not None:
        raise ValidationError({"status": [_("The batch is closed: its people are no longer changed.")]})


def _check_transition(item: AssistItem, to: str) -> None:
    if to in TRANSITIONS.get(item.status, frozenset()):
        return
    current = AssistStatus(item.status).label
    if item.status in ASSIST_FINAL_STATUSES:
        reason = _("%(name)s is already “%(status)s”: a final status does not change.") % {
            "name": item.name,
            "status": current,
        }
    elif to == AssistStatus.CONTROLLED:
        reason = _("Mark %(name)s as located before recording the control measure.") % {"name": item.name}
    else:
        reason = _("%(name)s cannot go from “%(from)s” to “%(to)s”.") % {
            "name": item.name,
            "from": current,
            "to": AssistStatus(to).label,
        }
    raise ValidationError({"status": [reason]})


def _check_version(item: AssistItem, expected_version: int) -> None:
    """Refuse a stale edit before any side effect (the arrival registration) happens."""
    if item.version != expected_version:
        raise StaleVersionError(
            instance=item, expected=expected_version, changes_since=changes_since(item, expected_version)
        )


def _write(
    *, actor: User | None, item: AssistItem, expected_version: int, values: dict[str, Any], note: str = ""
) -> AssistItem:
    before = audit.snapshot(item)
    item = versioned_update(item, expected_version=expected_version, values=values)
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=item,
        changes=audit.diff(before, audit.snapshot(item)),
        note=note,
    )
    if item.status != AssistStatus.PENDING:
        _close_locate_tasks(item)
    if item.status in ASSIST_FINAL_STATUSES:
        # Nobody has to chase a person whose case is settled.
        Task.objects.filter(
            content_type=ContentType.objects.get_for_model(AssistItem),
            object_id=str(item.pk),
            kind=TASK_KIND_OVERDUE,
            status__in=OPEN_STATUSES,
        ).update(status=TaskStatus.DONE, closed_at=timezone.now())
    return item


def _close_locate_tasks(item: AssistItem) -> None:
    """A grid's or township's "N people to locate" task is done once nobody under it is pending any more."""
    now = timezone.now()
    tasks = Task.objects.filter(
        content_type=ContentType.objects.get_for_model(AssistBatch),
        object_id=str(item.batch_id),
        kind=TASK_KIND_LOCATE,
        status__in=OPEN_STATUSES,
    )
    for task in tasks:
        if not item.path.startswith(task.path):
            continue
        pending = AssistItem.objects.filter(
            batch_id=item.batch_id, status=AssistStatus.PENDING, path__startswith=task.path
        ).exists()
        if not pending:
            Task.objects.filter(pk=task.pk).update(status=TaskStatus.DONE, closed_at=now)


def _status_change(
    *, actor: User, item: AssistItem, expected_version: int, to: str, values: dict[str, Any] | None = None
) -> AssistItem:
    _check_handle(actor, item)
    _check_version(item, expected_version)
    _check_transition(item, to)
    return _write(actor=actor, item=item, expected_version=expected_version, values={"status": to, **(values or {})})


@transaction.atomic
def item_locate(*, actor: User, item: AssistItem, expected_version: int, note: str = "") -> AssistItem:
    """The person has been found (seen or reached): the locate clock stops."""
    values: dict[str, Any] = {"located_at": timezone.now()}
    if note.strip():
        values["outcome_note"] = note.strip()
    return _status_change(
        actor=actor, item=item, expected_version=expected_version, to=AssistStatus.LOCATED, values=values
    )


@transaction.atomic
def item_not_found(*, actor: User, item: AssistItem, expected_version: int, note: str = "") -> AssistItem:
    """Searched for and not found (the note says where and how)."""
    values: dict[str, Any] = {"outcome_note": note.strip()} if note.strip() else {}
    return _status_change(
        actor=actor, item=item, expected_version=expected_version, to=AssistStatus.NOT_FOUND, values=values
    )


@transaction.atomic
def item_left(*, actor: User, item: AssistItem, expected_version: int, left_to: str, note: str = "") -> AssistItem:
    """The person was here and has left, for ``left_to``."""
    if not (left_to or "").strip():
        raise ValidationError({"left_to": [_("Say where the person went.")]})
    values: dict[str, Any] = {"left_to": identity.normalize_address(left_to)[:200]}
    if note.strip():
        values["outcome_note"] = note.strip()
    return _status_change(
        actor=actor, item=item, expected_version=expected_version, to=AssistStatus.LEFT, values=values
    )


@transaction.atomic
def item_transfer(
    *, actor: User, item: AssistItem, expected_version: int, transferred_to: str, note: str = ""
) -> AssistItem:
    """Out of our jurisdiction: handed to ``transferred_to`` (the place and the office), never dropped."""
    if not (transferred_to or "").strip():
        raise ValidationError({"transferred_to": [_("Say where the person was transferred to.")]})
    values: dict[str, Any] = {"transferred_to": identity.normalize_address(transferred_to)[:200]}
    if note.strip():
        values["outcome_note"] = note.strip()
    return _status_change(
        actor=actor, item=item, expected_version=expected_version, to=AssistStatus.TRANSFERRED, values=values
    )


@transaction.atomic
def item_control(
    *,
    actor: User,
    item: AssistItem,
    expected_version: int,
    arrival_data: Mapping[str, Any],
    note: str = "",
    today: datetime.date | None = None,
) -> AssistItem:
    """Under control: register the arrival (source 协查) so the policy engine assigns the measure, and keep both.

    ``arrival_data``: ``arrival_date`` (required), ``origin``, ``travel`` ([{place, date_from, date_to}]),
    ``household`` (defaults to the item's), and any other arrival field (transport, health_code …).
    """
    _check_handle(actor, item)
    _check_version(item, expected_version)
    _check_transition(item, AssistStatus.CONTROLLED)
    person = item.person
    person_data = {
        "name": item.name,
        "id_type": item.id_type or IdType.RESIDENT,
        "id_number": item.id_number,
        "phone": item.phone,
    }
    if person is not None:
        person_data.update(name=person.name, id_type=person.id_type, id_number=person.id_number)
        person_data["phone"] = item.phone or person.phone
    if not person_data["id_number"]:
        raise ValidationError({"id_number": [_("An ID number is needed to register the arrival: add it first.")]})
    data: dict[str, Any] = {key: value for key, value in arrival_data.items() if key not in ("person", "division")}
    data["person"] = person_data
    data["origin"] = data.get("origin") or item.origin
    household: Household | None = data.get("household") or item.household
    data["household"] = household
    if household is None:
        data["division"] = Division.objects.filter(code=item.path.split("-")[0]).first()
    if not data.get("destination_address"):
        data["destination_address"] = item.address
    data["note"] = data.get("note") or _("协查 %(batch)s, row %(row)d") % {"batch": item.batch, "row": item.row_number}
    registration = arrival_register(actor=actor, data=data, source=ArrivalSource.ASSIST, today=today)
    arrival = registration.arrival
    values: dict[str, Any] = {
        "status": AssistStatus.CONTROLLED,
        "controlled_at": timezone.now(),
        "arrival": arrival,
        "measure": registration.measure or arrival.measure,
        "person": registration.person,
    }
    if arrival.household_id is not None:
        values.update(household_id=arrival.household_id, path=arrival.path)
    if note.strip():
        values["outcome_note"] = note.strip()
    return _write(actor=actor, item=item, expected_version=expected_version, values=values)


@transaction.atomic
def item_route(*, actor: User, item: AssistItem, expected_version: int, path: str) -> AssistItem:
    """The receiving level routes a person by hand (to a township, community or grid of the city)."""
    require(actor, Perm.ASSIST_MANAGE)
    scope = scope_of(actor)
    if not scope.covers_path(item.batch.path):
        raise PermissionDenied(_("Only the level that received the list routes its people."))
    if item.batch.closed_at is not None:
        raise ValidationError({"path": [_("The batch is closed: its people are no longer changed.")]})
    if item.status in ASSIST_FINAL_STATUSES:
        raise ValidationError({"path": [_("%(name)s already has a final status.") % {"name": item.name}]})
    path = (path or "").strip()
    code = path.split("-")[0]
    known = Grid.objects.filter(path=path).exists() if "-" in path else Division.objects.filter(code=path).exists()
    if not path or not known:
        raise ValidationError({"path": [_("Unknown division or grid %(path)r.") % {"path": path}]})
    if not (code.startswith(settings.FIRSTLINE_CITY_CODE) or scope.covers_path(path)):
        raise ValidationError({"path": [_("Route to a division or grid of the city.")]})
    if path == item.path:
        return item
    household = item.household if item.household is not None and item.household.path.startswith(path) else None
    values: dict[str, Any] = {"path": path, "household": household, "escalated_at": None}
    if item.path == item.batch.path:
        values["outcome_note"] = ""  # the "could not route" note is settled
    item = _write(
        actor=actor,
        item=item,
        expected_version=expected_version,
        values=values,
        note="routed by hand",
    )
    _distribution_tasks(batch=item.batch, items=[item], actor=actor)
    return item


@transaction.atomic
def batch_close(*, actor: User, batch: AssistBatch) -> AssistBatch:
    """Close a batch once every person on it has a final status (the feedback is then complete)."""
    require(actor, Perm.ASSIST_MANAGE)
    if not scope_of(actor).covers_path(batch.path):
        raise PermissionDenied(_("Only the level that received the list closes it."))
    if batch.closed_at is not None:
        raise ValidationError({"batch": [_("The batch is already closed.")]})
    remaining = batch.items.exclude(status__in=ASSIST_FINAL_STATUSES).count()
    if remaining:
        raise ValidationError(
            {
                "batch": [
                    ngettext(
                        "%(n)d person has no final status yet.",
                        "%(n)d people have no final status yet.",
                        remaining,
                    )
                    % {"n": remaining}
                ]
            }
        )
    before = audit.snapshot(batch)
    batch = versioned_update(batch, expected_version=batch.version, values={"closed_at": timezone.now()})
    audit.record(
        actor=actor, action=AuditAction.UPDATE, instance=batch, changes=audit.diff(before, audit.snapshot(batch))
    )
    Task.objects.filter(
        content_type=ContentType.objects.get_for_model(AssistBatch),
        object_id=str(batch.pk),
        kind__in=ASSIST_TASK_KINDS,
        status__in=OPEN_STATUSES,
    ).update(status=TaskStatus.DONE, closed_at=timezone.now())
    return batch


# -- deadlines ----------------------------------------------------------------------------------------------------


def _overdue_title(item: AssistItem, *, control: bool, due: datetime.datetime) -> str:
    values = {"name": item.name, "time": timezone.localtime(due).strftime("%m-%d %H:%M"), "row": item.row_number}
    if control:
        return _("协查 overdue: %(name)s (row %(row)d) not under control by %(time)s") % values
    return _("协查 overdue: %(name)s (row %(row)d) not located by %(time)s") % values


def escalate_assist(now: datetime.datetime | None = None) -> int:
    """Give every overdue person of an open batch an urgent task for their township's officer; returns how many.

    Overdue to locate: still pending after ``locate_within_hours``; overdue to control: pending or located after
    ``control_within_hours``. Each stage escalates once (``escalated_at``), so running this again adds nothing.
    """
    now = now or timezone.now()
    escalated = 0
    for batch in AssistBatch.objects.filter(closed_at__isnull=True).order_by("id"):
        locate, control = locate_due(batch), control_due(batch)
        if now <= locate:
            continue
        items = AssistItem.objects.filter(batch=batch)
        if now > control:
            # Not under control yet, and not escalated since the control deadline passed.
            items = items.filter(status__in=[AssistStatus.PENDING, AssistStatus.LOCATED]).exclude(
                escalated_at__gte=control
            )
        else:
            items = items.filter(status=AssistStatus.PENDING, escalated_at__isnull=True)
        for item_id in items.order_by("id").values_list("id", flat=True):
            if _escalate_one(item_id=item_id, batch=batch, now=now, control=now > control):
                escalated += 1
    return escalated


@transaction.atomic
def _escalate_one(*, item_id: int, batch: AssistBatch, now: datetime.datetime, control: bool) -> bool:
    item = AssistItem.objects.select_for_update().filter(pk=item_id).first()
    if item is None or item.status in ASSIST_FINAL_STATUSES:
        return False
    due = control_due(batch) if control else locate_due(batch)
    if item.escalated_at is not None and item.escalated_at >= due:
        return False  # escalated by a concurrent run
    if not control and item.status != AssistStatus.PENDING:
        return False
    officer = responsible_user(item.path) or batch.created_by
    if officer is None:
        log.warning("协查 item %s overdue: nobody answers for %s", item.pk, item.path)
        return False
    item.batch = batch
    task_create(
        actor=None,
        title=_overdue_title(item, control=control, due=due),
        kind=TASK_KIND_OVERDUE,
        related=item,
        path=item.path,
        assignee_user=officer,
        due_at=now + datetime.timedelta(hours=settings.TASK_ESCALATION_GRACE_HOURS),
        priority=TaskPriority.URGENT,
    )
    _write(
        actor=None,
        item=item,
        expected_version=item.version,
        values={"escalated_at": now},
        note=f"Overdue to {'control' if control else 'locate'}: escalated to {officer.username}",
    )
    return True
