"""Background work of frontline care (beat: ``care-sync``): home-quarantine needs into the queue, and the
timeline entries of escalations (dispatch escalates the tasks)."""

from __future__ import annotations

from celery import shared_task

from firstline.community.care import services


@shared_task(name="firstline.community.care.tasks.sync")
def sync() -> dict[str, int]:
    report = services.sync_care_needs()
    return {
        "created": len(report.created),
        "closed": len(report.closed),
        "cancelled": len(report.cancelled),
        "escalations": services.record_escalations(),
    }
