"""Reads of door-to-door campaigns, always scoped: coverage, the households still to visit, the visits."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.http import Http404

from firstline.accounts.roles import Perm
from firstline.core.scoping import scope_of
from firstline.regions.models import Division, Grid, Household
from firstline.screening.models import Campaign, HouseholdVisit, VisitOutcome

# Aggregation levels of the coverage table, by the length of the division code they group on.
LEVELS_BY_LENGTH = {6: "county", 9: "township", 12: "village"}
REASON_NOT_VISITED = "not_visited"
REASON_NOBODY_HOME = "nobody_home"
REASONS = (REASON_NOT_VISITED, REASON_NOBODY_HOME)


def campaign_list(user: Any, *, active_on: datetime.date | None = None, division_code: str = "") -> QuerySet[Campaign]:
    """Campaigns the user sees (inside their jurisdiction and those of the divisions above them)."""
    campaigns = Campaign.objects.visible_to(user)
    if active_on is not None:
        campaigns = campaigns.filter(date_from__lte=active_on, date_to__gte=active_on)
    if division_code:
        campaigns = campaigns.filter(path__startswith=division_code)
    return campaigns.select_related("division", "created_by").order_by("-date_from", "-id")


def campaign_get_for_user(user: Any, pk: Any) -> Campaign:
    """The campaign if the user may see it; 404 for missing and out-of-scope alike."""
    try:
        return Campaign.objects.visible_to(user).select_related("division", "created_by").get(pk=int(pk))
    except (Campaign.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def campaign_editable_by(user: Any, campaign: Campaign) -> bool:
    """Managers edit campaigns of their own jurisdiction, not those of the divisions above them."""
    scope = scope_of(user)
    return scope.has(Perm.CAMPAIGN_MANAGE) and scope.covers_path(campaign.path)


def campaign_divisions(user: Any) -> QuerySet[Division]:
    """Divisions a campaign may be started over: those inside the user's own divisions (not merely visible)."""
    condition = Q()
    for prefix in scope_of(user).paths:
        if "-" not in prefix:
            condition |= Q(code__startswith=prefix)
    if not condition:
        return Division.objects.none()
    return Division.objects.visible_to(user).filter(condition).order_by("code")


def campaign_households(campaign: Campaign, user: Any) -> QuerySet[Household]:
    """Households of the campaign's division that the user sees."""
    return Household.objects.visible_to(user).filter(path__startswith=campaign.path)


def campaign_grids(campaign: Campaign, user: Any) -> QuerySet[Grid]:
    return Grid.objects.visible_to(user).filter(path__startswith=campaign.path).order_by("code")


def household_for_visit(campaign: Campaign, user: Any, pk: Any) -> Household:
    """A household of the campaign the user sees; 404 otherwise (another grid's household is not found)."""
    try:
        return campaign_households(campaign, user).select_related("grid").get(pk=int(pk))
    except (Household.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


@dataclass(frozen=True)
class CoverageRow:
    """Visits of one area of a campaign. ``level`` is campaign, county, township, village or grid."""

    level: str
    code: str
    name: str
    depth: int
    households: int
    visited: int
    nobody_home: int
    refused: int

    @property
    def not_visited(self) -> int:
        """Households with no visit recorded at all."""
        return self.households - self.visited - self.nobody_home - self.refused

    @property
    def to_visit(self) -> int:
        """Households still to go to: never visited, or nobody was home."""
        return self.not_visited + self.nobody_home

    @property
    def percent(self) -> float:
        """Covered = visited (nobody home and refused do not count)."""
        return round(100 * self.visited / self.households, 1) if self.households else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "code": self.code,
            "name": self.name,
            "households": self.households,
            "visited": self.visited,
            "nobody_home": self.nobody_home,
            "refused": self.refused,
            "not_visited": self.not_visited,
            "percent": self.percent,
        }


