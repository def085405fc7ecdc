"""Pages of sites and placements: lists (filters, paging, export, query counts), the board and the occupancy
overview, placing, transferring, releasing and the certificate; each with its scoping."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from firstline.core.models import AuditEvent
from firstline.quarantine.models import Facility, FacilityStaff, Placement, Room, Sampling
from firstline.quarantine.tests.factories import days, measure
from firstline.quarantine.tests.test_sites_placements import housemate, place
from firstline.quarantine.tests.test_sites_release import all_negative, placed
from firstline.regions.models import Household

pytestmark = pytest.mark.django_db


@pytest.fixture
def english(client: Any) -> None:
    client.cookies["django_language"] = "en"


def body(response: Any) -> str:
    return response.content.decode()


# -- sites -------------------------------------------------------------------------------------------------------


def test_site_list_filters_exports_and_counts_queries(client, login, city, sites, django_assert_max_num_queries):
    from firstline.quarantine.sites import services

    division = sites.main.division
    for n in range(12):
        services.facility_create(actor=city["city"], code=f"QX{n:02d}", name=f"隔离点{n}", division=division)
    login("city")
    url = reverse("quarantine:facility_list")
    # 7 of them are the request's own (session, user, second factor, memberships, session save).
    with django_assert_max_num_queries(12):
        response = client.get(url)
    assert response.status_code == 200 and response.context["page_obj"].paginator.count == 14
    assert client.get(url, {"q": "QX0"}).context["page_obj"].paginator.count == 10
    assert client.get(url, {"division": "632701101"}).context["page_obj"].paginator.count == 1
    export = client.get(url, {"export": "csv"})
    text = b"".join(export.streaming_content).decode("utf-8-sig")
    assert "QA01" in text and "QX11" in text
    assert AuditEvent.objects.filter(action="export", note__startswith="sites csv").exists()


def test_site_staff_see_their_own_site_only(client, login, city, sites):
    login("site")
    response = client.get(reverse("quarantine:facility_list"))
    assert [site for site, _f in response.context["rows"]] == [sites.main]
    assert client.get(reverse("quarantine:facility_detail", args=[sites.other.pk])).status_code == 404
    assert client.get(reverse("quarantine:site_board", args=[sites.other.pk])).status_code == 404
    assert client.get(reverse("quarantine:site_board", args=[sites.main.pk])).status_code == 200
    assert client.get(reverse("quarantine:facility_create")).status_code == 403


def test_a_site_is_created_and_edited_through_its_pages(client, login, city, sites, english):
    login("township")
    response = client.post(
        reverse("quarantine:facility_create"),
        {"code": "qa09", "name": "结古新隔离点", "division": "632701001", "active": "on"},
    )
    site = Facility.objects.get(code="QA09")
    assert response.status_code == 302 and response.url == reverse("quarantine:facility_detail", args=[site.pk])
    bad = client.post(reverse("quarantine:facility_create"), {"code": "QA09", "name": "x", "division": "632701001"})
    assert bad.status_code == 200 and "already has the code" in body(bad)
    response = client.post(
        reverse("quarantine:facility_edit", args=[site.pk]),
        {"code": "QA09", "name": "改名", "division": "632701001", "version": site.version},
    )
    site.refresh_from_db()
    assert response.status_code == 302 and (site.name, site.active) == ("改名", False)


def test_rooms_are_added_and_staff_assigned_from_the_site_page(client, login, city, sites, english):
    login("township")
    detail = reverse("quarantine:facility_detail", args=[sites.main.pk])
    response = client.post(
        reverse("quarantine:facility_rooms_add", args=[sites.main.pk]),
        {"floor_label": "3F", "numbers": "301-305", "capacity": 2},
    )
    assert response.status_code == 302 and Room.objects.filter(facility=sites.main, floor__label="3F").count() == 5
    client.post(
        reverse("quarantine:facility_rooms_add", args=[sites.main.pk]),
        {"floor_label": "3F", "numbers": "305", "capacity": 1},
    )
    assert "already has rooms 305" in body(client.get(detail))
    response = client.post(
        reverse("quarantine:facility_staff_add", args=[sites.main.pk]),
        {"user": city["grid_a"].pk, "site_role": "security"},
    )
    assert FacilityStaff.objects.filter(facility=sites.main, user=city["grid_a"], site_role="security").exists()
    page = client.get(detail)
    assert page.status_code == 200 and 'data-user="grid_a"' in body(page) and 'data-room="305"' in body(page)
    staff = FacilityStaff.objects.get(user=city["grid_a"])
    client.post(reverse("quarantine:facility_staff_remove", args=[staff.pk]))
    staff.refresh_from_db()
    assert not staff.active
    login("other_township")
    assert client.post(reverse("quarantine:facility_staff_remove", args=[staff.pk])).status_code == 404


def test_room_edit_and_state_changes_from_the_board(client, login, city, sites, english):
    room = sites.rooms["103"]
    login("site")
    response = client.post(reverse("quarantine:room_state", args=[room.pk]), {"state": "out_of_service"})
    assert response.status_code == 302
    room.refresh_from_db()
    assert room.state == "out_of_service"
    client.post(reverse("quarantine:room_state", args=[room.pk]), {"state": "occupied"})
    room.refresh_from_db()
    assert room.state == "out_of_service"
    assert client.get(reverse("quarantine:room_edit", args=[room.pk])).status_code == 403  # structure: not staff
    login("township")
    response = client.post(
        reverse("quarantine:room_edit", args=[room.pk]),
        {"number": "103A", "floor_label": "1F", "capacity": 2, "note": "", "version": room.version},
    )
    room.refresh_from_db()
    assert response.status_code == 302 and (room.number, room.capacity) == ("103A", 2)
    login("site_other")
    assert client.post(reverse("quarantine:room_state", args=[room.pk]), {"state": "available"}).status_code == 404


# -- board and occupancy -----------------------------------------------------------------------------------------


def test_the_board_shows_rooms_by_state_with_occupants_and_due_dates(
    client, login, city, sites, english, django_assert_max_num_queries
):
    place(city, city.person_a, sites.rooms["201"], actor="city")
    place(city, housemate(city), sites.rooms["201"], actor="city")
    Room.objects.filter(pk=sites.rooms["102"].pk).update(state="disinfecting")
    login("site")
    url = reverse("quarantine:site_board", args=[sites.main.pk])
    with django_assert_max_num_queries(13):
        response = client.get(url)
    html = body(response)
    assert 'data-room="201" data-state="occupied"' in html and 'data-room="102" data-state="disinfecting"' in html
    assert city.person_a.name in html and days(6).strftime("%m-%d") in html
    assert html.count('data-testid="occupant"') == 2
    for n in range(3):
        place(city, housemate(city, name=f"客{n}"), sites.rooms[("101", "103", "202")[n]], actor="city")
    with django_assert_max_num_queries(13):
        client.get(url)
    assert 'data-testid="disinfected"' in html  # the manager may mark it done


def test_the_occupancy_overview_is_one_row_per_visible_site_and_each_number_links_to_its_list(
    client, login, city, sites, english, django_assert_max_num_queries
):
    place(city, city.person_a, sites.rooms["101"], actor="city")
    login("city")
    with django_assert_max_num_queries(12):
        response = client.get(reverse("quarantine:occupancy"))
    rows = list(response.context["page_obj"])
    assert [r["facility"].code for r in rows] == ["QA01", "QB01"] and response.context["totals"]["people"] == 1
    html = body(response)
    assert f'{reverse("quarantine:placement_list")}?facility={sites.main.pk}" data-figure="people">1<' in html
    only = client.get(reverse("quarantine:occupancy"), {"division": "632701101"})
    assert [r["facility"].code for r in only.context["page_obj"]] == ["QB01"]
    export = client.get(reverse("quarantine:occupancy"), {"export": "csv"})
    assert "QB01" in b"".join(export.streaming_content).decode("utf-8-sig")
    login("township")
    assert [r["facility"].code for r in client.get(reverse("quarantine:occupancy")).context["page_obj"]] == ["QA01"]


# -- placements --------------------------------------------------------------------------------------------------


def test_placement_list_filters_pages_exports_and_counts_queries(
    client, login, city, sites, english, django_assert_max_num_queries
):
    place(city, city.person_a, sites.rooms["101"], actor="city")
    measure(city.person_b, measure_type="home_quarantine", duration=3)
    place(city, city.person_b, kind="home", actor="city")
    for n in range(8):
        person = housemate(city, household=city.household_a2, name=f"住户{n}")
        measure(person, measure_type="home_health_monitoring")
        place(city, person, kind="home", actor="city")
    login("township")
    url = reverse("quarantine:placement_list")
    with django_assert_max_num_queries(10):
        response = client.get(url)
    assert response.context["page_obj"].paginator.count == 10
    assert client.get(url, {"facility": sites.main.pk}).context["page_obj"].paginator.count == 1
    assert client.get(url, {"kind": "home"}).context["page_obj"].paginator.count == 9
    assert client.get(url, {"grid": city.grid_b.code}).context["page_obj"].paginator.count == 1
    assert client.get(url, {"due_by": days(2).isoformat()}).context["page_obj"].paginator.count == 1
    assert client.get(url, {"q": city.person_a.name}).context["page_obj"].paginator.count == 1
    assert client.get(url, {"status": "released"}).context["page_obj"].paginator.count == 0
    export = client.get(url, {"export": "csv"})
    text = b"".join(export.streaming_content).decode("utf-8-sig")
    # township officers see ID numbers masked, in the export too
    assert city.person_a.name in text and city.person_a.id_number not in text


def test_scoping_site_staff_and_grid_workers_see_their_own_placements(client, login, city, sites):
    at_main = place(city, city.person_a, sites.rooms["101"], actor="city")
    at_other = place(city, city.person_c, sites.other_room, actor="city")
    measure(city.person_b, measure_type="home_quarantine")
    home_b = place(city, city.person_b, kind="home", actor="city")
    person_a2 = housemate(city)
    measure(person_a2, measure_type="home_quarantine")
    home_a = place(city, person_a2, kind="home", actor="city")

    def listed(username: str) -> set[int]:
        login(username)
        return {p.pk for p in client.get(reverse("quarantine:placement_list")).context["page_obj"]}

    assert listed("site") == {at_main.pk}
    assert listed("site_other") == {at_other.pk}
    assert client.get(reverse("quarantine:placement_detail", args=[at_main.pk])).status_code == 404
    assert listed("grid_a") == {at_main.pk, home_a.pk}
    assert client.get(reverse("quarantine:placement_detail", args=[home_b.pk])).status_code == 404
    assert client.get(reverse("quarantine:placement_detail", args=[home_a.pk])).status_code == 200
    assert listed("grid_b") == {home_b.pk}


def test_placing_a_person_from_their_page(client, login, city, sites, english):
    measure(city.person_a, measure_type="centralised_quarantine")
    login("township")
    url = reverse("quarantine:placement_create")
    page = client.get(url, {"person": city.person_a.pk, "facility": sites.main.pk})
    assert page.status_code == 200 and 'data-measure="centralised_quarantine"' in body(page)
    assert [value for value, _label in page.context["form"].fields["room"].choices][1:] == [
        sites.rooms[n].pk for n in ("101", "102", "103", "201", "202")
    ]
    response = client.post(
        f"{url}?person={city.person_a.pk}&facility={sites.main.pk}",
        {"kind": "centralised", "room": sites.rooms["102"].pk, "needs": ["food"], "needs_detail": "素食"},
    )
    placement = Placement.objects.get(person=city.person_a)
    assert response.status_code == 302 and response.url == reverse("quarantine:placement_detail", args=[placement.pk])
    assert placement.room == sites.rooms["102"] and placement.care_needs.get().description == "素食"
    # A second placement is refused with the reason shown.
    again = client.post(
        f"{url}?person={city.person_a.pk}&facility={sites.main.pk}",
        {"kind": "centralised", "room": sites.rooms["101"].pk},
    )
    assert again.status_code == 200 and "already placed" in body(again)
    assert client.get(url, {"person": city.person_c.pk}).status_code == 404
    assert client.get(url, {"q": "扎西"}).context["found"] == [city.person_a]
    login("grid_a")
    assert client.get(url, {"person": city.person_a.pk}).status_code == 403


def test_the_wrong_kind_is_refused_on_the_page_with_the_reason(client, login, city, sites, english):
    measure(city.person_a, measure_type="home_quarantine")
    login("township")
    url = reverse("quarantine:placement_create")
    response = client.post(
        f"{url}?person={city.person_a.pk}&facility={sites.main.pk}",
        {"kind": "centralised", "room": sites.rooms["101"].pk},
    )
    assert response.status_code == 200 and "keeps the person at home" in body(response)
    assert not Placement.objects.exists()


def test_detail_shows_measure_tests_checks_and_what_holds_the_release(
    client, login, city, sites, english, django_assert_max_num_queries
):
    placement = placed(city, city.person_a, sites.rooms["101"], ago=2)
    login("site")
    url = reverse("quarantine:placement_detail", args=[placement.pk])
    with django_assert_max_num_queries(25):
        response = client.get(url)
    html = body(response)
    assert 'data-testid="blockers"' in html and days(4).isoformat() in html
    assert 'data-testid="samplings"' in html and html.count("data-day=") == 4
    assert city.person_a.id_number in html  # site staff see full numbers
    login("township")
    assert city.person_a.id_number not in body(client.get(url))
    assert 'data-testid="history"' in body(client.get(url, {"tab": "history"}))


def test_transfer_release_certificate_and_end_through_the_pages(client, login, city, sites, english):
    placement = placed(city, city.person_a, sites.rooms["101"], ago=6)
    login("site")
    transfer = reverse("quarantine:placement_transfer", args=[placement.pk])
    page = client.get(transfer)
    assert page.status_code == 200 and page.context["facility"] == sites.main
    response = client.post(transfer, {"room": sites.rooms["103"].pk, "reason": "空调坏了"})
    new = Placement.objects.get(person=city.person_a, status="active")
    assert response.status_code == 302 and new.room == sites.rooms["103"] and new.transferred_from == placement
    refused = client.post(reverse("quarantine:placement_release", args=[new.pk]), follow=True)
    assert "Not released" in body(refused) and Placement.objects.get(pk=new.pk).status == "active"
    all_negative(placement)
    all_negative(new)
    released = client.post(reverse("quarantine:placement_release", args=[new.pk]), follow=True)
    new.refresh_from_db()
    assert new.status == "released" and new.certificate_number in body(released)
    pdf = client.get(reverse("quarantine:placement_certificate", args=[new.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert AuditEvent.objects.filter(object_id=str(new.pk), note__startswith="release certificate").exists()
    assert client.get(reverse("quarantine:placement_certificate", args=[placement.pk])).status_code == 404
    other = place(city, city.person_b, sites.rooms["202"], actor="city")
    client.post(reverse("quarantine:placement_end", args=[other.pk]), {"reason": "确诊，转定点医院"})
    assert Placement.objects.get(pk=other.pk).status == "ended"
    assert Room.objects.get(pk=sites.rooms["202"].pk).state == "disinfecting"


def test_care_needs_and_numbers_are_recorded_on_the_detail_page(client, login, city, sites, english):
    measure(city.person_a, measure_type="home_quarantine")
    placement = place(city, city.person_a, kind="home", actor="city")
    login("grid_lead_a")
    client.post(reverse("quarantine:care_need_add", args=[placement.pk]), {"kind": "medicine", "description": "降压药"})
    need = placement.care_needs.get()
    assert (need.kind, need.status) == ("medicine", "open")
    client.post(reverse("quarantine:care_need_close", args=[need.pk]), {"done": "1"})
    need.refresh_from_db()
    assert need.status == "done"
    client.post(
        reverse("quarantine:placement_numbers", args=[placement.pk]),
        {"seal_number": "S-1", "sensor_number": "D-2", "version": placement.version},
    )
    placement.refresh_from_db()
    assert (placement.seal_number, placement.sensor_number) == ("S-1", "D-2")
    assert Household.objects.filter(pk=placement.household_id).exists()
    assert Sampling.objects.filter(placement=placement).exists()


def test_the_board_state_form_sets_a_free_rooms_state_by_room(client, login, city, sites, english):
    place(city, city.person_a, sites.rooms["101"], actor="city")
    login("site")
    page = client.get(reverse("quarantine:site_board", args=[sites.main.pk]))
    offered = [room.number for room in page.context["changeable_rooms"]]
    assert offered == ["102", "103", "201", "202"]  # not 101: someone is in it
    url = reverse("quarantine:site_board_state", args=[sites.main.pk])
    client.post(url, {"room": sites.rooms["202"].pk, "state": "disinfecting"})
    assert Room.objects.get(pk=sites.rooms["202"].pk).state == "disinfecting"
    refused = client.post(url, {"room": sites.other_room.pk, "state": "out_of_service"}, follow=True)
    assert "Choose a room of this site" in body(refused)
    assert Room.objects.get(pk=sites.other_room.pk).state == "available"


def test_the_person_page_shows_placements_and_links_to_place_them(client, login, city, sites, english):
    from firstline.quarantine.sites import panels

    panels.register()
    login("township")
    page = body(client.get(reverse("people:detail", args=[city.person_a.pk])))
    assert f"{reverse('quarantine:placement_create')}?person={city.person_a.pk}" in page
    placement = place(city, city.person_a, sites.rooms["101"], actor="city")
    page = body(client.get(reverse("people:detail", args=[city.person_a.pk])))
    assert f'data-placement="{placement.pk}"' in page and 'data-testid="place-person"' not in page


def test_placement_list_filters_by_the_measure_served_in_the_phase(client, login, city, sites):
    from firstline.quarantine.sites.services import placement_create
    from firstline.quarantine.tests.factories import measure

    measure(city.person_a, measure_type="centralised_quarantine")
    measure(city.person_b, measure_type="home_quarantine")
    placement_create(actor=city["township"], person=city.person_a, kind="centralised", room=sites.rooms["101"])
    placement_create(actor=city["township"], person=city.person_b, kind="home")
    login("township")
    home = client.get("/quarantine/sites/placements/?measure=home_quarantine")
    site = client.get("/quarantine/sites/placements/?measure=centralised_quarantine")
    assert city.person_b.name in home.content.decode() and city.person_a.name not in home.content.decode()
    assert city.person_a.name in site.content.decode() and city.person_b.name not in site.content.decode()


def test_a_broken_version_on_the_numbers_form_is_told_as_a_stale_page_and_saves_nothing(
    client, login, city, sites, english
):
    measure(city.person_a, measure_type="home_quarantine")
    placement = place(city, city.person_a, kind="home", actor="city")
    login("grid_lead_a")
    page = client.post(
        reverse("quarantine:placement_numbers", args=[placement.pk]),
        {"seal_number": "S-1", "version": "abc"},
        follow=True,
    )
    assert "Someone else changed this placement" in body(page) and "invalid literal" not in body(page)
    placement.refresh_from_db()
    assert placement.seal_number == ""


def test_a_reason_over_its_length_is_refused_with_the_length_not_as_a_missing_reason(
    client, login, city, sites, english
):
    placement = place(city, city.person_a, sites.rooms["101"], actor="city")
    login("site")
    url = reverse("quarantine:placement_end", args=[placement.pk])
    page = client.post(url, {"reason": "x" * 301}, follow=True)
    assert "at most 300 characters" in body(page) and "Give the reason" not in body(page)
    assert Placement.objects.get(pk=placement.pk).status == "active"
    page = client.post(url, {"reason": ""}, follow=True)  # an empty one: the service says what it needs
    assert "Give the reason" in body(page)
    release = client.post(
        reverse("quarantine:placement_release", args=[placement.pk]), {"early_reason": "y" * 251}, follow=True
    )
    assert "Not released" in body(release) and "at most 250 characters" in body(release)
    assert Placement.objects.get(pk=placement.pk).status == "active"
