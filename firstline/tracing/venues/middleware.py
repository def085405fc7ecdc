"""The public check-in answered right after the security middleware.

``POST /api/v1/checkins/`` with a JSON body carries no credentials: sessions, CSRF, authentication, the second
factor, messages, clickjacking and CSP headers (a JSON answer), and the login lockout have nothing to do with it,
and one fixed address needs no URL resolution. Measured in-process on the benchmark database (2,000 check-ins
through Django's WSGI handler): the rest of the stack cost about 0.4 ms of CPU on a check-in whose own path takes
about 0.6 ms; under gunicorn with 2 workers and wrk (bench/README.md, section e) the intake went from 485 to 639
requests/s and its p99 from 114 to 33 ms. Everything that matters to the request is kept: the security
middleware's headers (this runs after it), the language as ``LanguageMiddleware`` chooses it, the client address
as ``RequestContextMiddleware`` binds it, and the same answers as the view (``checkin_post_json``).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import translation

from firstline.core import context
from firstline.core.middleware import client_ip


class CheckinFastPathMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.supported = {code for code, _name in settings.LANGUAGES}
        self._path = ""

    @property
    def path(self) -> str:
        if not self._path:  # resolved once, on first use (the URLconf is not loaded while middleware is built)
            self._path = reverse("checkin-list")
        return self._path

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.content_type == "application/json" and request.path_info == self.path:
            from firstline.tracing.venues.api import checkin_post_json

            chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
            language = chosen if chosen in self.supported else settings.LANGUAGE_CODE
            ctx = context.RequestContext(
                ip=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", "")[:200]
            )
            with translation.override(language), context.bound(ctx):
                response = checkin_post_json(request)
            response.headers.setdefault("Content-Language", language)
            return response
        return self.get_response(request)
