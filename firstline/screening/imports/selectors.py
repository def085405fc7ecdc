"""Reads of import jobs: a user sees their own and those uploaded inside their jurisdiction."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from firstline.screening.models import ImportJob, ImportKind


def import_list(user: Any, *, status: str = "") -> QuerySet[ImportJob]:
    jobs = (
        ImportJob.objects.visible_to(user)
        .filter(kind=ImportKind.ARRIVALS)  # 协查 uploads are shown with their batch
        .select_related("uploaded_by")
        .order_by("-created_at", "-id")
    )
    return jobs.filter(status=status) if status else jobs


def import_get_for_user(user: Any, pk: Any) -> ImportJob:
    try:
        return ImportJob.objects.visible_to(user).select_related("uploaded_by").get(pk=pk)
    except (ImportJob.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc
