from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from firstline.core.models import VersionedModel
from firstline.core.scoping import Scope, ScopedQuerySet, scope_of


class TaskStatus(models.TextChoices):
    OPEN = "open", _("open")
    IN_PROGRESS = "in_progress", _("in progress")
    DONE = "done", _("done")
    CANCELLED = "cancelled", _("cancelled")


OPEN_STATUSES = (TaskStatus.OPEN, TaskStatus.IN_PROGRESS)


class TaskPriority(models.IntegerChoices):
    LOW = 1, _("low")
    NORMAL = 2, _("normal")
    HIGH = 3, _("high")
    URGENT = 4, _("urgent")


class TaskQuerySet(ScopedQuerySet["Task"]):
    def visibility_q(self, scope: Scope) -> Q | None:
        """Tasks assigned to the user, their grids or departments, plus every task inside their paths."""
        condition = super().visibility_q(scope)
        if scope.user_id is None:
            return condition
        mine = Q(assignee_user_id=scope.user_id)
        if scope.grid_codes:
            mine |= Q(assignee_grid__code__in=scope.grid_codes)
        if scope.department_ids:
            mine |= Q(assignee_department_id__in=scope.department_ids)
        return mine if condition is None else condition | mine

    def open(self) -> TaskQuerySet:
        return self.filter(status__in=OPEN_STATUSES)

    def overdue(self, now: object = None) -> TaskQuerySet:
        return self.open().filter(due_at__lt=now or timezone.now())

    def assigned_to(self, user: object) -> TaskQuerySet:
        """The “my tasks” inbox: assigned to me personally, to my grids or to my departments."""
        scope = scope_of(user)
        if scope.user_id is None:
            return self.none()
        q = Q(assignee_user_id=scope.user_id)
        if scope.grid_codes:
            q |= Q(assignee_grid__code__in=scope.grid_codes)
        if scope.department_ids:
            q |= Q(assignee_department_id__in=scope.department_ids)
        return self.filter(q)


class Task(VersionedModel):
    """A piece of work for a user, a grid team or a department, optionally about any record."""

    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("type"), max_length=40, default="general", db_index=True)
    content_type = models.ForeignKey(
        ContentType, verbose_name=_("record type"), null=True, blank=True, on_delete=models.PROTECT
    )
    object_id = models.CharField(_("record id"), max_length=64, blank=True)
    related = GenericForeignKey("content_type", "object_id")
    # The jurisdiction the task belongs to (the related record's, or the assignee grid's); moves on escalation.
    path = models.CharField(_("jurisdiction path"), max_length=40, db_index=True)
    assignee_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned user"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tasks",
    )
    assignee_grid = models.ForeignKey(
        "regions.Grid",
        verbose_name=_("assigned grid"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tasks",
    )
    assignee_department = models.ForeignKey(
        "accounts.Department",
        verbose_name=_("assigned department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tasks",
    )
    due_at = models.DateTimeField(_("due"), db_index=True)
    priority = models.PositiveSmallIntegerField(_("priority"), choices=TaskPriority.choices, default=2)
    status = models.CharField(_("status"), max_length=12, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    notes = models.TextField(_("notes"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    objects = TaskQuerySet.as_manager()

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["status", "due_at", "id"]
        indexes = [
            models.Index(fields=["status", "due_at"], name="task_status_due_idx"),
            models.Index(fields=["content_type", "object_id"], name="task_related_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                name="task_has_assignee",
                condition=Q(assignee_user__isnull=False)
                | Q(assignee_grid__isnull=False)
                | Q(assignee_department__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_overdue(self) -> bool:
        return self.status in OPEN_STATUSES and self.due_at < timezone.now()

    def assignee_label(self) -> str:
        return str(self.assignee_user or self.assignee_grid or self.assignee_department or "")
