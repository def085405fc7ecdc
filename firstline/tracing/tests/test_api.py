"""API of cases, exposures and contacts, and the trace_case command (the same structure)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from conftest import valid_id
from firstline.tracing.models import Case, Contact
from firstline.tracing.tests.factories import at, days_ago, member

pytestmark = pytest.mark.django_db


def _case_body(person, **extra):
    return {
        "person": person,
        "classification": "confirmed",
        "onset_date": str(days_ago(2)),
        "report_date": str(days_ago(0)),
        **extra,
    }


def test_cdc_posts_a_case_and_gets_the_derivation(api, city):
    wife = member(city.household_a, "卓玛", "63270119880808004")
    response = api("cdc").post("/api/v1/cases/", _case_body(city.person_a.pk), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["infectious_from"] == str(days_ago(4))
    assert body["derivation"]["created"] == [wife.pk]


def test_post_a_case_for_a_new_person_by_id(api, city):
    person = {"name": "新病例", "id_type": "resident", "id_number": valid_id("63270119950101007"), "phone": ""}
    response = api("cdc").post("/api/v1/cases/", _case_body(person, classification="asymptomatic",
                                                             onset_date=None, sampling_date=str(days_ago(1))),
                               format="json")  # fmt: skip
    assert response.status_code == 201, response.json()
    assert response.json()["person"]["name"] == "新病例"


def test_onset_after_report_is_a_400_naming_the_field(api, city):
    body = _case_body(city.person_a.pk, onset_date=str(days_ago(0)), report_date=str(days_ago(1)))
    response = api("cdc").post("/api/v1/cases/", body, format="json")
    assert response.status_code == 400
    assert "onset_date" in response.json()


def test_grid_worker_cannot_post_cases(api, city):
    assert api("grid_a").post("/api/v1/cases/", _case_body(city.person_a.pk), format="json").status_code == 403


def test_patch_excludes_and_reports_released(api, city):
    wife = member(city.household_a, "卓玛", "63270119880808004")
    client = api("cdc")
    case = client.post("/api/v1/cases/", _case_body(city.person_a.pk), format="json").json()
    response = client.patch(
        f"/api/v1/cases/{case['id']}/", {"version": case["version"], "classification": "excluded"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["derivation"]["released"] == [wife.pk]
    stale = client.patch(f"/api/v1/cases/{case['id']}/", {"version": case["version"], "notes": "x"}, format="json")
    assert stale.status_code == 409


def _traced(api, city):
    client = api("cdc")
    case = client.post("/api/v1/cases/", _case_body(city.person_a.pk), format="json").json()
    for source, exposed, day in ((city.person_a, city.person_b, 2), (city.person_b, city.person_c, 1)):
        response = client.post(
            "/api/v1/exposures/",
            {
                "source": source.pk,
                "exposed": exposed.pk,
                "setting": "shared_meal",
                "start": at(days_ago(day), 12).isoformat(),
                "end": at(days_ago(day), 13).isoformat(),
                "evidence": "同桌吃饭",
            },
            format="json",
        )
        assert response.status_code == 201, response.json()
    return case


def test_contacts_endpoint_returns_close_and_secondary_with_measures_and_evidence(api, city):
    case = _traced(api, city)
    body = api("cdc").get(f"/api/v1/cases/{case['id']}/contacts/?hops=2").json()
    assert [item["person"]["id"] for item in body["close"]] == [city.person_b.pk]
    assert [item["person"]["id"] for item in body["secondary"]] == [city.person_c.pk]
    close = body["close"][0]
    assert close["measure"]["type"] == "centralised_quarantine"
    assert close["measure"]["explanation"]
    assert close["evidence"][0]["text"] == "同桌吃饭"
    one_hop = api("cdc").get(f"/api/v1/cases/{case['id']}/contacts/?hops=1").json()
    assert one_hop["secondary"] == []
    assert api("cdc").get(f"/api/v1/cases/{case['id']}/contacts/?hops=3").status_code == 400


def test_contacts_are_scoped_and_masked_for_the_township(api, city):
    case = _traced(api, city)
    body = api("township").get(f"/api/v1/cases/{case['id']}/contacts/?hops=2").json()
    # 结古街道 sees person_b (grid B); person_c lives in 隆宝镇: counted, not shown
    assert [item["person"]["id"] for item in body["close"]] == [city.person_b.pk]
    assert body["secondary"] == [] and body["outside_scope"] == 1
    assert "*" in body["close"][0]["person"]["id_number"]


def test_case_outside_scope_is_404(api, city):
    case = _traced(api, city)
    assert api("other_township").get(f"/api/v1/cases/{case['id']}/").status_code == 404
    assert api("other_township").get(f"/api/v1/cases/{case['id']}/contacts/").status_code == 404


def test_grid_sees_only_contacts_in_its_grid(api, city):
    _traced(api, city)
    assert [c["person"]["id"] for c in api("grid_b").get("/api/v1/contacts/").json()["results"]] == [city.person_b.pk]
    assert api("grid_a").get("/api/v1/contacts/").json()["results"] == []
    contact = Contact.objects.get(person=city.person_b)
    assert api("grid_a").get(f"/api/v1/contacts/{contact.pk}/").status_code == 404


def test_police_see_the_tasks_assigned_to_police(api, city):
    from firstline.tracing.services import contact_request_locate

    _traced(api, city)
    contact = Contact.objects.get(person=city.person_c)
    task = contact_request_locate(actor=city["cdc"], contact=contact, department_id=city.police.pk)
    ids = [t["id"] for t in api("police").get("/api/v1/tasks/").json()["results"]]
    assert ids == [task.pk]
    # The officer opens the contact the task is about (and only that one), masked.
    contacts = api("police").get("/api/v1/contacts/").json()["results"]
    assert [c["id"] for c in contacts] == [contact.pk]
    assert "*" in contacts[0]["person"]["id_number"]
    other = Contact.objects.get(person=city.person_b)
    assert api("police").get(f"/api/v1/contacts/{other.pk}/").status_code == 404


def test_exposure_decide_rejects_with_a_reason(api, city):
    _traced(api, city)
    client = api("cdc")
    exposure = client.get(f"/api/v1/exposures/?exposed={city.person_c.pk}").json()["results"][0]
    assert (
        client.post(f"/api/v1/exposures/{exposure['id']}/decide/", {"accept": False}, format="json").status_code == 400
    )
    response = client.post(
        f"/api/v1/exposures/{exposure['id']}/decide/", {"accept": False, "note": "时间记错"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["derivation"]["released"] == [city.person_c.pk]


def test_self_exposure_is_a_400(api, city):
    response = api("cdc").post(
        "/api/v1/exposures/",
        {"source": city.person_a.pk, "exposed": city.person_a.pk, "setting": "other",
         "start": at(days_ago(1), 9).isoformat()},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400 and "exposed" in response.json()


def test_api_and_cli_agree(api, city):
    case = _traced(api, city)
    body = api("cdc").get(f"/api/v1/cases/{case['id']}/contacts/?hops=2").json()
    out = io.StringIO()
    call_command("trace_case", str(case["id"]), "--hops", "2", "--json", stdout=out)
    assert json.loads(out.getvalue()) == body
    out = io.StringIO()
    call_command("trace_case", str(case["id"]), "--hops", "2", "--json", "--as", "township", stdout=out)
    assert json.loads(out.getvalue()) == api("township").get(f"/api/v1/cases/{case['id']}/contacts/?hops=2").json()


def test_cli_text_output_lists_contacts(api, city):
    case = _traced(api, city)
    out = io.StringIO()
    call_command("trace_case", str(case["id"]), "--hops", "2", stdout=out)
    text = out.getvalue()
    assert "close: 1" in text and "secondary: 1" in text and city.person_b.name in text


def test_copresence_run_command(city):
    from firstline.tracing.models import Classification
    from firstline.tracing.tests.factories import venue, visit

    place = venue(city.grid_a)
    visit(place, start=at(days_ago(1), 10), minutes=60, person=city.person_a)
    visit(place, start=at(days_ago(1), 10, 30), minutes=60, person=city.person_b)
    Case.objects.create(
        person=city.person_a, path=city.person_a.path, classification=Classification.CONFIRMED,
        onset_date=days_ago(2), report_date=days_ago(0), infectious_from=days_ago(4), infectious_until=days_ago(0),
    )  # fmt: skip
    out = io.StringIO()
    call_command("copresence_run", "--day", str(days_ago(0)), stdout=out)
    assert out.getvalue().startswith("1 cases, 1 new exposures; contacts: 1 new")


def test_exposures_outside_scope_are_404_and_deciding_needs_the_permission(api, city):
    _traced(api, city)
    exposure = api("cdc").get(f"/api/v1/exposures/?exposed={city.person_c.pk}").json()["results"][0]
    # person_c lives in 隆宝镇: 结古街道's officer neither sees nor decides it
    assert api("township").get(f"/api/v1/exposures/{exposure['id']}/").status_code == 404
    decide = {"accept": True}
    assert api("township").post(f"/api/v1/exposures/{exposure['id']}/decide/", decide, format="json").status_code == 404
    # inside its jurisdiction it sees the exposure but may not decide it (not an epidemiologist)
    assert api("other_township").get(f"/api/v1/exposures/{exposure['id']}/").status_code == 200
    response = api("other_township").post(f"/api/v1/exposures/{exposure['id']}/decide/", decide, format="json")
    assert response.status_code == 403


def test_alerts_go_to_the_nearest_cdc_user(city):
    from firstline.accounts.selectors import nearest_with_role
    from firstline.accounts.services import membership_grant, user_create
    from firstline.regions.models import Division

    assert nearest_with_role(city.person_a.path, "cdc") == city["cdc"]
    township_cdc = user_create(actor=None, username="cdc_jiegu", password="x-correct-horse-9", display_name="cdc")
    membership_grant(actor=None, user=township_cdc, role="cdc", division=Division.objects.get(code="632701001"))
    assert nearest_with_role(city.person_a.path, "cdc") == township_cdc
    assert nearest_with_role(city.person_c.path, "cdc") == city["cdc"]
