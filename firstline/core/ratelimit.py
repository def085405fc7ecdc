"""Per-address rate limits for the public (no-login) pages, counted in the cache.

Fixed windows: simple and good enough against a form being hammered; several web processes must share a cache
(CACHE_URL=redis://…) for the limit to hold across them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from firstline.core.middleware import client_ip

_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class RateLimit:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        number, unit = text.split("/")
        return cls(int(number), _SECONDS[unit])


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


def hit(request: HttpRequest, *, scope: str, limit: RateLimit | None = None) -> None:
    """Count one request from the client's address under ``scope``; raise RateLimited beyond the limit."""
    limit = limit or RateLimit.parse(settings.PUBLIC_RATE_LIMIT)
    window = int(time.time()) // limit.seconds
    key = f"rl:{scope}:{client_ip(request) or 'unknown'}:{window}"
    current = _count(key, timeout=limit.seconds + 1)
    if current > limit.count:
        raise RateLimited(retry_after=limit.seconds - int(time.time()) % limit.seconds)


def _count(key: str, *, timeout: int) -> int:
    """Add one to the window's counter and return it.

    On Redis one INCR (a round trip; the expiry is set once, by the window's first request): Django's
    ``cache.incr`` asks EXISTS before INCR, two round trips on the public check-in's hot path. Other caches (the
    per-process default) use add/incr.
    """
    redis_backend = getattr(cache, "_cache", None)
    if redis_backend is not None and hasattr(redis_backend, "get_client"):
        full_key = cache.make_and_validate_key(key)
        client = redis_backend.get_client(full_key, write=True)
        current = int(client.incr(full_key))
        if current == 1:
            client.expire(full_key, timeout)
        return current
    if cache.add(key, 1, timeout=timeout):
        return 1
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=timeout)
        return 1
