"""Department officers (the police, asked to help locate a contact) see the contacts that tasks assigned to their
department are about, and those contacts' persons."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, Exists, OuterRef, Q
from django.db.models.functions import Cast

from firstline.core.scoping import Scope, register_visibility
from firstline.dispatch.models import Task
from firstline.people.models import Person
from firstline.tracing.models import Contact


def _department_tasks(scope: Scope, ref: str) -> Q | None:
    if not scope.department_ids:
        return None
    tasks = Task.objects.filter(
        content_type=ContentType.objects.get_for_model(Contact),
        object_id=Cast(OuterRef(ref), output_field=CharField()),
        assignee_department_id__in=scope.department_ids,
    )
    return Q(Exists(tasks))


def _contacts_of_department_tasks(scope: Scope) -> Q | None:
    return _department_tasks(scope, "pk")


def _persons_of_department_contact_tasks(scope: Scope) -> Q | None:
    return _department_tasks(scope, "contact__pk")


def register() -> None:
    register_visibility(Contact, _contacts_of_department_tasks)
    register_visibility(Person, _persons_of_department_contact_tasks)
