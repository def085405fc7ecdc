"""The public check-in page reached by a venue's printed QR code (场所码): /v/<code>/.

No login. What protects it: a per-address rate limit (``CHECKIN_RATE_LIMIT``, generous because a venue's visitors
often share one carrier NAT address) on submissions and on unknown codes alike, CSRF, and a field people never see
that bots fill in. Unknown and switched-off codes get the same friendly 404 page. After checking in, the visitor's
page holds a signed token for their visit: only that page can check the visit out. Visitors see their own numbers
masked, never anybody else's.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from firstline.core import identity, ratelimit
from firstline.tracing.models import CheckIn, CheckInSource, Venue
from firstline.tracing.venues import selectors, services
from firstline.tracing.venues.forms import (
    PublicCheckInForm,
    add_checkin_errors,
    companion_formset,
    companion_rows,
)

log = logging.getLogger(__name__)
RATE_SCOPE = "checkin"


def rate_limit() -> ratelimit.RateLimit:
    return ratelimit.RateLimit.parse(settings.CHECKIN_RATE_LIMIT)


def too_many(request: HttpRequest, exc: ratelimit.RateLimited) -> HttpResponse:
    response = render(
        request,
        "tracing/venues/public/too_many.html",
        {"retry_seconds": exc.retry_after, "retry_minutes": max(1, (exc.retry_after + 59) // 60)},
        status=429,
    )
    response["Retry-After"] = str(exc.retry_after)
    return response


def not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "tracing/venues/public/not_found.html", status=404)


def _venue(request: HttpRequest, code: str) -> Venue | HttpResponse:
    """The active venue, or the page to answer with: 404 (unknown codes count against the address too)."""
    try:
        return selectors.venue_get_public(code)
    except Http404:
        try:
            ratelimit.hit(request, scope=RATE_SCOPE, limit=rate_limit())
        except ratelimit.RateLimited as exc:
            return too_many(request, exc)
        return not_found(request)


@never_cache
def checkin(request: HttpRequest, code: str) -> HttpResponse:
    found = _venue(request, code)
    if isinstance(found, HttpResponse):
        return found
    venue = found
    data = request.POST if request.method == "POST" else None
    form = PublicCheckInForm(data)
    party = companion_formset(data)
    if data is not None:
        try:
            ratelimit.hit(request, scope=RATE_SCOPE, limit=rate_limit())
        except ratelimit.RateLimited as exc:
            return too_many(request, exc)
        if form.is_bot:
            log.info("venue check-in honeypot filled at venue %s", venue.pk)
            return render(request, "tracing/venues/public/done.html", {"venue": venue, "checkin": None})
        if all([form.is_valid(), party.is_valid()]):
            try:
                visit, _created = services.checkin_intake(
                    venue=venue,
                    phone=form.cleaned_data.get("phone") or "",
                    id_number=form.cleaned_data.get("id_number") or "",
                    name=form.cleaned_data.get("name") or "",
                    companions=companion_rows(party),
                    source=CheckInSource.PUBLIC,
                )
            except ValidationError as error:
                add_checkin_errors(form, party, error)
            else:
                return redirect("venue_public:done", code=venue.code, token=services.checkout_token(visit))
    return render(
        request,
        "tracing/venues/public/checkin.html",
        {"venue": venue, "form": form, "party": party, "retention_days": settings.CHECKIN_RETENTION_DAYS},
    )


def _visit(venue: Venue, token: str) -> CheckIn | None:
    try:
        visit = services.checkin_for_token(token)
    except ValidationError:
        return None
    return visit if visit.venue_id == venue.pk else None


def _done_context(venue: Venue, visit: CheckIn, token: str) -> dict[str, object]:
    return {
        "venue": venue,
        "checkin": visit,
        "token": token,
        # The visitor's own numbers, masked: the page may be shown at the door.
        "phone": identity.mask_phone(visit.phone),
        "id_number": identity.mask_id_number(visit.id_number),
        "companions": CheckIn.objects.filter(party_of=visit.pk, venue_id=visit.venue_id, start=visit.start).count(),
    }


@never_cache
def done(request: HttpRequest, code: str, token: str) -> HttpResponse:
    """The thank-you page: the visit as recorded, and the check-out button."""
    found = _venue(request, code)
    if isinstance(found, HttpResponse):
        return found
    visit = _visit(found, token)
    if visit is None:
        return redirect("venue_public:checkin", code=found.code)
    return render(request, "tracing/venues/public/done.html", _done_context(found, visit, token))


@never_cache
@require_POST
def checkout(request: HttpRequest, code: str, token: str) -> HttpResponse:
    found = _venue(request, code)
    if isinstance(found, HttpResponse):
        return found
    try:
        ratelimit.hit(request, scope=RATE_SCOPE, limit=rate_limit())
    except ratelimit.RateLimited as exc:
        return too_many(request, exc)
    visit = _visit(found, token)
    if visit is None:
        return redirect("venue_public:checkin", code=found.code)
    try:
        visit = services.checkin_checkout(checkin=visit)
    except ValidationError as error:
        context = _done_context(found, visit, token)
        context["errors"] = error.messages
        return render(request, "tracing/venues/public/done.html", context, status=400)
    return render(request, "tracing/venues/public/checked_out.html", {"venue": found, "checkin": visit})
