from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from firstline.accounts.models import request_user
from firstline.accounts.roles import Perm
from firstline.core import audit
from firstline.core.concurrency import StaleVersionError
from firstline.core.exports import FORMATS, export_response
from firstline.core.models import AuditAction
from firstline.core.panels import render_panels
from firstline.core.pii import mask_changes, sees_full_pii, shown
from firstline.core.scoping import require, scope_of
from firstline.people import selectors, services
from firstline.people.forms import PersonForm, PersonSearchForm
from firstline.regions.models import Division, Household

PAGE_SIZE = 50


def _export_columns(full: bool) -> list[tuple[str, Any]]:
    return [
        (_("Name"), lambda p: p.name),
        (_("ID type"), lambda p: p.get_id_type_display()),
        (_("ID number"), lambda p: shown(p.id_number, "id_number", full=full)),
        (_("Phone"), lambda p: shown(p.phone, "phone", full=full)),
        (_("Sex"), lambda p: p.get_sex_display()),
        (_("Birth date"), lambda p: p.birth_date),
        (_("Ethnicity"), lambda p: p.ethnicity),
        (_("Household"), lambda p: p.household.address if p.household else ""),
        (_("Jurisdiction"), lambda p: p.path),
    ]


@login_required
def person_list(request: HttpRequest) -> HttpResponseBase:
    require(request.user, Perm.PERSON_VIEW)
    form = PersonSearchForm(request.GET)
    form.is_valid()
    filters = {key: form.cleaned_data.get(key) or "" for key in ("q", "grid", "division")}
    people = selectors.person_list(
        user=request.user, query=filters["q"], grid_code=filters["grid"], division_code=filters["division"]
    )
    fmt = request.GET.get("export", "")
    if fmt:
        require(request.user, Perm.PERSON_EXPORT)
        if fmt not in FORMATS:
            return HttpResponseBadRequest(_("Unknown export format: use csv or xlsx."))
        full = sees_full_pii(request.user)
        audit.record(
            actor=request_user(request),
            action=AuditAction.EXPORT,
            note=f"persons {fmt} filters={filters} full_pii={full}",
        )
        return export_response(
            rows=people.iterator(chunk_size=2000), columns=_export_columns(full), basename="persons", fmt=fmt
        )
    page = Paginator(people, PAGE_SIZE).get_page(request.GET.get("page"))
    template = "people/_results.html" if request.headers.get("HX-Request") else "people/list.html"
    return render(
        request,
        template,
        {
            "form": form,
            "page_obj": page,
            "filters": filters,
            "nav_active": "people",
            "can_export": scope_of(request.user).has(Perm.PERSON_EXPORT),
            "can_add": scope_of(request.user).has(Perm.PERSON_ADD),
        },
    )


def _households_for(request: HttpRequest) -> Any:
    return Household.objects.visible_to(request.user)


def _form_errors_from(form: PersonForm, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, messages_ in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages_)
    else:
        form.add_error(None, error.messages)


