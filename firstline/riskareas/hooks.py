"""Listeners told when the risk-area list changes (screening re-evaluates arrivals), without importing upward."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction


@dataclass(frozen=True)
class AreaChange:
    """One area added, raised, lowered or lifted; ``period_id`` is the period opened by the change (if any)."""

    area_id: int
    kind: str  # "created" | "raised" | "lowered" | "lifted" | "edited"
    level: str
    previous_level: str = ""
    period_id: int | None = None


AreaListener = Callable[[Sequence[AreaChange], Any], None]
_listeners: list[AreaListener] = []


def register_area_listener(listener: AreaListener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def areas_changed(changes: Sequence[AreaChange], *, actor: Any) -> None:
    """Call from services after writing: listeners run once the transaction commits."""
    if not changes:
        return
    frozen = tuple(changes)

    def run() -> None:
        for listener in _listeners:
            listener(frozen, actor)

    transaction.on_commit(run)
