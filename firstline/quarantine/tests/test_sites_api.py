"""API of sites, rooms and placements: the same rules, scoping and errors as the services."""

from __future__ import annotations

import pytest

from firstline.quarantine.models import Facility, Placement, Room
from firstline.quarantine.tests.factories import days, measure
from firstline.quarantine.tests.test_sites_placements import housemate, place
from firstline.quarantine.tests.test_sites_release import all_negative, placed

# These tests assert the wording of messages (in English).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def test_facilities_are_listed_with_occupancy_created_and_patched(api, city, sites, django_assert_max_num_queries):
    place(city, city.person_a, sites.rooms["201"], actor="city")
    client = api("township")
    with django_assert_max_num_queries(8):
        response = client.get("/api/v1/facilities/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["code"] for r in rows] == ["QA01"]
    assert rows[0]["occupancy"]["people"] == 1 and rows[0]["occupancy"]["rooms"] == 5
    detail = client.get(f"/api/v1/facilities/{sites.main.pk}/").json()
    assert [r["number"] for r in detail["rooms"]] == ["101", "102", "103", "201", "202"]
    assert detail["rooms"][3]["occupants"] == 1 and detail["rooms"][3]["floor"] == "2F"
    assert client.get(f"/api/v1/facilities/{sites.other.pk}/").status_code == 404

    created = client.post(
        "/api/v1/facilities/", {"code": "qa05", "name": "新点", "division": "632701001"}, format="json"
    )
    assert created.status_code == 201 and created.json()["code"] == "QA05" and created.json()["path"] == "632701001"
    taken = client.post("/api/v1/facilities/", {"code": "QA05", "name": "x", "division": "632701001"}, format="json")
    assert taken.status_code == 400 and "code" in taken.json()
    site = Facility.objects.get(code="QA05")
    patched = client.patch(f"/api/v1/facilities/{site.pk}/", {"name": "改", "version": site.version}, format="json")
    assert patched.status_code == 200 and patched.json()["name"] == "改"
    stale = client.patch(f"/api/v1/facilities/{site.pk}/", {"name": "再改", "version": 1}, format="json")
    assert stale.status_code == 409
    assert api("grid_a").post("/api/v1/facilities/", {"code": "QA06"}, format="json").status_code == 403
    assert api("site").get("/api/v1/facilities/").json()["count"] == 1


def test_rooms_filter_by_site_and_patch_state(api, city, sites):
    client = api("site")
    rooms = client.get("/api/v1/rooms/", {"facility": sites.main.pk}).json()["results"]
    assert len(rooms) == 5 and {r["state"] for r in rooms} == {"available"}
    assert api("site").get("/api/v1/rooms/", {"facility": sites.other.pk}).json()["count"] == 0
    room = sites.rooms["103"]
    response = client.patch(f"/api/v1/rooms/{room.pk}/", {"state": "out_of_service", "note": "维修"}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "out_of_service"
    assert client.patch(f"/api/v1/rooms/{room.pk}/", {"state": "occupied"}, format="json").status_code == 400
    assert api("nurse").patch(f"/api/v1/rooms/{room.pk}/", {"state": "available"}, format="json").status_code == 403
    assert (
        api("site_other").patch(f"/api/v1/rooms/{room.pk}/", {"state": "available"}, format="json").status_code == 404
    )
    no_version = client.patch(f"/api/v1/rooms/{room.pk}/", {"capacity": 3}, format="json")
    assert no_version.status_code == 403  # structure changes are not the site manager's
    township = api("township")
    bad = township.patch(f"/api/v1/rooms/{room.pk}/", {"capacity": 3}, format="json")
    assert bad.status_code == 400 and "version" in bad.json()
    room.refresh_from_db()
    ok = township.patch(f"/api/v1/rooms/{room.pk}/", {"capacity": 3, "version": room.version}, format="json")
    assert ok.status_code == 200 and ok.json()["capacity"] == 3


def test_placements_are_created_with_field_errors_and_scoping(api, city, sites):
    measure(city.person_a)
    client = api("township")
    response = client.post(
        "/api/v1/placements/",
        {
            "person": city.person_a.pk,
            "kind": "centralised",
            "room": sites.rooms["201"].pk,
            "care_needs": [{"kind": "food", "description": "清真"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["room_number"], data["due_date"], data["measure_type"]) == (
        "201",
        days(6).isoformat(),
        "centralised_quarantine",
    )
    assert data["person"]["name"] == city.person_a.name and data["person"]["id_number"] != city.person_a.id_number
    measure(city.person_b)
    mixing = client.post(
        "/api/v1/placements/",
        {"person": city.person_b.pk, "kind": "centralised", "room": sites.rooms["201"].pk},
        format="json",
    )
    assert mixing.status_code == 400 and "one household per room" in mixing.json()["room"][0]
    at_home = housemate(city, household=city.household_b, name="次仁")
    measure(at_home, measure_type="home_quarantine")
    wrong_kind = client.post(
        "/api/v1/placements/",
        {"person": at_home.pk, "kind": "centralised", "room": sites.rooms["202"].pk},
        format="json",
    )
    assert wrong_kind.status_code == 400 and "kind" in wrong_kind.json()
    assert (
        client.post("/api/v1/placements/", {"person": city.person_c.pk, "kind": "home"}, format="json").status_code
        == 404
    )
    unknown_room = client.post(
        "/api/v1/placements/",
        {"person": city.person_b.pk, "kind": "centralised", "room": sites.other_room.pk},
        format="json",
    )
    assert unknown_room.status_code == 400 and unknown_room.json() == {"room": ["Unknown room."]}
    assert (
        api("grid_a")
        .post("/api/v1/placements/", {"person": city.person_a.pk, "kind": "home"}, format="json")
        .status_code
        == 403
    )


def test_placement_list_filters_and_scoping(api, city, sites, django_assert_max_num_queries):
    at_main = place(city, city.person_a, sites.rooms["101"], actor="city")
    place(city, housemate(city), sites.rooms["102"], actor="city")
    measure(city.person_b, measure_type="home_quarantine", duration=3)
    home_b = place(city, city.person_b, kind="home", actor="city")
    client = api("township")
    with django_assert_max_num_queries(8):
        response = client.get("/api/v1/placements/")
    assert response.json()["count"] == 3
    assert client.get("/api/v1/placements/", {"kind": "home"}).json()["count"] == 1
    assert client.get("/api/v1/placements/", {"facility": sites.main.pk}).json()["count"] == 2
    assert client.get("/api/v1/placements/", {"grid": city.grid_b.code}).json()["count"] == 1
    assert client.get("/api/v1/placements/", {"due_to": days(2).isoformat()}).json()["count"] == 1
    assert api("grid_b").get("/api/v1/placements/").json()["count"] == 1
    assert api("grid_b").get(f"/api/v1/placements/{at_main.pk}/").status_code == 404
    assert api("site_other").get(f"/api/v1/placements/{at_main.pk}/").status_code == 404
    detail = api("site").get(f"/api/v1/placements/{at_main.pk}/").json()
    assert detail["release_blockers"] and detail["person"]["id_number"] == city.person_a.id_number
    assert api("site").get(f"/api/v1/placements/{home_b.pk}/").status_code == 404


def test_transfer_and_release_through_the_api_with_blockers_named(api, city, sites):
    placement = placed(
        city, city.person_a, sites.rooms["101"], ago=6, follow_on_type="home_health_monitoring", follow_on_days=3
    )
    client = api("site")
    no_reason = client.post(
        f"/api/v1/placements/{placement.pk}/transfer/", {"room": sites.rooms["102"].pk}, format="json"
    )
    assert no_reason.status_code == 400 and "reason" in no_reason.json()
    moved = client.post(
        f"/api/v1/placements/{placement.pk}/transfer/", {"room": sites.rooms["102"].pk, "reason": "换房"}, format="json"
    )
    assert moved.status_code == 201 and moved.json()["transferred_from"] == placement.pk
    new_id = moved.json()["id"]
    refused = client.post(f"/api/v1/placements/{new_id}/release/", {}, format="json")
    assert refused.status_code == 400
    blockers = refused.json()["blockers"]
    assert any(days(-6).isoformat() in b for b in blockers) and any(days(0).isoformat() in b for b in blockers)
    all_negative(placement)
    all_negative(Placement.objects.get(pk=new_id))
    released = client.post(f"/api/v1/placements/{new_id}/release/", {}, format="json")
    assert released.status_code == 200, released.json()
    body = released.json()
    assert body["status"] == "released" and body["certificate_number"].startswith("QA01-")
    assert body["follow_on"]["kind"] == "home" and body["follow_on"]["phase"] == "follow_on"
    assert Room.objects.get(pk=sites.rooms["102"].pk).state == "disinfecting"
    again = client.post(f"/api/v1/placements/{new_id}/release/", {}, format="json")
    assert again.status_code == 400
    assert api("site_other").post(f"/api/v1/placements/{new_id}/release/", {}, format="json").status_code == 404
    assert api("auditor").post(f"/api/v1/placements/{new_id}/release/", {}, format="json").status_code == 403


def test_ending_a_placement_through_the_api(api, city, sites):
    placement = place(city, city.person_a, sites.rooms["101"], actor="city")
    client = api("township")
    assert client.post(f"/api/v1/placements/{placement.pk}/end/", {"reason": ""}, format="json").status_code == 400
    ended = client.post(f"/api/v1/placements/{placement.pk}/end/", {"reason": "确诊"}, format="json")
    assert ended.status_code == 200 and ended.json()["status"] == "ended"


def test_site_staff_send_someone_home_when_the_measure_now_says_home(api, city, sites):
    placement = place(city, city.person_a, sites.rooms["101"], actor="city")
    placement.measure.status = "superseded"
    placement.measure.save()
    measure(city.person_a, measure_type="home_quarantine", duration=5)
    moved = api("site").post(f"/api/v1/placements/{placement.pk}/transfer/", {"reason": "改为居家隔离"}, format="json")
    assert moved.status_code == 201, moved.json()
    body = moved.json()
    assert (body["kind"], body["room"], body["grid"], body["due_date"]) == (
        "home",
        None,
        city.grid_a.code,
        days(4).isoformat(),
    )
    assert Room.objects.get(pk=sites.rooms["101"].pk).state == "disinfecting"
    assert api("grid_a").get(f"/api/v1/placements/{body['id']}/").status_code == 200
