"""Writes on tasks: create, change status/notes, and escalate overdue ones up the jurisdiction chain."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from firstline.accounts.models import Department, Membership, User
from firstline.accounts.roles import SUPERVISOR_ROLES_BY_LEVEL, Perm
from firstline.core import audit
from firstline.core.concurrency import versioned_update
from firstline.core.models import AuditAction
from firstline.core.scoping import scope_of
from firstline.dispatch.models import OPEN_STATUSES, Task, TaskStatus
from firstline.regions.models import Grid


@transaction.atomic
def task_create(
    *,
    actor: User | None,
    title: str,
    kind: str = "general",
    related: models.Model | None = None,
    path: str = "",
    assignee_user: User | None = None,
    assignee_grid: Grid | None = None,
    assignee_department: Department | None = None,
    due_at: datetime.datetime | None = None,
    priority: int = 2,
    notes: str = "",
) -> Task:
    """Create a task. ``actor`` None means the system (a rule fired); a person needs ``task.add``."""
    if actor is not None and not scope_of(actor).has(Perm.TASK_ADD):
        raise PermissionDenied(_("Your role does not allow creating tasks."))
    if not (assignee_user or assignee_grid or assignee_department):
        raise ValidationError({"assignee": [_("A task needs an assignee: a user, a grid or a department.")]})
    if not title.strip():
        raise ValidationError({"title": [_("The title is required.")]})
    if not path:
        related_path = getattr(related, getattr(related, "scope_path_field", "path"), "") if related else ""
        path = related_path or (assignee_grid.path if assignee_grid else "")
    if actor is not None and path and not scope_of(actor).covers_path(path):
        raise ValidationError({"path": [_("The task's record is outside your jurisdiction.")]})
    task = Task.objects.create(
        title=title.strip(),
        kind=kind,
        content_type=ContentType.objects.get_for_model(related) if related is not None else None,
        object_id=str(related.pk) if related is not None else "",
        path=path,
        assignee_user=assignee_user,
        assignee_grid=assignee_grid,
        assignee_department=assignee_department,
        due_at=due_at or timezone.now() + datetime.timedelta(hours=settings.TASK_DEFAULT_DUE_HOURS),
        priority=priority,
        notes=notes,
        created_by=actor,
    )
    audit.record(actor=actor, action=AuditAction.CREATE, instance=task, changes=audit.diff({}, audit.snapshot(task)))
    return task


@transaction.atomic
def task_update(*, actor: User, task: Task, expected_version: int, data: dict[str, Any]) -> Task:
    """Change status, notes, priority or due time, refusing a stale version."""
    if not scope_of(actor).has(Perm.TASK_CHANGE):
        raise PermissionDenied(_("Your role does not allow changing tasks."))
    allowed = {"status", "notes", "priority", "due_at"}
    unknown = set(data) - allowed
    if unknown:
        raise ValidationError({name: [_("This field cannot be changed here.")] for name in sorted(unknown)})
    if "status" in data and data["status"] not in TaskStatus.values:
        raise ValidationError({"status": [_("Unknown status.")]})
    values = {key: value for key, value in data.items() if getattr(task, key) != value}
    if not values:
        return task
    if values.get("status") in (TaskStatus.DONE, TaskStatus.CANCELLED):
        values["closed_at"] = timezone.now()
    elif "status" in values:
        values["closed_at"] = None
    before = audit.snapshot(task)
    task = versioned_update(task, expected_version=expected_version, values=values)
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=task,
        changes=audit.diff(before, audit.snapshot(task)),
    )
    return task


def escalation_chain(path: str) -> list[tuple[str, str]]:
    """(level, path) of each jurisdiction that supervises ``path``, nearest first.

    Inside a grid (``632701001001-G003``): the grid's leader, then the village/community, township, county.
    At a division: the divisions above it.
    """
    code, _sep, suffix = path.partition("-")
    chain: list[tuple[str, str]] = []
    if suffix:
        chain.append(("grid", f"{code}-{suffix[:4]}"))
        chain.append(("village", code))
    if len(code) >= 12:
        chain.append(("township", code[:9]))
    if len(code) >= 9:
        chain.append(("county", code[:6]))
    return chain


def _supervisor_for(path: str, *, exclude: User | None) -> tuple[User, str] | None:
    """The first active holder of a supervising role in the nearest jurisdiction above ``path``."""
    for level, level_path in escalation_chain(path):
        roles = SUPERVISOR_ROLES_BY_LEVEL.get(level, ())
        candidates = Membership.objects.filter(active=True, role__in=roles, path=level_path, user__is_active=True)
        if exclude is not None:
            candidates = candidates.exclude(user=exclude)
        membership = candidates.select_related("user").order_by("role", "user__username").first()
        if membership is not None:
            return membership.user, level_path
    return None


@dataclass
class EscalationReport:
    escalated: list[int] = field(default_factory=list)
    no_supervisor: list[int] = field(default_factory=list)


def escalate_overdue(*, now: datetime.datetime | None = None) -> EscalationReport:
    """Hand every overdue open task to the supervising role one jurisdiction up; audited per task."""
    now = now or timezone.now()
    report = EscalationReport()
    overdue_ids = list(Task.objects.filter(status__in=OPEN_STATUSES, due_at__lt=now).values_list("id", flat=True))
    for task_id in overdue_ids:
        with transaction.atomic():
            task = Task.objects.select_for_update().filter(pk=task_id, status__in=OPEN_STATUSES, due_at__lt=now).first()
            if task is None:
                continue
            found = _supervisor_for(task.path, exclude=task.assignee_user)
            if found is None:
                report.no_supervisor.append(task.pk)
                continue
            supervisor, new_path = found
            before = audit.snapshot(task)
            task = versioned_update(
                task,
                expected_version=task.version,
                values={
                    "assignee_user": supervisor,
                    "assignee_grid": None,
                    "assignee_department": None,
                    "path": new_path,
                    "escalation_level": task.escalation_level + 1,
                    "escalated_at": now,
                    "due_at": now + datetime.timedelta(hours=settings.TASK_ESCALATION_GRACE_HOURS),
                    "priority": min(task.priority + 1, 4),
                },
            )
            audit.record(
                actor=None,
                action=AuditAction.UPDATE,
                instance=task,
                changes=audit.diff(before, audit.snapshot(task)),
                # Stored untranslated: the audit log must not depend on the language of whoever ran this.
                note=f"Overdue: escalated to {supervisor.username}",
            )
            report.escalated.append(task.pk)
    return report
