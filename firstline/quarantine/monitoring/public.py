"""The self-report page of a person in home monitoring: /h/<token>/, reached by the link or QR code their grid
worker gave them. No login.

What protects it: the signed token (``selfreport``: tampered or no longer active → the same friendly page), a
per-address rate limit (``PUBLIC_RATE_LIMIT``) on submissions and bad links alike, CSRF, and a field people never see
that bots fill in. The page shows the person's given name and today's slots, nothing else about them.
"""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from firstline.core import ratelimit
from firstline.quarantine.models import CheckSource, HealthCheck, Placement
from firstline.quarantine.monitoring import selfreport, services, slots
from firstline.quarantine.monitoring.forms import SelfReportForm, add_service_errors

log = logging.getLogger(__name__)
RATE_SCOPE = "selfreport"
TEMPLATES = "quarantine/monitoring/public/"


def _too_many(request: HttpRequest, exc: ratelimit.RateLimited) -> HttpResponse:
    response = render(
        request,
        TEMPLATES + "too_many.html",
        {"retry_minutes": max(1, (exc.retry_after + 59) // 60)},
        status=429,
    )
    response["Retry-After"] = str(exc.retry_after)
    return response


def _today_slots(placement: Placement) -> list[dict[str, object]]:
    now = timezone.now()
    day = timezone.localdate()
    done = {
        check.slot: check
        for check in HealthCheck.objects.filter(placement=placement, day=day).only("slot", "temperature")
    }
    current = slots.slot_of(now)
    return [
        {
            "label": slot.label,
            "done": slot.index in done,
            "current": slot.index == current.index and current.day == day and slot.has_begun(now),
        }
        for slot in slots.day_slots(day)
    ]


@never_cache
def report(request: HttpRequest, token: str) -> HttpResponse:
    placement = selfreport.placement_for_token(token)
    if placement is None:
        try:
            ratelimit.hit(request, scope=RATE_SCOPE)
        except ratelimit.RateLimited as exc:
            return _too_many(request, exc)
        return render(request, TEMPLATES + "invalid.html", status=404)
    form = SelfReportForm(request.POST if request.method == "POST" else None)
    context = {"name": selfreport.given_name(placement.person.name), "form": form}
    if request.method == "POST":
        try:
            ratelimit.hit(request, scope=RATE_SCOPE)
        except ratelimit.RateLimited as exc:
            return _too_many(request, exc)
        if form.is_bot:
            log.info("self-report honeypot filled for placement %s", placement.pk)
            return render(request, TEMPLATES + "done.html", {**context, "check": None})
        if form.is_valid():
            try:
                check = services.health_check_record(
                    actor=None,
                    placement=placement,
                    at=timezone.now(),
                    temperature=form.cleaned_data["temperature"],
                    symptoms=form.cleaned_data["symptoms"],
                    source=CheckSource.SELF,
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                context.update(check=check, slot_label=slots.slot(check.day, check.slot).label)
                return render(request, TEMPLATES + "done.html", context)
    context["slots"] = _today_slots(placement)
    return render(request, TEMPLATES + "report.html", context, status=400 if form.errors else 200)
