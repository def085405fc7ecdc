"""DOMAIN.md's policy table, row by row, for both shipped editions, through the engine on the migrated database.

Every test loads ``edition_book()`` (the published editions as the running system sees them) and checks exact
dates: day 1, start, end, test dates and the follow-on.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from firstline.policy import selectors, services
from firstline.policy.engine import Decision, Evidence, evaluate
from firstline.policy.models import MeasureType as MT
from firstline.policy.models import Trigger
from firstline.policy.tests.helpers import EDITION_9TH, EDITION_2021, arrive, d, ds, reach

pytestmark = pytest.mark.django_db

C, H, M, T, S = (
    MT.CENTRALISED_QUARANTINE,
    MT.HOME_QUARANTINE,
    MT.HOME_HEALTH_MONITORING,
    MT.TESTS_ONLY,
    MT.SELF_MONITORING,
)


def summary(decision: Decision) -> dict[str, Any]:
    return {
        "edition": decision.edition.name if decision.edition else None,
        "measure": decision.measure,
        "counted_from": decision.counted_from,
        "start": decision.start,
        "end": decision.end,
        "tests": decision.test_dates,
        "follow_on": decision.follow_on,
        "follow_on_start": decision.follow_on_start,
        "follow_on_end": decision.follow_on_end,
        "follow_on_tests": decision.follow_on_test_dates,
    }


def expected(
    edition: str,
    measure: str,
    counted_from: str,
    end: str,
    tests: tuple[str, ...] = (),
    *,
    start: str | None = None,
    follow_on: str = "",
    follow_on_start: str | None = None,
    follow_on_end: str | None = None,
    follow_on_tests: tuple[str, ...] = (),
) -> dict[str, Any]:
    return {
        "edition": edition,
        "measure": measure,
        "counted_from": d(counted_from),
        "start": d(start or counted_from),
        "end": d(end),
        "tests": ds(*tests),
        "follow_on": follow_on,
        "follow_on_start": d(follow_on_start) if follow_on_start else None,
        "follow_on_end": d(follow_on_end) if follow_on_end else None,
        "follow_on_tests": ds(*follow_on_tests),
    }


# --- 8th edition / 2021 practice ------------------------------------------------------------------------------


def test_2021_close_contact_gets_14_days_centralised_then_7_days_home_health_monitoring():
    decision = reach(selectors.edition_book(), Trigger.CLOSE_CONTACT, last="2021-10-10", today="2021-10-11")
    assert summary(decision) == expected(
        EDITION_2021,
        C,
        "2021-10-11",
        "2021-10-24",
        ("2021-10-11", "2021-10-14", "2021-10-17", "2021-10-24"),
        follow_on=M,
        follow_on_start="2021-10-25",
        follow_on_end="2021-10-31",
        follow_on_tests=("2021-10-26", "2021-10-31"),
    )


def test_2021_secondary_contact_gets_7_days_centralised_without_scheduled_tests():
    decision = reach(selectors.edition_book(), Trigger.SECONDARY_CONTACT, last="2021-10-10", today="2021-10-11")
    assert summary(decision) == expected(EDITION_2021, C, "2021-10-11", "2021-10-17")


@pytest.mark.parametrize("trigger", [Trigger.RISK_HIGH, Trigger.RISK_MEDIUM])
def test_2021_arrival_from_high_or_medium_risk_area_gets_14_days_centralised(trigger):
    decision = arrive(selectors.edition_book(), trigger, left="2021-10-01", arrival="2021-10-02")
    assert summary(decision) == expected(
        EDITION_2021,
        C,
        "2021-10-02",
        "2021-10-15",
        ("2021-10-02", "2021-10-05", "2021-10-08", "2021-10-11", "2021-10-15"),
    )
    assert decision.rule is not None and decision.rule.lookback_days == 14


def test_2021_arrival_from_low_risk_area_of_affected_county_gets_2_tests_in_3_days():
    decision = arrive(selectors.edition_book(), Trigger.RISK_LOW, left="2021-10-01", arrival="2021-10-02")
    assert summary(decision) == expected(EDITION_2021, T, "2021-10-02", "2021-10-04", ("2021-10-02", "2021-10-03"))


def test_2021_spatio_temporal_companion_gets_2_tests_in_3_days_and_stays_home_until_negative():
    decision = reach(selectors.edition_book(), Trigger.COMPANION, last="2021-10-10", today="2021-10-12")
    assert summary(decision) == expected(EDITION_2021, T, "2021-10-12", "2021-10-14", ("2021-10-12", "2021-10-13"))
    assert {"code": "stay_home_until_negative"} in decision.notes


# --- 第九版防控方案 ----------------------------------------------------------------------------------------------


def test_9th_close_contact_gets_7_days_centralised_then_3_days_home_health_monitoring():
    decision = reach(selectors.edition_book(), Trigger.CLOSE_CONTACT, last="2022-07-10", today="2022-07-11")
    assert summary(decision) == expected(
        EDITION_9TH,
        C,
        "2022-07-11",
        "2022-07-17",
        ("2022-07-11", "2022-07-12", "2022-07-13", "2022-07-15", "2022-07-17"),
        follow_on=M,
        follow_on_start="2022-07-18",
        follow_on_end="2022-07-20",
        follow_on_tests=("2022-07-20",),
    )


def test_9th_secondary_contact_gets_7_days_home_quarantine_with_tests_on_days_1_4_7():
    decision = reach(selectors.edition_book(), Trigger.SECONDARY_CONTACT, last="2022-07-10", today="2022-07-11")
    assert summary(decision) == expected(
        EDITION_9TH, H, "2022-07-11", "2022-07-17", ("2022-07-11", "2022-07-14", "2022-07-17")
    )


def test_9th_arrival_from_high_risk_area_gets_7_days_centralised():
    decision = arrive(selectors.edition_book(), Trigger.RISK_HIGH, left="2022-07-03", arrival="2022-07-04")
    assert summary(decision) == expected(
        EDITION_9TH,
        C,
        "2022-07-04",
        "2022-07-10",
        ("2022-07-04", "2022-07-05", "2022-07-06", "2022-07-08", "2022-07-10"),
    )
    assert decision.rule is not None and decision.rule.lookback_days == 7


def test_9th_arrival_from_medium_risk_area_gets_7_days_home_quarantine():
    decision = arrive(selectors.edition_book(), Trigger.RISK_MEDIUM, left="2022-07-03", arrival="2022-07-04")
    assert summary(decision) == expected(
        EDITION_9TH, H, "2022-07-04", "2022-07-10", ("2022-07-04", "2022-07-07", "2022-07-10")
    )


def test_9th_arrival_from_low_risk_area_gets_3_days_2_tests_then_self_monitoring():
    decision = arrive(selectors.edition_book(), Trigger.RISK_LOW, left="2022-07-03", arrival="2022-07-04")
    assert summary(decision) == expected(
        EDITION_9TH,
        T,
        "2022-07-04",
        "2022-07-06",
        ("2022-07-04", "2022-07-05"),
        follow_on=S,
        follow_on_start="2022-07-07",
        follow_on_end="2022-07-10",
    )


def test_9th_spatio_temporal_companion_has_no_national_rule():
    decision = reach(selectors.edition_book(), Trigger.COMPANION, last="2022-07-10", today="2022-07-11")
    assert decision.measure == MT.NONE
    assert (decision.start, decision.end, decision.test_dates) == (None, None, ())
    assert decision.notes == ({"code": "no_rule_applies"},)
    assert decision.considered == ({"trigger": "companion", "outcome": "no_rule"},)


# --- 填平补齐 and the rules around the table --------------------------------------------------------------------


@pytest.fixture
def city_notice(city, edition_9th):
    """DOMAIN.md's worked example as an edition: the 第九版防控方案's rules plus 7 days of home health monitoring
    after a high-risk stay (and a 14-day look-back, so stays whose quarantine ran out still count), in force from
    2022-01-01."""
    copy = services.edition_copy(
        actor=city["cdc"], edition=edition_9th, name="2022 city notice", effective_from=datetime.date(2022, 1, 1)
    )
    services.rule_save(
        actor=city["cdc"],
        edition=copy,
        trigger=Trigger.RISK_HIGH,
        data={"follow_on_measure": M, "follow_on_days": 7, "lookback_days": 14},
    )
    copy.refresh_from_db()
    return services.edition_publish(actor=city["cdc"], edition=copy, expected_version=copy.version)


def test_worked_example_counts_from_the_day_after_leaving_and_serves_the_rest(city_notice):
    # Left a high-risk county on 1 Jan, spent 2–3 Jan in a low-risk county, arrived 4 Jan.
    decision = arrive(
        selectors.edition_book(), Trigger.RISK_HIGH, first="2021-12-28", left="2022-01-01", arrival="2022-01-04"
    )
    assert summary(decision) == expected(
        "2022 city notice",
        C,
        "2022-01-02",
        "2022-01-08",
        ("2022-01-04", "2022-01-06", "2022-01-08"),
        start="2022-01-04",
        follow_on=M,
        follow_on_start="2022-01-09",
        follow_on_end="2022-01-15",
    )
    # Days 1 and 2 (2 and 3 Jan) fell before arrival: not scheduled.
    assert decision.skipped_test_dates == ds("2022-01-02", "2022-01-03")
    assert decision.added_test_dates == ()
    assert {"code": "served_before_arrival", "days": 2} in decision.notes


def test_short_remainder_adds_tests_from_arrival_to_reach_two_at_least_24_hours_apart():
    # 2021: left 1 Oct, arrived 13 Oct: only day 14 (15 Oct) of the test days remains.
    decision = arrive(selectors.edition_book(), Trigger.RISK_HIGH, left="2021-10-01", arrival="2021-10-13")
    assert (decision.counted_from, decision.start, decision.end) == ds("2021-10-02", "2021-10-13", "2021-10-15")
    assert decision.test_dates == ds("2021-10-13", "2021-10-15")
    assert decision.added_test_dates == ds("2021-10-13")
    assert decision.skipped_test_dates == ds("2021-10-02", "2021-10-05", "2021-10-08", "2021-10-11")


def test_short_remainder_next_to_a_kept_test_day_still_keeps_a_day_between_tests():
    # 9th: left 1 Jul, arrived 7 Jul: day 7 (8 Jul) remains; the added test is on arrival day, 24 h before it.
    decision = arrive(selectors.edition_book(), Trigger.RISK_HIGH, left="2022-07-01", arrival="2022-07-07")
    assert decision.test_dates == ds("2022-07-07", "2022-07-08")
    assert decision.added_test_dates == ds("2022-07-07")


@pytest.mark.parametrize(
    ("arrival", "edition", "end"),
    [("2022-06-27", EDITION_2021, "2022-07-10"), ("2022-06-28", EDITION_9TH, "2022-07-03")],
)
def test_edition_switches_over_exactly_on_its_effective_date(arrival, edition, end):
    decision = arrive(selectors.edition_book(), Trigger.RISK_HIGH, left="2022-06-26", arrival=arrival)
    assert decision.edition is not None and decision.edition.name == edition
    assert (decision.measure, decision.counted_from, decision.end) == (C, d("2022-06-27"), d(end))


@pytest.mark.parametrize(
    ("last_exposure", "edition", "end"),
    [("2022-06-27", EDITION_2021, "2022-07-11"), ("2022-06-28", EDITION_9TH, "2022-07-05")],
)
def test_contact_without_arrival_picks_the_edition_by_the_last_exposure(last_exposure, edition, end):
    decision = reach(selectors.edition_book(), Trigger.CLOSE_CONTACT, last=last_exposure, today="2022-06-30")
    assert decision.edition is not None and decision.edition.name == edition
    assert decision.end == d(end)


def test_strictest_measure_wins_over_a_low_risk_stay():
    book = selectors.edition_book()
    evidence = [
        Evidence(trigger=Trigger.RISK_LOW, first_day=d("2022-07-02"), last_day=d("2022-07-03")),
        Evidence(trigger=Trigger.RISK_HIGH, first_day=d("2022-06-30"), last_day=d("2022-07-01")),
    ]
    decision = evaluate(book=book, evidence=evidence, arrival_date=d("2022-07-04"), today=d("2022-07-04"))
    assert (decision.measure, decision.counted_from, decision.end) == (C, d("2022-07-02"), d("2022-07-08"))
    assert decision.considered == (
        {"trigger": "risk_low", "outcome": "less_strict", "measure": T, "end": "2022-07-06"},
    )


def test_equally_strict_measures_are_decided_by_the_rules_priority():
    # 2021: high (priority 8) and medium (priority 7) are both 14 days centralised; the medium stay ended later.
    evidence = [
        Evidence(trigger=Trigger.RISK_MEDIUM, first_day=d("2021-10-03"), last_day=d("2021-10-03")),
        Evidence(trigger=Trigger.RISK_HIGH, first_day=d("2021-10-01"), last_day=d("2021-10-01")),
    ]
    decision = evaluate(
        book=selectors.edition_book(), evidence=evidence, arrival_date=d("2021-10-04"), today=d("2021-10-04")
    )
    assert decision.rule is not None and decision.rule.trigger == Trigger.RISK_HIGH
    assert decision.end == d("2021-10-15")


def test_equally_strict_measures_with_equal_priority_take_the_later_end(city, edition_2021):
    copy = services.edition_copy(
        actor=city["cdc"], edition=edition_2021, name="equal priorities", effective_from=d("2021-05-11")
    )
    services.rule_save(actor=city["cdc"], edition=copy, trigger=Trigger.RISK_MEDIUM, data={"priority": 8})
    evidence = [
        Evidence(trigger=Trigger.RISK_HIGH, first_day=d("2021-10-01"), last_day=d("2021-10-01")),
        Evidence(trigger=Trigger.RISK_MEDIUM, first_day=d("2021-10-03"), last_day=d("2021-10-03")),
    ]
    decision = selectors.edition_try(copy, evidence=evidence, arrival_date=d("2021-10-04"), today=d("2021-10-04"))
    assert decision.rule is not None and decision.rule.trigger == Trigger.RISK_MEDIUM
    assert decision.end == d("2021-10-17")


@pytest.mark.parametrize(("left", "applies"), [("2022-07-03", True), ("2022-07-02", False)])
def test_look_back_counts_a_stay_exactly_n_days_before_arrival_but_not_n_plus_one(left, applies):
    decision = arrive(selectors.edition_book(), Trigger.RISK_HIGH, left=left, arrival="2022-07-10")
    if applies:
        assert (decision.measure, decision.counted_from, decision.end) == (C, d("2022-07-04"), d("2022-07-10"))
        # Only day 7 remains; the second test the edition's minimum asks for falls on the next day.
        assert decision.test_dates == ds("2022-07-10", "2022-07-11")
    else:
        assert decision.measure == MT.NONE
        assert decision.considered == (
            {"trigger": "risk_high", "outcome": "outside_lookback", "last_day": "2022-07-02"},
        )


@pytest.fixture
def long_lookback(city, edition_9th):
    """The 第九版防控方案 with a 14-day look-back for high risk: a 7-day period can run out before arrival."""
    copy = services.edition_copy(
        actor=city["cdc"], edition=edition_9th, name="long look-back", effective_from=d("2022-06-28")
    )
    services.rule_save(actor=city["cdc"], edition=copy, trigger=Trigger.RISK_HIGH, data={"lookback_days": 14})
    return copy


def test_period_that_ran_out_before_arrival_is_managed_as_a_low_risk_arrival(long_lookback):
    # Left 1 Jul: the 7 days ended on 8 Jul; arrived 12 Jul.
    stay = Evidence(trigger=Trigger.RISK_HIGH, first_day=d("2022-07-01"), last_day=d("2022-07-01"))
    decision = selectors.edition_try(
        long_lookback, evidence=[stay], arrival_date=d("2022-07-12"), today=d("2022-07-12")
    )
    assert summary(decision) == expected(
        "long look-back",
        T,
        "2022-07-12",
        "2022-07-14",
        ("2022-07-12", "2022-07-13"),
        follow_on=S,
        follow_on_start="2022-07-15",
        follow_on_end="2022-07-18",
    )
    assert decision.notes[0] == {"code": "period_expired", "trigger": "risk_high", "original_end": "2022-07-08"}


def test_period_that_ran_out_before_arrival_with_a_release_certificate_needs_nothing(long_lookback):
    stay = Evidence(trigger=Trigger.RISK_HIGH, first_day=d("2022-07-01"), last_day=d("2022-07-01"))
    decision = selectors.edition_try(
        long_lookback, evidence=[stay], arrival_date=d("2022-07-12"), today=d("2022-07-12"), release_certificate=True
    )
    assert decision.measure == MT.NONE
    assert decision.considered == ({"trigger": "risk_high", "outcome": "expired_with_certificate"},)


def test_when_the_main_part_was_served_before_arrival_the_follow_on_remains(city_notice):
    # Left 1 Jan: centralised 2–8 Jan ran out; arrived 10 Jan, inside the home health monitoring of 9–15 Jan.
    decision = arrive(selectors.edition_book(), Trigger.RISK_HIGH, left="2022-01-01", arrival="2022-01-10")
    assert (decision.measure, decision.counted_from, decision.start, decision.end) == (
        M,
        d("2022-01-02"),
        d("2022-01-10"),
        d("2022-01-15"),
    )
    assert decision.follow_on == ""
    assert {"code": "main_part_served", "main_measure": C, "main_end": "2022-01-08"} in decision.notes


def test_contact_reached_after_the_quarantine_ended_serves_only_the_follow_on():
    # 9th: last exposure 1 Jul, quarantine 2–8 Jul, monitoring 9–11 Jul; reached on 9 Jul.
    decision = reach(selectors.edition_book(), Trigger.CLOSE_CONTACT, last="2022-07-01", today="2022-07-09")
    assert (decision.measure, decision.start, decision.end) == (M, d("2022-07-09"), d("2022-07-11"))
    assert decision.test_dates == ds("2022-07-09", "2022-07-11")
    assert decision.added_test_dates == ds("2022-07-09")


def test_edition_book_sees_a_rule_change_of_a_published_edition(city, edition_9th):
    before = arrive(selectors.edition_book(), Trigger.RISK_MEDIUM, left="2022-07-03", arrival="2022-07-04")
    services.rule_save(actor=city["cdc"], edition=edition_9th, trigger=Trigger.RISK_MEDIUM, data={"duration_days": 10})
    after = arrive(selectors.edition_book(), Trigger.RISK_MEDIUM, left="2022-07-03", arrival="2022-07-04")
    assert (before.end, after.end) == (d("2022-07-10"), d("2022-07-13"))
