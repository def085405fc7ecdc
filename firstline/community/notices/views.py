"""Staff pages of notices (publish to one's subtree, read receipts) and of public reports (triage, answers)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from firstline.accounts.models import request_user
from firstline.accounts.roles import Perm
from firstline.community.models import NoticeStatus, PublicReport, ReportKind, ReportStatus
from firstline.community.notices import poster, selectors, services
from firstline.community.notices.forms import (
    AnswerLinkForm,
    AnswerNoticeForm,
    AttachmentForm,
    NoticeFilterForm,
    NoticeForm,
    ReadersFilterForm,
    ReportFilterForm,
    TriageForm,
    WithdrawForm,
)
from firstline.core import audit
from firstline.core.concurrency import StaleVersionError
from firstline.core.dates import local_minute
from firstline.core.exports import Column, audited_export
from firstline.core.forms import add_service_errors
from firstline.core.paging import page_of
from firstline.core.pii import sees_full_pii, shown
from firstline.core.scoping import require, scope_of

NAV_NOTICES = "notices"
NAV_REPORTS = "reports"
STALE = gettext_lazy("Someone else changed this record since you opened the page. Please look again.")


def _flash_errors(request: HttpRequest, error: ValidationError) -> None:
    messages.error(request, " ".join(error.messages))


# --- notices -----------------------------------------------------------------------------------------------------


@login_required
def notice_list(request: HttpRequest) -> HttpResponseBase:
    """Every notice the user sees: of their own divisions (drafts too, for publishers) and those from above."""
    form = NoticeFilterForm(request.GET)
    filters = form.filters()
    notices = selectors.notice_list(user=request.user, filters=filters)
    scope = scope_of(request.user)
    if request.GET.get("export"):
        columns: list[Column] = [
            (_("Title"), lambda n: n.title),
            (_("Published by"), lambda n: n.division.name),
            (_("Division code"), lambda n: n.path),
            (_("Status"), lambda n: n.get_status_display()),
            (_("Effective from"), lambda n: n.effective_from.isoformat()),
            (_("Until"), lambda n: n.expires_on.isoformat() if n.expires_on else ""),
            (_("Pinned"), lambda n: _("yes") if n.pinned else ""),
            (_("Published at"), lambda n: local_minute(n.published_at)),
            (_("Attachments"), lambda n: n.attachment_count),
            (_("Text"), lambda n: n.body),
        ]
        return audited_export(
            request,
            rows=notices.iterator(chunk_size=2000),
            columns=columns,
            basename="notices",
            note=f"filters={filters}",
            permission=Perm.NOTICE_PUBLISH,
        )
    return render(
        request,
        "community/notices/list.html",
        {
            "form": form,
            "page_obj": page_of(request, notices),
            "nav_active": NAV_NOTICES,
            "can_publish": scope.has(Perm.NOTICE_PUBLISH),
            "today": timezone.localdate(),
        },
    )


@login_required
def notice_create(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.NOTICE_PUBLISH)
    divisions = selectors.publishable_divisions(request.user)
    initial = {"effective_from": timezone.localdate(), "division": divisions.first()}
    form = NoticeForm(request.POST or None, request.FILES or None, initial=initial, divisions=divisions)
    if request.method == "POST" and form.is_valid():
        actor = request_user(request)
        try:
            notice = services.notice_create(
                actor=actor,
                division=form.cleaned_data["division"],
                attachments=form.cleaned_data.get("attachments") or [],
                **form.notice_values(),
            )
            if "publish" in request.POST:
                notice = services.notice_publish(actor=actor, notice=notice)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            published = notice.status == NoticeStatus.PUBLISHED
            messages.success(
                request,
                (_("Published “%(title)s”.") if published else _("Saved “%(title)s” as a draft."))
                % {"title": notice.title},
            )
            return redirect("community:notice_detail", pk=notice.pk)
    return render(request, "community/notices/form.html", {"form": form, "notice": None, "nav_active": NAV_NOTICES})


@login_required
def notice_detail(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The notice as everyone below sees it; opening it records the read receipt. Publishers also see how many of
    the staff below have read it, the files, the actions and the history."""
    notice = selectors.notice_get_for_user(request.user, pk)
    if notice.status == NoticeStatus.PUBLISHED and not getattr(notice, "is_read", False):
        services.notice_mark_read(user=request.user, notice=notice)
    can_publish = selectors.can_publish_at(request.user, notice)
    tab = request.GET.get("tab", "overview")
    context: dict[str, Any] = {
        "notice": notice,
        "attachments": list(notice.attachments.all()),
        "can_publish": can_publish,
        "tab": tab,
        "nav_active": NAV_NOTICES,
        "today": timezone.localdate(),
        "public_url": poster.public_url(request, notice.path),
        "answers": PublicReport.objects.visible_to(request.user).filter(answer=notice).count()
        if scope_of(request.user).has(Perm.REPORT_HANDLE)
        else 0,
    }
    if can_publish:
        context["counts"] = selectors.notice_read_counts(notice)
        context["attach_form"] = AttachmentForm()
        context["withdraw_form"] = WithdrawForm(initial={"version": notice.version})
        if tab == "history":
            context["events"] = audit.history_rows(notice, full_pii=sees_full_pii(request.user))
    return render(request, "community/notices/detail.html", context)


