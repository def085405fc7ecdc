"""Per-address rate limits, on the per-process cache and on the shared Redis cache."""

from __future__ import annotations

import os

import pytest
from django.core.cache import caches
from django.test import RequestFactory

from firstline.core import ratelimit

REDIS_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/14")


def _redis_up() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:  # noqa: BLE001 - any failure means "not available here"
        return False


def _hits(count: int, limit: ratelimit.RateLimit, address: str = "10.0.0.7") -> list[bool]:
    request = RequestFactory().post("/", REMOTE_ADDR=address)
    allowed = []
    for _ in range(count):
        try:
            ratelimit.hit(request, scope="test", limit=limit)
            allowed.append(True)
        except ratelimit.RateLimited as limited:
            assert 0 < limited.retry_after <= limit.seconds
            allowed.append(False)
    return allowed


def test_the_local_cache_allows_the_limit_then_refuses():
    assert _hits(4, ratelimit.RateLimit(3, 3600)) == [True, True, True, False]


@pytest.mark.skipif(not _redis_up(), reason=f"Redis is not reachable at {REDIS_URL}")
def test_the_redis_cache_counts_in_one_key_per_window_with_an_expiry(settings):
    import redis

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    try:
        caches["default"].clear()
        assert _hits(4, ratelimit.RateLimit(3, 3600)) == [True, True, True, False]
        assert _hits(1, ratelimit.RateLimit(3, 3600), address="10.0.0.8") == [True]  # per address
        keys = redis.Redis.from_url(REDIS_URL).keys("*rl:test:10.0.0.7:*")
        assert len(keys) == 1
        assert 0 < redis.Redis.from_url(REDIS_URL).ttl(keys[0]) <= 3601
    finally:
        caches["default"].clear()
