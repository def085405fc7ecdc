"""Listeners told when a policy edition is published or changed (screening re-evaluates arrivals)."""

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
