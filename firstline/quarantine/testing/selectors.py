"""Reads of testing: samplings the user may see (``Sampling.objects.visible_to``), filtered lists, what is due.

A sampling is visible to the person's home jurisdiction, to the division hosting the site, to the staff of that
site, and to the department sampling team sent for it. "Overdue" is a scheduled sampling whose day has passed, or
one already flagged missed.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from firstline.accounts.models import Department
from firstline.quarantine.models import Facility, Placement, PlacementKind, PlacementStatus, Sampling, SamplingStatus
from firstline.regions.models import Grid
from firstline.screening.models import ImportJob, ImportKind

# Filter values of the list's "view" (the due-today and overdue pages are the list with one of these).
VIEW_DUE = "due"
VIEW_OVERDUE = "overdue"
PENDING = "pending"  # result filter: taken, no result yet


def samplings_visible_to(user: Any) -> QuerySet[Sampling]:
    """``Sampling.objects.visible_to`` (a department's sampling team sees the samplings it is sent to through the
    visibility rule ``quarantine.wiring`` registers)."""
    return Sampling.objects.visible_to(user).select_related(
        "person", "facility", "placement", "placement__grid", "team", "case"
    )


def sampling_get_for_user(user: Any, pk: Any) -> Sampling:
    """The sampling if the user may see it; 404 for missing and out-of-scope alike."""
    try:
        return samplings_visible_to(user).select_related("sampler", "measure").get(pk=int(pk))
    except (Sampling.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def _pk(value: Any) -> Any:
    return getattr(value, "pk", value)


def overdue_q(today: datetime.date) -> Q:
    return Q(status=SamplingStatus.SCHEDULED, due_date__lt=today) | Q(status=SamplingStatus.MISSED)


def due_q(day: datetime.date) -> Q:
    """To be taken on ``day``: due that day and not taken, or earlier and still not taken while still placed."""
    return Q(due_date=day, status=SamplingStatus.SCHEDULED) | Q(
        due_date__lt=day,
        status__in=[SamplingStatus.SCHEDULED, SamplingStatus.MISSED],
        placement__status=PlacementStatus.ACTIVE,
    )


def day_q(day: datetime.date) -> Q:
    """Due that day, or (unscheduled) taken that day."""
    return Q(due_date=day) | Q(due_date__isnull=True, sampled_at__date=day)


def grid_q(grid: Grid) -> Q:
    """Samplings a grid takes: its home placements, and its residents who are not placed anywhere."""
    return Q(placement__kind=PlacementKind.HOME, placement__grid=grid) | Q(
        placement__isnull=True, path__startswith=grid.path
    )


def sampling_list(user: Any, *, filters: Mapping[str, Any] | None = None, today: datetime.date) -> QuerySet[Sampling]:
    """Visible samplings: ``site`` (facility id), ``grid`` (Grid), ``day`` (due that day, or taken that day when
    unscheduled), ``status``, ``result`` (a result value or "pending"), ``overdue`` (bool), ``view`` ("due":
    due today and not yet taken; "overdue"), ``person`` (id)."""
    filters = filters or {}
    samplings = samplings_visible_to(user)
    if filters.get("site"):
        samplings = samplings.filter(facility_id=_pk(filters["site"]))
    if filters.get("grid"):
        samplings = samplings.filter(grid_q(filters["grid"]))
    if filters.get("day"):
        samplings = samplings.filter(day_q(filters["day"]))
    if filters.get("status"):
        samplings = samplings.filter(status=filters["status"])
    result = filters.get("result")
    if result == PENDING:
        samplings = samplings.filter(status=SamplingStatus.SAMPLED, result="")
    elif result:
        samplings = samplings.filter(result=result)
    if filters.get("overdue"):
        samplings = samplings.filter(overdue_q(today))
    if filters.get("person"):
        samplings = samplings.filter(person_id=_pk(filters["person"]))
    view = filters.get("view")
    if view == VIEW_DUE:
        samplings = samplings.filter(status=SamplingStatus.SCHEDULED, due_date=today)
    elif view == VIEW_OVERDUE:
        samplings = samplings.filter(overdue_q(today))
    return samplings.order_by("due_date", "sampled_at", "id")


def samplings_due(
    user: Any,
    *,
    day: datetime.date,
    grid: Grid | int | None = None,
    facility: Facility | int | None = None,
    department: Department | int | None = None,
) -> QuerySet[Sampling]:
    """Who is to be sampled on ``day`` (follow-up lists): samplings due that day not yet taken, and earlier ones
    still not taken (scheduled or missed) while the person is still placed. Optionally only a grid's (its home
    placements and unplaced residents), a site's, or a department team's."""
    samplings = samplings_visible_to(user).filter(due_q(day))
    if grid is not None:
        grid_obj = grid if isinstance(grid, Grid) else Grid.objects.get(pk=grid)
        samplings = samplings.filter(grid_q(grid_obj))
    if facility is not None:
        samplings = samplings.filter(facility_id=_pk(facility))
    if department is not None:
        samplings = samplings.filter(team_id=_pk(department))
    return samplings.order_by("due_date", "person__name", "id")


def placement_samplings(user: Any, placement: Placement) -> QuerySet[Sampling]:
    """A placement's samplings, in calendar order (the placement page's test schedule)."""
    return samplings_visible_to(user).filter(placement=placement).order_by("due_date", "sampled_at", "id")


def person_samplings(user: Any, person_id: int, *, limit: int = 30) -> list[Sampling]:
    """The person page's test history, newest first."""
    rows = samplings_visible_to(user).filter(person_id=person_id).order_by("-due_date", "-sampled_at", "-id")
    return list(rows[:limit])


def result_imports(user: Any, *, status: str = "") -> QuerySet[ImportJob]:
    """Lab-result imports the user may see (their own and those uploaded inside their jurisdiction)."""
    jobs = (
        ImportJob.objects.visible_to(user)
        .filter(kind=ImportKind.LAB_RESULTS)
        .select_related("uploaded_by")
        .order_by("-created_at", "-id")
    )
    return jobs.filter(status=status) if status else jobs
