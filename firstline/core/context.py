"""Who is acting, from where: set per request by the middleware, read by audit records.

Services take ``actor`` explicitly; the client address is ambient because threading it through every service
signature would only add noise. Outside a request (management commands, Celery) it is empty.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    ip: str | None = None
    user_agent: str = ""


_current: contextvars.ContextVar[RequestContext] = contextvars.ContextVar(
    "firstline_request_context",
    default=RequestContext(),  # noqa: B039 - a frozen dataclass, never mutated
)


def current() -> RequestContext:
    return _current.get()


@contextmanager
def bound(ctx: RequestContext) -> Iterator[None]:
    token = _current.set(ctx)
    try:
        yield
    finally:
        _current.reset(token)
