"""The quarantine dashboard: occupancy per site, people under each measure per township, samplings due and overdue
today, releases due, lost to follow-up, today's alerts. Each figure carries the address of the list it counts.

Every figure is one grouped query over the user's visible rows on indexed columns (placement status, sampling status
and due day, health-check day and alert); nothing runs per site, township or person.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Count, Q
from django.db.models.functions import Substr
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from firstline.policy.models import MeasureType
from firstline.quarantine.models import (
    Placement,
    PlacementPhase,
    PlacementStatus,
    Sampling,
    SamplingStatus,
)
from firstline.quarantine.monitoring import selectors
from firstline.regions.models import TOWNSHIP_CODE_LENGTH, Division

# Measures that keep a person placed somewhere, in the dashboard's column order.
PLACED_MEASURES = (
    MeasureType.CENTRALISED_QUARANTINE,
    MeasureType.HOME_QUARANTINE,
    MeasureType.HOME_HEALTH_MONITORING,
)


def list_url(name: str, **params: Any) -> str:
    """The address of a list page with filters; "" when that page is not installed (the figure shows unlinked)."""
    try:
        base = reverse(name)
    except NoReverseMatch:
        return ""
    query = urlencode({key: value for key, value in params.items() if value not in (None, "")})
    return f"{base}?{query}" if query else base


@dataclass
class Figure:
    value: int
    url: str


@dataclass
class TownshipRow:
    code: str
    name: str
    figures: list[Figure] = field(default_factory=list)
    total: Figure = field(default_factory=lambda: Figure(0, ""))


def occupancy(user: Any, *, today: datetime.date) -> list[dict[str, Any]]:
    """Helper A's occupancy figures per site, each with the addresses of its lists."""
    from firstline.quarantine.sites import selectors as site_selectors

    rows = site_selectors.occupancy(user, today=today)
    for row in rows:
        pk = row["facility"].pk
        row["urls"] = {
            "board": _detail_url("quarantine:site_board", pk),
            "people": list_url("quarantine:placement_list", facility=pk, status=PlacementStatus.ACTIVE),
            "due": list_url("quarantine:placement_list", facility=pk, status=PlacementStatus.ACTIVE, due_by=today),
            "today": list_url("quarantine:today", facility=pk),
            "lost": list_url("quarantine:lost_list", facility=pk),
        }
    return rows


def _detail_url(name: str, pk: int) -> str:
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:
        return ""


def measure_type_of(phase: str, measure_type: str | None, follow_on_type: str | None) -> str:
    """The measure a placement is serving: the measure's own, or its follow-on in the follow-on phase."""
    if phase == PlacementPhase.FOLLOW_ON and follow_on_type:
        return follow_on_type
    return measure_type or ""


def measures_by_township(user: Any) -> tuple[list[TownshipRow], TownshipRow]:
    """Active placements by measure (columns ``PLACED_MEASURES``) × township of the person's home; one query."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    rows = (
        Placement.objects.visible_to(user)
        .filter(status=PlacementStatus.ACTIVE)
        .annotate(township=Substr("path", 1, TOWNSHIP_CODE_LENGTH))
        .values("township", "phase", "measure__measure_type", "measure__follow_on_type")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        kind = measure_type_of(row["phase"], row["measure__measure_type"], row["measure__follow_on_type"])
        counts[row["township"]][kind] += row["n"]
    names = dict(Division.objects.filter(code__in=list(counts)).values_list("code", "name"))
    result = []
    totals: dict[str, int] = defaultdict(int)
    for code in sorted(counts):
        township = TownshipRow(code=code, name=names.get(code, code))
        for kind in PLACED_MEASURES:
            township.figures.append(Figure(counts[code][kind], _placements_url(grid=code, measure=kind)))
            totals[kind] += counts[code][kind]
        township.total = Figure(sum(counts[code].values()), _placements_url(grid=code))
        result.append(township)
    total_row = TownshipRow(code="", name="")
    total_row.figures = [Figure(totals[kind], _placements_url(measure=kind)) for kind in PLACED_MEASURES]
    total_row.total = Figure(sum(sum(c.values()) for c in counts.values()), _placements_url())
    return result, total_row


def _placements_url(**params: Any) -> str:
    return list_url("quarantine:placement_list", status=PlacementStatus.ACTIVE, **params)


@dataclass
class TodayFigures:
    samplings_due: Figure
    samplings_overdue: Figure
    releases_due: Figure
    releases_overdue: Figure
    lost: Figure
    alerts: Figure
    checks: Figure


def today_figures(user: Any, *, today: datetime.date) -> TodayFigures:
    """Samplings due / overdue, releases due today / overdue, lost to follow-up, today's alerts and checks."""
    from firstline.quarantine.testing.selectors import overdue_q

    samplings = (Sampling.objects.visible_to(user) | selectors.team_samplings(user)).aggregate(
        due=Count("id", filter=Q(status=SamplingStatus.SCHEDULED, due_date=today)),
        overdue=Count("id", filter=overdue_q(today)),
    )
    placements = (
        Placement.objects.visible_to(user)
        .filter(status=PlacementStatus.ACTIVE)
        .aggregate(
            due=Count("id", filter=Q(due_date=today)),
            overdue=Count("id", filter=Q(due_date__lt=today)),
            lost=Count("id", filter=Q(lost_since__isnull=False)),
        )
    )
    checks = (
        selectors.checks_visible_to(user)
        .filter(day=today)
        .aggregate(alerts=Count("id", filter=Q(alert=True)), checks=Count("id"))
    )
    yesterday = today - datetime.timedelta(days=1)
    return TodayFigures(
        samplings_due=Figure(
            samplings["due"], list_url("quarantine:sampling_list", day=today, status=SamplingStatus.SCHEDULED)
        ),
        samplings_overdue=Figure(samplings["overdue"], list_url("quarantine:sampling_list", overdue=1)),
        releases_due=Figure(placements["due"], _placements_url(due=today)),
        releases_overdue=Figure(placements["overdue"], _placements_url(due_by=yesterday)),
        lost=Figure(placements["lost"], list_url("quarantine:lost_list")),
        alerts=Figure(checks["alerts"], list_url("quarantine:check_list", day=today, alert=1)),
        checks=Figure(checks["checks"], list_url("quarantine:check_list", day=today)),
    )


def dashboard(user: Any, *, today: datetime.date | None = None) -> dict[str, Any]:
    today = today or timezone.localdate()
    townships, township_total = measures_by_township(user)
    return {
        "today": today,
        "sites": occupancy(user, today=today),
        "townships": townships,
        "township_total": township_total,
        "measures": [MeasureType(kind) for kind in PLACED_MEASURES],
        "figures": today_figures(user, today=today),
        "slot_times": settings.HEALTH_CHECK_TIMES,
    }
