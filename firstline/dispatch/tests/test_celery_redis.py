"""The production path for background work: a real Celery worker consuming from Redis."""

from __future__ import annotations

import datetime
import os

import pytest
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


def test_escalation_runs_on_a_celery_worker_through_redis(city):
    from celery.contrib.testing.worker import start_worker

    from firstline.celery import app
    from firstline.dispatch.tasks import escalate_overdue

    task = services.task_create(
        actor=None, title="逾期任务", assignee_grid=city.grid_a, due_at=timezone.now() - datetime.timedelta(hours=2)
    )
    saved = dict(app.conf)
    app.conf.update(broker_url=REDIS_URL, result_backend=REDIS_URL, task_always_eager=False)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            result = escalate_overdue.delay()
            assert result.get(timeout=30)["escalated"] == [task.pk]
    finally:
        app.conf.update(
            broker_url=saved.get("broker_url"),
            result_backend=saved.get("result_backend"),
            task_always_eager=saved.get("task_always_eager"),
        )
    task.refresh_from_db()
    assert task.assignee_user == city["grid_lead_a"]
