"""Placing people: the measure decides where, rooms take one household up to their beds, transfers keep the stay
together, and a room follows who is in it (occupied, then disinfecting when the last one leaves)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from conftest import make_person, valid_id
from firstline.core.models import AuditEvent
from firstline.quarantine.models import (
    CareNeed,
    Placement,
    PlacementStatus,
    Room,
    RoomState,
    Sampling,
    SamplingStatus,
)
from firstline.quarantine.sites import services
from firstline.quarantine.tests.factories import days, measure

# These tests assert the wording of messages (in English).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

_serial = iter(range(100, 999))


def housemate(city: Any, household: Any = None, name: str = "卓玛") -> Any:
    """Another person of ``household`` (person_a's by default)."""
    household = household or city.household_a
    return make_person(household=household, name=name, id_number=valid_id(f"63270119880101{next(_serial):03d}"))


def homeless(city: Any, name: str = "多吉") -> Any:
    """A person with no household on record (path: the community)."""
    from firstline.people.models import Person
    from firstline.people.services import clean_person_fields

    values = clean_person_fields(
        name=name, id_type="resident", id_number=valid_id(f"63270119750101{next(_serial):03d}"), phone=""
    )
    return Person.objects.create(household=None, path=city.community_a.code, **values)


def place(city: Any, person: Any, room: Any = None, *, actor: str = "township", kind: str = "", **extra: Any) -> Any:
    """Place ``person`` under their governing measure (a centralised one is made when they have none)."""
    from firstline.quarantine.measures import governing_measures

    if not governing_measures([person.pk]):
        measure(person)
    return services.placement_create(
        actor=city[actor] if actor else None,
        person=person,
        kind=kind or ("centralised" if room is not None else "home"),
        room=room,
        **extra,
    )


def errors_of(excinfo: Any) -> dict[str, list[str]]:
    return excinfo.value.message_dict


# -- where the measure says --------------------------------------------------------------------------------------


def test_a_centralised_placement_takes_the_measures_dates_schedules_tests_and_occupies_the_room(city, sites):
    m = measure(city.person_a, duration=7, test_days=(1, 3, 7))
    room = sites.rooms["101"]
    placement = place(city, city.person_a, room)
    assert (placement.kind, placement.facility, placement.room, placement.measure) == (
        "centralised",
        sites.main,
        room,
        m,
    )
    assert (placement.due_date, placement.path, placement.site_path) == (days(6), city.person_a.path, "632701001")
    assert placement.household == city.household_a and placement.created_by == city["township"]
    assert sorted(
        day for day in Sampling.objects.filter(placement=placement).values_list("due_date", flat=True) if day
    ) == [
        days(0),
        days(2),
        days(6),
    ]
    room.refresh_from_db()
    assert room.state == RoomState.OCCUPIED and room.state_since is not None
    assert AuditEvent.objects.filter(action="create", object_id=str(placement.pk), object_repr__contains="101").exists()


def test_a_home_measure_is_refused_a_room_and_a_site_measure_refused_home(city, sites):
    measure(city.person_a, measure_type="home_quarantine")
    with pytest.raises(ValidationError) as excinfo:
        place(city, city.person_a, sites.rooms["101"])
    assert "kind" in errors_of(excinfo)
    measure(city.person_b, measure_type="centralised_quarantine")
    with pytest.raises(ValidationError) as excinfo:
        place(city, city.person_b, kind="home")
    assert "kind" in errors_of(excinfo)
    assert not Placement.objects.exists()


def test_tests_only_measures_and_people_without_a_measure_are_not_placed(city, sites):
    with pytest.raises(ValidationError) as excinfo:
        services.placement_create(actor=city["township"], person=city.person_a, kind="home")
    assert "measure" in errors_of(excinfo)
    measure(city.person_b, measure_type="tests_only")
    with pytest.raises(ValidationError) as excinfo:
        place(city, city.person_b, kind="home")
    assert "measure" in errors_of(excinfo)


def test_a_room_holds_no_more_people_than_beds(city, sites):
    room = sites.rooms["201"]  # 2 beds
    place(city, city.person_a, room)
    place(city, housemate(city), room)
    with pytest.raises(ValidationError) as excinfo:
        place(city, housemate(city, name="拉姆"), room)
    assert "full" in errors_of(excinfo)["room"][0]
    assert Placement.objects.filter(room=room, status="active").count() == 2


def test_households_never_share_a_room_and_people_without_one_stay_alone(city, sites):
    room = sites.rooms["201"]
    place(city, city.person_a, room)
    with pytest.raises(ValidationError) as excinfo:
        place(city, city.person_b, room)
    assert city.person_a.name in errors_of(excinfo)["room"][0]
    loner = homeless(city)
    with pytest.raises(ValidationError):
        place(city, loner, room)
    alone = place(city, loner, sites.rooms["202"])
    with pytest.raises(ValidationError):
        place(city, housemate(city), sites.rooms["202"])  # nor may anyone join them
    assert alone.household is None


@pytest.mark.parametrize("state", ["out_of_service", "disinfecting"])
def test_rooms_out_of_service_or_being_disinfected_take_nobody(city, sites, state):
    room = sites.rooms["101"]
    Room.objects.filter(pk=room.pk).update(state=state)
    with pytest.raises(ValidationError) as excinfo:
        place(city, city.person_a, room)
    assert "101" in errors_of(excinfo)["room"][0]


def test_one_active_placement_per_person_with_a_clear_error(city, sites):
    place(city, city.person_a, sites.rooms["101"])
    with pytest.raises(ValidationError) as excinfo:
        place(city, city.person_a, sites.rooms["102"])
    message = errors_of(excinfo)["person"][0]
    assert "101" in message and "transfer" in message


def test_a_person_out_of_scope_is_not_found_and_placing_needs_the_permission(city, sites):
    measure(city.person_c)
    with pytest.raises(Http404):
        place(city, city.person_c, sites.rooms["101"])  # township of 结古 does not see 隆宝's people
    with pytest.raises(PermissionDenied):
        place(city, city.person_a, sites.rooms["101"], actor="grid_a")
    with pytest.raises(ValidationError) as excinfo:
        place(city, city.person_a, sites.other_room)  # 隆宝's site is not this township's
    assert "room" in errors_of(excinfo)


def test_a_home_placement_is_watched_by_the_households_grid_with_seal_sensor_and_needs(city, sites):
    measure(city.person_a, measure_type="home_quarantine", duration=7, test_days=(1, 4, 7))
    placement = place(
        city,
        city.person_a,
        kind="home",
        responsible=city["grid_a"],
        seal_number="FT-0001",
        sensor_number="DS 778",
        care_needs=[("food", "清真"), {"kind": "medicine", "description": "胰岛素"}],
    )
    assert (placement.grid, placement.responsible, placement.facility, placement.room) == (
        city.grid_a,
        city["grid_a"],
        None,
        None,
    )
    assert (placement.seal_number, placement.sensor_number, placement.site_path) == ("FT-0001", "DS 778", "")
    needs = CareNeed.objects.filter(placement=placement).order_by("kind")
    assert [(n.kind, n.description, n.path) for n in needs] == [
        ("food", "清真", placement.path),
        ("medicine", "胰岛素", placement.path),
    ]
    assert Sampling.objects.filter(placement=placement).count() == 3


def test_a_home_placement_needs_a_household_and_a_responsible_worker_of_its_grid(city, sites):
    loner = homeless(city)
    measure(loner, measure_type="home_quarantine")
    with pytest.raises(ValidationError) as excinfo:
        place(city, loner, kind="home")
    assert "household" in errors_of(excinfo)["person"][0]
    measure(city.person_a, measure_type="home_quarantine")
    with pytest.raises(ValidationError) as excinfo:
        place(city, city.person_a, kind="home", responsible=city["grid_b"])
    assert "responsible" in errors_of(excinfo)


def test_the_system_may_place_without_an_actor(city, sites):
    measure(city.person_c)
    placement = place(city, city.person_c, sites.other_room, actor="")
    assert placement.created_by is None and placement.site_path == sites.other.path


# -- transfers ---------------------------------------------------------------------------------------------------


def test_a_transfer_closes_the_old_placement_moves_open_samplings_and_frees_the_room(city, sites):
    measure(city.person_a, start=days(-2), duration=7, test_days=(1, 3, 5, 7))
    start = timezone.now() - datetime.timedelta(days=2)
    old = place(city, city.person_a, sites.rooms["101"], start_at=start)
    old_samplings = {s.due_date: s for s in Sampling.objects.filter(placement=old) if s.due_date}
    assert sorted(old_samplings) == [days(-2), days(0), days(2), days(4)]
    Sampling.objects.filter(pk=old_samplings[days(-2)].pk).update(status="sampled", result="negative")
    CareNeed.objects.create(placement=old, path=old.path, kind="food")
    new = services.placement_transfer(
        actor=city["township"], placement=old, room=sites.rooms["201"], reason="需要双人间照顾"
    )
    old.refresh_from_db()
    assert (old.status, old.end_reason, old.ended_by) == ("transferred", "需要双人间照顾", city["township"])
    assert old.ended_at is not None
    assert (new.status, new.transferred_from, new.room, new.due_date, new.phase) == (
        "active",
        old,
        sites.rooms["201"],
        days(4),
        "main",
    )
    # The sampled day stays with the old room; today's and later ones moved, nothing was duplicated.
    by_day = {
        s.due_date: s for s in Sampling.objects.filter(person=city.person_a).exclude(status="cancelled") if s.due_date
    }
    assert sorted(by_day) == [days(-2), days(0), days(2), days(4)]
    assert by_day[days(-2)].placement_id == old.pk
    assert {by_day[d].placement_id for d in (days(0), days(2), days(4))} == {new.pk}
    moved = AuditEvent.objects.filter(note="moved to the new placement").values_list("object_id", flat=True)
    assert sorted(moved) == sorted(str(by_day[d].pk) for d in (days(0), days(2), days(4)))
    assert CareNeed.objects.get().placement == new
    rooms = {r.number: r for r in Room.objects.filter(facility=sites.main)}
    assert rooms["101"].state == RoomState.DISINFECTING and rooms["201"].state == RoomState.OCCUPIED


def test_a_transfer_needs_a_reason_a_different_room_and_obeys_the_room_rules(city, sites):
    old = place(city, city.person_a, sites.rooms["101"])
    with pytest.raises(ValidationError) as excinfo:
        services.placement_transfer(actor=city["township"], placement=old, room=sites.rooms["102"], reason=" ")
    assert "reason" in errors_of(excinfo)
    with pytest.raises(ValidationError) as excinfo:
        services.placement_transfer(actor=city["township"], placement=old, room=sites.rooms["101"], reason="x")
    assert "room" in errors_of(excinfo)
    place(city, city.person_b, sites.rooms["201"])
    with pytest.raises(ValidationError):
        services.placement_transfer(actor=city["township"], placement=old, room=sites.rooms["201"], reason="x")
    old.refresh_from_db()
    assert old.status == "active"  # nothing half-written


def test_a_transfer_to_another_site_by_city_command_and_home_when_the_measure_allows(city, sites):
    old = place(city, city.person_a, sites.rooms["101"], actor="city")
    new = services.placement_transfer(actor=city["city"], placement=old, room=sites.other_room, reason="调整隔离点")
    assert (new.facility, new.site_path) == (sites.other, sites.other.path)
    with pytest.raises(ValidationError) as excinfo:
        services.placement_transfer(actor=city["city"], placement=new, room=None, reason="回家")
    assert "kind" in errors_of(excinfo)  # the measure still says centralised


# -- room states -------------------------------------------------------------------------------------------------


def test_the_room_goes_to_disinfecting_only_when_the_last_occupant_leaves(city, sites):
    room = sites.rooms["201"]
    first = place(city, city.person_a, room)
    second = place(city, housemate(city), room)
    services.placement_end(actor=city["township"], placement=first, reason="确诊转定点医院")
    room.refresh_from_db()
    assert room.state == RoomState.OCCUPIED
    services.placement_end(actor=city["township"], placement=second, reason="送医")
    room.refresh_from_db()
    assert room.state == RoomState.DISINFECTING and room.state_since is not None


def test_ending_a_placement_records_the_reason_and_cancels_its_open_samplings(city, sites):
    placement = place(city, city.person_a, sites.rooms["101"])
    with pytest.raises(ValidationError):
        services.placement_end(actor=city["township"], placement=placement, reason="")
    ended = services.placement_end(actor=city["township"], placement=placement, reason="确诊")
    assert (ended.status, ended.end_reason) == (PlacementStatus.ENDED, "确诊")
    assert not Sampling.objects.filter(placement=placement, status=SamplingStatus.SCHEDULED).exists()
    with pytest.raises(ValidationError):
        services.placement_end(actor=city["township"], placement=ended, reason="again")


def test_care_needs_reach_the_listeners_in_the_same_transaction(city, sites):
    from firstline.quarantine import hooks

    told: list[tuple[Any, Any]] = []

    def listener(actor: Any, need: Any) -> None:
        told.append((actor, need))

    hooks.register_care_need_listener(listener)
    try:
        measure(city.person_a, measure_type="home_quarantine")
        placement = place(city, city.person_a, kind="home", care_needs=[("food", "")])
        services.care_need_add(actor=city["township"], placement=placement, kind="medicine", description="降压药")
    finally:
        hooks._listeners.remove(listener)
    assert [(actor, need.kind, need.placement_id) for actor, need in told] == [
        (city["township"], "food", placement.pk),
        (city["township"], "medicine", placement.pk),
    ]
    assert all(need.pk for _actor, need in told)
