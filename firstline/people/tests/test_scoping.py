"""Who sees which person: pages and API answer 404 out of scope, exactly as for a missing record."""

from __future__ import annotations

import pytest
from django.urls import reverse

from firstline.dispatch.services import task_create
from firstline.people.models import Person

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("username", "visible"),
    [
        ("grid_a", {"person_a"}),
        ("grid_b", {"person_b"}),
        ("volunteer", {"person_a"}),
        ("village_a", {"person_a"}),
        ("township", {"person_a", "person_b"}),
        ("other_township", {"person_c"}),
        ("city", {"person_a", "person_b", "person_c"}),
        ("cdc", {"person_a", "person_b", "person_c"}),
        ("police", set()),
        ("outsider", set()),
    ],
)
def test_visible_to_follows_memberships(city, username, visible):
    expected = {getattr(city, name).pk for name in visible}
    assert set(Person.objects.visible_to(city[username]).values_list("pk", flat=True)) == expected


def test_anonymous_sees_nobody(city):
    from django.contrib.auth.models import AnonymousUser

    assert not Person.objects.visible_to(AnonymousUser()).exists()


def test_police_sees_the_person_a_police_task_is_about(city):
    task_create(actor=None, title="核查", related=city.person_b, assignee_department=city.police)
    visible = set(Person.objects.visible_to(city["police"]).values_list("pk", flat=True))
    assert visible == {city.person_b.pk}


def test_inactive_membership_grants_nothing(city):
    city["grid_a"].memberships.update(active=False)
    city["grid_a"].forget_scope()
    assert not Person.objects.visible_to(city["grid_a"]).exists()


@pytest.mark.parametrize("page", ["people:detail", "people:edit"])
def test_person_pages_allowed_in_scope(client, login, city, page):
    login("grid_a")
    assert client.get(reverse(page, args=[city.person_a.pk])).status_code == 200


@pytest.mark.parametrize("page", ["people:detail", "people:edit"])
def test_person_pages_404_out_of_scope(client, login, city, page):
    login("grid_b")
    out_of_scope = client.get(reverse(page, args=[city.person_a.pk]))
    missing = client.get(reverse(page, args=[999999]))
    assert out_of_scope.status_code == missing.status_code == 404
    assert out_of_scope.content == missing.content


def test_reveal_404_out_of_scope(client, login, city):
    login("other_township")
    assert client.post(reverse("people:reveal", args=[city.person_a.pk])).status_code == 404


def test_api_person_404_out_of_scope(api, city):
    assert api("grid_a").get(f"/api/v1/persons/{city.person_a.pk}/").status_code == 200
    assert api("grid_b").get(f"/api/v1/persons/{city.person_a.pk}/").status_code == 404
    assert (
        api("grid_b").patch(f"/api/v1/persons/{city.person_a.pk}/", {"phone": "13811112222", "version": 1}).status_code
        == 404
    )


def test_api_list_is_scoped(api, city):
    body = api("grid_a").get("/api/v1/persons/").json()
    assert body["count"] == 1
    assert [row["id"] for row in body["results"]] == [city.person_a.pk]


def test_list_page_shows_only_scoped_people(client, login, city):
    login("township")
    content = client.get(reverse("people:list")).content.decode()
    assert "扎西多杰" in content and "才仁卓玛" in content and "尼玛" not in content.replace("才仁卓玛", "")


def test_login_required_everywhere(client, city):
    for url in [reverse("people:list"), reverse("people:detail", args=[city.person_a.pk]), reverse("home")]:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.get("/api/v1/persons/").status_code in (401, 403)
