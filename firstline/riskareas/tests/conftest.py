from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from firstline.riskareas import hooks


@pytest.fixture
def area_changes() -> Iterator[list[tuple[Any, ...]]]:
    """Every ``areas_changed`` batch delivered to listeners (after commit), as (changes, actor) pairs."""
    received: list[tuple[Any, ...]] = []

    def listener(changes: Any, actor: Any) -> None:
        received.append((tuple(changes), actor))

    hooks.register_area_listener(listener)
    yield received
    hooks._listeners.remove(listener)


@pytest.fixture
def cdc(city: Any) -> Any:
    """A user who may edit the risk-area list."""
    return city["cdc"]
