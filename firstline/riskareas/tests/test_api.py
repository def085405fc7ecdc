from __future__ import annotations

import datetime

import pytest
from rest_framework.test import APIClient

from firstline.riskareas import services
from firstline.riskareas.models import RiskArea

pytestmark = pytest.mark.django_db

D = datetime.date
URL = "/api/v1/risk-areas/"


@pytest.fixture
def areas(city):
    cdc = city["cdc"]
    changed = services.risk_area_create(
        actor=cdc, place="北京市丰台区花乡地区", level="high", effective_from=D(2022, 5, 1)
    )
    services.risk_area_change_level(
        actor=cdc, area=changed, expected_version=1, level="medium", effective_on=D(2022, 5, 8)
    )
    lifted = services.risk_area_create(
        actor=cdc, place="天津市津南区辛庄镇", level="high", effective_from=D(2022, 5, 2), lifted_at=D(2022, 5, 9)
    )
    return {"changed": changed, "lifted": lifted}


def test_anonymous_callers_are_refused(city):
    assert APIClient().get(URL).status_code in (401, 403)


def test_every_signed_in_user_lists_the_areas_with_their_history(api, areas):
    body = api("grid_a").get(URL).json()
    assert body["count"] == 2
    row = next(r for r in body["results"] if r["id"] == areas["changed"].pk)
    assert {k: row[k] for k in ("place", "division_code", "scope_text", "level", "effective_from", "lifted_at")} == {
        "place": "北京市丰台区花乡地区",
        "division_code": "110106",
        "scope_text": "花乡地区",
        "level": "medium",
        "effective_from": "2022-05-08",
        "lifted_at": None,
    }
    assert row["needs_review"] is False and row["first_listed_on"] == "2022-05-01"
    assert row["periods"] == [
        {"level": "high", "valid_from": "2022-05-01", "valid_until": "2022-05-08"},
        {"level": "medium", "valid_from": "2022-05-08", "valid_until": None},
    ]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"level": "high"}, {"lifted"}),
        ({"in_force_on": "2022-05-03"}, {"changed", "lifted"}),
        ({"in_force_on": "2022-05-09"}, {"changed"}),
        ({"q": "津南"}, {"lifted"}),
        ({"lifted": "true"}, {"lifted"}),
    ],
)
def test_list_filters(api, areas, params, expected):
    body = api("grid_a").get(URL, params).json()
    assert {r["id"] for r in body["results"]} == {areas[key].pk for key in expected}


def test_a_bad_filter_value_is_a_400(api, areas):
    assert api("grid_a").get(URL, {"in_force_on": "someday"}).status_code == 400


def test_retrieve_one_and_404_for_a_missing_one(api, areas):
    client = api("police")
    assert client.get(f"{URL}{areas['lifted'].pk}/").json()["lifted_at"] == "2022-05-09"
    assert client.get(f"{URL}999999/").status_code == 404


def test_an_editor_creates_an_area(api, city):
    response = api("cdc").post(
        URL,
        {"place": "西安市雁塔区电子城街道", "level": "high", "effective_from": "2022-05-01", "source_notice": "陕"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["division_code"], body["scope_text"], body["needs_review"]) == ("610113", "电子城街道", False)
    assert body["periods"] == [{"level": "high", "valid_from": "2022-05-01", "valid_until": None}]
    assert RiskArea.objects.get(pk=body["id"]).created_by == city["cdc"]


def test_a_grid_worker_may_not_create_an_area(api, city):
    response = api("grid_a").post(
        URL, {"place": "西安市雁塔区电子城街道", "level": "high", "effective_from": "2022-05-01"}, format="json"
    )
    assert response.status_code == 403
    assert RiskArea.objects.count() == 0


def test_create_errors_name_the_fields(api, city):
    client = api("cdc")
    response = client.post(URL, {"place": "", "level": "extreme", "effective_from": "May"}, format="json")
    assert response.status_code == 400
    assert {"level", "effective_from"} <= set(response.json())
    response = client.post(
        URL,
        {
            "place": "",
            "division_code": "123",
            "level": "high",
            "effective_from": "2022-05-02",
            "lifted_at": "2022-05-01",
        },
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()) == {"place", "division_code", "lifted_at"}


def test_a_duplicate_is_refused_naming_the_listed_area(api, areas):
    response = api("cdc").post(
        URL, {"place": "北京市丰台区花乡地区", "level": "high", "effective_from": "2022-05-10"}, format="json"
    )
    assert response.status_code == 400
    assert f"#{areas['changed'].pk}" in response.json()["place"][0]


def test_the_openapi_schema_describes_the_endpoint(client, login, city):
    login("grid_a")
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    text = schema.content.decode()
    assert "/api/v1/risk-areas/" in text and "in_force_on" in text
