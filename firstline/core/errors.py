"""Errors that carry a stable code and a translatable message (identity data, spreadsheets …)."""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise


class CodedError(ValueError):
    """``code`` is a stable machine code (tests, APIs, import reports); ``message`` a lazy translatable string.

    ``args == (code,)`` so logging and pickling (Celery) never need Django settings.
    """

    code: str
    message: str | Promise

    def __init__(self, code: str, message: str | Promise) -> None:
        super().__init__(code)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        # Rendering a lazy message needs configured settings (and, with USE_I18N, a loaded app registry). str()
        # runs inside logging and error handlers, so it must never raise: fall back to the stable code.
        try:
            return str(self.message)
        except Exception:  # noqa: BLE001
            return self.code

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep both attributes across pickling (Celery); the default would call __init__(code) only.
        return (self.__class__, (self.code, self.message))
