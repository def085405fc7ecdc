"""Door-to-door campaigns through the pages and the API: allowed, out of scope (404), without permission (403)."""

from __future__ import annotations

import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from python_calamine import CalamineWorkbook

from firstline.core.models import AuditAction, AuditEvent
from firstline.regions.models import Division, Household
from firstline.screening.campaigns import services
from firstline.screening.models import Campaign, HouseholdVisit

pytestmark = pytest.mark.django_db

TOWNSHIP = "632701001"


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def make_campaign(city, *, code=TOWNSHIP, actor="township", start=-1, end=5, name="全覆盖排查"):
    today = timezone.localdate()
    return services.campaign_create(
        actor=city[actor],
        name=name,
        division=Division.objects.get(code=code),
        date_from=today + datetime.timedelta(days=start),
        date_to=today + datetime.timedelta(days=end),
    )


def record(city, campaign, household, outcome="visited", actor="grid_a", **extra):
    return services.visit_record(actor=city[actor], campaign=campaign, household=household, outcome=outcome, **extra)


def url(name, *args):
    return reverse(f"screening:campaigns:{name}", args=args)


def streamed(response):
    return b"".join(response.streaming_content).decode("utf-8-sig")


# --- list --------------------------------------------------------------------------------------------------


def test_list_shows_campaigns_of_the_jurisdiction_and_above(client, login, city):
    campaign = make_campaign(city)
    login("grid_a")
    response = client.get(url("list"))
    assert response.status_code == 200
    assert f'data-campaign="{campaign.pk}"'.encode() in response.content


def test_list_hides_campaigns_of_another_township(client, login, city):
    make_campaign(city)
    login("other_township")
    response = client.get(url("list"))
    assert response.status_code == 200 and response.context["page_obj"].paginator.count == 0


@pytest.mark.parametrize("username", ["police", "cdc", "auditor", "admin", "outsider"])
def test_campaign_pages_are_forbidden_to_roles_without_campaign_permissions(client, login, city, username):
    campaign = make_campaign(city)
    login(username)
    for page in (
        url("list"),
        url("detail", campaign.pk),
        url("coverage", campaign.pk),
        url("unvisited", campaign.pk),
        url("visits", campaign.pk),
        url("round", campaign.pk),
    ):
        assert client.get(page).status_code == 403, page


def test_list_filters_by_running_date(client, login, city):
    running = make_campaign(city)
    make_campaign(city, start=10, end=12, name="later")
    login("township")
    response = client.get(url("list"), {"active_on": timezone.localdate().isoformat()})
    assert [c.pk for c in response.context["page_obj"]] == [running.pk]


def test_list_query_count_does_not_grow_with_campaigns(client, login, city, django_assert_max_num_queries):
    for n in range(12):
        make_campaign(city, code=city.community_a.code if n % 2 else TOWNSHIP, name=f"c{n}")
    login("township")
    with django_assert_max_num_queries(12):
        response = client.get(url("list"))
    assert response.context["page_obj"].paginator.count == 12


def test_list_export_csv_is_audited(client, login, city):
    make_campaign(city, name="导出测试")
    login("township")
    response = client.get(url("list"), {"export": "csv"})
    assert response.status_code == 200
    assert "导出测试" in streamed(response)
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT, actor_username="township").count() == 1


# --- create and edit ---------------------------------------------------------------------------------------


def test_township_officer_creates_a_campaign_through_the_form(client, login, city):
    login("township")
    today = timezone.localdate()
    response = client.post(
        url("create"),
        {"name": "第一轮", "division": city.community_a.code, "date_from": today, "date_to": today},
    )
    campaign = Campaign.objects.get()
    assert response.status_code == 302 and response["Location"] == url("detail", campaign.pk)
    assert campaign.path == city.community_a.code


def test_create_form_offers_only_divisions_inside_the_scope(client, login, city):
    login("village_a")
    response = client.get(url("create"))
    assert response.status_code == 200
    codes = [division.code for division in response.context["form"].fields["division"].queryset]
    assert codes == [city.community_a.code]
    refused = client.post(
        url("create"),
        {"name": "x", "division": TOWNSHIP, "date_from": timezone.localdate(), "date_to": timezone.localdate()},
    )
    assert refused.status_code == 200 and "division" in refused.context["form"].errors
    assert not Campaign.objects.exists()


def test_dates_out_of_order_show_on_the_form(client, login, city):
    login("township")
    today = timezone.localdate()
    response = client.post(
        url("create"),
        {"name": "x", "division": TOWNSHIP, "date_from": today, "date_to": today - datetime.timedelta(days=1)},
    )
    assert response.context["form"].errors == {"date_to": ["The last day cannot be before the first day."]}


