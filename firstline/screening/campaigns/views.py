"""Pages of door-to-door campaigns: list, form, live coverage, households still to visit, visits, the visiting round."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from firstline.accounts.models import request_user
from firstline.accounts.roles import Perm
from firstline.core import audit
from firstline.core.concurrency import StaleVersionError
from firstline.core.exports import FORMATS, Column, export_response
from firstline.core.models import AuditAction
from firstline.core.pii import sees_full_pii
from firstline.core.scoping import require, scope_of
from firstline.regions.models import Grid
from firstline.screening.campaigns import selectors, services
from firstline.screening.campaigns.forms import (
    CampaignFilterForm,
    CampaignForm,
    UnvisitedFilterForm,
    VisitFilterForm,
    VisitForm,
)
from firstline.screening.models import Campaign, HouseholdVisit, VisitOutcome

PAGE_SIZE = 50
ROUND_PAGE_SIZE = 100
NAV = "campaigns"


def _require_access(user: Any) -> None:
    """Campaign pages are for those who run campaigns or visit households."""
    scope = scope_of(user)
    if not (scope.has(Perm.CAMPAIGN_MANAGE) or scope.has(Perm.VISIT_RECORD)):
        raise PermissionDenied(Perm.VISIT_RECORD)


def _form_errors_from(form: Form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, field_messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, field_messages)
    else:
        form.add_error(None, error.messages)


def _export(request: HttpRequest, *, rows: Iterable[Any], columns: Sequence[Column], basename: str) -> HttpResponseBase:
    fmt = request.GET.get("export", "")
    if fmt not in FORMATS:
        return HttpResponseBadRequest(_("Unknown export format: use csv or xlsx."))
    audit.record(
        actor=request_user(request),
        action=AuditAction.EXPORT,
        note=f"{basename} {fmt} filters={request.GET.urlencode()}",
    )
    return export_response(rows=rows, columns=columns, basename=basename, fmt=fmt)


def _campaign_grid(campaign: Campaign, request: HttpRequest, code: str) -> Grid | None:
    """The grid named by a filter, among the campaign's grids the user sees (404 for any other)."""
    if not code:
        return None
    grid = selectors.campaign_grids(campaign, request.user).filter(code=code).first()
    if grid is None:
        raise Http404
    return grid


@login_required
def campaign_list(request: HttpRequest) -> HttpResponseBase:
    _require_access(request.user)
    form = CampaignFilterForm(request.GET)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    campaigns = selectors.campaign_list(
        request.user, active_on=data.get("active_on"), division_code=data.get("division") or ""
    )
    if request.GET.get("export"):
        columns: list[Column] = [
            (_("Name"), lambda c: c.name),
            (_("Division"), lambda c: c.division.name),
            (_("Division code"), lambda c: c.path),
            (_("From"), lambda c: c.date_from.isoformat()),
            (_("To"), lambda c: c.date_to.isoformat()),
            (_("Created by"), lambda c: str(c.created_by or "")),
            (_("Note"), lambda c: c.note),
        ]
        return _export(request, rows=campaigns.iterator(chunk_size=2000), columns=columns, basename="campaigns")
    page = Paginator(campaigns, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "screening/campaigns/list.html",
        {
            "form": form,
            "page_obj": page,
            "today": timezone.localdate(),
            "can_manage": scope_of(request.user).has(Perm.CAMPAIGN_MANAGE),
            "nav_active": NAV,
        },
    )


@login_required
def campaign_create(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.CAMPAIGN_MANAGE)
    form = CampaignForm(request.POST or None, divisions=selectors.campaign_divisions(request.user))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            campaign = services.campaign_create(
                actor=request_user(request),
                name=data["name"],
                division=data["division"],
                date_from=data["date_from"],
                date_to=data["date_to"],
                note=data["note"],
            )
        except ValidationError as error:
            _form_errors_from(form, error)
        else:
            messages.success(request, _("Campaign “%(name)s” started.") % {"name": campaign.name})
            return redirect("screening:campaigns:detail", pk=campaign.pk)
    return render(request, "screening/campaigns/form.html", {"form": form, "creating": True, "nav_active": NAV})


