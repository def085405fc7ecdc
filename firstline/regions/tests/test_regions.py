from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation

from firstline.core.concurrency import StaleVersionError
from firstline.regions import services
from firstline.regions.models import Division, Household

pytestmark = pytest.mark.django_db


def test_load_divisions_from_the_reference_file(db):
    out = io.StringIO()
    call_command("load_divisions", "firstline/regions/data/yushu_divisions.csv", stdout=out)
    assert "15 created" in out.getvalue()
    assert Division.objects.get(code="632701001").parent_id == "632701"
    assert Division.objects.filter(code__startswith="632701", level__in=["street", "town", "township"]).count() == 12
    # Loading again changes nothing.
    out = io.StringIO()
    call_command("load_divisions", "firstline/regions/data/yushu_divisions.csv", stdout=out)
    assert "15 unchanged" in out.getvalue()


def test_load_divisions_reports_every_bad_row_and_writes_nothing(db, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "code,name,level,parent_code\n"
        "63,青海省,province,\n"
        "6327,玉树州,prefecture,63\n"
        "63270,短码,county,6327\n"
        "632799,无上级,county,6399\n"
        "632701,玉树市,county,6327\n"
        "632701001,,street,632701\n",
        encoding="utf-8",
    )
    err = io.StringIO()
    with translation.override("en"), pytest.raises(CommandError, match="nothing was written"):
        call_command("load_divisions", str(bad), stderr=err)
    messages = err.getvalue()
    assert "line 4, code" in messages
    assert "line 5, parent_code" in messages
    assert "line 7, name" in messages
    assert not Division.objects.exists()


def test_load_divisions_wrong_header(db, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,title\n1,x\n", encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("load_divisions", str(bad), stderr=io.StringIO())


def test_grid_codes_extend_the_village_code(city):
    grid = services.grid_create(actor=city["township"], division=city.community_a, number=2, name="第2网格")
    assert grid.code == "632701001001-G002" and grid.path == grid.code


def test_grids_only_inside_villages(city):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.grid_create(actor=None, division=Division.objects.get(code="632701001"), number=1, name="x")


def test_grid_prefix_never_matches_a_longer_grid_number(city):
    # Fixed-width suffixes: G001 is not a prefix of G0010 because G0010 cannot exist.
    services.grid_create(actor=None, division=city.community_a, number=10, name="第10网格")
    assert Household.objects.filter(path__startswith="632701001001-G001").count() == 2


def test_assign_responsible_and_coverage(client, login, city):
    login("grid_lead_a")
    url = reverse("regions:household_assign", args=[city.household_a.pk])
    response = client.post(url, {"responsible": city["volunteer"].pk, "version": 1})
    assert response.status_code == 302
    city.household_a.refresh_from_db()
    assert city.household_a.responsible == city["volunteer"]
    page = client.get(reverse("regions:grid", args=[city.grid_a.code])).content.decode()
    assert "1 / 2" in page  # one of two households covered
    assert "fl-uncovered" in page  # the other is highlighted


def test_assign_responsible_refuses_someone_from_elsewhere(city):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.household_assign_responsible(
            actor=city["grid_lead_a"], household=city.household_a, responsible=city["grid_b"], expected_version=1
        )


def test_assign_responsible_stale(city):
    services.household_assign_responsible(
        actor=city["grid_lead_a"], household=city.household_a, responsible=city["volunteer"], expected_version=1
    )
    with pytest.raises(StaleVersionError):
        services.household_assign_responsible(
            actor=city["township"], household=city.household_a, responsible=None, expected_version=1
        )


def test_division_tree_counts_only_what_the_user_sees(client, login, city):
    login("township")
    page = client.get(reverse("regions:tree")).content.decode()
    assert "结古街道" in page and "测试甲社区" in page
    login("city")
    response = client.get(reverse("regions:division", args=["632701"]))
    assert response.status_code == 200
    counts = response.context["counts"]["632701"]
    assert counts["persons"] == 3 and counts["households"] == 4 and counts["grids"] == 3


@pytest.mark.parametrize(
    ("username", "status"),
    [("grid_a", 200), ("township", 200), ("city", 200), ("grid_b", 404), ("other_township", 404), ("police", 404)],
)
def test_grid_page_scoping(client, login, city, username, status):
    login(username)
    assert client.get(reverse("regions:grid", args=[city.grid_a.code])).status_code == status


@pytest.mark.parametrize(("username", "status"), [("grid_a", 200), ("grid_b", 404), ("outsider", 404)])
def test_household_page_scoping(client, login, city, username, status):
    login(username)
    assert client.get(reverse("regions:household", args=[city.household_a.pk])).status_code == status


@pytest.mark.parametrize(("username", "status"), [("township", 200), ("grid_a", 200), ("other_township", 404)])
def test_division_page_scoping(client, login, city, username, status):
    login(username)
    assert client.get(reverse("regions:division", args=[city.community_a.code])).status_code == status


def test_grid_page_query_count_is_constant(client, login, city, django_assert_max_num_queries):
    for number in range(3, 40):
        Household.objects.create(
            code=f"{city.grid_a.code}-H{number:04d}", path=city.grid_a.path, grid=city.grid_a, address=f"{number}号"
        )
    login("grid_a")
    with django_assert_max_num_queries(14):
        assert client.get(reverse("regions:grid", args=[city.grid_a.code])).status_code == 200


def test_grid_export(client, login, city):
    login("grid_a")
    response = client.get(reverse("regions:grid", args=[city.grid_a.code]) + "?export=csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert city.household_a.code in body and city.household_b.code not in body


def test_api_households_search_scoped(api, city):
    body = api("grid_a").get("/api/v1/households/?search=632701").json()
    assert {row["code"] for row in body["results"]} == {city.household_a.code, city.household_a2.code}
    assert api("grid_a").get(f"/api/v1/grids/{city.grid_b.code}/").status_code == 404
    assert api("township").get("/api/v1/divisions/632701001/").status_code == 200
    assert api("township").get("/api/v1/divisions/632701101/").status_code == 404
