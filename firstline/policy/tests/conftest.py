from __future__ import annotations

from typing import Any

import pytest

from firstline.policy import hooks
from firstline.policy.models import PolicyEdition
from firstline.policy.tests.helpers import EDITION_9TH, EDITION_2021


@pytest.fixture
def edition_2021(db: Any) -> PolicyEdition:
    return PolicyEdition.objects.get(name=EDITION_2021)


@pytest.fixture
def edition_9th(db: Any) -> PolicyEdition:
    return PolicyEdition.objects.get(name=EDITION_9TH)


@pytest.fixture
def edition_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, Any]]:
    """Only a recording listener hears ``edition_changed`` during the test."""
    calls: list[tuple[int, Any]] = []
    monkeypatch.setattr(hooks, "_listeners", [lambda edition_id, actor: calls.append((edition_id, actor))])
    return calls
