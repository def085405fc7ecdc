"""Every rule of every shipped policy edition: the samplings a placement gets are exactly the measure's test days
from the placement day on (main part and follow-on)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from conftest import make_person, valid_id
from firstline.policy.assign import measure_from_decision
from firstline.policy.engine import EditionBook, Evidence, evaluate
from firstline.policy.models import Anchor, MeasureRule, PolicyEdition
from firstline.policy.selectors import edition_rules, edition_spec
from firstline.quarantine.measures import schedule_samplings
from firstline.quarantine.models import Placement, PlacementPhase, Sampling, SamplingStatus
from firstline.quarantine.tests.factories import at, days

pytestmark = pytest.mark.django_db

ONE_DAY = datetime.timedelta(days=1)


def _decision(edition: PolicyEdition, rule: Any) -> Any:
    """The rule applied to evidence that makes day 1 yesterday (so the placement, today, skips day 1)."""
    spec = edition_spec(edition, edition_rules(edition))
    book = EditionBook(editions=(spec,))
    reference = max(edition.effective_from + datetime.timedelta(days=30), days(0))
    yesterday = reference - ONE_DAY
    if rule.anchor in (Anchor.LEFT_AREA, Anchor.LAST_EXPOSURE):
        evidence = Evidence(trigger=rule.trigger, first_day=yesterday - ONE_DAY, last_day=yesterday - ONE_DAY)
    else:
        evidence = Evidence(trigger=rule.trigger, first_day=yesterday, last_day=yesterday)
    arrival = yesterday if rule.trigger.startswith("risk_") else None
    decision = evaluate(book=book, evidence=[evidence], arrival_date=arrival, today=yesterday)
    assert decision.rule is not None and decision.rule.id == rule.pk, (edition.name, rule.trigger, decision.notes)
    return decision, reference


def _scheduled(placement: Placement) -> list[datetime.date]:
    rows = Sampling.objects.filter(placement=placement, status=SamplingStatus.SCHEDULED)
    return sorted(s.due_date for s in rows if s.due_date is not None)


def test_each_rule_of_each_shipped_edition_schedules_exactly_its_test_days(city: Any) -> None:
    editions = list(PolicyEdition.objects.all())
    assert editions, "the shipped editions come from the policy data migration"
    checked = 0
    for number, (edition, rule) in enumerate((e, r) for e in editions for r in edition_rules(e)):
        person = make_person(
            household=city.household_a, name=f"测试{number}", id_number=valid_id(f"632701199001{number + 10:03d}01")
        )
        decision, placed_on = _decision(edition, rule)
        m = measure_from_decision(decision, person_id=person.pk, path=person.path, source=None, actor=None)
        m.save()
        main = Placement.objects.create(
            person=person,
            measure=m,
            kind="home",
            grid=city.grid_a,
            path=person.path,
            start_at=at(placed_on, 10),
            due_date=m.end,
        )
        schedule_samplings(main)
        expected = sorted(d for d in (datetime.date.fromisoformat(x) for x in m.test_dates) if d >= placed_on)
        assert _scheduled(main) == expected, (edition.name, rule.trigger)
        if m.follow_on_end is not None:
            # The follow-on placement starts the day after the main part: its own test days, nothing else.
            main.status = "released"
            main.save(update_fields=["status"])
            follow = Placement.objects.create(
                person=person,
                measure=m,
                kind="home",
                phase=PlacementPhase.FOLLOW_ON,
                grid=city.grid_a,
                path=person.path,
                start_at=at(m.follow_on_start, 8),  # type: ignore[arg-type]
                due_date=m.follow_on_end,
            )
            schedule_samplings(follow)
            follow_days = sorted(datetime.date.fromisoformat(x) for x in m.follow_on_test_dates)
            assert _scheduled(follow) == follow_days, (edition.name, rule.trigger, "follow-on")
        checked += 1
    assert checked == MeasureRule.objects.filter(edition__in=editions).count() > 0
