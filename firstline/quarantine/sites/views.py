"""Pages of quarantine sites and placements: sites with floors, rooms and staff; the occupancy board of a site and
the occupancy overview; placements (list, detail, place a person, transfer, release, end, certificate)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from firstline.accounts.models import Membership, User, request_user
from firstline.accounts.roles import Perm
from firstline.core import audit
from firstline.core.concurrency import StaleVersionError
from firstline.core.dates import local_minute
from firstline.core.exports import Column, audited_export
from firstline.core.forms import add_service_errors
from firstline.core.links import safe_next
from firstline.core.models import AuditAction
from firstline.core.paging import page_of
from firstline.core.pii import sees_full_pii, shown
from firstline.core.scoping import require, scope_of
from firstline.people.selectors import person_get_for_user, person_list
from firstline.policy.explain import explanation_lines
from firstline.quarantine import measures
from firstline.quarantine.models import (
    Facility,
    Placement,
    PlacementKind,
    PlacementStatus,
    Room,
    RoomState,
)
from firstline.quarantine.sites import certificate, selectors, services
from firstline.quarantine.sites.forms import (
    CareNeedForm,
    EndForm,
    FacilityFilterForm,
    FacilityForm,
    OccupancyFilterForm,
    PlacementFilterForm,
    PlacementForm,
    ReleaseForm,
    RoomForm,
    RoomsAddForm,
    RoomStateForm,
    StaffForm,
    TransferForm,
)
from firstline.regions.models import Division, DivisionLevel

NAV_SITES = "sites"
NAV_PLACEMENTS = "placements"
NAV_OCCUPANCY = "occupancy"
TEMPLATES = "quarantine/sites/"


def _export(request: HttpRequest, rows: Iterable[Any], columns: list[Column], *, basename: str, note: str) -> Any:
    return audited_export(
        request, rows=rows, columns=columns, basename=basename, note=note, permission=Perm.PERSON_EXPORT
    )


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


def _given_but_invalid(form: Any) -> str:
    """The form's own messages for the fields that were filled in but refused (a reason over its length), each
    with its label; '' otherwise. An empty field is left to the service, which says what it needs."""
    form.is_valid()
    return " ".join(
        f"{form.fields[name].label}: {message}"
        for name, messages_ in form.errors.items()
        if name in form.fields and (form.data.get(name) or "").strip()
        for message in messages_
    )


def _divisions(request: HttpRequest) -> QuerySet[Division]:
    return (
        Division.objects.visible_to(request.user)
        .exclude(level__in=(DivisionLevel.PROVINCE, DivisionLevel.PREFECTURE))
        .order_by("code")
    )


# -- sites -------------------------------------------------------------------------------------------------------


@login_required
def facility_list(request: HttpRequest) -> HttpResponseBase:
    form = FacilityFilterForm(request.GET)
    filters = form.filters()
    facilities = selectors.facility_list(user=request.user, filters=filters)
    if request.GET.get("export"):
        columns: list[Column] = [
            (_("Code"), lambda f: f.code),
            (_("Name"), lambda f: f.name),
            (_("Address"), lambda f: f.address),
            (_("Division"), lambda f: f.division.name),
            (_("Jurisdiction"), lambda f: f.path),
            (_("Phone"), lambda f: f.phone),
            (_("In use"), lambda f: _("yes") if f.active else _("no")),
        ]
        return _export(
            request, facilities.iterator(chunk_size=2000), columns, basename="sites", note=f"filters={filters}"
        )
    page_obj = page_of(request, facilities)
    figures = {row["facility"].pk: row for row in selectors.occupancy_rows(list(page_obj))}
    scope = scope_of(request.user)
    return render(
        request,
        TEMPLATES + "facility_list.html",
        {
            "form": form,
            "page_obj": page_obj,
            "rows": [(site, figures.get(site.pk, {})) for site in page_obj],
            "nav_active": NAV_SITES,
            "can_manage": scope.has(Perm.FACILITY_MANAGE),
            "can_export": scope.has(Perm.PERSON_EXPORT),
        },
    )


@login_required
def facility_create(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.FACILITY_MANAGE)
    form = FacilityForm(request.POST or None, divisions=_divisions(request))
    if request.method == "POST" and form.is_valid():
        try:
            facility = services.facility_create(actor=request_user(request), **form.service_values())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Created %(name)s. Add its floors and rooms below.") % {"name": facility.name})
            return redirect("quarantine:facility_detail", pk=facility.pk)
    return render(request, TEMPLATES + "facility_form.html", {"form": form, "facility": None, "nav_active": NAV_SITES})


@login_required
def facility_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.FACILITY_MANAGE)
    facility = selectors.facility_get_for_user(request.user, pk)
    initial = {name: getattr(facility, name) for name in ("code", "name", "address", "phone", "active", "note")}
    initial.update(division=facility.division_id, version=facility.version)
    form = FacilityForm(request.POST or None, initial=initial, divisions=_divisions(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.facility_update(
                actor=request_user(request),
                facility=facility,
                expected_version=form.cleaned_data.get("version") or facility.version,
                data=form.service_values(),
            )
        except StaleVersionError:
            form.add_error(None, _("Someone else changed this site since you opened the page. Please look again."))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Saved %(name)s.") % {"name": facility.name})
            return redirect("quarantine:facility_detail", pk=facility.pk)
    return render(
        request, TEMPLATES + "facility_form.html", {"form": form, "facility": facility, "nav_active": NAV_SITES}
    )


def _staff_candidates(request: HttpRequest) -> QuerySet[User]:
    users = Membership.objects.visible_to(request.user).filter(active=True, user__is_active=True).values("user_id")
    return User.objects.filter(pk__in=users).order_by("username")


@login_required
def facility_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The site: its details, staff, floors and rooms (with how many are in each), and the forms to change them."""
    facility = selectors.facility_get_for_user(request.user, pk)
    can_manage = services.can_manage_structure(request.user, facility)
    tab = request.GET.get("tab", "overview")
    context: dict[str, Any] = {"facility": facility, "tab": tab, "nav_active": NAV_SITES, "can_manage": can_manage}
    if tab == "history":
        context["events"] = audit.history_rows(facility, full_pii=sees_full_pii(request.user))
        return render(request, TEMPLATES + "facility_detail.html", context)
    context.update(_board_context(request, facility))
    context.update(
        staff=list(selectors.facility_staff(facility)),
        rooms_form=RoomsAddForm(),
        staff_form=StaffForm(users=_staff_candidates(request)) if can_manage else None,
    )
    return render(request, TEMPLATES + "facility_detail.html", context)


