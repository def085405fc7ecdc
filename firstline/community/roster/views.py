"""Pages of the party members and volunteers (八个带头): the registry, a member's page (pledges, shifts, service),
the eight commitments, posts with their weekly duty roster, the member's own duty page (check in / out on a phone)
and service records. Views parse input, call one service or selector, and render.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from firstline.accounts.models import request_user
from firstline.accounts.roles import Perm
from firstline.community.models import PledgeSignature, PostKind, ShiftStatus, Volunteer
from firstline.community.roster import coverage, exports, selectors, services
from firstline.community.roster.forms import (
    CommitmentForm,
    PledgeFilterForm,
    PledgeSignForm,
    PostFilterForm,
    PostForm,
    ServiceEntryForm,
    ServiceFilterForm,
    ShiftForm,
    VolunteerFilterForm,
    VolunteerForm,
)
from firstline.core import audit
from firstline.core.concurrency import StaleVersionError
from firstline.core.exports import audited_export
from firstline.core.forms import add_service_errors
from firstline.core.links import safe_next
from firstline.core.paging import page_of
from firstline.core.pii import mask_changes, sees_full_pii
from firstline.core.scoping import require, scope_of

NAV = "volunteers"
NAV_POSTS = "duty_posts"
NAV_DUTY = "my_duty"
EXPORT_CHUNK = 500


# -- helpers ----------------------------------------------------------------------------------------------------


def _stale(request: HttpRequest, form: Form, error: StaleVersionError) -> list[dict[str, Any]]:
    """Show what changed meanwhile and let the editor save again over it."""
    form.add_error(None, _("Someone else changed this since you opened the form. Review their changes, then save."))
    data = request.POST.copy()
    data["version"] = str(error.current)
    form.data = data
    full = sees_full_pii(request.user)
    return [{**c, "changes": mask_changes(c["changes"], full=full)} for c in error.changes_since]


def _day(value: str | None) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(value or "")
    except ValueError:
        return None


def _note(request: HttpRequest) -> str:
    return f"filters={request.GET.urlencode()} full_pii={sees_full_pii(request.user)}"


# -- the registry ---------------------------------------------------------------------------------------------


@login_required
def volunteer_list(request: HttpRequest) -> HttpResponseBase:
    require(request.user, Perm.VOLUNTEER_MANAGE)
    form = VolunteerFilterForm(request.GET or None, areas=selectors.area_choices(request.user))
    volunteers = selectors.volunteer_list(request.user, **form.filters())
    if request.GET.get("export"):
        return audited_export(
            request,
            rows=volunteers.iterator(chunk_size=1000),
            columns=exports.volunteer_columns(full=sees_full_pii(request.user)),
            basename="volunteers",
            note=_note(request),
            permission=Perm.PERSON_EXPORT,
        )
    page = page_of(request, volunteers)
    page.object_list = list(page.object_list)
    for volunteer in page.object_list:
        volunteer.skill_labels = [services.skill_label(s) for s in volunteer.skills]
    scope = scope_of(request.user)
    return render(
        request,
        "community/roster/volunteer_list.html",
        {
            "form": form,
            "page_obj": page,
            "commitment_total": selectors.commitments().filter(active=True).count(),
            "skill_choices": services.SKILL_CHOICES,
            "can_export": scope.has(Perm.PERSON_EXPORT),
            "nav_active": NAV,
        },
    )


@login_required
def volunteer_create(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.VOLUNTEER_MANAGE)
    form = VolunteerForm(
        request.POST or None,
        areas=selectors.area_choices(request.user),
        initial={"id_number": request.GET.get("id_number", ""), "kind": "party_member", "active": True},
    )
    if request.method == "POST" and form.is_valid():
        actor = request_user(request)
        try:
            person = selectors.person_by_id_number(actor, form.cleaned_data["id_number"], form.cleaned_data["id_type"])
            volunteer = services.volunteer_create(
                actor=actor,
                person=person,
                account=selectors.account_by_username(actor, form.cleaned_data.get("account") or ""),
                **form.volunteer_values(),
            )
        except ValidationError as error:
            add_service_errors(form, error, aliases={"person": "id_number"})
        else:
            messages.success(request, _("%(name)s registered.") % {"name": volunteer.person.name})
            return redirect("community:volunteer_detail", pk=volunteer.pk)
    return render(request, "community/roster/volunteer_form.html", {"form": form, "creating": True, "nav_active": NAV})


@login_required
def volunteer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.VOLUNTEER_MANAGE)
    volunteer = selectors.volunteer_get_for_user(request.user, pk)
    full = sees_full_pii(request.user)
    tab = request.GET.get("tab", "overview")
    context: dict[str, Any] = {"volunteer": volunteer, "tab": tab, "nav_active": NAV, "full_pii": full}
    if tab == "history":
        context["events"] = audit.history_rows(volunteer, full_pii=full)
        return render(request, "community/roster/volunteer_detail.html", context)
    date_from, date_to = _day(request.GET.get("date_from")), _day(request.GET.get("date_to"))
    context.update(
        skills=[services.skill_label(s) for s in volunteer.skills],
        pledges=selectors.member_pledges(volunteer),
        sign_form=PledgeSignForm(),
        shifts=selectors.member_shifts(volunteer),
        record=selectors.service_record(volunteer, date_from=date_from, date_to=date_to),
        date_from=date_from,
        date_to=date_to,
        entries=selectors.service_entries(volunteer),
        entry_form=ServiceEntryForm(),
        can_write=scope_of(request.user).covers_path(volunteer.path),
    )
    return render(request, "community/roster/volunteer_detail.html", context)


@login_required
def volunteer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.VOLUNTEER_MANAGE)
    volunteer = selectors.volunteer_get_for_user(request.user, pk)
    form = VolunteerForm(
        request.POST or None,
        areas=selectors.area_choices(request.user),
        editing=True,
        initial=VolunteerForm.initial_for(volunteer),
    )
    stale_changes: list[dict[str, Any]] = []
    if request.method == "POST" and form.is_valid():
        actor = request_user(request)
        try:
            data = form.volunteer_values()
            data["account"] = selectors.account_by_username(actor, form.cleaned_data.get("account") or "")
            services.volunteer_update(
                actor=actor, volunteer=volunteer, expected_version=form.cleaned_data.get("version") or 0, data=data
            )
        except StaleVersionError as error:
            stale_changes = _stale(request, form, error)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("community:volunteer_detail", pk=volunteer.pk)
    return render(
        request,
        "community/roster/volunteer_form.html",
        {"form": form, "volunteer": volunteer, "stale_changes": stale_changes, "nav_active": NAV},
    )


@login_required
@require_POST
def pledge_sign(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.VOLUNTEER_MANAGE)
    volunteer = selectors.volunteer_get_for_user(request.user, pk)
    form = PledgeSignForm(request.POST)
    if form.is_valid():
        try:
            signed = services.pledge_sign(
                actor=request_user(request),
                volunteer=volunteer,
                commitments=list(form.cleaned_data["commitments"]),
                signed_on=form.cleaned_data["signed_on"],
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("%(n)s commitments signed.") % {"n": len(signed)})
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect(reverse("community:volunteer_detail", args=[volunteer.pk]) + "#pledges")


@login_required
@require_POST
def pledge_withdraw(request: HttpRequest, pk: int, signature_pk: int) -> HttpResponse:
    require(request.user, Perm.VOLUNTEER_MANAGE)
    volunteer = selectors.volunteer_get_for_user(request.user, pk)
    signature = PledgeSignature.objects.filter(volunteer=volunteer, pk=signature_pk).select_related("volunteer").first()
    if signature is None:
        messages.error(request, _("This signature was already removed."))
    else:
        services.pledge_withdraw(actor=request_user(request), signature=signature)
        messages.success(request, _("Signature removed."))
    return redirect(reverse("community:volunteer_detail", args=[volunteer.pk]) + "#pledges")


@login_required
@require_POST
def service_entry_add(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.VOLUNTEER_MANAGE)
    volunteer = selectors.volunteer_get_for_user(request.user, pk)
    form = ServiceEntryForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.service_entry_add(
                actor=request_user(request),
                volunteer=volunteer,
                day=data["day"],
                hours=data["hours"],
                description=data["description"],
                commitment=data.get("commitment"),
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Service recorded."))
    else:
        messages.error(
            request,
            " ".join(
                f"{form.fields[k].label if k in form.fields else ''}: {' '.join(str(e) for e in v)}"
                for k, v in form.errors.items()
            ),
        )
    return redirect(reverse("community:volunteer_detail", args=[volunteer.pk]) + "#service")


# -- the eight commitments and pledge records ----------------------------------------------------------------


@login_required
def pledge_list(request: HttpRequest) -> HttpResponseBase:
    require(request.user, Perm.VOLUNTEER_MANAGE)
    form = PledgeFilterForm(request.GET or None, areas=selectors.area_choices(request.user))
    records = selectors.pledge_records(request.user, **form.filters())
    if request.GET.get("export"):
        return audited_export(
            request,
            rows=records.iterator(chunk_size=2000),
            columns=exports.pledge_columns(),
            basename="pledges",
            note=_note(request),
            permission=Perm.VOLUNTEER_MANAGE,
        )
    return render(
        request,
        "community/roster/pledge_list.html",
        {
            "form": form,
            "counts": selectors.commitment_counts(request.user),
            "page_obj": page_of(request, records),
            "can_edit": services.can_edit_commitments(request.user),
            "nav_active": NAV,
        },
    )


@login_required
def commitment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    from django.core.exceptions import PermissionDenied

    if not services.can_edit_commitments(request.user):
        raise PermissionDenied(Perm.VOLUNTEER_MANAGE)
    commitment = selectors.commitment_get(pk)
    form = CommitmentForm(
        request.POST or None, initial={"title": commitment.title, "text": commitment.text, "active": commitment.active}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.commitment_update(actor=request_user(request), commitment=commitment, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("community:pledge_list")
    return render(
        request, "community/roster/commitment_form.html", {"form": form, "commitment": commitment, "nav_active": NAV}
    )


# -- posts and their rosters ----------------------------------------------------------------------------------


@login_required
def post_list(request: HttpRequest) -> HttpResponseBase:
    require(request.user, Perm.VOLUNTEER_MANAGE)
    form = PostFilterForm(request.GET or None, areas=selectors.area_choices(request.user))
    posts = selectors.post_list(request.user, **form.filters())
    if request.GET.get("export"):
        columns = [
            (_("Name"), lambda p: p.name),
            (_("Kind"), lambda p: p.get_kind_display()),
            (_("Place"), lambda p: p.place),
            (_("Division"), lambda p: p.division.name),
            (_("Jurisdiction"), lambda p: p.path),
            (_("Covered from"), lambda p: p.opens_at.strftime("%H:%M")),
            (_("Covered until"), lambda p: p.closes_at.strftime("%H:%M")),
            (_("People needed at once"), lambda p: p.min_staff),
            (_("Active"), lambda p: _("yes") if p.active else _("no")),
        ]
        return audited_export(
            request,
            rows=posts.iterator(chunk_size=1000),
            columns=columns,
            basename="duty-posts",
            note=_note(request),
            permission=Perm.VOLUNTEER_MANAGE,
        )
    return render(
        request,
        "community/roster/post_list.html",
        {"form": form, "page_obj": page_of(request, posts), "nav_active": NAV_POSTS, "kinds": PostKind},
    )


@login_required
def post_create(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.VOLUNTEER_MANAGE)
    form = PostForm(
        request.POST or None,
        areas=selectors.area_choices(request.user),
        initial={"opens_at": datetime.time(8), "closes_at": datetime.time(20), "min_staff": 1, "active": True},
    )
    if request.method == "POST" and form.is_valid():
        try:
            post = services.post_create(actor=request_user(request), **form.post_values())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Post “%(name)s” created.") % {"name": post.name})
            return redirect("community:post_roster", pk=post.pk)
    return render(request, "community/roster/post_form.html", {"form": form, "creating": True, "nav_active": NAV_POSTS})


@login_required
def post_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.VOLUNTEER_MANAGE)
    post = selectors.post_get_for_user(request.user, pk)
    form = PostForm(
        request.POST or None, areas=selectors.area_choices(request.user), initial=PostForm.initial_for(post)
    )
    stale_changes: list[dict[str, Any]] = []
    if request.method == "POST" and form.is_valid():
        try:
            services.post_update(
                actor=request_user(request),
                post=post,
                expected_version=form.cleaned_data.get("version") or 0,
                data=form.post_values(),
            )
        except StaleVersionError as error:
            stale_changes = _stale(request, form, error)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("community:post_roster", pk=post.pk)
    return render(
        request,
        "community/roster/post_form.html",
        {"form": form, "post": post, "stale_changes": stale_changes, "nav_active": NAV_POSTS},
    )


def _roster_url(post_pk: int, monday: datetime.date) -> str:
    return reverse("community:post_roster", args=[post_pk]) + "?" + urlencode({"week": monday.isoformat()})


@login_required
def post_roster(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The week grid of a post (days × hours), its gaps, and the form that adds a shift (conflicts refused)."""
    require(request.user, Perm.VOLUNTEER_MANAGE)
    post = selectors.post_get_for_user(request.user, pk)
    day = _day(request.GET.get("week") or request.POST.get("week")) or timezone.localdate()
    monday = coverage.week_start(day)
    if request.GET.get("export"):
        return audited_export(
            request,
            rows=selectors.week_shifts(post, monday),
            columns=exports.shift_columns(),
            basename=f"roster-{monday.isoformat()}",
            note=f"post={post.pk} week={monday.isoformat()}",
            permission=Perm.VOLUNTEER_MANAGE,
        )
    volunteers = selectors.staffable_volunteers(request.user)
    form = ShiftForm(request.POST or None, volunteers=volunteers, initial=_shift_initial(post, monday))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            shift = services.shift_create(
                actor=request_user(request),
                post=post,
                volunteer=data["volunteer"],
                start=data["start"],
                end=data["end"],
                note=data.get("note") or "",
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("%(name)s on duty: %(shift)s.")
                % {"name": shift.volunteer.person.name, "shift": services.shift_label(shift)},
            )
            return redirect(_roster_url(post.pk, coverage.week_start(timezone.localtime(shift.start).date())))
    can_write = scope_of(request.user).covers_path(post.path)
    return render(
        request,
        "community/roster/roster.html",
        {
            "post": post,
            "week": selectors.roster_week(post, monday),
            "form": form,
            "can_write": can_write,
            "today": timezone.localdate(),
            "nav_active": NAV_POSTS,
        },
    )


