"""Check-ins at venues: the service rules, the public page at /v/<code>/, the API, retention and partitions."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from conftest import make_person, valid_id
from firstline.tracing.models import CheckIn, Venue
from firstline.tracing.venues import partitions, selectors, services, tasks

pytestmark = pytest.mark.django_db

MINUTE = datetime.timedelta(minutes=1)
DAY = datetime.timedelta(days=1)
API = "/api/v1/checkins/"
postgres_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL partitioning")


@pytest.fixture(autouse=True)
def _fresh_caches(settings: Any) -> Any:
    settings.CHECKIN_RATE_LIMIT = "600/m"
    selectors.venue_cache_forget()
    cache.clear()
    yield
    selectors.venue_cache_forget()
    cache.clear()


@pytest.fixture
def venue(city: Any) -> Venue:
    return services.venue_create(
        actor=city["township"], name="格萨尔广场超市", category="supermarket", grid=city.grid_a, default_stay_minutes=30
    )


@pytest.fixture
def english(client: Any) -> None:
    client.cookies["django_language"] = "en"


def record(venue: Venue, **values: Any) -> CheckIn:
    values.setdefault("source", "public")
    return services.checkin_record(venue=venue, **values)


# -- the service -------------------------------------------------------------------------------------------------


def test_a_scan_without_times_starts_now_and_lasts_the_default_stay(venue):
    now = timezone.now()
    checkin = record(venue, phone="+86 138-0000-1234", now=now)
    assert (checkin.phone, checkin.start, checkin.end, checkin.end_known) == (
        "13800001234",
        now,
        now + datetime.timedelta(minutes=30),
        False,
    )
    assert checkin.party_of is None and checkin.person_id is None


def test_repeated_scans_within_the_dedup_window_are_one_visit(venue, settings):
    settings.CHECKIN_DEDUP_MINUTES = 5
    now = timezone.now()
    first, created = services.checkin_intake(venue=venue, phone="13800001234", source="public", now=now - 3 * MINUTE)
    again, created_again = services.checkin_intake(venue=venue, phone="13800001234", source="public", now=now)
    assert created and not created_again and again.pk == first.pk
    # The same ID number is the same visit; the same phone with a different ID number is a child of the phone's
    # owner, not the same person.
    by_id = record(venue, id_number=valid_id("63270119920202001"), phone="13900000000", now=now)
    assert record(venue, id_number=valid_id("63270119920202001"), now=now).pk == by_id.pk
    sibling = record(venue, id_number=valid_id("63270120150202002"), phone="13900000000", now=now)
    assert sibling.pk != by_id.pk
    # A scan with phone and ID joins the visit that gave that phone without an ID number.
    assert record(venue, phone="13800001234", id_number=valid_id("63270119850312001"), now=now).pk == first.pk
    later = record(venue, phone="13800001234", now=now + 6 * MINUTE, start=now + 6 * MINUTE)
    assert later.pk != first.pk
    assert CheckIn.objects.filter(venue=venue).count() == 4


def test_the_same_phone_at_another_venue_is_another_visit(city, venue):
    other = services.venue_create(actor=city["township"], name="药店", category="pharmacy", grid=city.grid_a)
    assert record(venue, phone="13800001234").pk != record(other, phone="13800001234").pk


def test_dedup_off_records_every_scan(venue, settings):
    settings.CHECKIN_DEDUP_MINUTES = 0
    record(venue, phone="13800001234")
    record(venue, phone="13800001234")
    assert CheckIn.objects.count() == 2


def test_check_in_times_in_the_future_or_older_than_retention_are_refused(venue, settings):
    settings.CHECKIN_RETENTION_DAYS = 28
    now = timezone.now()
    record(venue, phone="13800001234", start=now + 50 * datetime.timedelta(seconds=1), now=now)  # clock skew is fine
    with pytest.raises(ValidationError) as excinfo:
        record(venue, phone="13800001235", start=now + 2 * MINUTE, now=now)
    assert set(excinfo.value.message_dict) == {"start"}
    with pytest.raises(ValidationError) as excinfo:
        record(venue, phone="13800001235", start=now - 29 * DAY, now=now)
    assert set(excinfo.value.message_dict) == {"start"}
    assert record(venue, phone="13800001235", start=now - 27 * DAY, now=now).start == now - 27 * DAY


def test_an_end_before_the_start_or_beyond_the_longest_stay_is_refused(venue, settings):
    settings.CHECKIN_MAX_STAY_HOURS = 12
    now = timezone.now()
    start = now - 20 * datetime.timedelta(hours=1)
    with pytest.raises(ValidationError) as excinfo:
        record(venue, phone="13800001234", start=start, end=start - MINUTE, now=now)
    assert set(excinfo.value.message_dict) == {"end"}
    with pytest.raises(ValidationError) as excinfo:
        record(venue, phone="13800001234", start=start, end=start + datetime.timedelta(hours=13), now=now)
    assert set(excinfo.value.message_dict) == {"end"}
    visit = record(venue, phone="13800001234", start=start, end=start + datetime.timedelta(hours=2), now=now)
    assert visit.end_known and visit.end - visit.start == datetime.timedelta(hours=2)


def test_a_phone_or_an_id_number_is_required_and_validated(venue):
    with pytest.raises(ValidationError) as excinfo:
        record(venue, name="扎西")
    assert set(excinfo.value.message_dict) == {"phone"}
    with pytest.raises(ValidationError) as excinfo:
        record(venue, phone="12345", id_number="632701198503120010")
    assert set(excinfo.value.message_dict) == {"phone", "id_number"}
    # Dirty but valid input is normalised: full-width digits, a lower-case x, a 15-digit old card.
    checkin = record(venue, id_number="１１０１０５１９４９１２３１００２ｘ")
    assert checkin.id_number == "11010519491231002X"


def test_a_registered_person_is_linked_by_id_number_or_a_unique_phone(city, venue, settings):
    settings.CHECKIN_DEDUP_MINUTES = 0
    by_id = record(venue, id_number=city.person_a.id_number.lower(), phone="13999999999")
    assert by_id.person_id == city.person_a.pk
    by_phone = record(venue, phone=city.person_b.phone)
    assert by_phone.person_id == city.person_b.pk
    # A phone two people share names nobody; an unknown ID number is not guessed from its phone.
    make_person(
        household=city.household_c, name="尼玛之子", id_number=valid_id("63270120100505001"), phone="13700003333"
    )
    assert record(venue, phone=city.person_c.phone).person_id is None
    assert record(venue, id_number=valid_id("63270119920202001"), phone=city.person_b.phone).person_id is None


def test_companions_are_check_ins_of_their_own_pointing_at_the_main_one(city, venue):
    main = record(
        venue,
        phone="13800001234",
        companions=[
            {"name": "卓玛"},
            {"name": "才仁", "phone": city.person_b.phone},
            {"name": "", "phone": "", "id_number": ""},  # an empty form row
            {"name": "扎西", "id_number": city.person_a.id_number},
        ],
    )
    party = list(CheckIn.objects.filter(party_of=main.pk).order_by("id"))
    assert [c.name for c in party] == ["卓玛", "才仁", "扎西"]
    assert [c.person_id for c in party] == [None, city.person_b.pk, city.person_a.pk]
    assert {(c.start, c.end, c.venue_id) for c in party} == {(main.start, main.end, venue.pk)}


def test_companion_errors_name_their_row(venue):
    with pytest.raises(ValidationError) as excinfo:
        record(venue, phone="13800001234", companions=[{"name": "卓玛"}, {"name": "", "phone": "123"}])
    assert set(excinfo.value.message_dict) == {"companions[1].phone", "companions[1].name"}
    assert not CheckIn.objects.exists()


def test_a_repeated_scan_adds_only_the_companions_not_yet_recorded(venue):
    main = record(venue, phone="13800001234", companions=[{"name": "卓玛"}])
    again = record(venue, phone="13800001234", companions=[{"name": "卓玛"}, {"name": "次仁"}])
    assert again.pk == main.pk
    assert sorted(CheckIn.objects.filter(party_of=main.pk).values_list("name", flat=True)) == ["卓玛", "次仁"]


def test_check_out_records_the_end_for_the_visitor_and_their_party(venue):
    now = timezone.now()
    main = record(venue, phone="13800001234", companions=[{"name": "卓玛"}], start=now - 10 * MINUTE, now=now)
    services.checkin_checkout(checkin=main, at=now)
    stored = CheckIn.objects.get(pk=main.pk)
    assert (stored.end, stored.end_known) == (now, True)
    assert CheckIn.objects.get(party_of=main.pk).end == now
    # The first check-out counts.
    services.checkin_checkout(checkin=stored, at=now + MINUTE)
    assert CheckIn.objects.get(pk=main.pk).end == now
    other = record(venue, phone="13800005678", now=now)
    with pytest.raises(ValidationError) as excinfo:
        services.checkin_checkout(checkin=other, at=now - MINUTE)
    assert set(excinfo.value.message_dict) == {"end"}


def test_the_checkout_token_is_signed_and_names_one_visit(venue):
    visit = record(venue, phone="13800001234")
    token = services.checkout_token(visit)
    assert services.checkin_for_token(token).pk == visit.pk
    payload, signature = token.rsplit(":", 1)
    tampered = payload + ":" + ("A" if signature[0] != "A" else "B") + signature[1:]
    other_salt = signing.dumps([visit.pk, visit.start.isoformat(), venue.pk], salt="somewhere else", compress=False)
    for bad in (tampered, other_salt, "nonsense"):
        with pytest.raises(ValidationError) as excinfo:
            services.checkin_for_token(bad)
        assert set(excinfo.value.message_dict) == {"token"}


# -- the public page ---------------------------------------------------------------------------------------------


def test_the_public_page_opens_without_login_and_without_inline_scripts(client, venue):
    response = client.get(f"/v/{venue.code}/")
    body = response.content.decode()
    assert response.status_code == 200 and venue.name in body
    assert "<script>" not in body and "style=" not in body and "js/venues.js" in body
    assert client.get(f"/v/{venue.code.lower()}/").status_code == 200  # codes are read case-insensitively


def test_unknown_or_switched_off_codes_get_the_friendly_404_page(client, city, venue, english):
    response = client.get("/v/NOPE2345/")
    assert response.status_code == 404
    body = response.content.decode()
    assert 'data-testid="venue-not-found"' in body and "This venue code is not in use" in body
    assert "bootstrap.min.css" in body  # styled like the other public pages
    client.cookies["django_language"] = "zh-hans"
    assert 'lang="zh-hans"' in client.get("/v/NOPE2345/").content.decode()
    services.venue_set_active(actor=city["township"], venue=venue, active=False)
    assert client.get(f"/v/{venue.code}/").status_code == 404
    assert client.post(f"/v/{venue.code}/", {"phone": "13800001234"}).status_code == 404


def _form(**values: Any) -> dict[str, Any]:
    data = {
        "phone": "",
        "id_number": "",
        "name": "",
        "website": "",
        "party-TOTAL_FORMS": "2",
        "party-INITIAL_FORMS": "0",
        "party-MIN_NUM_FORMS": "0",
        "party-MAX_NUM_FORMS": "20",
        "party-0-name": "",
        "party-0-contact": "",
        "party-1-name": "",
        "party-1-contact": "",
    }
    data.update(values)
    return data


def test_checking_in_from_the_page_then_checking_out(client, venue):
    response = client.post(
        f"/v/{venue.code}/",
        _form(
            phone="13800001234", **{"party-0-name": "卓玛", "party-1-name": "才仁", "party-1-contact": "13900002222"}
        ),
    )
    assert response.status_code == 302
    main = CheckIn.objects.get(party_of__isnull=True)
    assert main.source == "public" and main.phone == "13800001234"
    assert sorted(CheckIn.objects.filter(party_of=main.pk).values_list("name", "phone")) == [
        ("卓玛", ""),
        ("才仁", "13900002222"),
    ]
    done = client.get(response["Location"])
    body = done.content.decode()
    assert done.status_code == 200 and "138****1234" in body and "13800001234" not in body
    assert done.context["companions"] == 2
    checkout_url = reverse("venue_public:checkout", args=[venue.code, done.context["token"]])
    assert checkout_url in body
    out = client.post(checkout_url)
    assert out.status_code == 200 and b'data-testid="checked-out"' in out.content
    assert CheckIn.objects.filter(end_known=True).count() == 3


def test_only_the_visitors_own_signed_link_checks_out(client, city, venue):
    visit = record(venue, phone="13800001234")
    token = services.checkout_token(visit)
    forged = client.post(
        reverse("venue_public:checkout", args=[venue.code, token[:-1] + ("A" if token[-1] != "A" else "B")])
    )
    assert forged.status_code == 302 and not CheckIn.objects.get(pk=visit.pk).end_known
    other = services.venue_create(actor=city["township"], name="药店", category="pharmacy", grid=city.grid_a)
    elsewhere = client.post(reverse("venue_public:checkout", args=[other.code, token]))
    assert elsewhere.status_code == 302 and not CheckIn.objects.get(pk=visit.pk).end_known
    assert client.get(reverse("venue_public:checkout", args=[venue.code, token])).status_code == 405


def test_page_errors_stand_next_to_their_fields(client, venue, english):
    response = client.post(f"/v/{venue.code}/", _form(phone="12345", **{"party-1-contact": "13900002222"}))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-error-for="phone"' in body and 'data-error-for="party-1-name"' in body
    assert "Enter an 11-digit mainland China mobile number." in body
    assert not CheckIn.objects.exists()
    empty = client.post(f"/v/{venue.code}/", _form())
    assert "Give a mobile number or an ID number." in empty.content.decode()


def test_the_honeypot_records_nothing(client, venue):
    response = client.post(f"/v/{venue.code}/", _form(phone="13800001234", website="http://spam"))
    assert response.status_code == 200 and not CheckIn.objects.exists()


def test_the_page_is_rate_limited_with_a_clear_message(client, venue, settings, english):
    settings.CHECKIN_RATE_LIMIT = "3/m"
    for n in range(3):
        assert client.post(f"/v/{venue.code}/", _form(phone=f"1380000{n:04d}")).status_code == 302
    response = client.post(f"/v/{venue.code}/", _form(phone="13800009999"))
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert "Too many check-ins from this network" in response.content.decode()
    assert CheckIn.objects.count() == 3


def test_guessing_codes_counts_against_the_rate_limit(client, settings):
    settings.CHECKIN_RATE_LIMIT = "2/m"
    assert [client.get(f"/v/GUESS{n:03d}/").status_code for n in range(3)] == [404, 404, 429]


# -- the API -----------------------------------------------------------------------------------------------------


@pytest.fixture
def anonymous() -> APIClient:
    # enforce_csrf_checks: the public POST must work without any CSRF token.
    return APIClient(enforce_csrf_checks=True)


def test_api_check_in_201_then_200_for_a_repeated_scan(anonymous, venue, django_assert_max_num_queries):
    body = {"venue": venue.code, "phone": "13800001234"}
    first = anonymous.post(API, body, format="json")
    assert first.status_code == 201, first.json()
    data = first.json()
    assert data["deduplicated"] is False and data["venue"] == venue.code and data["checkout_token"]
    # The venue is cached now: at most a de-duplication SELECT and a person look-up; no INSERT for a repeat.
    with django_assert_max_num_queries(2):
        again = anonymous.post(API, body, format="json")
    assert again.status_code == 200 and again.json()["id"] == data["id"] and again.json()["deduplicated"] is True
    assert CheckIn.objects.count() == 1


def test_api_check_in_is_lean(anonymous, venue, django_assert_num_queries):
    anonymous.post(API, {"venue": venue.code, "phone": "13800000000"}, format="json")  # caches the venue
    # PostgreSQL: one statement does it all; elsewhere a de-duplication SELECT, a person look-up and an INSERT.
    with django_assert_num_queries(1 if connection.vendor == "postgresql" else 3):
        response = anonymous.post(API, {"venue": venue.code, "phone": "13800001234"}, format="json")
    assert response.status_code == 201


def test_api_check_in_answers_alike_for_json_and_form_bodies(anonymous, venue):
    # JSON takes the lean path outside DRF; a form-encoded body goes through DRF's create: the same answers.
    json_answer = anonymous.post(API, {"venue": venue.code, "phone": "13800001234"}, format="json")
    form_answer = anonymous.post(API, {"venue": venue.code, "phone": "13800005678"})
    assert (json_answer.status_code, form_answer.status_code) == (201, 201)
    assert set(json_answer.json()) == set(form_answer.json())
    assert anonymous.post(API, {"venue": venue.code, "phone": "13800005678"}).json()["deduplicated"] is True
    bad_json = anonymous.post(API, b"{not json", content_type="application/json")
    assert bad_json.status_code == 400 and "non_field_errors" in bad_json.json()
    assert anonymous.post(API, {"venue": "NOPE2345", "phone": "13800001234"}).status_code == 404


def test_api_check_in_with_start_end_and_companions(anonymous, city, venue):
    start = timezone.now() - datetime.timedelta(hours=2)
    response = anonymous.post(
        API,
        {
            "venue": venue.code,
            "id_number": city.person_a.id_number,
            "start": start.isoformat(),
            "end": (start + datetime.timedelta(minutes=40)).isoformat(),
            "companions": [{"name": "卓玛", "phone": "13900002222"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    main = CheckIn.objects.get(pk=response.json()["id"])
    assert (main.person_id, main.end_known, main.end - main.start) == (
        city.person_a.pk,
        True,
        datetime.timedelta(minutes=40),
    )
    assert CheckIn.objects.get(party_of=main.pk).phone == "13900002222"


def test_api_check_in_400_names_the_field(anonymous, venue):
    cases = [
        ({"venue": venue.code}, "phone"),
        ({"venue": venue.code, "phone": "12345"}, "phone"),
        ({"venue": venue.code, "id_number": "632701198503120010"}, "id_number"),
        ({"venue": venue.code, "phone": "13800001234", "start": "yesterday"}, "start"),
        (
            {"venue": venue.code, "phone": "13800001234", "start": (timezone.now() + DAY).isoformat()},
            "start",
        ),
        ({"venue": venue.code, "phone": "13800001234", "companions": "卓玛"}, "companions"),
        ({"venue": venue.code, "phone": "13800001234", "companions": [{"phone": "13900002222"}]}, "companions[0].name"),
        ({"phone": "13800001234"}, "venue"),
        ({"venue": venue.code, "phone": 13800001234}, "phone"),
        ({"venue": venue.code, "phone": "13800001234", "start": "2021-13-01T00:00:00"}, "start"),
        ({"venue": venue.code, "phone": "13800001234", "start": "9999-12-31T23:59:59+08:00"}, "start"),
        (
            {"venue": venue.code, "phone": "13800001234", "companions": [{"name": "卓玛", "phone": 12345}]},
            "companions[0].phone",
        ),
        ({"venue": ["x"], "phone": "13800001234"}, "venue"),
    ]
    for body, field in cases:
        response = anonymous.post(API, body, format="json")
        assert response.status_code == 400, body
        assert field in response.json(), (body, response.json())
    assert not CheckIn.objects.exists()


def test_api_check_in_404_for_unknown_or_switched_off_venues(anonymous, city, venue):
    response = anonymous.post(API, {"venue": "NOPE2345", "phone": "13800001234"}, format="json")
    assert response.status_code == 404 and response.json()["code"] == "unknown_venue"
    services.venue_set_active(actor=city["township"], venue=venue, active=False)
    assert anonymous.post(API, {"venue": venue.code, "phone": "13800001234"}, format="json").status_code == 404


def test_api_check_in_is_rate_limited_with_a_clear_message(anonymous, venue, settings):
    settings.CHECKIN_RATE_LIMIT = "2/m"
    codes = [
        anonymous.post(API, {"venue": venue.code, "phone": f"1380000{n:04d}"}, format="json").status_code
        for n in range(3)
    ]
    assert codes == [201, 201, 429]
    anonymous.cookies["django_language"] = "en"
    response = anonymous.post(API, {"venue": venue.code, "phone": "13800009999"}, format="json")
    assert response.json()["code"] == "rate_limited" and "Too many check-ins" in response.json()["detail"]
    assert int(response["Retry-After"]) == response.json()["retry_after"] > 0
    assert CheckIn.objects.count() == 2


def test_api_checkout_with_the_token(anonymous, venue):
    created = anonymous.post(API, {"venue": venue.code, "phone": "13800001234"}, format="json").json()
    bad = anonymous.post(f"{API}checkout/", {"token": created["checkout_token"] + "x"}, format="json")
    assert bad.status_code == 400 and "token" in bad.json()
    out = anonymous.post(f"{API}checkout/", {"token": created["checkout_token"]}, format="json")
    assert out.status_code == 200 and out.json()["end_known"] is True
    assert CheckIn.objects.get(pk=created["id"]).end_known


def test_api_check_in_list_is_scoped_by_the_venue_and_masked_per_role(api, city, venue):
    visit = record(venue, phone="13800001234", id_number=city.person_a.id_number)
    url = f"{API}?venue={venue.pk}"
    full = api("grid_a").get(url).json()
    assert full["count"] == 1 and full["results"][0]["phone"] == "13800001234"
    assert full["results"][0]["venue_code"] == venue.code and full["results"][0]["person"] == city.person_a.pk
    masked = api("township").get(url).json()["results"][0]
    assert masked["phone"] == "138****1234" and masked["id_number"].startswith("632701********")
    assert api("grid_b").get(url).json()["count"] == 0
    assert api("grid_b").get(f"{API}?person={city.person_a.pk}").json()["count"] == 0
    assert api("grid_a").get(f"{API}?person={city.person_a.pk}").json()["results"][0]["id"] == visit.pk
    assert api("outsider").get(url).json()["count"] == 0
    assert api("grid_a").get(API).status_code == 400  # a venue or a person is required
    assert APIClient().get(url).status_code in (401, 403)


def test_api_check_in_list_query_count(api, venue, django_assert_max_num_queries):
    for n in range(30):
        record(venue, phone=f"1380000{n:04d}")
    client = api("grid_a")
    with django_assert_max_num_queries(8):
        response = client.get(f"{API}?venue={venue.pk}")
    assert response.json()["count"] == 30


def test_api_venues_list_create_patch_and_scope(api, city):
    township = api("township")
    created = township.post(
        "/api/v1/venues/",
        {"name": "结古寺", "category": "religious", "grid": city.grid_a.code, "default_stay_minutes": 60},
        format="json",
    )
    assert created.status_code == 201, created.json()
    data = created.json()
    assert data["path"] == city.grid_a.path and data["url"].endswith(f"/v/{data['code']}/") and data["version"] == 1
    assert api("grid_a").get("/api/v1/venues/").json()["count"] == 1
    assert api("grid_b").get("/api/v1/venues/").json()["count"] == 0
    assert api("grid_b").get(f"/api/v1/venues/{data['id']}/").status_code == 404
    assert township.get("/api/v1/venues/", {"category": "religious"}).json()["count"] == 1
    assert township.get("/api/v1/venues/", {"search": "结古"}).json()["count"] == 1
    assert township.get("/api/v1/venues/", {"category": "bus"}).json()["count"] == 0
    patched = township.patch(f"/api/v1/venues/{data['id']}/", {"name": "结古寺大殿", "version": 1}, format="json")
    assert patched.status_code == 200 and patched.json()["version"] == 2
    stale = township.patch(f"/api/v1/venues/{data['id']}/", {"name": "又改", "version": 1}, format="json")
    assert stale.status_code == 409
    assert township.patch(f"/api/v1/venues/{data['id']}/", {"name": "x"}, format="json").status_code == 400
    stale_off = township.patch(f"/api/v1/venues/{data['id']}/", {"active": False, "version": 1}, format="json")
    assert stale_off.status_code == 409
    off = township.patch(f"/api/v1/venues/{data['id']}/", {"active": False, "version": 2}, format="json")
    assert off.status_code == 200 and off.json()["active"] is False
    assert api("grid_a").post("/api/v1/venues/", {"name": "x", "category": "shop"}, format="json").status_code == 403
    bad = township.post("/api/v1/venues/", {"name": "", "category": "shop"}, format="json")
    assert bad.status_code == 400 and {"name", "grid"} <= set(bad.json())


def test_the_openapi_schema_documents_the_public_check_in(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    post = schema["paths"]["/api/v1/checkins/"]["post"]
    assert {"201", "200", "400", "404", "429"} <= set(post["responses"])
    assert "/api/v1/venues/{id}/" in schema["paths"]


# -- retention and partitions ------------------------------------------------------------------------------------


def _old_row(venue: Venue, start: datetime.datetime, phone: str = "13800001234") -> CheckIn:
    # Written directly: the service refuses such old visits.
    return CheckIn.objects.create(venue=venue, phone=phone, start=start, end=start + 30 * MINUTE)


def test_retention_deletes_old_check_ins_and_keeps_recent_ones(venue, settings):
    settings.CHECKIN_RETENTION_DAYS = 28
    now = timezone.now()
    old = [_old_row(venue, now - (29 + n) * DAY) for n in range(3)]
    boundary = _old_row(venue, now - 28 * DAY - MINUTE)
    kept = record(venue, phone="13900000000", start=now - 27 * DAY, now=now)
    dry = services.checkins_purge(now=now, dry_run=True)
    assert dry.deleted_rows == 4 and CheckIn.objects.count() == 5
    services.checkins_purge(now=now)
    assert list(CheckIn.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not CheckIn.objects.filter(pk__in=[o.pk for o in old] + [boundary.pk]).exists()


def test_the_purge_task_and_command(venue, settings, capsys):
    settings.CHECKIN_RETENTION_DAYS = 28
    _old_row(venue, timezone.now() - 40 * DAY)
    result = tasks.purge_checkins.delay().get()
    assert result["dry_run"] is False and not CheckIn.objects.exists()
    _old_row(venue, timezone.now() - 40 * DAY)
    call_command("purge_checkins", "--dry-run")
    assert "would delete: 1" in capsys.readouterr().out and CheckIn.objects.count() == 1
    call_command("purge_checkins")
    assert not CheckIn.objects.exists()


def test_partition_helpers_do_nothing_on_sqlite():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    assert partitions.ensure_partitions() == [] and partitions.drop_partitions_before(timezone.localdate()) == []
    assert not partitions.is_partitioned() and partitions.existing_partitions() == {}


def _partition_of(checkin: CheckIn) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM tracing_checkin WHERE id = %s", [checkin.pk])
        return str(cursor.fetchone()[0])


@postgres_only
def test_the_table_is_partitioned_by_day_with_a_default_partition(venue):
    assert partitions.is_partitioned()
    # The coming days' partitions are made by the migration and then hourly by purge_checkins: run it as the job
    # would, so a test database made before local midnight still has today + 7 days after it.
    partitions.ensure_partitions()
    today = partitions.local_day(timezone.now())
    have = partitions.existing_partitions()
    assert today in have and today + 7 * DAY in have
    visit = record(venue, phone="13800001234")
    assert _partition_of(visit) == partitions.partition_name(partitions.local_day(visit.start))
    far = _old_row(venue, timezone.now() + 60 * DAY)
    assert _partition_of(far) == partitions.DEFAULT_PARTITION


@postgres_only
def test_partition_days_are_shanghai_midnights(venue):
    day = partitions.local_day(timezone.now())
    start, end = partitions.day_bounds(day)
    just_before = _old_row(venue, start - datetime.timedelta(microseconds=1))
    at_midnight = _old_row(venue, start, phone="13800005678")
    assert start.utcoffset() == datetime.timedelta(hours=8) and end - start == DAY
    assert _partition_of(at_midnight) == partitions.partition_name(day)
    assert _partition_of(just_before) == partitions.partition_name(day - DAY)


@postgres_only
def test_ensure_partitions_is_idempotent_and_moves_rows_out_of_the_default_partition(venue):
    today = partitions.local_day(timezone.now())
    waiting = _old_row(venue, partitions.day_bounds(today + 20 * DAY)[0] + datetime.timedelta(hours=9))
    assert _partition_of(waiting) == partitions.DEFAULT_PARTITION
    created = partitions.ensure_partitions(days_ahead=21, days_back=0)
    assert partitions.partition_name(today + 20 * DAY) in created
    assert partitions.ensure_partitions(days_ahead=21, days_back=0) == []
    assert _partition_of(waiting) == partitions.partition_name(today + 20 * DAY)
    assert CheckIn.objects.get(pk=waiting.pk).start == waiting.start
    # The moved partition has the table's indexes (attached on ATTACH).
    with connection.cursor() as cursor:
        count = "SELECT count(*) FROM pg_indexes WHERE tablename = %s"
        cursor.execute(count, [partitions.partition_name(today + 20 * DAY)])
        on_partition = cursor.fetchone()[0]
        cursor.execute(count, [partitions.TABLE])
        assert on_partition == cursor.fetchone()[0] >= 5


@postgres_only
def test_retention_drops_whole_partitions_on_postgresql(venue, settings):
    settings.CHECKIN_RETENTION_DAYS = 28
    now = timezone.now()
    today = partitions.local_day(now)
    old_days = [today - (30 + n) * DAY for n in range(3)]
    partitions.ensure_partitions(days_ahead=0, days_back=33, today=today)
    assert all(partitions.partition_exists(day) for day in old_days)
    rows = [_old_row(venue, partitions.day_bounds(day)[0] + datetime.timedelta(hours=10)) for day in old_days]
    assert _partition_of(rows[0]) == partitions.partition_name(old_days[0])
    stray = _old_row(venue, now - 90 * DAY)  # no partition that far back: in the DEFAULT partition
    kept = record(venue, phone="13900000000", now=now)
    report = services.checkins_purge(now=now)
    assert set(report.dropped_partitions) >= {partitions.partition_name(day) for day in old_days}
    assert not any(partitions.partition_exists(day) for day in old_days)
    assert partitions.partition_exists(partitions.local_day(now - 28 * DAY))  # the boundary day stays
    assert report.deleted_rows == 1  # the stray row, by DELETE
    assert list(CheckIn.objects.values_list("pk", flat=True)) == [kept.pk]
    assert stray.pk not in set(CheckIn.objects.values_list("pk", flat=True))


@postgres_only
def test_the_id_sequence_survives_the_partitioning(venue):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence('tracing_checkin', 'id')")
        assert cursor.fetchone()[0] == "public.tracing_checkin_id_seq"
    first, second = record(venue, phone="13800000001"), record(venue, phone="13800000002")
    assert second.pk > first.pk


def test_a_new_client_per_request_still_sees_its_own_done_page(venue):
    # The thank-you page needs no session: the signed token in its address is the visitor's proof.
    visit = record(venue, phone="13800001234")
    response = Client().get(reverse("venue_public:done", args=[venue.code, services.checkout_token(visit)]))
    assert response.status_code == 200 and b'data-testid="checkout"' in response.content


@pytest.mark.django_db(transaction=True)
def test_committed_check_ins_and_the_flush_after_the_test_work_on_either_database(city):
    # Autocommit, as in production (no surrounding test transaction); the flush after this test truncates the
    # (on PostgreSQL partitioned) table.
    venue = services.venue_create(actor=city["township"], name="公交1路", category="bus", grid=city.grid_a)
    first = record(venue, phone="13800001234")
    again, created = services.checkin_intake(venue=venue, phone="13800001234", source="public")
    assert not created and again.pk == first.pk
    assert CheckIn.objects.count() == 1
    if connection.vendor == "postgresql":
        # The check-in's own transaction committed asynchronously; the connection's setting is untouched.
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone()[0] == "on"


def test_a_code_reused_by_a_new_venue_row_is_looked_up_afresh(anonymous, city):
    # Given a venue whose code is in this process's directory, then gone (as a rolled-back test database leaves it)
    first = Venue.objects.create(code="SAME2345", name="旧", category="shop", grid=city.grid_a, path=city.grid_a.path)
    assert selectors.venue_get_public("SAME2345").pk == first.pk
    with connection.cursor() as cursor:  # no signal: as a rolled-back transaction leaves it
        cursor.execute("DELETE FROM tracing_venue WHERE id = %s", [first.pk])
    # When a new row takes the same code
    second = Venue.objects.create(code="SAME2345", name="新", category="shop", grid=city.grid_a, path=city.grid_a.path)
    # Then the check-in lands on the new row
    response = anonymous.post(API, {"venue": "SAME2345", "phone": "13800001234"}, format="json")
    assert response.status_code == 201 and CheckIn.objects.get().venue_id == second.pk


# -- the fast path ------------------------------------------------------------------------------------------------


def test_a_json_check_in_is_answered_before_the_rest_of_the_stack(venue):
    from django.test import RequestFactory

    from firstline.tracing.venues.middleware import CheckinFastPathMiddleware

    def stack(request: Any) -> Any:
        raise AssertionError("went down the middleware stack")

    middleware = CheckinFastPathMiddleware(stack)
    request = RequestFactory().post(
        API, data={"venue": venue.code, "phone": "13800138000"}, content_type="application/json"
    )
    request.COOKIES["django_language"] = "en"
    response = middleware(request)
    assert response.status_code == 201 and response["Content-Language"] == "en"
    assert CheckIn.objects.filter(venue=venue, phone="13800138000").count() == 1
    # Anything else goes down the stack as usual.
    for other in (
        RequestFactory().post(API, data={"venue": venue.code}),  # a form body: DRF serves it
        RequestFactory().get(API),
        RequestFactory().post("/api/v1/venues/", data={}, content_type="application/json"),
    ):
        with pytest.raises(AssertionError, match="middleware stack"):
            middleware(other)


def test_the_fast_path_keeps_the_security_headers_and_sets_no_cookie(venue):
    response = APIClient().post(API, {"venue": venue.code, "phone": "13800138000"}, format="json")
    assert response.status_code == 201
    assert response["X-Content-Type-Options"] == "nosniff"
    assert not response.cookies
    # Errors are in the installation's language unless the visitor chose another.
    unknown = APIClient().post(API, {"venue": "NOPE", "phone": "13800138000"}, format="json")
    assert unknown.status_code == 404 and unknown["Content-Language"] == "zh-hans"
