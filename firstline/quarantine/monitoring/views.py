"""Pages of daily health monitoring: today's fast list (saves each cell as you go), its print and export, the
dashboard, the health-check and lost-to-follow-up lists, and a home placement's self-report link."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from firstline.accounts.models import request_user
from firstline.accounts.roles import Perm
from firstline.core.dates import local_minute
from firstline.core.exports import Column, audited_export
from firstline.core.links import safe_next
from firstline.core.paging import page_of
from firstline.core.pii import sees_full_pii, shown
from firstline.core.scoping import require, scope_of
from firstline.quarantine.models import HealthCheck, PlacementKind, PlacementStatus, Symptom
from firstline.quarantine.monitoring import dashboard as dashboard_figures
from firstline.quarantine.monitoring import followup, selectors, selfreport, services, slots
from firstline.quarantine.monitoring.forms import (
    CheckEntryForm,
    CheckFilterForm,
    LostFilterForm,
    TodayFilterForm,
)

TEMPLATES = "quarantine/monitoring/"
TODAY_PAGE_SIZE = 200
NAV = "quarantine"  # dashboard and lists
NAV_TODAY = "quarantine_today"  # the fast list
# Who works a today list: checks (grid, site), samplings (teams), or placements (officers looking at a grid/site).
TODAY_PERMISSIONS = (Perm.HEALTH_CHECK_RECORD, Perm.SAMPLING_RECORD, Perm.PLACEMENT_MANAGE)
DASHBOARD_PERMISSIONS = (*TODAY_PERMISSIONS, Perm.CITY_SUMMARY, Perm.RESULT_ENTER)


def _require_any(user: Any, permissions: Iterable[str]) -> None:
    scope = scope_of(user)
    if not any(scope.has(p) for p in permissions):
        raise PermissionDenied


def _symptom_labels(codes: Iterable[str]) -> str:
    labels = dict(Symptom.choices)
    return ", ".join(str(labels.get(code, code)) for code in codes)


# -- today's list -----------------------------------------------------------------------------------------------


def _today(request: HttpRequest) -> tuple[TodayFilterForm, dict[str, Any], list[followup.TodayRow], bool]:
    """The filter form, the filters, the rows, and whether the user has own people (else: pick a grid or site)."""
    _require_any(request.user, TODAY_PERMISSIONS)
    form = TodayFilterForm(request.GET if request.GET else None, user=request.user)
    # A grid, site, floor or team the user may not see answers as if it did not exist.
    if (
        form.is_bound
        and not form.is_valid()
        and any(n in form.errors for n in ("grid", "facility", "floor", "department"))
    ):
        raise Http404
    filters = form.filters()
    rows = followup.today_list(
        request.user,
        day=filters["day"],
        grid=filters["grid"],
        facility=filters["facility"],
        department=filters["department"],
        floor=filters["floor"],
    )
    chosen = any(filters[name] is not None for name in ("grid", "facility", "floor", "department"))
    scope = scope_of(request.user)
    own = bool(scope.grid_codes or scope.department_ids or "site_staff" in scope.roles)
    return form, filters, rows, chosen or own or bool(rows)


def _today_columns(full: bool) -> list[Column]:
    columns: list[Column] = [
        (_("Name"), lambda r: r.person.name),
        (_("ID number"), lambda r: shown(r.person.id_number, "id_number", full=full)),
        (_("Phone"), lambda r: shown(r.person.phone, "phone", full=full)),
        (_("Where"), lambda r: r.where),
        (_("Measure"), lambda r: r.measure_label),
        (_("Release due"), lambda r: r.placement.due_date if r.placement else ""),
    ]
    for index, label in enumerate(slots.times()):

        def _cell(row: followup.TodayRow, index: int = index) -> str:
            if index >= len(row.cells) or row.cells[index].check is None:
                return ""
            check = row.cells[index].check
            assert check is not None
            return f"{check.temperature} {_symptom_labels(check.symptoms)}".strip()

        columns.append((_("Check %(time)s") % {"time": label.strftime("%H:%M")}, _cell))
    columns += [
        (_("Test due"), lambda r: r.sampling.due_date if r.sampling else ""),
        (_("Due for release"), lambda r: _("yes") if r.release_due else ""),
        (_("Lost to follow-up since"), lambda r: local_minute(r.lost_since)),
    ]
    return columns


@login_required
def today(request: HttpRequest) -> HttpResponseBase:
    """My people today: one row per person with the day's check slots (each cell saves as you go), the test due,
    release due; filtered by grid, site and floor, or a sampling team."""
    form, filters, rows, has_people = _today(request)
    day = filters["day"] or timezone.localdate()
    if request.GET.get("export"):
        full = sees_full_pii(request.user)
        note = f"day={day} filters={ {k: str(v) for k, v in filters.items() if v is not None} } full_pii={full}"
        return audited_export(
            request,
            rows=rows,
            columns=_today_columns(full),
            basename=f"followup-{day.isoformat()}",
            note=note,
            permission=Perm.PERSON_EXPORT,
        )
    scope = scope_of(request.user)
    context = {
        "form": form,
        "day": day,
        "is_today": day == timezone.localdate(),
        "page_obj": page_of(request, rows, TODAY_PAGE_SIZE),
        "summary": followup.summarise(rows),
        "has_people": has_people,
        "slot_times": [s.label for s in slots.day_slots(day)],
        "symptoms": Symptom.choices,
        "can_record": scope.has(Perm.HEALTH_CHECK_RECORD),
        "can_export": scope.has(Perm.PERSON_EXPORT),
        "nav_active": NAV_TODAY,
        "save_url": reverse("quarantine:today_save"),
    }
    return render(request, TEMPLATES + "today.html", context)


@login_required
def today_print(request: HttpRequest) -> HttpResponse:
    """The list on A4: names, where, blank or recorded cells for each slot, tests and releases."""
    _form, filters, rows, _has_people = _today(request)
    day = filters["day"] or timezone.localdate()
    context = {
        "rows": rows,
        "day": day,
        "filters": {k: v for k, v in filters.items() if v is not None and k != "day"},
        "slot_times": [s.label for s in slots.day_slots(day)],
        "summary": followup.summarise(rows),
        "printed_at": timezone.localtime(),
    }
    return render(request, TEMPLATES + "today_print.html", context)


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _errors_json(error: ValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return {name: [str(m) for m in messages_] for name, messages_ in error.message_dict.items()}
    return {"__all__": [str(m) for m in error.messages]}


@login_required
@require_POST
def today_save(request: HttpRequest) -> HttpResponse:
    """One cell of the fast list: JSON for the page's script (``Accept: application/json``), else back to the list."""
    require(request.user, Perm.HEALTH_CHECK_RECORD)
    form = CheckEntryForm(request.POST)
    if not form.is_valid():
        errors = {name: [str(m) for m in errs] for name, errs in form.errors.items()}
        return _saved(request, ok=False, errors=errors, status=400)
    placement = selectors.placement_get_for_checks(request.user, form.cleaned_data["placement"])
    try:
        slot = slots.slot(form.cleaned_data["day"], form.cleaned_data["slot"])
    except ValueError:
        return _saved(request, ok=False, errors={"slot": [_("Unknown check slot.")]}, status=400)
    try:
        at = services.slot_moment(placement, slot, now=timezone.now())
        check, created = services.health_check_save(
            actor=request_user(request),
            placement=placement,
            at=at,
            temperature=form.cleaned_data["temperature"],
            symptoms=form.cleaned_data["symptoms"],
            note=form.cleaned_data["note"],
        )
    except ValidationError as error:
        return _saved(request, ok=False, errors=_errors_json(error), status=400)
    return _saved(request, ok=True, check=check, created=created)


