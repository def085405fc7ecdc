from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

# Reachable before the second factor is given: logging in/out, the OTP pages, language switch, static files.
_OPEN_PREFIXES = ("/accounts/login/", "/accounts/logout/", "/accounts/otp/", "/i18n/", "/static/")


class OtpRequiredMiddleware:
    """Users whose role requires TOTP must verify (or enrol) before using anything else."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and not request.path.startswith(_OPEN_PREFIXES)
            and user.requires_otp()  # type: ignore[union-attr]
            and not user.is_verified()  # type: ignore[union-attr,attr-defined]  # set by OTPMiddleware
        ):
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": "A second factor (TOTP) is required for this account."}, status=403)
            return redirect(f"{reverse('accounts:otp')}?next={request.get_full_path()}")
        return self.get_response(request)