@login_required
def notice_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.NOTICE_PUBLISH)
    notice = selectors.notice_get_for_user(request.user, pk, write=True)
    initial = {
        "title": notice.title,
        "body": notice.body,
        "effective_from": notice.effective_from,
        "expires_on": notice.expires_on,
        "pinned": notice.pinned,
        "version": notice.version,
    }
    form = NoticeForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            services.notice_update(
                actor=request_user(request),
                notice=notice,
                expected_version=form.cleaned_data.get("version") or notice.version,
                data=form.notice_values(),
            )
        except StaleVersionError:
            form.add_error(None, STALE)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Saved “%(title)s”.") % {"title": notice.title})
            return redirect("community:notice_detail", pk=notice.pk)
    return render(request, "community/notices/form.html", {"form": form, "notice": notice, "nav_active": NAV_NOTICES})


def _version(request: HttpRequest) -> int | None:
    value = request.POST.get("version") or ""
    return int(value) if value.isdigit() else None


@login_required
@require_POST
def notice_publish(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.NOTICE_PUBLISH)
    notice = selectors.notice_get_for_user(request.user, pk, write=True)
    try:
        services.notice_publish(actor=request_user(request), notice=notice, expected_version=_version(request))
    except StaleVersionError:
        messages.error(request, STALE)
    except ValidationError as error:
        _flash_errors(request, error)
    else:
        messages.success(request, _("Published “%(title)s”.") % {"title": notice.title})
    return redirect("community:notice_detail", pk=notice.pk)


@login_required
@require_POST
def notice_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.NOTICE_PUBLISH)
    notice = selectors.notice_get_for_user(request.user, pk, write=True)
    form = WithdrawForm(request.POST)
    reason = form.cleaned_data.get("reason", "") if form.is_valid() else ""
    try:
        services.notice_withdraw(
            actor=request_user(request), notice=notice, expected_version=_version(request), reason=reason
        )
    except StaleVersionError:
        messages.error(request, STALE)
    except ValidationError as error:
        _flash_errors(request, error)
    else:
        messages.success(request, _("Withdrew “%(title)s”.") % {"title": notice.title})
    return redirect("community:notice_detail", pk=notice.pk)


@login_required
@require_POST
def notice_attach(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.NOTICE_PUBLISH)
    notice = selectors.notice_get_for_user(request.user, pk, write=True)
    form = AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("community:notice_detail", pk=notice.pk)
    try:
        stored = services.notice_attach(
            actor=request_user(request), notice=notice, uploads=form.cleaned_data["attachments"]
        )
    except ValidationError as error:
        _flash_errors(request, error)
    else:
        messages.success(request, _("Attached %(names)s.") % {"names": ", ".join(a.name for a in stored)})
    return redirect("community:notice_detail", pk=notice.pk)


@login_required
@require_POST
def notice_attachment_remove(request: HttpRequest, pk: int, attachment_pk: int) -> HttpResponse:
    require(request.user, Perm.NOTICE_PUBLISH)
    notice = selectors.notice_get_for_user(request.user, pk, write=True)
    attachment = selectors.notice_attachment_get(notice, attachment_pk)
    try:
        services.notice_attachment_remove(actor=request_user(request), attachment=attachment)
    except ValidationError as error:
        _flash_errors(request, error)
    else:
        messages.success(request, _("Removed %(name)s.") % {"name": attachment.name})
    return redirect("community:notice_detail", pk=notice.pk)


def attachment_response(attachment: Any) -> FileResponse:
    """The stored file under its original name; PDFs and images open in the browser, office files download."""
    inline = attachment.content_type == "application/pdf" or attachment.content_type.startswith("image/")
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404 from exc
    return FileResponse(
        handle,
        as_attachment=not inline,
        filename=attachment.name,
        content_type=attachment.content_type or "application/octet-stream",
    )


