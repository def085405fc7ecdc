"""Public self-registration, reached by the QR code printed on a community's or checkpoint's poster.

No login: what protects it is an unguessable code per point (404 for unknown and inactive ones alike), a per-address
rate limit on submissions and on unknown codes, CSRF, and a field people never see that bots fill in. The pages show
nothing about anybody: the thank-you page says what to do next, never the internal explanation.
"""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from firstline.core import ratelimit
from firstline.screening import selectors, services
from firstline.screening.forms import PublicArrivalForm, add_service_errors, travel_formset, travel_rows
from firstline.screening.models import ArrivalSource, RegistrationPoint

log = logging.getLogger(__name__)
RATE_SCOPE = "selfreg"
DONE_SESSION_KEY = "public.registered"


def _too_many(request: HttpRequest, exc: ratelimit.RateLimited) -> HttpResponse:
    response = render(
        request, "screening/public/too_many.html", {"retry_minutes": max(1, (exc.retry_after + 59) // 60)}, status=429
    )
    response["Retry-After"] = str(exc.retry_after)
    return response


def _point(request: HttpRequest, token: str) -> RegistrationPoint | HttpResponse:
    try:
        return selectors.point_get_public(token)
    except Http404:
        # Unknown codes count against the address too: guessing codes is as limited as submitting.
        try:
            ratelimit.hit(request, scope=RATE_SCOPE)
        except ratelimit.RateLimited as exc:
            return _too_many(request, exc)
        raise


@never_cache
def register(request: HttpRequest, token: str) -> HttpResponse:
    found = _point(request, token)
    if isinstance(found, HttpResponse):
        return found
    point = found
    data = request.POST if request.method == "POST" else None
    form = PublicArrivalForm(data)
    travel = travel_formset(data)
    if data is not None:
        try:
            ratelimit.hit(request, scope=RATE_SCOPE)
        except ratelimit.RateLimited as exc:
            return _too_many(request, exc)
        if form.is_bot:
            log.info("self-registration honeypot filled at point %s", point.pk)
            request.session[DONE_SESSION_KEY] = {"token": token, "measure": False}
            return redirect("public:thanks", token=token)
        if all([form.is_valid(), travel.is_valid()]):
            try:
                result = services.arrival_register(
                    actor=None,
                    data=form.service_data(travel_rows(travel)),
                    source=ArrivalSource.SELF_REGISTRATION,
                    point=point,
                )
            except ValidationError as error:
                add_service_errors(form, error, travel)
            else:
                request.session[DONE_SESSION_KEY] = {"token": token, "measure": result.measure is not None}
                return redirect("public:thanks", token=token)
    return render(request, "screening/public/register.html", {"point": point, "form": form, "travel": travel})


@never_cache
def thanks(request: HttpRequest, token: str) -> HttpResponse:
    point = selectors.point_get_public(token)
    done = request.session.get(DONE_SESSION_KEY) or {}
    if done.get("token") != token:
        return redirect("public:register", token=token)
    return render(request, "screening/public/thanks.html", {"point": point, "measure": bool(done.get("measure"))})
