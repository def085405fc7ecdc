"""Sites, floors and rooms, room states and staff: who may change what, and the occupancy figures."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from firstline.core.concurrency import StaleVersionError
from firstline.core.models import AuditEvent
from firstline.quarantine.models import Facility, FacilityStaff, Floor, Placement, Room, RoomState
from firstline.quarantine.sites import selectors, services
from firstline.quarantine.tests.test_sites_placements import housemate, place
from firstline.regions.models import Division

pytestmark = pytest.mark.django_db


def jiegu() -> Division:
    return Division.objects.get(code="632701001")


def test_a_site_is_created_in_a_division_of_the_actors_jurisdiction_with_a_unique_code(city, sites):
    site = services.facility_create(
        actor=city["township"], code=" qa02 ", name="玉树宾馆隔离点", division=jiegu(), phone="0976-8822110"
    )
    assert (site.code, site.path, site.active) == ("QA02", "632701001", True)
    assert AuditEvent.objects.filter(action="create", object_id=str(site.pk), path="632701001").exists()
    with pytest.raises(ValidationError) as excinfo:
        services.facility_create(actor=city["township"], code="QA02", name="x", division=jiegu())
    assert "code" in excinfo.value.message_dict
    with pytest.raises(ValidationError) as excinfo:
        services.facility_create(
            actor=city["township"], code="QA03", name="", division=Division.objects.get(code="632701101")
        )
    assert set(excinfo.value.message_dict) == {"name", "division"}
    with pytest.raises(PermissionDenied):
        services.facility_create(actor=city["grid_a"], code="QA04", name="x", division=jiegu())


def test_editing_a_site_is_versioned_and_moving_it_moves_its_placements_visibility(city, sites):
    placement = place(city, city.person_a, sites.rooms["101"], actor="city")
    site = services.facility_update(
        actor=city["city"],
        facility=sites.main,
        expected_version=sites.main.version,
        data={"division": Division.objects.get(code="632701101"), "name": "新名字"},
    )
    assert (site.path, site.name, site.version) == ("632701101", "新名字", 2)
    placement.refresh_from_db()
    assert placement.site_path == "632701101"
    with pytest.raises(StaleVersionError):
        services.facility_update(actor=city["city"], facility=site, expected_version=1, data={"name": "again"})
    with pytest.raises(PermissionDenied):  # now outside 结古's jurisdiction
        services.facility_update(
            actor=city["township"], facility=site, expected_version=site.version, data={"name": "x"}
        )


def test_room_numbers_are_read_from_ranges_and_lists():
    assert services.parse_room_numbers("301-303, 305，307–308") == ["301", "302", "303", "305", "307", "308"]
    assert services.parse_room_numbers("01~03") == ["01", "02", "03"]
    assert services.parse_room_numbers("a1 B2") == ["A1", "B2"]
    for bad in ("", "320-301", "301-301,301", "3??", "1-900"):
        with pytest.raises(ValidationError):
            services.parse_room_numbers(bad)


def test_a_floors_rooms_are_added_in_bulk_and_taken_numbers_refused_by_name(city, sites):
    rooms = services.rooms_add(
        actor=city["township"], facility=sites.main, floor_label="3f", numbers="301-320", capacity=2
    )
    assert len(rooms) == 20 and {r.capacity for r in rooms} == {2} and {r.state for r in rooms} == {"available"}
    floor = Floor.objects.get(facility=sites.main, label="3F")
    assert floor.position == 3 and {r.floor_id for r in rooms} == {floor.pk}
    with pytest.raises(ValidationError) as excinfo:
        services.rooms_add(actor=city["township"], facility=sites.main, floor_label="3F", numbers="319-322")
    assert "319, 320" in excinfo.value.message_dict["numbers"][0]
    assert Room.objects.filter(facility=sites.main, number="321").count() == 0  # nothing half-written
    with pytest.raises(PermissionDenied):
        services.rooms_add(actor=city["other_township"], facility=sites.main, floor_label="4F", numbers="401")
    with pytest.raises(ValidationError) as excinfo:
        services.rooms_add(actor=city["township"], facility=sites.main, floor_label="4F", numbers="401", capacity=0)
    assert "capacity" in excinfo.value.message_dict


def test_a_rooms_beds_never_go_below_who_is_in_it(city, sites):
    room = sites.rooms["201"]
    place(city, city.person_a, room)
    place(city, housemate(city), room)
    with pytest.raises(ValidationError) as excinfo:
        services.room_update(actor=city["township"], room=room, expected_version=room.version, capacity=1)
    assert "capacity" in excinfo.value.message_dict
    room.refresh_from_db()
    updated = services.room_update(
        actor=city["township"], room=room, expected_version=room.version, capacity=3, note="加床"
    )
    assert (updated.capacity, updated.note) == (3, "加床")
    with pytest.raises(ValidationError):
        services.room_update(actor=city["township"], room=updated, expected_version=updated.version, number="202")


def test_occupied_is_never_set_by_hand_and_an_occupied_room_keeps_its_state(city, sites):
    room = sites.rooms["101"]
    with pytest.raises(ValidationError):
        services.room_set_state(actor=city["township"], room=room, state=RoomState.OCCUPIED)
    place(city, city.person_a, room)
    with pytest.raises(ValidationError) as excinfo:
        services.room_set_state(actor=city["township"], room=room, state=RoomState.OUT_OF_SERVICE)
    assert "101" in excinfo.value.message_dict["state"][0]


def test_the_site_manager_changes_room_states_of_their_own_site_only(city, sites):
    room = sites.rooms["102"]
    out = services.room_set_state(actor=city["site"], room=room, state=RoomState.OUT_OF_SERVICE, note="漏水")
    assert (out.state, out.note) == ("out_of_service", "漏水")
    with pytest.raises(PermissionDenied):
        services.room_set_state(actor=city["nurse"], room=out, state=RoomState.AVAILABLE)
    with pytest.raises(PermissionDenied):
        services.room_set_state(actor=city["site_other"], room=out, state=RoomState.AVAILABLE)
    with pytest.raises(Http404):
        selectors.room_get_for_user(city["site_other"], room.pk)


def test_disinfection_done_makes_the_room_available_again(city, sites):
    room = sites.rooms["101"]
    placement = place(city, city.person_a, room)
    services.placement_end(actor=city["township"], placement=placement, reason="送医")
    room.refresh_from_db()
    FacilityStaff.objects.filter(user=city["nurse"]).update(site_role="cleaning")
    done = services.room_disinfected(actor=city["nurse"], room=room)
    assert done.state == RoomState.AVAILABLE
    with pytest.raises(ValidationError):
        services.room_disinfected(actor=city["site"], room=done)


def test_staff_are_assigned_and_removed_and_see_their_site_only_while_assigned(city, sites):
    from firstline.accounts.services import membership_grant, user_create

    doctor = user_create(actor=None, username="doctor", password="x-very-long-9", display_name="doctor")
    membership_grant(actor=None, user=doctor, role="site_staff", division=jiegu())
    assert not Facility.objects.visible_to(doctor).exists()
    staff = services.staff_assign(actor=city["township"], facility=sites.main, user=doctor, site_role="doctor")
    doctor.forget_scope()
    assert list(Facility.objects.visible_to(doctor)) == [sites.main]
    again = services.staff_assign(actor=city["township"], facility=sites.main, user=doctor, site_role="sampler")
    assert again.pk == staff.pk and again.site_role == "sampler"
    services.staff_remove(actor=city["township"], staff=again)
    doctor.forget_scope()
    assert not Facility.objects.visible_to(doctor).exists()
    with pytest.raises(ValidationError) as excinfo:
        services.staff_assign(actor=city["township"], facility=sites.main, user=city["other_township"], site_role="x")
    assert set(excinfo.value.message_dict) == {"site_role", "user"}


def test_occupancy_counts_rooms_beds_people_and_states_per_site_in_four_queries(city, sites, django_assert_num_queries):
    place(city, city.person_a, sites.rooms["201"], actor="city")
    place(city, housemate(city), sites.rooms["201"], actor="city")
    place(city, city.person_b, sites.rooms["101"], actor="city")
    Room.objects.filter(pk=sites.rooms["102"].pk).update(state="out_of_service")
    Room.objects.filter(pk=sites.rooms["103"].pk).update(state="disinfecting")
    city["city"].scope  # noqa: B018 - computed once per request; not what is counted here
    with django_assert_num_queries(4):
        rows = selectors.occupancy(city["city"])
    main, other = rows
    assert main["facility"] == sites.main and other["facility"] == sites.other
    expected = {
        "rooms": 5,
        "beds": 7,
        "people": 3,
        "occupied_beds": 3,
        "occupied_rooms": 2,
        "available_rooms": 1,
        "free_beds": 2,
        "disinfecting": 1,
        "out_of_service": 1,
        "due": 0,
    }
    assert {key: main[key] for key in expected} == expected
    assert (other["rooms"], other["people"], other["available_rooms"]) == (1, 0, 1)
    assert selectors.occupancy_totals(rows)["rooms"] == 6
    assert [r["facility"] for r in selectors.occupancy(city["site_other"])] == [sites.other]
    assert selectors.occupancy(city["grid_a"]) == []


def test_the_board_groups_rooms_by_floor_with_occupants_in_a_fixed_number_of_queries(
    city, sites, django_assert_max_num_queries
):
    place(city, city.person_a, sites.rooms["201"], actor="city")
    place(city, housemate(city), sites.rooms["201"], actor="city")
    city["site"].scope  # noqa: B018
    with django_assert_max_num_queries(6):
        board = selectors.site_board(city["site"], sites.main)
    floors = {entry["floor"].label: entry["rooms"] for entry in board["floors"]}
    assert [cell["room"].number for cell in floors["1F"]] == ["101", "102", "103"]
    cell = floors["2F"][0]
    assert (cell["state"], cell["free"], len(cell["occupants"])) == ("occupied", 0, 2)
    assert board["totals"] == {
        "rooms": 5,
        "beds": 7,
        "people": 2,
        "occupied": 1,
        "available": 4,
        "disinfecting": 0,
        "out_of_service": 0,
        "due": 0,
    }
    # More people do not mean more queries.
    Placement.objects.filter(room=sites.rooms["201"]).update(status="released")
    for number in ("101", "102", "103"):
        place(city, housemate(city, name=f"人{number}"), sites.rooms[number], actor="city")
    with django_assert_max_num_queries(6):
        selectors.site_board(city["site"], sites.main)
    with pytest.raises(Http404):
        selectors.site_board(city["site_other"], sites.main)
