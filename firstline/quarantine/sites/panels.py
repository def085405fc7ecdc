"""The person page's "Quarantine" section: where the person is placed (and was), and the link to place them
(people never imports quarantine: the panel is registered from here; ``register`` is called from the app's wiring)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from firstline.accounts.roles import Perm
from firstline.core.panels import Panel, register_panel
from firstline.core.scoping import scope_of
from firstline.people.models import Person
from firstline.quarantine.models import Placement, PlacementStatus

PANEL_ROWS = 10


def _context(request: HttpRequest, person: Person) -> dict[str, Any]:
    placements = list(
        Placement.objects.visible_to(request.user)
        .filter(person=person)
        .select_related("facility", "room")
        .order_by("-start_at", "-id")[:PANEL_ROWS]
    )
    return {
        "person": person,
        "placements": placements,
        "active": next((p for p in placements if p.status == PlacementStatus.ACTIVE), None),
        "can_place": scope_of(request.user).has(Perm.PLACEMENT_MANAGE),
    }


def register() -> None:
    register_panel(
        Person,
        Panel(
            key="quarantine",
            title=_("Quarantine"),
            template="quarantine/sites/_person_placements.html",
            context=_context,
            order=30,
        ),
    )
