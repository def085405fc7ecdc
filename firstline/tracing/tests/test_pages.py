"""Pages of cases, exposures and contacts: lists (filters, scope, query counts, exports), the case page with its
window, exposures to decide and contacts with their measures, the create/edit/decide flows and what they derived,
the contact page's actions, and the person page's tracing panel."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.urls import reverse

from conftest import valid_id
from firstline.core.models import AuditEvent
from firstline.dispatch.models import Task
from firstline.people.models import Person
from firstline.tracing import panels, services
from firstline.tracing.models import (
    Case,
    Cluster,
    ClusterMember,
    Contact,
    ContactKind,
    ContactStatus,
    Exposure,
    ExposureOrigin,
    ExposureStatus,
)
from firstline.tracing.tests.factories import at, confirmed_case, days_ago, member, venue, visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def en(client: Any) -> Any:
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def district_cdc(city: Any) -> Any:
    """An epidemiologist of 隆宝镇 only: may trace, but sees nothing of 结古街道 (grids A and B)."""
    from firstline.accounts.services import membership_grant, user_create
    from firstline.regions.models import Division

    account = user_create(actor=None, username="district_cdc", password="x-Very-long-pass-9", display_name="d")
    membership_grant(actor=None, user=account, role="cdc", division=Division.objects.get(code="632701101"))
    city.users["district_cdc"] = account
    return account


def _html(response: Any) -> str:
    return response.content.decode()


def _wife(city: Any) -> Any:
    return member(city.household_a, "卓玛", "63270119880808004", phone="13512345678")


def _case_with_wife(city: Any) -> tuple[Case, Any]:
    """A confirmed case (person A) whose wife is a close contact by household."""
    wife = _wife(city)
    case = confirmed_case(city["cdc"], city.person_a, onset=days_ago(2)).case
    return case, wife


def _expose(city: Any, source: Any, exposed: Any, *, day: int = 1, hour: int = 12, actor: str = "cdc") -> Exposure:
    start = at(days_ago(day), hour)
    return services.exposure_create(
        actor=city[actor],
        source=source,
        exposed=exposed,
        values={"setting": "shared_meal", "start": start, "end": start + datetime.timedelta(hours=1)},
    ).exposure


# -- case list ------------------------------------------------------------------------------------------------------


def test_case_list_shows_the_window_and_active_close_contacts(en, login, city):
    case, _wife_person = _case_with_wife(city)
    login("cdc")
    response = en.get(reverse("tracing:case_list"))
    assert response.status_code == 200
    html = _html(response)
    assert "扎西多杰" in html and f'data-case="{case.pk}"' in html
    assert f"{case.infectious_from:%m-%d} – {case.infectious_until:%m-%d}" in html
    row = html.split(f'data-case="{case.pk}"')[1]
    assert row.split('data-testid="close-count">')[1].split("</a>")[0].endswith(">1")


def test_case_list_filters(en, login, city):
    confirmed_case(city["cdc"], city.person_a, onset=days_ago(2))
    services.case_create(
        actor=city["cdc"], person=city.person_c, values={"classification": "suspected", "report_date": days_ago(5)}
    )
    login("cdc")
    url = reverse("tracing:case_list")

    def names(**params: Any) -> set[str]:
        html = _html(en.get(url, params))
        return {name for name in ("扎西多杰", "尼玛") if f">{name}</a>" in html}

    assert names() == {"扎西多杰", "尼玛"}
    assert names(classification="suspected") == {"尼玛"}
    assert names(division=city.grid_c.path[:9]) == {"尼玛"}
    assert names(date_from=days_ago(1).isoformat()) == {"扎西多杰"}
    assert names(date_to=days_ago(3).isoformat()) == {"尼玛"}
    assert names(q="扎西") == {"扎西多杰"}
    assert names(found_by="clinic") == set()
    assert names(classification="nonsense") == {"扎西多杰", "尼玛"}  # a bad link never fails the page


def test_case_list_is_scoped(en, login, city):
    confirmed_case(city["cdc"], city.person_a, onset=days_ago(2))
    login("grid_b")
    assert "扎西多杰" not in _html(en.get(reverse("tracing:case_list")))
    login("grid_a")
    assert "扎西多杰" in _html(en.get(reverse("tracing:case_list")))


def test_case_list_needs_a_role(client, login, city):
    login("outsider")
    assert client.get(reverse("tracing:case_list")).status_code == 403


def test_case_list_query_count_is_constant(client, login, city, django_assert_max_num_queries):
    for index, person in enumerate((city.person_a, city.person_b, city.person_c)):
        confirmed_case(city["cdc"], person, onset=days_ago(2 + index))
    login("cdc")
    with django_assert_max_num_queries(10):
        response = client.get(reverse("tracing:case_list"))
    assert response.status_code == 200
    for number in range(5):
        person = member(city.household_a2, f"新{number}", f"632701199001011{number}1")
        confirmed_case(city["cdc"], person, onset=days_ago(2))
    with django_assert_max_num_queries(10):
        client.get(reverse("tracing:case_list"))


def test_case_export_is_audited_and_masked_for_masked_roles(client, login, city):
    _case_with_wife(city)
    login("city")  # city command: sees the city, IDs masked
    response = client.get(reverse("tracing:case_list"), {"export": "csv"})
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert response.status_code == 200
    assert "扎西多杰" in body and city.person_a.id_number not in body
    assert body.splitlines()[1].split(",")[-2] == "1"  # active close contacts
    assert AuditEvent.objects.filter(action="export", actor=city["city"]).exists()
    login("cdc")
    full = b"".join(client.get(reverse("tracing:case_list"), {"export": "csv"}).streaming_content).decode()
    assert city.person_a.id_number in full
    xlsx = client.get(reverse("tracing:case_list"), {"export": "xlsx"})
    assert xlsx.status_code == 200 and xlsx["Content-Disposition"].endswith('.xlsx"')
    assert client.get(reverse("tracing:case_list"), {"export": "pdf"}).status_code == 400


def test_case_export_needs_the_export_permission(client, login, city):
    login("volunteer")
    assert client.get(reverse("tracing:case_list")).status_code == 200
    assert client.get(reverse("tracing:case_list"), {"export": "csv"}).status_code == 403


# -- reporting a case -----------------------------------------------------------------------------------------------


def _case_form(**overrides: Any) -> dict[str, Any]:
    data = {
        "classification": "confirmed",
        "onset_date": days_ago(2).isoformat(),
        "sampling_date": days_ago(1).isoformat(),
        "last_negative_date": "",
        "report_date": days_ago(0).isoformat(),
        "isolated_on": "",
        "found_by": "clinic",
        "isolation_place": "州人民医院",
        "notes": "",
    }
    data.update(overrides)
    return data


def test_only_the_cdc_reports_cases(client, login, city):
    login("grid_a")
    assert client.get(reverse("tracing:case_create")).status_code == 403
    assert client.post(reverse("tracing:case_create"), _case_form(person=city.person_a.pk)).status_code == 403
    login("outsider")
    assert client.get(reverse("tracing:case_create")).status_code == 403


def test_reporting_a_case_shows_the_close_contacts_it_derived(en, login, city):
    wife = _wife(city)
    login("cdc")
    page = en.get(reverse("tracing:case_create"), {"person": city.person_a.pk})
    assert 'data-testid="chosen-person"' in _html(page)
    response = en.post(reverse("tracing:case_create"), _case_form(person=city.person_a.pk))
    case = Case.objects.get(person=city.person_a)
    assert response.status_code == 302 and response["Location"] == reverse("tracing:case_detail", args=[case.pk])
    html = _html(en.get(response["Location"]))
    report = html.split('data-testid="derivation"')[1]
    assert "1 contact created" in report and "卓玛" in report
    assert "1 new exposure found" in report
    # Shown once: a reload shows the page without the report.
    assert 'data-testid="derivation"' not in _html(en.get(response["Location"]))
    contact = Contact.objects.get(person=wife)
    assert contact.kind == ContactKind.CLOSE


def test_reporting_a_case_for_a_new_person_registers_them(en, login, city):
    login("cdc")
    number = valid_id("63270119950101007")
    data = _case_form(id_number=number, id_type="resident", name="新病例", phone="13611112222", division="632701101")
    response = en.post(reverse("tracing:case_create"), data)
    assert response.status_code == 302
    person = Person.objects.get(id_number=number)
    assert person.path == "632701101" and Case.objects.get(person=person).classification == "confirmed"


def test_a_case_form_error_is_shown_next_to_its_field(en, login, city):
    login("cdc")
    data = _case_form(person=city.person_a.pk, onset_date=days_ago(1).isoformat(), report_date=days_ago(2).isoformat())
    response = en.post(reverse("tracing:case_create"), data)
    assert response.status_code == 200
    assert 'data-error-for="onset_date"' in _html(response)
    assert not Case.objects.exists()


def test_a_second_open_case_for_the_same_person_is_refused(en, login, city):
    confirmed_case(city["cdc"], city.person_a, onset=days_ago(2))
    login("cdc")
    response = en.post(reverse("tracing:case_create"), _case_form(person=city.person_a.pk))
    assert response.status_code == 200
    assert "already has an open case" in _html(response)


def test_a_new_person_needs_id_number_and_name(en, login, city):
    login("cdc")
    response = en.post(reverse("tracing:case_create"), _case_form())
    html = _html(response)
    assert 'data-error-for="id_number"' in html and 'data-error-for="name"' in html


# -- the case page --------------------------------------------------------------------------------------------------


def _close_and_secondary(city: Any) -> Case:
    case = confirmed_case(city["cdc"], city.person_a, onset=days_ago(3)).case
    _expose(city, city.person_a, city.person_b, day=2)
    _expose(city, city.person_b, city.person_c, day=1, hour=15)
    return case


def test_case_page_shows_window_exposures_and_contacts_with_measures(en, login, city):
    case = _close_and_secondary(city)
    login("cdc")
    response = en.get(reverse("tracing:case_detail", args=[case.pk]))
    assert response.status_code == 200
    html = _html(response)
    window = html.split('data-testid="window"')[1].split("</div>\n    </div>")[0]
    assert f"{case.infectious_from:%Y-%m-%d} – {case.infectious_until:%Y-%m-%d}" in window
    assert "Counted from symptom onset" in window and "2 days before" in window
    close = html.split('data-testid="close-contacts"')[1].split("</table>")[0]
    assert "才仁卓玛" in close and 'data-measure="centralised_quarantine"' in close
    assert 'data-testid="explanation"' in close and "Why" in close
    secondary = html.split('data-testid="secondary-contacts"')[1].split("</table>")[0]
    assert "尼玛" in secondary and 'data-measure="home_quarantine"' in secondary
    exposures = html.split('data-testid="exposures"')[1].split("</table>")[0]
    assert "才仁卓玛" in exposures


def test_case_page_lists_waiting_exposures_first_and_confirms_all_copresence_at_once(en, login, city, settings):
    settings.TRACING_AUTO_ACCEPT = ["household"]
    place = venue(city.grid_a)
    visit(place, start=at(days_ago(1), 10), minutes=60, person=city.person_a)
    visit(place, start=at(days_ago(1), 10, 10), minutes=20, person=city.person_b)
    visit(place, start=at(days_ago(1), 10, 20), minutes=20, person=city.person_c)
    case = confirmed_case(city["cdc"], city.person_a, onset=days_ago(2)).case
    manual = _expose(city, city.person_a, _wife(city), day=1, hour=8)
    login("cdc")
    html = _html(en.get(reverse("tracing:case_detail", args=[case.pk])))
    rows = html.split('data-testid="exposures"')[1].split("</table>")[0]
    assert rows.index("才仁卓玛") < rows.index(f'data-exposure="{manual.pk}"')  # candidates before confirmed
    assert 'data-origin="copresence"' in html
    response = en.post(reverse("tracing:case_confirm_all", args=[case.pk]), {"origin": "copresence"})
    assert response.status_code == 302
    statuses = set(Exposure.objects.filter(origin=ExposureOrigin.COPRESENCE).values_list("status", flat=True))
    assert statuses == {ExposureStatus.CONFIRMED}
    report = _html(en.get(response["Location"])).split('data-testid="derivation"')[1]
    assert "2 contacts created" in report
    assert en.post(reverse("tracing:case_confirm_all", args=[case.pk]), {"origin": "bogus"}).status_code == 400


def test_case_page_links_the_cluster_when_there_is_one(en, login, city):
    case = confirmed_case(city["cdc"], city.person_a, onset=days_ago(2)).case
    login("cdc")
    assert 'data-testid="cluster"' not in _html(en.get(reverse("tracing:case_detail", args=[case.pk])))
    cluster = Cluster.objects.create(
        key=city.person_a.pk, label="C-0001", size=2, case_count=1, exposure_count=1,
        first_date=days_ago(2), last_date=days_ago(1), active=True, path=city.person_a.path,
    )  # fmt: skip
    ClusterMember.objects.create(cluster=cluster, person=city.person_a, role="case", path=city.person_a.path)
    html = _html(en.get(reverse("tracing:case_detail", args=[case.pk])))
    assert "C-0001" in html.split('data-testid="cluster"')[1]


def test_case_page_history_tab(en, login, city):
    case = confirmed_case(city["cdc"], city.person_a, onset=days_ago(2)).case
    login("cdc")
    html = _html(en.get(reverse("tracing:case_detail", args=[case.pk]), {"tab": "history"}))
    assert 'data-testid="history"' in html and "cdc" in html


def test_case_page_out_of_scope_is_404_and_without_a_role_403(client, login, city, district_cdc):
    case = confirmed_case(city["cdc"], city.person_a, onset=days_ago(2)).case
    url = reverse("tracing:case_detail", args=[case.pk])
    for username in ("grid_b", "other_township", "district_cdc"):
        login(username)
        assert client.get(url).status_code == 404, username
    login("grid_a")
    assert client.get(url).status_code == 200
    login("outsider")
    assert client.get(url).status_code == 403
    login("cdc")
    assert client.get(reverse("tracing:case_detail", args=[999999])).status_code == 404


def test_case_page_counts_contacts_outside_the_readers_scope(en, login, city):
    case = _close_and_secondary(city)
    login("grid_a")  # sees the case (grid A), not the contacts in grids B and C
    html = _html(en.get(reverse("tracing:case_detail", args=[case.pk])))
    assert "2 more contacts are outside your jurisdiction" in html
    assert 'data-testid="edit"' not in html


# -- editing a case -------------------------------------------------------------------------------------------------


def _edit_form(case: Case, **overrides: Any) -> dict[str, Any]:
    data = {
        name: ("" if getattr(case, name) is None else str(getattr(case, name)))
        for name in (
            "classification", "onset_date", "sampling_date", "last_negative_date", "report_date", "isolated_on",
            "found_by", "isolation_place", "notes", "outcome", "outcome_date", "version",
        )
    }  # fmt: skip
    data.update(overrides)
    return data


def test_excluding_a_case_through_the_page_reports_the_released_contacts(en, login, city):
    case = _close_and_secondary(city)
    login("cdc")
    assert en.get(reverse("tracing:case_edit", args=[case.pk])).status_code == 200
    response = en.post(reverse("tracing:case_edit", args=[case.pk]), _edit_form(case, classification="excluded"))
    assert response.status_code == 302
    report = _html(en.get(response["Location"])).split('data-testid="derivation"')[1]
    assert "2 contacts released" in report and "才仁卓玛" in report and "尼玛" in report
    assert set(Contact.objects.values_list("status", flat=True)) == {ContactStatus.RELEASED}


def test_a_stale_case_edit_shows_the_conflict(en, login, city):
    case = confirmed_case(city["cdc"], city.person_a, onset=days_ago(2)).case
    form = _edit_form(case, isolation_place="方舱医院")
    services.case_update(actor=city["cdc"], case=case, expected_version=case.version, values={"notes": "另一人改过"})
    login("cdc")
    response = en.post(reverse("tracing:case_edit", args=[case.pk]), form)
    assert response.status_code == 200
    html = _html(response)
    assert 'data-testid="stale"' in html and "另一人改过" in html
    case.refresh_from_db()
    assert case.isolation_place == "" and f'value="{case.version}"' in html


def test_case_edit_permissions(client, login, city, district_cdc):
    case = confirmed_case(city["cdc"], city.person_a, onset=days_ago(2)).case
    url = reverse("tracing:case_edit", args=[case.pk])
    login("grid_a")
    assert client.get(url).status_code == 403
    assert client.post(url, _edit_form(case)).status_code == 403
    login("district_cdc")
    assert client.get(url).status_code == 404


def test_running_copresence_again_finds_check_ins_that_arrived_later(en, login, city):
    case = confirmed_case(city["cdc"], city.person_a, onset=days_ago(2)).case
    place = venue(city.grid_b)
    visit(place, start=at(days_ago(1), 12), minutes=60, person=city.person_a)
    visit(place, start=at(days_ago(1), 12, 30), minutes=30, person=city.person_b)
    login("grid_a")
    assert en.post(reverse("tracing:case_copresence", args=[case.pk])).status_code == 403
    login("cdc")
    response = en.post(reverse("tracing:case_copresence", args=[case.pk]))
    assert response.status_code == 302
    html = _html(en.get(response["Location"]))
    assert "1 new exposures" in html or "1 new exposure found" in html
    assert Contact.objects.get(person=city.person_b).kind == ContactKind.CLOSE


# -- exposures ------------------------------------------------------------------------------------------------------


def _exposure_form(**overrides: Any) -> dict[str, Any]:
    start = at(days_ago(1), 12)
    data = {
        "setting": "shared_meal",
        "start": start.strftime("%Y-%m-%dT%H:%M"),
        "end": (start + datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "proximity": "within_1m",
        "protection": "none",
        "evidence": "同桌吃饭",
    }
    data.update(overrides)
    return data


def test_recording_an_exposure_by_id_number_shows_the_contact_it_made(en, login, city):
    confirmed_case(city["cdc"], city.person_a, onset=days_ago(2))
    login("cdc")
    page = en.get(reverse("tracing:exposure_create"), {"source": city.person_a.pk})
    assert 'data-testid="source"' in _html(page)
    data = _exposure_form(source=city.person_a.pk, id_number=city.person_b.id_number, name="才仁卓玛")
    response = en.post(reverse("tracing:exposure_create"), data)
    assert response.status_code == 302
    exposure = Exposure.objects.get(exposed=city.person_b)
    assert response["Location"] == reverse("tracing:exposure_detail", args=[exposure.pk])
    assert (exposure.origin, exposure.status, exposure.evidence) == ("manual", "confirmed", "同桌吃饭")
    report = _html(en.get(response["Location"])).split('data-testid="derivation"')[1]
    assert "1 contact created" in report and "才仁卓玛" in report


def test_recording_an_exposure_of_a_chosen_person(en, login, city):
    case = confirmed_case(city["cdc"], city.person_a, onset=days_ago(2)).case
    login("cdc")
    page = _html(en.get(reverse("tracing:exposure_create"), {"exposed": city.person_c.pk}))
    assert 'data-testid="exposed"' in page and 'name="source_case"' in page
    response = en.post(reverse("tracing:exposure_create"), _exposure_form(source_case=case.pk, person=city.person_c.pk))
    assert response.status_code == 302
    assert Exposure.objects.get(exposed=city.person_c).source == city.person_a


def test_the_forms_use_the_person_lookup_while_the_id_is_typed(en, login, city):
    login("cdc")
    lookup = reverse("screening:person_lookup")
    assert f'hx-get="{lookup}"' in _html(en.get(reverse("tracing:case_create")))
    assert f'hx-get="{lookup}"' in _html(en.get(reverse("tracing:exposure_create")))
    assert en.get(lookup, {"id_number": city.person_b.id_number}).status_code == 200


def test_recording_an_exposure_of_a_new_person_registers_them_in_the_city(en, login, city):
    case = confirmed_case(city["cdc"], city.person_a, onset=days_ago(2)).case
    login("cdc")
    number = valid_id("63270119770707008")
    data = _exposure_form(source_case=case.pk, id_number=number, name="同事", phone="13712345678")
    assert en.post(reverse("tracing:exposure_create"), data).status_code == 302
    person = Person.objects.get(id_number=number)
    assert person.path == "632701"
    assert Contact.objects.get(person=person).kind == ContactKind.CLOSE


def test_an_exposure_form_error_leaves_nothing_behind(en, login, city):
    confirmed_case(city["cdc"], city.person_a, onset=days_ago(2))
    login("cdc")
    number = valid_id("63270119770707008")
    future = at(days_ago(-2), 9).strftime("%Y-%m-%dT%H:%M")
    data = _exposure_form(source=city.person_a.pk, id_number=number, name="同事", start=future, end=future)
    response = en.post(reverse("tracing:exposure_create"), data)
    assert response.status_code == 200 and 'data-error-for="start"' in _html(response)
    assert not Person.objects.filter(id_number=number).exists()  # not registered without the exposure


def test_self_exposure_is_refused_on_the_page(en, login, city):
    login("cdc")
    data = _exposure_form(source=city.person_a.pk, id_number=city.person_a.id_number, name="扎西多杰")
    response = en.post(reverse("tracing:exposure_create"), data)
    assert response.status_code == 200
    assert "cannot be exposed to themselves" in _html(response)


def test_only_the_cdc_records_exposures(client, login, city):
    login("grid_a")
    assert client.get(reverse("tracing:exposure_create")).status_code == 403
    assert client.post(reverse("tracing:exposure_create"), _exposure_form(source=city.person_a.pk)).status_code == 403


def test_rejecting_an_exposure_needs_a_reason_and_releases_the_contact(en, login, city):
    case, wife = _case_with_wife(city)
    exposure = Exposure.objects.get(exposed=wife)
    login("cdc")
    url = reverse("tracing:exposure_decide", args=[exposure.pk])
    next_url = reverse("tracing:case_detail", args=[case.pk])
    response = en.post(url, {"decision": "reject", "note": "", "next": next_url})
    assert response.status_code == 302 and response["Location"] == next_url
    exposure.refresh_from_db()
    assert exposure.status == ExposureStatus.PENDING
    assert "Say why" in _html(en.get(next_url))
    response = en.post(url, {"decision": "reject", "note": "离婚分居", "next": next_url})
    exposure.refresh_from_db()
    assert exposure.status == ExposureStatus.REJECTED and exposure.decision_note == "离婚分居"
    report = _html(en.get(response["Location"])).split('data-testid="derivation"')[1]
    assert "1 contact released" in report and "卓玛" in report


def test_confirming_an_exposure(en, login, city):
    _case, wife = _case_with_wife(city)
    exposure = Exposure.objects.get(exposed=wife)
    login("cdc")
    response = en.post(reverse("tracing:exposure_decide", args=[exposure.pk]), {"decision": "accept"})
    assert response["Location"] == reverse("tracing:exposure_detail", args=[exposure.pk])
    exposure.refresh_from_db()
    assert exposure.status == ExposureStatus.CONFIRMED and exposure.decided_by == city["cdc"]


def test_deciding_exposures_needs_the_permission_and_the_scope(client, login, city, district_cdc):
    _case, wife = _case_with_wife(city)
    exposure = Exposure.objects.get(exposed=wife)
    url = reverse("tracing:exposure_decide", args=[exposure.pk])
    login("grid_a")
    assert client.post(url, {"decision": "accept"}).status_code == 403
    login("district_cdc")
    assert client.post(url, {"decision": "accept"}).status_code == 404
    assert (
        client.post(reverse("tracing:exposures_decide"), {"decision": "accept", "ids": [exposure.pk]}).status_code
        == 302
    )
    exposure.refresh_from_db()
    assert exposure.status == ExposureStatus.PENDING  # out of scope: not even found


def test_the_queue_confirms_ticked_exposures_at_once(en, login, city, settings):
    settings.TRACING_AUTO_ACCEPT = ["household"]
    place = venue(city.grid_a)
    visit(place, start=at(days_ago(1), 10), minutes=60, person=city.person_a)
    visit(place, start=at(days_ago(1), 10, 10), minutes=20, person=city.person_b)
    visit(place, start=at(days_ago(1), 10, 20), minutes=20, person=city.person_c)
    confirmed_case(city["cdc"], city.person_a, onset=days_ago(2))
    ids = list(Exposure.objects.filter(origin=ExposureOrigin.COPRESENCE).values_list("pk", flat=True))
    login("cdc")
    html = _html(en.get(reverse("tracing:exposure_list")))
    assert all(f'data-exposure="{pk}"' in html for pk in ids)
    response = en.post(reverse("tracing:exposures_decide"), {"decision": "accept", "ids": ids, "next": "/x/"})
    assert response.status_code == 302
    assert set(Exposure.objects.filter(pk__in=ids).values_list("status", flat=True)) == {ExposureStatus.CONFIRMED}
    assert Contact.objects.filter(person__in=[city.person_b, city.person_c], status="active").count() == 2
    # The queue is empty now; "all" still lists them.
    assert not any(f'data-exposure="{pk}"' in _html(en.get(reverse("tracing:exposure_list"))) for pk in ids)
    assert all(
        f'data-exposure="{pk}"' in _html(en.get(reverse("tracing:exposure_list"), {"status": "all"})) for pk in ids
    )


def test_exposure_list_filters_and_scope(en, login, city):
    _case_with_wife(city)
    _expose(city, city.person_a, city.person_c, day=1)
    login("cdc")
    url = reverse("tracing:exposure_list")

    def exposed(**params: Any) -> set[str]:
        html = _html(en.get(url, {"status": "all", **params}))
        return {name for name in ("卓玛", "尼玛") if f"<td>{name}</td>" in html}

    assert exposed() == {"卓玛", "尼玛"}
    assert exposed(origin="household") == {"卓玛"}
    assert exposed(setting="shared_meal") == {"尼玛"}
    assert exposed(status="confirmed") == {"尼玛"}
    assert exposed(q="尼玛") == {"尼玛"}
    assert exposed(date_from=days_ago(0).isoformat()) == set()
    assert exposed(source=city.person_b.pk) == set()
    login("grid_a")  # the exposure's jurisdiction is the exposed person's
    assert exposed() == {"卓玛"}
    login("outsider")
    assert en.get(url).status_code == 403


def test_exposure_list_query_count_is_constant(client, login, city, django_assert_max_num_queries):
    confirmed_case(city["cdc"], city.person_a, onset=days_ago(3))
    _expose(city, city.person_a, city.person_b)
    login("cdc")
    with django_assert_max_num_queries(9):
        assert client.get(reverse("tracing:exposure_list"), {"status": "all"}).status_code == 200
    for number in range(6):
        _expose(city, city.person_a, member(city.household_a2, f"客{number}", f"632701199002021{number}2"))
    with django_assert_max_num_queries(9):
        client.get(reverse("tracing:exposure_list"), {"status": "all"})


def test_exposure_export(client, login, city):
    _case_with_wife(city)
    login("cdc")
    response = client.get(reverse("tracing:exposure_list"), {"export": "csv", "status": "all"})
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "卓玛" in body and "扎西多杰" in body
    assert AuditEvent.objects.filter(action="export", note__startswith="exposures csv").exists()
    assert client.get(reverse("tracing:exposure_list"), {"export": "xlsx"}).status_code == 200


def test_exposure_page_allowed_out_of_scope_and_history(en, login, city):
    _case, wife = _case_with_wife(city)
    exposure = Exposure.objects.get(exposed=wife)
    url = reverse("tracing:exposure_detail", args=[exposure.pk])
    login("grid_a")
    html = _html(en.get(url))
    assert "卓玛" in html and 'data-testid="source-case"' in html and 'data-testid="confirm"' not in html
    assert 'data-testid="history"' in _html(en.get(url, {"tab": "history"}))
    login("grid_b")
    assert en.get(url).status_code == 404
    login("outsider")
    assert en.get(url).status_code == 403


# -- contacts -------------------------------------------------------------------------------------------------------


def test_a_grid_worker_sees_only_the_contacts_of_their_grid(en, login, city):
    _case, _wife_person = _case_with_wife(city)  # wife: grid A
    _expose(city, city.person_a, city.person_c)  # grid C
    url = reverse("tracing:contact_list")
    seen = {}
    for username in ("grid_a", "grid_b", "township", "other_township", "cdc", "city"):
        login(username)
        html = _html(en.get(url))
        seen[username] = {name for name in ("卓玛", "尼玛") if f">{name}</a>" in html}
    assert seen == {
        "grid_a": {"卓玛"},
        "grid_b": set(),
        "township": {"卓玛"},
        "other_township": {"尼玛"},
        "cdc": {"卓玛", "尼玛"},
        "city": {"卓玛", "尼玛"},
    }


def test_contact_list_filters(en, login, city):
    case = _close_and_secondary(city)
    login("cdc")
    url = reverse("tracing:contact_list")

    def names(**params: Any) -> set[str]:
        html = _html(en.get(url, params))
        return {name for name in ("才仁卓玛", "尼玛") if f">{name}</a>" in html}

    assert names() == {"才仁卓玛", "尼玛"}
    assert names(kind="secondary") == {"尼玛"}
    assert names(measure="centralised_quarantine") == {"才仁卓玛"}
    assert names(measure="none") == set()
    assert names(index_case=case.pk) == {"才仁卓玛", "尼玛"}
    assert names(index_case=case.pk + 1) == set()
    assert names(division=city.grid_b.path) == {"才仁卓玛"}
    assert names(status="released") == set()
    assert names(q="nima") == {"尼玛"}


def test_contact_list_query_count_is_constant(client, login, city, django_assert_max_num_queries):
    _close_and_secondary(city)
    login("cdc")
    with django_assert_max_num_queries(9):
        assert client.get(reverse("tracing:contact_list")).status_code == 200
    for number in range(6):
        _expose(city, city.person_a, member(city.household_a2, f"邻{number}", f"632701199003031{number}3"))
    with django_assert_max_num_queries(9):
        client.get(reverse("tracing:contact_list"))


def test_contact_export_is_scoped_and_masked(client, login, city):
    _close_and_secondary(city)
    login("township")  # 结古街道: grids A and B; PII masked
    body = b"".join(client.get(reverse("tracing:contact_list"), {"export": "csv"}).streaming_content).decode()
    assert "才仁卓玛" in body and "尼玛" not in body.replace("才仁卓玛", "")
    assert city.person_b.id_number not in body
    assert client.get(reverse("tracing:contact_list"), {"export": "xlsx"}).status_code == 200


def test_contact_page_shows_measure_explanation_evidence_and_tasks(en, login, city):
    _case, wife = _case_with_wife(city)
    contact = Contact.objects.get(person=wife)
    login("grid_a")
    response = en.get(reverse("tracing:contact_detail", args=[contact.pk]))
    assert response.status_code == 200
    html = _html(response)
    assert 'data-measure="centralised_quarantine"' in html and 'data-testid="explanation"' in html
    evidence = html.split('data-testid="evidence"')[1].split("</ul>")[0]
    assert "扎西多杰" in evidence and 'data-testid="source-link"' in evidence  # grid A sees the source
    tasks = html.split('data-testid="tasks"')[1].split("</ul>")[0]
    assert "卓玛" in tasks
    assert 'data-testid="isolate"' in html and 'data-testid="locate"' in html
    assert 'data-testid="index-case"' in html
    assert 'data-testid="history"' in _html(
        en.get(reverse("tracing:contact_detail", args=[contact.pk]), {"tab": "history"})
    )


def test_contact_page_links_the_source_only_when_visible(en, login, city):
    confirmed_case(city["cdc"], city.person_a, onset=days_ago(2))
    _expose(city, city.person_a, city.person_c)
    contact = Contact.objects.get(person=city.person_c)
    login("other_township")
    html = _html(en.get(reverse("tracing:contact_detail", args=[contact.pk])))
    evidence = html.split('data-testid="evidence"')[1].split("</ul>")[0]
    assert "扎西多杰" in evidence and 'data-testid="source-link"' not in evidence
    assert 'data-testid="index-case"' not in html and "outside your jurisdiction" in html


def test_contact_page_out_of_scope_is_404(client, login, city):
    _case, wife = _case_with_wife(city)
    contact = Contact.objects.get(person=wife)
    login("grid_b")
    assert client.get(reverse("tracing:contact_detail", args=[contact.pk])).status_code == 404
    login("outsider")
    assert client.get(reverse("tracing:contact_detail", args=[contact.pk])).status_code == 403


def test_the_grid_worker_records_the_isolation_and_later_exposures_make_no_secondary_contacts(en, login, city):
    _close_and_secondary(city)
    close = Contact.objects.get(person=city.person_b)
    login("grid_b")
    moment = at(days_ago(1), 14).strftime("%Y-%m-%dT%H:%M")
    response = en.post(reverse("tracing:contact_isolate", args=[close.pk]), {"isolated_at": moment})
    assert response.status_code == 302
    close.refresh_from_db()
    assert close.isolated_at == at(days_ago(1), 14)
    assert Contact.objects.get(person=city.person_c).status == ContactStatus.RELEASED
    report = _html(en.get(response["Location"])).split('data-testid="derivation"')[1]
    assert "1 contact released" in report
    # The released secondary contact is outside grid B: counted, not named.
    assert "outside your jurisdiction" in report


def test_recording_isolation_needs_the_permission_and_the_scope(client, login, city):
    _case, wife = _case_with_wife(city)
    contact = Contact.objects.get(person=wife)
    url = reverse("tracing:contact_isolate", args=[contact.pk])
    moment = at(days_ago(0), 8).strftime("%Y-%m-%dT%H:%M")
    login("grid_b")
    assert client.post(url, {"isolated_at": moment}).status_code == 404
    login("auditor")  # sees the city, may change nothing
    assert client.post(url, {"isolated_at": moment}).status_code == 403
    contact.refresh_from_db()
    assert contact.isolated_at is None


def test_asking_the_police_to_locate_a_contact_creates_their_task(en, login, city):
    _case, wife = _case_with_wife(city)
    contact = Contact.objects.get(person=wife)
    login("grid_a")
    response = en.post(
        reverse("tracing:contact_locate", args=[contact.pk]), {"department": city.police.pk, "note": "电话不通"}
    )
    assert response.status_code == 302
    task = Task.objects.get(kind="contact_locate")
    assert task.assignee_department == city.police and task.notes == "电话不通"
    assert "Asked 玉树市公安局" in _html(en.get(response["Location"]))
    login("auditor")
    assert (
        en.post(reverse("tracing:contact_locate", args=[contact.pk]), {"department": city.police.pk}).status_code == 403
    )


# -- the person page ------------------------------------------------------------------------------------------------


@pytest.fixture
def tracing_panel() -> None:
    panels.register()


def test_person_page_shows_case_contact_measure_and_exposures(en, login, city, tracing_panel):
    _case, wife = _case_with_wife(city)
    login("grid_a")
    html = _html(en.get(reverse("people:detail", args=[wife.pk])))
    panel = html.split('data-testid="person-tracing"')[1]
    assert "Close contact" in panel or "close contact" in panel
    assert "Centralised" in panel or "centralised" in panel
    assert "扎西多杰" in panel  # was exposed to
    case_html = _html(en.get(reverse("people:detail", args=[city.person_a.pk])))
    case_panel = case_html.split('data-testid="person-tracing"')[1]
    assert "Confirmed case" in case_panel or "confirmed case" in case_panel
    assert "卓玛" in case_panel  # exposed others
    assert 'data-testid="report-case"' not in case_panel


def test_person_page_offers_the_cdc_to_report_a_case(en, login, city, tracing_panel):
    login("cdc")
    html = _html(en.get(reverse("people:detail", args=[city.person_b.pk])))
    panel = html.split('data-testid="person-tracing"')[1]
    assert "Not a case, not a contact" in panel
    assert f"?person={city.person_b.pk}" in panel
