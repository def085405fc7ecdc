from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from firstline.accounts.models import request_user
from firstline.accounts.roles import Perm
from firstline.core import audit
from firstline.core.concurrency import StaleVersionError
from firstline.core.exports import FORMATS, export_response
from firstline.core.links import record_url
from firstline.core.pii import sees_full_pii
from firstline.core.scoping import require, scope_of
from firstline.dispatch import selectors, services
from firstline.dispatch.forms import TaskCreateForm, TaskUpdateForm
from firstline.dispatch.models import TaskStatus
from firstline.people.selectors import person_get_for_user
from firstline.regions.models import Grid


@login_required
def inbox(request: HttpRequest) -> HttpResponseBase:
    require(request.user, Perm.TASK_VIEW)
    box = request.GET.get("box", "mine")
    status = request.GET.get("status", "open")
    overdue = request.GET.get("overdue") == "1"
    tasks = selectors.task_inbox(user=request.user, box=box, status=status, overdue=overdue)
    fmt = request.GET.get("export", "")
    if fmt in FORMATS:
        columns = [
            (_("Title"), lambda t: t.title),
            (_("Type"), lambda t: t.kind),
            (_("Assignee"), lambda t: t.assignee_label()),
            (_("Due"), lambda t: t.due_at.isoformat()),
            (_("Priority"), lambda t: t.get_priority_display()),
            (_("Status"), lambda t: t.get_status_display()),
            (_("Jurisdiction"), lambda t: t.path),
        ]
        return export_response(rows=tasks.iterator(), columns=columns, basename="tasks", fmt=fmt)
    page = Paginator(tasks, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "dispatch/inbox.html",
        {
            "page_obj": page,
            "box": box,
            "status": status,
            "overdue": overdue,
            "statuses": TaskStatus.choices,
            "can_add": scope_of(request.user).has(Perm.TASK_ADD),
            "nav_active": "tasks",
        },
    )


@login_required
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    task = selectors.task_get_for_user(request.user, pk)
    form = TaskUpdateForm(
        request.POST or None, initial={"status": task.status, "notes": task.notes, "version": task.version}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.task_update(
                actor=request_user(request),
                task=task,
                expected_version=form.cleaned_data["version"],
                data={"status": form.cleaned_data["status"], "notes": form.cleaned_data["notes"]},
            )
        except StaleVersionError:
            messages.error(request, _("Someone else updated this task meanwhile; here is the current state."))
            return redirect("dispatch:detail", pk=task.pk)
        except (ValidationError, PermissionDenied) as error:
            form.add_error(None, "; ".join(getattr(error, "messages", [str(error)])))
        else:
            messages.success(request, _("Task updated."))
            return redirect("dispatch:detail", pk=task.pk)
    related = record_url(task.content_type, task.object_id)
    return render(
        request,
        "dispatch/detail.html",
        {
            "task": task,
            "form": form,
            "related": related,
            "nav_active": "tasks",
            "events": audit.history_rows(task, full_pii=sees_full_pii(request.user), limit=50),
        },
    )


@login_required
def task_create(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.TASK_ADD)
    person = person_get_for_user(request.user, request.GET["person"]) if request.GET.get("person") else None
    form = TaskCreateForm(request.POST or None, grids=Grid.objects.visible_to(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            task = services.task_create(actor=request_user(request), related=person, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error.messages)
        else:
            messages.success(request, _("Task created."))
            return redirect("dispatch:detail", pk=task.pk)
    return render(request, "dispatch/create.html", {"form": form, "person": person, "nav_active": "tasks"})
