"""What frontline care adds to lower apps' pages: the person page's "Frontline care" section (their frontline post
and the care requests about them) and the home page's care block (my requests waiting for my confirmation; the
queue's open and overdue figures for handlers). Registered from ``register()`` (called once at start-up)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from firstline.accounts.roles import Perm
from firstline.community.care import selectors
from firstline.community.models import OPEN_CARE_STATUSES, CareRequest, CareStatus, FrontlineWorker
from firstline.core.panels import HomeBlock, Panel, register_home_block, register_panel
from firstline.core.scoping import scope_of
from firstline.people.models import Person

PANEL_REQUESTS = 10


def person_context(request: HttpRequest, person: Person) -> dict[str, Any]:
    """Two queries: the person's frontline row (if the viewer sees it) and their recent care requests."""
    user = request.user
    scope = scope_of(user)
    worker = FrontlineWorker.objects.visible_to(user).filter(person=person).first()
    requests: list[CareRequest] = []
    if scope.has(Perm.CARE_HANDLE) or scope.has(Perm.CARE_FILE):
        requests = list(
            selectors.care_visible_to(user).filter(person=person).order_by("-created_at", "-id")[:PANEL_REQUESTS]
        )
    now = timezone.now()
    return {
        "person": person,
        "worker": worker,
        "rows": [{"care": care, "overdue": selectors.is_overdue(care, now)} for care in requests],
        "can_flag": scope.has(Perm.FRONTLINE_MANAGE),
    }


def home_context(request: HttpRequest) -> dict[str, Any] | None:
    """Requests waiting for the user's confirmation; for handlers, the queue's open and overdue figures."""
    user = request.user
    scope = scope_of(user)
    if not (scope.has(Perm.CARE_FILE) or scope.has(Perm.CARE_HANDLE)):
        return None
    to_confirm = selectors.care_mine(user).filter(status=CareStatus.HANDLED).count()
    figures: dict[str, int] = {}
    if scope.has(Perm.CARE_HANDLE) and scope.paths:
        figures = CareRequest.objects.visible_to(user).aggregate(
            open=Count("id", filter=Q(status__in=OPEN_CARE_STATUSES)),
            overdue=Count("id", filter=Q(status__in=OPEN_CARE_STATUSES, due_at__lt=timezone.now())),
        )
    if not to_confirm and not figures:
        return None
    return {"to_confirm": to_confirm, "figures": figures}


def register() -> None:
    """Called once at start-up (community wiring)."""
    register_panel(
        Person,
        Panel(
            key="frontline_care",
            title=_("Frontline care"),
            template="community/care/_person_panel.html",
            context=person_context,
            order=60,
        ),
    )
    register_home_block(
        HomeBlock(key="frontline_care", template="community/care/_home_block.html", context=home_context, order=60)
    )
