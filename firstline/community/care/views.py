"""Pages of frontline care: my requests, filing (one screen, fast on a phone), the township's queue with ages,
a request with its timeline and the next steps, the summary per township, and the frontline registry."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from firstline.accounts.models import request_user
from firstline.accounts.roles import Perm
from firstline.community.care import selectors, services
from firstline.community.care.forms import (
    STEP_FORMS,
    AssignForm,
    CareFileForm,
    CloseForRequesterForm,
    ConfirmForm,
    HandleForm,
    QueueFilterForm,
    ReasonForm,
    SummaryFilterForm,
    WorkerFilterForm,
    WorkerForm,
)
from firstline.community.models import CareRequest, CareStatus
from firstline.core import audit
from firstline.core.concurrency import StaleVersionError
from firstline.core.dates import local_minute
from firstline.core.exports import Column, audited_export
from firstline.core.forms import add_service_errors
from firstline.core.models import AuditAction
from firstline.core.paging import page_of
from firstline.core.pii import sees_full_pii, shown
from firstline.core.ratelimit import RateLimit, RateLimited, hit
from firstline.core.scoping import require, scope_of
from firstline.dispatch.models import Task
from firstline.people.selectors import person_get_for_user


def _require_any(user: Any, *permissions: str) -> None:
    scope = scope_of(user)
    if not any(scope.has(permission) for permission in permissions):
        raise PermissionDenied(permissions[0])


def _hours(delta: Any) -> float:
    return round(delta.total_seconds() / 3600, 1)


def _rows(requests: Iterable[CareRequest]) -> list[dict[str, Any]]:
    """Each request with its age and whether it is overdue (for the lists)."""
    now = timezone.now()
    return [
        {"care": care, "age_hours": _hours(now - care.created_at), "overdue": selectors.is_overdue(care, now)}
        for care in requests
    ]


def _care_columns() -> list[Column]:
    now = timezone.now()
    return [
        (_("Number"), lambda c: c.pk),
        (_("Filed at"), lambda c: local_minute(c.created_at)),
        (_("Age (hours)"), lambda c: _hours(now - c.created_at)),
        (_("From"), lambda c: c.get_source_display()),
        (_("Person"), lambda c: c.person.name),
        (_("Post"), lambda c: c.worker.get_post_kind_display() if c.worker else ""),
        (_("Category"), lambda c: c.get_category_display()),
        (_("Urgency"), lambda c: c.get_urgency_display()),
        (_("Description"), lambda c: c.description),
        (_("Handled by"), lambda c: c.division.name),
        (_("Status"), lambda c: c.get_status_display()),
        (_("Handler"), lambda c: str(c.handler) if c.handler else ""),
        (_("Due"), lambda c: local_minute(c.due_at)),
        (_("Overdue"), lambda c: _("yes") if selectors.is_overdue(c, now) else ""),
        (_("Filed on behalf"), lambda c: _("yes") if c.on_behalf else ""),
        (_("What was done"), lambda c: c.action_taken),
        (_("Handled at"), lambda c: local_minute(c.handled_at)),
        (_("Closed at"), lambda c: local_minute(c.closed_at)),
        (_("Times reopened"), lambda c: c.reopened),
        (_("Jurisdiction"), lambda c: c.path),
    ]


# -- requests -----------------------------------------------------------------------------------------------------


@login_required
def care_mine(request: HttpRequest) -> HttpResponse:
    """Requests I filed or that are about me, newest first."""
    _require_any(request.user, Perm.CARE_FILE, Perm.CARE_HANDLE)
    page = page_of(request, selectors.care_mine(request.user))
    page.object_list = _rows(page.object_list)
    context = {
        "page_obj": page,
        "own": selectors.worker_of(request.user),
        "can_file": scope_of(request.user).has(Perm.CARE_FILE),
        "can_handle": scope_of(request.user).has(Perm.CARE_HANDLE),
        "nav_active": "care",
    }
    return render(request, "community/care/mine.html", context)


@login_required
def care_file(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.CARE_FILE)
    own = selectors.worker_of(request.user)
    form = CareFileForm(
        request.POST or None, user=request.user, own=own, lookup_url=reverse("community:care_worker_lookup")
    )
    if request.method == "POST" and form.is_valid():
        try:
            care = services.care_request_file(actor=request_user(request), **form.service_kwargs())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("Filed. It goes to %(division)s and is due by %(due)s.")
                % {"division": care.division.name, "due": local_minute(care.due_at)},
            )
            return redirect("community:care_detail", pk=care.pk)
    return render(request, "community/care/file.html", {"form": form, "own": own, "nav_active": "care"})


@login_required
@require_GET
def care_worker_lookup(request: HttpRequest) -> HttpResponse:
    """While an account name or ID number is typed: the exact match's name and post, nothing more.

    Rate-limited per user (``PUBLIC_RATE_LIMIT``), and a match outside the user's jurisdiction is audited."""
    require(request.user, Perm.CARE_FILE)
    key = request.GET.get("worker_key", "").strip()
    context: dict[str, Any] = {"key": key, "worker": None, "limited": False}
    if key:
        try:
            hit(request, scope=f"care-lookup:{request.user.pk}", limit=RateLimit.parse(settings.PUBLIC_RATE_LIMIT))
        except RateLimited:
            context["limited"] = True
            return render(request, "community/care/_lookup.html", context, status=429)
        worker = selectors.worker_by_key(key)
        if worker is not None and not selectors.workers_visible_to(request.user).filter(pk=worker.pk).exists():
            audit.record(
                actor=request_user(request),
                action=AuditAction.OTHER,
                note=f"care: frontline worker {worker.pk} looked up by exact account/ID",
            )
        context["worker"] = worker
    return render(request, "community/care/_lookup.html", context)


