"""Helpers for the policy tests: dates and evaluating one piece of evidence."""

from __future__ import annotations

import datetime
from typing import Any

from firstline.policy.engine import Decision, EditionBook, Evidence, evaluate

EDITION_2021 = "2021年实践（第八版防控方案）"
EDITION_9TH = "第九版防控方案"


def d(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)


def ds(*texts: str) -> tuple[datetime.date, ...]:
    return tuple(d(text) for text in texts)


def arrive(
    book: EditionBook,
    trigger: str,
    *,
    left: str,
    arrival: str,
    first: str | None = None,
    release_certificate: bool = False,
    **evidence: Any,
) -> Decision:
    """An arrival who was in an area of ``trigger`` until ``left``."""
    stay = Evidence(trigger=trigger, first_day=d(first or left), last_day=d(left), **evidence)
    return evaluate(
        book=book,
        evidence=[stay],
        arrival_date=d(arrival),
        today=d(arrival),
        release_certificate=release_certificate,
    )


def reach(book: EditionBook, trigger: str, *, last: str, today: str, first: str | None = None) -> Decision:
    """A contact (no arrival) last exposed on ``last`` and reached on ``today``."""
    exposure = Evidence(trigger=trigger, first_day=d(first or last), last_day=d(last))
    return evaluate(book=book, evidence=[exposure], today=d(today))