@login_required
def notice_attachment(request: HttpRequest, pk: int, attachment_pk: int) -> FileResponse:
    notice = selectors.notice_get_for_user(request.user, pk)
    return attachment_response(selectors.notice_attachment_get(notice, attachment_pk))


@login_required
def notice_readers(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Who of the staff below the division has read the notice: counts, the list (filtered, paged), export."""
    require(request.user, Perm.NOTICE_PUBLISH)
    notice = selectors.notice_get_for_user(request.user, pk, write=True)
    form = ReadersFilterForm(request.GET)
    filters = form.filters()
    readers = selectors.notice_audience(notice, filters=filters)
    if request.GET.get("export"):
        columns: list[Column] = [
            (_("Account"), lambda u: u.username),
            (_("Name"), lambda u: u.display_name),
            (_("Jurisdiction"), lambda u: u.where),
            (_("Read at"), lambda u: local_minute(u.read_at)),
        ]
        return audited_export(
            request,
            rows=readers.iterator(chunk_size=2000),
            columns=columns,
            basename=f"notice-{notice.pk}-readers",
            note=f"notice={notice.pk} filters={filters}",
            permission=Perm.NOTICE_PUBLISH,
        )
    return render(
        request,
        "community/notices/readers.html",
        {
            "notice": notice,
            "form": form,
            "counts": selectors.notice_read_counts(notice),
            "page_obj": page_of(request, readers),
            "nav_active": NAV_NOTICES,
        },
    )


# --- public reports ----------------------------------------------------------------------------------------------


def _report_columns(full_contact: bool) -> list[Column]:
    return [
        (_("No."), lambda r: r.pk),
        (_("Received"), lambda r: local_minute(r.created_at)),
        (_("Kind"), lambda r: r.get_kind_display()),
        (_("What happened"), lambda r: r.description),
        (_("Place"), lambda r: r.place),
        (_("When"), lambda r: local_minute(r.occurred_at)),
        (_("Contact"), lambda r: shown(r.contact, "phone", full=full_contact)),
        (_("Routed to"), lambda r: r.division.name),
        (_("Status"), lambda r: r.get_status_display()),
        (_("Duplicate of"), lambda r: r.duplicate_of_id or ""),
        (_("Referred to"), lambda r: r.referred_to.name if r.referred_to else ""),
        (_("Answered by notice"), lambda r: r.answer.title if r.answer else ""),
        (_("Triage note"), lambda r: r.triage_note),
        (_("Triaged at"), lambda r: local_minute(r.triaged_at)),
    ]


@login_required
def report_list(request: HttpRequest) -> HttpResponseBase:
    """The reports of the user's jurisdiction (and those referred to their department), newest first."""
    require(request.user, Perm.REPORT_HANDLE)
    form = ReportFilterForm(request.GET)
    filters = form.filters()
    reports = selectors.report_list(user=request.user, filters=filters)
    full_contact = services.contact_shown_in_full(request.user)
    if request.GET.get("export"):
        return audited_export(
            request,
            rows=reports.iterator(chunk_size=2000),
            columns=_report_columns(full_contact),
            basename="public-reports",
            note=f"filters={filters} full_contact={full_contact}",
            permission=Perm.REPORT_HANDLE,
        )
    return render(
        request,
        "community/notices/report_list.html",
        {"form": form, "page_obj": page_of(request, reports), "nav_active": NAV_REPORTS},
    )


def _report_context(request: HttpRequest, report: PublicReport, **forms_: Any) -> dict[str, Any]:
    scope = scope_of(request.user)
    full = services.contact_shown_in_full(request.user)
    can_triage = scope.covers_path(report.path)
    answerable = can_triage and report.kind == ReportKind.RUMOUR and report.status == ReportStatus.FALSE
    context: dict[str, Any] = {
        "report": report,
        "nav_active": NAV_REPORTS,
        "contact": shown(report.contact, "phone", full=full),
        "can_reveal": bool(report.contact) and not full and scope.has(Perm.PII_REVEAL),
        "can_triage": can_triage,
        "can_note": not can_triage and report.referred_to_id in scope.department_ids,
        "answerable": answerable,
        "duplicates": list(selectors.report_duplicates(report, request.user)),
        "tab": request.GET.get("tab", "overview"),
    }
    if can_triage:
        context["triage_form"] = forms_.get("triage_form") or TriageForm(
            initial={
                "outcome": report.status if report.status != ReportStatus.NEW else None,
                "note": report.triage_note,
                "duplicate_of": report.duplicate_of_id,
                "department": report.referred_to.code if report.referred_to else None,
                "version": report.version,
            },
            departments=selectors.referral_departments(report),
        )
    if context["tab"] == "history":
        context["events"] = audit.history_rows(report, full_pii=sees_full_pii(request.user))
    return context


@login_required
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.REPORT_HANDLE)
    report = selectors.report_get_for_user(request.user, pk)
    return render(request, "community/notices/report_detail.html", _report_context(request, report))


