"""The background job of an import (inline when no broker is configured)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from firstline.screening.imports import services
from firstline.screening.models import ImportJob, ImportStatus

log = logging.getLogger(__name__)


@shared_task(name="firstline.screening.imports.run_import")
def run_import(job_id: int) -> dict:
    job = ImportJob.objects.select_related("uploaded_by").get(pk=job_id)
    try:
        summary = services.execute(job)
    except Exception as exc:
        log.exception("import %s failed", job_id)
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportStatus.FAILED, message=str(exc)[:2000], finished_at=timezone.now()
        )
        return {"failed": str(exc)}
    return {k: v for k, v in summary.as_dict().items() if k != "errors"}
