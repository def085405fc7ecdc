"""The person page's "Tracing" section: the person's cases, contact status with its measure and why, and the
exposures they caused and suffered (people never imports tracing: the panel is registered from here)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from firstline.accounts.roles import Perm
from firstline.core.panels import Panel, register_panel
from firstline.core.scoping import scope_of
from firstline.people.models import Person
from firstline.tracing import pages_support


def _context(request: HttpRequest, person: Person) -> dict[str, Any]:
    context = pages_support.person_tracing(request.user, person)
    context.update(
        person=person,
        limit=pages_support.PANEL_ROWS,
        can_edit=scope_of(request.user).has(Perm.TRACE_EDIT),
        open_case=any(case.is_active for case in context["cases"]),
    )
    return context


def register() -> None:
    """Called from TracingConfig.ready."""
    register_panel(
        Person,
        Panel(
            key="tracing",
            title=_("Case and contact tracing"),
            template="tracing/_person_tracing.html",
            context=_context,
            order=25,
        ),
    )