@login_required
def care_queue(request: HttpRequest) -> HttpResponseBase:
    """The township's queue: oldest first with ages, overdue highlighted."""
    require(request.user, Perm.CARE_HANDLE)
    form = QueueFilterForm(request.GET or None, divisions=selectors.township_choices(request.user))
    filters = form.filters()
    requests = selectors.care_queue(user=request.user, filters=filters)
    if request.GET.get("export"):
        return audited_export(
            request,
            rows=requests.iterator(chunk_size=1000),
            columns=_care_columns(),
            basename="care-requests",
            note=f"filters={filters}",
            permission=Perm.CARE_HANDLE,
        )
    page = page_of(request, requests)
    page.object_list = _rows(page.object_list)
    context = {"form": form, "page_obj": page, "nav_active": "care_queue"}
    return render(request, "community/care/queue.html", context)


@login_required
def care_summary(request: HttpRequest) -> HttpResponseBase:
    """Per township: open, awaiting confirmation, overdue, closed, median time from filing to handling."""
    _require_any(request.user, Perm.CARE_HANDLE, Perm.CITY_SUMMARY)
    form = SummaryFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    rows = selectors.care_summary(user=request.user, filed_from=data.get("filed_from"), filed_to=data.get("filed_to"))
    if request.GET.get("export"):
        columns: list[Column] = [
            (_("Division"), lambda s: s.division.name),
            (_("Code"), lambda s: s.division.code),
            (_("Requests"), lambda s: s.total),
            (_("Open"), lambda s: s.open),
            (_("Overdue"), lambda s: s.overdue),
            (_("Awaiting confirmation"), lambda s: s.handled),
            (_("Closed"), lambda s: s.closed),
            (_("Cancelled"), lambda s: s.cancelled),
            (_("Median hours to resolve"), lambda s: s.median_hours),
        ]
        return audited_export(
            request,
            rows=rows,
            columns=columns,
            basename="care-summary",
            note=f"from={data.get('filed_from')} to={data.get('filed_to')}",
            permission=Perm.CARE_HANDLE,
        )
    totals = {key: sum(getattr(row, key) for row in rows) for key in ("total", "open", "overdue", "handled", "closed")}
    context = {"form": form, "rows": rows, "totals": totals, "nav_active": "care_queue"}
    return render(request, "community/care/summary.html", context)


