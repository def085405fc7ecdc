"""Reads of daily health checks and of the placements a user checks, always scoped.

Who records a person's checks: for a home placement, whoever sees the person's home (the grid, the village, the
township); for a placement at a site, the site's staff and the officers of the division hosting the site. A grid
worker sees the residents of their grid wherever they are placed, but a resident in a site is checked by the site,
so that placement is not theirs to record (404, as if it did not exist).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from firstline.accounts.models import Department
from firstline.core.scoping import Scope, scope_of
from firstline.quarantine.models import (
    FacilityStaff,
    HealthCheck,
    Placement,
    PlacementKind,
    PlacementStatus,
    Sampling,
    SamplingStatus,
)
from firstline.regions.models import Division, ancestor_codes


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def my_site_ids(scope: Scope) -> Any:
    """The sites a site-staff user works at (a subquery of facility ids)."""
    if scope.user_id is None:
        return FacilityStaff.objects.none().values("facility_id")
    return FacilityStaff.objects.filter(user_id=scope.user_id, active=True).values("facility_id")


def _checkable_q(scope: Scope) -> Q:
    condition = Q(kind=PlacementKind.HOME)
    for prefix in scope.paths:
        condition |= Q(site_path__startswith=prefix)
    if scope.user_id is not None and "site_staff" in scope.roles:
        condition |= Q(facility_id__in=my_site_ids(scope))
    return condition


def placements_for_checks(user: Any) -> QuerySet[Placement]:
    """Placements whose health checks the user may see and record."""
    return Placement.objects.visible_to(user).filter(_checkable_q(scope_of(user)))


def placement_get_for_checks(user: Any, pk: Any) -> Placement:
    """One placement the user records checks for; 404 for missing and out-of-scope alike."""
    try:
        return (
            placements_for_checks(user)
            .select_related("person", "facility", "room", "room__floor", "grid", "measure")
            .get(pk=int(pk))
        )
    except (Placement.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def checks_visible_to(user: Any) -> QuerySet[HealthCheck]:
    """Health checks of the placements the user records checks for."""
    return HealthCheck.objects.visible_to(user).filter(placement__in=placements_for_checks(user).values("pk"))


def check_get_for_user(user: Any, pk: Any) -> HealthCheck:
    try:
        return checks_visible_to(user).select_related("placement", "person").get(pk=int(pk))
    except (HealthCheck.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def check_list(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[HealthCheck]:
    """Health checks the user may see, newest first. ``filters``: ``day`` / ``day_from`` / ``day_to`` (dates),
    ``alert`` (truthy: alerts only), ``placement`` / ``person`` / ``facility`` (ids), ``grid`` (grid code of a home
    placement), ``township`` or ``division`` (code prefix of the person's home), ``source``."""
    filters = filters or {}
    checks = checks_visible_to(user)
    if filters.get("day"):
        checks = checks.filter(day=filters["day"])
    if filters.get("day_from"):
        checks = checks.filter(day__gte=filters["day_from"])
    if filters.get("day_to"):
        checks = checks.filter(day__lte=filters["day_to"])
    if filters.get("alert") in (True, "1", "true", "yes", "on"):
        checks = checks.filter(alert=True)
    for name, field in (("placement", "placement_id"), ("person", "person_id"), ("facility", "facility_id")):
        value = _int(filters.get(name))
        if value is not None:
            checks = checks.filter(**{field: value})
    if filters.get("grid"):
        checks = checks.filter(placement__grid__code=str(filters["grid"]).strip())
    for name in ("township", "division"):
        if filters.get(name):
            checks = checks.filter(path__startswith=str(filters[name]).strip())
    if filters.get("source"):
        checks = checks.filter(source=filters["source"])
    return checks.select_related("person", "placement", "placement__room", "facility", "recorded_by").order_by(
        "-day", "-slot", "-at", "-id"
    )


def lost_list(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[Placement]:
    """Active placements lost to follow-up that the user may see, longest lost first. ``filters``: ``facility``
    (id), ``grid`` (code), ``township`` / ``division`` (code prefix of the person's home), ``kind``."""
    filters = filters or {}
    placements = Placement.objects.visible_to(user).filter(status=PlacementStatus.ACTIVE, lost_since__isnull=False)
    facility = _int(filters.get("facility"))
    if facility is not None:
        placements = placements.filter(facility_id=facility)
    if filters.get("grid"):
        placements = placements.filter(grid__code=str(filters["grid"]).strip())
    for name in ("township", "division"):
        if filters.get(name):
            placements = placements.filter(path__startswith=str(filters[name]).strip())
    if filters.get("kind"):
        placements = placements.filter(kind=filters["kind"])
    return placements.select_related("person", "facility", "room", "grid", "responsible").order_by("lost_since", "id")


def team_samplings(user: Any) -> QuerySet[Sampling]:
    """Samplings assigned to the user's departments as sampling team (``Sampling.team``).

    The sampling queryset's ``visible_to`` knows paths and sites, not teams: a department has no jurisdiction
    path, so the team's own assignments are read here, by the team ids of the user's own memberships.
    """
    scope = scope_of(user)
    if not scope.department_ids:
        return Sampling.objects.none()
    return Sampling.objects.filter(team_id__in=scope.department_ids)


def teams_for_filter(user: Any) -> QuerySet[Department]:
    """Sampling teams whose list the user may open: their own departments; for officers, the departments serving
    their divisions (a city department serves every township in it) or divisions below them."""
    scope = scope_of(user)
    teams = Department.objects.filter(pk__in=scope.department_ids)
    if scope.paths:
        above = {code for path in scope.paths for code in ancestor_codes(path)}
        below = Division.objects.visible_to(user).values("pk")
        teams = teams | Department.objects.filter(Q(division_id__in=sorted(above)) | Q(division_id__in=below))
    return teams


def samplings_due(
    user: Any,
    *,
    day: datetime.date,
    grid: Any = None,
    facility: Any = None,
    department: Any = None,
) -> QuerySet[Sampling]:
    """Scheduled samplings due on ``day`` or before (not yet sampled) that the user may see, filtered by the grid
    watching a home placement, the site, or the sampling team."""
    samplings = Sampling.objects.visible_to(user) | team_samplings(user)
    samplings = samplings.filter(status=SamplingStatus.SCHEDULED, due_date__lte=day)
    if grid is not None:
        samplings = samplings.filter(placement__grid=grid, placement__kind=PlacementKind.HOME)
    if facility is not None:
        samplings = samplings.filter(facility=facility)
    if department is not None:
        samplings = samplings.filter(team=department)
    return samplings.select_related("person", "person__household", "placement", "facility", "team").order_by(
        "due_date", "id"
    )
