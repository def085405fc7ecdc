"""Background work of the duty roster (beat: ``roster-missed-shifts``)."""

from __future__ import annotations

from celery import shared_task

from firstline.community.roster.services import mark_missed


@shared_task(name="firstline.community.roster.tasks.mark_missed_shifts")
def mark_missed_shifts() -> int:
    """Planned shifts that ended without a check-in become missed."""
    return mark_missed()
