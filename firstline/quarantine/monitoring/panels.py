"""What health monitoring adds to lower apps' pages: the person page's "Daily health checks" section (the last
checks, lost to follow-up, the self-report link; the placements and tests have their own sections from
``sites.panels`` and ``testing.panels``) and the home page's "my people today" / quarantine figures block.
Registered from ``register()`` (called once at start-up, from the quarantine app's wiring)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from firstline.accounts.roles import Perm
from firstline.core.panels import HomeBlock, Panel, register_home_block, register_panel
from firstline.core.scoping import scope_of
from firstline.people.models import Person
from firstline.quarantine.models import Placement, PlacementKind, PlacementStatus
from firstline.quarantine.monitoring import followup, selectors, selfreport

PANEL_CHECKS = 8


def person_context(request: HttpRequest, person: Person) -> dict[str, Any]:
    """Three queries: the active placement, the last checks, whether that placement is the user's to check.

    The placements and the tests have their own sections (``sites.panels``, ``testing.panels``)."""
    user = request.user
    active = (
        Placement.objects.visible_to(user)
        .filter(person=person, status=PlacementStatus.ACTIVE)
        .select_related("facility", "room")
        .first()
    )
    checks = list(selectors.checks_visible_to(user).filter(person=person).order_by("-day", "-slot")[:PANEL_CHECKS])
    link = ""
    if (
        active is not None
        and active.kind == PlacementKind.HOME
        and scope_of(user).has(Perm.HEALTH_CHECK_RECORD)
        and selectors.placements_for_checks(user).filter(pk=active.pk).exists()
    ):
        link = selfreport.url_for(request, active)
    return {
        "person": person,
        "active": active,
        "checks": checks,
        "self_report_url": link,
        "slot_times": settings.HEALTH_CHECK_TIMES,
        "missed_limit": settings.HEALTH_CHECK_MISSED_LIMIT,
    }


def home_context(request: HttpRequest) -> dict[str, Any] | None:
    """A grid worker's or site's "my people today" figures; for officers, the quarantine figures of their area."""
    user = request.user
    scope = scope_of(user)
    if scope.has(Perm.HEALTH_CHECK_RECORD) and (scope.grid_codes or "site_staff" in scope.roles):
        summary = followup.summarise(followup.today_list(user))
        if summary.people:
            return {"mode": "today", "summary": summary}
    if scope.has(Perm.PLACEMENT_MANAGE) or scope.has(Perm.CITY_SUMMARY):
        today = timezone.localdate()
        figures = (
            Placement.objects.visible_to(user)
            .filter(status=PlacementStatus.ACTIVE)
            .aggregate(
                people=Count("id"),
                releases=Count("id", filter=Q(due_date__lte=today)),
                lost=Count("id", filter=Q(lost_since__isnull=False)),
            )
        )
        alerts = selectors.checks_visible_to(user).filter(day=today, alert=True).count()
        if figures["people"] or alerts:
            return {"mode": "area", "figures": figures, "alerts": alerts, "today": today}
    return None


def register() -> None:
    """Called once at start-up (the quarantine app's wiring)."""
    register_panel(
        Person,
        Panel(
            key="monitoring",
            title=_("Daily health checks"),
            template="quarantine/monitoring/_person_panel.html",
            context=person_context,
            order=34,
        ),
    )
    register_home_block(
        HomeBlock(key="quarantine", template="quarantine/monitoring/_home_block.html", context=home_context, order=40)
    )
