"""Background work of quarantine (beat: ``quarantine-watch``): missed health checks and overdue samplings."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from firstline.quarantine.monitoring.services import flag_missed


@shared_task(name="firstline.quarantine.tasks.watch")
def watch() -> dict[str, int]:
    """People lost to follow-up (missed check slots, escalated) and samplings whose day passed untaken."""
    from firstline.quarantine.testing.services import flag_overdue

    now = timezone.now()
    return {"lost_tasks": flag_missed(now=now), "samplings_overdue": flag_overdue(today=timezone.localdate(now))}
