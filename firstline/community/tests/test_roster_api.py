"""/api/v1/volunteers/, /api/v1/posts/ and /api/v1/shifts/: allowed, out of scope (404), without permission (403)."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from firstline.community.models import Post, ShiftStatus, Volunteer
from firstline.community.tests.roster_support import MONDAY, at, make_member_b, make_post, put_on
from firstline.people.models import Person

pytestmark = pytest.mark.django_db

VOLUNTEERS, POSTS, SHIFTS = "/api/v1/volunteers/", "/api/v1/posts/", "/api/v1/shifts/"


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


# -- volunteers ---------------------------------------------------------------------------------------------


def test_volunteers_are_listed_and_filtered_in_scope_with_masked_phones(api, city, community):
    make_member_b(city)
    response = api("township").get(VOLUNTEERS, {"kind": "party_member"})
    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert row["id"] == community.member_a.pk and row["phone"] == "138****1111" and row["account"] == "grid_a"
    assert [r["name"] for r in api("township").get(VOLUNTEERS, {"skill": "藏汉翻译"}).json()["results"]] == [
        city.person_b.name
    ]
    assert api("township").get(VOLUNTEERS, {"division": city.grid_b.code}).json()["count"] == 1
    assert api("grid_lead_a").get(VOLUNTEERS).json()["results"][0]["phone"] == city.person_a.phone


def test_a_volunteer_is_created_through_the_api(api, city):
    response = api("township").post(
        VOLUNTEERS,
        {
            "person": city.person_b.pk,
            "kind": "volunteer",
            "area": city.grid_b.code,
            "skills": ["driving", "摄影"],
            "account": "grid_b",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["area"] == city.grid_b.code and response.json()["skills"] == ["driving", "摄影"]


def test_creating_needs_the_person_kind_and_area_and_refuses_persons_out_of_scope(api, city):
    assert set(api("township").post(VOLUNTEERS, {}, format="json").json()) == {"person", "kind", "area"}
    response = api("other_township").post(
        VOLUNTEERS, {"person": city.person_a.pk, "kind": "volunteer", "area": "632701101"}, format="json"
    )
    assert response.status_code == 400 and "person" in response.json()


def test_patch_needs_the_version_and_refuses_a_stale_one(api, city, community):
    client = api("township")
    detail = f"{VOLUNTEERS}{community.member_a.pk}/"
    assert client.patch(detail, {"availability": "晚上"}, format="json").status_code == 400
    response = client.patch(detail, {"availability": "晚上", "version": 1}, format="json")
    assert response.status_code == 200 and response.json()["version"] == 2
    stale = client.patch(detail, {"active": False, "version": 1}, format="json")
    assert stale.status_code == 409 and stale.json()["code"] == "stale_version"


def test_volunteers_out_of_scope_are_404_and_without_permission_403(api, city, community):
    detail = f"{VOLUNTEERS}{community.member_a.pk}/"
    assert api("other_township").get(detail).status_code == 404
    assert api("other_township").patch(detail, {"active": False, "version": 1}, format="json").status_code == 404
    for username in ("grid_a", "grid_b", "police", "outsider"):
        assert api(username).get(VOLUNTEERS).status_code == 403
        assert api(username).get(detail).status_code == 403


# -- posts --------------------------------------------------------------------------------------------------


def test_a_post_is_created_and_its_gaps_listed(api, city, community):
    client = api("township")
    response = client.post(
        POSTS,
        {
            "name": "夜间卡点",
            "kind": "checkpoint",
            "area": city.community_a.code,
            "opens_at": "20:00",
            "closes_at": "08:00",
            "min_staff": 2,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    post_id = response.json()["id"]
    assert response.json()["division"] == city.community_a.code
    put_on(city, Post.objects.get(pk=post_id), community.member_a, at(0, 20), at(1, 8))
    gaps = client.get(f"{POSTS}{post_id}/gaps/", {"week": MONDAY.isoformat()}).json()
    monday_night = [g for g in gaps if g["start"].startswith("2030-01-07T20:00")]
    assert monday_night == [
        {
            "start": "2030-01-07T20:00:00+08:00",
            "end": "2030-01-08T08:00:00+08:00",
            "staffed": 1,
            "needed": 2,
            "hours": 12.0,
        }
    ]
    assert client.get(f"{POSTS}{post_id}/gaps/", {"week": "soon"}).status_code == 400


def test_post_errors_name_the_field(api, city):
    response = api("township").post(
        POSTS,
        {
            "name": "x",
            "kind": "checkpoint",
            "area": "632701101",
            "opens_at": "08:00",
            "closes_at": "20:00",
            "min_staff": 1,
        },
        format="json",
    )
    assert response.status_code == 400 and "area" in response.json()


def test_posts_of_another_township_are_404_and_patch_needs_a_version(api, city):
    post = make_post(city)
    assert api("other_township").get(f"{POSTS}{post.pk}/").status_code == 404
    client = api("township")
    assert client.patch(f"{POSTS}{post.pk}/", {"min_staff": 3}, format="json").status_code == 400
    response = client.patch(f"{POSTS}{post.pk}/", {"min_staff": 3, "version": post.version}, format="json")
    assert response.status_code == 200 and response.json()["min_staff"] == 3
    assert api("grid_a").get(POSTS).status_code == 403


# -- shifts -------------------------------------------------------------------------------------------------


def test_a_conflicting_shift_is_refused_with_400_naming_it(api, city, community):
    gate, door = make_post(city, name="结古检查站"), make_post(city, name="广场入口")
    put_on(city, gate, community.member_a, at(0, 8), at(0, 14))
    response = api("township").post(
        SHIFTS,
        {
            "post": door.pk,
            "member": community.member_a.pk,
            "start": at(0, 13).isoformat(),
            "end": at(0, 15).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 400
    assert "结古检查站, 2030-01-07 08:00–14:00" in response.json()["volunteer"][0]


def test_a_shift_is_created_and_an_end_before_start_refused(api, city, community):
    post = make_post(city)
    client = api("township")
    body = {
        "post": post.pk,
        "member": community.member_a.pk,
        "start": at(0, 8).isoformat(),
        "end": at(0, 12).isoformat(),
    }
    created = client.post(SHIFTS, body, format="json")
    assert created.status_code == 201 and created.json()["status"] == "planned"
    backwards = client.post(
        SHIFTS, {**body, "start": at(1, 12).isoformat(), "end": at(1, 8).isoformat()}, format="json"
    )
    assert backwards.status_code == 400 and "end" in backwards.json()


def test_shifts_are_filtered_by_post_week_and_member(api, city, community):
    post, other = make_post(city), make_post(city, name="other")
    member_b = make_member_b(city)
    put_on(city, post, community.member_a, at(0, 8), at(0, 12))
    put_on(city, post, member_b, at(7, 8), at(7, 12))
    put_on(city, other, member_b, at(1, 8), at(1, 12))
    client = api("township")
    assert client.get(SHIFTS, {"post": post.pk}).json()["count"] == 2
    assert client.get(SHIFTS, {"week": "2030-01-09"}).json()["count"] == 2
    assert client.get(SHIFTS, {"member": member_b.pk, "week": "2030-01-14"}).json()["count"] == 1


def test_members_see_and_check_in_their_own_shifts_only(api, city, community):
    now = timezone.now()
    post = make_post(city)
    mine = put_on(
        city, post, community.member_a, now - datetime.timedelta(minutes=5), now + datetime.timedelta(hours=2)
    )
    member_b = make_member_b(city)
    theirs = put_on(city, post, member_b, now, now + datetime.timedelta(hours=2))
    grid_a = api("grid_a")
    assert [s["id"] for s in grid_a.get(SHIFTS).json()["results"]] == [mine.pk]
    assert grid_a.post(f"{SHIFTS}{theirs.pk}/check-in/").status_code == 404  # grid_b's shift: not even seen
    assert api("township").post(f"{SHIFTS}{mine.pk}/check-in/").status_code == 403  # seen, not theirs
    checked_in = grid_a.post(f"{SHIFTS}{mine.pk}/check-in/")
    assert checked_in.status_code == 200 and checked_in.json()["status"] == "on_duty"
    assert grid_a.post(f"{SHIFTS}{mine.pk}/check-in/").status_code == 400
    checked_out = grid_a.post(f"{SHIFTS}{mine.pk}/check-out/")
    assert checked_out.status_code == 200 and checked_out.json()["status"] == "done"


def test_grid_b_gets_404_for_a_grid_a_shift(api, city, community):
    shift = put_on(city, make_post(city, area=city.grid_a.code), community.member_a, at(0, 8), at(0, 12))
    assert api("grid_b").get(f"{SHIFTS}{shift.pk}/").status_code == 404


def test_a_shift_is_cancelled_by_organisers_only(api, city, community):
    shift = put_on(city, make_post(city), community.member_a, at(0, 8), at(0, 12))
    assert api("grid_a").post(f"{SHIFTS}{shift.pk}/cancel/", {}, format="json").status_code == 403
    assert api("grid_a").post(SHIFTS, {}, format="json").status_code == 403  # 403 before the body's 400
    response = api("township").post(f"{SHIFTS}{shift.pk}/cancel/", {"reason": "换班"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == ShiftStatus.CANCELLED
    assert api("township").post(f"{SHIFTS}{shift.pk}/cancel/", {}, format="json").status_code == 400


def test_the_api_list_query_count_does_not_grow(api, city, community, django_assert_max_num_queries):
    post = make_post(city)
    for day in range(10):
        put_on(city, post, community.member_a, at(day, 8), at(day, 12))
    for n in range(10):
        person = Person.objects.create(name=f"志愿者{n}", id_type="other", id_number=f"Y{n:05d}", path=city.grid_a.path)
        Volunteer.objects.create(person=person, kind="volunteer", path=city.grid_a.path)
    client = api("township")
    with django_assert_max_num_queries(8):
        assert client.get(SHIFTS).json()["count"] == 10
    with django_assert_max_num_queries(8):
        assert client.get(VOLUNTEERS).json()["count"] == 11
