from __future__ import annotations

import pytest

from firstline.policy import selectors
from firstline.policy.models import Measure, MeasureStatus, Trigger
from firstline.policy.tests.helpers import reach

pytestmark = pytest.mark.django_db


def store(person, edition, decision, **extra):
    return Measure.objects.create(
        person=person,
        path=person.path,
        edition=edition,
        trigger=decision.rule.trigger,
        measure_type=decision.measure,
        counted_from=decision.counted_from,
        start=decision.start,
        end=decision.end,
        test_dates=[day.isoformat() for day in decision.test_dates],
        follow_on_type=decision.follow_on,
        follow_on_start=decision.follow_on_start,
        follow_on_end=decision.follow_on_end,
        follow_on_test_dates=[day.isoformat() for day in decision.follow_on_test_dates],
        explanation=decision.explanation(),
        **extra,
    )


@pytest.fixture
def measures(city, edition_9th):
    book = selectors.edition_book()
    close = reach(book, Trigger.CLOSE_CONTACT, last="2022-07-10", today="2022-07-11")
    secondary = reach(book, Trigger.SECONDARY_CONTACT, last="2022-07-10", today="2022-07-11")
    return {
        "a": store(city.person_a, edition_9th, close),
        "a_old": store(city.person_a, edition_9th, secondary, status=MeasureStatus.COMPLETED),
        "b": store(city.person_b, edition_9th, secondary),
    }


def test_edition_list_has_rules_status_and_parameters(api, edition_9th, edition_2021):
    body = api("grid_a").get("/api/v1/policy-editions/").json()
    assert [row["name"] for row in body["results"]] == ["第九版防控方案", "2021年实践（第八版防控方案）"]
    row = body["results"][0]
    assert (row["status"], row["effective_from"], row["min_tests_when_short"], row["min_test_gap_hours"]) == (
        "published",
        "2022-06-28",
        2,
        24,
    )
    close = next(rule for rule in row["rules"] if rule["trigger"] == "close_contact")
    assert close == {
        "id": close["id"],
        "trigger": "close_contact",
        "measure": "centralised_quarantine",
        "duration_days": 7,
        "anchor": "last_exposure",
        "lookback_days": None,
        "test_days": [1, 2, 3, 5, 7],
        "follow_on_measure": "home_health_monitoring",
        "follow_on_days": 3,
        "follow_on_test_days": [3],
        "stay_home_until_negative": False,
        "priority": 10,
        "note": "",
    }


def test_edition_detail(api, edition_2021):
    response = api("volunteer").get(f"/api/v1/policy-editions/{edition_2021.pk}/")
    assert response.status_code == 200
    assert len(response.json()["rules"]) == 6


def test_edition_detail_of_a_missing_edition_is_404(api):
    assert api("grid_a").get("/api/v1/policy-editions/99999/").status_code == 404


@pytest.mark.parametrize(
    ("day", "name"), [("2022-06-27", "2021年实践（第八版防控方案）"), ("2022-06-28", "第九版防控方案")]
)
def test_edition_in_force_on_a_day(api, day, name):
    body = api("grid_a").get("/api/v1/policy-editions/", {"in_force_on": day}).json()
    assert [row["name"] for row in body["results"]] == [name]


def test_edition_in_force_before_any_edition_is_an_empty_list(api):
    assert api("grid_a").get("/api/v1/policy-editions/", {"in_force_on": "2020-01-01"}).json()["count"] == 0


def test_edition_in_force_on_a_bad_date_is_400(api):
    response = api("grid_a").get("/api/v1/policy-editions/", {"in_force_on": "28/06/2022"})
    assert response.status_code == 400 and "in_force_on" in response.json()


def test_editions_are_read_only(api, edition_9th):
    client = api("cdc")
    assert client.post("/api/v1/policy-editions/", {"name": "x"}, format="json").status_code == 405
    assert client.patch(f"/api/v1/policy-editions/{edition_9th.pk}/", {"name": "x"}, format="json").status_code == 405


def test_api_needs_authentication(edition_9th):
    from rest_framework.test import APIClient

    assert APIClient().get("/api/v1/policy-editions/").status_code in (401, 403)
    assert APIClient().get("/api/v1/measures/").status_code in (401, 403)


def test_measure_list_is_scoped(api, measures):
    body = api("grid_a").get("/api/v1/measures/").json()
    assert sorted(row["id"] for row in body["results"]) == sorted([measures["a"].pk, measures["a_old"].pk])
    township = api("township").get("/api/v1/measures/").json()
    assert township["count"] == 3


def test_measure_detail_has_dates_follow_on_and_explanation(api, measures):
    client = api("grid_a")
    client.cookies["django_language"] = "en"  # the interface language is Chinese unless the user switches
    response = client.get(f"/api/v1/measures/{measures['a'].pk}/")
    row = response.json()
    assert {key: row[key] for key in ("measure_type", "status", "counted_from", "start", "end", "test_dates")} == {
        "measure_type": "centralised_quarantine",
        "status": "active",
        "counted_from": "2022-07-11",
        "start": "2022-07-11",
        "end": "2022-07-17",
        "test_dates": ["2022-07-11", "2022-07-12", "2022-07-13", "2022-07-15", "2022-07-17"],
    }
    assert row["follow_on"] == {
        "type": "home_health_monitoring",
        "start": "2022-07-18",
        "end": "2022-07-20",
        "test_dates": ["2022-07-20"],
    }
    assert row["explanation"].startswith(
        "Under “第九版防控方案” (in force from 2022-06-28), the rule for “close contact”"
    )
    assert row["explanation_detail"] == measures["a"].explanation


def test_measure_without_follow_on_has_null_follow_on(api, measures):
    row = api("grid_b").get(f"/api/v1/measures/{measures['b'].pk}/").json()
    assert row["follow_on"] is None and row["measure_type"] == "home_quarantine"


def test_measure_detail_out_of_scope_is_404(api, measures):
    assert api("grid_b").get(f"/api/v1/measures/{measures['a'].pk}/").status_code == 404
    assert api("outsider").get(f"/api/v1/measures/{measures['a'].pk}/").status_code == 404


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "active"}, ["a", "b"]),
        ({"status": "completed"}, ["a_old"]),
        ({"measure_type": "home_quarantine"}, ["a_old", "b"]),
    ],
)
def test_measure_filters(api, measures, params, expected):
    body = api("township").get("/api/v1/measures/", params).json()
    assert sorted(row["id"] for row in body["results"]) == sorted(measures[key].pk for key in expected)


def test_measure_filter_by_person_out_of_scope_looks_empty(api, city, measures):
    client = api("grid_a")
    mine = client.get("/api/v1/measures/", {"person": city.person_a.pk}).json()
    assert mine["count"] == 2
    other = client.get("/api/v1/measures/", {"person": city.person_b.pk})
    assert other.status_code == 200 and other.json()["count"] == 0


def test_measure_list_query_count_is_flat(api, city, edition_9th, django_assert_max_num_queries):
    book = selectors.edition_book()
    decision = reach(book, Trigger.SECONDARY_CONTACT, last="2022-07-10", today="2022-07-11")
    for _ in range(25):
        store(city.person_a, edition_9th, decision)
    client = api("grid_a")
    with django_assert_max_num_queries(10):
        body = client.get("/api/v1/measures/").json()
    assert body["count"] == 25


def test_measures_are_read_only(api, measures):
    assert api("cdc").post("/api/v1/measures/", {}, format="json").status_code == 405