@login_required
@require_POST
def facility_rooms_add(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.FACILITY_MANAGE)
    facility = selectors.facility_get_for_user(request.user, pk)
    form = RoomsAddForm(request.POST)
    if form.is_valid():
        try:
            rooms = services.rooms_add(
                actor=request_user(request),
                facility=facility,
                floor_label=form.cleaned_data["floor_label"],
                numbers=form.cleaned_data["numbers"],
                capacity=form.cleaned_data["capacity"],
            )
        except ValidationError as error:
            messages.error(request, _error_text(error))
        else:
            messages.success(request, _("Added %(n)d rooms.") % {"n": len(rooms)})
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect(reverse("quarantine:facility_detail", args=[facility.pk]) + "#rooms")


@login_required
@require_POST
def facility_staff_add(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.FACILITY_MANAGE)
    facility = selectors.facility_get_for_user(request.user, pk)
    form = StaffForm(request.POST, users=_staff_candidates(request))
    if form.is_valid():
        try:
            services.staff_assign(
                actor=request_user(request),
                facility=facility,
                user=form.cleaned_data["user"],
                site_role=form.cleaned_data["site_role"],
            )
        except ValidationError as error:
            messages.error(request, _error_text(error))
        else:
            messages.success(request, _("%(user)s is on the site's staff.") % {"user": form.cleaned_data["user"]})
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect(reverse("quarantine:facility_detail", args=[facility.pk]) + "#staff")


