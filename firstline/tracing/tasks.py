"""Background work of tracing: the batch co-presence run over a day's new cases."""

from __future__ import annotations

from celery import shared_task

from firstline.tracing.services import copresence_run


@shared_task(name="firstline.tracing.tasks.copresence_today")
def copresence_today() -> dict[str, int]:
    """Co-presence for all of today's cases at once (beat; new check-ins of the day keep arriving)."""
    run = copresence_run(actor=None)
    return {"cases": run.cases, "exposures": run.exposures, "contacts_created": len(run.derivation.created)}
