from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from conftest import make_person, valid_id
from firstline.core.models import AuditEvent
from firstline.people.models import Person

pytestmark = pytest.mark.django_db


def test_api_list_shape_and_search(api, city):
    body = api("township").get("/api/v1/persons/", {"search": "zxdj"}).json()
    assert set(body) >= {"count", "next", "previous", "results"}
    assert body["count"] == 1
    row = body["results"][0]
    assert set(row) >= {"id", "name", "id_type", "id_number", "phone", "sex", "birth_date", "household", "version"}
    assert row["household"] == city.household_a.code


def test_api_filter_by_grid(api, city):
    body = api("township").get("/api/v1/persons/", {"grid": city.grid_b.code}).json()
    assert [r["id"] for r in body["results"]] == [city.person_b.pk]


def test_api_create_with_field_errors(api, city):
    response = api("grid_a").post(
        "/api/v1/persons/", {"name": "", "id_number": "6.32701E+17", "phone": "123"}, format="json"
    )
    assert response.status_code == 400
    assert {"name", "id_number", "phone"} <= set(response.json())


def test_api_create_normalises(api, city):
    response = api("grid_a").post(
        "/api/v1/persons/",
        {
            "name": "卓瑪",
            "id_number": valid_id("63270120000229002").lower(),
            "phone": "86 137 0000 4444",
            "household": city.household_a.code,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    person = Person.objects.get(pk=response.json()["id"])
    assert (person.name, person.phone, person.sex, str(person.birth_date)) == ("卓玛", "13700004444", "F", "2000-02-29")


def test_api_patch_needs_version_and_refuses_stale(api, city):
    url = f"/api/v1/persons/{city.person_a.pk}/"
    client = api("grid_a")
    assert client.patch(url, {"phone": "13811112222"}, format="json").status_code == 400
    ok = client.patch(url, {"phone": "13811112222", "version": 1}, format="json")
    assert ok.status_code == 200 and ok.json()["version"] == 2
    stale = client.patch(url, {"phone": "13833334444", "version": 1}, format="json")
    assert stale.status_code == 409
    assert stale.json()["changes_since"][0]["changes"]["phone"] == ["13800001111", "13811112222"]
    assert client.patch(url, {"phone": "999", "version": 2}, format="json").status_code == 400


def test_token_made_by_the_management_command_authenticates(city):
    out = io.StringIO()
    call_command("drf_create_token", "grid_a", stdout=out)
    key = out.getvalue().split()[2]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/persons/").json()["count"] == 1


def test_openapi_schema_and_docs(client, login, city):
    login("grid_a")
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/persons/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()


def test_person_list_query_count_is_constant(client, login, city, django_assert_max_num_queries):
    for n in range(60):
        make_person(household=city.household_a, name=f"卓玛{n}", id_number=valid_id(f"63270119910101{n + 100:03d}"))
    login("grid_a")
    with django_assert_max_num_queries(10):
        response = client.get(reverse("people:list"), {"q": "zm"})
    assert response.status_code == 200
    assert response.context["page_obj"].paginator.count == 60


def test_person_list_htmx_returns_the_results_fragment(client, login, city):
    login("grid_a")
    response = client.get(reverse("people:list"), {"q": "zxdj"}, HTTP_HX_REQUEST="true")
    assert b"<html" not in response.content and "扎西多杰" in response.content.decode()


def test_export_is_audited_and_masked_for_masked_roles(client, login, city):
    login("township")
    response = client.get(reverse("people:list"), {"export": "csv"})
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "138****1111" in body and "13800001111" not in body
    assert AuditEvent.objects.filter(action="export", actor=city["township"]).exists()
    assert client.get(reverse("people:list"), {"export": "pdf"}).status_code == 400


def test_xlsx_export_keeps_ids_as_text(client, login, city):
    from python_calamine import CalamineWorkbook

    login("grid_a")
    response = client.get(reverse("people:list"), {"export": "xlsx"})
    data = b"".join(response.streaming_content)
    rows = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()
    assert rows[1][2] == city.person_a.id_number


def test_export_forbidden_for_grid_worker_without_export_permission(client, login, city):
    login("volunteer")
    assert client.get(reverse("people:list"), {"export": "csv"}).status_code == 403


def test_register_from_the_page(client, login, city):
    login("grid_a")
    response = client.post(
        reverse("people:create"),
        {
            "name": "拉毛",
            "id_type": "resident",
            "id_number": valid_id("63270119880808004"),
            "phone": "13900005555",
            "household": city.household_a.code,
        },
    )
    assert response.status_code == 302
    assert Person.objects.filter(name="拉毛", path=city.grid_a.path).exists()


def test_register_bad_id_shows_the_field_error(client, login, city):
    login("grid_a")
    response = client.post(
        reverse("people:create"), {"name": "拉毛", "id_type": "resident", "id_number": "632701198808080041"}
    )
    assert response.status_code == 200
    assert "id_number" in response.context["form"].errors


def test_edit_page_stale_shows_what_changed(client, login, city):
    from firstline.people.services import person_update

    person_update(actor=city["grid_lead_a"], person=city.person_a, expected_version=1, data={"phone": "13811112222"})
    login("grid_a")
    response = client.post(
        reverse("people:edit", args=[city.person_a.pk]),
        {
            "name": "扎西",
            "id_type": "resident",
            "id_number": city.person_a.id_number,
            "phone": "13800001111",
            "household": city.household_a.code,
            "version": 1,
        },
    )
    assert response.status_code == 200
    assert response.context["stale_changes"][0]["actor"] == "grid_lead_a"
    assert Person.objects.get(pk=city.person_a.pk).name == "扎西多杰"


def test_duplicates_page_merge_and_dismiss(client, login, city):
    twin = make_person(
        household=city.household_a2, name="扎西多吉", id_number=valid_id("63270119850312017"), phone="13800001111"
    )
    login("township")
    page = client.get(reverse("people:duplicates"))
    assert len(page.context["page_obj"].object_list) == 1
    client.post(
        reverse("people:duplicate_resolve"), {"first": city.person_a.pk, "second": twin.pk, "action": "keep_first"}
    )
    twin.refresh_from_db()
    assert twin.merged_into_id == city.person_a.pk
    assert len(client.get(reverse("people:duplicates")).context["page_obj"].object_list) == 0


def test_home_pages_by_role(client, login, city):
    login("grid_a")
    page = client.get(reverse("home"))
    assert page.status_code == 200 and page.context["grids"][0][0] == city.grid_a
    login("city")
    page = client.get(reverse("home"))
    assert [t.code for t in page.context["townships"]][:2] == ["632701001", "632701002"]
    assert page.context["township_counts"]["632701001"]["persons"] == 2


def test_language_switch_to_english(client, login, city):
    login("grid_a")
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert "My tasks" in client.get(reverse("home")).content.decode()


def test_chinese_by_default_whatever_the_browser_says(client, login, city):
    login("grid_a")
    content = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert "我的任务" in content


def test_masked_role_edit_form_never_shows_full_values_and_keeps_them(client, login, city):
    login("township")
    page = client.get(reverse("people:edit", args=[city.person_a.pk])).content.decode()
    assert city.person_a.id_number not in page and "13800001111" not in page
    masked_id = city.person_a.id_number[:6] + "********" + city.person_a.id_number[-4:]
    response = client.post(
        reverse("people:edit", args=[city.person_a.pk]),
        {
            "name": "扎西多吉",
            "id_type": "resident",
            "id_number": masked_id,
            "phone": "138****1111",
            "household": city.household_a.code,
            "version": 1,
        },
    )
    assert response.status_code == 302
    person = Person.objects.get(pk=city.person_a.pk)
    assert (person.name, person.id_number, person.phone) == ("扎西多吉", city.person_a.id_number, "13800001111")