def _shift_initial(post: Any, monday: datetime.date) -> dict[str, Any]:
    """The form starts on the week's first day (today in the current week) at the post's opening hour (local)."""
    today = timezone.localdate()
    day = today if monday <= today < monday + coverage.DAY * 7 else monday
    start = timezone.make_aware(datetime.datetime.combine(day, post.opens_at))
    end_day = day if post.closes_at > post.opens_at else day + coverage.DAY
    return {"start": start, "end": timezone.make_aware(datetime.datetime.combine(end_day, post.closes_at))}


@login_required
@require_POST
def roster_copy(request: HttpRequest, pk: int) -> HttpResponse:
    """Copy last week's roster into this week, skipping (and listing) what would clash."""
    require(request.user, Perm.VOLUNTEER_MANAGE)
    post = selectors.post_get_for_user(request.user, pk)
    monday = coverage.week_start(_day(request.POST.get("week")) or timezone.localdate())
    try:
        report = services.roster_copy_week(actor=request_user(request), post=post, week=monday)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(_roster_url(post.pk, monday))
    messages.success(request, _("%(n)s shifts copied from last week.") % {"n": len(report.copied)})
    for shift, reason in report.skipped:
        messages.warning(
            request,
            _("Not copied: %(name)s, %(shift)s — %(reason)s")
            % {"name": shift.volunteer.person.name, "shift": services.shift_label(shift), "reason": reason},
        )
    return redirect(_roster_url(post.pk, monday))


