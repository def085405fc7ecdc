from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from firstline.core.scoping import scope_of
from firstline.regions.models import Division, Grid, Household


def division_roots(user: Any) -> QuerySet[Division]:
    """The top divisions of the user's scope (their membership divisions, or the divisions above their grids)."""
    scope = scope_of(user)
    codes = {path.split("-")[0] for path in scope.paths}
    return Division.objects.filter(code__in=codes).order_by("code")


def division_get_for_user(user: Any, code: str) -> Division:
    """A division the user may see (``Division.objects.visible_to``); 404 otherwise."""
    try:
        return Division.objects.visible_to(user).select_related("parent").get(code=code)
    except Division.DoesNotExist as exc:
        raise Http404 from exc


def grid_get_for_user(user: Any, code: str) -> Grid:
    try:
        return Grid.objects.visible_to(user).select_related("division__parent", "leader").get(code=code)
    except Grid.DoesNotExist as exc:
        raise Http404 from exc


def household_get_for_user(user: Any, pk: Any) -> Household:
    try:
        return (
            Household.objects.visible_to(user)
            .select_related("grid__division", "responsible", "building")
            .get(pk=int(pk))
        )
    except (Household.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def grid_households(grid: Grid, *, user: Any) -> QuerySet[Household]:
    return (
        Household.objects.visible_to(user)
        .filter(grid=grid)
        .select_related("responsible", "building")
        .annotate(member_count=Count("members", filter=Q(members__merged_into__isnull=True)))
        .order_by("code")
    )


def grid_team(grid: Grid) -> QuerySet[Any]:
    """Users holding an active role in this grid (leader, workers, volunteers)."""
    return (
        get_user_model()
        .objects.filter(memberships__grid=grid, memberships__active=True, is_active=True)
        .distinct()
        .order_by("username")
    )


def responsible_candidates(grid: Grid) -> QuerySet[Any]:
    """Who may cover households of a grid: its team and the cadres of its village and township (分片包干)."""
    code = grid.division_id
    paths = [grid.path, code, code[:9]]
    return (
        get_user_model()
        .objects.filter(memberships__path__in=paths, memberships__active=True, is_active=True)
        .distinct()
        .order_by("username")
    )


def grid_coverage(grid: Grid, *, user: Any) -> dict[str, Any]:
    households = Household.objects.visible_to(user).filter(grid=grid)
    totals = households.aggregate(total=Count("id"), covered=Count("id", filter=Q(responsible__isnull=False)))
    by_person = (
        households.exclude(responsible=None)
        .values("responsible", "responsible__username", "responsible__display_name")
        .annotate(n=Count("id"))
        .order_by("-n", "responsible__username")
    )
    total = totals["total"] or 0
    covered = totals["covered"] or 0
    return {
        "total": total,
        "covered": covered,
        "uncovered": total - covered,
        "percent": round(100 * covered / total, 1) if total else 0.0,
        "by_person": list(by_person),
    }
