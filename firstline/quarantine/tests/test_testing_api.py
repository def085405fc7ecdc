"""Testing API: sampling lists with the due and overdue filters, recording, results, a lab system's push; scoped
like the pages (404 out of scope, 403 without the permission)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from conftest import valid_id
from firstline.dispatch.models import Task, TaskPriority
from firstline.quarantine.models import Sampling
from firstline.quarantine.tests.factories import at, days, today
from firstline.quarantine.tests.test_testing_services import first, place, taken
from firstline.tracing.models import Case

pytestmark = pytest.mark.django_db


def ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_the_list_is_scoped_and_filters_due_and_overdue(api: Any, city: Any, sites: Any) -> None:
    home = place(city.person_a, start=days(-2), test_days=(1, 3))
    site = place(city.person_c, room=sites.other_room, test_days=(1,))
    home_ids = set(Sampling.objects.filter(placement=home).values_list("pk", flat=True))
    assert ids(api("grid_a").get("/api/v1/samplings/")) == home_ids
    assert ids(api("site_other").get("/api/v1/samplings/")) == {first(site).pk}
    assert ids(api("grid_b").get("/api/v1/samplings/")) == set()
    township = api("township")
    assert ids(township.get("/api/v1/samplings/", {"due": today().isoformat()})) == home_ids
    assert ids(township.get("/api/v1/samplings/", {"overdue": "true"})) == {first(home).pk}
    assert ids(township.get("/api/v1/samplings/", {"grid": city.grid_a.code})) == home_ids
    assert ids(api("other_township").get("/api/v1/samplings/", {"facility": sites.other.pk})) == {first(site).pk}
    detail = api("grid_a").get(f"/api/v1/samplings/{first(home).pk}/")
    assert detail.status_code == 200 and detail.json()["status"] == "scheduled"
    assert api("grid_b").get(f"/api/v1/samplings/{first(home).pk}/").status_code == 404
    assert api("outsider").get("/api/v1/samplings/").status_code == 403


def test_recording_by_scheduled_id_or_by_person(api: Any, city: Any, sites: Any) -> None:
    sampling = first(place(city.person_a, room=sites.rooms["101"]))
    moment = (timezone.now() - datetime.timedelta(minutes=5)).isoformat()
    response = api("nurse").post(
        "/api/v1/samplings/", {"sampling": sampling.pk, "sampled_at": moment, "tube_code": "A-1"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["tube_code"] == "A-1" and response.json()["sampler"] == "nurse"
    added = api("grid_b").post("/api/v1/samplings/", {"person": city.person_b.pk, "sampled_at": moment}, format="json")
    assert added.status_code == 201 and added.json()["due_date"] is None
    assert (
        api("grid_a")
        .post("/api/v1/samplings/", {"sampling": sampling.pk, "sampled_at": moment}, format="json")
        .status_code
        == 403
    )
    assert (
        api("site_other")
        .post("/api/v1/samplings/", {"sampling": sampling.pk, "sampled_at": moment}, format="json")
        .status_code
        == 404
    )
    future = (timezone.now() + datetime.timedelta(hours=2)).isoformat()
    refused = api("nurse").post("/api/v1/samplings/", {"sampling": sampling.pk, "sampled_at": future}, format="json")
    assert refused.status_code == 400 and "sampled_at" in refused.json()
    reused = api("grid_b").post(
        "/api/v1/samplings/", {"person": city.person_b.pk, "sampled_at": moment, "tube_code": "a-1"}, format="json"
    )
    assert reused.status_code == 400 and "tube_code" in reused.json()


def test_a_positive_result_through_the_api_makes_the_case_and_the_cdc_task(api: Any, city: Any, sites: Any) -> None:
    sampling = taken(city, first(place(city.person_a, room=sites.rooms["101"])), "nurse")
    response = api("site").post(
        f"/api/v1/samplings/{sampling.pk}/result/", {"result": "positive", "lab": "州疾控"}, format="json"
    )
    assert response.status_code == 200, response.content
    case = Case.objects.get(person=city.person_a)
    assert response.json()["case"] == case.pk
    assert Task.objects.filter(object_id=str(case.pk), assignee_user=city["cdc"], priority=TaskPriority.URGENT).exists()
    corrected = api("site").post(f"/api/v1/samplings/{sampling.pk}/result/", {"result": "negative"}, format="json")
    assert corrected.status_code == 200 and corrected.json()["notice"] and corrected.json()["case"] == case.pk
    assert (
        api("nurse").post(f"/api/v1/samplings/{sampling.pk}/result/", {"result": "negative"}, format="json").status_code
        == 200
    )  # nurses are site staff too
    assert (
        api("grid_a")
        .post(f"/api/v1/samplings/{sampling.pk}/result/", {"result": "negative"}, format="json")
        .status_code
        == 403
    )
    assert (
        api("site_other")
        .post(f"/api/v1/samplings/{sampling.pk}/result/", {"result": "negative"}, format="json")
        .status_code
        == 404
    )
    bad = api("site").post(f"/api/v1/samplings/{sampling.pk}/result/", {"result": "maybe"}, format="json")
    assert bad.status_code == 400 and "result" in bad.json()


def test_a_lab_system_pushes_a_result_by_id_number_and_sampling_time(api: Any, city: Any, sites: Any) -> None:
    placement = place(city.person_a, room=sites.rooms["101"], start=days(-1), test_days=(1,))
    body = {
        "id_number": city.person_a.id_number,
        "sampled_at": at(days(-1), 8).isoformat(),
        "result": "negative",
        "lab": "州疾控",
        "tube_code": "L-1",
    }
    response = api("cdc").post("/api/v1/results/", body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["id"] == first(placement).pk and response.json()["result_source"] == "api"
    unknown = api("cdc").post("/api/v1/results/", {**body, "id_number": valid_id("63270119990909123")}, format="json")
    assert unknown.status_code == 400 and "id_number" in unknown.json()
    assert api("grid_a").post("/api/v1/results/", body, format="json").status_code == 403


def test_the_openapi_schema_lists_the_testing_endpoints(client: Any, login: Any, city: Any) -> None:
    login("cdc")
    schema = client.get("/api/schema/").content
    for path in (
        b"/api/v1/samplings/",
        b"/api/v1/samplings/{id}/result/",
        b"/api/v1/results/",
        b"/api/v1/results/import/",
    ):
        assert path in schema
