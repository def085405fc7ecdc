"""Pages of the venue registry (场所码): list, create/edit, detail with recent check-ins, QR posters."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from firstline.accounts.models import request_user
from firstline.accounts.roles import Perm
from firstline.core import audit
from firstline.core.concurrency import StaleVersionError
from firstline.core.exports import Column, audited_export
from firstline.core.pii import sees_full_pii, shown
from firstline.core.scoping import require, scope_of
from firstline.regions.models import Division, Grid
from firstline.tracing.models import Venue
from firstline.tracing.venues import poster, selectors, services
from firstline.tracing.venues.forms import VenueFilterForm, VenueForm

PAGE_SIZE = 50
NAV = "venues"


def public_url(request: HttpRequest, venue: Venue) -> str:
    return request.build_absolute_uri(reverse("venue_public:checkin", args=[venue.code]))


def _page(request: HttpRequest, items: Any) -> Any:
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))


def _export(request: HttpRequest, rows: Iterable[Any], columns: list[Column], *, basename: str, note: str) -> Any:
    return audited_export(
        request, rows=rows, columns=columns, basename=basename, note=note, permission=Perm.PERSON_EXPORT
    )


def _local(moment: Any) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def _form_querysets(user: Any) -> dict[str, Any]:
    return {
        "grids": Grid.objects.visible_to(user).order_by("code"),
        "divisions": Division.objects.visible_to(user).exclude(level__in=("province", "prefecture")).order_by("code"),
    }


@login_required
def venue_list(request: HttpRequest) -> HttpResponseBase:
    require(request.user, Perm.PERSON_VIEW)
    form = VenueFilterForm(request.GET)
    filters = form.filters()
    venues = selectors.venue_list(user=request.user, filters=filters)
    if request.GET.get("export"):
        columns: list[Column] = [
            (_("Code"), lambda v: v.code),
            (_("Name"), lambda v: v.name),
            (_("Category"), lambda v: v.get_category_display()),
            (_("Address"), lambda v: v.address),
            (_("Grid"), lambda v: v.grid.name if v.grid else ""),
            (_("Jurisdiction"), lambda v: v.path),
            (_("Default stay (minutes)"), lambda v: v.default_stay_minutes),
            (_("Contact phone"), lambda v: v.contact_phone),
            (_("Active"), lambda v: _("yes") if v.active else _("no")),
            (_("Check-in address"), lambda v: public_url(request, v)),
        ]
        return _export(request, venues.iterator(chunk_size=2000), columns, basename="venues", note=f"filters={filters}")
    scope = scope_of(request.user)
    return render(
        request,
        "tracing/venues/list.html",
        {
            "form": form,
            "page_obj": _page(request, venues),
            "nav_active": NAV,
            "can_manage": scope.has(Perm.VENUE_MANAGE),
            "can_export": scope.has(Perm.PERSON_EXPORT),
        },
    )


def _checkin_columns(full: bool) -> list[Column]:
    return [
        (_("Checked in"), lambda c: _local(c.start)),
        (_("Checked out"), lambda c: _local(c.end)),
        (_("Check-out recorded"), lambda c: _("yes") if c.end_known else ""),
        (_("Name"), lambda c: c.name),
        (_("Phone"), lambda c: shown(c.phone, "phone", full=full)),
        (_("ID number"), lambda c: shown(c.id_number, "id_number", full=full)),
        (_("Registered person"), lambda c: c.person_id or ""),
        (_("Accompanying"), lambda c: c.party_of or ""),
        (_("Source"), lambda c: c.get_source_display()),
    ]


@login_required
def venue_detail(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The venue, its visits per day over two weeks and its recent check-ins (PII as the viewer may see it)."""
    require(request.user, Perm.PERSON_VIEW)
    venue = selectors.venue_get_for_user(request.user, pk)
    full = sees_full_pii(request.user)
    checkins = selectors.venue_checkins(venue)
    if request.GET.get("export"):
        return _export(
            request,
            checkins.iterator(chunk_size=2000),
            _checkin_columns(full),
            basename=f"checkins-{venue.code}",
            note=f"venue={venue.pk} full_pii={full}",
        )
    tab = request.GET.get("tab", "overview")
    scope = scope_of(request.user)
    context: dict[str, Any] = {
        "venue": venue,
        "tab": tab,
        "nav_active": NAV,
        "url": public_url(request, venue),
        "can_manage": scope.has(Perm.VENUE_MANAGE),
        "can_export": scope.has(Perm.PERSON_EXPORT),
    }
    if tab == "history":
        context["events"] = audit.history_rows(venue, full_pii=full)
    else:
        days = selectors.venue_daily_counts(venue)
        context.update(
            days=days,
            busiest=max((d["visits"] for d in days), default=0),
            page_obj=_page(request, checkins),
        )
    return render(request, "tracing/venues/detail.html", context)