def _saved(
    request: HttpRequest,
    *,
    ok: bool,
    errors: dict[str, list[str]] | None = None,
    check: HealthCheck | None = None,
    created: bool = False,
    status: int = 200,
) -> HttpResponse:
    if check is not None:
        message = _("Saved: %(temperature)s °C at %(time)s") % {
            "time": _slot_label(check.slot),
            "temperature": check.temperature,
        }
        if check.alert:
            message += " · " + _("alert sent")
    else:
        message = "; ".join(m for msgs in (errors or {}).values() for m in msgs)
    if _wants_json(request):
        body: dict[str, Any] = {"ok": ok, "message": message}
        if check is not None:
            body.update(
                created=created,
                check={
                    "id": check.pk,
                    "day": check.day.isoformat(),
                    "slot": check.slot,
                    "temperature": str(check.temperature),
                    "symptoms": check.symptoms,
                    "alert": check.alert,
                    "at": check.at.isoformat(),
                },
            )
        if errors:
            body["errors"] = errors
        return JsonResponse(body, status=status)
    (messages.success if ok else messages.error)(request, message)
    return redirect(safe_next(request, reverse("quarantine:today")))


def _slot_label(index: int) -> str:
    return slots.times()[index].strftime("%H:%M") if 0 <= index < slots.count() else str(index + 1)


# -- dashboard ----------------------------------------------------------------------------------------------------


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    _require_any(request.user, DASHBOARD_PERMISSIONS)
    context = dashboard_figures.dashboard(request.user)
    context["nav_active"] = NAV
    return render(request, TEMPLATES + "dashboard.html", context)


