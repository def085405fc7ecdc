"""Reads on the risk-area list, always through ``RiskArea.objects.visible_to`` (every signed-in user)."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from firstline.riskareas.models import RiskArea, RiskAreaPeriod

STATUS_IN_FORCE = "open"
STATUS_LIFTED = "lifted"


def in_force_on_q(day: datetime.date) -> Q:
    """Listed on ``day`` at any level: from the first listing (``effective_from`` moves with level changes)."""
    return Q(first_listed_on__lte=day) & (Q(lifted_at__isnull=True) | Q(lifted_at__gt=day))


def risk_area_search_q(query: str) -> Q:
    """Text search: part of the place, the scope or the notice; digits also match a division-code prefix."""
    text = " ".join(query.split())
    if not text:
        return Q()
    condition = Q(place__icontains=text) | Q(scope_text__icontains=text) | Q(source_notice__icontains=text)
    if text.isdigit():
        condition |= Q(division_code__startswith=text)
    return condition


def risk_area_list(
    *,
    user: Any,
    query: str = "",
    level: str = "",
    in_force_on: datetime.date | None = None,
    status: str = "",
    needs_review: bool | None = None,
    with_periods: bool = False,
) -> QuerySet[RiskArea]:
    """Areas the user may see, filtered; ``status`` is "open" (not lifted) or "lifted"."""
    areas = RiskArea.objects.visible_to(user)
    if level:
        areas = areas.filter(level=level)
    if in_force_on is not None:
        areas = areas.filter(in_force_on_q(in_force_on))
    if status == STATUS_IN_FORCE:
        areas = areas.filter(lifted_at__isnull=True)
    elif status == STATUS_LIFTED:
        areas = areas.filter(lifted_at__isnull=False)
    if needs_review is not None:
        areas = areas.filter(needs_review=needs_review)
    if query.strip():
        areas = areas.filter(risk_area_search_q(query))
    if with_periods:
        areas = areas.prefetch_related(
            Prefetch("periods", queryset=RiskAreaPeriod.objects.order_by("valid_from", "id"))
        )
    return areas.order_by("-effective_from", "place", "id")


def risk_area_get_for_user(user: Any, pk: Any, *, write: bool = False) -> RiskArea:
    """The area if the user may see it; 404 for missing and out-of-scope alike."""
    try:
        queryset = RiskArea.objects.visible_to(user).select_related("created_by")
        if write:
            queryset = queryset.select_for_update()
        return queryset.get(pk=int(pk))
    except (RiskArea.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def risk_area_periods(area: RiskArea) -> list[RiskAreaPeriod]:
    """The area's level history, oldest first."""
    return list(area.periods.order_by("valid_from", "id"))