@login_required
@require_POST
def shift_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.VOLUNTEER_MANAGE)
    shift = selectors.shift_get_for_user(request.user, pk)
    try:
        services.shift_cancel(actor=request_user(request), shift=shift, reason=request.POST.get("reason", ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Shift cancelled: %(shift)s.") % {"shift": services.shift_label(shift)})
    monday = coverage.week_start(timezone.localtime(shift.start).date())
    return redirect(safe_next(request, _roster_url(shift.post_id, monday)))


# -- on duty (the member's own phone) -------------------------------------------------------------------------


@login_required
def my_duty(request: HttpRequest) -> HttpResponse:
    """The member's shifts with one big button: check in (from a little before the start), then check out."""
    now = timezone.now()
    volunteer = selectors.volunteer_of(request.user)
    shifts = selectors.my_shifts(request.user, now=now) if volunteer else []
    early = services.checkin_early()
    rows = [
        {
            "shift": shift,
            "can_check_in": shift.status == ShiftStatus.PLANNED and shift.start - early <= now < shift.end,
            "can_check_out": shift.status == ShiftStatus.ON_DUTY,
            "opens_at": shift.start - early,
        }
        for shift in shifts
    ]
    return render(
        request,
        "community/roster/my_duty.html",
        {"volunteer": volunteer, "rows": rows, "now": now, "nav_active": NAV_DUTY},
    )


@login_required
@require_POST
def shift_check_in(request: HttpRequest, pk: int) -> HttpResponse:
    shift = selectors.shift_get_for_user(request.user, pk)
    try:
        services.shift_check_in(actor=request_user(request), shift=shift)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Checked in at %(post)s.") % {"post": shift.post.name})
    return redirect("community:my_duty")


@login_required
@require_POST
def shift_check_out(request: HttpRequest, pk: int) -> HttpResponse:
    shift = selectors.shift_get_for_user(request.user, pk)
    try:
        services.shift_check_out(actor=request_user(request), shift=shift)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Checked out. Thank you!"))
    return redirect("community:my_duty")


# -- service records ------------------------------------------------------------------------------------------


def _records_stream(
    volunteers: QuerySet[Volunteer], *, date_from: datetime.date | None, date_to: datetime.date | None
) -> Iterator[selectors.ServiceRecord]:
    chunk: list[Volunteer] = []
    for volunteer in volunteers.iterator(chunk_size=EXPORT_CHUNK):
        chunk.append(volunteer)
        if len(chunk) == EXPORT_CHUNK:
            yield from selectors.service_records(chunk, date_from=date_from, date_to=date_to)
            chunk = []
    if chunk:
        yield from selectors.service_records(chunk, date_from=date_from, date_to=date_to)


@login_required
def service_list(request: HttpRequest) -> HttpResponseBase:
    """Service records of the members of a division for a period: hours, posts, tasks, households, other service."""
    require(request.user, Perm.VOLUNTEER_MANAGE)
    today = timezone.localdate()
    data = request.GET.copy()
    if not data.get("date_from") and not data.get("date_to"):
        data.update({"date_from": today.replace(day=1).isoformat(), "date_to": today.isoformat()})
    form = ServiceFilterForm(data, areas=selectors.area_choices(request.user))
    filters = form.filters()
    period = {"date_from": filters["date_from"], "date_to": filters["date_to"]}
    volunteers = selectors.volunteer_list(
        request.user, area=filters["area"], kind=filters["kind"], active=None
    ).order_by("path", "person__name", "id")
    if request.GET.get("export"):
        rows: Iterable[Any] = _records_stream(volunteers, **period)
        return audited_export(
            request,
            rows=rows,
            columns=exports.service_columns(),
            basename="service-records",
            note=_note(request),
            permission=Perm.VOLUNTEER_MANAGE,
        )
    page = page_of(request, volunteers)
    page.object_list = selectors.service_records(list(page.object_list), **period)
    return render(
        request, "community/roster/service_list.html", {"form": form, "page_obj": page, "nav_active": NAV, **period}
    )
