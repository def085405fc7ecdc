"""Storing the engine's decisions as assigned measures.

One rule governs every re-evaluation: lowering or lifting a risk area never shortens a measure that has already
started, unless the edition in force says so (``lifting_shortens_measures``). A stricter or longer decision always
replaces the current measure, and the replaced one is kept (status superseded, with a link to its successor).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from firstline.policy.engine import Decision
from firstline.policy.models import SEVERITY, Measure, MeasureStatus, MeasureType


class Change:
    CREATED = "created"
    REPLACED = "replaced"
    UNCHANGED = "unchanged"
    KEPT = "kept"  # the new decision would shorten a started measure: the measure stays
    CANCELLED = "cancelled"
    NONE = "none"


@dataclass
class Outcome:
    change: str
    measure: Measure | None
    previous: Measure | None = None


def _dates(values: tuple[datetime.date, ...]) -> list[str]:
    return [d.isoformat() for d in values]


def measure_from_decision(
    decision: Decision, *, person_id: int, path: str, source: models.Model | None, actor: Any
) -> Measure:
    """An unsaved Measure for a decision (bulk paths save many at once)."""
    assert decision.start is not None and decision.end is not None and decision.counted_from is not None
    assert decision.edition is not None and decision.edition.id is not None
    return Measure(
        person_id=person_id,
        path=path,
        edition_id=decision.edition.id,
        rule_id=decision.rule.id if decision.rule else None,
        trigger=decision.rule.trigger if decision.rule else "",
        measure_type=decision.measure,
        counted_from=decision.counted_from,
        start=decision.start,
        end=decision.end,
        test_dates=_dates(decision.test_dates),
        follow_on_type=decision.follow_on,
        follow_on_start=decision.follow_on_start,
        follow_on_end=decision.follow_on_end,
        follow_on_test_dates=_dates(decision.follow_on_test_dates),
        explanation=decision.explanation(),
        status=MeasureStatus.ACTIVE,
        content_type=ContentType.objects.get_for_model(source) if source is not None else None,
        object_id=str(source.pk) if source is not None else "",
        created_by=actor if getattr(actor, "pk", None) else None,
    )


def same_as(measure: Measure, decision: Decision) -> bool:
    return (
        measure.measure_type == decision.measure
        and measure.start == decision.start
        and measure.end == decision.end
        and list(measure.test_dates) == _dates(decision.test_dates)
        and (measure.follow_on_type or "") == (decision.follow_on or "")
        and measure.follow_on_end == decision.follow_on_end
        and measure.rule_id == (decision.rule.id if decision.rule else None)
    )


def would_shorten(measure: Measure, decision: Decision) -> bool:
    """Is the decision weaker or shorter than the measure?"""
    if decision.is_none:
        return True
    weaker = SEVERITY[MeasureType(decision.measure)] < SEVERITY[MeasureType(measure.measure_type)]
    assert decision.end is not None
    overall_end = decision.follow_on_end or decision.end
    return weaker or overall_end < (measure.follow_on_end or measure.end)


def plan(current: Measure | None, decision: Decision, *, today: datetime.date) -> str:
    """What applying ``decision`` does to the person's ``current`` measure for the same record."""
    shortening_allowed = bool(decision.edition and decision.edition.lifting_shortens_measures)
    if current is None:
        return Change.NONE if decision.is_none else Change.CREATED
    if not decision.is_none and same_as(current, decision):
        return Change.UNCHANGED
    started = current.start <= today
    if started and would_shorten(current, decision) and not shortening_allowed:
        return Change.KEPT
    return Change.CANCELLED if decision.is_none else Change.REPLACED