@login_required
@require_POST
def report_triage(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.REPORT_HANDLE)
    report = selectors.report_get_for_user(request.user, pk)
    form = TriageForm(request.POST, departments=selectors.referral_departments(report))
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.report_triage(
                actor=request_user(request),
                report=report,
                expected_version=data["version"],
                outcome=data["outcome"],
                note=data.get("note") or "",
                duplicate_of=data.get("duplicate_of"),
                department=data.get("department"),
            )
        except StaleVersionError:
            form.add_error(None, STALE)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Report %(n)s triaged.") % {"n": report.pk})
            return redirect("community:report_detail", pk=report.pk)
    context = _report_context(request, report, triage_form=form)
    return render(request, "community/notices/report_detail.html", context, status=400)


@login_required
@require_POST
def report_note(request: HttpRequest, pk: int) -> HttpResponse:
    """The handling note of a department the report was referred to (or of the jurisdiction)."""
    require(request.user, Perm.REPORT_HANDLE)
    report = selectors.report_get_for_user(request.user, pk)
    try:
        services.report_update(
            actor=request_user(request),
            report=report,
            expected_version=_version(request) or report.version,
            data={"triage_note": request.POST.get("triage_note", "")},
        )
    except StaleVersionError:
        messages.error(request, STALE)
    except ValidationError as error:
        _flash_errors(request, error)
    else:
        messages.success(request, _("Note saved."))
    return redirect("community:report_detail", pk=report.pk)


@login_required
def report_answer(request: HttpRequest, pk: int) -> HttpResponse:
    """Answer a false rumour with a notice: write a new one (prefilled) or link one already published."""
    require(request.user, Perm.REPORT_HANDLE)
    report = selectors.report_get_for_user(request.user, pk)
    divisions = selectors.publishable_divisions(request.user)
    draft = services.answer_draft(report)
    new_form = AnswerNoticeForm(
        request.POST if request.POST.get("mode") == "new" else None,
        initial={
            **draft,
            "division": report.division.code,
            "effective_from": timezone.localdate(),
            "publish": True,
            "version": report.version,
        },
        divisions=divisions,
    )
    link_form = AnswerLinkForm(
        request.POST if request.POST.get("mode") == "link" else None,
        initial={"version": report.version},
        notices=selectors.answer_candidates(request.user),
    )
    actor = request_user(request)
    bound = new_form if new_form.is_bound else link_form if link_form.is_bound else None
    if bound is not None and bound.is_valid():
        data = bound.cleaned_data
        try:
            if bound is new_form:
                report, notice = services.report_answer_with_notice(
                    actor=actor,
                    report=report,
                    expected_version=data["version"],
                    division=data["division"],
                    title=data["title"],
                    body=data["body"],
                    effective_from=data["effective_from"],
                    expires_on=data.get("expires_on"),
                    pinned=bool(data.get("pinned")),
                    publish=bool(data.get("publish")),
                )
            else:
                notice = data["notice"]
                report = services.report_answer(
                    actor=actor, report=report, expected_version=data["version"], notice=notice
                )
        except StaleVersionError:
            bound.add_error(None, STALE)
        except ValidationError as error:
            add_service_errors(bound, error)
        else:
            messages.success(
                request, _("Report %(n)s is answered by “%(title)s”.") % {"n": report.pk, "title": notice.title}
            )
            return redirect("community:report_detail", pk=report.pk)
    return render(
        request,
        "community/notices/answer.html",
        {"report": report, "new_form": new_form, "link_form": link_form, "nav_active": NAV_REPORTS},
        status=400 if bound is not None else 200,
    )


@login_required
@require_POST
def report_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.REPORT_HANDLE)
    report = selectors.report_get_for_user(request.user, pk)
    contact = services.report_contact_reveal(actor=request_user(request), report=report)
    return render(request, "community/notices/_revealed.html", {"contact": contact})


@login_required
def report_photo(request: HttpRequest, pk: int) -> FileResponse:
    require(request.user, Perm.REPORT_HANDLE)
    report = selectors.report_get_for_user(request.user, pk)
    if not report.photo:
        raise Http404
    try:
        handle = report.photo.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404 from exc
    return FileResponse(handle, content_type="image/jpeg", filename=f"report-{report.pk}.jpg")