@login_required
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.CAMPAIGN_MANAGE)
    campaign = selectors.campaign_get_for_user(request.user, pk)
    if not selectors.campaign_editable_by(request.user, campaign):
        raise PermissionDenied(Perm.CAMPAIGN_MANAGE)
    form = CampaignForm(
        request.POST or None,
        initial=CampaignForm.initial_for(campaign),
        divisions=selectors.campaign_divisions(request.user),
    )
    stale: StaleVersionError | None = None
    if request.method == "POST" and form.is_valid():
        changed = {key: form.cleaned_data[key] for key in form.changed_data if key != "version"}
        try:
            services.campaign_update(
                actor=request_user(request),
                campaign=campaign,
                expected_version=form.cleaned_data["version"] or 0,
                data=changed,
            )
        except StaleVersionError as error:
            stale = error
            form.add_error(
                None, _("Someone else changed this campaign since you opened the form; review and save again.")
            )
        except ValidationError as error:
            _form_errors_from(form, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("screening:campaigns:detail", pk=campaign.pk)
    return render(
        request,
        "screening/campaigns/form.html",
        {
            "form": form,
            "campaign": campaign,
            "stale_changes": stale.changes_since if stale else [],
            "nav_active": NAV,
        },
    )


@login_required
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require_access(request.user)
    campaign = selectors.campaign_get_for_user(request.user, pk)
    scope = scope_of(request.user)
    return render(
        request,
        "screening/campaigns/detail.html",
        {
            "campaign": campaign,
            "rows": selectors.campaign_coverage(campaign, request.user),
            "refusal": services.campaign_refusal(campaign),
            "can_edit": selectors.campaign_editable_by(request.user, campaign),
            "can_record": scope.has(Perm.VISIT_RECORD),
            "refreshed_at": timezone.localtime(),
            "nav_active": NAV,
        },
    )


@login_required
def campaign_coverage(request: HttpRequest, pk: int) -> HttpResponse:
    """The coverage table alone: the campaign page reloads it every 30 seconds (htmx)."""
    _require_access(request.user)
    campaign = selectors.campaign_get_for_user(request.user, pk)
    return render(
        request,
        "screening/campaigns/_coverage.html",
        {
            "campaign": campaign,
            "rows": selectors.campaign_coverage(campaign, request.user),
            "refreshed_at": timezone.localtime(),
        },
    )


def _reason_label(outcome: str | None) -> str:
    return _("Nobody home") if outcome == VisitOutcome.NOBODY_HOME else _("Not yet visited")


@login_required
def unvisited_list(request: HttpRequest, pk: int) -> HttpResponseBase:
    _require_access(request.user)
    campaign = selectors.campaign_get_for_user(request.user, pk)
    grids = selectors.campaign_grids(campaign, request.user)
    form = UnvisitedFilterForm(request.GET, grids=grids)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    grid = _campaign_grid(campaign, request, request.GET.get("grid", ""))
    households = selectors.unvisited_households(
        campaign, request.user, grid, area=data.get("area") or "", reason=data.get("reason") or ""
    )
    if request.GET.get("export"):
        columns: list[Column] = [
            (_("Household code"), lambda h: h.code),
            (_("Address"), lambda h: h.address),
            (_("Grid"), lambda h: h.grid.name),
            (_("Reason"), lambda h: _reason_label(h.visit_outcome)),
            (
                _("Last visit"),
                lambda h: timezone.localtime(h.visit_at).strftime("%Y-%m-%d %H:%M") if h.visit_at else "",
            ),
        ]
        return _export(
            request,
            rows=households.iterator(chunk_size=2000),
            columns=columns,
            basename=f"campaign-{campaign.pk}-unvisited",
        )
    page = Paginator(households, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "screening/campaigns/unvisited.html",
        {
            "campaign": campaign,
            "form": form,
            "page_obj": page,
            "can_record": scope_of(request.user).has(Perm.VISIT_RECORD),
            "nav_active": NAV,
        },
    )


@login_required
def visit_list(request: HttpRequest, pk: int) -> HttpResponseBase:
    _require_access(request.user)
    campaign = selectors.campaign_get_for_user(request.user, pk)
    grids = selectors.campaign_grids(campaign, request.user)
    form = VisitFilterForm(request.GET, grids=grids)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    grid = _campaign_grid(campaign, request, request.GET.get("grid", ""))
    visits = selectors.visit_list(
        campaign,
        request.user,
        outcome=data.get("outcome") or "",
        area=grid.path if grid is not None else data.get("area") or "",
    )
    if request.GET.get("export"):
        columns: list[Column] = [
            (_("Household code"), lambda v: v.household.code),
            (_("Address"), lambda v: v.household.address),
            (_("Grid"), lambda v: v.household.grid.name),
            (_("Outcome"), lambda v: v.get_outcome_display()),
            (_("Visited at"), lambda v: timezone.localtime(v.visited_at).strftime("%Y-%m-%d %H:%M")),
            (_("Visited by"), lambda v: str(v.visited_by or "")),
            (_("Members present"), lambda v: v.members_present),
            (_("Returnees found"), lambda v: v.returnees_found),
            (_("Symptoms"), lambda v: _("yes") if v.symptoms else _("no")),
            (_("Members not vaccinated"), lambda v: v.unvaccinated),
            (_("Note"), lambda v: v.note),
        ]
        return _export(
            request, rows=visits.iterator(chunk_size=2000), columns=columns, basename=f"campaign-{campaign.pk}-visits"
        )
    page = Paginator(visits, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "screening/campaigns/visits.html",
        {
            "campaign": campaign,
            "form": form,
            "page_obj": page,
            "arrival_base": services.arrival_form_base(),
            "nav_active": NAV,
        },
    )


def _round_grid(campaign: Campaign, request: HttpRequest, grids: QuerySet[Grid]) -> Grid | None:
    """The grid of the round: the one asked for, else the user's own (a grid worker has one), else None (choose)."""
    code = request.GET.get("grid", "")
    if code:
        return _campaign_grid(campaign, request, code)
    own = scope_of(request.user).grid_codes
    candidates = list(grids.filter(code__in=own)[:2]) if own else list(grids[:2])
    return candidates[0] if len(candidates) == 1 else None


@login_required
def visit_round(request: HttpRequest, pk: int) -> HttpResponse:
    """The grid worker's list: their grid's households, those not yet visited first; one tap opens the form."""
    require(request.user, Perm.VISIT_RECORD)
    campaign = selectors.campaign_get_for_user(request.user, pk)
    grids = selectors.campaign_grids(campaign, request.user)
    grid = _round_grid(campaign, request, grids)
    context: dict[str, Any] = {
        "campaign": campaign,
        "grid": grid,
        "refusal": services.campaign_refusal(campaign),
        "query": request.GET.get("q", "").strip(),
        "nav_active": NAV,
    }
    if grid is None:
        context["page_obj"] = Paginator(grids, ROUND_PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "screening/campaigns/round_grids.html", context)
    households = selectors.round_households(campaign, request.user, grid, query=context["query"])
    context["page_obj"] = Paginator(households, ROUND_PAGE_SIZE).get_page(request.GET.get("page"))
    after = request.GET.get("after", "")
    if after:
        context["next_household"] = selectors.next_unvisited(campaign, request.user, grid, after_code=after)
        context["after"] = after
    return render(request, "screening/campaigns/round.html", context)


@login_required
def visit_record(request: HttpRequest, pk: int, household_pk: int) -> HttpResponse:
    """The phone form of one household: counts, then one tap on an outcome saves and goes back to the round."""
    require(request.user, Perm.VISIT_RECORD)
    campaign = selectors.campaign_get_for_user(request.user, pk)
    household = selectors.household_for_visit(campaign, request.user, household_pk)
    visit = HouseholdVisit.objects.filter(campaign=campaign, household=household).first()
    initial: dict[str, Any] = {"version": visit.version if visit else None}
    if visit is not None:
        initial.update(
            members_present=visit.members_present,
            returnees_found=visit.returnees_found,
            unvaccinated=visit.unvaccinated,
            symptoms=visit.symptoms,
            note=visit.note,
        )
    form = VisitForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            saved = services.visit_record(
                actor=request_user(request),
                campaign=campaign,
                household=household,
                outcome=data["outcome"],
                members_present=data["members_present"] or 0,
                returnees_found=data["returnees_found"] or 0,
                symptoms=data["symptoms"],
                unvaccinated=data["unvaccinated"] or 0,
                note=data["note"],
                expected_version=data["version"],
            )
        except StaleVersionError:
            messages.error(request, _("Someone else recorded a visit of this household meanwhile; here is theirs."))
            return redirect("screening:campaigns:visit", pk=campaign.pk, household_pk=household.pk)
        except ValidationError as error:
            _form_errors_from(form, error)
        else:
            messages.success(
                request,
                _("Saved: %(address)s — %(outcome)s.")
                % {"address": household.address, "outcome": saved.get_outcome_display()},
            )
            query = urlencode({"grid": household.grid.code, "after": household.code})
            return redirect(f"{reverse('screening:campaigns:round', args=[campaign.pk])}?{query}")
    return render(
        request,
        "screening/campaigns/visit_form.html",
        {
            "campaign": campaign,
            "household": household,
            "visit": visit,
            "form": form,
            "outcomes": VisitOutcome.choices,
            "refusal": services.campaign_refusal(campaign),
            "events": audit.history_rows(visit, full_pii=sees_full_pii(request.user), limit=20) if visit else [],
            "nav_active": NAV,
        },
    )
