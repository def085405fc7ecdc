from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from firstline.core import audit
from firstline.core.concurrency import StaleVersionError
from firstline.core.exports import FORMATS, export_response
from firstline.core.pii import sees_full_pii
from firstline.core.scoping import scope_of
from firstline.regions import selectors, services
from firstline.regions.models import Division, Grid
from firstline.regions.stats import counters, division_counts


@login_required
def division_tree(request: HttpRequest) -> HttpResponse:
    roots = list(selectors.division_roots(request.user))
    # Two levels below each root are drawn (township → village); deeper levels open on their own page.
    children = list(Division.objects.filter(parent__in=roots).order_by("code"))
    grandchildren = list(Division.objects.filter(parent__in=children).order_by("code"))
    nodes = roots + children + grandchildren
    counts = division_counts(user=request.user, codes=[d.code for d in nodes])
    by_parent: dict[str, list[Division]] = {}
    for division in children + grandchildren:
        by_parent.setdefault(division.parent_id or "", []).append(division)
    grid_roots = [p for p in scope_of(request.user).paths if "-" in p]
    return render(
        request,
        "regions/tree.html",
        {
            "roots": roots,
            "by_parent": by_parent,
            "counts": counts,
            "counters": counters(),
            "grid_roots": Grid.objects.visible_to(request.user).filter(path__in=grid_roots),
            "nav_active": "regions",
        },
    )


@login_required
def division_detail(request: HttpRequest, code: str) -> HttpResponse:
    division = selectors.division_get_for_user(request.user, code)
    children = list(Division.objects.filter(parent=division).order_by("code"))
    grids = list(Grid.objects.visible_to(request.user).filter(division=division).select_related("leader"))
    counts = division_counts(user=request.user, codes=[division.code, *[c.code for c in children]])
    grid_counts = division_counts(user=request.user, codes=[g.path for g in grids]) if grids else {}
    return render(
        request,
        "regions/division.html",
        {
            "division": division,
            "children": children,
            "grids": grids,
            "counts": counts,
            "grid_counts": grid_counts,
            "counters": counters(),
            "nav_active": "regions",
        },
    )


@login_required
def grid_detail(request: HttpRequest, code: str) -> HttpResponseBase:
    grid = selectors.grid_get_for_user(request.user, code)
    households = selectors.grid_households(grid, user=request.user)
    only = request.GET.get("only", "")
    if only == "uncovered":
        households = households.filter(responsible__isnull=True)
    fmt = request.GET.get("export", "")
    if fmt in FORMATS:
        columns = [
            (_("Household code"), lambda h: h.code),
            (_("Address"), lambda h: h.address),
            (_("Members"), lambda h: h.member_count),
            (_("Responsible"), lambda h: str(h.responsible or "")),
        ]
        return export_response(rows=households, columns=columns, basename=f"grid-{grid.code}", fmt=fmt)
    page = Paginator(households, 100).get_page(request.GET.get("page"))
    can_manage = scope_of(request.user).has("responsibility.manage")
    return render(
        request,
        "regions/grid.html",
        {
            "grid": grid,
            "page_obj": page,
            "coverage": selectors.grid_coverage(grid, user=request.user),
            "team": selectors.grid_team(grid),
            "candidates": selectors.responsible_candidates(grid) if can_manage else [],
            "can_manage": can_manage,
            "only": only,
            "nav_active": "regions",
        },
    )


@login_required
def household_detail(request: HttpRequest, pk: int) -> HttpResponse:
    household = selectors.household_get_for_user(request.user, pk)
    members = household.members.filter(merged_into__isnull=True).order_by("birth_date", "id")
    return render(
        request,
        "regions/household.html",
        {
            "household": household,
            "members": members,
            "nav_active": "regions",
            "events": audit.history_rows(household, full_pii=sees_full_pii(request.user), limit=50),
        },
    )


@login_required
@require_POST
def household_assign(request: HttpRequest, pk: int) -> HttpResponse:
    household = selectors.household_get_for_user(request.user, pk)
    user_id = request.POST.get("responsible") or None
    responsible = None
    if user_id:
        responsible = selectors.responsible_candidates(household.grid).filter(pk=user_id).first()
        if responsible is None:
            messages.error(request, _("Choose someone who works in this grid, village or township."))
            return redirect("regions:grid", code=household.grid.code)
    try:
        services.household_assign_responsible(
            actor=request.user,
            household=household,
            responsible=responsible,
            expected_version=int(request.POST.get("version") or 0),
        )
    except StaleVersionError:
        messages.error(request, _("Someone else changed this household meanwhile; the page now shows their change."))
    except ValidationError as error:
        messages.error(request, "; ".join(error.messages))
    except PermissionDenied:
        raise
    else:
        messages.success(request, _("Responsibility saved for %(address)s.") % {"address": household.address})
    return redirect("regions:grid", code=household.grid.code)
