"""Where a record's page is, by model: lets a lower app (tasks, audit) link to records of higher apps.

Apps register their record pages in AppConfig.ready: ``register_record_page(Person, "people:detail")``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.urls import NoReverseMatch, reverse

_pages: dict[str, str] = {}


def register_record_page(model: type[models.Model], url_name: str) -> None:
    """``url_name`` takes the record's primary key as its only argument."""
    _pages[model._meta.label_lower] = url_name


def record_url(content_type: ContentType | None, object_id: str) -> str | None:
    if content_type is None or not object_id:
        return None
    url_name = _pages.get(f"{content_type.app_label}.{content_type.model}")
    if url_name is None:
        return None
    try:
        return reverse(url_name, args=[object_id])
    except NoReverseMatch:
        return None


def safe_next(request: Any, default: str) -> str:
    """The POSTed ``next`` address when it stays on this site, else ``default`` (no open redirects)."""
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return str(target)
    return default
