"""The infectious window of a case, from the policy edition in force (pure: no database).

Close contacts are people exposed from N days before symptom onset (before sampling when there is no onset:
asymptomatic infections) until the case was isolated. N is the edition's ``infectious_days_before``. Editions with
``window_from_last_negative`` (the 9th) start at the last negative test instead, for cases found by routine repeat
testing, when that test falls inside the window.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from firstline.policy.engine import EditionBook


@dataclass(frozen=True)
class Window:
    start: datetime.date
    end: datetime.date
    edition_id: int | None
    explanation: dict[str, Any]


class WindowError(ValueError):
    """The dates cannot make a window: names the field."""

    def __init__(self, field: str, code: str) -> None:
        super().__init__(code)
        self.field = field
        self.code = code


def infectious_window(
    *,
    book: EditionBook,
    onset_date: datetime.date | None,
    sampling_date: datetime.date | None,
    last_negative_date: datetime.date | None,
    report_date: datetime.date,
    isolated_on: datetime.date | None,
    routine_testing: bool,
) -> Window:
    anchor, anchor_kind = (onset_date, "onset") if onset_date else (sampling_date, "sampling")
    if anchor is None:
        anchor, anchor_kind = report_date, "report"
    end = isolated_on or report_date
    edition = book.in_force_on(anchor)
    days_before = edition.infectious_days_before if edition else 2
    start = anchor - datetime.timedelta(days=days_before)
    explanation: dict[str, Any] = {
        "anchor": anchor_kind,
        "anchor_date": anchor.isoformat(),
        "days_before": days_before,
        "edition": edition.name if edition else None,
        "end_by": "isolated_on" if isolated_on else "report_date",
    }
    if (
        edition is not None
        and edition.window_from_last_negative
        and routine_testing
        and last_negative_date is not None
        and start < last_negative_date <= anchor
    ):
        start = last_negative_date
        explanation["from_last_negative"] = last_negative_date.isoformat()
    if end < start:
        raise WindowError("isolated_on" if isolated_on else "report_date", "window_ends_before_it_starts")
    return Window(start=start, end=end, edition_id=edition.id if edition else None, explanation=explanation)