@login_required
@require_POST
def facility_staff_remove(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.FACILITY_MANAGE)
    staff = selectors.facility_staff_get_for_user(request.user, pk)
    services.staff_remove(actor=request_user(request), staff=staff)
    messages.success(request, _("%(user)s is off the site's staff.") % {"user": staff.user})
    return redirect(reverse("quarantine:facility_detail", args=[staff.facility_id]) + "#staff")


@login_required
def room_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.FACILITY_MANAGE)
    room = selectors.room_get_for_user(request.user, pk)
    initial = {
        "number": room.number,
        "floor_label": room.floor.label,
        "capacity": room.capacity,
        "note": room.note,
        "version": room.version,
    }
    form = RoomForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.room_update(
                actor=request_user(request),
                room=room,
                expected_version=data.get("version") or room.version,
                number=data["number"],
                capacity=data["capacity"],
                note=data.get("note") or "",
                floor_label=data["floor_label"],
            )
        except StaleVersionError:
            form.add_error(None, _("Someone else changed this room since you opened the page. Please look again."))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Saved room %(room)s.") % {"room": data["number"]})
            return redirect(reverse("quarantine:facility_detail", args=[room.facility_id]) + "#rooms")
    return render(request, TEMPLATES + "room_form.html", {"form": form, "room": room, "nav_active": NAV_SITES})


@login_required
@require_POST
def room_state(request: HttpRequest, pk: int) -> HttpResponse:
    """Out of service, back in service, to disinfection, or disinfection done (state=available)."""
    room = selectors.room_get_for_user(request.user, pk)
    form = RoomStateForm(request.POST)
    default = reverse("quarantine:site_board", args=[room.facility_id])
    if not form.is_valid():
        messages.error(request, _("Choose available, disinfecting or out of service."))
        return redirect(safe_next(request, default))
    try:
        room = services.room_set_state(
            actor=request_user(request),
            room=room,
            state=form.cleaned_data["state"],
            note=form.cleaned_data.get("note") or None,
        )
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(
            request, _("Room %(room)s: %(state)s.") % {"room": room.number, "state": room.get_state_display()}
        )
    return redirect(safe_next(request, default))


_STATE_CSS = {
    RoomState.AVAILABLE: "border-success bg-success-subtle",
    RoomState.OCCUPIED: "border-danger bg-danger-subtle",
    RoomState.DISINFECTING: "border-warning bg-warning-subtle",
    RoomState.OUT_OF_SERVICE: "border-secondary bg-secondary-subtle",
}


def _url_prefix(name: str) -> str:
    """The address of ``name`` up to its primary key, so a page of hundreds of rooms reverses each name once."""
    url = reverse(name, args=[987654321])
    return url[: url.index("987654321")]