@pytest.mark.parametrize("username", ["grid_a", "volunteer", "police"])
def test_create_form_is_forbidden_without_campaign_management(client, login, city, username):
    login(username)
    assert client.get(url("create")).status_code == 403


def test_edit_saves_with_the_version(client, login, city):
    campaign = make_campaign(city)
    login("township")
    response = client.post(
        url("edit", campaign.pk),
        {
            "name": "改名",
            "division": TOWNSHIP,
            "date_from": campaign.date_from,
            "date_to": campaign.date_to,
            "version": 1,
        },
    )
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.name, campaign.version) == ("改名", 2)


def test_edit_of_a_stale_version_shows_the_changes(client, login, city):
    campaign = make_campaign(city)
    services.campaign_update(actor=city["township"], campaign=campaign, expected_version=1, data={"note": "先到"})
    login("township")
    response = client.post(
        url("edit", campaign.pk),
        {
            "name": "后到",
            "division": TOWNSHIP,
            "date_from": campaign.date_from,
            "date_to": campaign.date_to,
            "version": 1,
        },
    )
    assert response.status_code == 200 and response.context["stale_changes"]
    campaign.refresh_from_db()
    assert campaign.name == "全覆盖排查"


def test_edit_of_the_township_campaign_is_forbidden_to_the_village(client, login, city):
    campaign = make_campaign(city)
    login("village_a")
    assert client.get(url("edit", campaign.pk)).status_code == 403


def test_edit_of_a_campaign_out_of_scope_is_not_found(client, login, city):
    campaign = make_campaign(city)
    login("other_township")
    assert client.get(url("edit", campaign.pk)).status_code == 404


# --- campaign page and coverage ----------------------------------------------------------------------------


def test_campaign_page_shows_coverage_and_refreshes_every_30_seconds(client, login, city):
    campaign = make_campaign(city)
    record(city, campaign, city.household_a)
    login("township")
    response = client.get(url("detail", campaign.pk))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'hx-trigger="every 30s"' in body and url("coverage", campaign.pk) in body
    assert "<script>" not in body and 'style="' not in body
    total = response.context["rows"][0]
    assert (total.households, total.visited, total.not_visited) == (3, 1, 2)
    unvisited_link = f"{url('unvisited', campaign.pk)}?reason=not_visited&amp;area={city.grid_a.code}"
    assert unvisited_link in body


