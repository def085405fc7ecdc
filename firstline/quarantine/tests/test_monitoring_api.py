"""API of health monitoring: POST health checks (201 new slot, 200 updated slot), list filters, today's list."""

from __future__ import annotations

import datetime

from django.utils import timezone

from firstline.quarantine.models import HealthCheck
from firstline.quarantine.monitoring.services import health_check_record
from firstline.quarantine.tests.factories import at, days
from firstline.quarantine.tests.monitoring_support import (  # noqa: F401 - fixtures
    _english,
    _monitoring_registered,
    _monitoring_settings,
    home,
    site,
)

URL = "/api/v1/health-checks/"
TODAY = "/api/v1/followup/today/"


def test_post_creates_then_updates_the_slot(city, api):
    placement = home(city.person_a)
    client = api("grid_a")
    moment = at(days(-1), 9)
    first = client.post(
        URL, {"placement": placement.pk, "temperature": "36.6", "symptoms": [], "at": moment.isoformat()}, format="json"
    )
    assert first.status_code == 201, first.content
    assert first.json()["slot"] == 0 and first.json()["source"] == "api"
    second = client.post(
        URL,
        {
            "placement": placement.pk,
            "temperature": 38.1,
            "symptoms": ["cough"],
            "at": (moment + datetime.timedelta(hours=1)).isoformat(),
        },
        format="json",
    )
    assert second.status_code == 200, second.content
    assert second.json()["id"] == first.json()["id"] and second.json()["alert"] is True
    assert HealthCheck.objects.count() == 1


def test_post_refuses_a_wrong_unit_with_the_field_and_hint(city, api):
    placement = home(city.person_a)
    answer = api("grid_a").post(URL, {"placement": placement.pk, "temperature": "3.73"}, format="json")
    assert answer.status_code == 400
    assert "37.3" in " ".join(answer.json()["temperature"])
    answer = api("grid_a").post(
        URL, {"placement": placement.pk, "temperature": "36.5", "symptoms": ["x"]}, format="json"
    )
    assert answer.status_code == 400 and "symptoms" in answer.json()


def test_post_without_at_is_now(city, api):
    placement = home(city.person_a)
    answer = api("grid_a").post(URL, {"placement": placement.pk, "temperature": "36.5"}, format="json")
    assert answer.status_code == 201
    assert HealthCheck.objects.get().day == timezone.localdate()


def test_post_for_another_grids_person_is_404_and_without_the_role_403(city, api, sites):
    placement = home(city.person_a)
    assert api("grid_b").post(URL, {"placement": placement.pk, "temperature": "36.5"}, format="json").status_code == 404
    assert api("police").post(URL, {"placement": placement.pk, "temperature": "36.5"}, format="json").status_code == 403
    at_site = site(city.person_b, sites.rooms["101"])
    assert (
        api("site_other").post(URL, {"placement": at_site.pk, "temperature": "36.5"}, format="json").status_code == 404
    )
    assert api("nurse").post(URL, {"placement": at_site.pk, "temperature": "36.5"}, format="json").status_code == 201


def test_the_list_is_scoped_and_filtered(city, api, sites):
    mine = home(city.person_a)
    at_site = site(city.person_b, sites.rooms["101"])
    health_check_record(actor=city["grid_a"], placement=mine, at=at(days(-1), 9), temperature="38.0", symptoms=[])
    health_check_record(actor=city["grid_a"], placement=mine, at=at(days(-2), 9), temperature="36.5", symptoms=[])
    health_check_record(actor=city["site"], placement=at_site, at=at(days(-1), 9), temperature="36.5", symptoms=[])
    ids = [row["placement"] for row in api("grid_a").get(URL).json()["results"]]
    assert set(ids) == {mine.pk}
    assert {row["placement"] for row in api("site").get(URL).json()["results"]} == {at_site.pk}
    alerts = api("grid_a").get(URL, {"alert": "true"}).json()["results"]
    assert [row["temperature"] for row in alerts] == ["38.0"]
    day = api("grid_a").get(URL, {"day": days(-2).isoformat()}).json()["results"]
    assert len(day) == 1
    assert api("grid_b").get(URL).json()["results"] == []


def test_todays_list_as_json_for_the_caller(city, api):
    placement = home(city.person_a)
    answer = api("grid_a").get(TODAY)
    assert answer.status_code == 200
    body = answer.json()
    assert body["day"] == timezone.localdate().isoformat()
    [row] = body["rows"]
    assert row["placement"]["id"] == placement.pk
    assert [cell["time"] for cell in row["slots"]] == ["08:00", "15:00"]
    assert "*" in row["person"]["id_number"] or row["person"]["id_number"] == city.person_a.id_number


def test_todays_list_filters_and_scoping(city, api):
    home(city.person_b)
    assert api("grid_a").get(TODAY, {"grid": city.grid_b.code}).status_code == 404
    assert len(api("township").get(TODAY, {"grid": city.grid_b.code}).json()["rows"]) == 1
    assert api("grid_a").get(TODAY, {"day": "tomorrow"}).status_code == 400
    assert api("outsider").get(TODAY).status_code == 403
