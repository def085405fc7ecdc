"""Pages of bulk imports: upload → map columns → dry run with row errors → import all or the valid rows."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from firstline.accounts.models import request_user
from firstline.accounts.roles import Perm
from firstline.core import audit
from firstline.core.exports import FORMATS, export_response
from firstline.core.models import AuditAction
from firstline.core.pii import sees_full_pii
from firstline.core.scoping import require
from firstline.screening.imports import selectors, services
from firstline.screening.imports.forms import ImportFilterForm, UploadForm
from firstline.screening.models import ImportMode, ImportStatus

PAGE_SIZE = 30
ERRORS_SHOWN = 200
FIELD_LABELS = services.ARRIVAL_LABELS


def _job_for(request: HttpRequest, pk: int) -> tuple[Any, services.ImportSpec]:
    """A job the user may see, of a kind these pages serve, and the user's right to its kind (403 without)."""
    job = selectors.import_get_for_user(request.user, pk)
    try:
        spec = services.importer_for(job.kind)
    except LookupError as exc:  # 协查 lists have their own pages
        raise Http404 from exc
    require(request.user, spec.permission)
    return job, spec


def _export_columns() -> list[tuple[str, Any]]:
    return [
        (_("File"), lambda j: j.original_name),
        (_("Uploaded by"), lambda j: j.uploaded_by.username),
        (_("Uploaded at"), lambda j: j.created_at),
        (_("Status"), lambda j: j.get_status_display()),
        (_("Rows"), lambda j: j.summary.get("rows", "")),
        (_("Created"), lambda j: j.summary.get("created", "")),
        (_("Updated"), lambda j: j.summary.get("updated", "")),
        (_("Unchanged"), lambda j: j.summary.get("unchanged", "")),
        (_("Rejected"), lambda j: j.summary.get("rejected", "")),
    ]


@login_required
def import_list(request: HttpRequest) -> HttpResponseBase:
    require(request.user, Perm.IMPORT_RUN)
    form = ImportFilterForm(request.GET)
    form.is_valid()
    jobs = selectors.import_list(request.user, status=form.cleaned_data.get("status") or "")
    fmt = request.GET.get("export", "")
    if fmt:
        if fmt not in FORMATS:
            return HttpResponseBadRequest(_("Unknown export format: use csv or xlsx."))
        audit.record(actor=request_user(request), action=AuditAction.EXPORT, note=f"imports {fmt}")
        return export_response(rows=jobs.iterator(), columns=_export_columns(), basename="imports", fmt=fmt)
    page = Paginator(jobs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "screening/imports/list.html", {"page_obj": page, "form": form, "nav_active": "imports"})


@login_required
def import_upload(request: HttpRequest) -> HttpResponseBase:
    require(request.user, Perm.IMPORT_RUN)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = services.import_upload(actor=request_user(request), upload=form.cleaned_data["file"])
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error("file", message)
        else:
            return redirect("screening:imports:detail", pk=job.pk)
    return render(request, "screening/imports/upload.html", {"form": form, "nav_active": "imports"})


def _sample_rows(job: Any, limit: int = 5) -> list[list[str]]:
    rows: list[list[str]] = []
    try:
        for number, cells in services._rows(services.Path(job.file.path), job.original_name):
            if number <= job.header_row:
                continue
            rows.append([services.spreadsheets.cell_text(c) for c in cells])
            if len(rows) >= limit:
                break
    except (OSError, services.spreadsheets.SpreadsheetError):
        return []
    return rows


@login_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponseBase:
    job, spec = _job_for(request, pk)
    mapping_errors: dict[str, list[str]] = {}
    if request.method == "POST" and "save_mapping" in request.POST:
        mapping = {name: request.POST.get(f"map_{name}", "") for name in spec.fields}
        try:
            services.import_set_mapping(
                actor=request_user(request), job=job, mapping=mapping, save_as=request.POST.get("save_as", "")
            )
        except ValidationError as exc:
            mapping_errors = exc.message_dict
        except PermissionDenied as exc:
            raise Http404 from exc
        else:
            messages.success(request, _("The column mapping is saved."))
            return redirect("screening:imports:detail", pk=job.pk)
    by_column = {index: name for name, index in job.mapping.items()}
    headers = [{"index": i, "text": text, "field": by_column.get(i, "")} for i, text in enumerate(job.headers)]
    field_rows = [
        {
            "name": name,
            "label": spec.labels.get(name, name),
            "required": name in spec.required,
            "column": job.mapping.get(name),
            "errors": mapping_errors.get(name, []),
            "synonyms": "、".join(spec.synonyms[name][:3]),
        }
        for name in spec.fields
    ]
    done, total = services.job_progress(job)
    errors = (job.summary or {}).get("errors", [])[:ERRORS_SHOWN]
    context = {
        "job": job,
        "headers": headers,
        "field_rows": field_rows,
        "sample": _sample_rows(job),
        "errors": errors,
        "more_errors": max(0, len((job.summary or {}).get("errors", [])) - ERRORS_SHOWN),
        "running": job.status in (ImportStatus.VALIDATING, ImportStatus.IMPORTING),
        "done": done,
        "total": total,
        "modes": ImportMode,
        "mine": job.uploaded_by_id == request.user.pk,
        "spec": spec,
        "figures": [(label, (job.summary or {}).get(key, 0)) for label, key in spec.figures],
        "nav_active": spec.nav_active,
    }
    return render(request, "screening/imports/detail.html", context)


@login_required
@require_POST
def import_run(request: HttpRequest, pk: int) -> HttpResponseBase:
    job, _spec = _job_for(request, pk)
    dry_run = request.POST.get("action") == "check"
    mode = request.POST.get("mode", ImportMode.ALL_OR_NOTHING)
    try:
        services.import_start(actor=request_user(request), job=job, dry_run=dry_run, mode=mode)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    except PermissionDenied as exc:
        raise Http404 from exc
    return redirect("screening:imports:detail", pk=job.pk)


@login_required
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar fragment (htmx polls it while the job runs) or JSON."""
    job, _spec = _job_for(request, pk)
    done, total = services.job_progress(job)
    running = job.status in (ImportStatus.VALIDATING, ImportStatus.IMPORTING)
    if request.headers.get("HX-Request"):
        response = render(
            request, "screening/imports/_progress.html", {"job": job, "done": done, "total": total, "running": running}
        )
        if not running:
            response["HX-Refresh"] = "true"  # finished: reload the page with the summary
        return response
    return JsonResponse({"status": job.status, "rows_done": done, "rows_total": total})


@login_required
def import_errors(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The error workbook: the rejected rows as uploaded, with the reason."""
    job, _spec = _job_for(request, pk)
    # The rejected rows are the file's own data (IDs, phones): the uploader, or a role that sees full PII.
    if not job.error_file or (job.uploaded_by_id != request.user.pk and not sees_full_pii(request.user)):
        raise Http404
    audit.record(actor=request_user(request), action=AuditAction.EXPORT, instance=job, note="import error workbook")
    return FileResponse(job.error_file.open("rb"), as_attachment=True, filename=f"errors-{job.original_name}.xlsx")


@login_required
def import_report(request: HttpRequest, pk: int) -> HttpResponseBase:
    job, _spec = _job_for(request, pk)
    keys = ("rows", "created", "updated", "unchanged", "rejected", "errors")
    summary = job.summary or {}
    response = JsonResponse({key: summary.get(key, 0 if key != "errors" else []) for key in keys})
    response["Content-Disposition"] = f'attachment; filename="report-{job.pk}.json"'
    return response
