"""The policy engine: which measure a person needs, from when to when, with which tests, and why.

Pure functions over plain data (``EditionSpec``/``RuleSpec`` loaded once from the database), so that an import of
100,000 rows evaluates without a query per row. The rules it applies are DOMAIN.md's:

* the edition in force on the relevant day (the arrival day; for contacts the last exposure) is used;
* each piece of evidence (a stay in a risk area, an exposure) is tried against its trigger's rule, and the
  strictest resulting measure wins (severity of the measure, then the rule's priority, then the later end);
* periods are counted in whole days from the rule's anchor, and what was served before arrival counts
  (填平补齐): day 1 of a risk-area rule is the day after the person left the area; the person serves the rest;
* test days that fell before arrival are not scheduled; when fewer than the edition's minimum remain, tests are
  added from the arrival day, at least the edition's minimum gap apart;
* a period (with its follow-on) that ran out before arrival is managed as a low-risk arrival, unless a release
  certificate is shown; when only the main part ran out, the follow-on measure is what remains.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from firstline.policy.models import RISK_TRIGGERS, SEVERITY, Anchor, MeasureType, Trigger

ONE_DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class RuleSpec:
    id: int | None
    trigger: str
    measure: str
    duration_days: int
    anchor: str
    lookback_days: int | None = None
    test_days: tuple[int, ...] = ()
    follow_on_measure: str = ""
    follow_on_days: int | None = None
    follow_on_test_days: tuple[int, ...] = ()
    stay_home_until_negative: bool = False
    priority: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "trigger": self.trigger,
            "measure": self.measure,
            "duration_days": self.duration_days,
            "anchor": self.anchor,
            "lookback_days": self.lookback_days,
            "test_days": list(self.test_days),
            "follow_on_measure": self.follow_on_measure,
            "follow_on_days": self.follow_on_days,
            "follow_on_test_days": list(self.follow_on_test_days),
            "stay_home_until_negative": self.stay_home_until_negative,
            "priority": self.priority,
        }


@dataclass(frozen=True)
class EditionSpec:
    id: int | None
    name: str
    effective_from: datetime.date
    rules: dict[str, RuleSpec]
    min_tests_when_short: int = 2
    min_test_gap_hours: int = 24
    expired_as_low_risk: bool = True
    lifting_shortens_measures: bool = False
    infectious_days_before: int = 2
    window_from_last_negative: bool = False


@dataclass(frozen=True)
class EditionBook:
    """The published editions, newest first; ``in_force_on`` picks the one for a day."""

    editions: tuple[EditionSpec, ...]

    def in_force_on(self, day: datetime.date) -> EditionSpec | None:
        for edition in self.editions:
            if edition.effective_from <= day:
                return edition
        return None


@dataclass(frozen=True)
class Evidence:
    """Why a rule may apply: a stay in a risk area, or an exposure to a case or contact."""

    trigger: str
    first_day: datetime.date
    last_day: datetime.date
    # Risk-area evidence
    area_id: int | None = None
    period_id: int | None = None
    area_place: str = ""
    level: str = ""
    period_from: datetime.date | None = None
    period_until: datetime.date | None = None
    travel_place: str = ""
    match: str = ""
    # Exposure evidence
    source_label: str = ""

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "trigger": self.trigger,
            "first_day": self.first_day.isoformat(),
            "last_day": self.last_day.isoformat(),
        }
        if self.area_id is not None:
            data.update(
                area_id=self.area_id,
                period_id=self.period_id,
                area_place=self.area_place,
                level=self.level,
                period_from=self.period_from.isoformat() if self.period_from else None,
                period_until=self.period_until.isoformat() if self.period_until else None,
                travel_place=self.travel_place,
                match=self.match,
            )
        if self.source_label:
            data["source_label"] = self.source_label
        return data


@dataclass(frozen=True)
class Decision:
    measure: str
    edition: EditionSpec | None = None
    rule: RuleSpec | None = None
    evidence: Evidence | None = None
    counted_from: datetime.date | None = None
    start: datetime.date | None = None
    end: datetime.date | None = None
    test_dates: tuple[datetime.date, ...] = ()
    follow_on: str = ""
    follow_on_start: datetime.date | None = None
    follow_on_end: datetime.date | None = None
    follow_on_test_dates: tuple[datetime.date, ...] = ()
    skipped_test_dates: tuple[datetime.date, ...] = ()
    added_test_dates: tuple[datetime.date, ...] = ()
    notes: tuple[dict[str, Any], ...] = ()
    considered: tuple[dict[str, Any], ...] = field(default=(), compare=False)

    @property
    def is_none(self) -> bool:
        return self.measure == MeasureType.NONE

    def strictness(self) -> tuple[int, int, datetime.date, datetime.date]:
        far_past = datetime.date.min
        return (
            SEVERITY.get(MeasureType(self.measure), 0),
            self.rule.priority if self.rule else 0,
            self.end or far_past,
            self.follow_on_end or far_past,
        )

    def explanation(self) -> dict[str, Any]:
        """JSON-able, language-neutral: rendered into sentences by ``policy.explain`` in the reader's language."""

        def iso(day: datetime.date | None) -> str | None:
            return day.isoformat() if day else None

        return {
            "measure": self.measure,
            "edition": (
                {"id": self.edition.id, "name": self.edition.name, "effective_from": iso(self.edition.effective_from)}
                if self.edition
                else None
            ),
            "rule": self.rule.as_dict() if self.rule else None,
            "evidence": self.evidence.as_dict() if self.evidence else None,
            "counted_from": iso(self.counted_from),
            "start": iso(self.start),
            "end": iso(self.end),
            "test_dates": [d.isoformat() for d in self.test_dates],
            "skipped_test_dates": [d.isoformat() for d in self.skipped_test_dates],
            "added_test_dates": [d.isoformat() for d in self.added_test_dates],
            "follow_on": (
                {
                    "measure": self.follow_on,
                    "start": iso(self.follow_on_start),
                    "end": iso(self.follow_on_end),
                    "test_dates": [d.isoformat() for d in self.follow_on_test_dates],
                }
                if self.follow_on
                else None
            ),
            "notes": list(self.notes),
            "considered": list(self.considered),
        }


