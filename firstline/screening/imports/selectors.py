"""Reads of import jobs: a user sees their own and those uploaded inside their jurisdiction."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from firstline.screening.models import ImportJob


def _visible(user: Any) -> QuerySet[ImportJob]:
    inside = ImportJob.objects.visible_to(user)
    mine = ImportJob.objects.filter(uploaded_by_id=getattr(user, "pk", None))
    return ImportJob.objects.filter(Q(pk__in=inside.values("pk")) | Q(pk__in=mine.values("pk")))


def import_list(user: Any, *, status: str = "") -> QuerySet[ImportJob]:
    jobs = _visible(user).select_related("uploaded_by").order_by("-created_at", "-id")
    return jobs.filter(status=status) if status else jobs


def import_get_for_user(user: Any, pk: Any) -> ImportJob:
    try:
        return _visible(user).select_related("uploaded_by").get(pk=pk)
    except (ImportJob.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc
