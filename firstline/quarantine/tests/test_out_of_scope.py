"""Every quarantine page and endpoint that takes a record's id answers 404 to a user who holds the permission but
not the record (another township's site, another site's placement, another grid's home), exactly as for a record
that does not exist, and changes nothing.

Given: a site of 结古街道 (``sites.main``) and one of 隆宝镇 (``sites.other``) with person_c placed there, a care
need on that stay and its first sampling; person_b at home in grid B with a health check.
The township officer of 结古街道 and the manager of ``sites.main`` act on the 隆宝镇 records; grid A on grid B's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from firstline.core.models import AuditEvent
from firstline.quarantine.models import CareNeed, FacilityStaff, Placement
from firstline.quarantine.monitoring.services import health_check_record
from firstline.quarantine.sites import services as site_services
from firstline.quarantine.tests.factories import at, days, measure
from firstline.quarantine.tests.test_sites_placements import place
from firstline.quarantine.tests.test_testing_services import first

pytestmark = pytest.mark.django_db


@dataclass
class Theirs:
    """Records out of the acting users' scope, by the key the cases below name them with."""

    ids: dict[str, int]


@pytest.fixture
def theirs(city: Any, sites: Any) -> Theirs:
    at_other = place(city, city.person_c, sites.other_room, actor="city")
    need = site_services.care_need_add(actor=city["city"], placement=at_other, kind="medicine", description="降压药")
    measure(city.person_b, measure_type="home_quarantine", start=days(-2), duration=14)
    home_b = place(city, city.person_b, kind="home", actor="city", start_at=at(days(-2), 7))
    check = health_check_record(
        actor=city["grid_b"], placement=home_b, at=timezone.now(), temperature="36.5", symptoms=[]
    )
    return Theirs(
        ids={
            "site": sites.other.pk,
            "room": sites.other_room.pk,
            "staff": FacilityStaff.objects.get(facility=sites.other).pk,
            "placement": at_other.pk,
            "need": need.pk,
            "sampling": first(at_other).pk,
            "person": city.person_c.pk,
            "home": home_b.pk,
            "check": check.pk,
        }
    )


# (user, method, URL name, key of the record in ``theirs``, POST data)
PAGES = [
    ("township", "get", "facility_detail", "site", {}),
    ("township", "get", "facility_edit", "site", {}),
    ("township", "post", "facility_edit", "site", {"code": "QB01", "name": "x", "version": 1}),
    ("township", "post", "facility_rooms_add", "site", {"floor_label": "9F", "numbers": "901", "capacity": 1}),
    ("township", "post", "facility_staff_add", "site", {"site_role": "nurse"}),
    ("township", "get", "site_board", "site", {}),
    ("township", "post", "site_board_state", "site", {"state": "out_of_service"}),
    ("township", "post", "facility_staff_remove", "staff", {}),
    ("township", "get", "room_edit", "room", {}),
    ("township", "post", "room_edit", "room", {"number": "999", "floor_label": "1F", "capacity": 1}),
    ("township", "post", "room_state", "room", {"state": "out_of_service"}),
    ("site", "post", "room_state", "room", {"state": "out_of_service"}),
    ("township", "get", "placement_detail", "placement", {}),
    ("site", "get", "placement_detail", "placement", {}),
    ("site", "get", "placement_transfer", "placement", {}),
    ("site", "post", "placement_transfer", "placement", {"to_home": "on", "reason": "x"}),
    ("site", "post", "placement_release", "placement", {"early_reason": "x"}),
    ("site", "post", "placement_end", "placement", {"reason": "x"}),
    ("site", "post", "placement_numbers", "placement", {"seal_number": "S-9"}),
    ("site", "get", "placement_certificate", "placement", {}),
    ("site", "post", "care_need_add", "placement", {"kind": "food"}),
    ("site", "post", "care_need_close", "need", {"done": "1"}),
    ("site", "get", "sampling_detail", "sampling", {}),
    ("site", "post", "sampling_record", "sampling", {}),
    ("site", "post", "sampling_result", "sampling", {"result": "negative"}),
    ("grid_a", "get", "self_report_link", "home", {}),
    ("grid_a", "get", "placement_detail", "home", {}),
]


@pytest.mark.parametrize(("username", "method", "name", "key", "data"), PAGES, ids=lambda v: str(v)[:20])
def test_a_page_for_a_record_out_of_scope_is_404_and_changes_nothing(
    client: Any, login: Any, theirs: Theirs, username: str, method: str, name: str, key: str, data: dict
) -> None:
    login(username)
    events = AuditEvent.objects.count()
    response = getattr(client, method)(reverse(f"quarantine:{name}", args=[theirs.ids[key]]), data)
    assert response.status_code == 404
    assert AuditEvent.objects.count() == events


