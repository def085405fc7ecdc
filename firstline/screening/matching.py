"""Matching travel history against the risk-area list, in memory.

The list is small (thousands of areas) and read-mostly, so ``RiskIndex`` loads every period that could matter
once and answers each travel item with dictionary lookups: an import of 100,000 rows does no query per row.

A travel item (place code ``c``, text below the county ``r``, days ``first..last``) and a period of an area
(code ``a``, free-text scope ``s``) whose days overlap:

* ``a`` is a prefix of ``c`` (the trip was inside the area's division): a definite match when the area has no
  scope below its division or ``r`` lies inside ``s``; a *possible* match when the trip's text stops above the
  scope (only the county given, area is one 小区); otherwise the trip was elsewhere in the same county;
* ``c`` is a proper prefix of ``a`` (only the city given, the area is one district of it): a possible match,
  which a grid worker confirms or clears;
* a trip inside a county that had a medium/high-risk area at the time, but not inside that area, is a stay in a
  low-risk area of an affected county (``county`` kind).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q

from firstline.policy.engine import Evidence
from firstline.policy.models import Trigger
from firstline.regions.models import ancestor_codes
from firstline.riskareas.models import RiskAreaPeriod, RiskLevel
from firstline.riskareas.places import scope_contains, scope_is_broader
from firstline.screening.models import MatchKind

LEVEL_TRIGGER = {
    RiskLevel.HIGH: Trigger.RISK_HIGH,
    RiskLevel.MEDIUM: Trigger.RISK_MEDIUM,
    RiskLevel.LOW: Trigger.RISK_LOW,
}


@dataclass(frozen=True)
class PeriodRef:
    id: int
    area_id: int
    place: str
    level: str
    code: str
    scope: str
    valid_from: datetime.date
    valid_until: datetime.date | None

    def overlap(self, first: datetime.date, last: datetime.date) -> tuple[datetime.date, datetime.date] | None:
        """The days of first..last (inclusive) that fell inside this period, or None."""
        start = max(first, self.valid_from)
        end = last if self.valid_until is None else min(last, self.valid_until - datetime.timedelta(days=1))
        return (start, end) if start <= end else None


@dataclass(frozen=True)
class TravelStay:
    """The part of one travel item that matters for matching."""

    place_text: str
    code: str
    remainder: str
    first: datetime.date
    last: datetime.date


@dataclass(frozen=True)
class Hit:
    period: PeriodRef
    kind: str  # MatchKind
    first: datetime.date
    last: datetime.date

    def evidence(self, stay: TravelStay) -> Evidence:
        level = RiskLevel.LOW if self.kind == MatchKind.COUNTY else self.period.level
        return Evidence(
            trigger=LEVEL_TRIGGER[RiskLevel(level)],
            first_day=self.first,
            last_day=self.last,
            area_id=self.period.area_id,
            period_id=self.period.id,
            area_place=self.period.place,
            level=self.period.level,
            period_from=self.period.valid_from,
            period_until=self.period.valid_until,
            travel_place=stay.place_text,
            match=self.kind,
        )


def _prefixes(code: str) -> list[str]:
    return ancestor_codes(code)


class RiskIndex:
    """Every risk-area period in force on or after ``since``, indexed by code."""

    def __init__(self, periods: Iterable[PeriodRef]) -> None:
        self.by_code: dict[str, list[PeriodRef]] = defaultdict(list)
        self.below: dict[str, list[PeriodRef]] = defaultdict(list)  # proper prefix → periods of areas under it
        self.size = 0
        for period in periods:
            self.size += 1
            if not period.code:
                continue  # an unrecognised place cannot be matched by code; it waits for review
            self.by_code[period.code].append(period)
            for prefix in _prefixes(period.code):
                if prefix != period.code:
                    self.below[prefix].append(period)

    @classmethod
    def load(cls, *, since: datetime.date, area_ids: Iterable[int] | None = None) -> RiskIndex:
        periods = RiskAreaPeriod.objects.filter(Q(valid_until__isnull=True) | Q(valid_until__gt=since))
        if area_ids is not None:
            periods = periods.filter(area_id__in=list(area_ids))
        rows = periods.values_list(
            "id", "area_id", "area__place", "level", "division_code", "scope_text", "valid_from", "valid_until"
        )
        return cls(PeriodRef(*row) for row in rows.iterator(chunk_size=5000))

    def match(self, stay: TravelStay) -> list[Hit]:
        """Every period this stay touches, with the kind of match; one hit per period."""
        if not stay.code:
            return []
        hits: dict[int, Hit] = {}
        inside_county: list[tuple[PeriodRef, tuple[datetime.date, datetime.date]]] = []
        for prefix in _prefixes(stay.code):
            for period in self.by_code.get(prefix, ()):
                days = period.overlap(stay.first, stay.last)
                if days is None:
                    continue
                kind = self._kind_inside(period, stay)
                if kind is None:
                    inside_county.append((period, days))
                else:
                    hits[period.id] = Hit(period, kind, *days)
        for period in self.below.get(stay.code, ()):
            days = period.overlap(stay.first, stay.last)
            if days is not None and period.id not in hits:
                hits[period.id] = Hit(period, MatchKind.POSSIBLE, *days)
        # Elsewhere in a county with a medium/high-risk area at the time: a low-risk area of an affected county.
        if len(stay.code) >= 6:
            county = stay.code[:6]
            affected = [period for period, _days in inside_county]
            affected += [period for period in self.below.get(county, ()) if period.id not in hits]
            for period in affected:
                if period.id in hits or period.level == RiskLevel.LOW:
                    continue
                days = period.overlap(stay.first, stay.last)
                if days is not None and not self._inside_or_possible(period, stay):
                    hits[period.id] = Hit(period, MatchKind.COUNTY, *days)
        return list(hits.values())

    @staticmethod
    def _kind_inside(period: PeriodRef, stay: TravelStay) -> str | None:
        """For an area whose code is a prefix of the stay's: definite, possible, or None (elsewhere below)."""
        if not period.scope:
            return MatchKind.DEFINITE
        if scope_contains(stay.remainder, period.scope):
            return MatchKind.DEFINITE
        if scope_is_broader(stay.remainder, period.scope):
            return MatchKind.POSSIBLE
        return None

    def _inside_or_possible(self, period: PeriodRef, stay: TravelStay) -> bool:
        if stay.code.startswith(period.code):
            return self._kind_inside(period, stay) is not None
        return period.code.startswith(stay.code)