@login_required
def person_create(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.PERSON_ADD)
    form = PersonForm(request.POST or None, households=_households_for(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        division = None
        if data["household"] is None:
            # Without a household the person belongs to the user's own (single) jurisdiction.
            paths = scope_of(request.user).paths
            division = Division.objects.filter(code=paths[0].split("-")[0]).first() if len(paths) == 1 else None
        try:
            person = services.person_create(
                actor=request_user(request),
                name=data["name"],
                id_type=data["id_type"],
                id_number=data["id_number"],
                phone=data["phone"],
                ethnicity=data["ethnicity"],
                sex=data["sex"],
                birth_date=data["birth_date"],
                household=data["household"],
                division=division,
            )
        except ValidationError as error:
            _form_errors_from(form, error)
        else:
            messages.success(request, _("Registered %(name)s.") % {"name": person.name})
            return redirect("people:detail", pk=person.pk)
    return render(request, "people/form.html", {"form": form, "nav_active": "people", "creating": True})


@login_required
def person_detail(request: HttpRequest, pk: int) -> HttpResponse:
    person = selectors.person_get_for_user(request.user, pk)
    tab = request.GET.get("tab", "overview")
    full = sees_full_pii(request.user)
    context: dict[str, Any] = {
        "person": person,
        "tab": tab,
        "nav_active": "people",
        "full_pii": full,
        "can_change": scope_of(request.user).has(Perm.PERSON_CHANGE),
        "can_reveal": scope_of(request.user).has(Perm.PII_REVEAL) and not full,
    }
    if tab == "history":
        context["events"] = audit.history_rows(person, full_pii=full)
    else:
        context["household_members"] = (
            selectors.person_list(user=request.user, household_id=person.household_id).exclude(pk=person.pk)
            if person.household_id
            else []
        )
        context["panels"] = render_panels(request, person)
    return render(request, "people/detail.html", context)


@login_required
def person_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.PERSON_CHANGE)
    person = selectors.person_get_for_user(request.user, pk)
    full = sees_full_pii(request.user)
    initial = PersonForm.initial_for(person)
    if not full:
        # A masked role may correct a name or type a new phone, but never sees the stored values: the form starts
        # from the masked ones, and an untouched masked field counts as unchanged.
        for field in ("id_number", "phone"):
            initial[field] = shown(initial[field], field, full=False)
    form = PersonForm(request.POST or None, initial=initial, households=_households_for(request))
    stale: StaleVersionError | None = None
    if request.method == "POST" and form.is_valid():
        data = {key: value for key, value in form.cleaned_data.items() if key != "version"}
        changed = {key: value for key, value in data.items() if key in form.changed_data}
        try:
            services.person_update(
                actor=request_user(request),
                person=person,
                expected_version=form.cleaned_data["version"] or 0,
                data=changed,
            )
        except StaleVersionError as error:
            stale = error
            form.add_error(
                None,
                _(
                    "Someone else changed this person since you opened the form. Review their "
                    "changes below, then edit again."
                ),
            )
        except ValidationError as error:
            _form_errors_from(form, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("people:detail", pk=person.pk)
    stale_changes = (
        [{**c, "changes": mask_changes(c["changes"], full=full)} for c in stale.changes_since] if stale else []
    )
    return render(
        request,
        "people/form.html",
        {"form": form, "person": person, "nav_active": "people", "stale_changes": stale_changes},
    )


@login_required
@require_POST
def person_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    person = selectors.person_get_for_user(request.user, pk)
    values = services.pii_reveal(actor=request_user(request), person=person)
    return render(request, "people/_revealed.html", {"values": values, "person": person})


@login_required
def duplicate_list(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.PERSON_MERGE)
    candidates = selectors.duplicate_candidates(user=request.user)
    page = Paginator(candidates, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "people/duplicates.html",
        {"page_obj": page, "nav_active": "duplicates", "full_pii": sees_full_pii(request.user)},
    )


@login_required
@require_POST
def duplicate_resolve(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.PERSON_MERGE)
    first = selectors.person_get_for_user(request.user, request.POST.get("first"))
    second = selectors.person_get_for_user(request.user, request.POST.get("second"))
    action = request.POST.get("action")
    try:
        if action == "dismiss":
            services.duplicate_dismiss(actor=request_user(request), first=first, second=second)
            messages.success(request, _("Marked as different people; this pair will not be proposed again."))
        elif action in ("keep_first", "keep_second"):
            keep, merge = (first, second) if action == "keep_first" else (second, first)
            services.person_merge(actor=request_user(request), keep=keep, merge=merge)
            messages.success(request, _("Merged into %(name)s (#%(id)s).") % {"name": keep.name, "id": keep.pk})
        else:
            messages.error(request, _("Choose merge or not-a-duplicate."))
    except ValidationError as error:
        messages.error(request, "; ".join(error.messages))
    return redirect("people:duplicates")
