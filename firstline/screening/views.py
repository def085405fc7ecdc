"""Pages of arrival screening: the grid worker's phone form and its result, checkpoint entry, the arrivals list and
page, verification, the township queue, registration points with their QR posters, and re-evaluation runs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from firstline.accounts.models import request_user
from firstline.accounts.roles import Perm
from firstline.core import audit
from firstline.core.concurrency import StaleVersionError
from firstline.core.exports import Column, audited_export
from firstline.core.links import safe_next
from firstline.core.pii import sees_full_pii, shown
from firstline.core.scoping import require, scope_of
from firstline.policy.explain import calendar_for_measure, explanation_lines, measure_label
from firstline.policy.models import Measure
from firstline.regions.models import Division, Household
from firstline.screening import points, selectors, services
from firstline.screening.forms import (
    ArrivalFilterForm,
    CheckpointChooseForm,
    CheckpointForm,
    GridArrivalForm,
    PointFilterForm,
    PointForm,
    QueueFilterForm,
    ReevaluationFilterForm,
    VerifyForm,
    add_service_errors,
    travel_formset,
    travel_rows,
)
from firstline.screening.models import (
    Arrival,
    ArrivalSource,
    ArrivalStatus,
    MatchStatus,
    ReevaluationStatus,
    RegistrationPoint,
)

PAGE_SIZE = 50
REGISTERED_SESSION_KEY = "screening.registered"
CHECKPOINT_SESSION_KEY = "screening.checkpoint"


# -- helpers ----------------------------------------------------------------------------------------------------


def _measure_context(measure: Measure | None, *, lines: list[str] | None = None) -> dict[str, Any]:
    today = timezone.localdate()
    return {
        "measure": measure,
        "explanation": lines if lines is not None else explanation_lines(measure.explanation if measure else None),
        "calendar": calendar_for_measure(measure, today=today) if measure else [],
    }


def _export(request: HttpRequest, rows: Iterable[Any], columns: list[Column], *, basename: str, note: str) -> Any:
    return audited_export(
        request, rows=rows, columns=columns, basename=basename, note=note, permission=Perm.PERSON_EXPORT
    )


def _arrival_columns(full: bool) -> list[Column]:
    def measure(a: Arrival) -> str:
        return a.measure.get_measure_type_display() if a.measure else ""

    return [
        (_("Arrival date"), lambda a: a.arrival_date),
        (_("Name"), lambda a: a.person.name),
        (_("ID number"), lambda a: shown(a.person.id_number, "id_number", full=full)),
        (_("Phone"), lambda a: shown(a.person.phone, "phone", full=full)),
        (_("Coming from"), lambda a: a.origin),
        (_("Transport"), lambda a: a.get_transport_display()),
        (_("Train / flight / plate"), lambda a: a.transport_no),
        (_("Health code"), lambda a: a.get_health_code_display()),
        (_("Destination household"), lambda a: a.household.address if a.household else ""),
        (_("Destination address"), lambda a: a.destination_address),
        (_("Jurisdiction"), lambda a: a.path),
        (_("Measure"), measure),
        (_("Start"), lambda a: a.measure.start if a.measure else ""),
        (_("End"), lambda a: a.measure.end if a.measure else ""),
        (_("Source"), lambda a: a.get_source_display()),
        (_("Status"), lambda a: a.get_status_display()),
        (_("Needs review"), lambda a: _("yes") if a.needs_review else ""),
    ]


def _page(request: HttpRequest, items: Any, size: int = PAGE_SIZE) -> Any:
    return Paginator(items, size).get_page(request.GET.get("page"))


# -- the grid worker's form --------------------------------------------------------------------------------------


@login_required
def arrival_create(request: HttpRequest) -> HttpResponse:
    """One column, the questions in the order they are asked; ``?household=<code>`` preselects the destination."""
    require(request.user, Perm.ARRIVAL_ADD)
    data = request.POST if request.method == "POST" else None
    initial = {"household": request.GET.get("household", "")}
    form = GridArrivalForm(
        data,
        initial=initial,
        households=selectors.households_for_form(request.user),
        divisions=selectors.queue_divisions_for(request.user),
        household_search_url=reverse("screening:household_search"),
        lookup_url=reverse("screening:person_lookup"),
    )
    travel = travel_formset(data)
    if data is not None and all([form.is_valid(), travel.is_valid()]):
        try:
            result = services.arrival_register(
                actor=request_user(request),
                data=form.service_data(travel_rows(travel)),
                source=ArrivalSource.GRID_WORKER,
            )
        except ValidationError as error:
            add_service_errors(form, error, travel)
        else:
            request.session[REGISTERED_SESSION_KEY] = {
                "arrival": result.arrival.pk,
                "change": result.change,
                "person_created": result.person_created,
                "arrival_created": result.arrival_created,
                "decision": result.decision.measure,
                "explanation": explanation_lines(result.decision.explanation()),
                "tasks": [task.pk for task in result.tasks],
            }
            return redirect("screening:arrival_result", pk=result.arrival.pk)
    return render(
        request,
        "screening/arrival_form.html",
        {"form": form, "travel": travel, "nav_active": "arrival_new"},
    )


@login_required
def arrival_result(request: HttpRequest, pk: int) -> HttpResponse:
    """What the registration decided: the measure and why, the tasks, and the way to the next arrival."""
    arrival = selectors.arrival_get_for_user(request.user, pk)
    info = request.session.get(REGISTERED_SESSION_KEY) or {}
    if info.get("arrival") != arrival.pk:
        info = {}
    tasks = selectors.arrival_tasks_for(request.user, arrival)
    if info:
        tasks = tasks.filter(pk__in=info.get("tasks") or [])
    context = {
        "arrival": arrival,
        "info": info,
        "tasks": list(tasks),
        "pending_matches": arrival.matches.filter(status=MatchStatus.PENDING).count(),
        "nav_active": "arrival_new",
        **_measure_context(arrival.measure, lines=info.get("explanation") if info else None),
    }
    return render(request, "screening/arrival_result.html", context)


@login_required
@require_GET
def person_lookup(request: HttpRequest) -> HttpResponse:
    """While the ID is typed: the birth date and sex it encodes, and whether the person is already registered."""
    require(request.user, Perm.ARRIVAL_ADD)
    lookup = selectors.person_lookup(
        user=request.user,
        id_number=request.GET.get("id_number", ""),
        id_type=request.GET.get("id_type", "") or "resident",
        today=timezone.localdate(),
    )
    return render(request, "screening/_person_lookup.html", {"lookup": lookup})


@login_required
@require_GET
def household_search(request: HttpRequest) -> JsonResponse:
    """Households for the searchable pickers, as Tom Select options: ``?q=`` code prefix or address, ``?under=``."""
    scope = scope_of(request.user)
    if not (scope.has(Perm.ARRIVAL_ADD) or scope.has(Perm.ARRIVAL_VERIFY)):
        raise PermissionDenied(Perm.ARRIVAL_ADD)
    households = selectors.household_search(
        user=request.user, query=request.GET.get("q", ""), under=request.GET.get("under", "")
    )
    return JsonResponse(
        {"results": [{"value": h.code, "text": f"{h.address} · {h.grid.name} · {h.code}"} for h in households]}
    )


# -- checkpoint mode ---------------------------------------------------------------------------------------------


@login_required
def checkpoint(request: HttpRequest) -> HttpResponse:
    """Fast repeated entry at a road checkpoint (chosen once per session); unresolved → the township's queue."""
    require(request.user, Perm.ARRIVAL_ADD)
    available = selectors.checkpoint_points_for(request.user)
    step = request.POST.get("step") if request.method == "POST" else None
    if step == "choose":
        chooser = CheckpointChooseForm(request.POST, points=available)
        if chooser.is_valid():
            request.session[CHECKPOINT_SESSION_KEY] = chooser.cleaned_data["point"].pk
            return redirect("screening:checkpoint")
        return _checkpoint_chooser(request, chooser)
    chosen = request.session.get(CHECKPOINT_SESSION_KEY)
    point = available.filter(pk=chosen).first() if chosen and not request.GET.get("change") else None
    if point is None:
        return _checkpoint_chooser(request, CheckpointChooseForm(points=available, initial={"point": chosen}))
    form = CheckpointForm(request.POST if step == "enter" else None, divisions=selectors.destination_townships(point))
    if step == "enter" and form.is_valid():
        now = timezone.localtime()
        try:
            result = services.arrival_register(
                actor=request_user(request),
                data=form.service_data(today=now.date(), now=now.time().replace(second=0, microsecond=0)),
                source=ArrivalSource.CHECKPOINT,
                point=point,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            destination = form.cleaned_data.get("division") or point.division
            messages.success(
                request,
                _("Saved %(name)s → %(destination)s: %(measure)s.")
                % {
                    "name": result.person.name,
                    "destination": destination.name,
                    "measure": measure_label(result.measure.measure_type if result.measure else "none"),
                },
            )
            return redirect("screening:checkpoint")
    return render(
        request,
        "screening/checkpoint.html",
        {
            "point": point,
            "form": form,
            "recent": selectors.checkpoint_recent(user=request.user, point=point),
            "full_pii": sees_full_pii(request.user),
            "nav_active": "checkpoint",
        },
    )


def _checkpoint_chooser(request: HttpRequest, chooser: CheckpointChooseForm) -> HttpResponse:
    return render(request, "screening/checkpoint_choose.html", {"chooser": chooser, "nav_active": "checkpoint"})


# -- arrivals list and page --------------------------------------------------------------------------------------


@login_required
def arrival_list(request: HttpRequest) -> HttpResponseBase:
    require(request.user, Perm.PERSON_VIEW)
    form = ArrivalFilterForm(request.GET)
    filters = form.filters()
    arrivals = selectors.arrival_list(user=request.user, filters=filters)
    if request.GET.get("export"):
        full = sees_full_pii(request.user)
        return _export(
            request,
            arrivals.iterator(chunk_size=2000),
            _arrival_columns(full),
            basename="arrivals",
            note=f"filters={ {k: str(v) for k, v in filters.items()} } full_pii={full}",
        )
    scope = scope_of(request.user)
    return render(
        request,
        "screening/arrival_list.html",
        {
            "form": form,
            "page_obj": _page(request, arrivals),
            "nav_active": "arrivals",
            "can_export": scope.has(Perm.PERSON_EXPORT),
            "can_add": scope.has(Perm.ARRIVAL_ADD),
        },
    )


@login_required
def arrival_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.PERSON_VIEW)
    arrival = selectors.arrival_get_for_user(request.user, pk)
    full = sees_full_pii(request.user)
    tab = request.GET.get("tab", "overview")
    scope = scope_of(request.user)
    context: dict[str, Any] = {
        "arrival": arrival,
        "tab": tab,
        "nav_active": "arrivals",
        "full_pii": full,
        "can_verify": scope.has(Perm.ARRIVAL_VERIFY),
    }
    if tab == "history":
        context["events"] = audit.history_rows(arrival, full_pii=full)
    else:
        context.update(
            travel=selectors.arrival_travel(arrival),
            tasks=list(selectors.arrival_tasks_for(request.user, arrival)),
            **_measure_context(arrival.measure),
        )
    return render(request, "screening/arrival_detail.html", context)