def _day_one(
    anchor: str, evidence: Evidence, arrival_date: datetime.date | None, today: datetime.date
) -> datetime.date:
    if anchor == Anchor.LEFT_AREA or anchor == Anchor.LAST_EXPOSURE:
        return evidence.last_day + ONE_DAY
    if anchor == Anchor.ARRIVAL:
        return arrival_date or today
    return today  # Anchor.NOTIFIED


def _days(day_one: datetime.date, numbers: Iterable[int]) -> list[datetime.date]:
    return sorted({day_one + datetime.timedelta(days=n - 1) for n in numbers if n >= 1})


def _fill_tests(
    dates: list[datetime.date], *, present_from: datetime.date, minimum: int, gap_hours: int
) -> tuple[list[datetime.date], list[datetime.date]]:
    """Add tests from ``present_from`` until ``minimum`` are scheduled, each at least ``gap_hours`` from the others."""
    if len(dates) >= minimum:
        return dates, []
    gap_days = max(1, math.ceil(gap_hours / 24))
    added: list[datetime.date] = []
    candidate = present_from
    while len(dates) + len(added) < minimum:
        if all(abs((candidate - other).days) >= gap_days for other in (*dates, *added)):
            added.append(candidate)
        candidate += ONE_DAY
    return sorted([*dates, *added]), added


def _schedule(
    rule: RuleSpec,
    evidence: Evidence,
    edition: EditionSpec,
    *,
    present_from: datetime.date,
    arrival_date: datetime.date | None,
    today: datetime.date,
    notes: Sequence[dict[str, Any]] = (),
) -> Decision | None:
    """The decision ``rule`` gives for ``evidence``; None when the whole period ran out before ``present_from``."""
    day_one = _day_one(rule.anchor, evidence, arrival_date, today)
    end = day_one + datetime.timedelta(days=rule.duration_days - 1)
    follow_start = follow_end = None
    follow_tests: list[datetime.date] = []
    if rule.follow_on_measure and rule.follow_on_days:
        follow_start = end + ONE_DAY
        follow_end = end + datetime.timedelta(days=rule.follow_on_days)
        follow_tests = _days(follow_start, rule.follow_on_test_days)
    notes = list(notes)
    measure, start, tests = rule.measure, max(day_one, present_from), _days(day_one, rule.test_days)
    if end < present_from:
        if follow_end is None or follow_end < present_from:
            return None
        # The main part was served before arrival: what remains is the follow-on.
        notes.append({"code": "main_part_served", "main_measure": rule.measure, "main_end": end.isoformat()})
        measure, start, end, tests = (
            rule.follow_on_measure,
            max(follow_start or present_from, present_from),
            follow_end,
            follow_tests,
        )
        follow_start = follow_end = None
        follow_tests = []
    skipped = [d for d in tests if d < present_from]
    kept = [d for d in tests if d >= present_from]
    added: list[datetime.date] = []
    if tests:  # a rule without tests stays without; a rule with tests keeps at least the minimum
        kept, added = _fill_tests(
            kept, present_from=start, minimum=edition.min_tests_when_short, gap_hours=edition.min_test_gap_hours
        )
    if skipped:
        notes.append({"code": "tests_before_arrival_skipped", "dates": [d.isoformat() for d in skipped]})
    if added:
        notes.append({"code": "tests_added_short_remainder", "dates": [d.isoformat() for d in added]})
    if day_one < start:
        notes.append({"code": "served_before_arrival", "days": (start - day_one).days})
    if rule.stay_home_until_negative:
        notes.append({"code": "stay_home_until_negative"})
    return Decision(
        measure=measure,
        edition=edition,
        rule=rule,
        evidence=evidence,
        counted_from=day_one,
        start=start,
        end=end,
        test_dates=tuple(kept),
        follow_on=rule.follow_on_measure if follow_start else "",
        follow_on_start=follow_start,
        follow_on_end=follow_end,
        follow_on_test_dates=tuple(follow_tests),
        skipped_test_dates=tuple(skipped),
        added_test_dates=tuple(added),
        notes=tuple(notes),
    )


