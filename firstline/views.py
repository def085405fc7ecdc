"""Project-level pages that combine several apps: the home page per role."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.db.models.functions import Substr
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from firstline.accounts.roles import Perm
from firstline.core.panels import render_home_blocks
from firstline.core.scoping import scope_of
from firstline.dispatch.models import OPEN_STATUSES, Task
from firstline.dispatch.selectors import task_inbox
from firstline.regions import selectors as region_selectors
from firstline.regions.models import Division, Grid
from firstline.regions.stats import counters, division_counts


def _task_counts_by_prefix(user: Any, codes: list[str]) -> dict[str, dict[str, int]]:
    """Open and overdue tasks per division, one grouped query per code length."""
    now = timezone.now()
    result: dict[str, dict[str, int]] = {code: {"open": 0, "overdue": 0} for code in codes}
    for length in {len(code) for code in codes}:
        rows = (
            Task.objects.visible_to(user)
            .filter(status__in=OPEN_STATUSES)
            .annotate(prefix=Substr("path", 1, length))
            .filter(prefix__in=[c for c in codes if len(c) == length])
            .values("prefix")
            .annotate(open=Count("id"), overdue=Count("id", filter=Q(due_at__lt=now)))
            .order_by()
        )
        for row in rows:
            result[row["prefix"]] = {"open": row["open"], "overdue": row["overdue"]}
    return result


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    scope = scope_of(user)
    context: dict[str, Any] = {"nav_active": "home", "counters": counters()}
    context["my_tasks"] = list(task_inbox(user=user, box="mine")[:10]) if scope.has(Perm.TASK_VIEW) else []
    context["my_open"] = task_inbox(user=user, box="mine").count() if scope.has(Perm.TASK_VIEW) else 0
    context["my_overdue"] = task_inbox(user=user, box="mine", overdue=True).count() if scope.has(Perm.TASK_VIEW) else 0
    grid_paths = [p for p in scope.paths if "-G" in p]
    grids = list(Grid.objects.visible_to(user).filter(path__in=grid_paths).select_related("division"))
    context["grids"] = [(grid, region_selectors.grid_coverage(grid, user=user)) for grid in grids]
    if grids:
        context["grid_counts"] = division_counts(user=user, codes=[g.path for g in grids])
    if scope.has(Perm.CITY_SUMMARY) and scope.covers_path(settings.FIRSTLINE_CITY_CODE):
        townships = list(Division.objects.filter(parent_id=settings.FIRSTLINE_CITY_CODE).order_by("code"))
        codes = [t.code for t in townships]
        context["townships"] = townships
        context["township_counts"] = division_counts(user=user, codes=[*codes, settings.FIRSTLINE_CITY_CODE])
        context["township_tasks"] = _task_counts_by_prefix(user, [*codes, settings.FIRSTLINE_CITY_CODE])
        context["city"] = Division.objects.filter(code=settings.FIRSTLINE_CITY_CODE).first()
    else:
        roots = list(region_selectors.division_roots(user).exclude(code__in=[g.division_id for g in grids]))
        context["roots"] = roots
        context["root_counts"] = division_counts(user=user, codes=[r.code for r in roots]) if roots else {}
    context["home_blocks"] = render_home_blocks(request)
    return render(request, "home.html", context)
