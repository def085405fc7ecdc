"""Duty coverage of a post: the spans it must be staffed and where the roster falls short of its minimum.

Pure functions over datetimes (no queries), so the roster page, the API and the tests share one computation:
``covered_spans`` lays the post's daily hours over a period (a post closing "earlier" than it opens runs past
midnight; opening and closing at the same time means round the clock), ``staffing_timeline`` sweeps the shifts'
start/end events across those spans, and ``staffing_gaps`` keeps the stretches with fewer people than needed.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.utils import timezone

DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class Span:
    start: datetime.datetime
    end: datetime.datetime

    def overlaps(self, start: datetime.datetime, end: datetime.datetime) -> bool:
        return self.start < end and start < self.end


@dataclass(frozen=True)
class Segment:
    """A stretch of time with a constant number of people on duty; ``covered``: inside the post's hours."""

    start: datetime.datetime
    end: datetime.datetime
    staffed: int
    covered: bool


@dataclass(frozen=True)
class Gap:
    """A stretch of the post's hours with fewer people on shift than it needs."""

    start: datetime.datetime
    end: datetime.datetime
    staffed: int
    needed: int

    @property
    def hours(self) -> float:
        return round((self.end - self.start).total_seconds() / 3600, 2)

    @property
    def missing(self) -> int:
        return self.needed - self.staffed


def week_start(day: datetime.date) -> datetime.date:
    """The Monday of ``day``'s week."""
    return day - datetime.timedelta(days=day.weekday())


def local_midnight(day: datetime.date) -> datetime.datetime:
    """The start of ``day`` in the current time zone (aware)."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def week_bounds(monday: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    return local_midnight(monday), local_midnight(monday + 7 * DAY)


def covered_spans(
    *, opens_at: datetime.time, closes_at: datetime.time, start: datetime.datetime, end: datetime.datetime
) -> list[Span]:
    """The post's daily covered hours that fall inside [start, end), merged where one day runs into the next.

    The day before ``start`` is included: its hours past midnight belong to the period.
    """
    first = timezone.localtime(start).date() - DAY
    last = timezone.localtime(end).date()
    spans: list[Span] = []
    day = first
    while day <= last:
        opening = timezone.make_aware(datetime.datetime.combine(day, opens_at))
        closing_day = day if closes_at > opens_at else day + DAY
        closing = timezone.make_aware(datetime.datetime.combine(closing_day, closes_at))
        lower, upper = max(opening, start), min(closing, end)
        if lower < upper:
            if spans and spans[-1].end >= lower:
                spans[-1] = Span(spans[-1].start, max(spans[-1].end, upper))
            else:
                spans.append(Span(lower, upper))
        day += DAY
    return spans


def staffing_timeline(
    *, spans: Sequence[Span], shifts: Iterable[tuple[datetime.datetime, datetime.datetime]]
) -> list[Segment]:
    """Sweep line: the period from the first span's start to the last span's end cut wherever the number of
    people on duty or the coverage changes. Shifts are (start, end) pairs; touching shifts hand over cleanly.
    """
    if not spans:
        return []
    period_start, period_end = spans[0].start, spans[-1].end
    deltas: dict[datetime.datetime, int] = defaultdict(int)
    for start, end in shifts:
        if end <= start:
            continue
        deltas[start] += 1
        deltas[end] -= 1
    covered_changes: dict[datetime.datetime, int] = defaultdict(int)
    for span in spans:
        covered_changes[span.start] += 1
        covered_changes[span.end] -= 1
    points = sorted(set(deltas) | set(covered_changes) | {period_start, period_end})
    staffed = covered = 0
    segments: list[Segment] = []
    for index, point in enumerate(points[:-1]):
        staffed += deltas.get(point, 0)
        covered += covered_changes.get(point, 0)
        following = points[index + 1]
        if point < period_start or following > period_end:
            # Shifts reaching outside the period only count through the deltas already applied.
            continue
        segment = Segment(point, following, staffed, covered > 0)
        if (
            segments
            and segments[-1].end == point
            and (segments[-1].staffed, segments[-1].covered)
            == (
                segment.staffed,
                segment.covered,
            )
        ):
            segments[-1] = Segment(segments[-1].start, following, staffed, segment.covered)
        else:
            segments.append(segment)
    return segments


def staffing_gaps(
    *, spans: Sequence[Span], shifts: Iterable[tuple[datetime.datetime, datetime.datetime]], needed: int
) -> list[Gap]:
    """The stretches of ``spans`` with fewer than ``needed`` people on duty, each with how many there are."""
    gaps: list[Gap] = []
    for segment in staffing_timeline(spans=spans, shifts=shifts):
        if segment.covered and segment.staffed < needed:
            if gaps and gaps[-1].end == segment.start and gaps[-1].staffed == segment.staffed:
                gaps[-1] = Gap(gaps[-1].start, segment.end, segment.staffed, needed)
            else:
                gaps.append(Gap(segment.start, segment.end, segment.staffed, needed))
    return gaps
