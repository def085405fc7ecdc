from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.db.models.functions import Lower
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_date
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from firstline.accounts import otp, selectors, services
from firstline.accounts.forms import MembershipForm, OtpForm, UserCreateForm
from firstline.accounts.models import Membership, request_user
from firstline.accounts.roles import Perm
from firstline.core.exports import FORMATS, export_response
from firstline.core.models import AuditAction
from firstline.core.pii import mask_changes, sees_full_pii
from firstline.core.scoping import require


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/"
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return "/"


@login_required
def otp_view(request: HttpRequest) -> HttpResponse:
    """Verify the second factor, or enrol a new authenticator when the user has none."""
    user = request_user(request)
    confirmed = otp.confirmed_device(user)
    enrolling = confirmed is None
    device = otp.pending_device(user) if confirmed is None else confirmed
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            if enrolling:
                services.otp_device_confirm(user=user, device=device)
            otp_login(request, device)
            return redirect(_safe_next(request))
        form.add_error("token", _("That code is not valid. Check the time on your phone and try again."))
    context: dict[str, Any] = {"form": form, "enrolling": enrolling, "next": _safe_next(request)}
    if enrolling:
        context.update(qr=otp.qr_data_uri(device), secret=otp.base32_secret(device))
    return render(request, "accounts/otp.html", context)


@login_required
def user_list(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.USER_MANAGE)
    users = selectors.users_visible_to(request.user).prefetch_related("memberships")
    query = request.GET.get("q", "").strip()
    if query:
        lowered = query.lower()
        users = users.annotate(u=Lower("username"), d=Lower("display_name")).filter(
            Q(u__contains=lowered) | Q(d__contains=lowered)
        )
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            created = services.user_create(actor=request_user(request), **form.cleaned_data)  # type: ignore[arg-type]
        except ValidationError as error:
            for field, errors in (
                error.message_dict.items() if hasattr(error, "error_dict") else [("password", error.messages)]
            ):
                form.add_error(field if field in form.fields else "password", errors)
        else:
            messages.success(request, _("Created %(user)s; now give them a role.") % {"user": created.username})
            return redirect("accounts:user", pk=created.pk)
    page = Paginator(users.distinct(), 50).get_page(request.GET.get("page"))
    return render(request, "accounts/users.html", {"page_obj": page, "form": form, "q": query, "nav_active": "users"})


@login_required
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.USER_MANAGE)
    account = selectors.user_get_for_admin(request.user, pk)
    form = MembershipForm(request.POST or None, actor=request_user(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.membership_grant(actor=request_user(request), user=account, **form.cleaned_data)  # type: ignore[arg-type]
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        except PermissionDenied as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Role granted."))
            return redirect("accounts:user", pk=account.pk)
    memberships = account.memberships.select_related("division", "grid", "department").order_by("-active", "role")
    return render(
        request,
        "accounts/user.html",
        {"account": account, "memberships": memberships, "form": form, "nav_active": "users"},
    )


@login_required
@require_POST
def membership_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.USER_MANAGE)
    membership = Membership.objects.visible_to(request.user).filter(pk=pk).select_related("user").first()
    if membership is None:
        raise Http404
    services.membership_revoke(actor=request_user(request), membership=membership)
    messages.success(request, _("Role revoked."))
    return redirect("accounts:user", pk=membership.user_id)


def _parse_day(text: str) -> Any:
    try:
        return parse_date(text) if len(text) == 10 else None
    except ValueError:
        return None


@login_required
def audit_list(request: HttpRequest) -> HttpResponseBase:
    """The auditor's search: by actor, action, record type, record id, jurisdiction and date range."""
    require(request.user, Perm.AUDIT_VIEW)
    events = selectors.audit_events_visible_to(request.user)
    filters = {
        key: request.GET.get(key, "").strip()
        for key in ("actor", "action", "model", "object", "path", "since", "until")
    }
    if filters["actor"]:
        events = events.annotate(actor_lower=Lower("actor_username")).filter(
            actor_lower__contains=filters["actor"].lower()
        )
    if filters["action"]:
        events = events.filter(action=filters["action"])
    if filters["model"]:
        events = events.filter(content_type__model=filters["model"].lower())
    if filters["object"]:
        events = events.filter(object_id=filters["object"])
    if filters["path"]:
        events = events.filter(path__startswith=filters["path"])
    for key, lookup in (("since", "at__date__gte"), ("until", "at__date__lte")):
        if filters[key]:
            day = _parse_day(filters[key])
            if day is None:
                messages.error(request, _("Dates are written YYYY-MM-DD."))
                events = events.none()
            else:
                events = events.filter(**{lookup: day})
    full = sees_full_pii(request.user)
    fmt = request.GET.get("export", "")
    if fmt in FORMATS:
        columns = [
            (_("Time"), lambda e: e.at.isoformat()),
            (_("Actor"), lambda e: e.actor_username),
            (_("IP address"), lambda e: e.ip),
            (_("Action"), lambda e: e.action),
            (_("Record type"), lambda e: e.content_type.model if e.content_type else ""),
            (_("Record id"), lambda e: e.object_id),
            (_("Record"), lambda e: e.object_repr),
            (_("Jurisdiction"), lambda e: e.path),
            (_("Changes"), lambda e: mask_changes(e.changes, full=full)),
            (_("Note"), lambda e: e.note),
        ]
        return export_response(rows=events.iterator(), columns=columns, basename="audit", fmt=fmt)
    page = Paginator(events, 100).get_page(request.GET.get("page"))
    rows = [(event, mask_changes(event.changes, full=full)) for event in page]
    return render(
        request,
        "accounts/audit.html",
        {
            "page_obj": page,
            "rows": rows,
            "filters": filters,
            "actions": AuditAction.choices,
            "nav_active": "audit",
        },
    )