def campaign_coverage(campaign: Campaign, user: Any) -> list[CoverageRow]:
    """Coverage of the campaign in the user's part of it: the whole first, then each area in tree order.

    Two grouped counts (households per grid, visits per grid and outcome) and two name look-ups, whatever the
    number of households.
    """
    households = campaign_households(campaign, user)
    per_grid: dict[int, int] = {
        row["grid_id"]: row["n"] for row in households.order_by().values("grid_id").annotate(n=Count("id"))
    }
    outcomes: dict[int, dict[str, int]] = {}
    visits = (
        HouseholdVisit.objects.filter(campaign=campaign, household__in=households.values("pk"))
        .order_by()
        .values("household__grid_id", "outcome")
        .annotate(n=Count("id"))
    )
    for row in visits:
        outcomes.setdefault(row["household__grid_id"], {})[row["outcome"]] = row["n"]
    grids = list(Grid.objects.filter(pk__in=per_grid).only("id", "code", "name", "path").order_by("code"))
    lengths = [length for length in LEVELS_BY_LENGTH if length > len(campaign.path)]
    names: dict[str, str] = {campaign.path: campaign.division.name}
    area_codes = {grid.path[:length] for grid in grids for length in lengths}
    names.update(Division.objects.filter(code__in=area_codes).values_list("code", "name"))
    totals: dict[str, list[int]] = {}

    def add(code: str, figures: list[int]) -> None:
        current = totals.setdefault(code, [0, 0, 0, 0])
        for index, value in enumerate(figures):
            current[index] += value

    grid_rows: list[CoverageRow] = []
    for grid in grids:
        counts = outcomes.get(grid.pk, {})
        figures = [
            per_grid[grid.pk],
            counts.get(VisitOutcome.VISITED, 0),
            counts.get(VisitOutcome.NOBODY_HOME, 0),
            counts.get(VisitOutcome.REFUSED, 0),
        ]
        add(campaign.path, figures)
        for length in lengths:
            add(grid.path[:length], figures)
        grid_rows.append(CoverageRow("grid", grid.code, grid.name, len(lengths) + 1, *figures))
    total = totals.get(campaign.path, [0, 0, 0, 0])
    rows = [CoverageRow("campaign", campaign.path, names[campaign.path], 0, *total)]
    areas = [
        CoverageRow(LEVELS_BY_LENGTH[len(code)], code, names.get(code, code), lengths.index(len(code)) + 1, *figures)
        for code, figures in totals.items()
        if code != campaign.path
    ]
    rows.extend(sorted([*areas, *grid_rows], key=lambda row: row.code))
    return rows


def _visit_of_household(campaign: Campaign) -> QuerySet[HouseholdVisit]:
    return HouseholdVisit.objects.filter(campaign=campaign, household=OuterRef("pk"))


def _with_visit(households: QuerySet[Household], campaign: Campaign) -> QuerySet[Household]:
    visit = _visit_of_household(campaign)
    return households.annotate(
        visit_outcome=Subquery(visit.values("outcome")[:1]),
        visit_at=Subquery(visit.values("visited_at")[:1]),
    )


def unvisited_households(
    campaign: Campaign, user: Any, grid: Grid | None = None, *, area: str = "", reason: str = ""
) -> QuerySet[Household]:
    """Households still to visit: no visit recorded (``visit_outcome`` None) or nobody was home (``nobody_home``).

    ``area`` narrows to a division or grid code; ``reason`` to ``not_visited`` or ``nobody_home``. Households
    that refused are not listed: they were reached.
    """
    households = campaign_households(campaign, user)
    if grid is not None:
        households = households.filter(grid=grid)
    if area:
        households = households.filter(path__startswith=area)
    reached = HouseholdVisit.objects.filter(campaign=campaign).exclude(outcome=VisitOutcome.NOBODY_HOME)
    households = _with_visit(households.exclude(pk__in=reached.values("household_id")), campaign)
    if reason == REASON_NOT_VISITED:
        households = households.filter(Q(visit_outcome__isnull=True))
    elif reason == REASON_NOBODY_HOME:
        households = households.filter(Q(visit_outcome=VisitOutcome.NOBODY_HOME))
    return households.select_related("grid").order_by("code")


def round_households(campaign: Campaign, user: Any, grid: Grid, *, query: str = "") -> QuerySet[Household]:
    """A grid's households for the visiting round: not yet visited first, then nobody home, refused, visited."""
    households = _with_visit(campaign_households(campaign, user).filter(grid=grid), campaign)
    if query:
        households = households.filter(Q(address__contains=query) | Q(code__endswith=query))
    order = Case(
        When(visit_outcome__isnull=True, then=Value(0)),
        When(visit_outcome=VisitOutcome.NOBODY_HOME, then=Value(1)),
        When(visit_outcome=VisitOutcome.REFUSED, then=Value(2)),
        default=Value(3),
        output_field=IntegerField(),
    )
    return households.annotate(round_order=order).order_by("round_order", "code")


def next_unvisited(campaign: Campaign, user: Any, grid: Grid, *, after_code: str = "") -> Household | None:
    """The next household of the grid with no visit yet, after ``after_code`` in code order (wrapping round)."""
    visited = HouseholdVisit.objects.filter(campaign=campaign).values("household_id")
    candidates = campaign_households(campaign, user).filter(grid=grid).exclude(pk__in=visited).order_by("code")
    return candidates.filter(code__gt=after_code).first() or candidates.first()


def visit_list(campaign: Campaign, user: Any, *, outcome: str = "", area: str = "") -> QuerySet[HouseholdVisit]:
    """The campaign's visits the user sees, newest first."""
    visits = HouseholdVisit.objects.visible_to(user).filter(campaign=campaign)
    if outcome:
        visits = visits.filter(outcome=outcome)
    if area:
        visits = visits.filter(path__startswith=area)
    return visits.select_related("household__grid", "visited_by").order_by("-visited_at", "-id")