@login_required
@require_POST
def match_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm or clear a possible risk-area match: the arrival is re-evaluated at once."""
    require(request.user, Perm.ARRIVAL_VERIFY)
    match = selectors.match_get_for_user(request.user, pk)
    confirm = request.POST.get("decision") == "confirm"
    try:
        result = services.match_decide(actor=request_user(request), match=match, confirm=confirm)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        measure = result.measure if result is not None else None
        messages.success(
            request,
            (
                _("Confirmed: %(place)s counts. Measure now: %(measure)s.")
                if confirm
                else _("Cleared: %(place)s does not count. Measure now: %(measure)s.")
            )
            % {"place": match.area.place, "measure": measure_label(measure.measure_type if measure else "none")},
        )
    return redirect("screening:arrival_detail", pk=match.arrival_id)


@login_required
@require_POST
def arrival_verify(request: HttpRequest, pk: int) -> HttpResponse:
    """Verify or reject a self-registration; with a household, resolve it out of the queue."""
    require(request.user, Perm.ARRIVAL_VERIFY)
    arrival = selectors.arrival_get_for_user(request.user, pk)
    form = VerifyForm(request.POST, households=Household.objects.visible_to(request.user))
    target = safe_next(request, reverse("screening:arrival_detail", args=[arrival.pk]))
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect(target)
    household = form.cleaned_data.get("household")
    reject = form.cleaned_data["action"] == "reject"
    try:
        arrival = services.arrival_verify(
            actor=request_user(request),
            arrival=arrival,
            expected_version=form.cleaned_data["version"],
            household=household,
            reject=reject,
        )
    except StaleVersionError:
        messages.error(request, _("Someone else changed this arrival since you opened the page. Please look again."))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if reject:
            messages.success(request, _("Rejected the registration of %(name)s.") % {"name": arrival.person.name})
        elif household is not None:
            messages.success(
                request,
                _("%(name)s goes to %(household)s.") % {"name": arrival.person.name, "household": household.address},
            )
        else:
            messages.success(request, _("Verified the registration of %(name)s.") % {"name": arrival.person.name})
    return redirect(target)


# -- the township queue ------------------------------------------------------------------------------------------


@login_required
def queue(request: HttpRequest) -> HttpResponseBase:
    """Arrivals in scope whose address did not resolve to a household, each with a household picker."""
    require(request.user, Perm.ARRIVAL_VERIFY)
    form = QueueFilterForm(request.GET)
    form.is_valid()
    query, status = form.cleaned_data.get("q") or "", form.cleaned_data.get("status") or ""
    arrivals = selectors.queue_list(user=request.user, query=query, status=status)
    if request.GET.get("export"):
        full = sees_full_pii(request.user)
        return _export(
            request,
            arrivals.iterator(chunk_size=2000),
            _arrival_columns(full),
            basename="arrival-queue",
            note=f"q={query!r} status={status!r} full_pii={full}",
        )
    return render(
        request,
        "screening/queue.html",
        {
            "form": form,
            "page_obj": _page(request, arrivals),
            "nav_active": "queue",
            "can_export": scope_of(request.user).has(Perm.PERSON_EXPORT),
            "pending": ArrivalStatus.PENDING,
        },
    )


# -- registration points and posters -----------------------------------------------------------------------------


def _public_url(request: HttpRequest, point: RegistrationPoint) -> str:
    return request.build_absolute_uri(reverse("public:register", args=[point.token]))


@login_required
def point_list(request: HttpRequest) -> HttpResponseBase:
    require(request.user, Perm.POINT_MANAGE)
    form = PointFilterForm(request.GET)
    form.is_valid()
    filters = {key: form.cleaned_data.get(key) or "" for key in ("q", "kind", "active")}
    found = selectors.point_list(
        user=request.user, query=filters["q"], kind=filters["kind"], active=filters["active"] or None
    )
    if request.GET.get("export"):
        columns: list[Column] = [
            (_("Name"), lambda p: p.name),
            (_("Kind"), lambda p: p.get_kind_display()),
            (_("Division"), lambda p: p.division.name),
            (_("Jurisdiction"), lambda p: p.path),
            (_("Active"), lambda p: _("yes") if p.active else _("no")),
            (_("Address"), lambda p: _public_url(request, p)),
        ]
        return _export(request, found.iterator(), columns, basename="registration-points", note=f"filters={filters}")
    return render(
        request,
        "screening/point_list.html",
        {"form": form, "page_obj": _page(request, found), "nav_active": "points"},
    )


@login_required
def point_create(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.POINT_MANAGE)
    divisions = Division.objects.visible_to(request.user).exclude(level__in=("province", "prefecture"))
    form = PointForm(request.POST or None, divisions=divisions.order_by("code"))
    if request.method == "POST" and form.is_valid():
        try:
            point = points.point_create(
                actor=request_user(request),
                kind=form.cleaned_data["kind"],
                name=form.cleaned_data["name"],
                division=form.cleaned_data["division"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Created %(name)s. Print its poster below.") % {"name": point.name})
            return redirect("screening:point_poster", pk=point.pk)
    return render(request, "screening/point_form.html", {"form": form, "nav_active": "points"})


@login_required
@require_POST
def point_active(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.POINT_MANAGE)
    point = selectors.point_get_for_user(request.user, pk)
    try:
        points.point_set_active(actor=request_user(request), point=point, active=request.POST.get("active") == "1")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("screening:point_list")


@login_required
def point_poster(request: HttpRequest, pk: int) -> HttpResponse:
    """An A4 poster to print: the point's name, instructions in Chinese and the QR code of its public page."""
    require(request.user, Perm.POINT_MANAGE)
    point = selectors.point_get_for_user(request.user, pk)
    url = _public_url(request, point)
    return render(
        request,
        "screening/point_poster.html",
        {"point": point, "url": url, "qr_svg": points.qr_svg_inline(url)},
    )


