"""The production path for background work: a real Celery worker consuming from Redis."""

from __future__ import annotations

import datetime
import os

import pytest
from django.db import connection
from django.utils import timezone

from firstline.dispatch import services

REDIS_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/15")


def _redis_up() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:  # noqa: BLE001 - any failure means "not available here"
        return False


pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not _redis_up(), reason=f"Redis is not reachable at {REDIS_URL}"),
]


def _forget_cached_backend(app: object) -> None:
    # Celery caches the result backend per thread on first use; the eager tests used the disabled one.
    app._local.__dict__.pop("backend", None)  # type: ignore[attr-defined]


def test_escalation_runs_on_a_celery_worker_through_redis(city):
    from celery.contrib.testing.worker import start_worker

    from firstline.celery import app
    from firstline.dispatch.tasks import escalate_overdue

    task = services.task_create(
        actor=None, title="逾期任务", assignee_grid=city.grid_a, due_at=timezone.now() - datetime.timedelta(hours=2)
    )
    saved = {key: app.conf.get(key) for key in ("broker_url", "result_backend", "task_always_eager")}
    app.conf.update(broker_url=REDIS_URL, result_backend=REDIS_URL, task_always_eager=False)
    _forget_cached_backend(app)
    try:
        # An explicit connection: the producer pool may already exist for the inline (eager) configuration.
        with (
            start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10),
            app.connection_for_write() as broker,
        ):
            outcome = escalate_overdue.apply_async(connection=broker).get(timeout=30)  # type: ignore[call-arg]
    finally:
        app.conf.update(saved)
        _forget_cached_backend(app)
    assert outcome["escalated"] == [task.pk]
    connection.close()  # read what the worker committed through a fresh connection
    task.refresh_from_db()
    assert task.escalation_level == 1
    assert task.assignee_user == city["grid_lead_a"]