# -- lists --------------------------------------------------------------------------------------------------------


def _check_columns(full: bool) -> list[Column]:
    return [
        (_("Day"), lambda c: c.day),
        (_("Slot"), lambda c: _slot_label(c.slot)),
        (_("Time"), lambda c: local_minute(c.at)),
        (_("Name"), lambda c: c.person.name),
        (_("ID number"), lambda c: shown(c.person.id_number, "id_number", full=full)),
        (_("Temperature (°C)"), lambda c: c.temperature),
        (_("Symptoms"), lambda c: _symptom_labels(c.symptoms)),
        (_("Alert"), lambda c: _("yes") if c.alert else ""),
        (_("Source"), lambda c: c.get_source_display()),
        (_("Recorded by"), lambda c: str(c.recorded_by or "")),
        (_("Note"), lambda c: c.note),
        (_("Jurisdiction"), lambda c: c.path),
    ]


@login_required
def check_list(request: HttpRequest) -> HttpResponseBase:
    require(request.user, Perm.PERSON_VIEW)
    form = CheckFilterForm(request.GET)
    filters = form.filters()
    checks = selectors.check_list(user=request.user, filters=filters)
    if request.GET.get("export"):
        full = sees_full_pii(request.user)
        return audited_export(
            request,
            rows=checks.iterator(chunk_size=2000),
            columns=_check_columns(full),
            basename="health-checks",
            note=f"filters={ {k: str(v) for k, v in filters.items()} } full_pii={full}",
            permission=Perm.PERSON_EXPORT,
        )
    page = page_of(request, checks)
    page.object_list = list(page.object_list)
    labels = dict(Symptom.choices)
    for check in page.object_list:
        check.symptom_labels = [labels.get(code, code) for code in check.symptoms]
    context = {
        "form": form,
        "page_obj": page,
        "can_export": scope_of(request.user).has(Perm.PERSON_EXPORT),
        "nav_active": NAV,
    }
    return render(request, TEMPLATES + "check_list.html", context)


def _lost_columns(full: bool) -> list[Column]:
    return [
        (_("Lost since"), lambda p: local_minute(p.lost_since)),
        (_("Name"), lambda p: p.person.name),
        (_("ID number"), lambda p: shown(p.person.id_number, "id_number", full=full)),
        (_("Phone"), lambda p: shown(p.person.phone, "phone", full=full)),
        (_("Where"), lambda p: str(p.room) if p.room_id else _("at home")),
        (_("Grid"), lambda p: p.grid.code if p.grid else ""),
        (_("Responsible worker"), lambda p: str(p.responsible or "")),
        (_("Release due"), lambda p: p.due_date),
        (_("Jurisdiction"), lambda p: p.path),
    ]


@login_required
def lost_list(request: HttpRequest) -> HttpResponseBase:
    require(request.user, Perm.PERSON_VIEW)
    form = LostFilterForm(request.GET)
    filters = form.filters()
    placements = selectors.lost_list(user=request.user, filters=filters)
    if request.GET.get("export"):
        full = sees_full_pii(request.user)
        return audited_export(
            request,
            rows=placements.iterator(chunk_size=2000),
            columns=_lost_columns(full),
            basename="lost-to-follow-up",
            note=f"filters={ {k: str(v) for k, v in filters.items()} } full_pii={full}",
            permission=Perm.PERSON_EXPORT,
        )
    context = {
        "form": form,
        "page_obj": page_of(request, placements),
        "can_export": scope_of(request.user).has(Perm.PERSON_EXPORT),
        "missed_limit": settings.HEALTH_CHECK_MISSED_LIMIT,
        "nav_active": NAV,
    }
    return render(request, TEMPLATES + "lost_list.html", context)


# -- self-report link ---------------------------------------------------------------------------------------------


@login_required
def self_report_link(request: HttpRequest, pk: int) -> HttpResponse:
    """A home placement's self-report link to show, copy or print (with its QR code) for the person."""
    require(request.user, Perm.HEALTH_CHECK_RECORD)
    placement = selectors.placement_get_for_checks(request.user, pk)
    if placement.kind != PlacementKind.HOME or placement.status != PlacementStatus.ACTIVE:
        raise Http404
    url = selfreport.url_for(request, placement)
    context = {
        "placement": placement,
        "url": url,
        "qr_svg": selfreport.qr_svg_inline(url),
        "given_name": selfreport.given_name(placement.person.name),
        "slot_times": [s.label for s in slots.day_slots(timezone.localdate())],
        "nav_active": NAV_TODAY,
    }
    return render(request, TEMPLATES + "self_report_link.html", context)
