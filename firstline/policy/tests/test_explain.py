"""Explanations rendered as sentences in the reader's language, and the measure payload the APIs return."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest
from django.utils import translation
from django.utils.translation import trans_real

from firstline.policy import explain, selectors
from firstline.policy.engine import Decision, Evidence, evaluate
from firstline.policy.models import Measure, MeasureType, Trigger
from firstline.policy.tests.helpers import arrive, d, reach

pytestmark = pytest.mark.django_db


def high_risk_stay_in_huaxiang() -> Evidence:
    return Evidence(
        trigger=Trigger.RISK_HIGH,
        first_day=d("2022-06-29"),
        last_day=d("2022-07-01"),
        area_id=7,
        period_id=3,
        area_place="北京市丰台区花乡地区",
        level="high",
        period_from=d("2022-06-20"),
        travel_place="北京丰台花乡",
    )


@pytest.fixture
def worked_example() -> Decision:
    # 第九版防控方案: left the high-risk area on 1 Jul, arrived on 4 Jul.
    return evaluate(
        book=selectors.edition_book(),
        evidence=[high_risk_stay_in_huaxiang()],
        arrival_date=d("2022-07-04"),
        today=d("2022-07-04"),
    )


def test_explanation_in_english_states_one_fact_per_sentence(worked_example):
    with translation.override("en"):
        lines = explain.explanation_lines(worked_example.explanation())
    assert lines == [
        "Under “第九版防控方案” (in force from 2022-06-28), the rule for “was in a high-risk area” applies.",
        "Was in 北京市丰台区花乡地区 from 2022-06-29 to 2022-07-01 (3 days).",
        "北京市丰台区花乡地区 has been listed as high risk since 2022-06-20.",
        "Travel history as given: “北京丰台花乡”.",
        "Centralised quarantine for 7 days, counted from 2022-07-02 (day 1: day after leaving the risk area's "
        "county), ending on 2022-07-08.",
        "2 days of it had passed before arrival: only the remaining days are served, from 2022-07-04.",
        "Tests on 2022-07-04, 2022-07-06, 2022-07-08.",
        "Test days before arrival (2022-07-02, 2022-07-03) are not scheduled.",
    ]


# Until the project catalogue carries the policy sentences, the test supplies the Chinese for a few of them: what
# it checks is that every sentence goes through gettext in the active language with named placeholders.
ZH = {
    "Under “%(edition)s” (in force from %(effective_from)s), the rule for “%(trigger)s” applies.": (
        "依据《%(edition)s》（%(effective_from)s 起施行），适用“%(trigger)s”的规定。"
    ),
    "was in a high-risk area": "曾在高风险地区",
    "centralised quarantine": "集中隔离",
    "day after leaving the risk area's county": "离开风险地区所在县的次日",
    "%(measure)s for %(days)s days, counted from %(counted_from)s (day 1: %(anchor)s), ending on %(end)s.": (
        "%(measure)s %(days)s 天，从 %(counted_from)s 起算（第1天：%(anchor)s），至 %(end)s 结束。"
    ),
    "Tests on %(dates)s.": "核酸检测：%(dates)s。",
    "Test days before arrival (%(dates)s) are not scheduled.": "抵达前的检测日 %(dates)s 不再安排。",
    "list separator\x04, ": "、",
}


@pytest.fixture
def zh_sentences() -> Iterator[None]:
    catalog = trans_real.translation("zh-hans")._catalog  # type: ignore[attr-defined]
    saved = {key: catalog.get(key) for key in ZH}
    for key, value in ZH.items():
        catalog[key] = value
    yield
    for key, value in saved.items():
        if value is None:
            del catalog._catalogs[0][key]
        else:
            catalog[key] = value


def test_explanation_in_chinese_uses_the_translated_sentences(worked_example, zh_sentences):
    with translation.override("zh-hans"):
        lines = explain.explanation_lines(worked_example.explanation())
        text = explain.explanation_text(worked_example.explanation())
    assert lines[0] == "依据《第九版防控方案》（2022-06-28 起施行），适用“曾在高风险地区”的规定。"
    assert lines[4] == "集中隔离 7 天，从 2022-07-02 起算（第1天：离开风险地区所在县的次日），至 2022-07-08 结束。"
    assert lines[6] == "核酸检测：2022-07-04、2022-07-06、2022-07-08。"
    assert lines[7] == "抵达前的检测日 2022-07-02、2022-07-03 不再安排。"
    assert text.startswith(
        "依据《第九版防控方案》（2022-06-28 起施行），适用“曾在高风险地区”的规定。2022-06-29 至 2022-07-01"
    )


def test_explanation_text_joins_the_sentences(worked_example):
    with translation.override("en"):
        text = explain.explanation_text(worked_example.explanation())
        assert text == " ".join(explain.explanation_lines(worked_example.explanation()))


def test_explanation_of_follow_on_and_added_tests():
    # 2021 close contact reached on day 10: tests 14 kept, one added; then 7 days of home health monitoring.
    decision = reach(selectors.edition_book(), Trigger.CLOSE_CONTACT, last="2021-10-10", today="2021-10-20")
    with translation.override("en"):
        lines = explain.explanation_lines(decision.explanation())
    assert lines == [
        "Under “2021年实践（第八版防控方案）” (in force from 2021-05-11), the rule for “close contact” applies.",
        "Close contact: exposed on 2021-10-10.",
        "Centralised quarantine for 14 days, counted from 2021-10-11 (day 1: day after the last exposure), ending "
        "on 2021-10-24.",
        "9 days of it had passed before the person was reached: only the remaining days are served, from 2021-10-20.",
        "Tests on 2021-10-20, 2021-10-24.",
        "Test days before the person was reached (2021-10-11, 2021-10-14, 2021-10-17) are not scheduled.",
        "Too few test days remained, so tests were added on 2021-10-20.",
        "Then home health monitoring for 7 days, from 2021-10-25 to 2021-10-31.",
        "Tests during home health monitoring on 2021-10-26, 2021-10-31.",
    ]


def test_explanation_of_a_served_main_part_says_what_remains():
    decision = reach(selectors.edition_book(), Trigger.CLOSE_CONTACT, last="2022-07-01", today="2022-07-09")
    with translation.override("en"):
        lines = explain.explanation_lines(decision.explanation())
    assert lines[2:4] == [
        "Centralised quarantine for 7 days, counted from 2022-07-02 (day 1: day after the last exposure), ending "
        "on 2022-07-08.",
        "The centralised quarantine ended before the person was reached: what remains is home health monitoring "
        "from 2022-07-09 to 2022-07-11.",
    ]


def test_explanation_names_the_less_strict_alternatives():
    evidence = [
        Evidence(trigger=Trigger.RISK_LOW, first_day=d("2022-07-03"), last_day=d("2022-07-03")),
        Evidence(trigger=Trigger.RISK_HIGH, first_day=d("2022-07-01"), last_day=d("2022-07-01")),
        Evidence(trigger=Trigger.COMPANION, first_day=d("2022-07-02"), last_day=d("2022-07-02")),
    ]
    decision = evaluate(
        book=selectors.edition_book(), evidence=evidence, arrival_date=d("2022-07-04"), today=d("2022-07-04")
    )
    with translation.override("en"):
        lines = explain.explanation_lines(decision.explanation())
    assert lines[1] == "Was in a high-risk area on 2022-07-01."
    assert lines[-2:] == [
        "“spatio-temporal companion” was considered, but this edition has no rule for it.",
        "“was in a low-risk area of an affected county” was also considered: tests only until 2022-07-06, which "
        "is less strict.",
    ]


def test_explanation_of_a_stay_outside_the_look_back():
    decision = arrive(selectors.edition_book(), Trigger.RISK_HIGH, left="2022-07-01", arrival="2022-07-10")
    with translation.override("en"):
        lines = explain.explanation_lines(decision.explanation())
    assert lines == [
        "Edition in force: “第九版防控方案” (from 2022-06-28).",
        "None of this edition's rules applies, so no measure is required.",
        "“was in a high-risk area” was considered, but it ended on 2022-07-01, outside the look-back period.",
    ]


def test_explanation_of_notes_without_a_measure():
    book = selectors.edition_book()
    with translation.override("en"):
        no_edition = explain.explanation_lines(
            evaluate(book=book, evidence=[], arrival_date=d("2020-01-05"), today=d("2020-01-05")).explanation()
        )
        no_evidence = explain.explanation_lines(
            evaluate(book=book, evidence=[], arrival_date=d("2022-07-05"), today=d("2022-07-05")).explanation()
        )
    assert no_edition == ["No published policy edition was in force on 2020-01-05, so no measure applies."]
    assert no_evidence == [
        "Edition in force: “第九版防控方案” (from 2022-06-28).",
        "No stay in a risk area and no exposure were found, so no measure applies.",
    ]


def test_explanation_of_an_expired_period_managed_as_low_risk():
    explanation = {
        "measure": "tests_only",
        "edition": {"id": 2, "name": "第九版防控方案", "effective_from": "2022-06-28"},
        "rule": {"trigger": "risk_low", "measure": "tests_only", "duration_days": 3, "anchor": "arrival"},
        "evidence": {"trigger": "risk_low", "first_day": "2022-07-01", "last_day": "2022-07-01"},
        "counted_from": "2022-07-12",
        "start": "2022-07-12",
        "end": "2022-07-14",
        "test_dates": ["2022-07-12", "2022-07-13"],
        "notes": [{"code": "period_expired", "trigger": "risk_high", "original_end": "2022-07-08"}],
    }
    with translation.override("en"):
        lines = explain.explanation_lines(explanation)
    assert lines[2:4] == [
        "The period for “was in a high-risk area” ended on 2022-07-08, before arrival.",
        "The person is therefore managed as a low-risk arrival.",
    ]


def test_explanation_of_a_companion_says_stay_home_until_negative():
    decision = reach(selectors.edition_book(), Trigger.COMPANION, last="2021-07-01", today="2021-07-09")
    with translation.override("en"):
        lines = explain.explanation_lines(decision.explanation())
    assert lines[-1] == "Stay at home until a negative result."


@pytest.mark.parametrize(
    "explanation",
    [
        None,
        {},
        {"measure": "centralised_quarantine"},
        {"measure": "home_quarantine", "start": "2021-03-01", "end": "2021-03-14", "notes": [{"code": "unknown"}]},
        {"measure": "mystery", "rule": {"trigger": "gone"}, "evidence": {}, "considered": [{"outcome": "less_strict"}]},
        {"measure": "none", "notes": ["not a dict", {"code": "served_before_arrival"}], "follow_on": {"measure": "x"}},
        {"measure": "tests_only", "test_dates": "2021-01-01", "considered": "oops", "edition": "9th"},
    ],
)
def test_old_or_partial_explanations_render_without_error(explanation):
    with translation.override("en"):
        lines = explain.explanation_lines(explanation)
        text = explain.explanation_text(explanation)
    assert isinstance(lines, list) and all(isinstance(line, str) for line in lines)
    assert text == " ".join(lines)


def test_partial_old_row_shows_its_dates():
    with translation.override("en"):
        lines = explain.explanation_lines({"measure": "home_quarantine", "start": "2021-03-01", "end": "2021-03-14"})
    assert lines == ["Home quarantine from 2021-03-01 to 2021-03-14.", "No tests are scheduled."]


def test_measure_label_in_both_languages_and_for_unknown_codes():
    with translation.override("en"):
        assert explain.measure_label("home_quarantine") == "home quarantine"
        assert explain.measure_label("retired_code") == "retired_code"
        assert explain.measure_label(None) == ""


def test_measure_payload_of_a_decision(worked_example):
    with translation.override("en"):
        payload = explain.measure_payload(worked_example)
    assert {key: payload[key] for key in ("type", "start", "end", "test_dates", "follow_on")} == {
        "type": "centralised_quarantine",
        "start": "2022-07-04",
        "end": "2022-07-08",
        "test_dates": ["2022-07-04", "2022-07-06", "2022-07-08"],
        "follow_on": None,
    }
    assert payload["explanation"].startswith("Under “第九版防控方案”")
    assert payload["explanation_detail"] == worked_example.explanation()


def test_measure_payload_of_a_decision_with_follow_on():
    decision = reach(selectors.edition_book(), Trigger.CLOSE_CONTACT, last="2022-07-10", today="2022-07-11")
    assert explain.measure_payload(decision)["follow_on"] == {
        "type": "home_health_monitoring",
        "start": "2022-07-18",
        "end": "2022-07-20",
        "test_dates": ["2022-07-20"],
    }


def test_measure_payload_of_no_measure_has_null_dates():
    decision = reach(selectors.edition_book(), Trigger.COMPANION, last="2022-07-10", today="2022-07-11")
    payload = explain.measure_payload(decision)
    assert {key: payload[key] for key in ("type", "start", "end", "test_dates", "follow_on")} == {
        "type": "none",
        "start": None,
        "end": None,
        "test_dates": [],
        "follow_on": None,
    }
    assert payload["explanation_detail"]["notes"] == [{"code": "no_rule_applies"}]
    assert explain.measure_payload(None)["type"] == "none"


def test_measure_payload_of_a_stored_measure(city, edition_9th):
    decision = reach(selectors.edition_book(), Trigger.CLOSE_CONTACT, last="2022-07-10", today="2022-07-11")
    measure = Measure(
        person=city.person_a,
        path=city.person_a.path,
        edition=edition_9th,
        trigger=Trigger.CLOSE_CONTACT,
        measure_type=MeasureType.CENTRALISED_QUARANTINE,
        counted_from=datetime.date(2022, 7, 11),
        start=datetime.date(2022, 7, 11),
        end=datetime.date(2022, 7, 17),
        test_dates=["2022-07-11", "2022-07-12"],
        follow_on_type=MeasureType.HOME_HEALTH_MONITORING,
        follow_on_start=datetime.date(2022, 7, 18),
        follow_on_end=datetime.date(2022, 7, 20),
        follow_on_test_dates=["2022-07-20"],
        explanation=decision.explanation(),
    )
    with translation.override("en"):
        payload = explain.measure_payload(measure)
    assert payload == {
        "type": "centralised_quarantine",
        "start": "2022-07-11",
        "end": "2022-07-17",
        "test_dates": ["2022-07-11", "2022-07-12"],
        "follow_on": {
            "type": "home_health_monitoring",
            "start": "2022-07-18",
            "end": "2022-07-20",
            "test_dates": ["2022-07-20"],
        },
        "explanation": payload["explanation"],
        "explanation_detail": decision.explanation(),
    }
    assert payload["explanation"].startswith("Under “第九版防控方案” (in force from 2022-06-28), the rule for “close")


def test_calendar_marks_days_before_arrival_tests_and_follow_on(worked_example):
    rows = explain.calendar_for_explanation(worked_example.explanation(), today=d("2022-07-05"))
    assert [(r["date"].isoformat(), r["day"], r["phase"], r["test"], r["skipped"]) for r in rows] == [
        ("2022-07-02", 1, "before", False, True),
        ("2022-07-03", 2, "before", False, True),
        ("2022-07-04", 3, "main", True, False),
        ("2022-07-05", 4, "main", False, False),
        ("2022-07-06", 5, "main", True, False),
        ("2022-07-07", 6, "main", False, False),
        ("2022-07-08", 7, "main", True, False),
    ]
    assert [r["today"] for r in rows].index(True) == 3


def test_calendar_of_a_contact_includes_the_follow_on_days():
    decision = reach(selectors.edition_book(), Trigger.CLOSE_CONTACT, last="2022-07-10", today="2022-07-11")
    rows = explain.calendar_for_explanation(decision.explanation())
    assert [(r["day"], r["phase"], r["test"]) for r in rows[-3:]] == [
        (1, "follow_on", False),
        (2, "follow_on", False),
        (3, "follow_on", True),
    ]
    assert len(rows) == 10
