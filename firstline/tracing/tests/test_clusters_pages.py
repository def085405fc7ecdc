"""Cluster pages, graph JSON (plain, aggregated, drill-down), exports and API, with jurisdiction scoping: a cluster
is visible when one of its members is; inside it, persons outside the viewer's scope are anonymous nodes."""

from __future__ import annotations

import datetime
import io
import json
from typing import Any

import pytest
import python_calamine
from django.urls import reverse
from django.utils import translation

from firstline.core.models import AuditEvent
from firstline.tracing.clusters.services import clusters_recompute
from firstline.tracing.models import Cluster, ClusterMember, Venue
from firstline.tracing.tests.test_clusters import cluster_of, expose, new_case, new_contact, new_person, today

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings: Any) -> Any:
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def scene(city: Any) -> dict[str, Any]:
    """Cluster "local": a (case, grid A) → a2 (grid A).
    Cluster "mixed": b (case, grid B) → x (grid A) → c (village C)."""
    a, b, c = city.person_a, city.person_b, city.person_c
    a2 = new_person(city.household_a2, "索南")
    x = new_person(city.household_a, "拉毛")
    new_case(a)
    new_case(b, classification="asymptomatic")
    new_contact(x, kind="close")
    new_contact(c, kind="secondary")
    expose(a, a2, days_ago=4)
    expose(b, x, days_ago=6)
    expose(x, c, days_ago=2, status="pending")
    clusters_recompute()
    return {"a": a, "a2": a2, "b": b, "c": c, "x": x, "local": cluster_of(a), "mixed": cluster_of(b)}


def graph(client: Any, cluster: Cluster, **params: Any) -> dict[str, Any]:
    response = client.get(reverse("tracing:cluster_graph", args=[cluster.pk]), params)
    assert response.status_code == 200
    data: dict[str, Any] = response.json()
    return data


def nodes_by_label(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["data"]["label"]: n["data"] for n in payload["nodes"]}


# -- list -----------------------------------------------------------------------------------------------------


def test_grid_b_lists_only_the_cluster_with_a_member_in_grid_b(client, login, scene):
    login("grid_b")
    response = client.get(reverse("tracing:cluster_list"))
    assert response.status_code == 200
    assert [c.pk for c in response.context["page_obj"]] == [scene["mixed"].pk]


def test_cdc_city_wide_lists_every_cluster(client, login, scene):
    login("cdc")
    response = client.get(reverse("tracing:cluster_list"))
    assert {c.pk for c in response.context["page_obj"]} == {scene["local"].pk, scene["mixed"].pk}


def test_the_list_filters_by_size_activity_dates_and_division(client, login, scene):
    login("cdc")
    url = reverse("tracing:cluster_list")

    def listed(**params: Any) -> set[int]:
        return {c.pk for c in client.get(url, params).context["page_obj"]}

    local, mixed = scene["local"].pk, scene["mixed"].pk
    assert listed(min_size=3) == {mixed}
    assert listed(active="1") == {local, mixed}
    assert listed(active="0") == set()
    assert listed(division=scene["b"].path) == {mixed}
    assert listed(date_from=(today() - datetime.timedelta(days=4)).isoformat()) == {local, mixed}
    assert listed(date_from=(today() - datetime.timedelta(days=3)).isoformat()) == {mixed}
    assert listed(date_to=(today() - datetime.timedelta(days=5)).isoformat()) == {mixed}
    assert listed(min_size="bad") == {local, mixed}  # a bad link never fails the page


def test_the_list_needs_the_view_permission(client, login, scene):
    login("outsider")
    assert client.get(reverse("tracing:cluster_list")).status_code == 403


def test_the_list_query_count_does_not_grow_with_clusters(client, login, city, django_assert_max_num_queries):
    for n in range(12):
        expose(new_person(city.household_a, f"甲{n}"), new_person(city.household_a2, f"乙{n}"))
    clusters_recompute()
    login("grid_a")
    with django_assert_max_num_queries(10):
        response = client.get(reverse("tracing:cluster_list"))
    assert response.context["page_obj"].paginator.count == 12


def test_the_list_exports_csv_and_xlsx(client, login, scene):
    login("cdc")
    response = client.get(reverse("tracing:cluster_list"), {"export": "csv"})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert scene["local"].label in text and scene["mixed"].label in text
    response = client.get(reverse("tracing:cluster_list"), {"export": "xlsx"})
    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(b"".join(response.streaming_content)))
    rows = book.get_sheet_by_index(0).to_python()
    assert rows[0][0] == "Cluster" and len(rows) == 3
    assert AuditEvent.objects.filter(action="export", note__startswith="clusters xlsx").exists()
    assert client.get(reverse("tracing:cluster_list"), {"export": "pdf"}).status_code == 400


