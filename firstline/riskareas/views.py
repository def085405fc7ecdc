from __future__ import annotations

import secrets
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from firstline.accounts.models import request_user
from firstline.accounts.roles import Perm
from firstline.core import audit
from firstline.core.concurrency import StaleVersionError
from firstline.core.exports import FORMATS, export_response
from firstline.core.models import AuditAction
from firstline.core.scoping import require, scope_of
from firstline.riskareas import loading, selectors, services
from firstline.riskareas.forms import (
    LevelChangeForm,
    LiftForm,
    NoticeForm,
    RiskAreaFilterForm,
    RiskAreaForm,
    UploadForm,
)
from firstline.riskareas.models import RiskArea
from firstline.riskareas.notices import ParsedNoticeLine, notice_parse

PAGE_SIZE = 50
NAV = "riskareas"
_UPLOAD_SESSION_KEY = "riskareas.upload"
MAX_UPLOAD_ROWS = 20_000  # bigger files go through the management command


def _export_columns() -> list[tuple[str, Any]]:
    return [
        (_("Place"), lambda a: a.place),
        (_("Division code"), lambda a: a.division_code),
        (_("Scope below the division"), lambda a: a.scope_text),
        (_("Level"), lambda a: a.get_level_display()),
        (_("At this level since"), lambda a: a.effective_from),
        (_("First listed on"), lambda a: a.first_listed_on),
        (_("Lifted on"), lambda a: a.lifted_at),
        (_("Source notice"), lambda a: a.source_notice),
        (_("Place not recognised"), lambda a: _("yes") if a.needs_review else ""),
        (_("Level history"), _history_text),
    ]


def _history_text(area: RiskArea) -> str:
    return "; ".join(
        f"{p.level} {p.valid_from.isoformat()}–{p.valid_until.isoformat() if p.valid_until else ''}"
        for p in area.periods.all()
    )


def _form_errors_from(form: Any, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, field_messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, field_messages)
    else:
        form.add_error(None, error.messages)


def _can_edit(request: HttpRequest) -> bool:
    return scope_of(request.user).has(Perm.RISKAREA_EDIT)


@login_required
def risk_area_list(request: HttpRequest) -> HttpResponseBase:
    form = RiskAreaFilterForm(request.GET)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    areas = selectors.risk_area_list(
        user=request.user,
        query=data.get("q") or "",
        level=data.get("level") or "",
        in_force_on=data.get("in_force_on"),
        status=data.get("status") or "",
        needs_review=True if data.get("needs_review") else None,
        with_periods=True,
    )
    fmt = request.GET.get("export", "")
    if fmt:
        if fmt not in FORMATS:
            return HttpResponseBadRequest(_("Unknown export format: use csv or xlsx."))
        filters = {key: str(value) for key, value in data.items() if value}
        audit.record(actor=request_user(request), action=AuditAction.EXPORT, note=f"risk areas {fmt} {filters}")
        return export_response(
            rows=areas.iterator(chunk_size=2000), columns=_export_columns(), basename="risk-areas", fmt=fmt
        )
    page = Paginator(areas, PAGE_SIZE).get_page(request.GET.get("page"))
    template = "riskareas/_results.html" if request.headers.get("HX-Request") else "riskareas/list.html"
    return render(
        request, template, {"form": form, "page_obj": page, "nav_active": NAV, "can_edit": _can_edit(request)}
    )


@login_required
def risk_area_detail(request: HttpRequest, pk: int) -> HttpResponse:
    area = selectors.risk_area_get_for_user(request.user, pk)
    tab = request.GET.get("tab", "overview")
    context: dict[str, Any] = {"area": area, "tab": tab, "nav_active": NAV, "can_edit": _can_edit(request)}
    if tab == "history":
        context["events"] = audit.history_rows(area, full_pii=True)  # the list is public: nothing to mask
    else:
        context["periods"] = selectors.risk_area_periods(area)
    return render(request, "riskareas/detail.html", context)