def evaluate(
    *,
    book: EditionBook,
    evidence: Sequence[Evidence],
    arrival_date: datetime.date | None = None,
    today: datetime.date,
    release_certificate: bool = False,
) -> Decision:
    """The strictest measure the edition in force requires for this evidence, with its explanation.

    ``arrival_date`` is set for arrivals (the edition in force on that day applies, and days before it count as
    served); for contacts it is None and the last exposure picks the edition, with ``today`` as the first day the
    person can be reached.
    """
    relevant_day = arrival_date or max((e.last_day for e in evidence), default=today)
    edition = book.in_force_on(relevant_day)
    if edition is None:
        return Decision(measure=MeasureType.NONE, notes=({"code": "no_edition", "day": relevant_day.isoformat()},))
    if not evidence:
        return Decision(measure=MeasureType.NONE, edition=edition, notes=({"code": "no_evidence"},))
    present_from = arrival_date or today
    candidates: list[Decision] = []
    considered: list[dict[str, Any]] = []
    for item in evidence:
        rule = edition.rules.get(item.trigger)
        if rule is None:
            considered.append({"trigger": item.trigger, "outcome": "no_rule"})
            continue
        if (
            rule.lookback_days is not None
            and arrival_date is not None
            and (arrival_date - item.last_day).days > rule.lookback_days
        ):
            considered.append(
                {"trigger": item.trigger, "outcome": "outside_lookback", "last_day": item.last_day.isoformat()}
            )
            continue
        decision = _schedule(rule, item, edition, present_from=present_from, arrival_date=arrival_date, today=today)
        if decision is None:
            decision = _expired(item, rule, edition, present_from, arrival_date, today, release_certificate)
            if decision is None:
                considered.append({"trigger": item.trigger, "outcome": "expired_with_certificate"})
                continue
        candidates.append(decision)
    if not candidates:
        return Decision(
            measure=MeasureType.NONE,
            edition=edition,
            notes=({"code": "no_rule_applies"},),
            considered=tuple(considered),
        )
    candidates.sort(key=Decision.strictness, reverse=True)
    best = candidates[0]
    for other in candidates[1:]:
        considered.append(
            {
                "trigger": other.rule.trigger if other.rule else "",
                "outcome": "less_strict",
                "measure": other.measure,
                "end": other.end.isoformat() if other.end else None,
            }
        )
    return replace(best, considered=tuple(considered))


def _expired(
    item: Evidence,
    rule: RuleSpec,
    edition: EditionSpec,
    present_from: datetime.date,
    arrival_date: datetime.date | None,
    today: datetime.date,
    release_certificate: bool,
) -> Decision | None:
    """The whole period ran out before arrival: a release certificate settles it, else a low-risk arrival."""
    expired_note = {
        "code": "period_expired",
        "trigger": rule.trigger,
        "original_end": (
            _day_one(rule.anchor, item, arrival_date, today) + datetime.timedelta(days=rule.duration_days - 1)
        ).isoformat(),
    }
    if release_certificate:
        return None
    low = edition.rules.get(Trigger.RISK_LOW)
    if rule.trigger not in RISK_TRIGGERS or not edition.expired_as_low_risk or low is None or low is rule:
        return Decision(measure=MeasureType.NONE, edition=edition, rule=rule, evidence=item, notes=(expired_note,))
    as_low = replace(item, trigger=Trigger.RISK_LOW)
    return _schedule(
        low, as_low, edition, present_from=present_from, arrival_date=arrival_date, today=today, notes=[expired_note]
    )