def test_coverage_fragment_for_htmx(client, login, city):
    campaign = make_campaign(city)
    login("grid_a")
    response = client.get(url("coverage", campaign.pk), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<div id="coverage"')
    assert [r.code for r in response.context["rows"]] == [TOWNSHIP, city.community_a.code, city.grid_a.code]


@pytest.mark.parametrize("page", ["detail", "coverage", "unvisited", "visits", "round"])
def test_campaign_pages_of_another_township_are_not_found(client, login, city, page):
    campaign = make_campaign(city)
    login("other_township")
    assert client.get(url(page, campaign.pk)).status_code == 404


def test_campaign_page_query_count_is_bounded(client, login, city, django_assert_max_num_queries):
    campaign = make_campaign(city)
    for n in range(3, 40):
        Household.objects.create(
            code=f"{city.grid_a.code}-H{n:04d}", path=city.grid_a.path, grid=city.grid_a, address=f"A {n}"
        )
    login("township")
    with django_assert_max_num_queries(12):
        assert client.get(url("detail", campaign.pk)).status_code == 200


# --- unvisited and visits lists ----------------------------------------------------------------------------


def test_unvisited_list_gives_the_reason_and_filters_by_grid(client, login, city):
    campaign = make_campaign(city)
    record(city, campaign, city.household_a, "nobody_home")
    record(city, campaign, city.household_a2, "refused")
    login("township")
    response = client.get(url("unvisited", campaign.pk))
    rows = [(h.code, h.visit_outcome) for h in response.context["page_obj"]]
    assert rows == [(city.household_a.code, "nobody_home"), (city.household_b.code, None)]
    body = response.content.decode()
    assert f'data-household="{city.household_a.code}" data-reason="nobody_home"' in body
    assert f'data-household="{city.household_b.code}" data-reason="not_visited"' in body
    only_b = client.get(url("unvisited", campaign.pk), {"grid": city.grid_b.code})
    assert [h.code for h in only_b.context["page_obj"]] == [city.household_b.code]


def test_unvisited_list_of_a_grid_outside_the_scope_is_not_found(client, login, city):
    campaign = make_campaign(city)
    login("grid_b")
    assert client.get(url("unvisited", campaign.pk), {"grid": city.grid_a.code}).status_code == 404


def test_unvisited_export_csv(client, login, city):
    campaign = make_campaign(city)
    record(city, campaign, city.household_a, "nobody_home")
    login("township")
    lines = streamed(client.get(url("unvisited", campaign.pk), {"export": "csv"})).strip().splitlines()
    assert lines[0] == "Household code,Address,Grid,Reason,Last visit"
    rows = [line.split(",") for line in lines[1:]]
    assert [(row[0], row[3]) for row in rows] == [
        (city.household_a.code, "Nobody home"),
        (city.household_a2.code, "Not yet visited"),
        (city.household_b.code, "Not yet visited"),
    ]
    assert rows[0][4] != "" and rows[1][4] == ""


def test_unvisited_list_query_count(client, login, city, django_assert_max_num_queries):
    campaign = make_campaign(city)
    for n in range(3, 40):
        Household.objects.create(
            code=f"{city.grid_a.code}-H{n:04d}", path=city.grid_a.path, grid=city.grid_a, address=f"A {n}"
        )
    login("township")
    with django_assert_max_num_queries(12):
        response = client.get(url("unvisited", campaign.pk))
    assert response.context["page_obj"].paginator.count == 40


def test_visit_list_filters_by_outcome_and_exports_xlsx(client, login, city, django_assert_max_num_queries):
    campaign = make_campaign(city)
    record(city, campaign, city.household_a, "visited", returnees_found=1)
    record(city, campaign, city.household_a2, "refused")
    record(city, campaign, city.household_b, "visited", actor="grid_b")
    login("township")
    with django_assert_max_num_queries(12):
        response = client.get(url("visits", campaign.pk), {"outcome": "visited"})
    assert sorted(v.household.code for v in response.context["page_obj"]) == [
        city.household_a.code,
        city.household_b.code,
    ]
    assert b'data-testid="register-returnees"' in response.content
    by_grid = client.get(url("visits", campaign.pk), {"grid": city.grid_b.code})
    assert [v.household.code for v in by_grid.context["page_obj"]] == [city.household_b.code]
    exported = client.get(url("visits", campaign.pk), {"export": "xlsx", "outcome": "refused"})
    data = b"".join(exported.streaming_content)
    values = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()
    assert values[0][:4] == ["Household code", "Address", "Grid", "Outcome"]
    assert [row[0] for row in values[1:]] == [city.household_a2.code]


def test_grid_worker_sees_only_their_grid_visits(client, login, city):
    campaign = make_campaign(city)
    record(city, campaign, city.household_a)
    record(city, campaign, city.household_b, actor="grid_b")
    login("grid_b")
    response = client.get(url("visits", campaign.pk))
    assert [v.household.code for v in response.context["page_obj"]] == [city.household_b.code]


def test_unknown_export_format_is_a_bad_request(client, login, city):
    campaign = make_campaign(city)
    login("township")
    assert client.get(url("visits", campaign.pk), {"export": "pdf"}).status_code == 400


# --- the visiting round ------------------------------------------------------------------------------------


def test_grid_worker_round_opens_on_their_grid_with_unvisited_first(client, login, city):
    campaign = make_campaign(city)
    record(city, campaign, city.household_a)
    login("grid_a")
    response = client.get(url("round", campaign.pk))
    assert response.status_code == 200 and response.context["grid"] == city.grid_a
    assert [h.code for h in response.context["page_obj"]] == [city.household_a2.code, city.household_a.code]


def test_township_officer_chooses_a_grid_first(client, login, city):
    campaign = make_campaign(city)
    login("township")
    response = client.get(url("round", campaign.pk))
    assert response.status_code == 200 and response.context["grid"] is None
    assert [g.code for g in response.context["page_obj"]] == [city.grid_a.code, city.grid_b.code]


def test_round_of_another_grid_is_not_found(client, login, city):
    campaign = make_campaign(city)
    login("grid_b")
    assert client.get(url("round", campaign.pk), {"grid": city.grid_a.code}).status_code == 404


def test_round_is_forbidden_without_visit_recording(client, login, city):
    campaign = make_campaign(city)
    login("city")
    assert client.get(url("round", campaign.pk)).status_code == 403
    assert client.get(url("visit", campaign.pk, city.household_a.pk)).status_code == 403


def test_saving_a_visit_returns_to_the_round_with_the_next_household(client, login, city):
    campaign = make_campaign(city)
    login("grid_a")
    form = client.get(url("visit", campaign.pk, city.household_a.pk))
    assert form.status_code == 200 and b'data-outcome="nobody_home"' in form.content
    response = client.post(
        url("visit", campaign.pk, city.household_a.pk),
        {"outcome": "visited", "members_present": "3", "returnees_found": "0", "unvaccinated": "1", "note": ""},
    )
    assert response.status_code == 302
    assert response["Location"] == (
        f"{url('round', campaign.pk)}?grid={city.grid_a.code}&after={city.household_a.code}"
    )
    saved = HouseholdVisit.objects.get()
    assert (saved.outcome, saved.members_present, saved.unvaccinated, saved.visited_by) == (
        "visited",
        3,
        1,
        city["grid_a"],
    )
    back = client.get(response["Location"])
    assert back.context["next_household"] == city.household_a2


def test_revisit_through_the_form_updates_the_row(client, login, city):
    campaign = make_campaign(city)
    record(city, campaign, city.household_a, "nobody_home")
    login("volunteer")
    response = client.post(url("visit", campaign.pk, city.household_a.pk), {"outcome": "visited", "version": "1"})
    assert response.status_code == 302
    saved = HouseholdVisit.objects.get()
    assert (saved.outcome, saved.version, saved.visited_by) == ("visited", 2, city["volunteer"])
    page = client.get(url("visit", campaign.pk, city.household_a.pk))
    assert len(page.context["events"]) == 2


def test_grid_b_cannot_open_the_visit_form_of_a_grid_a_household(client, login, city):
    campaign = make_campaign(city)
    login("grid_b")
    assert client.get(url("visit", campaign.pk, city.household_a.pk)).status_code == 404
    assert client.post(url("visit", campaign.pk, city.household_a.pk), {"outcome": "visited"}).status_code == 404
    assert not HouseholdVisit.objects.exists()


def test_visit_form_after_the_campaign_ended_says_why_and_saves_nothing(client, login, city):
    campaign = make_campaign(city, start=-5, end=-1)
    login("grid_a")
    page = client.get(url("visit", campaign.pk, city.household_a.pk))
    assert b'data-testid="not-running"' in page.content
    response = client.post(url("visit", campaign.pk, city.household_a.pk), {"outcome": "visited"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        f"The campaign ended on {campaign.date_to.isoformat()}; visits can no longer be recorded."
    ]
    assert not HouseholdVisit.objects.exists()


# --- API ---------------------------------------------------------------------------------------------------


def test_api_lists_campaigns_in_scope(api, city):
    campaign = make_campaign(city)
    body = api("grid_a").get("/api/v1/campaigns/").json()
    assert [row["id"] for row in body["results"]] == [campaign.pk]
    assert body["results"][0]["division"] == TOWNSHIP
    assert api("other_township").get("/api/v1/campaigns/").json()["count"] == 0


def test_api_campaigns_are_forbidden_without_campaign_permissions(api, city):
    campaign = make_campaign(city)
    client = api("police")
    assert client.get("/api/v1/campaigns/").status_code == 403
    assert client.get(f"/api/v1/campaigns/{campaign.pk}/coverage/").status_code == 403
    assert client.get("/api/v1/campaign-visits/").status_code == 403


def test_api_retrieve_out_of_scope_is_not_found(api, city):
    campaign = make_campaign(city)
    client = api("other_township")
    assert client.get(f"/api/v1/campaigns/{campaign.pk}/").status_code == 404
    assert client.get(f"/api/v1/campaigns/{campaign.pk}/coverage/").status_code == 404


def test_api_creates_a_campaign(api, city):
    today = timezone.localdate().isoformat()
    response = api("township").post(
        "/api/v1/campaigns/",
        {"name": "API排查", "division": city.community_b.code, "date_from": today, "date_to": today},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert Campaign.objects.get(pk=response.json()["id"]).path == city.community_b.code


def test_api_create_outside_the_scope_or_without_permission_is_refused(api, city):
    today = timezone.localdate().isoformat()
    body = {"name": "x", "division": TOWNSHIP, "date_from": today, "date_to": today}
    assert api("other_township").post("/api/v1/campaigns/", body, format="json").status_code == 400
    assert api("grid_a").post("/api/v1/campaigns/", body, format="json").status_code == 403
    assert not Campaign.objects.exists()


def test_api_patch_campaign_needs_the_version(api, city):
    campaign = make_campaign(city)
    client = api("township")
    assert client.patch(f"/api/v1/campaigns/{campaign.pk}/", {"name": "y"}, format="json").status_code == 400
    ok = client.patch(f"/api/v1/campaigns/{campaign.pk}/", {"name": "y", "version": 1}, format="json")
    assert ok.status_code == 200 and ok.json()["version"] == 2
    assert (
        client.patch(f"/api/v1/campaigns/{campaign.pk}/", {"name": "z", "version": 1}, format="json").status_code == 409
    )


def test_api_coverage(api, city):
    campaign = make_campaign(city)
    record(city, campaign, city.household_a)
    record(city, campaign, city.household_b, "nobody_home", actor="grid_b")
    rows = api("township").get(f"/api/v1/campaigns/{campaign.pk}/coverage/").json()
    assert rows[0] == {
        "level": "campaign",
        "code": TOWNSHIP,
        "name": "结古街道",
        "households": 3,
        "visited": 1,
        "nobody_home": 1,
        "refused": 0,
        "not_visited": 1,
        "percent": 33.3,
    }
    assert [row["code"] for row in rows[1:]] == [
        city.community_a.code,
        city.grid_a.code,
        city.community_b.code,
        city.grid_b.code,
    ]


def test_api_visit_post_creates_then_updates(api, city):
    campaign = make_campaign(city)
    client = api("grid_a")
    body = {"campaign": campaign.pk, "household": city.household_a.code, "outcome": "nobody_home"}
    first = client.post("/api/v1/campaign-visits/", body, format="json")
    assert first.status_code == 201, first.content
    assert first.json()["version"] == 1 and first.json()["household"] == city.household_a.code
    again = client.post(
        "/api/v1/campaign-visits/",
        {**body, "outcome": "visited", "members_present": 2, "symptoms": True, "version": 1},
        format="json",
    )
    assert again.status_code == 200 and again.json()["version"] == 2
    assert HouseholdVisit.objects.get().outcome == "visited"
    stale = client.post("/api/v1/campaign-visits/", {**body, "version": 1}, format="json")
    assert stale.status_code == 409


def test_api_visit_of_another_grid_household_is_not_found(api, city):
    campaign = make_campaign(city)
    body = {"campaign": campaign.pk, "household": city.household_a.code, "outcome": "visited"}
    assert api("grid_b").post("/api/v1/campaign-visits/", body, format="json").status_code == 404
    assert api("other_township").post("/api/v1/campaign-visits/", body, format="json").status_code == 404
    assert not HouseholdVisit.objects.exists()


def test_api_visit_without_permission_is_forbidden(api, city):
    campaign = make_campaign(city)
    body = {"campaign": campaign.pk, "household": city.household_a.code, "outcome": "visited"}
    assert api("city").post("/api/v1/campaign-visits/", body, format="json").status_code == 403


def test_api_visit_outside_dates_or_division_is_a_bad_request(api, city):
    ended = make_campaign(city, start=-5, end=-1)
    client = api("township")
    body = {"campaign": ended.pk, "household": city.household_a.code, "outcome": "visited"}
    response = client.post("/api/v1/campaign-visits/", body, format="json")
    assert response.status_code == 400 and set(response.json()) == {"campaign"}
    village = make_campaign(city, code=city.community_a.code)
    body = {"campaign": village.pk, "household": city.household_b.code, "outcome": "visited"}
    response = client.post("/api/v1/campaign-visits/", body, format="json")
    assert response.status_code == 400 and set(response.json()) == {"household"}


def test_api_visit_list_filters(api, city):
    campaign = make_campaign(city)
    other = make_campaign(city, code=city.community_a.code, name="other")
    record(city, campaign, city.household_a)
    record(city, campaign, city.household_a2, "refused")
    record(city, other, city.household_a)
    client = api("township")
    by_campaign = client.get("/api/v1/campaign-visits/", {"campaign": campaign.pk}).json()
    assert by_campaign["count"] == 2
    refused = client.get("/api/v1/campaign-visits/", {"campaign": campaign.pk, "outcome": "refused"}).json()
    assert [row["household"] for row in refused["results"]] == [city.household_a2.code]
    by_household = client.get("/api/v1/campaign-visits/", {"household": city.household_a.code}).json()
    assert sorted(row["campaign"] for row in by_household["results"]) == sorted([campaign.pk, other.pk])
    assert api("grid_b").get("/api/v1/campaign-visits/").json()["count"] == 0


def test_api_schema_names_the_campaign_routes(client, login, city):
    login("township")
    schema = client.get("/api/schema/").content
    assert b"/api/v1/campaigns/{id}/coverage/" in schema and b"/api/v1/campaign-visits/" in schema
