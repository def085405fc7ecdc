"""The care API: /care-requests/ (list, filter, file, retrieve, steps) and /frontline-workers/ (list, flag);
404 out of scope, 403 without permission, 409 on a stale version, no household for an out-of-scope filer."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone

from firstline.community.care import services
from firstline.community.models import CareRequest, FrontlineWorker
from firstline.community.tests.test_care_services import (
    file_for_medic,
    handled,
    site_manager,
    task_of,
    worker_in_longbao,
)

URL = "/api/v1/care-requests/"
WORKERS = "/api/v1/frontline-workers/"


def test_a_worker_files_for_themself(api: Any, city: Any, community: Any) -> None:
    response = api("medic").post(URL, {"category": "meals", "urgency": 3, "description": "宿舍缺食物"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["worker"]["id"] == community.worker_site.pk and body["on_behalf"] is False
    assert body["division"] == {"code": "632701001", "name": "结古街道"} and body["status"] == "open"
    assert body["household"]["code"] == city.household_a.code  # their own home
    assert body["person"]["id_number"] is None  # not a handler
    assert [e["kind"] for e in body["events"]] == ["filed"]
    assert body["actions"] == ["cancel"]


def test_filing_by_worker_key_is_on_behalf_and_hides_the_home(api: Any, city: Any, community: Any) -> None:
    site_manager(city)
    response = api("site_mgr").post(
        URL,
        {
            "worker_key": community.worker_site.person.id_number,
            "category": "family_care",
            "description": "老人无人照顾",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["on_behalf"] is True and body["filed_by"]["username"] == "site_mgr"
    assert body["household"] is None and body["person"]["id_number"] is None
    # The site manager lists the request they filed
    listed = api("site_mgr").get(URL).json()
    assert [row["id"] for row in listed["results"]] == [body["id"]]


def test_filing_errors_are_by_field(api: Any, city: Any, community: Any) -> None:
    response = api("grid_a").post(URL, {"category": "meals", "description": "x"}, format="json")
    assert response.status_code == 400 and "worker" in response.json()
    response = api("grid_a").post(URL, {"worker_key": "nobody", "category": "x", "description": ""}, format="json")
    assert response.status_code == 400 and {"category", "description"} <= set(response.json())
    response = api("grid_a").post(URL, {"worker_key": "nobody", "category": "meals", "description": "x"}, format="json")
    assert response.status_code == 400 and "worker_key" in response.json()
    hidden = worker_in_longbao(city)
    response = api("grid_a").post(URL, {"worker": hidden.pk, "category": "meals", "description": "x"}, format="json")
    assert response.status_code == 400 and "worker" in response.json()


def test_an_unknown_id_and_one_out_of_scope_get_the_same_answer(api: Any, city: Any, community: Any) -> None:
    """The errors must not tell a caller whether a worker, household or user exists outside their view."""
    client = api("grid_a")
    body = {"category": "meals", "description": "x"}

    def error(field: str, value: int, url: str = URL, extra: dict[str, Any] | None = None) -> Any:
        response = client.post(url, {**body, **(extra or {}), field: value}, format="json")
        assert response.status_code == 400, response.content
        return response.json()[field]

    hidden = worker_in_longbao(city)
    assert error("worker", hidden.pk) == error("worker", 999_999)
    own = {"worker": community.worker_site.pk}
    assert error("household", city.household_c.pk, extra=own) == error("household", 999_999, extra=own)
    care = file_for_medic(community)
    client = api("township")
    assign = f"{URL}{care.pk}/assign/"
    version = {"version": care.version}
    assert error("handler", city["other_township"].pk, assign, version) == error("handler", 999_999, assign, version)


def test_permission_and_scope(api: Any, city: Any, community: Any) -> None:
    care = file_for_medic(community)
    assert api("outsider").get(URL).status_code == 403
    assert api("outsider").get(f"{URL}{care.pk}/").status_code == 403
    assert api("outsider").post(URL, {"category": "meals", "description": "x"}, format="json").status_code == 403
    assert api("other_township").get(f"{URL}{care.pk}/").status_code == 404
    assert api("other_township").get(URL).json()["count"] == 0
    step = api("other_township").post(f"{URL}{care.pk}/handle/", {"version": 1, "action_taken": "x"}, format="json")
    assert step.status_code == 404
    township = api("township").get(f"{URL}{care.pk}/").json()
    assert township["person"]["id_number"] != community.worker_site.person.id_number  # masked for the township
    assert township["person"]["id_number"].endswith(community.worker_site.person.id_number[-4:])
    assert set(township["actions"]) == {"assign", "handle", "cancel"}


def test_steps_through_the_api(api: Any, city: Any, community: Any) -> None:
    care = file_for_medic(community)
    township = api("township")
    response = township.post(
        f"{URL}{care.pk}/assign/", {"version": care.version, "handler": city["village_a"].pk}, format="json"
    )
    assert response.status_code == 200, response.content
    version = response.json()["version"]
    assert task_of(care).assignee_user == city["village_a"]
    stale = township.post(f"{URL}{care.pk}/handle/", {"version": version - 1, "action_taken": "x"}, format="json")
    assert stale.status_code == 409
    response = api("village_a").post(
        f"{URL}{care.pk}/handle/", {"version": version, "action_taken": "已送达"}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "handled"
    version = response.json()["version"]
    # The township may close for the requester only with a note saying how they confirmed.
    denied = township.post(f"{URL}{care.pk}/confirm/", {"version": version}, format="json")
    assert denied.status_code == 400 and "note" in denied.json()
    response = api("medic").post(f"{URL}{care.pk}/reopen/", {"version": version, "reason": "没送到"}, format="json")
    assert response.status_code == 200 and response.json()["reopened"] == 1 and response.json()["status"] == "assigned"
    version = response.json()["version"]
    response = api("village_a").post(
        f"{URL}{care.pk}/handle/", {"version": version, "action_taken": "重新送达"}, format="json"
    )
    version = response.json()["version"]
    response = api("medic").post(f"{URL}{care.pk}/confirm/", {"version": version}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "closed"
    kinds = [event["kind"] for event in response.json()["events"]]
    assert kinds == ["filed", "assigned", "handled", "reopened", "handled", "confirmed"]
    missing = api("medic").post(f"{URL}{care.pk}/cancel/", {"version": 99}, format="json")
    assert missing.status_code == 400 and "reason" in missing.json()


def test_assigning_to_an_unknown_or_out_of_township_user_is_refused(api: Any, city: Any, community: Any) -> None:
    care = file_for_medic(community)
    for handler in (999999, city["other_township"].pk):
        response = api("township").post(
            f"{URL}{care.pk}/assign/", {"version": care.version, "handler": handler}, format="json"
        )
        assert response.status_code == 400 and "handler" in response.json()


def test_list_filters(api: Any, city: Any, community: Any) -> None:
    old = file_for_medic(community)
    CareRequest.objects.filter(pk=old.pk).update(due_at=timezone.now() - datetime.timedelta(hours=1))
    urgent = file_for_medic(community, urgency=4, category="health")
    closed = handled(file_for_medic(community), city)
    services.care_request_confirm(actor=community.medic, care=closed, expected_version=closed.version)
    client = api("township")

    def ids(**params: Any) -> list[int]:
        return [row["id"] for row in client.get(URL, params).json()["results"]]

    assert ids() == [old.pk, urgent.pk, closed.pk]
    assert ids(status="overdue") == [old.pk]
    assert ids(status="active") == [old.pk, urgent.pk]
    assert ids(status="closed") == [closed.pk]
    assert ids(urgency=4) == [urgent.pk]
    assert ids(category="health") == [urgent.pk]
    assert ids(division="632701101") == []
    assert api("medic").get(URL, {"mine": "true"}).json()["count"] == 3
    assert client.get(URL, {"mine": "true"}).json()["count"] == 0
    assert client.get(URL, {"status": "bogus"}).status_code == 400


def test_list_query_count_is_flat(api: Any, city: Any, community: Any, django_assert_max_num_queries: Any) -> None:
    client = api("township")
    file_for_medic(community)
    with django_assert_max_num_queries(12) as few:
        client.get(URL)
    for _ in range(8):
        care = file_for_medic(community)
        services.care_request_assign(
            actor=city["township"], care=care, handler=city["village_a"], expected_version=care.version
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(URL).json()["count"] == 9


def test_frontline_workers_list_and_create(api: Any, city: Any, community: Any) -> None:
    response = api("township").post(
        WORKERS,
        {"person": city.person_a.pk, "post_kind": "grid", "post": "网格A", "account": "grid_a"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["account"] == "grid_a" and body["person"]["name"] == city.person_a.name
    assert body["person"]["id_number"] != city.person_a.id_number  # masked for the township
    assert FrontlineWorker.objects.get(pk=body["id"]).user == city["grid_a"]
    listed = api("township").get(WORKERS, {"post_kind": "grid"}).json()
    assert [row["id"] for row in listed["results"]] == [body["id"]]
    again = api("township").post(WORKERS, {"person": city.person_a.pk, "post_kind": "grid"}, format="json")
    assert again.status_code == 400 and "person" in again.json()
    bad_account = api("township").post(
        WORKERS, {"person": city.person_b.pk, "post_kind": "grid", "account": "nobody"}, format="json"
    )
    assert bad_account.status_code == 400 and "account" in bad_account.json()


def test_frontline_workers_scope_and_permission(api: Any, city: Any, community: Any) -> None:
    assert api("grid_a").get(WORKERS).status_code == 403
    assert api("grid_a").post(WORKERS, {"person": city.person_a.pk, "post_kind": "grid"}).status_code == 403
    assert api("other_township").get(WORKERS).json()["count"] == 0
    response = api("other_township").post(WORKERS, {"person": city.person_a.pk, "post_kind": "grid"}, format="json")
    assert response.status_code == 404
