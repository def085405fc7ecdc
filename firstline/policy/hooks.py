"""Listeners told when a policy edition is published or changed (screening re-evaluates arrivals), and when people's
measures are created, replaced or ended (quarantine moves placements and samplings with them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction

EditionListener = Callable[[int, Any], None]  # edition id, actor
_listeners: list[EditionListener] = []


def register_edition_listener(listener: EditionListener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def edition_changed(edition_id: int, *, actor: Any) -> None:
    """Call from services after publishing/changing a published edition; listeners run after commit."""

    def run() -> None:
        for listener in _listeners:
            listener(edition_id, actor)

    transaction.on_commit(run)


MeasureListener = Callable[[list[int], Any], None]  # person ids, actor
_measure_listeners: list[MeasureListener] = []


def register_measure_listener(listener: MeasureListener) -> None:
    if listener not in _measure_listeners:
        _measure_listeners.append(listener)


def measures_changed(person_ids: list[int], *, actor: Any) -> None:
    """Call from services right after writing people's measures; listeners run in the same transaction, so what
    depends on a measure (a placement's due date, its samplings) is never out of step with it."""
    if not person_ids:
        return
    for listener in _measure_listeners:
        listener(sorted(set(person_ids)), actor)
