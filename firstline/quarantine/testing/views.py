"""Pages of testing: the sampling list (and its "due today" and "overdue" views), a sampling's page where it is
recorded and its result entered, an unscheduled sampling for a person, and the lab-results import."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from firstline.accounts.models import request_user
from firstline.accounts.roles import Perm
from firstline.core import audit
from firstline.core.dates import local_minute
from firstline.core.exports import Column, audited_export
from firstline.core.forms import add_service_errors
from firstline.core.paging import page_of
from firstline.core.pii import sees_full_pii, shown
from firstline.core.scoping import require, scope_of
from firstline.people.selectors import person_get_for_user
from firstline.quarantine.models import Sampling, TestResult
from firstline.quarantine.testing import selectors, services
from firstline.quarantine.testing.forms import (
    ImportFilterForm,
    ResultForm,
    ResultsUploadForm,
    SamplingFilterForm,
    SamplingRecordForm,
    UnscheduledSamplingForm,
)
from firstline.screening.imports import services as imports
from firstline.screening.models import ImportKind

NAV = "samplings"


def _where(sampling: Sampling) -> str:
    if sampling.facility_id is not None and sampling.facility is not None:
        return sampling.facility.name
    placement = sampling.placement
    return placement.grid.code if placement is not None and placement.grid is not None else ""


def _columns(full: bool) -> list[Column]:
    return [
        (_("Due"), lambda s: s.due_date or ""),
        (_("Name"), lambda s: s.person.name),
        (_("ID number"), lambda s: shown(s.person.id_number, "id_number", full=full)),
        (_("Where"), _where),
        (_("Status"), lambda s: s.get_status_display()),
        (_("Sampled at"), lambda s: local_minute(s.sampled_at)),
        (_("Tube barcode"), lambda s: s.tube_code),
        (_("Result"), lambda s: s.get_result_display() if s.result else ""),
        (_("Result time"), lambda s: local_minute(s.result_at)),
        (_("Laboratory"), lambda s: s.lab),
        (_("Result from"), lambda s: s.get_result_source_display() if s.result_source else ""),
        (_("Case"), lambda s: s.case_id or ""),
        (_("Jurisdiction"), lambda s: s.path),
    ]


def _list(request: HttpRequest, *, view: str = "") -> HttpResponseBase:
    require(request.user, Perm.PERSON_VIEW)
    today = timezone.localdate()
    data = request.GET.copy()
    if view:
        data["view"] = view
    form = SamplingFilterForm(data, user=request.user)
    filters = form.filters()
    samplings = selectors.sampling_list(request.user, filters=filters, today=today)
    if request.GET.get("export"):
        full = sees_full_pii(request.user)
        note = f"filters={ {k: str(v) for k, v in filters.items()} } full_pii={full}"
        return audited_export(
            request,
            rows=samplings.iterator(chunk_size=2000),
            columns=_columns(full),
            basename="samplings",
            note=note,
            permission=Perm.PERSON_EXPORT,
        )
    page = page_of(request, samplings)
    scope = scope_of(request.user)
    context = {
        "form": form,
        "page_obj": page,
        "view": filters.get("view", ""),
        "today": today,
        "can_export": scope.has(Perm.PERSON_EXPORT),
        "can_import": scope.has(Perm.RESULT_ENTER),
        "nav_active": NAV,
    }
    return render(request, "quarantine/testing/sampling_list.html", context)


@login_required
def sampling_list(request: HttpRequest) -> HttpResponseBase:
    return _list(request)


@login_required
def samplings_due_today(request: HttpRequest) -> HttpResponseBase:
    return _list(request, view=selectors.VIEW_DUE)


@login_required
def samplings_overdue(request: HttpRequest) -> HttpResponseBase:
    return _list(request, view=selectors.VIEW_OVERDUE)


def _detail(
    request: HttpRequest,
    sampling: Sampling,
    *,
    record_form: SamplingRecordForm | None = None,
    result_form: ResultForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    can_record = services.sampling_writable(user, sampling) and sampling.status != "cancelled"
    can_result = services.result_writable(user, sampling) and sampling.status == "sampled"
    if record_form is None and can_record:
        initial: dict[str, Any] = {"tube_code": sampling.tube_code, "sampler_name": sampling.sampler_name}
        if sampling.sampled_at:
            initial["sampled_at"] = timezone.localtime(sampling.sampled_at)
        record_form = SamplingRecordForm(initial=initial)
    if result_form is None and can_result:
        result_form = ResultForm(initial={"result": sampling.result or None, "lab": sampling.lab})
    context = {
        "sampling": sampling,
        "person": sampling.person,
        "record_form": record_form if can_record else None,
        "result_form": result_form if can_result else None,
        "events": audit.history_rows(sampling, full_pii=sees_full_pii(user)),
        "nav_active": NAV,
    }
    return render(request, "quarantine/testing/sampling_detail.html", context, status=status)


@login_required
def sampling_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.PERSON_VIEW)
    return _detail(request, selectors.sampling_get_for_user(request.user, pk))


@login_required
@require_POST
def sampling_record(request: HttpRequest, pk: int) -> HttpResponseBase:
    sampling = selectors.sampling_get_for_user(request.user, pk)
    require(request.user, Perm.SAMPLING_RECORD)
    form = SamplingRecordForm(request.POST)
    if form.is_valid():
        try:
            services.sampling_record(actor=request_user(request), sampling=sampling, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("The sampling is recorded."))
            return redirect("quarantine:sampling_detail", pk=sampling.pk)
    return _detail(request, sampling, record_form=form, status=400)


@login_required
@require_POST
def sampling_result(request: HttpRequest, pk: int) -> HttpResponseBase:
    sampling = selectors.sampling_get_for_user(request.user, pk)
    require(request.user, Perm.RESULT_ENTER)
    form = ResultForm(request.POST)
    if form.is_valid():
        previous = sampling.result
        try:
            sampling = services.result_enter(actor=request_user(request), sampling=sampling, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if sampling.result == TestResult.POSITIVE:
                messages.warning(
                    request,
                    _("Positive: %(name)s is a suspected case now and the CDC has an urgent task.")
                    % {"name": sampling.person.name},
                )
            elif previous == TestResult.POSITIVE and sampling.case_id:
                messages.warning(
                    request,
                    _("The result is changed; the suspected case stays open: the CDC excludes it on the case page."),
                )
            elif sampling.result == TestResult.INVALID:
                messages.info(request, _("Invalid result: a repeat sampling is scheduled for tomorrow."))
            else:
                messages.success(request, _("The result is saved."))
            return redirect("quarantine:sampling_detail", pk=sampling.pk)
    return _detail(request, sampling, result_form=form, status=400)


@login_required
def sampling_add(request: HttpRequest) -> HttpResponseBase:
    """An unscheduled sampling of one person (``?person=<id>``)."""
    require(request.user, Perm.SAMPLING_RECORD)
    person = person_get_for_user(request.user, request.POST.get("person") or request.GET.get("person"))
    form = UnscheduledSamplingForm(request.POST or None, initial={"person": person.pk})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            values = {k: v for k, v in form.cleaned_data.items() if k != "person"}
            try:
                sampling = services.sampling_record(actor=request_user(request), person=person, **values)
            except ValidationError as error:
                add_service_errors(form, error)
            except PermissionDenied as error:
                form.add_error(None, str(error))
                status = 403
            else:
                messages.success(request, _("The sampling is recorded."))
                return redirect("quarantine:sampling_detail", pk=sampling.pk)
    context = {"form": form, "person": person, "nav_active": NAV}
    return render(request, "quarantine/testing/sampling_add.html", context, status=status)


def _import_columns() -> list[Column]:
    return [
        (_("File"), lambda j: j.original_name),
        (_("Uploaded by"), lambda j: j.uploaded_by.username),
        (_("Uploaded at"), lambda j: local_minute(j.created_at)),
        (_("Status"), lambda j: j.get_status_display()),
        (_("Rows"), lambda j: j.summary.get("rows", "")),
        (_("New results"), lambda j: j.summary.get("created", "")),
        (_("Changed"), lambda j: j.summary.get("updated", "")),
        (_("Unchanged"), lambda j: j.summary.get("unchanged", "")),
        (_("Rejected"), lambda j: j.summary.get("rejected", "")),
        (_("Positive"), lambda j: j.summary.get("positives", "")),
    ]


@login_required
def results_import(request: HttpRequest) -> HttpResponseBase:
    """Upload a lab's result list (then the shared mapping, check and import pages); the lab imports so far."""
    require(request.user, Perm.RESULT_ENTER)
    form = ResultsUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = imports.import_upload(
                actor=request_user(request), upload=form.cleaned_data["file"], kind=ImportKind.LAB_RESULTS
            )
        except ValidationError as error:
            for message in error.messages:
                form.add_error("file", message)
        else:
            return redirect("screening:imports:detail", pk=job.pk)
    filters = ImportFilterForm(request.GET)
    filters.is_valid()
    jobs = selectors.result_imports(request.user, status=filters.cleaned_data.get("status") or "")
    if request.GET.get("export"):
        return audited_export(
            request,
            rows=jobs.iterator(),
            columns=_import_columns(),
            basename="lab-imports",
            note="",
            permission=Perm.RESULT_ENTER,
        )
    page = page_of(request, jobs)
    context = {"form": form, "filters": filters, "page_obj": page, "nav_active": NAV}
    return render(request, "quarantine/testing/results_import.html", context, status=400 if form.errors else 200)
