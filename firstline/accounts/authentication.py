from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication


class SecondFactorAwareTokenAuthentication(TokenAuthentication):
    """API tokens, except for accounts whose role requires TOTP: a static token would bypass the second factor."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        user, token = super().authenticate_credentials(key)
        if user.requires_otp():
            raise exceptions.AuthenticationFailed(
                "This account's role requires a second factor; it cannot use an API token. Use a session."
            )
        return user, token