@login_required
def risk_area_create(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.RISKAREA_EDIT)
    form = RiskAreaForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            area = services.risk_area_create(
                actor=request_user(request),
                place=data["place"],
                level=data["level"],
                effective_from=data["effective_from"],
                division_code=data["division_code"],
                scope_text=data["scope_text"],
                lifted_at=data["lifted_at"],
                source_notice=data["source_notice"],
            )
        except ValidationError as error:
            _form_errors_from(form, error)
        else:
            messages.success(request, _("Listed %(place)s.") % {"place": area.place})
            return redirect("riskareas:detail", pk=area.pk)
    return render(request, "riskareas/form.html", {"form": form, "nav_active": NAV, "creating": True})


def _stale_message(form: Any, error: StaleVersionError) -> list[dict[str, Any]]:
    form.add_error(
        None, _("Someone else changed this area since you opened the form. Review their changes, then try again.")
    )
    return error.changes_since


@login_required
def risk_area_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.RISKAREA_EDIT)
    area = selectors.risk_area_get_for_user(request.user, pk)
    form = RiskAreaForm(request.POST or None, initial=RiskAreaForm.initial_for(area), editing=True)
    stale: list[dict[str, Any]] = []
    if request.method == "POST" and form.is_valid():
        changed = {key: form.cleaned_data[key] for key in form.changed_data if key in services.EDITABLE_FIELDS}
        try:
            services.risk_area_update(
                actor=request_user(request),
                area=area,
                expected_version=form.cleaned_data["version"] or 0,
                data=changed,
            )
        except StaleVersionError as error:
            stale = _stale_message(form, error)
        except ValidationError as error:
            _form_errors_from(form, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("riskareas:detail", pk=area.pk)
    return render(
        request, "riskareas/form.html", {"form": form, "area": area, "nav_active": NAV, "stale_changes": stale}
    )


@login_required
def risk_area_level(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.RISKAREA_EDIT)
    area = selectors.risk_area_get_for_user(request.user, pk)
    form = LevelChangeForm(request.POST or None, initial={"version": area.version})
    stale: list[dict[str, Any]] = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.risk_area_change_level(
                actor=request_user(request),
                area=area,
                expected_version=data["version"],
                level=data["level"],
                effective_on=data["effective_on"],
                source_notice=data["source_notice"],
            )
        except StaleVersionError as error:
            stale = _stale_message(form, error)
        except ValidationError as error:
            _form_errors_from(form, error)
        else:
            messages.success(request, _("Level changed."))
            return redirect("riskareas:detail", pk=area.pk)
    context = {"form": form, "area": area, "nav_active": NAV, "stale_changes": stale, "action": "level"}
    return render(request, "riskareas/action.html", context)


@login_required
def risk_area_lift(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.RISKAREA_EDIT)
    area = selectors.risk_area_get_for_user(request.user, pk)
    form = LiftForm(request.POST or None, initial={"version": area.version})
    stale: list[dict[str, Any]] = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.risk_area_lift(
                actor=request_user(request),
                area=area,
                expected_version=data["version"],
                lifted_on=data["lifted_on"],
                source_notice=data["source_notice"],
            )
        except StaleVersionError as error:
            stale = _stale_message(form, error)
        except ValidationError as error:
            _form_errors_from(form, error)
        else:
            messages.success(request, _("Area lifted."))
            return redirect("riskareas:detail", pk=area.pk)
    context = {"form": form, "area": area, "nav_active": NAV, "stale_changes": stale, "action": "lift"}
    return render(request, "riskareas/action.html", context)


def _notice_rows(lines: list[ParsedNoticeLine]) -> list[dict[str, Any]]:
    """Loader rows for the usable lines of a notice; ``row`` numbers them 1… in order."""
    usable = [line for line in lines if line.usable]
    return [
        {"row": index, "place": line.place, "level": line.level, "effective_from": line.effective_from}
        for index, line in enumerate(usable, start=1)
    ]


def _notice_preview(lines: list[ParsedNoticeLine], report: services.LoadReport) -> list[dict[str, Any]]:
    """What each line of the notice gives: the area, its parsed code, and what saving would do (or why not)."""
    places = services.places_parse(line.place for line in lines if line.usable)
    errors: dict[int, list[str]] = {}
    for error in report.errors:
        errors.setdefault(error["row"], []).append(f"{error['field']}: {error['reason']}")
    preview: list[dict[str, Any]] = []
    index = 0
    for line in lines:
        item: dict[str, Any] = {"line": line}
        if line.usable:
            index += 1
            place = places.get(services.clean_place_text(line.place)[:200])
            if place is not None:
                item["values"] = services.area_place_for(
                    place=place, place_text=line.place, division_code="", scope_text=None
                )
            item["outcome"] = report.outcomes.get(index, "")
            item["errors"] = errors.get(index, [])
        preview.append(item)
    return preview


@login_required
def risk_area_paste(request: HttpRequest) -> HttpResponse:
    """Paste a notice → preview of the areas read from it → the same text with confirm saves them (all or none)."""
    require(request.user, Perm.RISKAREA_EDIT)
    form = NoticeForm(request.POST or None, initial={"effective_from": timezone.localdate()})
    context: dict[str, Any] = {"form": form, "nav_active": NAV}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        lines = notice_parse(data["text"], default_effective_from=data["effective_from"])
        rows = _notice_rows(lines)
        confirm = bool(data["confirm"]) and bool(rows)
        report = services.risk_areas_load(
            actor=request_user(request), rows=rows, dry_run=not confirm, source_notice=data["source_notice"]
        )
        if report.written:
            messages.success(request, _summary(report))
            return redirect("riskareas:list")
        context.update({"preview": _notice_preview(lines, report), "report": report, "area_count": len(rows)})
    return render(request, "riskareas/paste.html", context)


def _summary(report: services.LoadReport) -> str:
    return _("%(created)d areas added, %(updated)d changed, %(unchanged)d already listed.") % {
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
    }


@login_required
def risk_area_upload(request: HttpRequest) -> HttpResponse:
    """Upload CSV/xlsx → dry run (row errors, or what would change) → confirm loads the checked rows."""
    require(request.user, Perm.RISKAREA_EDIT)
    if request.method == "POST" and request.POST.get("token"):
        return _upload_confirm(request)
    form = UploadForm(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {"form": form, "nav_active": NAV}
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            rows = loading.read_rows(upload, filename=upload.name, max_rows=MAX_UPLOAD_ROWS)
        except loading.FileProblem as problem:
            form.add_error("file", str(problem))
        else:
            report = services.risk_areas_load(
                actor=request_user(request), rows=rows, dry_run=True, source_notice=form.cleaned_data["source_notice"]
            )
            context["report"] = report
            if report.ok and rows:
                token = secrets.token_urlsafe(16)
                request.session[_UPLOAD_SESSION_KEY] = {
                    "token": token,
                    "rows": loading.rows_for_session(rows),
                    "filename": upload.name,
                    "source_notice": form.cleaned_data["source_notice"],
                }
                context["token"] = token
    return render(request, "riskareas/upload.html", context)


def _upload_confirm(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(_UPLOAD_SESSION_KEY) or {}
    if not pending or pending.get("token") != request.POST.get("token"):
        messages.error(request, _("That check has expired; upload the file again."))
        return redirect("riskareas:upload")
    report = services.risk_areas_load(
        actor=request_user(request), rows=pending["rows"], source_notice=pending.get("source_notice", "")
    )
    request.session.pop(_UPLOAD_SESSION_KEY, None)
    if not report.written:  # the list changed between the check and the confirmation
        form = UploadForm()
        return render(request, "riskareas/upload.html", {"form": form, "nav_active": NAV, "report": report})
    messages.success(request, _summary(report))
    return redirect("riskareas:list")