@login_required
def venue_create(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.VENUE_MANAGE)
    form = VenueForm(request.POST or None, **_form_querysets(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            venue = services.venue_create(actor=request_user(request), **form.service_values())
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("Created %(name)s. Print its QR poster below.") % {"name": venue.name})
            return redirect("tracing:venue_detail", pk=venue.pk)
    return render(request, "tracing/venues/form.html", {"form": form, "nav_active": NAV, "venue": None})


@login_required
def venue_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.VENUE_MANAGE)
    venue = selectors.venue_get_for_user(request.user, pk)
    initial = {
        "name": venue.name,
        "category": venue.category,
        "address": venue.address,
        "grid": venue.grid.code if venue.grid else None,
        "division": None if venue.grid_id else venue.path,
        "default_stay_minutes": venue.default_stay_minutes,
        "contact_phone": venue.contact_phone,
        "version": venue.version,
    }
    form = VenueForm(request.POST or None, initial=initial, **_form_querysets(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            services.venue_update(
                actor=request_user(request),
                venue=venue,
                expected_version=form.cleaned_data.get("version") or venue.version,
                data=form.service_values(),
            )
        except StaleVersionError:
            form.add_error(None, _("Someone else changed this venue since you opened the page. Please look again."))
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("Saved %(name)s.") % {"name": venue.name})
            return redirect("tracing:venue_detail", pk=venue.pk)
    return render(request, "tracing/venues/form.html", {"form": form, "nav_active": NAV, "venue": venue})


def _add_errors(form: VenueForm, error: ValidationError) -> None:
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for key, messages_ in error.message_dict.items():
        form.add_error(key if key in form.fields else None, messages_)


@login_required
@require_POST
def venue_active(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.VENUE_MANAGE)
    venue = selectors.venue_get_for_user(request.user, pk)
    active = request.POST.get("active") == "1"
    try:
        services.venue_set_active(actor=request_user(request), venue=venue, active=active)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            (
                _("%(name)s accepts check-ins again.")
                if active
                else _("%(name)s is switched off: its code leads nowhere.")
            )
            % {"name": venue.name},
        )
    return redirect("tracing:venue_detail", pk=venue.pk)


@login_required
def venue_poster(request: HttpRequest, pk: int) -> HttpResponse:
    """An A4 page to print from the browser: name, instructions in Chinese and the QR code."""
    require(request.user, Perm.VENUE_MANAGE)
    venue = selectors.venue_get_for_user(request.user, pk)
    url = public_url(request, venue)
    return render(
        request, "tracing/venues/poster.html", {"venue": venue, "url": url, "qr_svg": poster.qr_svg_inline(url)}
    )


@login_required
def venue_poster_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.VENUE_MANAGE)
    venue = selectors.venue_get_for_user(request.user, pk)
    response = HttpResponse(poster.poster_pdf(venue, public_url(request, venue)), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="venue-{venue.code}.pdf"'
    return response


@login_required
def venue_qr(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """The QR code alone, as an SVG or PNG download."""
    require(request.user, Perm.VENUE_MANAGE)
    venue = selectors.venue_get_for_user(request.user, pk)
    if fmt not in ("svg", "png"):
        raise Http404
    content = poster.qr_file(public_url(request, venue), kind=fmt)
    response = HttpResponse(content, content_type="image/svg+xml" if fmt == "svg" else "image/png")
    response["Content-Disposition"] = f'attachment; filename="venue-{venue.code}.{fmt}"'
    return response
