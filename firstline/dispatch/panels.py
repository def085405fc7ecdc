from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from firstline.core.panels import Panel, register_panel
from firstline.dispatch.selectors import tasks_about
from firstline.people.models import Person


def _person_tasks(request: HttpRequest, person: Any) -> dict[str, Any]:
    return {"tasks": list(tasks_about(person, user=request.user)[:50]), "person": person}


def register() -> None:
    register_panel(Person, Panel("tasks", _("Tasks"), "dispatch/_person_tasks.html", _person_tasks, order=90))