def _step_forms(request: HttpRequest, care: CareRequest, access: selectors.CareAccess) -> dict[str, Any]:
    """The forms of the steps this user may take now, keyed by step."""
    initial = {"version": care.version}
    forms: dict[str, Any] = {}
    if care.status in (CareStatus.OPEN, CareStatus.ASSIGNED):
        if access.can_assign:
            forms["assign"] = AssignForm(
                initial={**initial, "handler": care.handler_id},
                candidates=selectors.handler_candidates(request.user, care),
            )
        if access.can_handle:
            forms["handle"] = HandleForm(initial=initial)
    if care.status == CareStatus.HANDLED and access.can_confirm:
        forms["confirm"] = ConfirmForm(initial=initial)
        forms["reopen"] = ReasonForm(initial=initial, prefix="reopen")
    elif care.status == CareStatus.HANDLED and access.can_close_for_requester:
        forms["close_for_requester"] = CloseForRequesterForm(initial=initial)
    if care.status not in (CareStatus.CLOSED, CareStatus.CANCELLED) and access.can_cancel:
        forms["cancel"] = ReasonForm(initial=initial, prefix="cancel")
    return forms


@login_required
def care_detail(request: HttpRequest, pk: int, *, step_forms: dict[str, Any] | None = None) -> HttpResponse:
    _require_any(request.user, Perm.CARE_FILE, Perm.CARE_HANDLE)
    care = selectors.care_get_for_user(request.user, pk)
    access = selectors.care_access(request.user, care)
    forms = _step_forms(request, care, access)
    forms.update(step_forms or {})
    task = Task.objects.visible_to(request.user).filter(pk=care.task_id).first() if care.task_id else None
    scope = scope_of(request.user)
    context = {
        "care": care,
        "access": access,
        "events": list(selectors.care_events(care)),
        "forms": forms,
        "task": task,
        "overdue": selectors.is_overdue(care),
        "age_hours": _hours(timezone.now() - care.created_at),
        "id_number": shown(care.person.id_number, "id_number", full=sees_full_pii(scope)) if access.handles else "",
        "nav_active": "care_queue" if access.handles else "care",
    }
    return render(request, "community/care/detail.html", context)


_STEPS = {
    "assign": lambda actor, care, data: services.care_request_assign(
        actor=actor, care=care, handler=data["handler"], expected_version=data["version"], note=data["note"]
    ),
    "handle": lambda actor, care, data: services.care_request_handle(
        actor=actor, care=care, expected_version=data["version"], action_taken=data["action_taken"]
    ),
    "confirm": lambda actor, care, data: services.care_request_confirm(
        actor=actor, care=care, expected_version=data["version"], note=data["note"]
    ),
    "reopen": lambda actor, care, data: services.care_request_reopen(
        actor=actor, care=care, expected_version=data["version"], reason=data["reason"]
    ),
    "cancel": lambda actor, care, data: services.care_request_cancel(
        actor=actor, care=care, expected_version=data["version"], reason=data["reason"]
    ),
}
_DONE_MESSAGES = {
    "assign": gettext_lazy("Assigned. The task moved to the handler."),
    "handle": gettext_lazy("Recorded. The requester is asked to confirm."),
    "confirm": gettext_lazy("Confirmed and closed. Thank you."),
    "reopen": gettext_lazy("Reopened: it goes back to the handler with a new due time."),
    "cancel": gettext_lazy("Cancelled."),
}


@login_required
@require_POST
def care_step(request: HttpRequest, pk: int, step: str) -> HttpResponse:
    """One step on a request (assign, handle, confirm, reopen, cancel); errors are shown on the request page."""
    if step not in _STEPS:
        raise Http404
    _require_any(request.user, Perm.CARE_FILE, Perm.CARE_HANDLE)
    care = selectors.care_get_for_user(request.user, pk)
    prefix = step if step in ("reopen", "cancel") else None
    kwargs: dict[str, Any] = {"prefix": prefix}
    if step == "assign":
        kwargs["candidates"] = selectors.handler_candidates(request.user, care)
    form = STEP_FORMS[step](request.POST, **kwargs)
    if form.is_valid():
        try:
            _STEPS[step](request_user(request), care, form.cleaned_data)
        except StaleVersionError:
            messages.error(request, _("Someone else changed this request since you opened it. Please look again."))
            return redirect("community:care_detail", pk=care.pk)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, str(_DONE_MESSAGES[step]))
            return redirect("community:care_detail", pk=care.pk)
    response = care_detail(request, pk, step_forms={step: form})
    response.status_code = 400
    return response


