"""Department officers see the people that tasks assigned to their department are about."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, Exists, OuterRef, Q
from django.db.models.functions import Cast

from firstline.core.scoping import Scope, register_visibility
from firstline.dispatch.models import Task
from firstline.people.models import Person


def _persons_of_department_tasks(scope: Scope) -> Q | None:
    if not scope.department_ids:
        return None
    content_type = ContentType.objects.get_for_model(Person)
    tasks = Task.objects.filter(
        content_type=content_type,
        object_id=Cast(OuterRef("pk"), output_field=CharField()),
        assignee_department_id__in=scope.department_ids,
    )
    return Q(Exists(tasks))


def register() -> None:
    register_visibility(Person, _persons_of_department_tasks)
