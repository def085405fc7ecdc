from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import QuerySet
from django.http import Http404

from firstline.dispatch.models import Task


def task_inbox(*, user: Any, box: str = "mine", status: str = "open", overdue: bool = False) -> QuerySet[Task]:
    """“My tasks”: ``mine`` (assigned to me, my grids, my departments) or ``all`` (everything in my scope)."""
    tasks = Task.objects.visible_to(user)
    if box == "mine":
        tasks = tasks.assigned_to(user)
    if status == "open":
        tasks = tasks.open()
    elif status:
        tasks = tasks.filter(status=status)
    if overdue:
        tasks = tasks.overdue()
    return tasks.select_related("assignee_user", "assignee_grid", "assignee_department", "content_type").order_by(
        "due_at", "-priority", "id"
    )


def task_get_for_user(user: Any, pk: Any) -> Task:
    try:
        return (
            Task.objects.visible_to(user)
            .select_related("assignee_user", "assignee_grid", "assignee_department", "content_type", "created_by")
            .get(pk=int(pk))
        )
    except (Task.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def tasks_about(record: models.Model, *, user: Any) -> QuerySet[Task]:
    content_type = ContentType.objects.get_for_model(record)
    return (
        Task.objects.visible_to(user)
        .filter(content_type=content_type, object_id=str(record.pk))
        .select_related("assignee_user", "assignee_grid", "assignee_department")
        .order_by("-created_at")
    )
