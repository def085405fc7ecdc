"""Arrival pages: the phone form and its result, ID lookup, checkpoint mode, lists, detail, queue, re-evaluations."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from conftest import valid_id
from firstline.core.models import AuditEvent
from firstline.dispatch.models import Task
from firstline.regions.models import Division
from firstline.riskareas.models import RiskArea, RiskAreaPeriod
from firstline.screening.models import (
    Arrival,
    ArrivalSource,
    ArrivalStatus,
    MatchStatus,
    Reevaluation,
    RegistrationPoint,
    TravelMatch,
)
from firstline.screening.services import arrival_register

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
NEW_ID = valid_id("63270119920202001")  # born 1992-02-02, male


def today() -> datetime.date:
    return timezone.localdate()


def make_area(place: str, code: str, level: str, since: datetime.date, scope: str = "") -> RiskArea:
    area = RiskArea.objects.create(
        place=place, division_code=code, scope_text=scope, level=level, effective_from=since, first_listed_on=since
    )
    RiskAreaPeriod.objects.create(area=area, level=level, valid_from=since, division_code=code, scope_text=scope)
    return area


def yanta_high() -> RiskArea:
    return make_area("陕西省西安市雁塔区", "610113", "high", today() - 20 * DAY)


def form_data(city: Any, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id_number": NEW_ID,
        "id_type": "resident",
        "name": "旦增",
        "phone": "13812345678",
        "arrival_date": (today() - DAY).isoformat(),
        "origin": "西安市雁塔区",
        "travel-TOTAL_FORMS": "1",
        "travel-INITIAL_FORMS": "0",
        "travel-MIN_NUM_FORMS": "0",
        "travel-MAX_NUM_FORMS": "20",
        "travel-0-place": "陕西省西安市雁塔区",
        "travel-0-date_from": (today() - 6 * DAY).isoformat(),
        "travel-0-date_to": (today() - 3 * DAY).isoformat(),
        "transport": "train",
        "transport_no": "z8801",
        "health_code": "green",
        "vaccine_doses": "3",
        "last_negative_test_at": "",
        "household": city.household_a.code,
        "destination_address": "",
        "note": "",
    }
    data.update(overrides)
    return data


def register(city: Any, username: str = "grid_a", **data: Any) -> Arrival:
    """An arrival registered through the service (the set-up of the page tests)."""
    payload: dict[str, Any] = {
        "person": {"name": "旦增", "id_type": "resident", "id_number": NEW_ID, "phone": ""},
        "origin": "西安市雁塔区",
        "travel": [{"place": "陕西省西安市雁塔区", "date_from": today() - 6 * DAY, "date_to": today() - 3 * DAY}],
        "arrival_date": today() - DAY,
        "household": city.household_a,
    }
    payload.update(data)
    return arrival_register(actor=city[username], data=payload, source=ArrivalSource.GRID_WORKER).arrival


# -- the phone form ------------------------------------------------------------------------------------------------


def test_grid_worker_registers_an_arrival_and_sees_the_measure_and_why(client, login, city):
    yanta_high()
    login("grid_a")
    response = client.post(reverse("screening:arrival_create"), form_data(city))
    arrival = Arrival.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("screening:arrival_result", args=[arrival.pk])
    assert (arrival.household, arrival.source, arrival.transport_no) == (city.household_a, "grid_worker", "Z8801")
    assert arrival.measure is not None and arrival.measure.measure_type == "centralised_quarantine"

    page = client.get(response["Location"])
    body = page.content.decode()
    assert page.status_code == 200
    assert 'data-measure="centralised_quarantine"' in body
    assert page.context["explanation"], "the explanation lines are shown"
    assert any("陕西省西安市雁塔区" in line for line in page.context["explanation"])
    assert page.context["calendar"][0]["date"] <= arrival.measure.start
    assert {t.kind for t in page.context["tasks"]} == {"arrival_visit", "arrival_follow_up"}
    assert 'data-testid="next"' in body and reverse("screening:arrival_create") in body


def test_arrival_without_risk_travel_shows_no_measure(client, login, city):
    login("grid_a")
    response = client.post(reverse("screening:arrival_create"), form_data(city), follow=True)
    assert 'data-measure="none"' in response.content.decode()
    assert Arrival.objects.get().measure is None


def test_household_parameter_preselects_the_destination(client, login, city):
    login("grid_a")
    response = client.get(reverse("screening:arrival_create"), {"household": city.household_a2.code})
    assert f'<option value="{city.household_a2.code}" selected>' in response.content.decode()


def test_the_household_select_lists_only_the_grid_workers_households(client, login, city):
    login("grid_a")
    body = client.get(reverse("screening:arrival_create")).content.decode()
    assert city.household_a.code in body and city.household_a2.code in body
    assert city.household_b.code not in body


def test_a_household_outside_the_grid_is_refused_on_the_page(client, login, city):
    login("grid_a")
    response = client.post(reverse("screening:arrival_create"), form_data(city, household=city.household_b.code))
    assert response.status_code == 200 and 'data-error-for="household"' in response.content.decode()
    assert not Arrival.objects.exists()


def test_not_in_my_list_sends_the_arrival_to_the_grid_workers_village_queue(client, login, city):
    login("grid_a")
    client.post(reverse("screening:arrival_create"), form_data(city, household="", destination_address="结古镇某路"))
    arrival = Arrival.objects.get()
    assert arrival.household is None and arrival.path == city.community_a.code


def test_validation_errors_are_shown_next_to_their_fields_and_travel_errors_on_their_row(client, login, city):
    login("grid_a")
    data = form_data(
        city,
        phone="123",
        arrival_date=(today() + 3 * DAY).isoformat(),
        **{"travel-0-date_from": (today() - 3 * DAY).isoformat(), "travel-0-date_to": (today() - 6 * DAY).isoformat()},
    )
    response = client.post(reverse("screening:arrival_create"), data)
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-error-for="phone"' in body and 'data-error-for="arrival_date"' in body
    assert 'data-error-for="travel-0-date_from"' in body
    assert response.context["travel"].forms[0].errors["date_from"]
    assert not Arrival.objects.exists()


def test_form_and_lookup_are_forbidden_without_the_permission_to_register(client, login, city):
    login("auditor")
    assert client.get(reverse("screening:arrival_create")).status_code == 403
    assert client.get(reverse("screening:person_lookup"), {"id_number": NEW_ID}).status_code == 403
    assert client.get(reverse("screening:household_search")).status_code == 403


# -- the ID lookup while typing --------------------------------------------------------------------------------------


def test_id_lookup_shows_the_birth_date_and_sex_the_id_encodes(client, login, city):
    login("grid_a")
    response = client.get(reverse("screening:person_lookup"), {"id_number": NEW_ID, "id_type": "resident"})
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-lookup="new"' in body and "1992-02-02" in body
    assert response.context["lookup"].sex == "M"


def test_id_lookup_names_a_registered_person_in_scope(client, login, city):
    login("grid_a")
    body = client.get(reverse("screening:person_lookup"), {"id_number": city.person_a.id_number}).content.decode()
    assert 'data-lookup="visible"' in body
    assert 'data-fill-name="扎西多杰"' in body and city.household_a.address in body


def test_id_lookup_reveals_nothing_but_known_person_outside_the_scope(client, login, city):
    login("grid_b")
    body = client.get(reverse("screening:person_lookup"), {"id_number": city.person_a.id_number}).content.decode()
    assert 'data-lookup="known"' in body
    assert "扎西多杰" not in body and city.household_a.address not in body and "data-fill-name" not in body


def test_id_lookup_is_quiet_while_typing_and_flags_a_wrong_check_digit(client, login, city):
    login("grid_a")
    url = reverse("screening:person_lookup")
    assert client.get(url, {"id_number": "6327011992"}).content.decode().strip() == ""
    wrong = NEW_ID[:-1] + ("0" if NEW_ID[-1] != "0" else "1")
    assert 'data-lookup="invalid"' in client.get(url, {"id_number": wrong}).content.decode()


def test_household_search_returns_only_visible_households(client, login, city):
    login("township")
    results = client.get(reverse("screening:household_search"), {"under": city.community_b.code}).json()["results"]
    assert [r["value"] for r in results] == [city.household_b.code]
    login("grid_a")
    results = client.get(reverse("screening:household_search"), {"q": city.household_b.code}).json()["results"]
    assert results == []


# -- checkpoint mode ---------------------------------------------------------------------------------------------


@pytest.fixture
def checkpoint_point(city: Any) -> RegistrationPoint:
    township = Division.objects.get(code="632701001")
    return RegistrationPoint.objects.create(
        kind="checkpoint", name="214国道卡点", division=township, path=township.code, token="cp-token-1"
    )


def test_checkpoint_entry_goes_to_the_destination_townships_queue(client, login, city, checkpoint_point):
    login("volunteer")
    url = reverse("screening:checkpoint")
    assert client.get(url).context["chooser"] is not None
    client.post(url, {"step": "choose", "point": checkpoint_point.pk})
    page = client.get(url)
    assert page.context["point"] == checkpoint_point
    response = client.post(
        url,
        {
            "step": "enter",
            "id_number": NEW_ID,
            "name": "旦增",
            "phone": "",
            "transport": "car",
            "transport_no": "青a12345",
            "origin": "西宁市",
            "division": "632701101",
            "destination_address": "隆宝镇某村",
            "health_code": "green",
        },
    )
    assert response.status_code == 302 and response["Location"] == url
    arrival = Arrival.objects.get()
    assert (arrival.source, arrival.path, arrival.household, arrival.registration_point) == (
        ArrivalSource.CHECKPOINT,
        "632701101",
        None,
        checkpoint_point,
    )
    assert arrival.transport_no == "青A12345" and arrival.arrival_date == today()
    assert client.get(url).context["recent"] == [arrival]
    # The destination township works it from its queue; the checkpoint's township does not see it.
    login("other_township")
    assert [a.pk for a in client.get(reverse("screening:queue")).context["page_obj"]] == [arrival.pk]
    login("township")
    assert list(client.get(reverse("screening:queue")).context["page_obj"]) == []


def test_police_can_work_at_a_checkpoint_of_the_division_they_serve(client, login, city, checkpoint_point):
    login("police")
    chooser = client.get(reverse("screening:checkpoint")).context["chooser"]
    assert list(chooser.fields["point"].queryset) == [checkpoint_point]


def test_a_checkpoint_outside_the_users_area_cannot_be_chosen(client, login, city, checkpoint_point):
    login("other_township")
    response = client.post(reverse("screening:checkpoint"), {"step": "choose", "point": checkpoint_point.pk})
    assert response.status_code == 200 and response.context["chooser"].errors
    assert "screening.checkpoint" not in client.session


# -- lists ------------------------------------------------------------------------------------------------------


def test_arrival_list_filters(client, login, city):
    yanta_high()
    risky = register(city)
    calm = register(
        city,
        person={"name": "卓玛", "id_type": "resident", "id_number": valid_id("63270119950505002"), "phone": ""},
        travel=[],
        origin="",
        household=None,
    )
    login("township")
    url = reverse("screening:arrival_list")

    def ids(**params: Any) -> list[int]:
        return [a.pk for a in client.get(url, params).context["page_obj"]]

    assert set(ids()) == {risky.pk, calm.pk}
    assert ids(measure="centralised_quarantine") == [risky.pk]
    assert ids(measure="none") == [calm.pk]
    assert ids(unresolved="1") == [calm.pk]
    assert ids(q="卓玛") == [calm.pk]
    assert ids(source="checkpoint") == []
    assert ids(date_from=today().isoformat()) == []
    assert set(ids(division=city.community_a.code)) == {risky.pk, calm.pk}
    login("grid_b")
    assert ids() == []


def test_arrival_list_query_count_is_constant(client, login, city, django_assert_max_num_queries):
    for n in range(30):
        register(
            city,
            person={"name": f"卓玛{n}", "id_type": "resident", "id_number": valid_id(f"63270119910101{n + 100:03d}")},
            travel=[],
            origin="",
        )
    login("grid_a")
    with django_assert_max_num_queries(12):
        response = client.get(reverse("screening:arrival_list"))
    assert response.context["page_obj"].paginator.count == 30


def test_arrival_export_is_audited_and_masked_for_masked_roles(client, login, city):
    register(city, person={"name": "旦增", "id_type": "resident", "id_number": NEW_ID, "phone": "13812345678"})
    login("township")
    response = client.get(reverse("screening:arrival_list"), {"export": "csv"})
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "138****5678" in body and "13812345678" not in body and NEW_ID not in body
    assert AuditEvent.objects.filter(action="export", actor=city["township"]).exists()
    assert client.get(reverse("screening:arrival_list"), {"export": "pdf"}).status_code == 400
    login("grid_a")
    full = b"".join(client.get(reverse("screening:arrival_list"), {"export": "csv"}).streaming_content)
    assert "13812345678" in full.decode("utf-8-sig")
    xlsx = client.get(reverse("screening:arrival_list"), {"export": "xlsx"})
    assert xlsx.status_code == 200 and xlsx["Content-Disposition"].endswith('.xlsx"')


def test_export_is_forbidden_without_the_export_permission(client, login, city):
    login("volunteer")
    assert client.get(reverse("screening:arrival_list")).status_code == 200
    assert client.get(reverse("screening:arrival_list"), {"export": "csv"}).status_code == 403


# -- the arrival page ---------------------------------------------------------------------------------------------


def test_arrival_page_shows_person_travel_measure_tasks_and_history(client, login, city):
    yanta_high()
    arrival = register(city)
    login("grid_a")
    response = client.get(reverse("screening:arrival_detail", args=[arrival.pk]))
    body = response.content.decode()
    assert reverse("people:detail", args=[arrival.person_id]) in body
    assert 'data-measure="centralised_quarantine"' in body and response.context["explanation"]
    assert [t.place_text for t in response.context["travel"]] == ["陕西省西安市雁塔区"]
    assert len(response.context["tasks"]) == 2
    history = client.get(reverse("screening:arrival_detail", args=[arrival.pk]), {"tab": "history"})
    assert [event.action for event, _changes in history.context["events"]] == ["create"]


def test_grid_b_cannot_open_or_act_on_grid_a_arrivals(client, login, city):
    make_area("陕西省西安市雁塔区", "610113", "high", today() - 20 * DAY)
    arrival = register(city, travel=[{"place": "西安市", "date_from": today() - 5 * DAY, "date_to": today() - 3 * DAY}])
    match = TravelMatch.objects.get(arrival=arrival)
    login("grid_b")
    assert client.get(reverse("screening:arrival_detail", args=[arrival.pk])).status_code == 404
    assert client.get(reverse("screening:arrival_result", args=[arrival.pk])).status_code == 404
    verify = client.post(reverse("screening:arrival_verify", args=[arrival.pk]), {"version": arrival.version})
    assert verify.status_code == 404
    decide = client.post(reverse("screening:match_decide", args=[match.pk]), {"decision": "confirm"})
    assert decide.status_code == 404
    assert TravelMatch.objects.get(pk=match.pk).status == MatchStatus.PENDING


def test_confirm_and_clear_buttons_decide_possible_matches(client, login, city):
    make_area("陕西省西安市雁塔区", "610113", "high", today() - 20 * DAY)
    city_only = [{"place": "西安市", "date_from": today() - 5 * DAY, "date_to": today() - 3 * DAY}]
    first = register(city, travel=city_only)
    second = register(
        city,
        person={"name": "卓玛", "id_type": "resident", "id_number": valid_id("63270119950505002"), "phone": ""},
        travel=city_only,
    )
    login("grid_a")
    page = client.get(reverse("screening:arrival_detail", args=[first.pk])).content.decode()
    match = TravelMatch.objects.get(arrival=first)
    assert reverse("screening:match_decide", args=[match.pk]) in page
    client.post(reverse("screening:match_decide", args=[match.pk]), {"decision": "confirm"})
    first.refresh_from_db()
    assert TravelMatch.objects.get(arrival=first).status == MatchStatus.CONFIRMED
    assert first.measure is not None and first.measure.measure_type == "centralised_quarantine"
    other = TravelMatch.objects.get(arrival=second)
    response = client.post(reverse("screening:match_decide", args=[other.pk]), {"decision": "clear"})
    assert response["Location"] == reverse("screening:arrival_detail", args=[second.pk])
    second.refresh_from_db()
    assert TravelMatch.objects.get(arrival=second).status == MatchStatus.CLEARED and second.measure is None


def test_deciding_matches_needs_the_verify_permission(client, login, city):
    make_area("陕西省西安市雁塔区", "610113", "high", today() - 20 * DAY)
    arrival = register(city, travel=[{"place": "西安市", "date_from": today() - 5 * DAY, "date_to": today() - 3 * DAY}])
    match = TravelMatch.objects.get(arrival=arrival)
    login("volunteer")
    assert client.post(reverse("screening:match_decide", args=[match.pk]), {"decision": "confirm"}).status_code == 403


# -- verification and the queue -------------------------------------------------------------------------------------


@pytest.fixture
def community_point(city: Any) -> RegistrationPoint:
    return RegistrationPoint.objects.create(
        kind="community", name="甲社区", division=city.community_a, path=city.community_a.code, token="pt-a"
    )


def self_registration(city: Any, point: RegistrationPoint, id_body: str, name: str) -> Arrival:
    data = {
        "person": {"name": name, "id_type": "resident", "id_number": valid_id(id_body), "phone": ""},
        "arrival_date": today() - DAY,
        "destination_address": "甲社区3号",
    }
    return arrival_register(actor=None, data=data, source=ArrivalSource.SELF_REGISTRATION, point=point).arrival


def test_self_registration_is_verified_with_a_household_or_rejected(client, login, city, community_point):
    kept = self_registration(city, community_point, "63270119800101011", "桑周")
    dropped = self_registration(city, community_point, "63270119800101021", "假名")
    login("village_a")
    page = client.get(reverse("screening:arrival_detail", args=[kept.pk]))
    assert 'data-testid="verify"' in page.content.decode()
    client.post(
        reverse("screening:arrival_verify", args=[kept.pk]),
        {"version": kept.version, "household": city.household_a2.code, "action": "verify"},
    )
    client.post(
        reverse("screening:arrival_verify", args=[dropped.pk]), {"version": dropped.version, "action": "reject"}
    )
    kept.refresh_from_db()
    dropped.refresh_from_db()
    assert (kept.status, kept.household, kept.verified_by) == (
        ArrivalStatus.VERIFIED,
        city.household_a2,
        city["village_a"],
    )
    assert dropped.status == ArrivalStatus.REJECTED


def test_a_stale_verification_is_refused(client, login, city, community_point):
    arrival = self_registration(city, community_point, "63270119800101011", "桑周")
    login("village_a")
    response = client.post(
        reverse("screening:arrival_verify", args=[arrival.pk]),
        {"version": arrival.version + 5, "action": "verify"},
        follow=True,
    )
    assert response.status_code == 200
    arrival.refresh_from_db()
    assert arrival.status == ArrivalStatus.PENDING


def test_township_resolves_a_queued_arrival_to_a_household(client, login, city):
    arrival = register(city, "township", household=None, division=Division.objects.get(code="632701001"), travel=[])
    login("township")
    queue_url = reverse("screening:queue")
    assert [a.pk for a in client.get(queue_url).context["page_obj"]] == [arrival.pk]
    response = client.post(
        reverse("screening:arrival_verify", args=[arrival.pk]),
        {"version": arrival.version, "household": city.household_b.code, "action": "verify", "next": queue_url},
    )
    assert response["Location"] == queue_url
    arrival.refresh_from_db()
    assert (arrival.household, arrival.path) == (city.household_b, city.household_b.path)
    assert list(client.get(queue_url).context["page_obj"]) == []
    login("grid_b")
    assert client.get(reverse("screening:arrival_detail", args=[arrival.pk])).status_code == 200


def test_queue_refuses_a_household_outside_the_users_area(client, login, city):
    arrival = register(city, "township", household=None, division=Division.objects.get(code="632701001"), travel=[])
    login("township")
    client.post(
        reverse("screening:arrival_verify", args=[arrival.pk]),
        {"version": arrival.version, "household": city.household_c.code, "action": "verify"},
    )
    arrival.refresh_from_db()
    assert arrival.household is None and arrival.version == 1


def test_queue_never_redirects_off_site(client, login, city):
    arrival = register(city, "township", household=None, division=Division.objects.get(code="632701001"), travel=[])
    login("township")
    response = client.post(
        reverse("screening:arrival_verify", args=[arrival.pk]),
        {"version": arrival.version, "household": city.household_a.code, "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("screening:arrival_detail", args=[arrival.pk])


def test_queue_and_verification_need_the_verify_permission(client, login, city):
    arrival = register(city)
    login("volunteer")
    assert client.get(reverse("screening:queue")).status_code == 403
    response = client.post(reverse("screening:arrival_verify", args=[arrival.pk]), {"version": 1})
    assert response.status_code == 403


def test_queue_export_and_query_count(client, login, city, django_assert_max_num_queries):
    township = Division.objects.get(code="632701001")
    for n in range(20):
        register(
            city,
            "township",
            person={"name": f"达娃{n}", "id_type": "resident", "id_number": valid_id(f"63270119880101{n + 100:03d}")},
            household=None,
            division=township,
            travel=[],
        )
    login("township")
    with django_assert_max_num_queries(12):
        response = client.get(reverse("screening:queue"))
    assert response.context["page_obj"].paginator.count == 20
    export = client.get(reverse("screening:queue"), {"export": "csv"})
    assert b"".join(export.streaming_content).decode("utf-8-sig").count("达娃") == 20


# -- the person page panel ------------------------------------------------------------------------------------------


def test_person_page_lists_the_persons_arrivals(client, login, city):
    arrival = register(
        city,
        person={"name": "扎西多杰", "id_type": "resident", "id_number": city.person_a.id_number, "phone": ""},
        travel=[],
    )
    login("grid_a")
    body = client.get(reverse("people:detail", args=[city.person_a.pk])).content.decode()
    assert 'data-panel="arrivals"' in body
    assert reverse("screening:arrival_detail", args=[arrival.pk]) in body


# -- re-evaluation runs ---------------------------------------------------------------------------------------------


def test_reevaluation_page_tells_the_change_list_as_sentences(client, login, city):
    arrival = register(city)
    other = register(
        city,
        "township",
        person={"name": "卓玛", "id_type": "resident", "id_number": valid_id("63270119950505002"), "phone": ""},
        household=city.household_b,
    )
    run = Reevaluation.objects.create(
        reason="raised: 陕西省西安市雁塔区 (high)",
        kind="areas",
        status="done",
        rows_total=2,
        rows_done=2,
        summary=[
            {"change": "created", "measure": "home_quarantine", "count": 2, "by_township": {"632701001": 2}},
            {"change": "kept", "measure": "home_quarantine", "count": 1, "by_township": {"632701001": 1}},
        ],
        changed=[[arrival.pk, "created", "home_quarantine"], [other.pk, "created", "home_quarantine"]],
    )
    login("grid_a")
    response = client.get(reverse("screening:reevaluation_detail", args=[run.pk]))
    sentences = response.context["sentences"]
    assert [(s.change, s.count, s.in_scope) for s in sentences] == [("created", 2, 1), ("kept", 1, 0)]
    assert "raised: 陕西省西安市雁塔区 (high)" in sentences[0].text and "2" in sentences[0].text
    assert [a.pk for a, _change in response.context["rows"]] == [arrival.pk]
    body = response.content.decode()
    assert reverse("screening:arrival_detail", args=[arrival.pk]) in body
    assert reverse("screening:arrival_detail", args=[other.pk]) not in body
    listing = client.get(reverse("screening:reevaluation_list"))
    assert [r.pk for r in listing.context["page_obj"]] == [run.pk]


def test_a_running_reevaluation_is_polled_until_it_is_done(client, login, city):
    run = Reevaluation.objects.create(
        reason="edition: 9th", kind="edition", status="running", rows_total=10, rows_done=4
    )
    login("township")
    url = reverse("screening:reevaluation_detail", args=[run.pk])
    poll = client.get(url, {"progress": "1"}, HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 2s"' in poll.content.decode() and "HX-Refresh" not in poll
    Reevaluation.objects.filter(pk=run.pk).update(status="done", rows_done=10)
    done = client.get(url, {"progress": "1"}, HTTP_HX_REQUEST="true")
    assert done["HX-Refresh"] == "true" and "hx-trigger" not in done.content.decode()


def test_reevaluation_pages_need_a_screening_or_command_role(client, login, city):
    run = Reevaluation.objects.create(reason="edition: 9th", kind="edition")
    login("volunteer")
    assert client.get(reverse("screening:reevaluation_list")).status_code == 403
    assert client.get(reverse("screening:reevaluation_detail", args=[run.pk])).status_code == 403
    login("city")
    assert client.get(reverse("screening:reevaluation_detail", args=[run.pk])).status_code == 200


def test_tasks_of_a_registration_are_assigned_to_the_grid(city):
    yanta_high()
    arrival = register(city)
    assert set(Task.objects.filter(object_id=str(arrival.pk)).values_list("assignee_grid", flat=True)) == {
        city.grid_a.pk
    }
