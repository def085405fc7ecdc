"""The arrivals section of the person page (people cannot import screening: the panel is registered from here)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from firstline.core.panels import Panel, register_panel
from firstline.people.models import Person
from firstline.screening import selectors

MAX_ROWS = 50


def _context(request: HttpRequest, person: Person) -> dict[str, Any]:
    return {"arrivals": list(selectors.arrivals_of_person(request.user, person)[:MAX_ROWS]), "person": person}


def register() -> None:
    """Called from ScreeningConfig.ready."""
    register_panel(
        Person,
        Panel(
            key="arrivals", title=_("Arrivals"), template="screening/_person_arrivals.html", context=_context, order=30
        ),
    )
