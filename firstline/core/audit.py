"""Audit records: every write of person-related data, every PII reveal and export.

Services call ``record`` inside their transaction, so an audit row exists exactly when the change does.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models.fields.files import FieldFile

from firstline.core import context
from firstline.core.models import AuditAction, AuditEvent

_SKIPPED_FIELDS = {"updated_at", "created_at", "version", "password"}


def _plain(value: Any) -> Any:
    """A JSON-friendly form of a field value."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, FieldFile):
        return value.name or ""
    return value


def snapshot(instance: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The concrete field values of ``instance`` (foreign keys as ids)."""
    names = fields or [
        f.attname for f in instance._meta.concrete_fields if f.name not in _SKIPPED_FIELDS and not f.primary_key
    ]
    return {name: _plain(getattr(instance, name)) for name in names}


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """Changed fields as {field: [before, after]}; a field missing on one side counts as None."""
    changes: dict[str, list[Any]] = {}
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old != new:
            changes[name] = [old, new]
    return changes


def record(
    *,
    actor: Any,
    action: str | AuditAction,
    instance: models.Model | None = None,
    changes: dict[str, list[Any]] | None = None,
    path: str = "",
    note: str = "",
    content_type: ContentType | None = None,
    object_id: str = "",
    object_repr: str = "",
) -> AuditEvent:
    ctx = context.current()
    if instance is not None:
        content_type = ContentType.objects.get_for_model(instance, for_concrete_model=False)
        object_id = str(instance.pk)
        object_repr = str(instance)[:200]
        path = path or str(getattr(instance, getattr(instance, "scope_path_field", "path"), "") or "")
    is_user = actor is not None and getattr(actor, "is_authenticated", False)
    return AuditEvent.objects.create(
        actor=actor if is_user else None,
        actor_username=getattr(actor, "username", "") if is_user else "",
        ip=ctx.ip,
        action=str(action),
        content_type=content_type,
        object_id=object_id,
        object_repr=object_repr,
        path=path,
        version=getattr(instance, "version", None) if instance is not None else None,
        changes=changes or {},
        note=note,
    )


def history_for(instance: models.Model) -> models.QuerySet[AuditEvent]:
    """Audit events of one record, newest first (the history tab)."""
    content_type = ContentType.objects.get_for_model(instance, for_concrete_model=False)
    return AuditEvent.objects.filter(content_type=content_type, object_id=str(instance.pk)).select_related(
        "content_type"
    )


def labelled(model: type[models.Model], changes: dict[str, list[Any]]) -> list[tuple[str, Any, Any]]:
    """Changes as (field label, before, after) rows for display, in the viewer's language."""
    rows: list[tuple[str, Any, Any]] = []
    for name, pair in sorted(changes.items()):
        try:
            field = model._meta.get_field(name.removesuffix("_id"))
            label = str(getattr(field, "verbose_name", name))
        except FieldDoesNotExist:  # a field removed since the event was written keeps its raw name
            label = name
        rows.append((label, pair[0] if len(pair) > 0 else None, pair[1] if len(pair) > 1 else None))
    return rows


def history_rows(instance: models.Model, *, full_pii: bool, limit: int = 200) -> list[tuple[AuditEvent, Any]]:
    """(event, labelled changes) for a record's history tab, PII masked unless ``full_pii``."""
    from firstline.core.pii import mask_changes

    model = type(instance)
    return [
        (event, labelled(model, mask_changes(event.changes, full=full_pii))) for event in history_for(instance)[:limit]
    ]


def record_many(
    *,
    actor: Any,
    action: str | AuditAction,
    instances: Iterable[models.Model],
    note: str = "",
    changes: Callable[[models.Model], dict[str, list[Any]]] | None = None,
) -> int:
    """One audit event per instance, written in one statement (bulk imports)."""
    ctx = context.current()
    is_user = actor is not None and getattr(actor, "is_authenticated", False)
    events = []
    for instance in instances:
        events.append(
            AuditEvent(
                actor=actor if is_user else None,
                actor_username=getattr(actor, "username", "") if is_user else "",
                ip=ctx.ip,
                action=str(action),
                content_type=ContentType.objects.get_for_model(instance, for_concrete_model=False),
                object_id=str(instance.pk),
                object_repr=str(instance)[:200],
                path=str(getattr(instance, getattr(instance, "scope_path_field", "path"), "") or ""),
                version=getattr(instance, "version", None),
                changes=changes(instance) if changes else {},
                note=note,
            )
        )
    AuditEvent.objects.bulk_create(events, batch_size=2000)
    return len(events)