OWNER = {"township": "other_township", "site": "site_other", "grid_a": "grid_b"}


@pytest.mark.parametrize(
    ("username", "method", "name", "key", "data"),
    [case for case in PAGES if case[2] != "placement_certificate"],  # 404 for all until released
    ids=lambda v: str(v)[:20],
)
def test_the_same_page_is_not_404_for_the_records_own_user(
    client: Any, login: Any, theirs: Theirs, username: str, method: str, name: str, key: str, data: dict
) -> None:
    """The control of the test above: the 404 comes from the scope, not from a wrong id or address."""
    login(OWNER[username])
    response = getattr(client, method)(reverse(f"quarantine:{name}", args=[theirs.ids[key]]), data)
    assert response.status_code != 404


# Pages that take the record as a query parameter.
QUERY_PAGES = [
    ("township", "placement_create", {"person": "person"}),
    ("site", "placement_create", {"person": "person"}),
    ("township", "sampling_add", {"person": "person"}),
    ("township", "placement_transfer", {"facility": "site"}),
]


@pytest.mark.parametrize(("username", "name", "query"), QUERY_PAGES, ids=lambda v: str(v)[:20])
def test_a_page_given_an_out_of_scope_record_in_its_query_is_404(
    client: Any, login: Any, city: Any, sites: Any, theirs: Theirs, username: str, name: str, query: dict
) -> None:
    login(username)
    args = []
    if name == "placement_transfer":  # a placement of the user's own, asked to move to the other township's site
        args = [place(city, city.person_a, sites.rooms["101"], actor="city").pk]
    params = {param: theirs.ids[key] for param, key in query.items()}
    assert client.get(reverse(f"quarantine:{name}", args=args), params).status_code == 404


# (user, method, path with {id}, key, body)
ENDPOINTS = [
    ("township", "get", "/api/v1/facilities/{id}/", "site", {}),
    ("township", "patch", "/api/v1/facilities/{id}/", "site", {"name": "x", "version": 1}),
    ("township", "get", "/api/v1/rooms/{id}/", "room", {}),
    ("township", "patch", "/api/v1/rooms/{id}/", "room", {"state": "out_of_service"}),
    ("township", "get", "/api/v1/placements/{id}/", "placement", {}),
    ("site", "post", "/api/v1/placements/{id}/transfer/", "placement", {"reason": "x"}),
    ("site", "post", "/api/v1/placements/{id}/release/", "placement", {}),
    ("site", "post", "/api/v1/placements/{id}/end/", "placement", {"reason": "x"}),
    ("site", "get", "/api/v1/samplings/{id}/", "sampling", {}),
    ("site", "post", "/api/v1/samplings/{id}/result/", "sampling", {"result": "negative"}),
    ("grid_a", "get", "/api/v1/health-checks/{id}/", "check", {}),
    ("grid_a", "post", "/api/v1/health-checks/", "home", {"temperature": "36.5"}),
    ("township", "post", "/api/v1/placements/", "person", {"kind": "home"}),
]


@pytest.mark.parametrize(("username", "method", "path", "key", "body"), ENDPOINTS, ids=lambda v: str(v)[:30])
def test_an_endpoint_for_a_record_out_of_scope_is_404_and_changes_nothing(
    api: Any, theirs: Theirs, username: str, method: str, path: str, key: str, body: dict
) -> None:
    events = AuditEvent.objects.count()
    record = theirs.ids[key]
    if "{id}" in path:
        path = path.format(id=record)
    else:  # the record is named in the body
        body = {**body, ("placement" if key == "home" else "person"): record}
    response = getattr(api(username), method)(path, body, format="json")
    assert response.status_code == 404, response.content
    assert AuditEvent.objects.count() == events


def test_the_out_of_scope_records_are_there_for_their_own_users(client: Any, login: Any, theirs: Theirs) -> None:
    """The 404s above are about scope, not about missing records: the other site's manager and grid B see them."""
    login("site_other")
    assert client.get(reverse("quarantine:placement_detail", args=[theirs.ids["placement"]])).status_code == 200
    assert client.get(reverse("quarantine:sampling_detail", args=[theirs.ids["sampling"]])).status_code == 200
    assert CareNeed.objects.filter(pk=theirs.ids["need"]).exists()
    login("grid_b")
    assert client.get(reverse("quarantine:self_report_link", args=[theirs.ids["home"]])).status_code == 200
    assert Placement.objects.filter(pk=theirs.ids["home"], status="active").exists()