@login_required
def point_qr(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """The QR code alone, as an SVG or PNG download."""
    require(request.user, Perm.POINT_MANAGE)
    point = selectors.point_get_for_user(request.user, pk)
    if fmt not in ("svg", "png"):
        raise Http404
    content = points.qr_file(_public_url(request, point), kind=fmt)
    response = HttpResponse(content, content_type="image/svg+xml" if fmt == "svg" else "image/png")
    response["Content-Disposition"] = f'attachment; filename="registration-point-{point.pk}.{fmt}"'
    return response


# -- re-evaluation runs ------------------------------------------------------------------------------------------


def _require_reevaluations(user: Any) -> None:
    if not selectors.can_view_reevaluations(user):
        raise PermissionDenied(Perm.ARRIVAL_VERIFY)


@login_required
def reevaluation_list(request: HttpRequest) -> HttpResponseBase:
    _require_reevaluations(request.user)
    form = ReevaluationFilterForm(request.GET)
    form.is_valid()
    status, kind = form.cleaned_data.get("status") or "", form.cleaned_data.get("kind") or ""
    runs = selectors.reevaluation_list(user=request.user, status=status, kind=kind)
    if request.GET.get("export"):
        columns: list[Column] = [
            (_("Started"), lambda r: timezone.localtime(r.created_at).strftime("%Y-%m-%d %H:%M")),
            (_("Reason"), lambda r: r.reason),
            (_("Status"), lambda r: r.get_status_display()),
            (_("Arrivals checked"), lambda r: r.rows_done),
            (_("Arrivals to check"), lambda r: r.rows_total),
            (_("Changes"), lambda r: " ".join(selectors.change_sentence(row, reason=r.reason) for row in r.summary)),
        ]
        return _export(request, runs.iterator(), columns, basename="reevaluations", note=f"status={status} kind={kind}")
    return render(
        request,
        "screening/reevaluation_list.html",
        {"form": form, "page_obj": _page(request, runs), "nav_active": "reevaluations"},
    )


@login_required
def reevaluation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The change list as sentences, the progress (polled while running) and the changed arrivals one may see."""
    _require_reevaluations(request.user)
    run = selectors.reevaluation_get_for_user(request.user, pk)
    running = run.status in (ReevaluationStatus.QUEUED, ReevaluationStatus.RUNNING)
    if request.headers.get("HX-Request") and request.GET.get("progress"):
        response = render(request, "screening/_reevaluation_progress.html", {"run": run, "running": running})
        if not running:
            response["HX-Refresh"] = "true"  # finished: reload the page to show the change list
        return response
    arrivals, changes = selectors.reevaluation_changed_arrivals(run, user=request.user)
    page = _page(request, arrivals)
    return render(
        request,
        "screening/reevaluation_detail.html",
        {
            "run": run,
            "running": running,
            "sentences": selectors.reevaluation_sentences(run, user=request.user),
            "page_obj": page,
            "rows": [(arrival, changes.get(arrival.pk, "")) for arrival in page],
            "nav_active": "reevaluations",
        },
    )
