"""Public pages of a division (no login): /n/<division code>/.

What a resident sees: the published notices in force of their division and of every division above it (a community's
page shows the township's and the city's too), each notice with a printable A4 version, the QR poster leading to the
page, and the form to report a rumour, a violation or an unregistered arrival. Reports are rate-limited per address
(``REPORT_RATE_LIMIT``); unknown division codes get a friendly 404 and count against the address
(``PUBLIC_RATE_LIMIT``) so the codes cannot be swept. The reporter gets a signed receipt link showing what became of
the report (and the notice that answers it).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from firstline.community.models import NoticeStatus, ReportStatus
from firstline.community.notices import poster, selectors, services
from firstline.community.notices.forms import PublicReportForm
from firstline.community.notices.views import attachment_response
from firstline.core import ratelimit
from firstline.core.middleware import client_ip
from firstline.regions.models import Division

log = logging.getLogger(__name__)
REPORT_SCOPE = "public_report"
LOOKUP_SCOPE = "public_notices"


def report_rate_limit() -> ratelimit.RateLimit:
    return ratelimit.RateLimit.parse(settings.REPORT_RATE_LIMIT)


def too_many(request: HttpRequest, exc: ratelimit.RateLimited, *, reporting: bool = False) -> HttpResponse:
    response = render(
        request,
        "community/notices/public/too_many.html",
        {"retry_minutes": max(1, (exc.retry_after + 59) // 60), "reporting": reporting},
        status=429,
    )
    response["Retry-After"] = str(exc.retry_after)
    return response


def _division(request: HttpRequest, code: str) -> Division | HttpResponse:
    """The division, or the page to answer with (friendly 404; unknown codes count against the address)."""
    try:
        return selectors.division_get_public(code)
    except Http404:
        try:
            ratelimit.hit(request, scope=LOOKUP_SCOPE)
        except ratelimit.RateLimited as exc:
            return too_many(request, exc)
        return render(request, "community/notices/public/not_found.html", status=404)


def _notice_or_404(request: HttpRequest, division: Division, pk: int) -> object:
    try:
        return selectors.public_notice_get(division, pk)
    except Http404:
        return render(request, "community/notices/public/not_found.html", {"division": division}, status=404)


def division_page(request: HttpRequest, code: str) -> HttpResponse:
    found = _division(request, code)
    if isinstance(found, HttpResponse):
        return found
    notices = list(selectors.public_notices(found))
    return render(
        request,
        "community/notices/public/division.html",
        {"division": found, "notices": notices, "today": timezone.localdate()},
    )


def notice_page(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    found = _division(request, code)
    if isinstance(found, HttpResponse):
        return found
    notice = _notice_or_404(request, found, pk)
    if isinstance(notice, HttpResponse):
        return notice
    return render(
        request,
        "community/notices/public/notice.html",
        {"division": found, "notice": notice, "today": timezone.localdate()},
    )


def notice_print(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    """The notice on an A4 page to print and put up, with a QR code leading to the division's page."""
    found = _division(request, code)
    if isinstance(found, HttpResponse):
        return found
    notice = _notice_or_404(request, found, pk)
    if isinstance(notice, HttpResponse):
        return notice
    url = poster.public_url(request, found.code)
    return render(
        request,
        "community/notices/public/print.html",
        {"division": found, "notice": notice, "url": url, "qr_svg": poster.qr_svg_inline(url, scale=4)},
    )


def notice_attachment(request: HttpRequest, code: str, pk: int, attachment_pk: int) -> HttpResponseBase:
    found = _division(request, code)
    if isinstance(found, HttpResponse):
        return found
    notice = _notice_or_404(request, found, pk)
    if isinstance(notice, HttpResponse):
        return notice
    return attachment_response(selectors.notice_attachment_get(notice, attachment_pk))  # type: ignore[arg-type]


def division_poster(request: HttpRequest, code: str) -> HttpResponse:
    """An A4 poster to print: the division's name and the QR code of its public page."""
    found = _division(request, code)
    if isinstance(found, HttpResponse):
        return found
    url = poster.public_url(request, found.code)
    return render(
        request,
        "community/notices/public/poster.html",
        {"division": found, "url": url, "qr_svg": poster.qr_svg_inline(url)},
    )


def division_qr(request: HttpRequest, code: str, fmt: str) -> HttpResponse:
    """The QR code of the division's public page as an SVG or PNG download."""
    if fmt not in poster.QR_FORMATS:
        raise Http404
    found = _division(request, code)
    if isinstance(found, HttpResponse):
        return found
    content = poster.qr_file(poster.public_url(request, found.code), kind=fmt)
    response = HttpResponse(content, content_type=poster.QR_FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="notices-{found.code}.{fmt}"'
    return response


@never_cache
def report(request: HttpRequest, code: str) -> HttpResponse:
    """Report a rumour, a violation or an unregistered arrival; handled by the division's township."""
    found = _division(request, code)
    if isinstance(found, HttpResponse):
        return found
    form = PublicReportForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        try:
            ratelimit.hit(request, scope=REPORT_SCOPE, limit=report_rate_limit())
        except ratelimit.RateLimited as exc:
            return too_many(request, exc, reporting=True)
        if form.is_bot:
            log.info("public report honeypot filled on the page of %s", found.code)
            return render(request, "community/notices/public/receipt.html", {"report": None, "division": found})
        if form.is_valid():
            data = form.cleaned_data
            try:
                filed = services.report_submit(
                    kind=data["kind"],
                    description=data.get("description") or "",
                    place=data.get("place") or "",
                    occurred_at=data.get("occurred_at"),
                    contact=data.get("contact") or "",
                    photo=data.get("photo"),
                    division=found,
                    source_address=client_ip(request),
                )
            except ValidationError as error:
                for key, messages_ in error.message_dict.items():
                    form.add_error(key if key in form.fields else None, messages_)
            else:
                return redirect("notices_public:receipt", token=services.receipt_token(filed))
    return render(
        request,
        "community/notices/public/report.html",
        {"division": found, "form": form},
        status=400 if form.is_bound and form.errors else 200,
    )


@never_cache
def receipt(request: HttpRequest, token: str) -> HttpResponse:
    """What became of a report: received, checked, passed on, or answered by a notice (linked)."""
    filed = services.report_for_receipt(token)
    if filed is None:
        return render(request, "community/notices/public/not_found.html", status=404)
    answer = filed.answer if filed.answer and filed.answer.status == NoticeStatus.PUBLISHED else None
    return render(
        request,
        "community/notices/public/receipt.html",
        {
            "report": filed,
            "division": filed.division,
            "answer": answer,
            "checked": filed.status != ReportStatus.NEW,
            "token": token,
        },
    )