def test_the_list_export_needs_the_export_permission(client, login, scene):
    login("volunteer")
    assert client.get(reverse("tracing:cluster_list")).status_code == 200
    assert client.get(reverse("tracing:cluster_list"), {"export": "csv"}).status_code == 403


# -- cluster page ---------------------------------------------------------------------------------------------


def test_a_cluster_wholly_in_grid_a_is_not_found_for_grid_b(client, login, scene):
    login("grid_b")
    for name in ("tracing:cluster_detail", "tracing:cluster_graph"):
        assert client.get(reverse(name, args=[scene["local"].pk])).status_code == 404
    assert client.get(reverse("tracing:cluster_export", args=[scene["local"].pk, "xlsx"])).status_code == 404
    assert client.get(reverse("tracing:cluster_detail", args=[999999])).status_code == 404


def test_the_cluster_page_names_only_persons_in_scope(client, login, scene):
    login("grid_a")
    response = client.get(reverse("tracing:cluster_detail", args=[scene["mixed"].pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert f'data-person="{scene["x"].pk}"' in body and scene["x"].name in body
    assert scene["b"].name not in body and scene["c"].name not in body
    assert body.count('data-anonymous="1"') == 2
    assert reverse("tracing:cluster_graph", args=[scene["mixed"].pk]) in body
    assert "cluster-graph.js" in body and "<script>" not in body


def test_cdc_sees_every_member_of_the_cluster(client, login, scene):
    login("cdc")
    body = client.get(reverse("tracing:cluster_detail", args=[scene["mixed"].pk])).content.decode()
    assert all(scene[k].name in body for k in ("b", "x", "c"))
    assert 'data-anonymous="1"' not in body


def test_the_cluster_page_needs_the_view_permission(client, login, scene):
    login("outsider")
    assert client.get(reverse("tracing:cluster_detail", args=[scene["local"].pk])).status_code == 403
    assert client.get(reverse("tracing:cluster_graph", args=[scene["local"].pk])).status_code == 403


def test_the_cluster_page_query_count(client, login, scene, django_assert_max_num_queries):
    login("cdc")
    with django_assert_max_num_queries(12):
        assert client.get(reverse("tracing:cluster_detail", args=[scene["mixed"].pk])).status_code == 200


# -- graph JSON -------------------------------------------------------------------------------------------------


def test_the_graph_gives_person_nodes_and_exposure_edges(client, login, scene):
    login("cdc")
    payload = graph(client, scene["mixed"])
    assert payload["mode"] == "plain" and payload["persons"] == 3
    nodes = nodes_by_label(payload)
    b, x, c = nodes[scene["b"].name], nodes[scene["x"].name], nodes[scene["c"].name]
    assert (b["role"], b["classification"], b["id"]) == ("case", "asymptomatic", f"p{scene['b'].pk}")
    assert (x["role"], c["role"]) == ("close", "secondary")
    assert b["url"] == reverse("people:detail", args=[scene["b"].pk])
    edges = {(e["data"]["source"], e["data"]["target"]): e["data"] for e in payload["edges"]}
    assert set(edges) == {(b["id"], x["id"]), (x["id"], c["id"])}
    first = edges[(b["id"], x["id"])]
    assert first["setting"] == "household" and first["verified"] is True
    assert first["date"] == (today() - datetime.timedelta(days=6)).isoformat()
    assert edges[(x["id"], c["id"])]["verified"] is False  # pending verification


def test_the_graph_anonymises_persons_outside_the_scope(client, login, scene):
    login("grid_a")
    payload = graph(client, scene["mixed"])
    anonymous = [n["data"] for n in payload["nodes"] if n["data"]["anonymous"]]
    assert len(anonymous) == 2
    for node in anonymous:
        assert node["label"] == "(other jurisdiction)" and node["url"] == ""
        assert node["id"] not in (f"p{scene['b'].pk}", f"p{scene['c'].pk}")
    text = json.dumps(payload, ensure_ascii=False)
    assert scene["b"].name not in text and scene["c"].name not in text
    # The anonymous ids are stable, so drill-downs and exports line up.
    assert {n["id"] for n in anonymous} == {n["data"]["id"] for n in graph(client, scene["mixed"])["nodes"]} - {
        f"p{scene['x'].pk}"
    }
    # Classification and role stay: the chain is complete without names.
    assert {n["role"] for n in anonymous} == {"case", "secondary"}


def test_the_graph_filters_narrow_by_date_and_division(client, login, scene):
    login("cdc")
    recent = graph(client, scene["mixed"], date_from=(today() - datetime.timedelta(days=3)).isoformat())
    assert recent["persons"] == 2 and len(recent["edges"]) == 1
    early = graph(client, scene["mixed"], date_to=(today() - datetime.timedelta(days=5)).isoformat())
    assert {n["data"]["label"] for n in early["nodes"]} == {scene["b"].name, scene["x"].name}
    village = graph(client, scene["mixed"], division=scene["c"].path)
    assert len(village["edges"]) == 1 and village["persons"] == 2
    assert graph(client, scene["mixed"], division="632701999")["nodes"] == []


@pytest.fixture
def big(city: Any) -> dict[str, Any]:
    """A case in household A with 4 household members, 3 in household A2, and 2 exposed at a venue."""
    case = city.person_a
    new_case(case)
    venue = Venue.objects.create(code="V0001", name="测试超市", category="supermarket", path=city.grid_a.path)
    home = [new_person(city.household_a, f"家{n}") for n in range(4)]
    neighbours = [new_person(city.household_a2, f"邻{n}") for n in range(3)]
    shoppers = [new_person(city.household_b, f"客{n}") for n in range(2)]
    for person in home:
        expose(case, person)
    for person in neighbours:
        expose(home[0], person, setting="shared_meal")
    for person in shoppers:
        expose(case, person, setting="venue", venue=venue)
    clusters_recompute()
    return {"case": case, "venue": venue, "home": home, "neighbours": neighbours, "shoppers": shoppers}


def test_a_large_cluster_is_aggregated_by_household_and_venue(client, login, big, city, settings):
    settings.CLUSTER_GRAPH_MAX_NODES = 3
    login("cdc")
    payload = graph(client, cluster_of(big["case"]))
    assert payload["mode"] == "aggregated" and payload["persons"] == 10
    groups = {n["data"]["id"]: n["data"] for n in payload["nodes"]}
    home, meal, venue = f"h{city.household_a.pk}", f"h{city.household_a2.pk}", f"v{big['venue'].pk}"
    assert set(groups) == {home, meal, venue}
    assert (groups[home]["count"], groups[home]["cases"], groups[home]["internal"]) == (5, 1, 4)
    assert groups[meal]["count"] == 3 and groups[venue]["count"] == 2
    assert groups[venue]["kind"] == "venue" and "测试超市" in groups[venue]["label"]
    edges = {(e["data"]["source"], e["data"]["target"]): e["data"] for e in payload["edges"]}
    assert edges[(home, meal)]["count"] == 3 and edges[(home, meal)]["setting"] == "shared_meal"
    assert edges[(home, venue)]["count"] == 2


def test_clicking_a_group_drills_down_to_its_persons(client, login, big, city, settings):
    settings.CLUSTER_GRAPH_MAX_NODES = 3
    login("cdc")
    group = f"h{city.household_a2.pk}"
    payload = graph(client, cluster_of(big["case"]), group=group)
    assert payload["mode"] == "group" and payload["group"] == group
    assert {n["data"]["label"] for n in payload["nodes"]} == {p.name for p in big["neighbours"]}
    assert all(n["data"]["group"] == group for n in payload["nodes"])
    assert len(payload["edges"]) == 3
    for edge in payload["edges"]:
        data = edge["data"]
        assert data["source"] == f"p{big['home'][0].pk}"
        assert (data["source_group"], data["target_group"]) == (f"h{city.household_a.pk}", group)


def test_a_group_outside_the_scope_is_labelled_anonymously(client, login, big, city, settings):
    settings.CLUSTER_GRAPH_MAX_NODES = 3
    login("grid_b")  # sees the shoppers (grid B) only
    payload = graph(client, cluster_of(big["case"]))
    labels = {n["data"]["id"]: n["data"]["name"] for n in payload["nodes"]}
    assert labels[f"h{city.household_a.pk}"] == "(other jurisdiction)"
    assert labels[f"v{big['venue'].pk}"] == "(other jurisdiction)"  # the venue is in grid A


def test_the_graph_query_count_does_not_grow_with_the_cluster(
    client, login, big, settings, django_assert_max_num_queries
):
    login("cdc")
    cluster = cluster_of(big["case"])
    with django_assert_max_num_queries(10):
        assert graph(client, cluster)["mode"] == "plain"
    settings.CLUSTER_GRAPH_MAX_NODES = 3
    with django_assert_max_num_queries(12):
        assert graph(client, cluster)["mode"] == "aggregated"


# -- exports of one cluster --------------------------------------------------------------------------------------


def _workbook(response: Any) -> Any:
    return python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(b"".join(response.streaming_content)))


def test_the_cluster_exports_as_xlsx_with_members_and_exposures(client, login, scene):
    login("township")  # 结古街道: grids A and B, not village C; ID numbers masked (no full-PII permission)
    response = client.get(reverse("tracing:cluster_export", args=[scene["mixed"].pk, "xlsx"]))
    assert response.status_code == 200
    book = _workbook(response)
    assert book.sheet_names == ["Members", "Exposures"]
    members = book.get_sheet_by_name("Members").to_python()
    assert members[0][:3] == ["Node", "Name", "ID number"]
    by_name = {row[1]: row for row in members[1:]}
    assert set(by_name) == {scene["b"].name, scene["x"].name, "(other jurisdiction)"}
    assert by_name[scene["b"].name][2] != scene["b"].id_number and "*" in by_name[scene["b"].name][2]
    assert by_name["(other jurisdiction)"][2] == ""
    exposures = book.get_sheet_by_name("Exposures").to_python()
    assert len(exposures) == 3 and exposures[0][0] == "Exposure"
    assert AuditEvent.objects.filter(action="export", object_id=str(scene["mixed"].pk)).exists()


def test_the_cluster_exports_as_json_nodes_and_edges(client, login, scene):
    login("cdc")
    response = client.get(reverse("tracing:cluster_export", args=[scene["mixed"].pk, "json"]))
    assert response["Content-Disposition"].startswith("attachment")
    data = json.loads(response.content)
    assert set(data) >= {"cluster", "nodes", "edges"}
    assert data["cluster"]["id"] == scene["mixed"].pk and len(data["nodes"]) == 3 and len(data["edges"]) == 2
    ids = {n["data"]["id"] for n in data["nodes"]}
    assert all(e["data"]["source"] in ids and e["data"]["target"] in ids for e in data["edges"])


def test_cluster_exports_need_the_export_permission(client, login, scene):
    login("volunteer")
    assert client.get(reverse("tracing:cluster_export", args=[scene["local"].pk, "xlsx"])).status_code == 403
    login("cdc")
    assert client.get(reverse("tracing:cluster_export", args=[scene["local"].pk, "pdf"])).status_code == 404


# -- API ---------------------------------------------------------------------------------------------------------


def test_api_lists_clusters_in_scope_with_filters(api, scene):
    body = api("grid_b").get("/api/v1/clusters/").json()
    assert [c["id"] for c in body["results"]] == [scene["mixed"].pk]
    cdc = api("cdc")
    assert {c["id"] for c in cdc.get("/api/v1/clusters/").json()["results"]} == {
        scene["local"].pk,
        scene["mixed"].pk,
    }
    assert [c["id"] for c in cdc.get("/api/v1/clusters/", {"min_size": 3}).json()["results"]] == [scene["mixed"].pk]
    assert cdc.get("/api/v1/clusters/", {"active": "false"}).json()["count"] == 0
    assert [c["id"] for c in cdc.get("/api/v1/clusters/", {"division": scene["a"].path}).json()["results"]] == [
        scene["local"].pk
    ]
    first = cdc.get("/api/v1/clusters/", {"min_size": 3}).json()["results"][0]
    assert first["size"] == 3 and first["case_count"] == 1 and first["active"] is True


def test_api_detail_gives_members_and_edges_as_the_caller_may_see_them(api, scene):
    response = api("grid_a").get(f"/api/v1/clusters/{scene['mixed'].pk}/")
    assert response.status_code == 200
    body = response.json()
    members = {m["node"]: m for m in body["members"]}
    named = [m for m in members.values() if m["person"] is not None]
    assert [m["person"] for m in named] == [scene["x"].pk]
    anonymous = [m for m in members.values() if m["person"] is None]
    assert {m["name"] for m in anonymous} == {"(other jurisdiction)"} and all(m["path"] is None for m in anonymous)
    assert len(body["edges"]) == 2
    assert all(e["source"] in members and e["target"] in members for e in body["edges"])


def test_api_detail_is_not_found_out_of_scope_and_empty_without_permission(api, scene):
    assert api("grid_b").get(f"/api/v1/clusters/{scene['local'].pk}/").status_code == 404
    assert api("outsider").get("/api/v1/clusters/").json()["count"] == 0
    assert api("outsider").get(f"/api/v1/clusters/{scene['local'].pk}/").status_code == 404


def test_api_list_query_count(api, city, django_assert_max_num_queries):
    for n in range(8):
        expose(new_person(city.household_a, f"甲{n}"), new_person(city.household_a2, f"乙{n}"))
    clusters_recompute()
    client = api("cdc")
    with django_assert_max_num_queries(8):
        assert client.get("/api/v1/clusters/").json()["count"] == 8


def test_members_keep_their_cluster_row_after_a_recompute(scene):
    before = set(ClusterMember.objects.values_list("pk", flat=True))
    clusters_recompute()
    assert set(ClusterMember.objects.values_list("pk", flat=True)) == before