def _board_grid_html(request: HttpRequest, board: dict[str, Any], context: dict[str, Any], *, highlight: str) -> str:
    """The board's floors × rooms as HTML, written here rather than by the template engine: a site of a thousand
    rooms and two thousand people renders in a few milliseconds this way, against a tenth of a second through
    template tags. Every value from the database goes through ``escape``."""
    labels = {key: escape(str(label)) for key, label in RoomState.choices}
    late, lost, done, edit = (escape(_(text)) for text in ("overdue", "lost", "Disinfection done", "Edit"))
    placement_url, room_url = context["urls"]["placement"], context["urls"]["room"]
    can_disinfect, can_manage = context["can_disinfect"], context["can_manage"]
    csrf = escape(get_token(request))
    here = escape(request.get_full_path())
    parts: list[str] = []
    for entry in board["floors"]:
        floor = escape(entry["floor"].label)
        parts.append(
            f'<section class="mb-3" data-floor="{floor}"><h2 class="h6 mb-1">{floor}</h2>'
            '<div class="row row-cols-2 row-cols-sm-3 row-cols-md-4 row-cols-xl-6 g-2">'
        )
        for cell in entry["rooms"]:
            room, state = cell["room"], cell["state"]
            number = escape(room.number)
            css = _STATE_CSS[RoomState(state)] + (" opacity-25" if highlight and highlight != state else "")
            parts.append(
                f'<div class="col"><div class="card h-100 border-2 {css}" data-room="{number}" data-state="{state}">'
                '<div class="card-body p-2 small"><div class="d-flex justify-content-between align-items-baseline">'
                f'<span class="fw-bold fl-mono fs-6">{number}</span>'
                f'<span class="text-muted">{len(cell["occupants"])}/{room.capacity}</span></div><div>{labels[state]}'
            )
            if cell["late"]:
                parts.append(f' <span class="badge text-bg-danger" data-testid="late">{late}</span>')
            parts.append("</div>")
            for person in cell["occupants"]:
                due_css = "fl-overdue" if person["due"] else "text-muted"
                parts.append(
                    f'<div class="text-truncate"><a href="{placement_url}{person["placement_id"]}/" '
                    f'data-testid="occupant">{escape(person["name"])}</a> '
                    f'<span class="{due_css}">{person["due_date"]:%m-%d}</span>'
                    + (f' <span class="badge text-bg-danger">{lost}</span>' if person["lost"] else "")
                    + "</div>"
                )
            if room.note:
                parts.append(f'<div class="text-muted text-truncate">{escape(room.note)}</div>')
            if can_disinfect and state == RoomState.DISINFECTING:
                parts.append(
                    f'<form method="post" action="{room_url}{room.pk}/state/" class="mt-1">'
                    f'<input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">'
                    '<input type="hidden" name="state" value="available">'
                    f'<input type="hidden" name="next" value="{here}">'
                    '<button type="submit" class="btn btn-sm btn-outline-success py-0" data-testid="disinfected">'
                    f"{done}</button></form>"
                )
            if can_manage:
                parts.append(f'<a href="{room_url}{room.pk}/edit/">{edit}</a>')
            parts.append("</div></div></div>")
        parts.append("</div></section>")
    return mark_safe("".join(parts))  # noqa: S308 - built above from escaped values only


def _board_context(request: HttpRequest, facility: Facility, *, highlight: str = "") -> dict[str, Any]:
    """The site board and what its page needs: permissions, the rooms whose state may be set, the grid's HTML."""
    board = selectors.site_board(request.user, facility)
    roles = selectors.site_roles_of(request.user, facility.pk)
    can_change = services.can_change_room_states(request.user, facility, site_roles=roles)
    context: dict[str, Any] = {
        "board": board,
        "today": timezone.localdate(),
        "urls": {
            "placement": _url_prefix("quarantine:placement_detail"),
            "room": _url_prefix("quarantine:room_state"),
        },
        "changeable_rooms": (
            [cell["room"] for entry in board["floors"] for cell in entry["rooms"] if not cell["occupants"]]
            if can_change
            else []
        ),
        "can_change_states": can_change,
        "can_disinfect": services.can_change_room_states(request.user, facility, disinfection=True, site_roles=roles),
        "can_manage": services.can_manage_structure(request.user, facility),
        "settable_states": [(s.value, s.label) for s in services.SETTABLE_STATES],
    }
    context["grid_html"] = _board_grid_html(request, board, context, highlight=highlight)
    return context


def _figure(key: str) -> Any:
    return lambda row: row[key]


# -- occupancy ---------------------------------------------------------------------------------------------------


@login_required
def site_board(request: HttpRequest, pk: int) -> HttpResponse:
    """Floors × rooms of one site, coloured by state, with the people in each and their release dates."""
    require(request.user, Perm.PERSON_VIEW)
    facility = selectors.facility_get_for_user(request.user, pk)
    state = request.GET.get("state", "")
    state = state if state in RoomState.values else ""
    context = _board_context(request, facility, highlight=state)
    context.update(facility=facility, state=state, nav_active=NAV_OCCUPANCY)
    return render(request, TEMPLATES + "board.html", context)


@login_required
@require_POST
def site_board_state(request: HttpRequest, pk: int) -> HttpResponse:
    """The board's one state form: a room of the site (chosen from its free rooms), and its new state."""
    facility = selectors.facility_get_for_user(request.user, pk)
    room_id = _int_or_none(request.POST.get("room"))
    found = Room.objects.filter(facility=facility, pk=room_id).first() if room_id is not None else None
    if found is None:
        messages.error(request, _("Choose a room of this site."))
        return redirect("quarantine:site_board", pk=facility.pk)
    return room_state(request, found.pk)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@login_required
