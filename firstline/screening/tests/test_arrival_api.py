"""The arrivals API: register with the measure in the answer, errors by field path, scoped lists, read-only runs."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from conftest import valid_id
from firstline.riskareas.models import RiskArea, RiskAreaPeriod
from firstline.screening.models import Arrival, Reevaluation, RegistrationPoint

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
URL = "/api/v1/arrivals/"
NEW_ID = valid_id("63270119920202001")


def today() -> datetime.date:
    return timezone.localdate()


def yanta_high() -> None:
    since = today() - 20 * DAY
    area = RiskArea.objects.create(
        place="陕西省西安市雁塔区", division_code="610113", level="high", effective_from=since, first_listed_on=since
    )
    RiskAreaPeriod.objects.create(area=area, level="high", valid_from=since, division_code="610113")


def body(city: Any, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "person": {"name": "旦增", "id_type": "resident", "id_number": NEW_ID, "phone": "13812345678"},
        "origin": "西安市雁塔区",
        "travel": [
            {
                "place": "陕西省西安市雁塔区",
                "date_from": (today() - 6 * DAY).isoformat(),
                "date_to": (today() - 3 * DAY).isoformat(),
            }
        ],
        "arrival_date": (today() - DAY).isoformat(),
        "address": "甲社区1号",
        "household": city.household_a.code,
        "transport": "train",
        "transport_no": "Z8801",
        "health_code": "green",
        "vaccine_doses": 3,
    }
    data.update(overrides)
    return data


def test_post_registers_the_arrival_and_answers_with_the_measure(api, city):
    yanta_high()
    response = api("grid_a").post(URL, body(city), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    measure = data["measure"]
    assert measure["type"] == "centralised_quarantine"
    assert set(measure) >= {"type", "start", "end", "test_dates", "follow_on", "explanation"}
    assert measure["start"] == (today() - DAY).isoformat() and measure["test_dates"]
    assert "陕西省西安市雁塔区" in measure["explanation"]
    assert data["household"] == city.household_a.code and data["address"] == "甲社区1号"
    assert data["person"]["name"] == "旦增" and data["person_created"] is True
    assert data["change"] == "created" and len(data["tasks"]) == 2
    assert [t["place"] for t in data["travel"]] == ["陕西省西安市雁塔区"]
    assert Arrival.objects.get().destination_address == "甲社区1号"


def test_post_without_risk_says_none_with_the_reason(api, city):
    response = api("grid_a").post(URL, body(city), format="json")
    measure = response.json()["measure"]
    assert (measure["type"], measure["start"], measure["follow_on"]) == ("none", None, None)
    assert measure["explanation"]


def test_the_same_person_and_day_updates_and_answers_200(api, city):
    client = api("grid_a")
    assert client.post(URL, body(city), format="json").status_code == 201
    again = client.post(URL, body(city, transport_no="Z8802"), format="json")
    assert again.status_code == 200 and again.json()["transport_no"] == "Z8802"
    assert again.json()["arrival_created"] is False and Arrival.objects.count() == 1


def test_post_errors_name_each_field_by_its_path(api, city):
    bad = body(
        city,
        person={"name": "", "id_type": "resident", "id_number": "632701199202020010", "phone": "123"},
        travel=[
            {
                "place": "西安",
                "date_from": (today() - 2 * DAY).isoformat(),
                "date_to": (today() - 5 * DAY).isoformat(),
            }
        ],
    )
    response = api("grid_a").post(URL, bad, format="json")
    assert response.status_code == 400
    assert set(response.json()) >= {"person.name", "person.id_number", "person.phone", "travel[0].date_from"}
    assert not Arrival.objects.exists()


def test_malformed_values_are_named_by_their_path_too(api, city):
    bad = body(city, travel=[{"place": "西安", "date_from": "2022-13-01"}], vaccine_doses=9)
    bad.pop("arrival_date")
    response = api("grid_a").post(URL, bad, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"travel[0].date_from", "vaccine_doses", "arrival_date"}


def test_a_household_outside_the_scope_is_refused(api, city):
    response = api("grid_a").post(URL, body(city, household=city.household_b.code), format="json")
    assert response.status_code == 400 and "household" in response.json()
    assert not Arrival.objects.exists()


def test_roles_that_do_not_register_get_403(api, city):
    assert api("auditor").post(URL, body(city), format="json").status_code == 403
    assert not Arrival.objects.exists()


def test_without_household_the_arrival_waits_in_the_divisions_queue(api, city):
    data = body(city, household=None, division="632701001")
    response = api("township").post(URL, data, format="json")
    assert response.status_code == 201
    assert response.json()["household"] is None and response.json()["path"] == "632701001"
    listed = api("township").get(URL, {"unresolved": "true"}).json()
    assert [row["id"] for row in listed["results"]] == [response.json()["id"]]


def test_list_is_scoped_and_filtered(api, city):
    yanta_high()
    risky = api("grid_a").post(URL, body(city), format="json").json()
    calm = (
        api("grid_b")
        .post(
            URL,
            body(
                city,
                person={"name": "卓玛", "id_type": "resident", "id_number": valid_id("63270119950505002")},
                travel=[],
                origin="",
                household=city.household_b.code,
            ),
            format="json",
        )
        .json()
    )
    township = api("township")

    def ids(**params: Any) -> list[int]:
        return [row["id"] for row in township.get(URL, params).json()["results"]]

    assert set(ids()) == {risky["id"], calm["id"]}
    assert ids(measure_type="centralised_quarantine") == [risky["id"]]
    assert ids(measure_type="none") == [calm["id"]]
    assert ids(division=city.grid_b.code) == [calm["id"]]
    assert ids(source="self_registration") == []
    assert ids(arrival_date_from=today().isoformat()) == []
    assert set(ids(arrival_date_to=today().isoformat(), status="verified", needs_review="false")) == {
        risky["id"],
        calm["id"],
    }
    assert [row["id"] for row in api("grid_a").get(URL).json()["results"]] == [risky["id"]]
    assert api("outsider").get(URL).json()["count"] == 0


def test_retrieve_out_of_scope_is_404(api, city):
    created = api("grid_a").post(URL, body(city), format="json").json()
    assert api("grid_a").get(f"{URL}{created['id']}/").status_code == 200
    assert api("grid_b").get(f"{URL}{created['id']}/").status_code == 404
    assert api("other_township").get(f"{URL}{created['id']}/").status_code == 404


def test_person_data_is_masked_for_masked_roles(api, city):
    created = api("grid_a").post(URL, body(city), format="json").json()
    assert created["person"]["phone"] == "13812345678"
    masked = api("township").get(f"{URL}{created['id']}/").json()
    assert masked["person"]["phone"] == "138****5678" and masked["person"]["id_number"] != NEW_ID


def test_registration_points_are_read_only_and_scoped(api, city):
    point = RegistrationPoint.objects.create(
        kind="community", name="甲社区", division=city.community_a, path=city.community_a.code, token="tok-a"
    )
    rows = api("township").get("/api/v1/registration-points/").json()["results"]
    assert [(r["id"], r["url"]) for r in rows] == [(point.pk, "http://testserver/r/tok-a/")]
    assert api("other_township").get(f"/api/v1/registration-points/{point.pk}/").status_code == 404
    assert api("township").post("/api/v1/registration-points/", {}, format="json").status_code == 405


def test_reevaluations_are_listed_with_sentences_and_only_visible_changes(api, city):
    created = api("grid_a").post(URL, body(city), format="json").json()
    run = Reevaluation.objects.create(
        reason="edition: 9th",
        kind="edition",
        status="done",
        summary=[{"change": "created", "measure": "home_quarantine", "count": 1, "by_township": {}}],
        changed=[[created["id"], "created", "home_quarantine"]],
    )
    listed = api("township").get("/api/v1/reevaluations/").json()["results"]
    assert [r["id"] for r in listed] == [run.pk] and listed[0]["sentences"]
    assert api("grid_a").get(f"/api/v1/reevaluations/{run.pk}/").json()["changed"] == [
        [created["id"], "created", "home_quarantine"]
    ]
    assert api("grid_b").get(f"/api/v1/reevaluations/{run.pk}/").json()["changed"] == []
    assert api("volunteer").get("/api/v1/reevaluations/").json()["count"] == 0


def test_openapi_schema_documents_the_arrival_routes(client, login, city):
    login("grid_a")
    schema = client.get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    document = schema.json()
    assert {
        "/api/v1/arrivals/",
        "/api/v1/arrivals/{id}/",
        "/api/v1/registration-points/",
        "/api/v1/reevaluations/",
    } <= set(document["paths"])
    post = document["paths"]["/api/v1/arrivals/"]["post"]
    assert set(post["responses"]) >= {"200", "201", "400"}
    assert "ArrivalCreateRequest" in document["components"]["schemas"]
    assert "measure" in document["components"]["schemas"]["ArrivalRegistration"]["properties"]
