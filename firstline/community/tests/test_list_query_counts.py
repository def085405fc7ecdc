"""List pages and API lists of community that had no query-count test: the count does not grow with the rows.

Each test opens the list once with one row (the baseline), adds a dozen rows, and opens it again within the
baseline's number of queries.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from conftest import make_person, valid_id
from firstline.community.models import Commitment, FrontlineWorker
from firstline.community.roster import services as roster_services
from firstline.community.tests.roster_support import make_post, put_on

MORE = 12


def _grows_flat(fetch: Callable[[], Any], add: Callable[[int], None], assert_max: Any) -> Any:
    fetch()  # warm caches (content types, scope) so the baseline counts the list itself
    with assert_max(40) as few:
        fetch()
    for n in range(MORE):
        add(n)
    with assert_max(len(few.captured_queries)):
        return fetch()


def _add_worker(city: Any) -> Callable[[int], None]:
    def add(n: int) -> None:
        person = make_person(household=city.household_a, name=f"医护{n}", id_number=valid_id(f"63270119950606{n:03d}"))
        FrontlineWorker.objects.create(person=person, post_kind="medical", post=f"医院{n}", path=person.path)

    return add


@pytest.mark.parametrize("where", ["page", "api"])
def test_the_frontline_registry_does_not_grow_in_queries(
    client: Any, login: Any, api: Any, city: Any, community: Any, django_assert_max_num_queries: Any, where: str
) -> None:
    if where == "page":
        login("township")
        response = _grows_flat(
            lambda: client.get(reverse("community:frontline_list")), _add_worker(city), django_assert_max_num_queries
        )
        assert response.context["page_obj"].paginator.count == MORE + 1
    else:
        caller = api("township")
        response = _grows_flat(
            lambda: caller.get(reverse("frontline-worker-list")), _add_worker(city), django_assert_max_num_queries
        )
        assert response.json()["count"] == MORE + 1


@pytest.mark.parametrize("where", ["page", "api"])
def test_the_post_list_does_not_grow_in_queries(
    client: Any, login: Any, api: Any, city: Any, django_assert_max_num_queries: Any, where: str
) -> None:
    make_post(city, name="岗0")

    def add(n: int) -> None:
        make_post(city, name=f"岗{n + 1}", area=city.grid_a.code if n % 2 else city.community_b.code)

    if where == "page":
        login("township")
        response = _grows_flat(lambda: client.get(reverse("community:post_list")), add, django_assert_max_num_queries)
        assert response.context["page_obj"].paginator.count == MORE + 1
    else:
        caller = api("township")
        response = _grows_flat(lambda: caller.get(reverse("post-list")), add, django_assert_max_num_queries)
        assert response.json()["count"] == MORE + 1


def test_the_pledge_records_do_not_grow_in_queries(
    client: Any, login: Any, city: Any, community: Any, django_assert_max_num_queries: Any
) -> None:
    commitments = list(Commitment.objects.order_by("number"))
    today = timezone.localdate()
    roster_services.pledge_sign(
        actor=city["township"], volunteer=community.member_a, commitments=commitments[:1], signed_on=today
    )
    members = [
        roster_services.volunteer_create(
            actor=city["township"],
            person=make_person(
                household=city.household_a, name=f"党员{n}", id_number=valid_id(f"63270119770707{n:03d}")
            ),
            kind="party_member",
            party_branch="测试甲社区党支部",
            area=city.grid_a.code,
        )
        for n in range(MORE)
    ]

    def add(n: int) -> None:
        roster_services.pledge_sign(
            actor=city["township"], volunteer=members[n], commitments=commitments, signed_on=today
        )

    login("township")
    response = _grows_flat(lambda: client.get(reverse("community:pledge_list")), add, django_assert_max_num_queries)
    assert response.status_code == 200


def test_my_duty_does_not_grow_in_queries(
    client: Any, login: Any, city: Any, community: Any, django_assert_max_num_queries: Any
) -> None:
    # Given shifts of grid_a's member on the coming days, at two posts
    posts = [make_post(city, name="结古检查站"), make_post(city, name="物资点", kind="supply")]
    first = timezone.localtime().replace(hour=9, minute=0, second=0, microsecond=0) + datetime.timedelta(days=1)
    put_on(city, posts[0], community.member_a, first, first + datetime.timedelta(hours=3))

    def add(n: int) -> None:
        start = first + datetime.timedelta(days=n + 1)
        put_on(city, posts[n % 2], community.member_a, start, start + datetime.timedelta(hours=3))

    login("grid_a")
    response = _grows_flat(lambda: client.get(reverse("community:my_duty")), add, django_assert_max_num_queries)
    assert response.status_code == 200 and len(response.context["rows"]) == MORE + 1
