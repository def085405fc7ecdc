"""The person page's "Tests" section: the person's samplings with their results (and the case a positive made),
and a link to record an unscheduled sampling. Registered from ``quarantine.wiring`` (people never imports us)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from firstline.accounts.roles import Perm
from firstline.core.panels import Panel, register_panel
from firstline.core.scoping import scope_of
from firstline.people.models import Person
from firstline.quarantine.testing import selectors

PANEL_ROWS = 20


def _context(request: HttpRequest, person: Person) -> dict[str, Any]:
    return {
        "person": person,
        "samplings": selectors.person_samplings(request.user, person.pk, limit=PANEL_ROWS),
        "limit": PANEL_ROWS,
        "can_record": scope_of(request.user).has(Perm.SAMPLING_RECORD),
    }


def register() -> None:
    register_panel(
        Person,
        Panel(
            key="testing",
            title=_("Tests"),
            template="quarantine/testing/_person_samplings.html",
            context=_context,
            order=32,
        ),
    )
