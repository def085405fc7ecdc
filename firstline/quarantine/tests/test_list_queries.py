"""The list pages and API lists of quarantine that had no query count: the health checks, the lost, the samplings
and the rooms cost the same number of queries for two rows as for twelve (no query per row)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from firstline.quarantine.models import Placement
from firstline.quarantine.monitoring.services import health_check_record
from firstline.quarantine.tests.factories import at, days
from firstline.quarantine.tests.monitoring_support import (  # noqa: F401 - fixtures
    _english,
    _monitoring_registered,
    _monitoring_settings,
    home,
    resident,
)

pytestmark = pytest.mark.django_db


def _people(city: Any, first: int, count: int) -> None:
    """``count`` more residents of grid A at home, each with a check yesterday, each lost."""
    for n in range(first, first + count):
        placement = home(resident(city, "a", n), responsible=city["grid_a"])
        health_check_record(
            actor=city["grid_a"], placement=placement, at=at(days(-1), 9), temperature="36.5", symptoms=["cough"]
        )
        Placement.objects.filter(pk=placement.pk).update(lost_since=timezone.now())


def _queries(fetch: Callable[[], Any]) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = fetch()
    assert response.status_code == 200, response.content[:300]
    return len(captured)


PAGES = ["quarantine:check_list", "quarantine:lost_list", "quarantine:sampling_list"]
ENDPOINTS = ["/api/v1/health-checks/", "/api/v1/samplings/", "/api/v1/placements/"]


@pytest.mark.parametrize("name", PAGES)
def test_a_list_page_costs_the_same_queries_for_two_or_twelve_rows(
    client: Any, login: Any, city: Any, name: str, django_assert_max_num_queries: Any
) -> None:
    login("grid_a")
    _people(city, 0, 2)
    few = _queries(lambda: client.get(reverse(name)))
    _people(city, 2, 10)
    with django_assert_max_num_queries(few):
        response = client.get(reverse(name))
    assert response.status_code == 200 and response.context["page_obj"].paginator.count >= 12


@pytest.mark.parametrize("path", ENDPOINTS)
def test_an_api_list_costs_the_same_queries_for_two_or_twelve_rows(
    api: Any, city: Any, path: str, django_assert_max_num_queries: Any
) -> None:
    client = api("grid_a")
    _people(city, 0, 2)
    few = _queries(lambda: client.get(path))
    _people(city, 2, 10)
    with django_assert_max_num_queries(few):
        response = client.get(path)
    body = response.json()
    assert len(body["results"] if isinstance(body, dict) else body) >= 12


def test_the_rooms_api_costs_the_same_queries_for_few_or_many_rooms(
    api: Any, city: Any, sites: Any, django_assert_max_num_queries: Any
) -> None:
    from firstline.quarantine.sites import services

    client = api("site")
    few = _queries(lambda: client.get("/api/v1/rooms/"))
    services.rooms_add(
        actor=city["city"], facility=sites.main, floor_label="3F", numbers=[str(n) for n in range(301, 313)], capacity=1
    )
    with django_assert_max_num_queries(few):
        response = client.get("/api/v1/rooms/")
    body = response.json()
    assert len(body["results"] if isinstance(body, dict) else body) >= 17


# -- masking in the monitoring lists ------------------------------------------------------------------------------


LISTS = ["quarantine:check_list", "quarantine:lost_list", "quarantine:today"]


def _text(response: Any) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode("utf-8-sig")
    return response.content.decode()


@pytest.mark.parametrize("name", LISTS)
@pytest.mark.parametrize("export", ["", "csv"])
def test_the_monitoring_lists_and_exports_mask_id_numbers_and_phones_for_a_role_without_full_pii(
    client: Any, login: Any, city: Any, name: str, export: str
) -> None:
    # Given person_a at home in grid A, checked yesterday and lost
    placement = home(city.person_a, responsible=city["grid_a"])
    health_check_record(actor=city["grid_a"], placement=placement, at=at(days(-1), 9), temperature="36.5", symptoms=[])
    Placement.objects.filter(pk=placement.pk).update(lost_since=timezone.now())
    params = {"export": export} if export else {}
    if name == "quarantine:today":
        params["grid"] = city.grid_a.code
    person = city.person_a
    # the township officer (no full PII) sees the person, with the numbers masked
    login("township")
    masked = _text(client.get(reverse(name), params))
    assert person.name in masked
    assert person.id_number not in masked and person.phone not in masked
    # the grid worker (full PII: they phone the household) sees the whole number
    login("grid_a")
    full = _text(client.get(reverse(name), params))
    assert person.id_number in full or person.phone in full
