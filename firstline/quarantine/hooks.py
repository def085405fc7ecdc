"""Listeners told when a person in quarantine needs supplies or help (the community's care queue takes them).

Quarantine never imports the community app: community registers a listener from its AppConfig.ready, and the
quarantine services call ``care_need_added`` inside their transaction, so a need and its care request are written
together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

CareNeedListener = Callable[[Any, Any], None]  # actor, CareNeed
_listeners: list[CareNeedListener] = []


def register_care_need_listener(listener: CareNeedListener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def care_need_added(need: Any, *, actor: Any) -> None:
    for listener in _listeners:
        listener(actor, need)