def occupancy(request: HttpRequest) -> HttpResponseBase:
    """One row per site: rooms, beds, occupied, free, disinfecting, out of service, people, due for release."""
    townships = _divisions(request).filter(level__in=(DivisionLevel.STREET, DivisionLevel.TOWN, DivisionLevel.TOWNSHIP))
    form = OccupancyFilterForm(request.GET, divisions=townships)
    division = form.cleaned_data.get("division", "") if form.is_valid() else ""
    rows = selectors.occupancy(request.user, division=division)
    totals = selectors.occupancy_totals(rows)
    if request.GET.get("export"):
        names = [
            ("rooms", _("Rooms")),
            ("beds", _("Beds")),
            ("occupied_rooms", _("Occupied rooms")),
            ("people", _("People")),
            ("available_rooms", _("Free rooms")),
            ("free_beds", _("Free beds")),
            ("disinfecting", _("Disinfecting")),
            ("out_of_service", _("Out of service")),
            ("due", _("Due for release")),
        ]
        columns: list[Column] = [
            (_("Code"), lambda r: r["facility"].code),
            (_("Site"), lambda r: r["facility"].name),
            (_("Division"), lambda r: r["facility"].division.name),
        ]
        columns += [(label, _figure(key)) for key, label in names]
        return _export(request, rows, columns, basename="occupancy", note=f"division={division}")
    page_obj = page_of(request, rows, 100)
    # Each row links its numbers to the site's board and its people: addresses built once, not reversed per cell.
    site_prefix = _url_prefix("quarantine:facility_detail")
    people = reverse("quarantine:placement_list") + "?facility="
    for row in page_obj:
        pk = row["facility"].pk
        row["board_url"] = f"{site_prefix}{pk}/board/"
        row["people_url"] = f"{people}{pk}"
    return render(
        request,
        TEMPLATES + "occupancy.html",
        {
            "form": form,
            "page_obj": page_obj,
            "totals": totals,
            "division": division,
            "today": timezone.localdate(),
            "nav_active": NAV_OCCUPANCY,
            "can_export": scope_of(request.user).has(Perm.PERSON_EXPORT),
        },
    )


# -- placements --------------------------------------------------------------------------------------------------


def _facility_choices(request: HttpRequest) -> list[tuple[int, str]]:
    return [
        (pk, f"{code} {name}")
        for pk, code, name in Facility.objects.visible_to(request.user)
        .order_by("code")
        .values_list("pk", "code", "name")
    ]


def _placement_columns(full: bool) -> list[Column]:
    return [
        (_("Name"), lambda p: p.person.name),
        (_("ID number"), lambda p: shown(p.person.id_number, "id_number", full=full)),
        (_("Phone"), lambda p: shown(p.person.phone, "phone", full=full)),
        (_("Where"), lambda p: p.get_kind_display()),
        (_("Site"), lambda p: p.facility.name if p.facility else ""),
        (_("Room"), lambda p: p.room.number if p.room else ""),
        (_("Grid"), lambda p: p.grid.name if p.grid else ""),
        (_("Phase"), lambda p: p.get_phase_display()),
        (_("Measure"), lambda p: p.measure.get_measure_type_display() if p.measure else ""),
        (_("Placed at"), lambda p: local_minute(p.start_at)),
        (_("Release due"), lambda p: p.due_date),
        (_("Status"), lambda p: p.get_status_display()),
        (_("Ended at"), lambda p: local_minute(p.ended_at)),
        (_("Reason"), lambda p: p.end_reason),
        (_("Release certificate"), lambda p: p.certificate_number),
        (_("Seal number"), lambda p: p.seal_number),
        (_("Door sensor number"), lambda p: p.sensor_number),
        (_("Jurisdiction"), lambda p: p.path),
    ]


