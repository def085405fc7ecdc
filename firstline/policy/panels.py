"""The person page's "Measures" section (people never imports policy; policy registers it here)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from firstline.core.panels import Panel, register_panel
from firstline.people.models import Person
from firstline.policy import explain, selectors

PANEL_LIMIT = 20


def _person_measures(request: HttpRequest, person: Any) -> dict[str, Any]:
    today = timezone.localdate()
    measures = selectors.measures_for_person(request.user, person.pk).order_by("-start", "-id")[:PANEL_LIMIT]
    return {
        "person": person,
        "measures": [
            {
                "measure": measure,
                "next_test": explain.next_test_date(measure, today=today),
                "text": explain.explanation_text(measure.explanation),
            }
            for measure in measures
        ],
    }


def register() -> None:
    register_panel(Person, Panel("measures", _("Measures"), "policy/_person_measures.html", _person_measures, order=20))