# -- frontline registry ---------------------------------------------------------------------------------------------


def _worker_columns(full: bool) -> list[Column]:
    return [
        (_("Name"), lambda w: w.person.name),
        (_("ID number"), lambda w: shown(w.person.id_number, "id_number", full=full)),
        (_("Phone"), lambda w: shown(w.person.phone, "phone", full=full)),
        (_("Post"), lambda w: w.get_post_kind_display()),
        (_("Where / what"), lambda w: w.post),
        (_("Organisation"), lambda w: w.organisation),
        (_("Since"), lambda w: w.since),
        (_("On the front line now"), lambda w: _("yes") if w.active else _("no")),
        (_("Account"), lambda w: w.user.username if w.user else ""),
        (_("Home"), lambda w: w.path),
    ]


@login_required
def frontline_list(request: HttpRequest) -> HttpResponseBase:
    require(request.user, Perm.FRONTLINE_MANAGE)
    form = WorkerFilterForm(request.GET or None, divisions=selectors.township_choices(request.user))
    filters = form.filters()
    workers = selectors.worker_list(user=request.user, filters=filters)
    if request.GET.get("export"):
        full = sees_full_pii(request.user)
        return audited_export(
            request,
            rows=workers.iterator(chunk_size=1000),
            columns=_worker_columns(full),
            basename="frontline-workers",
            note=f"filters={filters} full_pii={full}",
            permission=Perm.FRONTLINE_MANAGE,
        )
    context = {"form": form, "page_obj": page_of(request, workers), "nav_active": "frontline"}
    return render(request, "community/care/workers.html", context)


@login_required
def frontline_create(request: HttpRequest) -> HttpResponse:
    """Flag a person as a frontline worker: by ID number, or the person named in the link (``?person=``)."""
    require(request.user, Perm.FRONTLINE_MANAGE)
    person_pk = request.POST.get("person") or request.GET.get("person")
    person = person_get_for_user(request.user, person_pk) if person_pk else None
    form = WorkerForm(request.POST or None, user=request.user, person=person)
    if request.method == "POST" and form.is_valid():
        chosen = form.chosen_person()
        assert chosen is not None
        try:
            worker = services.frontline_worker_create(actor=request_user(request), person=chosen, **form.values())
        except ValidationError as error:
            add_service_errors(form, error, aliases={"person": "id_number", "user": "account"})
        else:
            messages.success(request, _("%(name)s is now a frontline worker.") % {"name": worker.person.name})
            return redirect("community:frontline_list")
    context = {"form": form, "person": person, "creating": True, "nav_active": "frontline"}
    return render(request, "community/care/worker_form.html", context)


@login_required
def frontline_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.FRONTLINE_MANAGE)
    worker = selectors.worker_get_for_user(request.user, pk)
    form = WorkerForm(request.POST or None, user=request.user, editing=True, initial=WorkerForm.initial_for(worker))
    if request.method == "POST" and form.is_valid():
        try:
            services.frontline_worker_update(
                actor=request_user(request),
                worker=worker,
                expected_version=form.cleaned_data.get("version") or worker.version,
                data=form.values(),
            )
        except StaleVersionError:
            form.add_error(None, _("Someone else changed this record since you opened it. Please look again."))
        except ValidationError as error:
            add_service_errors(form, error, aliases={"user": "account"})
        else:
            messages.success(request, _("Saved."))
            return redirect("community:frontline_list")
    requests = selectors.care_visible_to(request.user).filter(worker=worker).order_by("-created_at")[:20]
    context = {
        "form": form,
        "worker": worker,
        "requests": _rows(requests),
        "creating": False,
        "nav_active": "frontline",
    }
    return render(request, "community/care/worker_form.html", context)