@login_required
def placement_list(request: HttpRequest) -> HttpResponseBase:
    require(request.user, Perm.PERSON_VIEW)
    form = PlacementFilterForm(request.GET, facilities=_facility_choices(request))
    filters = form.filters()
    placements = selectors.placement_list(user=request.user, filters=filters)
    full = sees_full_pii(request.user)
    if request.GET.get("export"):
        note = f"filters={ {k: str(v) for k, v in filters.items()} } full_pii={full}"
        return _export(
            request, placements.iterator(chunk_size=2000), _placement_columns(full), basename="placements", note=note
        )
    scope = scope_of(request.user)
    return render(
        request,
        TEMPLATES + "placement_list.html",
        {
            "form": form,
            "page_obj": page_of(request, placements),
            "today": timezone.localdate(),
            "nav_active": NAV_PLACEMENTS,
            "can_export": scope.has(Perm.PERSON_EXPORT),
            "can_place": scope.has(Perm.PLACEMENT_MANAGE),
        },
    )


@login_required
def placement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The person, their measure and why, where they are, the stay's samplings and checks, care needs, and the
    transfer, release and end forms with what holds the release."""
    require(request.user, Perm.PERSON_VIEW)
    placement = selectors.placement_get_for_user(request.user, pk)
    tab = request.GET.get("tab", "overview")
    context: dict[str, Any] = {"placement": placement, "tab": tab, "nav_active": NAV_PLACEMENTS}
    if tab == "history":
        context["events"] = audit.history_rows(placement, full_pii=sees_full_pii(request.user))
        return render(request, TEMPLATES + "placement_detail.html", context)
    today = timezone.localdate()
    measure = placement.measure
    active = placement.status == PlacementStatus.ACTIVE
    history = selectors.placement_history(placement)
    context.update(
        today=today,
        measure=measure,
        explanation=explanation_lines(measure.explanation if measure else None),
        samplings=list(selectors.placement_samplings(placement)),
        checks=selectors.placement_checks(placement),
        care_needs=list(selectors.placement_care_needs(placement)),
        history=history,
        follow_on=next(
            (
                p
                for p in history
                if p.phase == "follow_on" and p.start_at >= placement.start_at and p.pk != placement.pk
            ),
            None,
        )
        if placement.status == PlacementStatus.RELEASED
        else None,
        blockers=services.release_blockers(placement, today=today) if active else [],
        early_possible=active and services.early_release_possible(placement, today=today),
        can_manage=active and scope_of(request.user).has(Perm.PLACEMENT_MANAGE),
        release_form=ReleaseForm(),
        end_form=EndForm(),
        care_form=CareNeedForm(),
    )
    return render(request, TEMPLATES + "placement_detail.html", context)


def _room_options(facility: Facility | None, *, exclude_room: int | None = None) -> list[tuple[int, str]]:
    if facility is None:
        return []
    options = []
    for row in selectors.room_choices(facility, exclude_room=exclude_room):
        room = row["room"]
        options.append((room.pk, f"{room.floor.label} {room.number} ({row['used']}/{room.capacity})"))
    return options


def _chosen_facility(request: HttpRequest, default: Facility | None = None) -> tuple[Facility | None, list[Facility]]:
    """The site picked with ``?facility=`` (else ``default``, else the only one), and the sites to pick from."""
    facilities = list(Facility.objects.visible_to(request.user).filter(active=True).order_by("code"))
    wanted = request.GET.get("facility")
    if wanted:
        chosen = next((f for f in facilities if str(f.pk) == wanted), None)
        if chosen is None:
            raise Http404
        return chosen, facilities
    if default is not None and any(f.pk == default.pk for f in facilities):
        return default, facilities
    return (facilities[0] if len(facilities) == 1 else None), facilities


def _room_for(request: HttpRequest, facility: Facility | None, room_id: int | None) -> Any:
    if room_id is None:
        return None
    room = selectors.room_get_for_user(request.user, room_id)
    if facility is not None and room.facility_id != facility.pk:
        raise Http404
    return room


@login_required
def placement_create(request: HttpRequest) -> HttpResponse:
    """Place a person (``?person=<id>``, e.g. from the person's page): in a room of a site or at home."""
    require(request.user, Perm.PLACEMENT_MANAGE)
    person_id = request.GET.get("person")
    if not person_id:
        query = request.GET.get("q", "").strip()
        found = list(person_list(user=request.user, query=query)[:20]) if query else []
        return render(
            request,
            TEMPLATES + "placement_form.html",
            {"person": None, "query": query, "found": found, "nav_active": NAV_PLACEMENTS},
        )
    person = person_get_for_user(request.user, person_id)
    measure = measures.governing_measures([person.pk]).get(person.pk)
    expected = measures.expected_kind(measure) if measure else None
    current = Placement.objects.filter(person=person, status=PlacementStatus.ACTIVE).first()
    facility, facilities = _chosen_facility(request)
    household = person.household
    from firstline.regions.selectors import responsible_candidates

    form = PlacementForm(
        request.POST or None,
        initial={
            "kind": expected or PlacementKind.CENTRALISED,
            "responsible": household.responsible_id if household else None,
        },
        rooms=_room_options(facility),
        responsible=responsible_candidates(household.grid) if household else User.objects.none(),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            room = _room_for(request, facility, data.get("room")) if data["kind"] == PlacementKind.CENTRALISED else None
            placement = services.placement_create(
                actor=request_user(request),
                person=person,
                kind=data["kind"],
                room=room,
                responsible=data.get("responsible"),
                seal_number=data.get("seal_number") or "",
                sensor_number=data.get("sensor_number") or "",
                care_needs=form.care_needs(),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("%(name)s is placed: %(where)s.") % {"name": person.name, "where": placement})
            return redirect("quarantine:placement_detail", pk=placement.pk)
    return render(
        request,
        TEMPLATES + "placement_form.html",
        {
            "person": person,
            "measure": measure,
            "explanation": explanation_lines(measure.explanation if measure else None),
            "expected": expected,
            "current": current,
            "facility": facility,
            "facilities": facilities,
            "form": form,
            "nav_active": NAV_PLACEMENTS,
        },
    )


@login_required
def placement_transfer(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a placed person to another room or site (``?facility=`` picks the site), or home."""
    require(request.user, Perm.PLACEMENT_MANAGE)
    placement = selectors.placement_get_for_user(request.user, pk)
    if placement.status != PlacementStatus.ACTIVE:
        messages.error(request, _("This placement is no longer active."))
        return redirect("quarantine:placement_detail", pk=placement.pk)
    facility, facilities = _chosen_facility(request, default=placement.facility)
    form = TransferForm(request.POST or None, rooms=_room_options(facility, exclude_room=placement.room_id))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            room = None if data.get("to_home") else _room_for(request, facility, data.get("room"))
            if room is None and not data.get("to_home"):
                raise ValidationError({"room": [_("Choose the room to move the person to.")]})
            new = services.placement_transfer(
                actor=request_user(request), placement=placement, room=room, reason=data["reason"]
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Moved %(name)s: %(where)s.") % {"name": placement.person.name, "where": new})
            # Sent home from a site, the new placement may be the grid's alone: the site's staff stay on the old one.
            visible = Placement.objects.visible_to(request.user).filter(pk=new.pk).exists()
            return redirect("quarantine:placement_detail", pk=new.pk if visible else placement.pk)
    return render(
        request,
        TEMPLATES + "placement_transfer.html",
        {
            "placement": placement,
            "facility": facility,
            "facilities": facilities,
            "form": form,
            "nav_active": NAV_PLACEMENTS,
        },
    )


@login_required
@require_POST
def placement_release(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.PLACEMENT_MANAGE)
    placement = selectors.placement_get_for_user(request.user, pk)
    form = ReleaseForm(request.POST)
    if refused := _given_but_invalid(form):
        messages.error(request, _("Not released: %(reasons)s") % {"reasons": refused})
        return redirect("quarantine:placement_detail", pk=placement.pk)
    try:
        result = services.placement_release_with_follow_on(
            actor=request_user(request), placement=placement, early_reason=form.cleaned_data.get("early_reason") or ""
        )
    except ValidationError as error:
        messages.error(request, _("Not released: %(reasons)s") % {"reasons": _error_text(error)})
        return redirect("quarantine:placement_detail", pk=placement.pk)
    text = _("%(name)s is released; certificate %(number)s.") % {
        "name": placement.person.name,
        "number": result.placement.certificate_number,
    }
    if result.follow_on is not None:
        text += " " + _("The follow-on measure starts at home until %(due)s.") % {"due": result.follow_on.due_date}
    messages.success(request, text)
    return redirect("quarantine:placement_detail", pk=placement.pk)


@login_required
@require_POST
def placement_end(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.PLACEMENT_MANAGE)
    placement = selectors.placement_get_for_user(request.user, pk)
    form = EndForm(request.POST)
    if refused := _given_but_invalid(form):
        messages.error(request, refused)
        return redirect("quarantine:placement_detail", pk=placement.pk)
    try:
        services.placement_end(
            actor=request_user(request), placement=placement, reason=form.cleaned_data.get("reason", "")
        )
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, _("The placement of %(name)s has ended.") % {"name": placement.person.name})
    return redirect("quarantine:placement_detail", pk=placement.pk)


@login_required
@require_POST
def placement_numbers(request: HttpRequest, pk: int) -> HttpResponse:
    """Seal and door-sensor numbers of a placement."""
    require(request.user, Perm.PLACEMENT_MANAGE)
    placement = selectors.placement_get_for_user(request.user, pk)
    version = _int_or_none(request.POST.get("version") or placement.version)
    stale = _("Someone else changed this placement since you opened the page. Please look again.")
    if version is None:  # a tampered or broken form: say what to do, not Python's int() message
        messages.error(request, stale)
        return redirect("quarantine:placement_detail", pk=placement.pk)
    try:
        services.placement_update(
            actor=request_user(request),
            placement=placement,
            expected_version=version,
            seal_number=request.POST.get("seal_number", ""),
            sensor_number=request.POST.get("sensor_number", ""),
        )
    except StaleVersionError:
        messages.error(request, stale)
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, _("Saved."))
    return redirect("quarantine:placement_detail", pk=placement.pk)


@login_required
def placement_certificate(request: HttpRequest, pk: int) -> HttpResponse:
    """The release certificate as an A4 PDF (released placements only); printing it is audited."""
    require(request.user, Perm.PERSON_VIEW)
    placement = selectors.placement_get_for_user(request.user, pk)
    if placement.status != PlacementStatus.RELEASED or not placement.certificate_number:
        raise Http404
    full = sees_full_pii(request.user)
    follow_on = (
        Placement.objects.filter(person_id=placement.person_id, phase="follow_on", start_at__gte=placement.start_at)
        .exclude(pk=placement.pk)
        .order_by("start_at")
        .first()
    )
    content = certificate.certificate_pdf(
        placement,
        full_pii=full,
        samplings=list(selectors.placement_samplings(placement)),
        follow_on=follow_on,
    )
    audit.record(
        actor=request.user,
        action=AuditAction.OTHER,
        instance=placement,
        note=f"release certificate {placement.certificate_number} printed full_pii={full}",
    )
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="release-{placement.certificate_number}.pdf"'
    return response


@login_required
@require_POST
def care_need_add(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.PLACEMENT_MANAGE)
    placement = selectors.placement_get_for_user(request.user, pk)
    form = CareNeedForm(request.POST)
    if form.is_valid():
        try:
            services.care_need_add(
                actor=request_user(request),
                placement=placement,
                kind=form.cleaned_data["kind"],
                description=form.cleaned_data.get("description") or "",
            )
        except ValidationError as error:
            messages.error(request, _error_text(error))
        else:
            messages.success(request, _("Need recorded."))
    return redirect(reverse("quarantine:placement_detail", args=[placement.pk]) + "#needs")


@login_required
@require_POST
def care_need_close(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.PLACEMENT_MANAGE)
    need = selectors.care_need_get_for_user(request.user, pk)
    services.care_need_close(actor=request_user(request), need=need, done=request.POST.get("done", "1") == "1")
    return redirect(reverse("quarantine:placement_detail", args=[need.placement_id]) + "#needs")
