"""Optimistic locking: an edit states the version it started from; a stale one is refused, never merged."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import models
from django.db.models import F
from django.utils import timezone

from firstline.core.audit import history_for
from firstline.core.models import VersionedModel

_V = TypeVar("_V", bound=VersionedModel)


class StaleVersionError(Exception):
    """The record changed since the editor loaded it. ``changes_since`` lists what changed, by whom."""

    def __init__(self, *, instance: VersionedModel, expected: int, changes_since: list[dict[str, Any]]):
        self.instance = instance
        self.expected = expected
        self.current = instance.version
        self.changes_since = changes_since
        super().__init__(f"stale version {expected}, current is {instance.version}")


def changes_since(instance: VersionedModel, version: int) -> list[dict[str, Any]]:
    events = history_for(instance).filter(version__gt=version).order_by("at", "id")
    return [
        {
            "at": event.at.isoformat(),
            "actor": event.actor_username,
            "version": event.version,
            "changes": event.changes,
        }
        for event in events
    ]


def versioned_update(instance: _V, *, expected_version: int, values: dict[str, Any]) -> _V:
    """Write ``values`` only if the row is still at ``expected_version``; bump the version.

    A conditional UPDATE (not a full-row save) so two writers can never silently overwrite each other.
    """
    model: type[models.Model] = type(instance)
    updated = model._default_manager.filter(pk=instance.pk, version=expected_version).update(
        **values, version=F("version") + 1, updated_at=timezone.now()
    )
    instance.refresh_from_db()
    if updated == 0:
        raise StaleVersionError(
            instance=instance,
            expected=expected_version,
            changes_since=changes_since(instance, expected_version),
        )
    return instance
