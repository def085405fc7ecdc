"""Periodic upkeep of check-ins: daily partitions ahead (PostgreSQL) and deletion after the retention period."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from firstline.tracing.venues import partitions, services


@shared_task(name="firstline.tracing.venues.tasks.purge_checkins")
def purge_checkins(dry_run: bool = False) -> dict[str, Any]:
    """Create the coming days' partitions, then delete check-ins older than ``CHECKIN_RETENTION_DAYS``.

    Meant to run at least daily (hourly is harmless: both steps are idempotent and cheap when there is nothing to do).
    """
    created = [] if dry_run else partitions.ensure_partitions(days_ahead=7)
    report = services.checkins_purge(dry_run=dry_run)
    return {
        "cutoff": report.cutoff.isoformat(),
        "partitions_created": created,
        "partitions_dropped": report.dropped_partitions,
        "rows_deleted": report.deleted_rows,
        "dry_run": report.dry_run,
    }
