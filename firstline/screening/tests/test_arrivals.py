"""Registering arrivals: person matching, risk-area matching, the measure and its explanation, tasks."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError

from conftest import valid_id
from firstline.dispatch.models import Task
from firstline.people.models import Person
from firstline.policy.models import Measure, MeasureStatus
from firstline.riskareas.models import RiskArea, RiskAreaPeriod
from firstline.screening.models import Arrival, ArrivalSource, ArrivalStatus, MatchKind, MatchStatus, TravelMatch
from firstline.screening.services import arrival_register, arrival_verify, match_decide

D = datetime.date
TODAY = D(2022, 7, 20)


def make_area(place: str, code: str, level: str, start: D, until: D | None = None, scope: str = "") -> RiskArea:
    area = RiskArea.objects.create(
        place=place, division_code=code, scope_text=scope, level=level, effective_from=start, first_listed_on=start
    )
    RiskAreaPeriod.objects.create(
        area=area, level=level, valid_from=start, valid_until=until, division_code=code, scope_text=scope
    )
    return area


def arrival_data(household: Any, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "person": {"name": "旦增", "id_type": "resident", "id_number": valid_id("63270119920202001"), "phone": ""},
        "origin": "西安市雁塔区",
        "travel": [{"place": "陕西省西安市雁塔区", "date_from": D(2022, 7, 14), "date_to": D(2022, 7, 17)}],
        "arrival_date": D(2022, 7, 18),
        "household": household,
    }
    data.update(overrides)
    return data


def test_arrival_from_high_risk_area_gets_centralised_quarantine_counted_from_leaving(city: Any) -> None:
    # Given Xi'an's Yanta district high-risk from 10 July (第九版防控方案 in force)
    make_area("陕西省西安市雁塔区", "610113", "high", D(2022, 7, 10))
    # When a person who was there until 17 July arrives on 18 July
    result = arrival_register(
        actor=city["grid_a"], data=arrival_data(city.household_a), source=ArrivalSource.GRID_WORKER, today=TODAY
    )
    # Then: 7 days centralised from 18 July (day 1) to 24 July; tests days 1,2,3,5,7
    measure = result.measure
    assert measure is not None
    assert measure.measure_type == "centralised_quarantine"
    assert (measure.counted_from, measure.start, measure.end) == (D(2022, 7, 18), D(2022, 7, 18), D(2022, 7, 24))
    assert measure.test_dates == ["2022-07-18", "2022-07-19", "2022-07-20", "2022-07-22", "2022-07-24"]
    assert measure.explanation["evidence"]["area_place"] == "陕西省西安市雁塔区"
    assert measure.explanation["edition"]["name"] == "第九版防控方案"
    assert result.person_created and result.arrival_created
    assert result.person.birth_date == D(1992, 2, 2) and result.person.sex == "M"
    kinds = set(
        Task.objects.filter(
            content_type=ContentType.objects.get_for_model(Arrival), object_id=str(result.arrival.pk)
        ).values_list("kind", flat=True)
    )
    assert kinds == {"arrival_visit", "arrival_follow_up"}


def test_same_person_and_day_updates_the_arrival_and_recognises_the_person(city: Any) -> None:
    data = arrival_data(city.household_a, travel=[], origin="")
    first = arrival_register(actor=city["grid_a"], data=data, source=ArrivalSource.GRID_WORKER, today=TODAY)
    data["transport"] = "train"
    data["transport_no"] = "z8801"
    second = arrival_register(actor=city["grid_a"], data=data, source=ArrivalSource.GRID_WORKER, today=TODAY)
    assert second.arrival.pk == first.arrival.pk and not second.arrival_created and not second.person_created
    assert second.arrival.transport_no == "Z8801"
    assert Arrival.objects.count() == 1 and Person.objects.filter(name="旦增").count() == 1


def test_no_risk_travel_gives_no_measure(city: Any) -> None:
    result = arrival_register(
        actor=city["grid_a"], data=arrival_data(city.household_a), source=ArrivalSource.GRID_WORKER, today=TODAY
    )
    assert result.measure is None and result.decision.measure == "none"


def test_city_only_travel_is_a_possible_match_the_grid_worker_confirms(city: Any) -> None:
    make_area("陕西省西安市雁塔区", "610113", "high", D(2022, 7, 10))
    data = arrival_data(
        city.household_a, travel=[{"place": "西安市", "date_from": D(2022, 7, 15), "date_to": D(2022, 7, 17)}]
    )
    result = arrival_register(actor=city["grid_a"], data=data, source=ArrivalSource.GRID_WORKER, today=TODAY)
    match = TravelMatch.objects.get(arrival=result.arrival)
    assert (match.kind, match.status) == (MatchKind.POSSIBLE, MatchStatus.PENDING)
    assert result.measure is None and result.arrival.needs_review
    assert Task.objects.filter(kind="arrival_match").count() == 1
    confirmed = match_decide(actor=city["grid_a"], match=match, confirm=True)
    assert confirmed is not None and confirmed.measure is not None
    assert confirmed.measure.measure_type == "centralised_quarantine"
    assert Task.objects.get(kind="arrival_match").status == "done"


def test_same_county_outside_the_area_is_a_low_risk_arrival(city: Any) -> None:
    make_area("西安市雁塔区电子城街道", "610113", "high", D(2022, 7, 10), scope="电子城街道")
    data = arrival_data(
        city.household_a,
        travel=[{"place": "西安市雁塔区小寨路", "date_from": D(2022, 7, 15), "date_to": D(2022, 7, 17)}],
    )
    result = arrival_register(actor=city["grid_a"], data=data, source=ArrivalSource.GRID_WORKER, today=TODAY)
    assert result.measure is not None and result.measure.measure_type == "tests_only"
    assert result.measure.test_dates == ["2022-07-18", "2022-07-19"]
    assert TravelMatch.objects.get().kind == MatchKind.COUNTY


def test_travel_before_the_area_was_listed_does_not_match(city: Any) -> None:
    make_area("陕西省西安市雁塔区", "610113", "high", D(2022, 7, 18))
    result = arrival_register(
        actor=city["grid_a"], data=arrival_data(city.household_a), source=ArrivalSource.GRID_WORKER, today=TODAY
    )
    assert result.measure is None and not TravelMatch.objects.exists()


def test_bad_rows_are_refused_naming_each_field(city: Any) -> None:
    data = arrival_data(
        city.household_a,
        person={"name": "", "id_type": "resident", "id_number": "632701199202020010", "phone": "123"},
        arrival_date=D(2030, 1, 1),
        travel=[{"place": "西安", "date_from": D(2022, 7, 17), "date_to": D(2022, 7, 14)}],
    )
    with pytest.raises(ValidationError) as excinfo:
        arrival_register(actor=city["grid_a"], data=data, source=ArrivalSource.GRID_WORKER, today=TODAY)
    assert set(excinfo.value.message_dict) >= {"name", "id_number", "phone", "arrival_date"}


def test_travel_dates_out_of_order_are_refused(city: Any) -> None:
    data = arrival_data(
        city.household_a, travel=[{"place": "西安", "date_from": D(2022, 7, 17), "date_to": D(2022, 7, 14)}]
    )
    with pytest.raises(ValidationError) as excinfo:
        arrival_register(actor=city["grid_a"], data=data, source=ArrivalSource.GRID_WORKER, today=TODAY)
    assert "travel[0].date_from" in excinfo.value.message_dict


def test_household_outside_the_grid_is_refused(city: Any) -> None:
    with pytest.raises(ValidationError) as excinfo:
        arrival_register(
            actor=city["grid_a"], data=arrival_data(city.household_b), source=ArrivalSource.GRID_WORKER, today=TODAY
        )
    assert "household" in excinfo.value.message_dict
    assert not Arrival.objects.exists() and not Person.objects.filter(name="旦增").exists()


def test_roles_without_the_permission_cannot_register(city: Any) -> None:
    with pytest.raises(PermissionDenied):
        arrival_register(
            actor=city["auditor"], data=arrival_data(city.household_a), source=ArrivalSource.GRID_WORKER, today=TODAY
        )


def test_unknown_place_is_kept_and_flagged_for_review(city: Any) -> None:
    data = arrival_data(
        city.household_a, travel=[{"place": "火星基地", "date_from": D(2022, 7, 15), "date_to": D(2022, 7, 17)}]
    )
    result = arrival_register(actor=city["grid_a"], data=data, source=ArrivalSource.GRID_WORKER, today=TODAY)
    assert result.arrival.needs_review
    assert result.arrival.travel.get().place_text == "火星基地"


def test_unresolved_destination_waits_in_the_township_queue(city: Any) -> None:
    from firstline.regions.models import Division

    data = arrival_data(None, division=Division.objects.get(code="632701001"))
    result = arrival_register(actor=city["township"], data=data, source=ArrivalSource.GRID_WORKER, today=TODAY)
    assert result.arrival.path == "632701001" and result.arrival.household is None
    assert Arrival.objects.visible_to(city["township"]).unresolved().count() == 1
    assert not Arrival.objects.visible_to(city["grid_a"]).exists()
    arrival_verify(
        actor=city["township"],
        arrival=result.arrival,
        expected_version=result.arrival.version,
        household=city.household_a,
    )
    assert Arrival.objects.visible_to(city["grid_a"]).count() == 1


def test_raising_an_area_replaces_the_measure_and_lowering_never_shortens_a_started_one(city: Any) -> None:
    from firstline.screening.reevaluation import reevaluate

    area = make_area("陕西省西安市雁塔区", "610113", "medium", D(2022, 7, 10))
    result = arrival_register(
        actor=city["grid_a"], data=arrival_data(city.household_a), source=ArrivalSource.GRID_WORKER, today=TODAY
    )
    assert result.measure is not None and result.measure.measure_type == "home_quarantine"
    # Raised to high from 12 July: the stay 14–17 July now falls in a high-risk period.
    period = area.periods.get()
    period.valid_until = D(2022, 7, 12)
    period.save()
    RiskAreaPeriod.objects.create(area=area, level="high", valid_from=D(2022, 7, 12), division_code="610113")
    report = reevaluate([result.arrival.pk], actor=None, today=TODAY)
    assert report["summary"][0]["change"] == "replaced"
    assert report["summary"][0]["measure"] == "centralised_quarantine"
    current = Measure.objects.get(status=MeasureStatus.ACTIVE)
    assert current.measure_type == "centralised_quarantine"
    assert Measure.objects.get(status=MeasureStatus.SUPERSEDED).superseded_by_id == current.pk
    # Lifted on 13 July after all (a corrected notice): the measure started on 18 July and stays.
    RiskAreaPeriod.objects.filter(area=area, level="high").update(valid_until=D(2022, 7, 13))
    report = reevaluate([result.arrival.pk], actor=None, today=TODAY)
    assert [(row["change"], row["count"]) for row in report["summary"]] == [("kept", 1)]
    assert Measure.objects.get(status=MeasureStatus.ACTIVE).pk == current.pk


def test_self_registration_waits_for_verification(city: Any) -> None:
    from firstline.screening.models import RegistrationPoint

    point = RegistrationPoint.objects.create(
        kind="community", name="甲社区", division=city.community_a, path=city.community_a.code, token="abc"
    )
    data = arrival_data(None)
    result = arrival_register(actor=None, data=data, source=ArrivalSource.SELF_REGISTRATION, point=point, today=TODAY)
    assert result.arrival.status == ArrivalStatus.PENDING and result.arrival.path == city.community_a.code
    with pytest.raises(PermissionDenied):
        arrival_register(actor=None, data=data, source=ArrivalSource.GRID_WORKER, today=TODAY)


def test_the_public_page_never_changes_a_verified_arrival_or_a_registered_person(city: Any) -> None:
    from firstline.screening.models import RegistrationPoint

    point = RegistrationPoint.objects.create(
        kind="community", name="甲社区", division=city.community_a, path=city.community_a.code, token="abc"
    )
    staff = arrival_register(
        actor=city["grid_a"], data=arrival_data(city.household_a), source=ArrivalSource.GRID_WORKER, today=TODAY
    )
    forged = arrival_data(None, origin="北京市", travel=[], transport_no="FAKE1")
    forged["person"] = {**forged["person"], "phone": "13912345678"}
    result = arrival_register(actor=None, data=forged, source=ArrivalSource.SELF_REGISTRATION, point=point, today=TODAY)
    assert result.arrival.pk == staff.arrival.pk and not result.arrival_created
    stored = Arrival.objects.get(pk=staff.arrival.pk)
    assert (stored.origin, stored.transport_no, stored.version) == ("西安市雁塔区", "", 1)
    assert Person.objects.get(pk=staff.person.pk).phone == ""


def test_an_unresolved_arrival_is_the_queue_officers_task_until_the_grid_takes_over(city: Any) -> None:
    from firstline.regions.models import Division

    make_area("陕西省西安市雁塔区", "610113", "high", D(2022, 7, 10))
    data = arrival_data(None, division=Division.objects.get(code="632701001"))
    result = arrival_register(actor=city["township"], data=data, source=ArrivalSource.GRID_WORKER, today=TODAY)
    tasks = Task.objects.filter(object_id=str(result.arrival.pk))
    assert [(t.kind, t.assignee_user_id, t.assignee_grid_id) for t in tasks] == [
        ("arrival_resolve", city["township"].pk, None)
    ]
    arrival_verify(
        actor=city["township"],
        arrival=result.arrival,
        expected_version=result.arrival.version,
        household=city.household_a,
    )
    by_kind = {t.kind: t for t in Task.objects.filter(object_id=str(result.arrival.pk))}
    assert by_kind["arrival_resolve"].status == "done"
    assert by_kind["arrival_visit"].assignee_grid_id == city.grid_a.pk
    assert by_kind["arrival_follow_up"].assignee_grid_id == city.grid_a.pk
