"""API pieces shared by every app: the exception handler that turns domain errors into HTTP answers."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from firstline.core.concurrency import StaleVersionError

# The 400 answer of ``service_errors`` and of serializers, as the OpenAPI schema describes it.
FIELD_ERRORS = OpenApiResponse(description="Errors by field: `{field: [message, ...]}`.")


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, StaleVersionError):
        return Response(
            {
                "detail": "The record was changed by someone else since you loaded it.",
                "code": "stale_version",
                "expected_version": exc.expected,
                "current_version": exc.current,
                "changes_since": exc.changes_since,
            },
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, DjangoValidationError):
        return Response(_detail(exc), status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)


def service_errors(error: DjangoValidationError) -> exceptions.ValidationError:
    """A service's ValidationError as DRF's 400: ``{field: [message, ...]}``, or ``non_field_errors``."""
    return exceptions.ValidationError(_detail(error))


def _detail(error: DjangoValidationError) -> Any:
    return error.message_dict if hasattr(error, "error_dict") else {"non_field_errors": error.messages}
