"""Pages of 协查 batches: the list, receiving a list (dry run, then confirm), the batch with its countdowns and
per-township progress, the feedback workbook, and each person's page with the status actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from firstline.accounts.models import request_user
from firstline.accounts.roles import Perm
from firstline.core import audit
from firstline.core.concurrency import StaleVersionError
from firstline.core.exports import FORMATS, export_response
from firstline.core.models import AuditAction
from firstline.core.pii import sees_full_pii
from firstline.core.scoping import require, scope_of
from firstline.regions.models import Household
from firstline.screening.assist import selectors, services
from firstline.screening.assist.feedback import feedback_response
from firstline.screening.assist.forms import (
    BatchFilterForm,
    BatchUploadForm,
    ControlForm,
    ItemFilterForm,
    LeftForm,
    NoteForm,
    RouteForm,
    TransferForm,
)
from firstline.screening.assist.routing import Method
from firstline.screening.models import AssistItem, AssistStatus, ImportJob, ImportKind, ImportStatus

BATCH_PAGE_SIZE = 25
ITEM_PAGE_SIZE = 50
MAX_ERRORS_SHOWN = 500


def _require_assist(user: Any) -> None:
    scope = scope_of(user)
    if not (scope.has(Perm.ASSIST_MANAGE) or scope.has(Perm.ASSIST_HANDLE)):
        raise PermissionDenied(Perm.ASSIST_HANDLE)


def _errors_to_messages(request: HttpRequest, error: ValidationError) -> None:
    for text in error.messages:
        messages.error(request, text)


@login_required
def batch_list(request: HttpRequest) -> HttpResponseBase:
    _require_assist(request.user)
    form = BatchFilterForm(request.GET or {"state": "open"})
    form.is_valid()
    state, query = form.cleaned_data.get("state") or "", form.cleaned_data.get("q") or ""
    batches = selectors.batch_list(user=request.user, state=state, query=query)
    fmt = request.GET.get("export", "")
    if fmt:
        if fmt not in FORMATS:
            return HttpResponseBadRequest(_("Unknown export format: use csv or xlsx."))
        counts = selectors.status_counts(user=request.user, batch_ids=batches.values_list("id", flat=True))
        columns: list[tuple[str, Callable[[Any], Any]]] = [
            (_("Reference"), lambda b: b.reference),
            (_("Sent by"), lambda b: b.source),
            (_("Received at"), lambda b: timezone.localtime(b.received_at).strftime("%Y-%m-%d %H:%M")),
            (_("Report back by"), lambda b: timezone.localtime(b.deadline_at).strftime("%Y-%m-%d %H:%M")),
            (_("People"), lambda b: counts[b.pk]["total"]),
            *[(str(label), lambda b, s=value: counts[b.pk][s]) for value, label in AssistStatus.choices],
            (
                _("Closed at"),
                lambda b: timezone.localtime(b.closed_at).strftime("%Y-%m-%d %H:%M") if b.closed_at else "",
            ),
        ]
        audit.record(actor=request_user(request), action=AuditAction.EXPORT, note=f"协查 batches {fmt} state={state}")
        return export_response(rows=batches.iterator(), columns=columns, basename="assist-batches", fmt=fmt)
    page = Paginator(batches, BATCH_PAGE_SIZE).get_page(request.GET.get("page"))
    counts = selectors.status_counts(user=request.user, batch_ids=[b.pk for b in page])
    now = timezone.now()
    rows = [
        (
            batch,
            counts[batch.pk],
            [(status, counts[batch.pk][status]) for status in selectors.STATUS_KEYS],
            selectors.countdowns(batch, counts=counts[batch.pk], now=now),
        )
        for batch in page
    ]
    return render(
        request,
        "screening/assist/list.html",
        {
            "form": form,
            "page_obj": page,
            "rows": rows,
            "statuses": AssistStatus.choices,
            "can_manage": scope_of(request.user).has(Perm.ASSIST_MANAGE),
            "nav_active": "assist",
        },
    )


def _upload_kwargs(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "source": data["source"],
        "reference": data.get("reference") or "",
        "received_at": data.get("received_at"),
        "deadline_at": data.get("deadline_at"),
        "locate_within_hours": data.get("locate_within_hours"),
        "control_within_hours": data.get("control_within_hours"),
        "note": data.get("note") or "",
    }


def _job_for(request: HttpRequest, pk: int) -> ImportJob:
    job = (
        ImportJob.objects.visible_to(request.user)
        .filter(pk=pk, kind=ImportKind.ASSIST, uploaded_by=request_user(request), status=ImportStatus.VALIDATED)
        .first()
    )
    if job is None:
        raise Http404
    return job


@login_required
def batch_create(request: HttpRequest) -> HttpResponse:
    """Step 1: upload and dry run (row errors, routing summary). Step 2: confirm (all rows, or the valid ones)."""
    require(request.user, Perm.ASSIST_MANAGE)
    form = BatchUploadForm(request.POST or None, request.FILES or None)
    report = None
    job_id = request.POST.get("job", "")
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        actor = request_user(request)
        action = request.POST.get("action", "check")
        try:
            if data.get("file"):
                job = services.upload_store(actor=actor, upload=data["file"])
                action = "check"
            else:
                job = _job_for(request, data["job"])
            report = services.batch_upload(
                actor=actor,
                file_path=job.file.path,
                filename=job.original_name,
                dry_run=action == "check",
                valid_only=action == "valid",
                job=job,
                **_upload_kwargs(data),
            )
        except ValidationError as error:
            for field, texts in error.message_dict.items():
                form.add_error(field if field in form.fields else None, texts)
        else:
            if report.batch is not None:
                messages.success(request, _("协查 batch received: %(n)d people distributed.") % {"n": report.created})
                return redirect("screening:assist:detail", pk=report.batch.pk)
            job_id = str(job.pk)
    context: dict[str, Any] = {
        "form": form,
        "report": report,
        "job_id": job_id,
        "nav_active": "assist",
    }
    if report is not None:
        labels = _field_labels()
        context.update(
            routed=list(report.routed.items()),
            methods=[(labels[method], n) for method, n in report.methods.items() if n],
            errors=[{**e, "label": labels.get(e["field"], e["field"])} for e in report.errors[:MAX_ERRORS_SHOWN]],
            more_errors=max(0, len(report.errors) - MAX_ERRORS_SHOWN),
        )
    return render(request, "screening/assist/create.html", context)


def _field_labels() -> dict[str, str]:
    return {
        "name": _("Name"),
        "id_type": _("ID type"),
        "id_number": _("ID number"),
        "phone": _("Phone"),
        Method.REGISTRY: _("already registered (their household)"),
        Method.HOUSEHOLD: _("address matched a household"),
        Method.ADDRESS: _("address names the division"),
        Method.ID_DIVISION: _("ID number's county of registration"),
        Method.UNROUTED: _("could not route"),
    }


@login_required
def batch_detail(request: HttpRequest, pk: int) -> HttpResponseBase:
    _require_assist(request.user)
    batch = selectors.batch_get_for_user(request.user, pk)
    if request.GET.get("export"):
        require(request.user, Perm.ASSIST_MANAGE)
        fmt = request.GET["export"]
        if fmt not in FORMATS:
            return HttpResponseBadRequest(_("Unknown export format: use csv or xlsx."))
        return feedback_response(user=request.user, batch=batch, fmt=fmt)
    progress = selectors.township_progress(user=request.user, batch=batch)
    townships = [(row["code"], row["name"]) for row in progress if row["code"]]
    form = ItemFilterForm(request.GET, townships=[*townships, (selectors.QUEUE, _("not routed yet"))])
    form.is_valid()
    filters = {key: form.cleaned_data.get(key) or "" for key in ("status", "township", "q")}
    items = selectors.item_list(
        user=request.user, batch=batch, status=filters["status"], township=filters["township"], query=filters["q"]
    )
    page = Paginator(items, ITEM_PAGE_SIZE).get_page(request.GET.get("page"))
    counts = selectors.totals(progress)
    now = timezone.now()
    for item in page:
        setattr(item, "overdue_step", selectors.item_overdue(item, now=now))  # noqa: B010 - a display-only attribute
    scope = scope_of(request.user)
    can_manage = scope.has(Perm.ASSIST_MANAGE) and scope.covers_path(batch.path)
    return render(
        request,
        "screening/assist/detail.html",
        {
            "batch": batch,
            "form": form,
            "page_obj": page,
            "counts": counts,
            "countdowns": selectors.countdowns(batch, counts=counts, now=now),
            "progress": progress,
            "statuses": AssistStatus.choices,
            "can_manage": can_manage,
            "can_export": scope.has(Perm.ASSIST_MANAGE),
            "can_close": can_manage and batch.closed_at is None and counts["open"] == 0,
            "nav_active": "assist",
        },
    )


@login_required
def batch_feedback(request: HttpRequest, pk: int) -> HttpResponseBase:
    require(request.user, Perm.ASSIST_MANAGE)
    batch = selectors.batch_get_for_user(request.user, pk)
    fmt = request.GET.get("fmt", "xlsx")
    if fmt not in FORMATS:
        return HttpResponseBadRequest(_("Unknown export format: use csv or xlsx."))
    return feedback_response(user=request.user, batch=batch, fmt=fmt)


@login_required
@require_POST
def batch_close(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.ASSIST_MANAGE)
    batch = selectors.batch_get_for_user(request.user, pk)
    try:
        services.batch_close(actor=request_user(request), batch=batch)
    except ValidationError as error:
        _errors_to_messages(request, error)
    else:
        messages.success(request, _("Batch closed."))
    return redirect("screening:assist:detail", pk=batch.pk)


def _item_context(request: HttpRequest, item: AssistItem) -> dict[str, Any]:
    scope = scope_of(request.user)
    can_handle = scope.has(Perm.ASSIST_HANDLE) and scope.covers_path(item.path) and item.batch.closed_at is None
    allowed = services.TRANSITIONS.get(item.status, frozenset()) if can_handle else frozenset()
    initial = {"version": item.version}
    return {
        "item": item,
        "overdue": selectors.item_overdue(item),
        "countdowns": selectors.countdowns(item.batch, counts={item.status: 1}),
        "can_locate": AssistStatus.LOCATED in allowed,
        "can_control": AssistStatus.CONTROLLED in allowed,
        "can_settle": AssistStatus.NOT_FOUND in allowed,
        "can_route": scope.has(Perm.ASSIST_MANAGE)
        and scope.covers_path(item.batch.path)
        and item.batch.closed_at is None
        and item.status not in services.ASSIST_FINAL_STATUSES,
        "note_form": NoteForm(initial=initial, auto_id=False),
        "left_form": LeftForm(initial=initial, auto_id="left_%s"),
        "transfer_form": TransferForm(initial=initial, auto_id="transfer_%s"),
        "route_form": RouteForm(initial={**initial, "path": item.path}, auto_id="route_%s"),
        "nav_active": "assist",
    }


@login_required
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require_assist(request.user)
    item = selectors.item_get_for_user(request.user, pk)
    context = _item_context(request, item)
    context["tab"] = tab = request.GET.get("tab", "overview")
    if tab == "history":
        context["events"] = audit.history_rows(item, full_pii=sees_full_pii(request.user))
    return render(request, "screening/assist/item.html", context)


ACTION_FORMS: dict[str, type[NoteForm] | type[LeftForm] | type[TransferForm] | type[RouteForm]] = {
    "locate": NoteForm,
    "not-found": NoteForm,
    "left": LeftForm,
    "transfer": TransferForm,
    "route": RouteForm,
}


def _run(action: str, *, actor: Any, item: AssistItem, data: dict[str, Any]) -> AssistItem:
    version, note = data["version"], data.get("note") or ""
    if action == "locate":
        return services.item_locate(actor=actor, item=item, expected_version=version, note=note)
    if action == "not-found":
        return services.item_not_found(actor=actor, item=item, expected_version=version, note=note)
    if action == "left":
        return services.item_left(actor=actor, item=item, expected_version=version, left_to=data["left_to"], note=note)
    if action == "transfer":
        return services.item_transfer(
            actor=actor, item=item, expected_version=version, transferred_to=data["transferred_to"], note=note
        )
    return services.item_route(actor=actor, item=item, expected_version=version, path=data["path"])


@login_required
@require_POST
def item_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in ACTION_FORMS:
        raise Http404
    _require_assist(request.user)
    item = selectors.item_get_for_user(request.user, pk)
    form = ACTION_FORMS[action](request.POST)
    if not form.is_valid():
        for texts in form.errors.values():
            for text in texts:
                messages.error(request, str(text))
        return redirect("screening:assist:item", pk=item.pk)
    try:
        _run(action, actor=request_user(request), item=item, data=form.cleaned_data)
    except StaleVersionError:
        messages.error(request, _("Someone else changed this person since you opened the page. Check and try again."))
    except ValidationError as error:
        _errors_to_messages(request, error)
    else:
        messages.success(request, _("Saved."))
    return redirect("screening:assist:item", pk=item.pk)


@login_required
def item_control(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.ASSIST_HANDLE)
    item = selectors.item_get_for_user(request.user, pk)
    households = Household.objects.visible_to(request.user)
    initial = {
        "version": item.version,
        "arrival_date": timezone.localdate(),
        "origin": item.origin,
        "travel_place": item.origin,
        "household": item.household.code if item.household else "",
    }
    form = ControlForm(request.POST or None, initial=initial, households=households)
    if request.method == "POST" and form.is_valid():
        try:
            services.item_control(
                actor=request_user(request),
                item=item,
                expected_version=form.cleaned_data["version"],
                arrival_data=form.arrival_data(),
                note=form.cleaned_data.get("note") or "",
            )
        except StaleVersionError:
            form.add_error(None, _("Someone else changed this person since you opened the form. Check and try again."))
        except ValidationError as error:
            for field, texts in error.message_dict.items():
                name = field.split(".")[-1] if field.startswith("person.") else field
                form.add_error(name if name in form.fields else None, texts)
        else:
            messages.success(request, _("Under control: the measure is assigned."))
            return redirect("screening:assist:item", pk=item.pk)
    return render(request, "screening/assist/control.html", {"item": item, "form": form, "nav_active": "assist"})
